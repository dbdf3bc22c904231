//! Role handlers.

use portcullis_api::auth::{DeleteRoleRequest, GetRoleRequest, GetRolesResponse};
use portcullis_api::services::RoleV3;
use tonic::{Request, Status};

use super::authorize;
use crate::rbac::Target;
use crate::resources::validate::{normalize_role, validate_name};
use crate::state::State;

pub(super) async fn get(state: &State, request: Request<GetRoleRequest>) -> Result<RoleV3, Status> {
    let name = &request.get_ref().name;
    validate_name("role", name)?;
    authorize(state, &request, "GetRole", Target::named("role", name)).await?;
    if let Some(builtin) = portcullis_authz::builtin::role_named(name) {
        return Ok(builtin);
    }
    Ok(state.roles.get(name).await?)
}

pub(super) async fn list(state: &State, request: Request<()>) -> Result<GetRolesResponse, Status> {
    authorize(state, &request, "GetRoles", Target::default()).await?;
    Ok(GetRolesResponse {
        roles: state.roles.list().await?,
    })
}

async fn checked(state: &State, request: Request<RoleV3>, rpc: &str) -> Result<RoleV3, Status> {
    authorize(state, &request, rpc, Target::resource(request.get_ref())).await?;
    let mut role = request.into_inner();
    normalize_role(&mut role)?;
    check_clauses(state, &role)?;
    Ok(role)
}

/// Refuses `where` clauses and actions with syntax errors (found by the `predicate` module
/// itself, so the message is the one evaluations would give).
fn check_clauses(state: &State, role: &RoleV3) -> Result<(), Status> {
    use portcullis_authz::RuleHooks;
    let Some(spec) = &role.spec else {
        return Ok(());
    };
    let name = role.metadata.as_ref().map_or("", |m| m.name.as_str());
    let hooks = state.policies.rule_hooks();
    let input = |expression: &str| {
        std::sync::Arc::new(serde_json::json!({
            "user": {}, "resource": {}, "verb": "read", "kind": "role", "expression": expression,
        }))
    };
    let syntax = |field: String, result: Result<(), String>| match result {
        Err(e) if e.contains("syntax error") => Err(Status::invalid_argument(format!(
            "role `{name}`: {field}: {e}"
        ))),
        _ => Ok(()),
    };
    for (side, conditions) in [("allow", &spec.allow), ("deny", &spec.deny)] {
        let Some(conditions) = conditions else {
            continue;
        };
        for (i, rule) in conditions.rules.iter().enumerate() {
            if !rule.r#where.trim().is_empty() {
                let result = tokio::task::block_in_place(|| hooks.eval_where(input(&rule.r#where)));
                syntax(format!("spec.{side}.rules[{i}].where"), result.map(drop))?;
            }
            for (j, action) in rule.actions.iter().enumerate() {
                let result = tokio::task::block_in_place(|| hooks.run_action(input(action)));
                syntax(
                    format!("spec.{side}.rules[{i}].actions[{j}]"),
                    result.map(drop),
                )?;
            }
        }
    }
    Ok(())
}

/// Built-in roles are not stored and cannot be changed.
fn reserved(name: &str) -> Result<(), Status> {
    if portcullis_authz::builtin::is_reserved(name) {
        return Err(Status::invalid_argument(format!(
            "`{name}` is a built-in role and cannot be created, changed or deleted"
        )));
    }
    Ok(())
}

pub(super) async fn create(state: &State, request: Request<RoleV3>) -> Result<(), Status> {
    let role = checked(state, request, "CreateRole").await?;
    state.roles.create(&role).await?;
    Ok(())
}

pub(super) async fn upsert(state: &State, request: Request<RoleV3>) -> Result<(), Status> {
    let role = checked(state, request, "UpsertRole").await?;
    state.roles.upsert(&role).await?;
    Ok(())
}

pub(super) async fn delete(
    state: &State,
    request: Request<DeleteRoleRequest>,
) -> Result<(), Status> {
    let name = &request.get_ref().name;
    validate_name("role", name)?;
    authorize(state, &request, "DeleteRole", Target::named("role", name)).await?;
    reserved(name)?;
    state.roles.delete(name).await?;
    Ok(())
}
