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
    /// The request names a feature another part of the roadmap provides.
    #[error("{0}")]
    Unsupported(String),
    /// Stored data could not be read.
    #[error(transparent)]
    Resource(#[from] ResourceError),
    /// The key ring could not sign.
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    /// Signing failed.
    #[error(transparent)]
    Ca(#[from] portcullis_ca::Error),
}

impl From<IssueError> for tonic::Status {
    fn from(e: IssueError) -> Self {
        match e {
            IssueError::Invalid(m) => tonic::Status::invalid_argument(m),
            IssueError::Denied(m) => tonic::Status::permission_denied(m),
            IssueError::Unsupported(m) => tonic::Status::unimplemented(m),
            IssueError::Resource(r) => r.into(),
            IssueError::Keyring(k) => k.into(),
            IssueError::Ca(c) => tonic::Status::invalid_argument(c.to_string()),
        }
    }
}
