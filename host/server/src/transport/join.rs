//! RegisterUsingToken: a host exchanges a provisioning token for host certificates.
//!
//! This is the one RPC a connection without a client certificate may call. A failure says
//! why — the token is not valid, has expired, or does not allow the role — and nothing
//! more; failures count against the source address (`tokens::limit`). Success and failure
//! are audit events (`join.success`, `join.failure`). A leaf cluster joining with a
//! `Trusted_cluster` token is registered as a remote cluster named by its node name.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Instant, SystemTime};

use portcullis_api::auth::{HostCerts, RegisterUsingTokenRequest};
use serde_json::json;
use tonic::{Request, Status};

use super::caller::remote_addr;
use super::certs::host_certs_response;
use crate::audit;
use crate::issuance::host::{self, system_role};
use crate::state::State;
use crate::tokens::redact;

pub(super) async fn register(
    state: &State,
    request: Request<RegisterUsingTokenRequest>,
) -> Result<HostCerts, Status> {
    let addr = remote_addr(&request).map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    let req = request.into_inner();
    if let Err(wait) = state.join_failures.check(addr, Instant::now()) {
        return Err(Status::resource_exhausted(format!(
            "too many failed joins from {addr}; try again in {}s",
            wait.as_secs().max(1)
        )));
    }
    let role = match system_role(&req.role) {
        Ok(role) => role,
        Err(e) => {
            return Err(Status::invalid_argument(
                failed(state, addr, &req, e.to_string()).await,
            ))
        }
    };
    let now = SystemTime::now();
    let token = match state.tokens.check_join(&req.token, role, now).await? {
        Ok(token) => token,
        Err(e) => {
            return Err(Status::permission_denied(
                failed(state, addr, &req, e.to_string()).await,
            ))
        }
    };
    if role == "Trusted_cluster" {
        crate::resources::validate::validate_name(
            crate::resources::kinds::KIND_REMOTE_CLUSTER,
            &req.node_name,
        )?;
    }
    let params = host::HostCertsParams {
        host_id: req.host_id.clone(),
        node_name: req.node_name.clone(),
        role: role.to_owned(),
        additional_principals: req.additional_principals.clone(),
        dns_names: req.dns_names.clone(),
        public_tls_key: req.public_tls_key.clone(),
        public_ssh_key: req.public_ssh_key.clone(),
    };
    let certs = match host::issue(state, &params, now) {
        Ok(certs) => certs,
        Err(e) => {
            let status = Status::from(e);
            failed(state, addr, &req, status.message().to_owned()).await;
            return Err(status);
        }
    };
    if role == "Trusted_cluster" {
        // A leaf cluster joins under its cluster name (the node name).
        super::remote::register(state, &req.node_name, &token, now).await?;
    }
    let fields = json!({
        "host_id": req.host_id, "node_name": req.node_name, "role": role,
        "token": redact(&req.token), "remote_addr": addr.to_string(),
    });
    state
        .audit
        .emit(audit::JOIN_SUCCESS, &req.host_id, fields)
        .await;
    Ok(host_certs_response(certs))
}

/// Counts and audits a failed join; returns `reason`.
async fn failed(
    state: &State,
    addr: IpAddr,
    req: &RegisterUsingTokenRequest,
    reason: String,
) -> String {
    state.join_failures.failed(addr, Instant::now());
    let fields = json!({
        "host_id": req.host_id, "node_name": req.node_name, "role": req.role,
        "token": redact(&req.token), "remote_addr": addr.to_string(), "reason": reason,
    });
    state.audit.emit(audit::JOIN_FAILURE, "", fields).await;
    reason
}
