//! The caller of a request, as its client certificate says.

use std::sync::Arc;
use std::time::SystemTime;

use portcullis_ca::Identity;
use tonic::{Request, Status};

use crate::tls::PeerInfo;

/// The identity of the caller. It comes from the client certificate verified during the TLS
/// handshake and from nowhere else; a certificate that expired while the connection stayed
/// open is refused.
pub fn caller<T>(request: &Request<T>) -> Result<Arc<Identity>, Status> {
    let info = request
        .extensions()
        .get::<PeerInfo>()
        .ok_or_else(|| Status::unauthenticated("no client certificate on this connection"))?;
    if !info.signer_trusted() {
        return Err(Status::unauthenticated(format!(
            "the client certificate of `{}` was signed by a certificate authority key that is \
             no longer trusted (it was rotated out); get a new certificate",
            info.identity.username
        )));
    }
    if let Some(expires) = info.identity.expires {
        if expires <= SystemTime::now() {
            return Err(Status::unauthenticated(format!(
                "the client certificate of `{}` has expired",
                info.identity.username
            )));
        }
    }
    Ok(info.identity.clone())
}
