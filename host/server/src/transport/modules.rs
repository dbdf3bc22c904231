//! Policy module RPCs, authorized by the caller's roles on `policy_module`.

use portcullis_api::auth::{
    EvaluatePolicyRequest, EvaluatePolicyResponse, GetPolicyModuleRequest, PolicyModuleList,
    PolicyModuleName, PolicyModuleUpload,
};
use portcullis_api::services::PolicyModuleV1;
use tonic::{Request, Status};

use super::authorize;
use crate::rbac::Target;
use crate::state::State;

/// What both upload RPCs check before they take a module: the caller's upload quota and its
/// right to `rpc` on the module `module` names. Returns that name.
async fn admit_upload<T>(
    state: &State,
    request: &Request<T>,
    rpc: &str,
    module: &PolicyModuleV1,
) -> Result<String, Status> {
    let name = module
        .metadata
        .as_ref()
        .map(|m| m.name.clone())
        .unwrap_or_default();
    super::limit(state, request, crate::ratelimit::Limited::PolicyUploads)?;
    authorize(state, request, rpc, Target::named("policy_module", &name)).await?;
    Ok(name)
}

pub(super) async fn upsert(
    state: &State,
    request: Request<PolicyModuleV1>,
) -> Result<PolicyModuleV1, Status> {
    admit_upload(state, &request, "UpsertPolicyModule", request.get_ref()).await?;
    Ok(state.policies.upsert(request.into_inner()).await?)
}

/// UploadPolicyModule: the header, then the bytes in parts, gathered up to
/// `policy.max_module_bytes`; then as [`upsert`].
pub(super) async fn upload(
    state: &State,
    mut request: Request<tonic::Streaming<PolicyModuleUpload>>,
) -> Result<PolicyModuleV1, Status> {
    let first = request.get_mut().message().await?;
    let Some(PolicyModuleUpload {
        header: Some(mut module),
        chunk: first_chunk,
    }) = first
    else {
        return Err(Status::invalid_argument(
            "the first message of UploadPolicyModule must be the header (the module with \
             its name and limits, without its bytes)",
        ));
    };
    let name = admit_upload(state, &request, "UploadPolicyModule", &module).await?;
    let limit = state.policies.engine().validation_limits().max_module_bytes;
    let mut wasm = module
        .spec
        .as_mut()
        .map(|s| std::mem::take(&mut s.wasm))
        .unwrap_or_default();
    let mut next = Some(first_chunk);
    loop {
        if let Some(bytes) = next.take() {
            if wasm.len() + bytes.len() > limit {
                return Err(Status::invalid_argument(format!(
                    "policy module `{name}` is more than {limit} bytes, the limit set by \
                     policy.max_module_bytes; nothing was stored"
                )));
            }
            wasm.extend_from_slice(&bytes);
        }
        match request.get_mut().message().await? {
            Some(PolicyModuleUpload {
                header: None,
                chunk,
            }) => next = Some(chunk),
            Some(_) => {
                return Err(Status::invalid_argument(
                    "UploadPolicyModule takes one header, in its first message only",
                ))
            }
            None => break,
        }
    }
    module.spec.get_or_insert_with(Default::default).wasm = wasm;
    Ok(state.policies.upsert(module).await?)
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
