//! Certificate and token issuance: what goes into a user's or host's certificates.
//!
//! The signing itself is `portcullis_ca`'s; this module decides the contents from stored
//! users and roles (principals, permissions, extensions, lifetime) and picks the signers
//! from the key ring.

pub mod app;
mod error;
pub mod host;
pub mod kube;
pub mod limits;
pub mod user;
#[cfg(test)]
mod workflow_tests;

pub use error::IssueError;

use std::time::{Duration, SystemTime};

/// How long from `now` until a requested expiry; an expiry that is not in the future is
/// refused.
pub fn lifetime_until(expires: SystemTime, now: SystemTime) -> Result<Duration, IssueError> {
    expires
        .duration_since(now)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| IssueError::Invalid("the requested expiry is in the past".into()))
}

/// Non-standard SSH certificate extensions carrying the holder's identity and the session
/// limits of its roles, for nodes to enforce. Identity values are JSON (roles and request ids
/// as arrays, traits as an object) or plain text (cluster); limits are plain text, and each
/// is left out when no role sets it.
pub mod ssh_extensions {
    /// The holder's roles: `["dba","dev"]`.
    pub const ROLES: &str = "roles@portcullis";
    /// The holder's traits: `{"logins":["root"]}`.
    pub const TRAITS: &str = "traits@portcullis";
    /// The cluster requests are routed to.
    pub const ROUTE_TO_CLUSTER: &str = "route-to-cluster@portcullis";
    /// Approved access requests whose roles the certificate includes.
    pub const ACTIVE_REQUESTS: &str = "active-requests@portcullis";
    /// Most concurrent connections the user may hold across the cluster (roles'
    /// `max_connections`, the smallest non-zero one), in decimal: `2`.
    pub const MAX_CONNECTIONS: &str = "max-connections@portcullis";
    /// Most concurrent sessions per connection (roles' `max_sessions`, the smallest
    /// non-zero one), in decimal: `3`.
    pub const MAX_SESSIONS: &str = "max-sessions@portcullis";
    /// Idle time after which a node disconnects the client (roles' `client_idle_timeout`,
    /// the smallest non-zero one), as a Go-style duration (`10m`, `1h30m`, `90s`, `1m500ms`)
    /// that Go's `time.ParseDuration` reads.
    pub const CLIENT_IDLE_TIMEOUT: &str = "client-idle-timeout@portcullis";
    /// Present (value `true`) when a node must disconnect the client once the certificate
    /// expires (any role's `disconnect_expired_cert`).
    pub const DISCONNECT_EXPIRED_CERT: &str = "disconnect-expired-cert@portcullis";
}
