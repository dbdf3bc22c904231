//! Role handlers: decode, authorize, one call into [`crate::roles`], encode.

use portcullis_api::auth::{DeleteRoleRequest, GetRoleRequest, GetRolesRequest, GetRolesResponse};
use portcullis_api::services::RoleV3;
use tonic::{Request, Status};

use super::authorize;
use crate::rbac::Target;
use crate::resources::validate::validate_name;
use crate::roles;
use crate::state::State;

pub(super) async fn get(state: &State, request: Request<GetRoleRequest>) -> Result<RoleV3, Status> {
    let name = &request.get_ref().name;
    validate_name("role", name)?;
    authorize(state, &request, "GetRole", Target::named("role", name)).await?;
    Ok(roles::get(&state.roles, name).await?)
}

pub(super) async fn list(
    state: &State,
    request: Request<GetRolesRequest>,
) -> Result<GetRolesResponse, Status> {
    let req = request.get_ref();
    let page = state.page_by_name("role", req.limit, &req.start_after)?;
    authorize(state, &request, "GetRoles", Target::default()).await?;
    let page = roles::list(&state.roles, &page).await?;
    Ok(GetRolesResponse {
        next_start_after: page.next_start_after(),
        roles: page.items,
    })
}

pub(super) async fn create(state: &State, request: Request<RoleV3>) -> Result<(), Status> {
    authorize(
        state,
        &request,
        "CreateRole",
        Target::resource(request.get_ref()),
    )
    .await?;
    let hooks = state.policies.check_hooks();
    roles::create(&state.roles, &hooks, request.into_inner()).await?;
    Ok(())
}

pub(super) async fn upsert(state: &State, request: Request<RoleV3>) -> Result<(), Status> {
    authorize(
        state,
        &request,
        "UpsertRole",
        Target::resource(request.get_ref()),
    )
    .await?;
    let hooks = state.policies.check_hooks();
    roles::upsert(&state.roles, &hooks, request.into_inner()).await?;
    Ok(())
}

pub(super) async fn delete(
    state: &State,
    request: Request<DeleteRoleRequest>,
) -> Result<(), Status> {
    let name = &request.get_ref().name;
    validate_name("role", name)?;
    authorize(state, &request, "DeleteRole", Target::named("role", name)).await?;
    Ok(roles::delete(&state.roles, name).await?)
}
