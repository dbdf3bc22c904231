//! Access request handlers: CreateAccessRequest, GetAccessRequests, SetAccessRequestState,
//! DeleteAccessRequest, and plugin data.

use std::time::SystemTime;

use portcullis_api::auth::{AccessRequests, PluginDataSeq, RequestId, RequestStateSetter};
use portcullis_api::services::{
    AccessRequestFilter, AccessRequestV3, PluginDataFilter, PluginDataUpdateParams, RoleThresholds,
};
use portcullis_authz::requests::{may_request, may_review, request_thresholds, reviews_any};
use serde_json::json;
use tonic::{Request, Status};

use super::authorize;
use crate::access_requests::plugin_data;
use crate::access_requests::{
    matches, new_request, resolve, spec, state_name, Resolution, KIND_ACCESS_REQUEST,
};
use crate::audit;
use crate::rbac::{user_identity, Subject, Target};
use crate::resources::{to_system_time, Resource};
use crate::state::State;

pub(super) async fn create(state: &State, request: Request<AccessRequestV3>) -> Result<(), Status> {
    let caller = crate::transport::caller(&request)?;
    let given = request.get_ref();
    let given_spec = spec(given);
    let user = if given_spec.user.is_empty() {
        caller.username.clone()
    } else {
        given_spec.user.clone()
    };
    let target = Target::resource(given).for_user(&user);
    authorize(state, &request, "CreateAccessRequest", target).await?;
    let given = request.into_inner();

    // The requesting user's own roles decide what it may request, and the thresholds.
    let identity = user_identity(state, &caller, &user).await?;
    let subject = Subject::load(state, &identity).await?;
    let mut thresholds = Vec::with_capacity(given_spec.roles.len());
    for role in &given_spec.roles {
        let exists = portcullis_authz::builtin::role_named(role).is_some()
            || state.roles.find(role).await?.is_some();
        if !exists {
            return Err(Status::invalid_argument(format!(
                "role `{role}` does not exist"
            )));
        }
        let access = may_request(&subject.roles, &identity.traits, role);
        if !access.allowed {
            return Err(Status::permission_denied(format!(
                "`{user}` may not request role `{role}`: {}",
                access.reason
            )));
        }
        thresholds.push(RoleThresholds {
            role: role.clone(),
            thresholds: request_thresholds(&subject.roles, &identity.traits, role),
        });
    }
    check_annotations(&given_spec.system_annotations)?;
    let now = SystemTime::now();
    let access_expires = given_spec.expires.and_then(to_system_time);
    let mut created = new_request(
        &user,
        given_spec.roles.clone(),
        given_spec.request_reason.clone(),
        access_expires,
        now,
        state.access_request_ttl,
    )?;
    // A client may choose the ID (as the reference's clients do), so it knows it.
    if !given.name().is_empty() {
        let id = uuid::Uuid::parse_str(given.name()).map_err(|e| {
            Status::invalid_argument(format!(
                "access request ID `{}` is not a UUID: {e}",
                given.name()
            ))
        })?;
        created.metadata_mut().name = id.to_string();
    }
    if let Some(s) = created.spec.as_mut() {
        s.system_annotations = given_spec.system_annotations.clone();
        s.thresholds = thresholds;
    }
    // Access-request policies decide before the request is stored, so it is written once,
    // already resolved if one of them decided.
    let (outcomes, resolved) =
        super::approval::run(state, &mut created, subject.user.clone(), "create").await?;
    state.access_requests.create(&created).await?;
    let fields = json!({"id": created.name(), "roles": given_spec.roles, "reason": given_spec.request_reason});
    // The events are written in one store write, in this order.
    let mut events = vec![(audit::ACCESS_REQUEST_CREATE, user.clone(), fields)];
    events.extend(super::approval::outcome_events(
        &created, &outcomes, "create",
    ));
    if resolved.is_some() {
        events.push(super::access_reviews::resolution_event(&created, &user));
    }
    state.audit.emit_all(events).await;
    Ok(())
}

/// The most annotations a request may carry, and values per annotation.
const MAX_ANNOTATIONS: usize = 64;

fn check_annotations(
    annotations: &std::collections::BTreeMap<String, portcullis_api::wrappers::StringValues>,
) -> Result<(), Status> {
    if annotations.len() > MAX_ANNOTATIONS {
        return Err(Status::invalid_argument(format!(
            "spec.system_annotations has {} entries (at most {MAX_ANNOTATIONS})",
            annotations.len()
        )));
    }
    for (name, values) in annotations {
        if name.trim().is_empty() {
            return Err(Status::invalid_argument(
                "spec.system_annotations has an empty name",
            ));
        }
        if values.values.len() > MAX_ANNOTATIONS {
            return Err(Status::invalid_argument(format!(
                "spec.system_annotations `{name}` has {} values (at most {MAX_ANNOTATIONS})",
                values.values.len()
            )));
        }
    }
    Ok(())
}

pub(super) async fn list(
    state: &State,
    request: Request<AccessRequestFilter>,
) -> Result<AccessRequests, Status> {
    let filter = request.get_ref().clone();
    // One request by its ID is one read, not a scan of every request; and a user reading
    // its own request by ID acts on its own user.
    let by_id = if filter.id.is_empty() {
        None
    } else {
        Some(state.access_requests.find(&filter.id).await?)
    };
    let owner = match (&by_id, filter.user.is_empty()) {
        (Some(Some(found)), true) => spec(found).user,
        _ => filter.user.clone(),
    };
    let target = Target::named(KIND_ACCESS_REQUEST, &filter.id).for_user(&owner);
    // Without rights on access requests, a reviewer still sees what it may review.
    let reviewer = match authorize(state, &request, "GetAccessRequests", target).await {
        Ok(_) => None,
        Err(denied) if denied.code() == tonic::Code::PermissionDenied => {
            let caller = crate::transport::caller(&request)?;
            let subject = Subject::load(state, &caller).await?;
            if !reviews_any(&subject.roles) {
                return Err(denied);
            }
            Some((caller, subject))
        }
        Err(other) => return Err(other),
    };
    let wanted = filter.state();
    let candidates = match by_id {
        Some(found) => found.into_iter().collect(),
        None => state.access_requests.list().await?,
    };
    let visible = |r: &AccessRequestV3| match &reviewer {
        None => true,
        Some((caller, subject)) => {
            let s = spec(r);
            s.user == caller.username
                || may_review(&subject.roles, &caller.traits, &s.roles).allowed
        }
    };
    let access_requests = candidates
        .into_iter()
        .filter(|r| matches(r, &filter.id, &filter.user, wanted) && visible(r))
        .collect();
    Ok(AccessRequests { access_requests })
}

pub(super) async fn set_state(
    state: &State,
    request: Request<RequestStateSetter>,
) -> Result<(), Status> {
    let id = request.get_ref().id.clone();
    let target = Target::named(KIND_ACCESS_REQUEST, &id);
    let caller = authorize(state, &request, "SetAccessRequestState", target).await?;
    let setter = request.into_inner();
    let new_state = setter.state();
    let mut access_request = state.access_requests.get(&id).await?;
    let resolution = Resolution {
        state: new_state,
        roles: setter.roles.clone(),
        reason: setter.reason.clone(),
        annotations: setter
            .annotations
            .clone()
            .map(|a| a.values.into_iter().collect())
            .unwrap_or_default(),
    };
    resolve(&mut access_request, resolution)?;
    if let Some(s) = access_request.spec.as_mut() {
        s.resolved_by = if setter.delegator.is_empty() {
            format!("user:{}", caller.username)
        } else {
            format!("user:{} for {}", caller.username, setter.delegator)
        };
    }
    // Compare-and-swap on the revision read: a concurrent resolution makes this one fail.
    state.access_requests.update(&access_request).await?;
    let resolved = spec(&access_request);
    let fields = json!({
        "id": id, "state": state_name(new_state), "roles": resolved.roles,
        "reason": setter.reason, "delegator": setter.delegator, "user": resolved.user,
    });
    state
        .audit
        .emit(audit::ACCESS_REQUEST_UPDATE, &caller.username, fields)
        .await;
    Ok(())
}

pub(super) async fn delete(state: &State, request: Request<RequestId>) -> Result<(), Status> {
    let id = request.get_ref().id.clone();
    let target = Target::named(KIND_ACCESS_REQUEST, &id);
    let caller = authorize(state, &request, "DeleteAccessRequest", target).await?;
    state.access_requests.delete(&id).await?;
    // What plugins kept about it goes with it.
    match state
        .plugin_data
        .delete(&format!("{KIND_ACCESS_REQUEST}/{id}"))
        .await
    {
        Ok(()) | Err(crate::resources::ResourceError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    state
        .audit
        .emit(
            audit::ACCESS_REQUEST_DELETE,
            &caller.username,
            json!({"id": id}),
        )
        .await;
    Ok(())
}

pub(super) async fn get_plugin_data(
    state: &State,
    request: Request<PluginDataFilter>,
) -> Result<PluginDataSeq, Status> {
    let filter = request.get_ref().clone();
    plugin_data::check_kind(&filter.kind)?;
    let target = Target::named(KIND_ACCESS_REQUEST, &filter.resource);
    authorize(state, &request, "GetPluginData", target).await?;
    let plugin_data =
        plugin_data::get(&state.plugin_data, &filter.resource, &filter.plugin).await?;
    Ok(PluginDataSeq { plugin_data })
}

pub(super) async fn update_plugin_data(
    state: &State,
    request: Request<PluginDataUpdateParams>,
) -> Result<(), Status> {
    let target = Target::named(KIND_ACCESS_REQUEST, &request.get_ref().resource);
    authorize(state, &request, "UpdatePluginData", target).await?;
    plugin_data::update(state, request.get_ref()).await
}
