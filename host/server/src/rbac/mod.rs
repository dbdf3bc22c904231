//! Role-based access control of every RPC: the caller's roles (stored, or built in), the
//! RPC's permission from [`table`], a decision by `portcullis-authz` (Cedar, with `where`
//! clauses and actions in the Wasm `predicate` module). The caller's identity comes in from
//! the transport; what is loaded to decide (the [`Subject`]) goes back out with it in
//! [`Authorized`], for handlers that need the caller's roles or user again.

pub mod check;
pub mod table;

use std::collections::BTreeMap;
use std::sync::Arc;

use portcullis_api::services::{Metadata, RoleV3};
use portcullis_authz::{builtin, AuthzError, Decision, Request as AuthzRequest};
use portcullis_ca::Identity;
use serde_json::{json, Value};

use crate::audit;
use crate::resources::ResourceError;
use crate::state::State;

/// Why a call was not authorized.
#[derive(Debug, thiserror::Error)]
pub enum RbacError {
    /// The caller's roles do not allow the call.
    #[error("`{user}` may not call {rpc}: {explanation}")]
    Denied {
        /// The caller.
        user: String,
        /// The RPC.
        rpc: String,
        /// The decision, explained.
        explanation: String,
    },
    /// The question is malformed (the message names what).
    #[error("{0}")]
    Invalid(String),
    /// The RPC is missing from the access table (a server bug; tests rule it out).
    #[error("RPC {0} has no entry in the access table")]
    Unlisted(String),
    /// The caller's roles or user could not be read.
    #[error(transparent)]
    Resource(#[from] ResourceError),
    /// The decision could not be made.
    #[error(transparent)]
    Decide(#[from] AuthzError),
}

/// What an RPC acts on, for `where` clauses (`resource.*`) and own-user checks.
#[derive(Debug, Default)]
pub struct Target {
    /// The resource as `where` clauses see it (`{}` when the RPC is not about one).
    pub resource: Option<Value>,
    /// The user the RPC acts for, when it acts for a user (own-user checks).
    pub user: Option<String>,
    /// Whether secrets are asked for (`readnosecrets` becomes `read`).
    pub with_secrets: bool,
}

impl Target {
    /// A resource of `kind` known by its name only.
    pub fn named(kind: &str, name: &str) -> Self {
        Target {
            resource: Some(json!({"kind": kind, "metadata": {"name": name}})),
            ..Target::default()
        }
    }

    /// A resource given whole (creates and updates).
    pub fn resource(resource: &impl serde::Serialize) -> Self {
        Target {
            resource: serde_json::to_value(resource).ok(),
            ..Target::default()
        }
    }

    /// Secrets asked for, or not.
    pub fn secrets(mut self, with_secrets: bool) -> Self {
        self.with_secrets = with_secrets;
        self
    }

    /// In namespace `namespace` (listings that select one): rules apply there.
    pub fn in_namespace(mut self, namespace: &str) -> Self {
        if namespace.is_empty() {
            return self;
        }
        let resource = self.resource.get_or_insert_with(|| json!({}));
        set_metadata(resource, "namespace", namespace);
        self
    }

    /// Acting for user `user`.
    pub fn for_user(mut self, user: &str) -> Self {
        self.user = Some(user.to_owned());
        self
    }
}

/// Whose access is decided: the roles and the user, read once per RPC.
#[derive(Debug)]
pub struct Subject {
    /// The user name.
    pub username: String,
    /// The implicit role of every caller, built-in ones (`admin`, system roles) and stored
    /// ones, with their revisions. A role the identity names that no longer exists grants
    /// nothing.
    pub roles: Vec<Arc<RoleV3>>,
    /// The user as `where` clauses see it: the stored user without secrets, or what the
    /// certificate says (hosts, the bootstrap admin).
    pub user: Arc<Value>,
}

impl Subject {
    /// Reads the roles and the user `identity` names.
    pub async fn load(state: &State, identity: &Identity) -> Result<Subject, ResourceError> {
        let mut roles = Vec::with_capacity(1 + identity.roles.len());
        roles.extend(builtin::shared(builtin::IMPLICIT));
        for name in identity.roles.iter().chain(&identity.system_roles) {
            if let Some(role) = builtin::shared(name) {
                roles.push(role);
            } else if let Some(role) = state.role_cache.find(name).await? {
                roles.push(role);
            } else {
                tracing::debug!(user = %identity.username, role = %name, "role no longer exists");
            }
        }
        Ok(Subject {
            username: identity.username.clone(),
            roles,
            user: user_resource(state, identity).await?,
        })
    }

    /// The roles as values, for what takes them so (access request actors, app sessions).
    pub fn owned_roles(&self) -> Vec<RoleV3> {
        self.roles.iter().map(|role| RoleV3::clone(role)).collect()
    }

    /// Decides whether the subject may apply `verb` to `kind` (`resource` for `where`
    /// clauses). What the actions logged and which clauses failed is left to
    /// [`Subject::audit`].
    pub fn decide(
        &self,
        state: &State,
        verb: &str,
        kind: &str,
        resource: &Value,
    ) -> Result<Decision, AuthzError> {
        let hooks = state.policies.rule_hooks();
        let request = AuthzRequest {
            user: &self.username,
            verb,
            kind,
            user_resource: &self.user,
            resource,
            namespace: namespace_of(resource),
        };
        // The hooks move each Wasm evaluation off the async worker (it may read the store).
        let decision = state.authz.decide(&self.roles, &request, &hooks);
        crate::diag::metrics().decision(decision.as_ref().map(|d| d.allowed));
        decision
    }

    /// Records in the audit log what the actions of `decision` logged (or why they failed)
    /// and which `where` clauses failed to evaluate.
    pub async fn audit(&self, state: &State, decision: &Decision) {
        let (verb, kind) = (&decision.verb, &decision.kind);
        for outcome in &decision.actions {
            let (rule, action) = (outcome.rule.to_string(), &outcome.action);
            let fields = match &outcome.result {
                Ok(lines) => {
                    json!({"rule": rule, "action": action, "verb": verb, "kind": kind, "lines": lines})
                }
                Err(e) => {
                    json!({"rule": rule, "action": action, "verb": verb, "kind": kind, "error": e})
                }
            };
            let user = &self.username;
            state.audit.emit(audit::RULE_ACTION, user, fields).await;
        }
        for outcome in &decision.wheres {
            if let Err(e) = &outcome.result {
                let rule = outcome.rule.to_string();
                let expression = &outcome.expression;
                let fields = json!({"rule": rule, "expression": expression, "verb": verb, "kind": kind, "error": e});
                let user = &self.username;
                state.audit.emit(audit::WHERE_FAILED, user, fields).await;
            }
        }
    }
}

/// Sets `metadata.FIELD` of `resource` (a JSON object) to `value`.
pub(crate) fn set_metadata(resource: &mut Value, field: &str, value: &str) {
    if let Some(object) = resource.as_object_mut() {
        let metadata = object.entry("metadata").or_insert_with(|| json!({}));
        if let Some(metadata) = metadata.as_object_mut() {
            metadata.insert(field.to_owned(), Value::String(value.to_owned()));
        }
    }
}

/// The namespace a request about `resource` is in: its `metadata.namespace`, `default` when
/// it names none (most kinds have no namespace).
fn namespace_of(resource: &Value) -> &str {
    match resource["metadata"]["namespace"].as_str() {
        Some(namespace) if !namespace.is_empty() => namespace,
        _ => portcullis_authz::DEFAULT_NAMESPACE,
    }
}

/// The user as `where` clauses see it.
async fn user_resource(state: &State, identity: &Identity) -> Result<Arc<Value>, ResourceError> {
    if let Some(view) = state.user_views.find(&identity.username).await? {
        if !view.is_null() {
            return Ok(view);
        }
    }
    let traits: BTreeMap<&String, &Vec<String>> = identity.traits.iter().collect();
    Ok(Arc::new(json!({
        "kind": "user",
        "version": "v2",
        "metadata": {"name": identity.username},
        "spec": {"roles": identity.roles, "traits": traits},
    })))
}

/// The identity of `user` as its roles and traits say: the caller itself when `user` is
/// empty or the caller, otherwise the stored user.
pub async fn user_identity(
    state: &State,
    caller: &Identity,
    user: &str,
) -> Result<Identity, ResourceError> {
    if user.is_empty() || user == caller.username {
        return Ok(caller.clone());
    }
    crate::resources::validate::validate_name("user", user)?;
    let stored = state.users.get(user).await?;
    let spec = stored.spec.unwrap_or_default();
    let mut identity = Identity::new(user, spec.roles);
    identity.traits = spec
        .traits
        .into_iter()
        .map(|(k, v)| (k, v.values))
        .collect::<BTreeMap<_, _>>();
    Ok(identity)
}

/// A caller whose call was authorized, with what was loaded to decide it: the handler reads
/// the caller's roles and user from here instead of loading them again.
#[derive(Debug)]
pub struct Authorized {
    /// The caller, as its client certificate says.
    pub identity: Arc<Identity>,
    subject: Option<Subject>,
}

impl std::ops::Deref for Authorized {
    type Target = Identity;

    fn deref(&self) -> &Identity {
        &self.identity
    }
}

impl Authorized {
    /// A caller nothing has been decided for yet.
    pub fn new(identity: Arc<Identity>) -> Self {
        Self {
            identity,
            subject: None,
        }
    }

    /// The caller's roles and user, loaded by a decision or now.
    pub async fn subject(&mut self, state: &State) -> Result<&Subject, ResourceError> {
        let subject = match self.subject.take() {
            Some(subject) => subject,
            None => Subject::load(state, &self.identity).await?,
        };
        Ok(self.subject.insert(subject))
    }

    /// Whether the caller's roles grant access, by their label selectors of `target`
    /// (`node_labels`, `cluster_labels`, ...), to a resource with `labels` — what a listing
    /// shows, as Teleport filters them (deny wins). Hosts (callers with system roles) see
    /// every resource: proxies route to any node.
    pub async fn grants_labels(
        &mut self,
        state: &State,
        target: portcullis_authz::access::Target,
        labels: &BTreeMap<String, String>,
    ) -> Result<bool, ResourceError> {
        Ok(self.label_grants(state, target).await?.grants(labels))
    }

    /// The caller's label grants of `target`, loaded once, to filter many resources by
    /// (see [`Authorized::grants_labels`]).
    pub async fn label_grants(
        &mut self,
        state: &State,
        target: portcullis_authz::access::Target,
    ) -> Result<LabelGrants<'_>, ResourceError> {
        let identity = Arc::clone(&self.identity);
        let roles = if identity.system_roles.is_empty() {
            Some(self.subject(state).await?.roles.as_slice())
        } else {
            None
        };
        Ok(LabelGrants {
            identity,
            roles,
            target,
        })
    }

    /// Checks that the caller may make a call of `rpc` on `target`: the RPC's verbs from the
    /// table, on `kind` when given (for RPCs whose messages each name a kind of their own,
    /// like WatchEvents), else on the table's kind. The subject is loaded once and kept.
    pub async fn check(
        &mut self,
        state: &State,
        rpc: &str,
        kind: Option<&str>,
        target: Target,
    ) -> Result<(), RbacError> {
        if table::PUBLIC.contains(&rpc) || table::BY_CONDITIONS.contains(&rpc) {
            return Ok(());
        }
        let permission = table::permission(rpc).ok_or_else(|| RbacError::Unlisted(rpc.into()))?;
        if permission.own && target.user.as_deref() == Some(self.identity.username.as_str()) {
            return Ok(());
        }
        let kind = kind.unwrap_or(permission.kind);
        let resource = target.resource.unwrap_or_else(|| json!({"kind": kind}));
        let subject = self.subject(state).await?;
        for verb in permission.verbs {
            let verb = if *verb == "readnosecrets" && target.with_secrets {
                "read"
            } else {
                verb
            };
            let decision = subject.decide(state, verb, kind, &resource)?;
            subject.audit(state, &decision).await;
            if !decision.allowed {
                return Err(RbacError::Denied {
                    user: subject.username.clone(),
                    rpc: rpc.to_owned(),
                    explanation: decision.to_string(),
                });
            }
        }
        Ok(())
    }
}

/// What a caller's roles grant by the label selectors of one target (see
/// [`Authorized::label_grants`]).
pub struct LabelGrants<'a> {
    identity: Arc<Identity>,
    /// `None` for hosts, which are granted everything.
    roles: Option<&'a [Arc<RoleV3>]>,
    target: portcullis_authz::access::Target,
}

impl LabelGrants<'_> {
    /// Whether a resource with `labels` is granted (deny wins).
    pub fn grants(&self, labels: &BTreeMap<String, String>) -> bool {
        let Some(roles) = self.roles else {
            return true;
        };
        let traits = &self.identity.traits;
        portcullis_authz::access::check(roles, traits, self.target, labels, None).allowed
    }

    /// [`LabelGrants::grants`] for a resource with `metadata` (no metadata: no labels).
    pub fn grants_metadata(&self, metadata: Option<&Metadata>) -> bool {
        match metadata {
            Some(metadata) => self.grants(&metadata.labels),
            None => self.grants(&BTreeMap::new()),
        }
    }
}

/// Authorizes `identity` (the caller of a request) to make a call of `rpc` on `target`.
pub async fn authorize(
    state: &State,
    identity: Arc<Identity>,
    rpc: &str,
    target: Target,
) -> Result<Authorized, RbacError> {
    let mut authorized = Authorized::new(identity);
    authorized.check(state, rpc, None, target).await?;
    Ok(authorized)
}

#[cfg(test)]
mod tests {
    use super::table::{permission, ANONYMOUS, BY_CONDITIONS, PUBLIC, TABLE};
    use portcullis_authz::verbs::VERBS;

    #[test]
    fn the_table_names_known_verbs_once_per_rpc() {
        for (i, (rpc, p)) in TABLE.iter().enumerate() {
            assert!(!PUBLIC.contains(rpc), "{rpc}");
            assert!(
                TABLE[..i].iter().all(|(other, _)| other != rpc),
                "{rpc} twice"
            );
            assert!(p.verbs.iter().all(|v| VERBS.contains(v)), "{rpc}");
            assert_eq!(permission(rpc), Some(*p));
        }
        assert_eq!(permission("Nope"), None);
    }

    /// Every implemented RPC of the service has an entry (or is public), and every entry
    /// is an implemented RPC.
    #[test]
    fn every_implemented_rpc_is_in_the_table() {
        let source = include_str!("../transport/mod.rs");
        let start = source
            .find("impl AuthService for AuthServer {")
            .unwrap_or(0);
        let implemented: Vec<String> = source[start..]
            .split("async fn ")
            .skip(1)
            .filter_map(|rest| rest.split('(').next())
            .map(|snake| {
                snake
                    .split('_')
                    .map(|part| {
                        let mut chars = part.chars();
                        chars
                            .next()
                            .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .collect();
        assert!(implemented.len() > 20, "{implemented:?}");
        for rpc in &implemented {
            assert!(
                PUBLIC.contains(&rpc.as_str())
                    || ANONYMOUS.contains(&rpc.as_str())
                    || BY_CONDITIONS.contains(&rpc.as_str())
                    || permission(rpc).is_some(),
                "{rpc} is implemented but has no entry in the access table"
            );
        }
        for (rpc, _) in TABLE {
            assert!(
                implemented.iter().any(|i| i == rpc),
                "{rpc} is in the table but not implemented"
            );
        }
    }
}
