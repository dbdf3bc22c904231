//! Decisions: the caller's compiled roles, their `where` clauses, Cedar, explanations.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use cedar_policy::{
    Context, Decision as CedarDecision, Entities, EntityId, EntityTypeName, EntityUid,
    RestrictedExpression, Schema,
};
use portcullis_api::services::RoleV3;
use serde_json::{Map, Value};

use crate::compile::{
    compile, schema, CompiledRoles, CompiledRule, RuleRef, Side, DEFAULT_NAMESPACE,
};
use crate::error::{AuthzError, HookError};
use crate::outcomes::{self, Outcome};
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
    /// The namespace the request is in ([`DEFAULT_NAMESPACE`] for most): only rules whose
    /// role lists it (or `*`) apply.
    pub namespace: &'a str,
}

/// Kinds whose resource `where` clauses also see under the kind's name.
pub const SESSION_ROOTS: [&str; 2] = ["session", "ssh_session"];

impl Request<'_> {
    /// The input of `where` clauses and actions (ABI.md §4.1), `expression` left empty.
    fn hook_input(&self) -> Value {
        let mut input = Map::with_capacity(5);
        input.insert("user".to_owned(), self.user_resource.clone());
        input.insert("resource".to_owned(), self.resource.clone());
        input.insert("verb".to_owned(), Value::String(self.verb.to_owned()));
        input.insert("kind".to_owned(), Value::String(self.kind.to_owned()));
        input.insert("expression".to_owned(), Value::String(String::new()));
        // A recorded or active session is also seen under its own name, its spec at the
        // top (`session.participants`, `ssh_session.login`), as Teleport's where clauses
        // see it; for any other kind the name reads as empty.
        if SESSION_ROOTS.contains(&self.kind) {
            if let Some(spec) = self.resource.get("spec") {
                input.insert(self.kind.to_owned(), spec.clone());
            }
        }
        Value::Object(input)
    }
}

/// The hooks' input, built when the first clause needs it and shared with each call (the
/// module holds it only while it runs, so setting the next expression copies nothing).
struct HookInput<'r> {
    request: &'r Request<'r>,
    value: Option<Arc<Value>>,
}

impl HookInput<'_> {
    fn with_expression(&mut self, expression: &str) -> Arc<Value> {
        let request = self.request;
        let value = self
            .value
            .get_or_insert_with(|| Arc::new(request.hook_input()));
        if let Value::Object(map) = Arc::make_mut(value) {
            map.insert(
                "expression".to_owned(),
                Value::String(expression.to_owned()),
            );
        }
        Arc::clone(value)
    }
}

/// Evaluates `where` clauses and runs `actions` (in the server: the Wasm `predicate`
/// module). `input` is as ABI.md §4.1 describes it: `user`, `resource`, `verb`, `kind` and
/// the `expression` to evaluate or run.
pub trait RuleHooks {
    /// Whether `input["expression"]` holds; `Err` with the reason if it could not be
    /// evaluated ([`HookError::Syntax`] if it does not parse).
    fn eval_where(&self, input: Arc<Value>) -> Result<bool, HookError>;

    /// Runs the action `input["expression"]` and returns the lines it logged.
    fn run_action(&self, input: Arc<Value>) -> Result<Vec<String>, HookError>;

    /// The extra functions `expression` (a `where` clause, or with `action` an action)
    /// calls that no loaded module provides (checked when a role is stored); empty when the
    /// evaluator cannot tell.
    fn unknown_functions(&self, expression: &str, action: bool) -> Vec<String> {
        let _ = (expression, action);
        Vec::new()
    }
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
    pub result: Result<bool, HookError>,
}

/// What one action of a deciding rule did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionOutcome {
    /// The rule.
    pub rule: RuleRef,
    /// The action.
    pub action: String,
    /// The lines it logged, or why it failed.
    pub result: Result<Vec<String>, HookError>,
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
    /// The namespace the request was in.
    pub namespace: String,
    /// The rules that decided: matching deny rules when denied by a rule, matching allow
    /// rules when allowed, none when no rule allowed (the default).
    pub decided_by: Vec<RuleRef>,
    /// The `where` clauses evaluated for this request, in order: deny rules' first, each
    /// side only until one of its rules matches (the answer is known by then).
    pub wheres: Vec<WhereOutcome>,
    /// The actions of the deciding rules.
    pub actions: Vec<ActionOutcome>,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut what = format!("`{}` on `{}`", self.verb, self.kind);
        if self.namespace != DEFAULT_NAMESPACE {
            what.push_str(&format!(" in namespace `{}`", self.namespace));
        }
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
    fn compiled<R: Borrow<RoleV3>>(&self, roles: &[R]) -> Result<Arc<CompiledRoles>, AuthzError> {
        let mut key: Vec<(String, i64)> = roles
            .iter()
            .map(|r| {
                let meta = r.borrow().metadata.as_ref();
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

    /// Cedar's answer for `request` over `compiled`, given the rules (indices) whose `where`
    /// clause held.
    fn ask_cedar(
        &self,
        compiled: &CompiledRoles,
        request: &Request<'_>,
        holding: &[usize],
    ) -> Result<Outcome, AuthzError> {
        let uid = |ty: &EntityTypeName, id: &str| {
            EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
        };
        let holding = holding
            .iter()
            .filter_map(|&i| compiled.rules.get(i))
            .map(|rule| RestrictedExpression::new_string(rule.id.clone()));
        let context = Context::from_pairs([
            (
                "where_true".to_owned(),
                RestrictedExpression::new_set(holding),
            ),
            (
                "namespace".to_owned(),
                RestrictedExpression::new_string(request.namespace.to_owned()),
            ),
        ])
        .map_err(internal)?;
        let cedar_request = cedar_policy::Request::new(
            uid(&self.user_type, request.user),
            uid(&self.action_type, request.verb),
            uid(&self.kind_type, request.kind),
            context,
            // The request is built here, with the schema's types; validating it again on
            // every decision would only cost time (the policies are validated when compiled).
            None,
        )
        .map_err(internal)?;
        let response = self
            .cedar
            .is_authorized(&cedar_request, &compiled.policies, &self.actions);
        if let Some(error) = response.diagnostics().errors().next() {
            return Err(internal(error));
        }
        let mut deciding: Vec<(usize, &RuleRef)> = response
            .diagnostics()
            .reason()
            .filter_map(|id| {
                let index = compiled.rule_index(id)?;
                Some((index, &compiled.rules.get(index)?.at))
            })
            .collect();
        deciding.sort_by(|a, b| a.1.cmp(b.1));
        deciding.dedup_by(|a, b| a.1 == b.1);
        Ok(Outcome {
            allowed: response.decision() == CedarDecision::Allow,
            deciding: deciding.into_iter().map(|(index, _)| index).collect(),
        })
    }

    /// Decides `request` over `roles` (the caller's roles, with revisions): deny rules
    /// first (any match denies), then allow rules (any match allows), otherwise deny.
    pub fn decide<R: Borrow<RoleV3>>(
        &self,
        roles: &[R],
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
        let mut input = HookInput {
            request,
            value: None,
        };
        let mut wheres = Vec::new();
        let mut holding = Vec::new();
        // Deny rules first. A side is settled once one of its rules that apply matches: one
        // without a `where` clause, or one whose clause holds. Clauses are evaluated only
        // until then; once the deny side is settled the request is denied and no allow
        // clause can change that.
        for side in [Side::Deny, Side::Allow] {
            let applying: Vec<(usize, &CompiledRule)> = compiled
                .rules
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    r.at.side == side && r.applies_to(request.verb, request.kind, request.namespace)
                })
                .collect();
            let mut settled = applying.iter().any(|(_, r)| !r.has_where());
            for (index, rule) in applying.iter().filter(|(_, r)| r.has_where()) {
                if settled {
                    break;
                }
                let result = hooks.eval_where(input.with_expression(&rule.rule.r#where));
                settled = match (&result, side) {
                    (Ok(answer), _) => *answer,
                    (Err(_), Side::Deny) => true,
                    (Err(_), Side::Allow) => false,
                };
                if settled {
                    holding.push(*index);
                }
                wheres.push(WhereOutcome {
                    rule: rule.at.clone(),
                    expression: rule.rule.r#where.clone(),
                    result,
                });
            }
            if side == Side::Deny && settled {
                break;
            }
        }
        let key = outcomes::key(request.verb, request.kind, request.namespace, &holding);
        let outcome = match compiled.outcomes.get(&key) {
            Some(outcome) => outcome,
            None => {
                let outcome = Arc::new(self.ask_cedar(&compiled, request, &holding)?);
                compiled.outcomes.insert(key, outcome.clone());
                outcome
            }
        };
        let deciding: Vec<&CompiledRule> = outcome
            .deciding
            .iter()
            .filter_map(|&i| compiled.rules.get(i))
            .collect();
        let mut actions = Vec::new();
        for rule in &deciding {
            for action in &rule.rule.actions {
                actions.push(ActionOutcome {
                    rule: rule.at.clone(),
                    action: action.clone(),
                    result: hooks.run_action(input.with_expression(action)),
                });
            }
        }
        Ok(Decision {
            allowed: outcome.allowed,
            verb: request.verb.to_owned(),
            kind: request.kind.to_owned(),
            namespace: request.namespace.to_owned(),
            decided_by: deciding.into_iter().map(|r| r.at.clone()).collect(),
            wheres,
            actions,
        })
    }
}
