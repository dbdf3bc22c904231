//! User handlers: decode, authorize, one call into [`crate::users`], encode.

use futures::TryStreamExt;
use portcullis_api::auth::{DeleteUserRequest, GetUserRequest, GetUsersRequest};
use portcullis_api::services::UserV2;
use portcullis_api::BoxStream;
use tonic::{Request, Status};

use super::authorize;
use crate::rbac::Target;
use crate::resources::validate::validate_name;
use crate::state::State;
use crate::users;

pub(super) async fn get(state: &State, request: Request<GetUserRequest>) -> Result<UserV2, Status> {
    let (name, secrets) = (&request.get_ref().name, request.get_ref().with_secrets);
    validate_name("user", name)?;
    authorize(
        state,
        &request,
        "GetUser",
        Target::named("user", name).secrets(secrets),
    )
    .await?;
    Ok(users::get(&state.users, name, secrets).await?)
}

pub(super) async fn list(
    state: &State,
    request: Request<GetUsersRequest>,
) -> Result<BoxStream<UserV2>, Status> {
    let req = request.get_ref();
    let secrets = req.with_secrets;
    let page = state.page_by_name("user", req.limit, &req.start_after)?;
    authorize(
        state,
        &request,
        "GetUsers",
        Target::default().secrets(secrets),
    )
    .await?;
    let users = users::stream(state.users.clone(), secrets, page);
    Ok(Box::pin(users.map_err(Status::from)))
}

pub(super) async fn create(state: &State, request: Request<UserV2>) -> Result<(), Status> {
    authorize(
        state,
        &request,
        "CreateUser",
        Target::resource(request.get_ref()),
    )
    .await?;
    Ok(users::create(&state.users, &state.roles, request.into_inner()).await?)
}

pub(super) async fn update(state: &State, request: Request<UserV2>) -> Result<(), Status> {
    authorize(
        state,
        &request,
        "UpdateUser",
        Target::resource(request.get_ref()),
    )
    .await?;
    Ok(users::update(&state.users, &state.roles, request.into_inner()).await?)
}

pub(super) async fn delete(
    state: &State,
    request: Request<DeleteUserRequest>,
) -> Result<(), Status> {
    let name = &request.get_ref().name;
    validate_name("user", name)?;
    authorize(state, &request, "DeleteUser", Target::named("user", name)).await?;
    let name = request.into_inner().name;
    Ok(users::delete(&state.accounts(), &name).await?)
}
