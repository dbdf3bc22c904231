//! Role handlers.

use portcullis_api::auth::{DeleteRoleRequest, GetRoleRequest, GetRolesResponse};
use portcullis_api::services::RoleV3;
use tonic::{Request, Status};

use super::{caller, require_admin};
use crate::resources::validate::{normalize_role, validate_name};
use crate::state::State;

pub(super) async fn get(state: &State, request: Request<GetRoleRequest>) -> Result<RoleV3, Status> {
    caller(&request)?;
    let name = request.into_inner().name;
    validate_name("role", &name)?;
    Ok(state.roles.get(&name).await?)
}

pub(super) async fn list(state: &State, request: Request<()>) -> Result<GetRolesResponse, Status> {
    caller(&request)?;
    Ok(GetRolesResponse {
        roles: state.roles.list().await?,
    })
}

fn checked(request: Request<RoleV3>, action: &str) -> Result<RoleV3, Status> {
    let identity = caller(&request)?;
    require_admin(&identity, action)?;
    let mut role = request.into_inner();
    normalize_role(&mut role)?;
    Ok(role)
}

pub(super) async fn create(state: &State, request: Request<RoleV3>) -> Result<(), Status> {
    let role = checked(request, "create roles")?;
    state.roles.create(&role).await?;
    Ok(())
}

pub(super) async fn upsert(state: &State, request: Request<RoleV3>) -> Result<(), Status> {
    let role = checked(request, "write roles")?;
    state.roles.upsert(&role).await?;
    Ok(())
}

pub(super) async fn delete(
    state: &State,
    request: Request<DeleteRoleRequest>,
) -> Result<(), Status> {
    let identity = caller(&request)?;
    require_admin(&identity, "delete roles")?;
    let name = request.into_inner().name;
    validate_name("role", &name)?;
    state.roles.delete(&name).await?;
    Ok(())
}
