//! Errors of semaphores: bad requests, a full semaphore, unknown leases.

use crate::resources::ResourceError;

/// What went wrong acquiring, extending, cancelling, listing or deleting semaphore leases.
#[derive(Debug, thiserror::Error)]
pub enum SemaphoreError {
    /// The request is not valid (the message names the field).
    #[error("{0}")]
    Invalid(String),
    /// Every lease the semaphore allows is held by someone: nothing was written.
    #[error("too many concurrent leases on semaphore `{kind}/{name}` (max {max})")]
    LimitReached {
        /// What the semaphore limits, e.g. `connection`.
        kind: String,
        /// Its name, e.g. the user whose connections it counts.
        name: String,
        /// The most leases the request allowed.
        max: i64,
    },
    /// The lease is not held: it expired, was cancelled, or never existed.
    #[error(
        "lease `{lease_id}` of semaphore `{kind}/{name}` not found: it expired, was cancelled \
         or never existed"
    )]
    LeaseNotFound {
        /// The semaphore's kind.
        kind: String,
        /// The semaphore's name.
        name: String,
        /// The lease named.
        lease_id: String,
    },
    /// There is no semaphore by that kind and name (or all its leases expired).
    #[error("semaphore `{kind}/{name}` not found")]
    NotFound {
        /// The semaphore's kind.
        kind: String,
        /// The semaphore's name.
        name: String,
    },
    /// Other servers kept changing the semaphore during every attempt to change it.
    #[error("semaphore `{kind}/{name}` changed during each of {attempts} attempts; retry")]
    Contended {
        /// The semaphore's kind.
        kind: String,
        /// The semaphore's name.
        name: String,
        /// How many attempts were made.
        attempts: usize,
    },
    /// Reading or writing the store failed, or a stored semaphore is corrupt.
    #[error(transparent)]
    Resource(#[from] ResourceError),
}

impl SemaphoreError {
    /// An invalid-request error with a message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }
}

/// The result type of semaphore operations.
pub type Result<T, E = SemaphoreError> = std::result::Result<T, E>;
