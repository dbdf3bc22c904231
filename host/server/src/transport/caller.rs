//! The caller of a request, as its client certificate says.

use std::sync::Arc;

use portcullis_ca::Identity;
use tonic::{Request, Status};

use crate::transport::tls::PeerInfo;

/// Why a caller is not authenticated.
#[derive(Debug, thiserror::Error)]
pub enum CallerError {
    /// The connection carries no client certificate.
    #[error(
        "no client certificate on this connection: only RegisterUsingToken may be called without one"
    )]
    NoCertificate,
    /// The certificate's signing key was rotated out.
    #[error(
        "the client certificate of `{0}` was signed by a certificate authority key that is \
         no longer trusted (it was rotated out); get a new certificate"
    )]
    Untrusted(String),
    /// The certificate has expired.
    #[error("the client certificate of `{0}` has expired")]
    Expired(String),
    /// The certificate expired while a keep-alive stream was open.
    #[error("the client certificate of `{0}` expired during the keep-alive stream")]
    ExpiredDuringStream(String),
}

/// The identity of the caller. It comes from the client certificate verified during the TLS
/// handshake and from nowhere else; a connection without a certificate has none, and a
/// certificate that expired while the connection stayed open is refused.
pub fn caller<T>(request: &Request<T>) -> Result<Arc<Identity>, Status> {
    Ok(identify(request)?)
}

fn identify<T>(request: &Request<T>) -> Result<Arc<Identity>, CallerError> {
    let info = request
        .extensions()
        .get::<PeerInfo>()
        .ok_or(CallerError::NoCertificate)?;
    let identity = info.identity.as_ref().ok_or(CallerError::NoCertificate)?;
    if !info.signer_trusted() {
        return Err(CallerError::Untrusted(identity.username.clone()));
    }
    if identity
        .expires
        .is_some_and(|at| at <= portcullis_clock::now())
    {
        return Err(CallerError::Expired(identity.username.clone()));
    }
    Ok(identity.clone())
}

/// The identity of the client certificate presented on the request's connection, if any,
/// valid or not: for RPCs that take no caller identity but must not be confused by one
/// (RegisterUsingToken).
pub fn presented<T>(request: &Request<T>) -> Option<Arc<Identity>> {
    request.extensions().get::<PeerInfo>()?.identity.clone()
}

/// The address a request came from, as the TCP connection says.
pub fn remote_addr<T>(request: &Request<T>) -> Option<std::net::SocketAddr> {
    request
        .extensions()
        .get::<PeerInfo>()
        .and_then(|info| info.remote_addr)
}
