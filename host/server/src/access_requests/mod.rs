//! Access requests: a user asks for extra roles ([`create`]); reviewers ([`reviews`]), an
//! administrator ([`set_state`]) or an access-request policy module ([`approval`]) approve or
//! deny. The workflows are methods of [`Context`], which holds what they use; they take the
//! caller as the transport authenticated and authorized it, and fail with
//! [`AccessRequestError`].
//!
//! A request is stored under `/access_requests/ID` (a random UUID). While PENDING it lives
//! until its pending expiry (`metadata.expires`, one hour by default), after which it is
//! gone; once APPROVED it lives until its access expiry (`spec.expires`, the latest a
//! certificate using it may be valid); a DENIED request keeps its pending expiry. A
//! resolved request cannot be resolved again. Every change is a compare-and-swap on the
//! revision read, so two reviewers resolving at once cannot both win.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use portcullis_api::services::{
    AccessRequestPolicyV1, AccessRequestSpecV3, AccessRequestV3, Metadata, PluginDataV3,
    RequestState, RoleV3, UserV2,
};
use portcullis_api::wrappers::StringValues;
use portcullis_ca::Identity;
use serde_json::{json, Value};

use crate::audit::{self, AuditLog};
use crate::modules::Policies;
use crate::resources::{to_system_time, Collection, Resource, ResourceError};

pub mod approval;
pub mod create;
pub mod delete;
mod error;
pub mod list;
pub mod plugin_data;
pub mod reviews;
pub mod set_state;

pub use error::{AccessRequestError, PluginDataMismatch, Result};

pub use portcullis_api::kinds::KIND_ACCESS_REQUEST;

/// How long a request may stay pending by default.
pub const DEFAULT_PENDING_TTL: Duration = Duration::from_secs(3600);

/// How long access granted by a request lasts by default.
pub const DEFAULT_ACCESS_TTL: Duration = Duration::from_secs(3600);

/// The longest access a request can grant (the longest user certificate).
pub const MAX_ACCESS_TTL: Duration = Duration::from_secs(30 * 3600);

crate::impl_resource!(AccessRequestV3, KIND_ACCESS_REQUEST, "/access_requests/");

/// What the access request workflows use: the collections, the policy modules, the audit
/// log and the pending TTL.
pub struct Context<'a> {
    /// Access requests.
    pub requests: &'a Collection<AccessRequestV3>,
    /// What plugins keep about access requests.
    pub plugin_data: &'a Collection<PluginDataV3>,
    /// Access-request policies.
    pub policies: &'a Collection<AccessRequestPolicyV1>,
    /// Stored roles (a requested role must exist).
    pub roles: &'a Collection<RoleV3>,
    /// Stored users (requesters as policy modules see them).
    pub users: &'a Collection<UserV2>,
    /// The loaded policy modules that access-request policies name.
    pub modules: &'a Policies,
    /// The audit log.
    pub audit: &'a AuditLog,
    /// How long a request may stay pending.
    pub pending_ttl: Duration,
}

impl Context<'_> {
    /// The stored user `name` as policy modules see it (without secrets), `null` if gone.
    async fn user_json(&self, name: &str) -> Result<Value> {
        let user = crate::users::policy_view(self.users, name).await?;
        Ok(user.unwrap_or(Value::Null))
    }
}

/// A user acting on access requests (requesting, reviewing, listing), as the transport
/// authenticated it, with its roles (built-in and stored) loaded.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// Name and traits.
    pub identity: &'a Identity,
    /// The roles its identity names.
    pub roles: &'a [RoleV3],
}

/// An audit event: type, user, fields.
pub type Event = (&'static str, String, Value);

/// The `access_request.update` event of a request resolved by reviews or a policy.
fn resolution_event(request: &AccessRequestV3, actor: &str) -> Event {
    let s = spec(request);
    let fields = json!({
        "id": request.name(), "state": state_name(s.state()),
        "roles": s.roles, "reason": s.resolve_reason, "resolved_by": s.resolved_by,
        "user": s.user,
    });
    (audit::ACCESS_REQUEST_UPDATE, actor.to_owned(), fields)
}

/// The spec of a request (empty if missing).
pub fn spec(request: &AccessRequestV3) -> AccessRequestSpecV3 {
    request.spec.clone().unwrap_or_default()
}

/// The state of a request.
pub fn state(request: &AccessRequestV3) -> RequestState {
    request
        .spec
        .as_ref()
        .map_or(RequestState::None, |s| s.state())
}

/// The state's name, lower-case.
pub fn state_name(state: RequestState) -> &'static str {
    state.label()
}

fn ts(at: SystemTime) -> prost_types::Timestamp {
    prost_types::Timestamp::from(at)
}

/// A new PENDING request of `user` for `roles`, made at `now`, pending for `pending_ttl`,
/// granting access until `access_expires` (default: one hour from now; at most
/// [`MAX_ACCESS_TTL`]).
pub fn new_request(
    user: &str,
    roles: Vec<String>,
    reason: String,
    access_expires: Option<SystemTime>,
    now: SystemTime,
    pending_ttl: Duration,
) -> Result<AccessRequestV3, ResourceError> {
    if roles.is_empty() {
        return Err(ResourceError::invalid(
            "an access request needs at least one role (spec.roles)",
        ));
    }
    let access_expires = access_expires.unwrap_or(now + DEFAULT_ACCESS_TTL);
    if access_expires <= now {
        return Err(ResourceError::invalid(
            "spec.expires (the access expiry) is in the past",
        ));
    }
    if access_expires > now + MAX_ACCESS_TTL {
        return Err(ResourceError::invalid(format!(
            "spec.expires (the access expiry) is more than {} away",
            humantime::format_duration(MAX_ACCESS_TTL)
        )));
    }
    let mut roles = roles;
    roles.dedup();
    Ok(AccessRequestV3 {
        kind: KIND_ACCESS_REQUEST.to_owned(),
        sub_kind: String::new(),
        version: "v3".to_owned(),
        metadata: Some(Metadata {
            name: uuid::Uuid::new_v4().to_string(),
            namespace: "default".to_owned(),
            expires: Some(ts(now + pending_ttl)),
            ..Metadata::default()
        }),
        spec: Some(AccessRequestSpecV3 {
            user: user.to_owned(),
            roles,
            state: RequestState::Pending as i32,
            created: Some(ts(now)),
            expires: Some(ts(access_expires)),
            request_reason: reason,
            ..AccessRequestSpecV3::default()
        }),
    })
}

/// How a pending request is resolved.
#[derive(Debug, Clone, Default)]
pub struct Resolution {
    /// APPROVED or DENIED.
    pub state: RequestState,
    /// When approving, the roles granted (a subset of those requested); empty means all.
    pub roles: Vec<String>,
    /// Why.
    pub reason: String,
    /// Values the resolving party attaches.
    pub annotations: BTreeMap<String, StringValues>,
}

/// The ID of `request` if it is PENDING; otherwise an error saying its state and `why`
/// that matters.
pub fn ensure_pending(request: &AccessRequestV3, why: &str) -> Result<String, ResourceError> {
    let id = request
        .metadata
        .as_ref()
        .map(|m| m.name.clone())
        .unwrap_or_default();
    let current = state(request);
    if current != RequestState::Pending {
        return Err(ResourceError::invalid(format!(
            "access request `{id}` is already {}; {why}",
            state_name(current)
        )));
    }
    Ok(id)
}

/// Applies `resolution` to `request`: only a PENDING request can be resolved, only to
/// APPROVED or DENIED, and a partial approval only narrows the roles.
pub fn resolve(request: &mut AccessRequestV3, resolution: Resolution) -> Result<(), ResourceError> {
    let id = ensure_pending(request, "a resolved request cannot be resolved again")?;
    if !matches!(
        resolution.state,
        RequestState::Approved | RequestState::Denied
    ) {
        return Err(ResourceError::invalid(format!(
            "a request can only be set to approved or denied, not {}",
            state_name(resolution.state)
        )));
    }
    let spec = request.spec.get_or_insert_with(Default::default);
    if !resolution.roles.is_empty() {
        if resolution.state != RequestState::Approved {
            return Err(ResourceError::invalid(
                "roles can only be given when approving (a partial approval)",
            ));
        }
        if let Some(extra) = resolution.roles.iter().find(|r| !spec.roles.contains(r)) {
            return Err(ResourceError::invalid(format!(
                "role `{extra}` was not requested by `{id}` (requested: {})",
                spec.roles.join(", ")
            )));
        }
        spec.thresholds
            .retain(|t| resolution.roles.contains(&t.role));
        spec.roles = resolution.roles;
    }
    spec.state = resolution.state as i32;
    spec.resolve_reason = resolution.reason;
    spec.resolve_annotations = resolution.annotations.into_iter().collect();
    if resolution.state == RequestState::Approved {
        let access = spec.expires;
        request
            .metadata
            .get_or_insert_with(Default::default)
            .expires = access;
    }
    Ok(())
}

/// Whether `request` matches the filter (empty fields match everything).
pub fn matches(request: &AccessRequestV3, id: &str, user: &str, wanted: RequestState) -> bool {
    let name = request.metadata.as_ref().map_or("", |m| m.name.as_str());
    (id.is_empty() || id == name)
        && (user.is_empty() || request.spec.as_ref().is_some_and(|s| s.user == user))
        && (wanted == RequestState::None || state(request) == wanted)
}

/// The access expiry of a request.
pub fn access_expires(request: &AccessRequestV3) -> Option<SystemTime> {
    request
        .spec
        .as_ref()
        .and_then(|s| s.expires)
        .and_then(to_system_time)
}

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
