//! Access-request policy RPCs (UpsertAccessRequestPolicy, GetAccessRequestPolicy,
//! GetAccessRequestPolicies, DeleteAccessRequestPolicy), authorized on
//! `access_request_policy`. The workflows are in [`crate::access_requests::approval`].

use portcullis_api::auth::{AccessRequestPolicies, AccessRequestPolicyName};
use portcullis_api::services::AccessRequestPolicyV1;
use tonic::{Request, Status};

use super::authorize;
use crate::access_requests::approval::KIND_ACCESS_REQUEST_POLICY;
use crate::access_requests::Context;
use crate::rbac::Target;
use crate::state::State;

pub(super) async fn upsert(
    state: &State,
    request: Request<AccessRequestPolicyV1>,
) -> Result<(), Status> {
    let target = Target::resource(request.get_ref());
    let caller = authorize(state, &request, "UpsertAccessRequestPolicy", target).await?;
    Context::from(state)
        .upsert_policy(request.into_inner(), &caller.username)
        .await?;
    Ok(())
}

pub(super) async fn get(
    state: &State,
    request: Request<AccessRequestPolicyName>,
) -> Result<AccessRequestPolicyV1, Status> {
    let name = &request.get_ref().name;
    let target = Target::named(KIND_ACCESS_REQUEST_POLICY, name);
    authorize(state, &request, "GetAccessRequestPolicy", target).await?;
    Ok(Context::from(state).policy(name).await?)
}

pub(super) async fn list(
    state: &State,
    request: Request<()>,
) -> Result<AccessRequestPolicies, Status> {
    let target = Target::named(KIND_ACCESS_REQUEST_POLICY, "");
    authorize(state, &request, "GetAccessRequestPolicies", target).await?;
    let policies = Context::from(state).all_policies().await?;
    Ok(AccessRequestPolicies { policies })
}

pub(super) async fn delete(
    state: &State,
    request: Request<AccessRequestPolicyName>,
) -> Result<(), Status> {
    let name = &request.get_ref().name;
    let target = Target::named(KIND_ACCESS_REQUEST_POLICY, name);
    let caller = authorize(state, &request, "DeleteAccessRequestPolicy", target).await?;
    Context::from(state)
        .delete_policy(name, &caller.username)
        .await?;
    Ok(())
}
