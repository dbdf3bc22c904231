//! Certificate authority reads and rotation. Without the secrets permission only public
//! parts leave the server.

use portcullis_api::auth::{
    CertAuthorityList, GetCertAuthoritiesRequest, GetCertAuthorityRequest,
    RotateCertAuthorityRequest,
};
use portcullis_api::services::CertAuthorityV2;
use tonic::{Request, Status};

use super::authorize;
use crate::keyring::rotate;
use crate::rbac::Target;
use crate::resources::kinds::ca_key;
use crate::resources::validate::validate_name;
use crate::resources::WithoutSecrets;
use crate::state::State;

pub(super) async fn get(
    state: &State,
    request: Request<GetCertAuthorityRequest>,
) -> Result<CertAuthorityV2, Status> {
    let name = format!(
        "{}/{}",
        request.get_ref().r#type,
        request.get_ref().domain_name
    );
    let target = Target::named("cert_authority", &name).secrets(request.get_ref().with_secrets);
    authorize(state, &request, "GetCertAuthority", target).await?;
    let req = request.into_inner();
    rotate::check_type(&req.r#type)?;
    let cluster = if req.domain_name.is_empty() {
        state.cluster_name.clone()
    } else {
        validate_name("cluster", &req.domain_name)?;
        req.domain_name
    };
    let ca = state
        .authorities
        .get(&ca_key(&req.r#type, &cluster))
        .await?;
    Ok(ca.secrets_if(req.with_secrets))
}

pub(super) async fn list(
    state: &State,
    request: Request<GetCertAuthoritiesRequest>,
) -> Result<CertAuthorityList, Status> {
    let target = Target::default().secrets(request.get_ref().with_secrets);
    authorize(state, &request, "GetCertAuthorities", target).await?;
    let req = request.into_inner();
    if !req.r#type.is_empty() {
        rotate::check_type(&req.r#type)?;
    }
    let all = state.authorities.list().await?;
    let cert_authorities = all
        .into_iter()
        .filter(|ca| {
            req.r#type.is_empty() || ca.spec.as_ref().is_some_and(|s| s.r#type == req.r#type)
        })
        .map(|ca| ca.secrets_if(req.with_secrets))
        .collect();
    Ok(CertAuthorityList { cert_authorities })
}

pub(super) async fn rotate(
    state: &State,
    request: Request<RotateCertAuthorityRequest>,
) -> Result<(), Status> {
    let target = Target::named("cert_authority", &request.get_ref().r#type);
    let identity = authorize(state, &request, "RotateCertAuthority", target).await?;
    let req = request.into_inner();
    let request =
        rotate::parse_request(&req.mode, &req.target_phase, req.grace_period, req.schedule)?;
    let moved = rotate::rotate(
        &state.keyring,
        &state.authorities,
        &req.r#type,
        &request,
        portcullis_clock::now(),
    )
    .await?;
    for (ca_type, phase) in moved {
        tracing::info!(ca = ca_type, %phase, by = %identity.username, "rotation requested");
    }
    Ok(())
}
