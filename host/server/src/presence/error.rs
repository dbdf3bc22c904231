//! Errors of presence: bad announcements and keep-alives, unknown or replaced leases.

use crate::resources::ResourceError;

/// What went wrong registering a server or keeping it alive.
#[derive(Debug, thiserror::Error)]
pub enum PresenceError {
    /// The server or keep-alive is not valid (the message names the field).
    #[error("{0}")]
    Invalid(String),
    /// No live registration under that name: never registered, or its lease lapsed.
    #[error(
        "{kind} `{name}` in namespace `{namespace}` is not registered (or its lease expired); \
         register it again to get a new lease"
    )]
    NotRegistered {
        /// `node`, `proxy`, `app_server` or `kube_service`.
        kind: &'static str,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// The server is registered, under another lease: it was registered again since.
    #[error(
        "lease {given} is not the current lease of {kind} `{name}`: it was registered again \
         since, by this or another process; keep alive the lease the last registration returned"
    )]
    LeaseMismatch {
        /// `node`, `proxy`, `app_server` or `kube_service`.
        kind: &'static str,
        /// Its name.
        name: String,
        /// The lease the keep-alive named.
        given: i64,
    },
    /// Concurrent writes kept changing the registration while a keep-alive tried to extend it.
    #[error("{kind} `{name}` changed during each of {attempts} attempts to keep it alive; retry")]
    Contended {
        /// `node`, `proxy`, `app_server` or `kube_service`.
        kind: &'static str,
        /// Its name.
        name: String,
        /// How many attempts were made.
        attempts: usize,
    },
    /// A host announced a server other than itself.
    #[error("host `{host_id}` may only announce itself, not {kind} `{name}`")]
    NotSelf {
        /// The host id of the caller's certificate.
        host_id: String,
        /// `node`, `proxy`, `app_server` or `kube_service`.
        kind: &'static str,
        /// The server it announced.
        name: String,
    },
    /// Reading or writing the store failed, or a stored record is corrupt.
    #[error(transparent)]
    Resource(#[from] ResourceError),
}

impl PresenceError {
    /// An invalid-input error with a message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }
}
