//! Decisions: the caller's compiled roles, their `where` clauses, Cedar, explanations.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use cedar_policy::{
    Context, Decision as CedarDecision, Entities, EntityId, EntityTypeName, EntityUid,
    RestrictedExpression, Schema,
};
use portcullis_api::services::RoleV3;
use serde_json::{json, Value};

use crate::compile::{compile, schema, CompiledRoles, RuleRef, Side};
use crate::error::AuthzError;
use crate::verbs::VERBS;

/// Compiled role sets by their roles' names and revisions.
type Cache = HashMap<Vec<(String, i64)>, Arc<CompiledRoles>>;

/// Compiled role sets kept before the cache is cleared.
pub const MAX_CACHED_ROLE_SETS: usize = 4096;

/// What the caller wants to do.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The caller's user name.
    pub user: &'a str,
    /// One of [`VERBS`].
    pub verb: &'a str,
    /// The resource kind (`role`, `user`, `access_request`, ...).
    pub kind: &'a str,
    /// The user as `where` clauses see it (`user.spec.traits[...]`): the user resource.
    pub user_resource: &'a Value,
    /// The resource as `where` clauses see it (`resource.metadata.name`); `{}` when the
    /// request is not about one resource (e.g. a listing).
    pub resource: &'a Value,
}

impl Request<'_> {
    /// The input of `where` clauses and actions (ABI.md §4.1, without the expression).
    fn hook_input(&self) -> Value {
        json!({
            "user": self.user_resource,
            "resource": self.resource,
            "verb": self.verb,
            "kind": self.kind,
        })
    }
}

/// Evaluates `where` clauses and runs `actions` (in the server: the Wasm `predicate`
/// module).
pub trait RuleHooks {
    /// Whether `expression` holds for `input`; `Err` with the reason if it could not be
    /// evaluated.
    fn eval_where(&self, expression: &str, input: &Value) -> Result<bool, String>;

    /// Runs the action `expression` for `input` and returns the lines it logged.
    fn run_action(&self, expression: &str, input: &Value) -> Result<Vec<String>, String>;
}

/// What a rule's `where` clause answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhereOutcome {
    /// The rule.
    pub rule: RuleRef,
    /// Its clause.
    pub expression: String,
    /// The answer, or why there is none (then a deny rule matches and an allow rule does
    /// not).
    pub result: Result<bool, String>,
}

/// What one action of a deciding rule did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionOutcome {
    /// The rule.
    pub rule: RuleRef,
    /// The action.
    pub action: String,
    /// The lines it logged, or why it failed.
    pub result: Result<Vec<String>, String>,
}

/// An access decision and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request is allowed.
    pub allowed: bool,
    /// The verb asked for.
    pub verb: String,
    /// The resource kind asked for.
    pub kind: String,
    /// The rules that decided: matching deny rules when denied by a rule, matching allow
    /// rules when allowed, none when no rule allowed (the default).
    pub decided_by: Vec<RuleRef>,
    /// Every `where` clause evaluated for this request.
    pub wheres: Vec<WhereOutcome>,
    /// The actions of the deciding rules.
    pub actions: Vec<ActionOutcome>,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = format!("`{}` on `{}`", self.verb, self.kind);
        let rules = self
            .decided_by
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        match (self.allowed, self.decided_by.is_empty()) {
            (true, _) => write!(f, "{what} is allowed by {rules}")?,
            (false, false) => write!(f, "{what} is denied by {rules}")?,
            (false, true) => write!(
                f,
                "{what} is denied: no rule of the caller's roles allows it"
            )?,
        }
        for outcome in &self.wheres {
            match &outcome.result {
                Ok(answer) => write!(
                    f,
                    "; where `{}` of {} is {answer}",
                    outcome.expression, outcome.rule
                )?,
                Err(reason) => write!(
                    f,
                    "; where `{}` of {} failed ({reason})",
                    outcome.expression, outcome.rule
                )?,
            }
        }
        Ok(())
    }
}

/// Decides requests over the caller's roles. Cheap to share (`Arc`); thread-safe.
pub struct Authorizer {
    schema: Schema,
    actions: Entities,
    cedar: cedar_policy::Authorizer,
    cache: Mutex<Cache>,
    user_type: EntityTypeName,
    kind_type: EntityTypeName,
    action_type: EntityTypeName,
}

impl fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorizer").finish_non_exhaustive()
    }
}

fn internal(e: impl fmt::Display) -> AuthzError {
    AuthzError::Internal(e.to_string())
}

impl Authorizer {
    /// An authorizer with an empty cache.
    pub fn new() -> Result<Authorizer, AuthzError> {
        let (schema, actions) = schema()?;
        let name = |n: &str| EntityTypeName::from_str(n).map_err(internal);
        Ok(Authorizer {
            schema,
            actions,
            cedar: cedar_policy::Authorizer::new(),
            cache: Mutex::new(HashMap::new()),
            user_type: name("User")?,
            kind_type: name("Kind")?,
            action_type: name("Action")?,
        })
    }

    /// The compiled policies of `roles`, from the cache when the same roles at the same
    /// revisions (`metadata.id`) were compiled before.
    fn compiled(&self, roles: &[RoleV3]) -> Result<Arc<CompiledRoles>, AuthzError> {
        let mut key: Vec<(String, i64)> = roles
            .iter()
            .map(|r| {
                let meta = r.metadata.as_ref();
                (
                    meta.map(|m| m.name.clone()).unwrap_or_default(),
                    meta.map_or(0, |m| m.id),
                )
            })
            .collect();
        key.sort();
        if let Some(hit) = self.lock().get(&key) {
            return Ok(hit.clone());
        }
        let compiled = compile(roles)?;
        // What this crate generates must type-check against the schema; a failure is a bug,
        // reported instead of deciding with policies Cedar would skip.
        let validation = cedar_policy::Validator::new(self.schema.clone())
            .validate(&compiled.policies, cedar_policy::ValidationMode::Strict);
        if !validation.validation_passed() {
            return Err(AuthzError::Internal(format!(
                "compiled policies do not validate: {validation}"
            )));
        }
        let compiled = Arc::new(compiled);
        let mut cache = self.lock();
        if cache.len() >= MAX_CACHED_ROLE_SETS {
            cache.clear();
        }
        cache.insert(key, compiled.clone());
        Ok(compiled)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        // A panic while holding the lock cannot leave the map inconsistent.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many role sets are compiled and cached.
    pub fn cached_role_sets(&self) -> usize {
        self.lock().len()
    }

    /// Decides `request` over `roles` (the caller's roles, with revisions): deny rules
    /// first (any match denies), then allow rules (any match allows), otherwise deny.
    pub fn decide(
        &self,
        roles: &[RoleV3],
        request: &Request<'_>,
        hooks: &dyn RuleHooks,
    ) -> Result<Decision, AuthzError> {
        if !VERBS.contains(&request.verb) {
            return Err(AuthzError::Internal(format!(
                "unknown verb `{}`",
                request.verb
            )));
        }
        let compiled = self.compiled(roles)?;
        let input = request.hook_input();
        let mut wheres = Vec::new();
        let mut holding = Vec::new();
        // Deny clauses first: once one holds, the allow clauses cannot change the answer.
        let mut denied = false;
        for side in [Side::Deny, Side::Allow] {
            if side == Side::Allow && denied {
                break;
            }
            let candidates = compiled.rules.iter().filter(|r| {
                r.at.side == side
                    && !r.rule.r#where.trim().is_empty()
                    && r.applies_to(request.verb, request.kind)
            });
            for rule in candidates {
                let result = hooks.eval_where(&rule.rule.r#where, &input);
                let matches = match (&result, side) {
                    (Ok(answer), _) => *answer,
                    (Err(_), Side::Deny) => true,
                    (Err(_), Side::Allow) => false,
                };
                if matches {
                    holding.push(RestrictedExpression::new_string(rule.id.clone()));
                    denied |= side == Side::Deny;
                }
                wheres.push(WhereOutcome {
                    rule: rule.at.clone(),
                    expression: rule.rule.r#where.clone(),
                    result,
                });
            }
        }
        let uid = |ty: &EntityTypeName, id: &str| {
            EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
        };
        let context = Context::from_pairs([(
            "where_true".to_owned(),
            RestrictedExpression::new_set(holding),
        )])
        .map_err(internal)?;
        let cedar_request = cedar_policy::Request::new(
            uid(&self.user_type, request.user),
            uid(&self.action_type, request.verb),
            uid(&self.kind_type, request.kind),
            context,
            Some(&self.schema),
        )
        .map_err(internal)?;
        let response = self
            .cedar
            .is_authorized(&cedar_request, &compiled.policies, &self.actions);
        if let Some(error) = response.diagnostics().errors().next() {
            return Err(internal(error));
        }
        let allowed = response.decision() == CedarDecision::Allow;
        let mut deciding: Vec<_> = response
            .diagnostics()
            .reason()
            .filter_map(|id| compiled.rule(id))
            .collect();
        deciding.sort_by(|a, b| a.at.cmp(&b.at));
        let mut actions = Vec::new();
        for rule in &deciding {
            for action in &rule.rule.actions {
                actions.push(ActionOutcome {
                    rule: rule.at.clone(),
                    action: action.clone(),
                    result: hooks.run_action(action, &input),
                });
            }
        }
        Ok(Decision {
            allowed,
            verb: request.verb.to_owned(),
            kind: request.kind.to_owned(),
            decided_by: deciding.into_iter().map(|r| r.at.clone()).collect(),
            wheres,
            actions,
        })
    }
}
