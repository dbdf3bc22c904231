//! Errors of the signing core.

/// What went wrong while generating, loading or using a certificate authority.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Key generation or certificate signing failed.
    #[error("signing failed: {0}")]
    Signing(String),
    /// A PEM document could not be decoded.
    #[error("invalid PEM in {what}: {reason}")]
    Pem {
        /// Which document was being read.
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// A certificate could not be parsed as X.509, or a field cannot be put into one.
    #[error("invalid certificate: {0}")]
    Certificate(String),
    /// The certificate does not carry a Portcullis identity.
    #[error("certificate carries no portcullis identity: {0}")]
    NoIdentity(String),
    /// A public key could not be read or is of an unsupported kind.
    #[error("invalid public key: {0}")]
    PublicKey(String),
    /// An SSH key or certificate could not be made or read.
    #[error("ssh: {0}")]
    Ssh(String),
    /// A JWT key could not be made or read, or a token could not be signed or verified.
    #[error("jwt: {0}")]
    Jwt(String),
    /// The requested validity period is not usable.
    #[error("invalid validity: {0}")]
    Validity(String),
}

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
