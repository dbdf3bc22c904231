//! Session recordings: nodes and proxies stream a session's events (CreateAuditStream);
//! the server makes them durable part by part as they arrive, acknowledges how far they are
//! durable so a client that loses its connection resumes without losing or repeating
//! anything, and turns a completed stream into one immutable recording (kind `session`)
//! with its own digest chain. Streams in progress are listed as active sessions (kind
//! `ssh_session`).
//!
//! Everything lives in the store, never in a file of one server: parts of at most about
//! [`PART_BYTES`] (far below etcd's request limit), an upload record per stream, and the
//! recording resource under `/sessions/`. So any server of a cluster can resume a stream
//! another one started, and read any recording.

mod error;
pub mod part;
mod read;
mod stream;
#[cfg(test)]
mod tests;
pub mod upload;

pub use error::SessionError;
pub use read::{page_size, Page, DEFAULT_EVENTS, DEFAULT_SESSIONS, MAX_EVENTS, MAX_SESSIONS};
pub use stream::StreamWriter;

use std::sync::Arc;
use std::time::Duration;

use portcullis_api::kinds::DEFAULT_NAMESPACE;
use portcullis_api::services::{Metadata, SessionSpecV1, SessionV1};
use portcullis_api::time::to_timestamp;
use portcullis_store::Backend;

use crate::resources::Collection;
use upload::Upload;

pub use portcullis_api::kinds::{KIND_SESSION, KIND_SSH_SESSION};

crate::impl_resource!(SessionV1, KIND_SESSION, "/sessions/");

/// A part is written once its events reach this many bytes (or on a flush).
pub const PART_BYTES: usize = 64 * 1024;
/// Events wait at most this long in memory before they are written as a part.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(200);
/// The default limit on one event's size (type, code, user and fields).
pub const DEFAULT_MAX_EVENT_BYTES: usize = 64 * 1024;
/// The default limit on one recording's size.
pub const DEFAULT_MAX_SESSION_BYTES: u64 = 256 * 1024 * 1024;

/// Size limits of recordings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes one event may have.
    pub max_event_bytes: usize,
    /// Most bytes one recording may have.
    pub max_session_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
            max_session_bytes: DEFAULT_MAX_SESSION_BYTES,
        }
    }
}

/// Recordings and uploads in the store.
pub struct Recordings {
    backend: Arc<dyn Backend>,
    sessions: Collection<SessionV1>,
    /// The size limits.
    pub limits: Limits,
}

impl std::fmt::Debug for Recordings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recordings")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Recordings {
    /// Recordings kept in `backend`, with the default limits.
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Recordings {
            sessions: Collection::new(backend.clone()),
            backend,
            limits: Limits::default(),
        }
    }
}

/// Checks a session ID: what a node names a session by (a UUID, usually).
pub fn validate_session_id(id: &str) -> Result<(), SessionError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !id.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(SessionError::Invalid(format!(
            "session ID `{id}` is not valid: 1 to 128 letters, digits, `-`, `_` or `.`"
        )))
    }
}

/// The session an upload records, as the API shows it: kind `kind` ([`KIND_SESSION`] for a
/// completed recording, [`KIND_SSH_SESSION`] for one in progress).
pub fn session_of(upload: &Upload, kind: &str, cluster_name: &str) -> SessionV1 {
    let time = |s: &str| humantime::parse_rfc3339(s).ok().map(to_timestamp);
    let meta = &upload.meta;
    SessionV1 {
        kind: kind.to_owned(),
        sub_kind: String::new(),
        version: "v1".to_owned(),
        metadata: Some(Metadata {
            name: upload.session_id.clone(),
            namespace: DEFAULT_NAMESPACE.to_owned(),
            ..Metadata::default()
        }),
        spec: Some(SessionSpecV1 {
            session_id: upload.session_id.clone(),
            login: meta.login.clone(),
            participants: meta.participants.clone(),
            server_id: meta.server_id.clone(),
            server_hostname: meta.server_hostname.clone(),
            cluster_name: cluster_name.to_owned(),
            started: time(&meta.started).or_else(|| time(&upload.created)),
            ended: time(&meta.ended),
            events: u64::try_from(upload.last_index + 1).unwrap_or(0),
            bytes: upload.bytes,
            digest: upload.digest.clone(),
            emitter: upload.emitter.clone(),
            upload_id: upload.upload_id.clone(),
        }),
    }
}
