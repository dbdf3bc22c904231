//! Why an application session was not created, found or removed.

use crate::issuance::IssueError;
use crate::presence::PresenceError;
use crate::resources::ResourceError;

/// What went wrong with an application session.
#[derive(Debug, thiserror::Error)]
pub enum AppSessionError {
    /// The request is malformed (the message names the field).
    #[error("{0}")]
    Invalid(String),
    /// No such application, cluster or session.
    #[error("{0}")]
    NotFound(String),
    /// The caller may not have this session.
    #[error("{0}")]
    Denied(String),
    /// Registered applications could not be read.
    #[error(transparent)]
    Presence(#[from] PresenceError),
    /// The session's certificate or token could not be issued.
    #[error(transparent)]
    Issue(#[from] IssueError),
    /// The store failed, or a stored session is corrupt.
    #[error(transparent)]
    Resource(#[from] ResourceError),
}
