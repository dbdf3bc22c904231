//! CheckAccess: a decision with its explanation (for `pctl acl check`), whether the user may
//! request roles, log in to a node with labels, or reach a remote cluster.

use std::collections::BTreeMap;

use portcullis_api::auth::{
    CheckAccessRequest, CheckAccessResponse, RoleRequestCheck, WhereOutcome,
};
use portcullis_authz::requests::may_request;
use portcullis_authz::verbs::VERBS;
use portcullis_ca::Identity;
use serde_json::{json, Value};

use super::{set_metadata, user_identity, RbacError, Subject};
use crate::resources::kinds::KIND_REMOTE_CLUSTER;
use crate::resources::validate::validate_name;
use crate::state::State;

/// Answers `req` for `caller` (already authorized to ask about `req.user`).
pub async fn check_access(
    state: &State,
    caller: &Identity,
    req: CheckAccessRequest,
) -> Result<CheckAccessResponse, RbacError> {
    if !VERBS.contains(&req.verb.as_str()) {
        return Err(RbacError::Invalid(format!(
            "unknown verb `{}` (known: {})",
            req.verb,
            VERBS.join(", ")
        )));
    }
    if req.kind.is_empty() {
        return Err(RbacError::Invalid("a resource kind is required".into()));
    }
    let identity = user_identity(state, caller, &req.user).await?;
    let mut resource: Value = if req.resource_json.is_empty() {
        json!({"kind": req.kind})
    } else {
        serde_json::from_str(&req.resource_json)
            .map_err(|e| RbacError::Invalid(format!("resource_json is not valid JSON: {e}")))?
    };
    if !req.name.is_empty() {
        set_metadata(&mut resource, "name", &req.name);
    }
    if !req.namespace.is_empty() {
        validate_name("namespace", &req.namespace)?;
        set_metadata(&mut resource, "namespace", &req.namespace);
    }
    let subject = Subject::load(state, &identity).await?;
    let decision = subject.decide(state, &req.verb, &req.kind, &resource)?;
    let roles = &subject.roles;
    let role_requests = req
        .request_roles
        .iter()
        .map(|role| {
            let access = may_request(roles, &identity.traits, role);
            RoleRequestCheck {
                role: role.clone(),
                allowed: access.allowed,
                reason: access.reason,
            }
        })
        .collect();
    let node = (!req.node_labels.is_empty() || !req.login.is_empty()).then(|| {
        let labels: BTreeMap<String, String> = req.node_labels.clone().into_iter().collect();
        portcullis_authz::access::check(
            roles,
            &identity.traits,
            portcullis_authz::access::Target::Node,
            &labels,
            Some(req.login.as_str()),
        )
    });
    let cluster = if req.cluster.is_empty() {
        None
    } else {
        validate_name(KIND_REMOTE_CLUSTER, &req.cluster)?;
        let cluster = state.remote_clusters.get(&req.cluster).await?;
        let labels = cluster.metadata.map(|m| m.labels).unwrap_or_default();
        Some(portcullis_authz::access::check(
            roles,
            &identity.traits,
            portcullis_authz::access::Target::Cluster,
            &labels,
            None,
        ))
    };
    Ok(CheckAccessResponse {
        cluster_allowed: cluster.as_ref().map(|c| c.allowed),
        cluster_reason: cluster.map(|c| c.reason).unwrap_or_default(),
        node_allowed: node.as_ref().map(|n| n.allowed),
        node_reason: node.map(|n| n.reason).unwrap_or_default(),
        allowed: decision.allowed,
        explanation: decision.to_string(),
        decided_by: decision
            .decided_by
            .iter()
            .map(ToString::to_string)
            .collect(),
        wheres: decision
            .wheres
            .iter()
            .map(|w| WhereOutcome {
                rule: w.rule.to_string(),
                expression: w.expression.clone(),
                result: matches!(w.result, Ok(true)),
                error: w
                    .result
                    .as_ref()
                    .err()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            })
            .collect(),
        role_requests,
        roles: roles
            .iter()
            .filter_map(|r| r.metadata.as_ref().map(|m| m.name.clone()))
            .collect(),
    })
}
