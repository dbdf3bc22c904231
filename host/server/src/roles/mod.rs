//! Roles: what makes a role acceptable and the workflows that read, create, replace and
//! delete them.
//!
//! A role is stored only if its header and role language are valid
//! (`portcullis_authz::validate`), its name is not one of a built-in role, and none of its
//! `where` clauses and actions is malformed — a syntax error the `predicate` module reports
//! (ABI.md §3, error kind `syntax`), so the message is the one evaluations would give. A
//! clause that only fails at evaluation time (a type error, an unknown function, a module
//! that traps) is accepted: whether it holds depends on the user and resource it is
//! evaluated on. No tonic types here: the transport maps [`RoleError`] to statuses.

use std::sync::Arc;

use portcullis_api::services::RoleV3;
use portcullis_api::validate::InvalidResource;
use portcullis_authz::{HookError, RuleHooks};

use crate::resources::{Collection, Page, PageRequest, ResourceError};

#[cfg(test)]
mod tests;

/// Why a role operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    /// The role's header or role language is not valid (the message names the role and
    /// the field).
    #[error(transparent)]
    Invalid(#[from] InvalidResource),
    /// A `where` clause or action of the role does not parse.
    #[error("role `{role}`: {field}: {error}")]
    Clause {
        /// The role's name.
        role: String,
        /// Where the clause is, e.g. `spec.allow.rules[0].where`.
        field: String,
        /// What the `predicate` module said.
        error: HookError,
    },
    /// A `where` clause or action calls an extra function that no uploaded module provides.
    #[error(
        "role `{role}`: {field}: calls {}, which no uploaded policy module provides \
         (upload the module first: `pctl policy upload`)",
        functions.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
    )]
    UnknownFunction {
        /// The role's name.
        role: String,
        /// Where the clause is.
        field: String,
        /// The functions missing.
        functions: Vec<String>,
    },
    /// Built-in roles are not stored and cannot be changed.
    #[error("`{name}` is a built-in role and cannot be created, changed or deleted")]
    Reserved {
        /// The role's name.
        name: String,
    },
    /// Reading or writing the store failed, or the role is not (or already) there.
    #[error(transparent)]
    Resource(#[from] ResourceError),
}

/// The role `name`: a built-in role, or the stored one.
pub async fn get(roles: &Collection<RoleV3>, name: &str) -> Result<RoleV3, RoleError> {
    if let Some(builtin) = portcullis_authz::builtin::role_named(name) {
        return Ok(builtin);
    }
    Ok(roles.get(name).await?)
}

/// The stored roles `request` asks for, by name (see [`crate::resources::paging`]).
pub async fn list(
    roles: &Collection<RoleV3>,
    request: &PageRequest,
) -> Result<Page<RoleV3>, RoleError> {
    Ok(roles.page(request).await?)
}

/// Normalises `role` and checks it (see the module docs), its clauses with `hooks`.
/// Clauses run Wasm that may block on the store: call from a multi-threaded runtime.
pub fn validate(role: &mut RoleV3, hooks: &impl RuleHooks) -> Result<(), RoleError> {
    portcullis_authz::validate::normalize_role(role)?;
    check_clauses(role, hooks)
}

/// Refuses `where` clauses and actions that `hooks` find malformed ([`HookError::Syntax`]).
fn check_clauses(role: &RoleV3, hooks: &impl RuleHooks) -> Result<(), RoleError> {
    let Some(spec) = &role.spec else {
        return Ok(());
    };
    let input = |expression: &str| {
        Arc::new(serde_json::json!({
            "user": {}, "resource": {}, "verb": "read", "kind": "role", "expression": expression,
        }))
    };
    let name = role.metadata.as_ref().map_or("", |m| m.name.as_str());
    // A syntax error refuses the role, and so does a call of a function no module provides;
    // any other failure is left to evaluation time.
    let check = |field: String, expression: &str, result: Result<(), HookError>| match result {
        Err(error) if error.is_syntax() => Err(RoleError::Clause {
            role: name.to_owned(),
            field,
            error,
        }),
        _ => {
            let functions = hooks.unknown_functions(expression, field.contains(".actions["));
            if functions.is_empty() {
                Ok(())
            } else {
                Err(RoleError::UnknownFunction {
                    role: name.to_owned(),
                    field,
                    functions,
                })
            }
        }
    };
    for (side, conditions) in [("allow", &spec.allow), ("deny", &spec.deny)] {
        let Some(conditions) = conditions else {
            continue;
        };
        for (i, rule) in conditions.rules.iter().enumerate() {
            if !rule.r#where.trim().is_empty() {
                let result = hooks.eval_where(input(&rule.r#where));
                check(
                    format!("spec.{side}.rules[{i}].where"),
                    &rule.r#where,
                    result.map(drop),
                )?;
            }
            for (j, action) in rule.actions.iter().enumerate() {
                let result = hooks.run_action(input(action));
                check(
                    format!("spec.{side}.rules[{i}].actions[{j}]"),
                    action,
                    result.map(drop),
                )?;
            }
        }
    }
    Ok(())
}

/// Refuses the names of built-in roles.
fn not_reserved(name: &str) -> Result<(), RoleError> {
    if portcullis_authz::builtin::is_reserved(name) {
        return Err(RoleError::Reserved {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Validates `role` and stores it; fails if a role of that name exists. Returns the role as
/// stored.
pub async fn create(
    roles: &Collection<RoleV3>,
    hooks: &impl RuleHooks,
    mut role: RoleV3,
) -> Result<RoleV3, RoleError> {
    validate(&mut role, hooks)?;
    Ok(roles.create(&role).await?)
}

/// Validates `role` and stores it, replacing a role of that name. Returns the role as
/// stored.
pub async fn upsert(
    roles: &Collection<RoleV3>,
    hooks: &impl RuleHooks,
    mut role: RoleV3,
) -> Result<RoleV3, RoleError> {
    validate(&mut role, hooks)?;
    Ok(roles.upsert(&role).await?)
}

/// Deletes the stored role `name` (built-in roles cannot be deleted).
pub async fn delete(roles: &Collection<RoleV3>, name: &str) -> Result<(), RoleError> {
    not_reserved(name)?;
    Ok(roles.delete(name).await?)
}
