//! Certificate and token issuance RPCs.

use portcullis_api::auth::{
    Certs, GenerateAppTokenRequest, GenerateAppTokenResponse, HostCerts, HostCertsRequest,
    UserCertsRequest,
};
use tonic::{Request, Status};

use super::authorize;
use super::caller;
use crate::issuance::{app, host, user};
use crate::rbac::Target;
use crate::resources::to_system_time;
use crate::state::State;

pub(super) async fn generate_user_certs(
    state: &State,
    request: Request<UserCertsRequest>,
) -> Result<Certs, Status> {
    super::limit(state, &request, crate::ratelimit::Limited::CertIssuance)?;
    let username = if request.get_ref().username.is_empty() {
        caller(&request)?.username.clone()
    } else {
        request.get_ref().username.clone()
    };
    let target = Target::named("user", &username).for_user(&username);
    let identity = authorize(state, &request, "GenerateUserCerts", target).await?;
    let req = request.into_inner();
    let params = user::UserCertsParams {
        username,
        public_key: req.public_key,
        expires: req.expires.and_then(to_system_time),
        route_to_cluster: req.route_to_cluster,
        access_requests: req.access_requests,
        kubernetes_cluster: req.kubernetes_cluster,
    };
    let certs = user::issue(&state.user_issuer(), &params, portcullis_clock::now()).await?;
    tracing::info!(
        user = %params.username,
        by = %identity.username,
        ssh = certs.ssh.is_some(),
        "issued user certificates"
    );
    Ok(Certs {
        ssh: certs.ssh.map(String::into_bytes).unwrap_or_default(),
        tls: certs.tls.into_bytes(),
    })
}

pub(super) async fn generate_host_certs(
    state: &State,
    request: Request<HostCertsRequest>,
) -> Result<HostCerts, Status> {
    super::limit(state, &request, crate::ratelimit::Limited::CertIssuance)?;
    let target = Target::named("host_cert", &request.get_ref().host_id);
    let identity = authorize(state, &request, "GenerateHostCerts", target).await?;
    let req = request.into_inner();
    let params = host::HostCertsParams {
        host_id: req.host_id,
        node_name: req.node_name,
        role: req.role,
        additional_principals: req.additional_principals,
        dns_names: req.dns_names,
        public_tls_key: req.public_tls_key,
        public_ssh_key: req.public_ssh_key,
        ttl_nanos: req.ttl,
    };
    let certs = host::issue(
        &state.keyring,
        &state.cluster_name,
        &params,
        portcullis_clock::now(),
    )?;
    tracing::info!(host = %params.host_id, role = %params.role, by = %identity.username, "issued host certificates");
    Ok(host_certs_response(certs))
}

/// The wire form of issued host certificates.
pub(super) fn host_certs_response(certs: host::HostCerts) -> HostCerts {
    HostCerts {
        ssh: certs.ssh.into_bytes(),
        tls: certs.tls.into_bytes(),
        tlsca_certs: certs
            .tls_ca_certs
            .into_iter()
            .map(String::into_bytes)
            .collect(),
        sshca_certs: certs
            .ssh_ca_keys
            .into_iter()
            .map(String::into_bytes)
            .collect(),
    }
}

pub(super) async fn generate_app_token(
    state: &State,
    request: Request<GenerateAppTokenRequest>,
) -> Result<GenerateAppTokenResponse, Status> {
    super::limit(state, &request, crate::ratelimit::Limited::CertIssuance)?;
    let target = Target::named("jwt", &request.get_ref().uri);
    authorize(state, &request, "GenerateAppToken", target).await?;
    let req = request.into_inner();
    let params = app::AppTokenParams {
        username: req.username,
        roles: req.roles,
        uri: req.uri,
        expires: req.expires.and_then(to_system_time),
    };
    let token = app::issue(
        &state.keyring,
        &state.cluster_name,
        params,
        portcullis_clock::now(),
    )?;
    Ok(GenerateAppTokenResponse { token })
}
