//! Access-request policies: custom approval logic in uploaded Wasm modules (ABI v1
//! `access_request` hook). A policy (`access_request_policy`, stored under
//! `/access_request_policies/NAME`) names a module and the requested roles and requesting
//! users it covers. Covering policies run when a request is made and after each review;
//! each answers approve, deny or pending, with a reason, annotations and suggested
//! reviewers. Every answer is recorded on the request (policy, module, module version) —
//! an error or timeout too, as the verdict `error`, which leaves the request pending. A
//! deny from any policy denies; otherwise an approve approves; otherwise it stays pending.
//! Policies are validated and stored by [`policies`].

use std::collections::BTreeMap;
use std::time::SystemTime;

use portcullis_api::services::{
    AccessRequestPolicySpecV1, AccessRequestPolicyV1, AccessRequestV3, PolicyVerdict, RequestState,
};
use portcullis_api::wrappers::StringValues;
use portcullis_authz::labels::ValueMatcher;
use portcullis_policy::{Decision, Verdict};
use serde_json::{json, Value};

use super::{resolve, spec, state, state_name, Context, Event, Resolution};
use crate::audit;
pub use crate::modules::ApprovalError;
use crate::resources::{Resource, ResourceError};

pub mod policies;

pub use portcullis_api::kinds::KIND_ACCESS_REQUEST_POLICY;

crate::impl_resource!(
    AccessRequestPolicyV1,
    KIND_ACCESS_REQUEST_POLICY,
    "/access_request_policies/"
);

/// The spec of a policy (empty if missing).
pub fn policy_spec(policy: &AccessRequestPolicyV1) -> AccessRequestPolicySpecV1 {
    policy.spec.clone().unwrap_or_default()
}

/// Checks a policy before it is stored and fills in its kind and version.
pub fn normalize(policy: &mut AccessRequestPolicyV1) -> super::Result<()> {
    Ok(portcullis_authz::validate::normalize_access_request_policy(
        policy,
    )?)
}

fn any_matches(entries: &[String], value: &str) -> bool {
    entries
        .iter()
        .any(|e| ValueMatcher::parse(e).is_ok_and(|m| m.matches(value)))
}

/// Whether `policy` covers a request by `user` for `roles`: empty lists cover everything;
/// otherwise the user must be named and at least one requested role.
pub fn covers(policy: &AccessRequestPolicyV1, user: &str, roles: &[String]) -> bool {
    let Some(spec) = policy.spec.as_ref() else {
        return false;
    };
    (spec.users.is_empty() || any_matches(&spec.users, user))
        && (spec.roles.is_empty() || roles.iter().any(|r| any_matches(&spec.roles, r)))
}

fn rfc3339(ts: Option<prost_types::Timestamp>) -> Value {
    ts.and_then(crate::resources::to_system_time)
        .map_or(Value::Null, |t| {
            Value::String(humantime::format_rfc3339_seconds(t).to_string())
        })
}

fn values(map: &BTreeMap<String, StringValues>) -> BTreeMap<&str, &[String]> {
    map.iter()
        .map(|(k, v)| (k.as_str(), v.values.as_slice()))
        .collect()
}

/// The hook's input (ABI v1 §4.3): the request, the requester (a user resource without
/// secrets, or `null`), the reviews so far and the time.
pub fn input(request: &AccessRequestV3, requester: Value, now: SystemTime) -> Value {
    let s = spec(request);
    let reviews: Vec<Value> = s
        .reviews
        .iter()
        .map(|r| {
            json!({
                "author": r.author,
                "verdict": match r.proposed_state() {
                    RequestState::Approved => "approve",
                    RequestState::Denied => "deny",
                    _ => "pending",
                },
                "reason": r.reason,
                "created": rfc3339(r.created),
            })
        })
        .collect();
    json!({
        "request": {
            "id": request.metadata.as_ref().map_or("", |m| m.name.as_str()),
            "user": s.user,
            "roles": s.roles,
            "state": state_name(state(request)).to_ascii_uppercase(),
            "reason": s.request_reason,
            "annotations": values(&s.system_annotations),
            "created": rfc3339(s.created),
            "access_expiry": rfc3339(s.expires),
        },
        "requester": requester,
        "reviews": reviews,
        "now": humantime::format_rfc3339_seconds(now).to_string(),
    })
}

/// What one policy's module answered.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The policy's name.
    pub policy: String,
    /// The module it names.
    pub module: String,
    /// The module's version (empty when it could not be run).
    pub module_version: String,
    /// The decision, or why there is none.
    pub result: Result<Decision, ApprovalError>,
}

impl Outcome {
    /// The verdict's ABI name (`error` when there is no decision) and the reason.
    fn verdict(&self) -> (&'static str, String) {
        match &self.result {
            Ok(d) => (verdict_name(d.verdict), d.reason.clone()),
            Err(e) => ("error", e.to_string()),
        }
    }
}

/// The ABI name of a verdict.
pub fn verdict_name(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Approve => "approve",
        Verdict::Deny => "deny",
        Verdict::Pending => "pending",
    }
}

/// Records `outcomes` on a pending `request` (triggered by `trigger`, at `now`) and
/// resolves it when one decides. Answers the new state when it changed.
pub fn apply(
    request: &mut AccessRequestV3,
    outcomes: &[Outcome],
    trigger: &str,
    now: SystemTime,
) -> Result<Option<RequestState>, ResourceError> {
    let spec = request.spec.get_or_insert_with(Default::default);
    for o in outcomes {
        let (verdict, reason) = o.verdict();
        spec.policy_verdicts.push(PolicyVerdict {
            policy: o.policy.clone(),
            module: o.module.clone(),
            module_version: o.module_version.clone(),
            verdict: verdict.to_owned(),
            reason,
            created: Some(prost_types::Timestamp::from(now)),
            trigger: trigger.to_owned(),
        });
        if let Ok(d) = &o.result {
            for reviewer in &d.suggested_reviewers {
                if !spec.suggested_reviewers.contains(reviewer) {
                    spec.suggested_reviewers.push(reviewer.clone());
                }
            }
        }
    }
    let decisive = |wanted: Verdict| {
        outcomes.iter().find_map(|o| match &o.result {
            Ok(d) if d.verdict == wanted => Some((o, d)),
            _ => None,
        })
    };
    let Some(((deciding, decision), new_state)) = decisive(Verdict::Deny)
        .map(|found| (found, RequestState::Denied))
        .or_else(|| decisive(Verdict::Approve).map(|found| (found, RequestState::Approved)))
    else {
        return Ok(None);
    };
    let annotations = decision
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), StringValues { values: v.clone() }))
        .collect();
    resolve(
        request,
        Resolution {
            state: new_state,
            roles: Vec::new(),
            reason: decision.reason.clone(),
            annotations,
        },
    )?;
    let version = if deciding.module_version.is_empty() {
        String::new()
    } else {
        format!(" v{}", deciding.module_version)
    };
    request
        .spec
        .get_or_insert_with(Default::default)
        .resolved_by = format!(
        "policy:{} (module {}{version})",
        deciding.policy, deciding.module
    );
    Ok(Some(new_state))
}

/// What the covering policies of a request answered.
#[derive(Debug, Default)]
pub struct Ran {
    /// One per policy that ran, to audit once the request is stored.
    pub outcomes: Vec<Outcome>,
    /// The new state, if one of them resolved the request.
    pub resolved: Option<RequestState>,
}

impl Context<'_> {
    /// Runs every policy covering the pending `request` (whose requester is `requester`, a
    /// user without secrets) and records what they answered on it, resolving it when one
    /// decides (`trigger` says why they ran).
    pub async fn run_approval(
        &self,
        request: &mut AccessRequestV3,
        requester: Value,
        trigger: &str,
    ) -> super::Result<Ran> {
        let s = spec(request);
        let covering: Vec<AccessRequestPolicyV1> = self
            .policies
            .list()
            .await?
            .into_iter()
            .filter(|p| covers(p, &s.user, &s.roles))
            .collect();
        if covering.is_empty() {
            return Ok(Ran::default());
        }
        let input = input(request, requester, self.modules.now());
        let mut outcomes = Vec::with_capacity(covering.len());
        for p in covering {
            let module = policy_spec(&p).module;
            let (module_version, result) = self
                .modules
                .decide_access_request(&module, input.clone())
                .await;
            outcomes.push(Outcome {
                policy: p.name().to_owned(),
                module,
                module_version,
                result,
            });
        }
        let resolved = apply(request, &outcomes, trigger, portcullis_clock::now())?;
        Ok(Ran { outcomes, resolved })
    }
}

/// The audit events of `outcomes` (one per policy that ran on `request`).
pub fn outcome_events(
    request: &AccessRequestV3,
    outcomes: &[Outcome],
    trigger: &str,
) -> Vec<Event> {
    let user = spec(request).user;
    outcomes
        .iter()
        .map(|o| {
            let (verdict, reason) = o.verdict();
            let fields = json!({
                "id": request.name(), "policy": o.policy, "module": o.module,
                "module_version": o.module_version, "verdict": verdict, "reason": reason,
                "trigger": trigger,
            });
            (audit::ACCESS_REQUEST_POLICY, user.clone(), fields)
        })
        .collect()
}

#[cfg(test)]
mod tests;
