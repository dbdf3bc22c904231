//! Errors of the key ring.

use crate::resources::ResourceError;

/// What went wrong loading, rotating or using the cluster's authorities.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// Stored data could not be read or written.
    #[error(transparent)]
    Resource(#[from] ResourceError),
    /// Key generation, loading or signing failed.
    #[error(transparent)]
    Ca(#[from] portcullis_ca::Error),
    /// The requested rotation move is not allowed.
    #[error(transparent)]
    Rotation(#[from] portcullis_ca::RotationError),
    /// A stored authority lacks something it must have.
    #[error("the stored {ca_type} certificate authority is unusable: {reason}")]
    Broken {
        /// Authority type.
        ca_type: String,
        /// What is missing or wrong.
        reason: String,
    },
    /// The type names no authority.
    #[error("unknown certificate authority type `{0}` (known: user, host, jwt, all)")]
    UnknownType(String),
    /// A request about the authorities is malformed (the message names what).
    #[error("{0}")]
    Invalid(String),
    /// The key ring was used before the authorities were loaded.
    #[error("the certificate authorities are not loaded yet")]
    NotLoaded,
    /// The PKCS#11 token holding the keys refused or failed.
    #[error(transparent)]
    Hsm(#[from] portcullis_hsm::HsmError),
    /// The token's PIN file is open to other users (or cannot be inspected).
    #[error(transparent)]
    PinFile(#[from] portcullis_api::private::PrivacyError),
    /// The configured place for the keys cannot be used (the message says why).
    #[error("{0}")]
    Custody(String),
    /// TLS configuration failed.
    #[error(transparent)]
    Tls(#[from] super::trust::TlsError),
    /// A file in the data directory could not be written.
    #[error("cannot write `{path}`: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
}
