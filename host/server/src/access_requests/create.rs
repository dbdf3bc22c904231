//! Making an access request: every requested role must exist and be requestable by the
//! requesting user's roles, whose thresholds are recorded on the request; annotations are
//! bounded; a client may choose the ID (a UUID). The covering access-request policies
//! decide before the request is stored, so it is written once, already resolved if one of
//! them decided, and its audit events are written together.

use std::collections::BTreeMap;

use portcullis_api::services::{AccessRequestV3, RoleThresholds};
use portcullis_api::wrappers::StringValues;
use portcullis_authz::requests::{may_request, request_thresholds};
use serde_json::{json, Value};

use super::{
    approval, new_request, resolution_event, spec, AccessRequestError, Actor, Context, Result,
};
use crate::audit;
use crate::resources::{to_system_time, Resource};

/// The most annotations a request may carry, and values per annotation.
pub const MAX_ANNOTATIONS: usize = 64;

impl Context<'_> {
    /// Stores the request `given` of `requester` (whose stored user, or what its certificate
    /// says, is `requester_json`, as policy modules see it), after the covering policies ran
    /// on it. Answers the request as stored.
    pub async fn create(
        &self,
        given: AccessRequestV3,
        requester: Actor<'_>,
        requester_json: Value,
    ) -> Result<AccessRequestV3> {
        let given_spec = spec(&given);
        let user = &requester.identity.username;
        let mut thresholds = Vec::with_capacity(given_spec.roles.len());
        for role in &given_spec.roles {
            let exists = portcullis_authz::builtin::role_named(role).is_some()
                || self.roles.find(role).await?.is_some();
            if !exists {
                return Err(AccessRequestError::UnknownRole { role: role.clone() });
            }
            let traits = &requester.identity.traits;
            let access = may_request(requester.roles, traits, role);
            if !access.allowed {
                return Err(AccessRequestError::MayNotRequest {
                    user: user.clone(),
                    role: role.clone(),
                    reason: access.reason,
                });
            }
            thresholds.push(RoleThresholds {
                role: role.clone(),
                thresholds: request_thresholds(requester.roles, traits, role),
            });
        }
        check_annotations(&given_spec.system_annotations)?;
        let now = portcullis_clock::now();
        let access_expires = given_spec.expires.and_then(to_system_time);
        let mut created = new_request(
            user,
            given_spec.roles.clone(),
            given_spec.request_reason.clone(),
            access_expires,
            now,
            self.pending_ttl,
        )?;
        // A client may choose the ID (as the reference's clients do), so it knows it.
        if !given.name().is_empty() {
            let id = uuid::Uuid::parse_str(given.name()).map_err(|source| {
                AccessRequestError::NotAUuid {
                    id: given.name().to_owned(),
                    source,
                }
            })?;
            created.metadata_mut().name = id.to_string();
        }
        if let Some(s) = created.spec.as_mut() {
            s.system_annotations = given_spec.system_annotations.clone();
            s.thresholds = thresholds;
        }
        let ran = self
            .run_approval(&mut created, requester_json, "create")
            .await?;
        let stored = self.requests.create(&created).await?;
        let fields = json!({"id": created.name(), "roles": given_spec.roles, "reason": given_spec.request_reason});
        // The events are written in one store write, in this order.
        let mut events = vec![(audit::ACCESS_REQUEST_CREATE, user.clone(), fields)];
        events.extend(approval::outcome_events(&created, &ran.outcomes, "create"));
        if ran.resolved.is_some() {
            events.push(resolution_event(&created, user));
        }
        self.audit.emit_all(events).await;
        Ok(stored)
    }
}

/// Refuses more than [`MAX_ANNOTATIONS`] annotations or values of one, and empty names.
pub fn check_annotations(annotations: &BTreeMap<String, StringValues>) -> Result<()> {
    if annotations.len() > MAX_ANNOTATIONS {
        return Err(AccessRequestError::Invalid(format!(
            "spec.system_annotations has {} entries (at most {MAX_ANNOTATIONS})",
            annotations.len()
        )));
    }
    for (name, values) in annotations {
        if name.trim().is_empty() {
            return Err(AccessRequestError::Invalid(
                "spec.system_annotations has an empty name".to_owned(),
            ));
        }
        if values.values.len() > MAX_ANNOTATIONS {
            return Err(AccessRequestError::Invalid(format!(
                "spec.system_annotations `{name}` has {} values (at most {MAX_ANNOTATIONS})",
                values.values.len()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
