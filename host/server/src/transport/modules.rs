//! Policy module RPCs, authorized by the caller's roles on `policy_module`.

use portcullis_api::auth::{
    EvaluatePolicyRequest, EvaluatePolicyResponse, GetPolicyModuleRequest, PolicyModuleList,
    PolicyModuleName,
};
use portcullis_api::services::PolicyModuleV1;
use tonic::{Request, Status};

use super::authorize;
use crate::rbac::Target;
use crate::state::State;

pub(super) async fn upsert(
    state: &State,
    request: Request<PolicyModuleV1>,
) -> Result<PolicyModuleV1, Status> {
    let name = request
        .get_ref()
        .metadata
        .as_ref()
        .map(|m| m.name.clone())
        .unwrap_or_default();
    super::limit(state, &request, crate::ratelimit::Limited::PolicyUploads)?;
    authorize(
        state,
        &request,
        "UpsertPolicyModule",
        Target::named("policy_module", &name),
    )
    .await?;
    Ok(state.policies.upsert(request.into_inner()).await?)
}

pub(super) async fn get(
    state: &State,
    request: Request<GetPolicyModuleRequest>,
) -> Result<PolicyModuleV1, Status> {
    let target = Target::named("policy_module", &request.get_ref().name);
    authorize(state, &request, "GetPolicyModule", target).await?;
    let req = request.into_inner();
    Ok(state.policies.get(&req.name, req.with_wasm).await?)
}

pub(super) async fn list(state: &State, request: Request<()>) -> Result<PolicyModuleList, Status> {
    authorize(state, &request, "GetPolicyModules", Target::default()).await?;
    Ok(PolicyModuleList {
        policy_modules: state.policies.list().await?,
    })
}

pub(super) async fn delete(
    state: &State,
    request: Request<PolicyModuleName>,
) -> Result<(), Status> {
    let target = Target::named("policy_module", &request.get_ref().name);
    authorize(state, &request, "DeletePolicyModule", target).await?;
    Ok(state.policies.delete(&request.into_inner().name).await?)
}

pub(super) async fn rollback(
    state: &State,
    request: Request<PolicyModuleName>,
) -> Result<PolicyModuleV1, Status> {
    let target = Target::named("policy_module", &request.get_ref().name);
    authorize(state, &request, "RollbackPolicyModule", target).await?;
    Ok(state.policies.rollback(&request.into_inner().name).await?)
}

pub(super) async fn evaluate(
    state: &State,
    request: Request<EvaluatePolicyRequest>,
) -> Result<EvaluatePolicyResponse, Status> {
    let target = Target::named("policy_module", &request.get_ref().name);
    authorize(state, &request, "EvaluatePolicy", target).await?;
    let req = request.into_inner();
    Ok(state
        .policies
        .evaluate(&req.name, &req.hook, &req.input)
        .await?)
}
