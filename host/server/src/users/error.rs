//! Errors of the user workflows (passwords, lockout, second factors, tokens, keys).

use crate::issuance::IssueError;
use crate::resources::ResourceError;

/// Why a user workflow failed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// Reading or writing the store failed, or a resource is missing or invalid.
    #[error(transparent)]
    Resource(#[from] ResourceError),
    /// The request is malformed (the message names what).
    #[error("{0}")]
    Invalid(String),
    /// A new password breaks a rule (the message names which).
    #[error("{0}")]
    WeakPassword(String),
    /// The user name, password or TOTP code is wrong (which one is not said).
    #[error("invalid user name, password or second factor")]
    BadCredentials,
    /// The user is locked after too many failed checks.
    #[error("user `{user}` is locked until {until} after too many failed password checks; an administrator can unlock it (pctl users unlock {user})")]
    Locked {
        /// The user.
        user: String,
        /// When the lock lifts (RFC 3339).
        until: String,
    },
    /// The user has a second factor and no code was given.
    #[error("user `{0}` has a second factor: a TOTP code is required")]
    OtpRequired(String),
    /// The TOTP code (its time step) was used before.
    #[error("this TOTP code was already used: wait for the next one")]
    OtpReplayed,
    /// No such reset password token (used, expired or never issued).
    #[error("reset password token not found: it was already used, has expired or never existed")]
    TokenNotFound,
    /// A web session could not be opened, read or ended.
    #[error(transparent)]
    WebSession(#[from] crate::web_sessions::WebSessionError),
    /// Signing a user key failed.
    #[error(transparent)]
    Issue(#[from] IssueError),
    /// Hashing or second-factor machinery failed (a server fault).
    #[error("{0}")]
    Internal(String),
}

/// `Result` of the user workflows.
pub type Result<T, E = UserError> = std::result::Result<T, E>;

impl From<portcullis_store::Error> for UserError {
    fn from(e: portcullis_store::Error) -> Self {
        Self::Resource(ResourceError::Store(e))
    }
}
