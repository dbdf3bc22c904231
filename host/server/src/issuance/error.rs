//! Why a certificate or token was not issued.

use crate::keyring::KeyringError;
use crate::resources::ResourceError;

/// What went wrong while issuing.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The request is malformed (bad key, bad TTL, unknown role name, ...).
    #[error("{0}")]
    Invalid(String),
    /// The caller may not have what it asked for.
    #[error("{0}")]
    Denied(String),
    /// The request names something that does not exist (a Kubernetes cluster, an app).
    #[error("{0}")]
    NotFound(String),
    /// Registered servers could not be read.
    #[error(transparent)]
    Presence(#[from] crate::presence::PresenceError),
    /// Stored data could not be read.
    #[error(transparent)]
    Resource(#[from] ResourceError),
    /// The key ring could not sign.
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    /// The request could not be signed as given (a bad public key, ...).
    #[error(transparent)]
    Ca(#[from] portcullis_ca::Error),
    /// Signing failed for a reason that is not the request's.
    #[error("cannot sign the token: {0}")]
    Sign(portcullis_ca::Error),
}
