//! Errors of the authorization crate.

/// Why a set of roles could not be compiled or a request not decided.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthzError {
    /// A role is not valid (see [`crate::validate`]).
    #[error("role `{role}`: {reason}")]
    InvalidRole {
        /// The role's name.
        role: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Cedar refused what this crate generated (a bug, reported rather than hidden).
    #[error("internal authorization error: {0}")]
    Internal(String),
}
