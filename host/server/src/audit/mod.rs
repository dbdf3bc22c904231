//! The audit log: security-relevant events — what the actions of deciding role rules logged,
//! `where` clauses that failed to evaluate (and so denied or did not allow), joins of hosts,
//! access requests — and the events hosts and users send with `EmitAuditEvent` ([`ingest`]),
//! kept in the store under `/audit/` in time order, each for [`RETENTION`], and read back
//! with the `GetAuditEvents` RPC (`pctl audit ls`). Every event is also a log line with
//! target `portcullis::audit`.
//!
//! The log is tamper-evident: each server process writes its events into a hash chain of
//! its own ([`chain`]: every stored event holds the digest of the one before it, the body
//! it was computed over verbatim ([`record`]), and a head record says how far the chain
//! goes); [`verify`] walks the chains and names the first altered, removed or reordered
//! event of each.
//!
//! Writing an event waits until it is durable (the store's fsynced log), like any write.
//! A failed write of the server's own events does not fail the request that caused it: it
//! is logged at error level. An ingested event is acknowledged only once stored.

pub mod chain;
pub mod ingest;
mod record;
#[cfg(test)]
mod tests;
pub mod verify;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use portcullis_store::Backend;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::resources::ResourceError;

/// Where events live in the store.
pub const PREFIX: &str = "/audit/";

/// How long an event is kept.
pub const RETENTION: Duration = Duration::from_secs(365 * 24 * 3600);

/// Most events one search returns.
pub const MAX_LIMIT: usize = 1000;

/// Event: an action of a deciding rule ran (fields `rule`, `action`, and `lines` or
/// `error`).
pub const RULE_ACTION: &str = "rule.action";
/// Event: a `where` clause could not be evaluated (fields `rule`, `expression`, `error`).
pub const WHERE_FAILED: &str = "rule.where_failed";
/// Event: a host joined with a provisioning token (fields `host_id`, `node_name`, `role`,
/// `token` redacted, `remote_addr`).
pub const JOIN_SUCCESS: &str = "join.success";
/// Event: a join failed (the same fields and `reason`).
pub const JOIN_FAILURE: &str = "join.failure";
/// Event: an access request was made (fields `id`, `roles`, `reason`).
pub const ACCESS_REQUEST_CREATE: &str = "access_request.create";
/// Event: an access request was approved or denied (fields `id`, `state`, `roles`,
/// `reason`, `delegator`, `user`).
pub const ACCESS_REQUEST_UPDATE: &str = "access_request.update";
/// Event: an access request was deleted (field `id`).
pub const ACCESS_REQUEST_DELETE: &str = "access_request.delete";
/// Event: an access request was reviewed (fields `id`, `verdict`, `reason`, `state`).
pub const ACCESS_REQUEST_REVIEW: &str = "access_request.review";
/// Event: an access-request policy answered (fields `id`, `policy`, `module`,
/// `module_version`, `verdict`, `reason`, `trigger`); `verdict` is `error` when it failed.
pub const ACCESS_REQUEST_POLICY: &str = "access_request.policy";
/// Event: an access-request policy was written or deleted (fields `name`, `op`, `module`).
pub const ACCESS_REQUEST_POLICY_CHANGE: &str = "access_request_policy.change";

/// One audit event as stored and returned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Its id: time-ordered, unique across the servers of a cluster (`NANOS-CHAIN-SEQ`:
    /// CHAIN is random per server process, SEQ is the event's position in it).
    pub id: String,
    /// When the server recorded it, RFC 3339 with nanoseconds (UTC).
    pub time: String,
    /// What happened, e.g. [`RULE_ACTION`].
    pub event: String,
    /// Who caused it, or whom it is about.
    pub user: String,
    /// The details (a JSON object).
    pub fields: Value,
    /// Who wrote it: empty for the server itself, else the identity (user or host) that
    /// emitted it.
    pub emitter: String,
    /// The emitter's event code, if it gave one.
    pub code: String,
    /// The hash chain it belongs to (empty for events written before chaining).
    pub chain: String,
    /// Its position in the chain, from 0.
    pub seq: u64,
    /// SHA-256 over the previous event's digest and this event's stored body, hex.
    pub digest: String,
}

/// Why the audit log could not take or check events.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The event is malformed (the message names what).
    #[error("{0}")]
    Invalid(String),
    /// The event is larger than [`ingest::MAX_EVENT_BYTES`].
    #[error("the event is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// Its encoded size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A user named another user as the event's user.
    #[error("`{caller}` cannot emit an event on behalf of another user (`{user}`): only hosts may name other users")]
    OnBehalf {
        /// The caller.
        caller: String,
        /// The user it named.
        user: String,
    },
    /// The store failed to write the events (nothing was written).
    #[error("the audit log could not be written: {0}")]
    Store(Arc<portcullis_store::Error>),
    /// The store failed to read.
    #[error(transparent)]
    Resource(#[from] ResourceError),
    /// The chain's writer failed (a server bug).
    #[error("the audit log writer failed: {0}")]
    Writer(String),
}

/// Which events a search returns.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Only events at or after this time.
    pub since: Option<SystemTime>,
    /// Only events after this id (the `next` of the previous page).
    pub start_after: Option<String>,
    /// At most this many (1..=[`MAX_LIMIT`]).
    pub limit: usize,
    /// Only events of this type, if given.
    pub event: Option<String>,
    /// Only events caused by this user, if given.
    pub user: Option<String>,
}

/// Events a search returns when the request does not say how many.
pub const DEFAULT_LIMIT: usize = 100;

/// How far back a search looks when the request does not say.
pub const DEFAULT_SINCE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

impl Query {
    /// A search as GetAuditEvents asks for it: `since` an RFC 3339 time (empty: the last
    /// [`DEFAULT_SINCE`] before `now`), `limit` at most [`MAX_LIMIT`] (0: [`DEFAULT_LIMIT`]),
    /// empty strings for "any".
    pub fn parse(
        since: &str,
        start_after: String,
        limit: u32,
        event: String,
        user: String,
        now: SystemTime,
    ) -> Result<Query, ResourceError> {
        let since = if since.is_empty() {
            now.checked_sub(DEFAULT_SINCE)
        } else {
            Some(humantime::parse_rfc3339_weak(since).map_err(|e| {
                ResourceError::invalid(format!("since `{since}` is not an RFC 3339 time: {e}"))
            })?)
        };
        let limit = match limit as usize {
            0 => DEFAULT_LIMIT,
            n if n > MAX_LIMIT => {
                return Err(ResourceError::invalid(format!(
                    "limit {n} is more than {MAX_LIMIT}"
                )))
            }
            n => n,
        };
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        Ok(Query {
            since,
            start_after: non_empty(start_after),
            limit,
            event: non_empty(event),
            user: non_empty(user),
        })
    }
}

/// The audit log over the store.
pub struct AuditLog {
    backend: Arc<dyn Backend>,
    /// This process's chain: random per process, so two servers writing events in the same
    /// nanosecond get different ids.
    writer: Arc<chain::Writer>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").finish_non_exhaustive()
    }
}

fn key(id: &str) -> Vec<u8> {
    format!("{PREFIX}{id}").into_bytes()
}

impl AuditLog {
    /// The audit log kept in `backend`, with a new chain for this process's events.
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        AuditLog {
            writer: Arc::new(chain::Writer::new(backend.clone())),
            backend,
        }
    }

    /// The id of the chain this process writes.
    pub fn chain(&self) -> &str {
        self.writer.chain()
    }

    /// Records `event` caused by `user`, with `fields` (a JSON object).
    pub async fn emit(&self, event: &str, user: &str, fields: Value) {
        self.emit_all(vec![(event, user.to_owned(), fields)]).await;
    }

    /// Records several events (type, user, fields) in this order, in one store write. A
    /// failure is logged, not returned: it must not fail the request that caused the events.
    pub async fn emit_all(&self, events: Vec<(&str, String, Value)>) {
        let events: Vec<chain::NewEvent> = events
            .into_iter()
            .map(|(event, user, fields)| {
                tracing::info!(target: "portcullis::audit", event, %user, details = %fields, "audit event");
                chain::NewEvent {
                    event: event.to_owned(),
                    user,
                    emitter: String::new(),
                    code: String::new(),
                    fields,
                }
            })
            .collect();
        let what: Vec<String> = events
            .iter()
            .map(|e| format!("{} ({})", e.event, e.user))
            .collect();
        if let Err(e) = self.writer.append(events).await {
            // The details are in the `portcullis::audit` lines above.
            tracing::error!(events = ?what, "audit events not stored: {e}");
        }
    }

    /// Appends `events` to this process's chain; returns them as stored.
    async fn append(&self, events: Vec<chain::NewEvent>) -> Result<Vec<AuditEvent>, AuditError> {
        self.writer.append(events).await
    }

    /// The events `query` selects, oldest first, and the id to continue after when there
    /// may be more.
    pub async fn search(
        &self,
        query: &Query,
    ) -> Result<(Vec<AuditEvent>, Option<String>), ResourceError> {
        let limit = query.limit.clamp(1, MAX_LIMIT);
        let since = query.since.map(|t| {
            let nanos = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
            // An id at exactly `since` (`NANOS-SEQ`) sorts after its bare `NANOS` prefix.
            key(&format!("{nanos:020}"))
        });
        let after = query.start_after.as_deref().map(key);
        let mut cursor = match (since, after) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let mut events = Vec::new();
        loop {
            let page = self
                .backend
                .range(PREFIX.as_bytes(), cursor.as_deref(), MAX_LIMIT)
                .await
                .map_err(ResourceError::Store)?;
            for item in page.items {
                let event = record::decode(&item.value)
                    .map_err(|reason| ResourceError::Corrupt {
                        kind: "audit event",
                        key: String::from_utf8_lossy(&item.key).into_owned(),
                        reason,
                    })?
                    .into_event();
                let wanted = query.event.as_ref().is_none_or(|e| *e == event.event)
                    && query.user.as_ref().is_none_or(|u| *u == event.user);
                let id = event.id.clone();
                if wanted {
                    events.push(event);
                    if events.len() == limit {
                        return Ok((events, Some(id)));
                    }
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok((events, None)),
            }
        }
    }
}
