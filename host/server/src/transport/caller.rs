//! The caller of a request, as its client certificate says.

use std::sync::Arc;
use std::time::SystemTime;

use portcullis_ca::Identity;
use tonic::{Request, Status};

use crate::transport::tls::PeerInfo;

/// The identity of the caller. It comes from the client certificate verified during the TLS
/// handshake and from nowhere else; a connection without a certificate has none, and a
/// certificate that expired while the connection stayed open is refused.
pub fn caller<T>(request: &Request<T>) -> Result<Arc<Identity>, Status> {
    let no_certificate = || {
        Status::unauthenticated("no client certificate on this connection: only RegisterUsingToken may be called without one")
    };
    let info = request
        .extensions()
        .get::<PeerInfo>()
        .ok_or_else(no_certificate)?;
    let identity = info.identity.as_ref().ok_or_else(no_certificate)?;
    if !info.signer_trusted() {
        return Err(Status::unauthenticated(format!(
            "the client certificate of `{}` was signed by a certificate authority key that is \
             no longer trusted (it was rotated out); get a new certificate",
            identity.username
        )));
    }
    if let Some(expires) = identity.expires {
        if expires <= SystemTime::now() {
            return Err(Status::unauthenticated(format!(
                "the client certificate of `{}` has expired",
                identity.username
            )));
        }
    }
    Ok(identity.clone())
}

/// The address a request came from, as the TCP connection says.
pub fn remote_addr<T>(request: &Request<T>) -> Option<std::net::SocketAddr> {
    request
        .extensions()
        .get::<PeerInfo>()
        .and_then(|info| info.remote_addr)
}
