//! Policy module RPCs. Uploads, replacements, rollbacks and deletions need the admin role
//! until role-based access control lands; reading is open to every caller (module bytes
//! are not secrets).

use portcullis_api::auth::{
    EvaluatePolicyRequest, EvaluatePolicyResponse, GetPolicyModuleRequest, PolicyModuleList,
    PolicyModuleName,
};
use portcullis_api::services::PolicyModuleV1;
use tonic::{Request, Status};

use super::{caller, require_admin};
use crate::state::State;

pub(super) async fn upsert(
    state: &State,
    request: Request<PolicyModuleV1>,
) -> Result<PolicyModuleV1, Status> {
    let identity = caller(&request)?;
    require_admin(&identity, "upload policy modules")?;
    Ok(state.policies.upsert(request.into_inner()).await?)
}

pub(super) async fn get(
    state: &State,
    request: Request<GetPolicyModuleRequest>,
) -> Result<PolicyModuleV1, Status> {
    caller(&request)?;
    let req = request.into_inner();
    Ok(state.policies.get(&req.name, req.with_wasm).await?)
}

pub(super) async fn list(state: &State, request: Request<()>) -> Result<PolicyModuleList, Status> {
    caller(&request)?;
    Ok(PolicyModuleList {
        policy_modules: state.policies.list().await?,
    })
}

pub(super) async fn delete(
    state: &State,
    request: Request<PolicyModuleName>,
) -> Result<(), Status> {
    let identity = caller(&request)?;
    require_admin(&identity, "delete policy modules")?;
    Ok(state.policies.delete(&request.into_inner().name).await?)
}

pub(super) async fn rollback(
    state: &State,
    request: Request<PolicyModuleName>,
) -> Result<PolicyModuleV1, Status> {
    let identity = caller(&request)?;
    require_admin(&identity, "roll back policy modules")?;
    Ok(state.policies.rollback(&request.into_inner().name).await?)
}

pub(super) async fn evaluate(
    state: &State,
    request: Request<EvaluatePolicyRequest>,
) -> Result<EvaluatePolicyResponse, Status> {
    let identity = caller(&request)?;
    require_admin(&identity, "evaluate policy modules")?;
    let req = request.into_inner();
    Ok(state
        .policies
        .evaluate(&req.name, &req.hook, &req.input)
        .await?)
}
