//! Access-request policy RPCs (UpsertAccessRequestPolicy, GetAccessRequestPolicy,
//! GetAccessRequestPolicies, DeleteAccessRequestPolicy), authorized on
//! `access_request_policy`, and running the covering policies on a request.

use std::time::SystemTime;

use portcullis_api::auth::{AccessRequestPolicies, AccessRequestPolicyName};
use portcullis_api::services::{AccessRequestPolicyV1, AccessRequestV3, RequestState};
use serde_json::{json, Value};
use tonic::{Request, Status};

use super::authorize;
use crate::access_requests::approval::{
    self, covers, normalize, policy_spec, Outcome, KIND_ACCESS_REQUEST_POLICY,
};
use crate::access_requests::spec;
use crate::audit;
use crate::rbac::Target;
use crate::resources::Resource;
use crate::state::State;

pub(super) async fn upsert(
    state: &State,
    request: Request<AccessRequestPolicyV1>,
) -> Result<(), Status> {
    let target = Target::resource(request.get_ref());
    let caller = authorize(state, &request, "UpsertAccessRequestPolicy", target).await?;
    let mut given = request.into_inner();
    normalize(&mut given)?;
    let module = policy_spec(&given).module;
    // A policy naming a module that is not loaded would only ever answer `error`.
    let loaded = state.policies.registry().get(&module);
    match loaded {
        None => {
            return Err(Status::failed_precondition(format!(
                "policy module `{module}` is not uploaded; upload it first (pctl policy upload)"
            )))
        }
        Some(m) if !m.implements(&portcullis_policy::Hook::AccessRequest) => {
            return Err(Status::invalid_argument(format!(
                "policy module `{module}` does not declare the access_request hook"
            )))
        }
        Some(_) => {}
    }
    if let Some(m) = given.metadata.as_mut() {
        m.id = 0;
    }
    state.access_request_policies.upsert(&given).await?;
    let fields = json!({"name": given.name(), "op": "put", "module": module});
    state
        .audit
        .emit(
            audit::ACCESS_REQUEST_POLICY_CHANGE,
            &caller.username,
            fields,
        )
        .await;
    Ok(())
}

pub(super) async fn get(
    state: &State,
    request: Request<AccessRequestPolicyName>,
) -> Result<AccessRequestPolicyV1, Status> {
    let name = request.get_ref().name.clone();
    let target = Target::named(KIND_ACCESS_REQUEST_POLICY, &name);
    authorize(state, &request, "GetAccessRequestPolicy", target).await?;
    Ok(state.access_request_policies.get(&name).await?)
}

pub(super) async fn list(
    state: &State,
    request: Request<()>,
) -> Result<AccessRequestPolicies, Status> {
    let target = Target::named(KIND_ACCESS_REQUEST_POLICY, "");
    authorize(state, &request, "GetAccessRequestPolicies", target).await?;
    Ok(AccessRequestPolicies {
        policies: state.access_request_policies.list().await?,
    })
}

pub(super) async fn delete(
    state: &State,
    request: Request<AccessRequestPolicyName>,
) -> Result<(), Status> {
    let name = request.get_ref().name.clone();
    let target = Target::named(KIND_ACCESS_REQUEST_POLICY, &name);
    let caller = authorize(state, &request, "DeleteAccessRequestPolicy", target).await?;
    state.access_request_policies.delete(&name).await?;
    let fields = json!({"name": name, "op": "delete"});
    state
        .audit
        .emit(
            audit::ACCESS_REQUEST_POLICY_CHANGE,
            &caller.username,
            fields,
        )
        .await;
    Ok(())
}

/// Runs every policy covering the pending `request` (whose requester is `requester`, a
/// user without secrets) and records what they answered on it, resolving it when one
/// decides. Answers the outcomes (to audit once the request is stored) and the new state
/// if it changed.
pub(super) async fn run(
    state: &State,
    request: &mut AccessRequestV3,
    requester: Value,
    trigger: &str,
) -> Result<(Vec<Outcome>, Option<RequestState>), Status> {
    let s = spec(request);
    let covering: Vec<AccessRequestPolicyV1> = state
        .access_request_policies
        .list()
        .await?
        .into_iter()
        .filter(|p| covers(p, &s.user, &s.roles))
        .collect();
    if covering.is_empty() {
        return Ok((Vec::new(), None));
    }
    let now = state.policies.now();
    let input = approval::input(request, requester, now);
    let mut outcomes = Vec::with_capacity(covering.len());
    for p in covering {
        let module = policy_spec(&p).module;
        let (module_version, result) = state
            .policies
            .decide_access_request(&module, input.clone())
            .await;
        outcomes.push(Outcome {
            policy: p.name().to_owned(),
            module,
            module_version,
            result,
        });
    }
    let changed = approval::apply(request, &outcomes, trigger, SystemTime::now())?;
    Ok((outcomes, changed))
}

/// The audit events of `outcomes` (one per policy that ran).
pub(super) fn outcome_events(
    request: &AccessRequestV3,
    outcomes: &[Outcome],
    trigger: &str,
) -> Vec<(&'static str, String, Value)> {
    let user = spec(request).user;
    outcomes
        .iter()
        .map(|o| {
            let (verdict, reason) = match &o.result {
                Ok(d) => (
                    approval::verdict_name(d.verdict).to_owned(),
                    d.reason.clone(),
                ),
                Err(e) => ("error".to_owned(), e.clone()),
            };
            let fields = json!({
                "id": request.name(), "policy": o.policy, "module": o.module,
                "module_version": o.module_version, "verdict": verdict, "reason": reason,
                "trigger": trigger,
            });
            (audit::ACCESS_REQUEST_POLICY, user.clone(), fields)
        })
        .collect()
}
