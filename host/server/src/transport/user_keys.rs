//! Registered user key handlers: GetUserKeys, UpsertUserKey, DeleteUserKey.

use portcullis_api::auth::{
    DeleteUserKeyRequest, GetUserKeysRequest, UpsertUserKeyRequest, UpsertUserKeyResponse,
    UserKeyList,
};
use tonic::{Request, Status};

use super::authorize;
use super::passwords::for_user;
use crate::resources::validate::validate_name;
use crate::state::State;
use crate::users::keys;

/// The RBAC kind of registered keys.
const KIND_USER_KEY: &str = "user_key";

pub(super) async fn list(
    state: &State,
    request: Request<GetUserKeysRequest>,
) -> Result<UserKeyList, Status> {
    let user = &request.get_ref().user;
    validate_name("user", user)?;
    authorize(
        state,
        &request,
        "GetUserKeys",
        for_user(KIND_USER_KEY, "", user),
    )
    .await?;
    let keys = keys::list(&state.backend, &request.get_ref().user).await?;
    Ok(UserKeyList { keys })
}

pub(super) async fn upsert(
    state: &State,
    request: Request<UpsertUserKeyRequest>,
) -> Result<UpsertUserKeyResponse, Status> {
    let req = request.get_ref();
    validate_name("user", &req.user)?;
    let id = req.key.as_ref().map(|k| k.id.as_str()).unwrap_or("");
    let target = for_user(KIND_USER_KEY, id, &req.user);
    authorize(state, &request, "UpsertUserKey", target).await?;
    let req = request.into_inner();
    let key = req.key.unwrap_or_default();
    let issuer = state.user_issuer();
    let now = portcullis_clock::now();
    let (stored, certs) =
        keys::upsert(&issuer, &state.backend, &req.user, key, req.ttl, now).await?;
    Ok(UpsertUserKeyResponse {
        id: stored.id,
        cert: certs.ssh.map(String::into_bytes).unwrap_or_default(),
        tls_cert: certs.tls.into_bytes(),
    })
}

pub(super) async fn delete(
    state: &State,
    request: Request<DeleteUserKeyRequest>,
) -> Result<(), Status> {
    let req = request.get_ref();
    validate_name("user", &req.user)?;
    authorize(
        state,
        &request,
        "DeleteUserKey",
        for_user(KIND_USER_KEY, &req.id, &req.user),
    )
    .await?;
    let req = request.get_ref();
    Ok(keys::delete(&state.backend, &req.user, &req.id).await?)
}
