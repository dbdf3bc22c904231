//! RegisterUsingToken: a host exchanges a provisioning token for host certificates (see
//! [`crate::tokens::join`]). This is the one RPC a connection without a client certificate
//! may call.

use std::net::{IpAddr, Ipv4Addr};

use portcullis_api::auth::{HostCerts, RegisterUsingTokenRequest};
use tonic::{Request, Status};

use super::caller::{presented, remote_addr};
use super::certs::host_certs_response;
use crate::state::State;
use crate::tokens::join::Joining;

pub(super) async fn register(
    state: &State,
    request: Request<RegisterUsingTokenRequest>,
) -> Result<HostCerts, Status> {
    // A host joins with its token alone (or renews with its own host certificate); a
    // user's certificate on the connection means someone is mixing identities up.
    if let Some(identity) = presented(&request) {
        if identity.system_roles.is_empty() {
            return Err(Status::permission_denied(format!(
                "`{}` presented a user certificate to RegisterUsingToken: a host joins with \
                 its token alone, without a user's client certificate",
                identity.username
            )));
        }
    }
    super::limit(state, &request, crate::ratelimit::Limited::Joins)?;
    let addr = remote_addr(&request).map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    let joining = Joining {
        tokens: &state.tokens,
        failures: &state.join_failures,
        keyring: &state.keyring,
        cluster_name: &state.cluster_name,
        remote_clusters: &state.remote_clusters,
        audit: &state.audit,
    };
    let certs = joining
        .join(addr, request.get_ref(), portcullis_clock::now())
        .await?;
    Ok(host_certs_response(certs))
}
