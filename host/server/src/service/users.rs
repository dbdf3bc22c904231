//! User handlers.

use portcullis_api::auth::{DeleteUserRequest, GetUserRequest, GetUsersRequest};
use portcullis_api::services::UserV2;
use portcullis_api::BoxStream;
use tonic::{Request, Status};

use super::{caller, require_admin, secrets_allowed};
use crate::resources::validate::{normalize_user, validate_name};
use crate::state::State;

/// Removes what only a secrets reader may see.
fn strip_secrets(mut user: UserV2) -> UserV2 {
    if let Some(spec) = user.spec.as_mut() {
        spec.local_auth = None;
    }
    user
}

pub(super) async fn get(state: &State, request: Request<GetUserRequest>) -> Result<UserV2, Status> {
    let identity = caller(&request)?;
    let req = request.into_inner();
    let secrets = secrets_allowed(&identity, req.with_secrets, "user")?;
    validate_name("user", &req.name)?;
    let user = state.users.get(&req.name).await?;
    Ok(if secrets { user } else { strip_secrets(user) })
}

pub(super) async fn list(
    state: &State,
    request: Request<GetUsersRequest>,
) -> Result<BoxStream<UserV2>, Status> {
    let identity = caller(&request)?;
    let secrets = secrets_allowed(&identity, request.get_ref().with_secrets, "user")?;
    let users = state.users.list().await?;
    let items = users
        .into_iter()
        .map(move |u| Ok(if secrets { u } else { strip_secrets(u) }));
    Ok(Box::pin(futures::stream::iter(items)))
}

pub(super) async fn create(state: &State, request: Request<UserV2>) -> Result<(), Status> {
    let identity = caller(&request)?;
    require_admin(&identity, "create users")?;
    let mut user = request.into_inner();
    normalize_user(&mut user)?;
    state.users.create(&user).await?;
    Ok(())
}

pub(super) async fn update(state: &State, request: Request<UserV2>) -> Result<(), Status> {
    let identity = caller(&request)?;
    require_admin(&identity, "update users")?;
    let mut user = request.into_inner();
    normalize_user(&mut user)?;
    state.users.update(&user).await?;
    Ok(())
}

pub(super) async fn delete(
    state: &State,
    request: Request<DeleteUserRequest>,
) -> Result<(), Status> {
    let identity = caller(&request)?;
    require_admin(&identity, "delete users")?;
    let name = request.into_inner().name;
    validate_name("user", &name)?;
    state.users.delete(&name).await?;
    Ok(())
}
