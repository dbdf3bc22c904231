//! Access request handlers: CreateAccessRequest, GetAccessRequests, SetAccessRequestState,
//! DeleteAccessRequest, and plugin data. The workflows are in [`crate::access_requests`].

use portcullis_api::auth::{AccessRequests, PluginDataSeq, RequestId, RequestStateSetter};
use portcullis_api::services::{
    AccessRequestFilter, AccessRequestV3, PluginDataFilter, PluginDataUpdateParams,
};
use portcullis_authz::requests::reviews_any;
use tonic::{Request, Status};

use super::authorize;
use crate::access_requests::{plugin_data, spec, Actor, Context, KIND_ACCESS_REQUEST};
use crate::rbac::{user_identity, Authorized, RbacError, Subject, Target};
use crate::state::State;

pub(super) async fn create(state: &State, request: Request<AccessRequestV3>) -> Result<(), Status> {
    let caller = crate::transport::caller(&request)?;
    let requested_user = spec(request.get_ref()).user;
    let user = if requested_user.is_empty() {
        caller.username.clone()
    } else {
        requested_user
    };
    let target = Target::resource(request.get_ref()).for_user(&user);
    let mut authorized = authorize(state, &request, "CreateAccessRequest", target).await?;
    // The requesting user's own roles decide what it may request, and the thresholds: the
    // caller's as authorizing loaded them, or the stored user's when acting for another.
    let (other, loaded);
    let (identity, subject) = if user == caller.username {
        (caller.as_ref(), authorized.subject(state).await?)
    } else {
        other = user_identity(state, &caller, &user).await?;
        loaded = Subject::load(state, &other).await?;
        (&other, &loaded)
    };
    let roles = subject.owned_roles();
    let requester = Actor {
        identity,
        roles: &roles,
    };
    Context::from(state)
        .create(
            request.into_inner(),
            requester,
            serde_json::Value::clone(&subject.user),
        )
        .await?;
    Ok(())
}

pub(super) async fn list(
    state: &State,
    request: Request<AccessRequestFilter>,
) -> Result<AccessRequests, Status> {
    let context = Context::from(state);
    let filter = request.get_ref();
    let page = state.page_by_name(KIND_ACCESS_REQUEST, filter.limit, &filter.start_after)?;
    let listing = context.listing(filter.clone(), page).await?;
    let id = &request.get_ref().id;
    let target = Target::named(KIND_ACCESS_REQUEST, id).for_user(&listing.owner());
    // Without rights on access requests, a reviewer still sees what it may review: the
    // roles the refused decision loaded say whether it reviews anything.
    let mut authorized = Authorized::new(crate::transport::caller(&request)?);
    let reviewing = match authorized
        .check(state, "GetAccessRequests", None, target)
        .await
    {
        Ok(()) => false,
        Err(denied @ RbacError::Denied { .. }) => {
            if !reviews_any(&authorized.subject(state).await?.roles) {
                return Err(denied.into());
            }
            true
        }
        Err(other) => return Err(other.into()),
    };
    let identity = authorized.identity.clone();
    let subject = if reviewing {
        Some(authorized.subject(state).await?)
    } else {
        None
    };
    let roles = subject.map(|subject| subject.owned_roles());
    let reviewer = roles.as_ref().map(|roles| Actor {
        identity: &identity,
        roles,
    });
    let page = context.list(listing, reviewer).await?;
    Ok(AccessRequests {
        next_start_after: page.next_start_after(),
        access_requests: page.items,
    })
}

pub(super) async fn set_state(
    state: &State,
    request: Request<RequestStateSetter>,
) -> Result<(), Status> {
    let target = Target::named(KIND_ACCESS_REQUEST, &request.get_ref().id);
    let caller = authorize(state, &request, "SetAccessRequestState", target).await?;
    Context::from(state)
        .set_state(request.into_inner(), &caller.username)
        .await?;
    Ok(())
}

pub(super) async fn delete(state: &State, request: Request<RequestId>) -> Result<(), Status> {
    let id = &request.get_ref().id;
    let target = Target::named(KIND_ACCESS_REQUEST, id);
    let caller = authorize(state, &request, "DeleteAccessRequest", target).await?;
    Context::from(state).delete(id, &caller.username).await?;
    Ok(())
}

pub(super) async fn get_plugin_data(
    state: &State,
    request: Request<PluginDataFilter>,
) -> Result<PluginDataSeq, Status> {
    let filter = request.get_ref();
    plugin_data::check_kind(&filter.kind)?;
    let target = Target::named(KIND_ACCESS_REQUEST, &filter.resource);
    authorize(state, &request, "GetPluginData", target).await?;
    let plugin_data = plugin_data::get(
        &state.plugin_data,
        &filter.resource,
        &filter.plugin,
        state.max_unpaged_list,
    )
    .await?;
    Ok(PluginDataSeq { plugin_data })
}

pub(super) async fn update_plugin_data(
    state: &State,
    request: Request<PluginDataUpdateParams>,
) -> Result<(), Status> {
    let target = Target::named(KIND_ACCESS_REQUEST, &request.get_ref().resource);
    authorize(state, &request, "UpdatePluginData", target).await?;
    let params = request.get_ref();
    plugin_data::update(&state.access_requests, &state.plugin_data, params).await?;
    Ok(())
}
