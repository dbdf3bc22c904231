//! User handlers.

use portcullis_api::auth::{DeleteUserRequest, GetUserRequest, GetUsersRequest};
use portcullis_api::services::UserV2;
use portcullis_api::BoxStream;
use tonic::{Request, Status};

use super::authorize;
use crate::rbac::Target;
use crate::resources::validate::{normalize_user, validate_name};
use crate::resources::WithoutSecrets;
use crate::state::State;

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
    let user = state.users.get(name).await?;
    Ok(user.secrets_if(secrets))
}

pub(super) async fn list(
    state: &State,
    request: Request<GetUsersRequest>,
) -> Result<BoxStream<UserV2>, Status> {
    let secrets = request.get_ref().with_secrets;
    authorize(
        state,
        &request,
        "GetUsers",
        Target::default().secrets(secrets),
    )
    .await?;
    let users = state.users.list().await?;
    let items = users.into_iter().map(move |u| Ok(u.secrets_if(secrets)));
    Ok(Box::pin(futures::stream::iter(items)))
}

pub(super) async fn create(state: &State, request: Request<UserV2>) -> Result<(), Status> {
    authorize(
        state,
        &request,
        "CreateUser",
        Target::resource(request.get_ref()),
    )
    .await?;
    let mut user = request.into_inner();
    normalize_user(&mut user)?;
    state.users.create(&user).await?;
    Ok(())
}

pub(super) async fn update(state: &State, request: Request<UserV2>) -> Result<(), Status> {
    authorize(
        state,
        &request,
        "UpdateUser",
        Target::resource(request.get_ref()),
    )
    .await?;
    let mut user = request.into_inner();
    normalize_user(&mut user)?;
    state.users.update(&user).await?;
    Ok(())
}

pub(super) async fn delete(
    state: &State,
    request: Request<DeleteUserRequest>,
) -> Result<(), Status> {
    let name = &request.get_ref().name;
    validate_name("user", name)?;
    authorize(state, &request, "DeleteUser", Target::named("user", name)).await?;
    let name = request.into_inner().name;
    state.users.delete(&name).await?;
    Ok(())
}
