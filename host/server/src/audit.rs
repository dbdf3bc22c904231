//! The audit log: security-relevant events — what the actions of deciding role rules logged,
//! `where` clauses that failed to evaluate (and so denied or did not allow), joins of hosts —
//! kept in the
//! store under `/audit/` in time order, each for [`RETENTION`], and read back with the
//! `GetAuditEvents` RPC (`pctl audit ls`). Every event is also a log line with target
//! `portcullis::audit`.
//!
//! Writing an event waits until it is durable (the store's fsynced log), like any write.
//! A failed write does not fail the request that caused it: it is logged at error level.

use std::sync::atomic::{AtomicU32, Ordering};
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Its id: time-ordered, unique across the servers of a cluster (`NANOS-SERVER-SEQ`:
    /// SERVER is random per process, SEQ counts that process's events).
    pub id: String,
    /// When, RFC 3339 with nanoseconds (UTC).
    pub time: String,
    /// What happened, e.g. [`RULE_ACTION`].
    pub event: String,
    /// Who caused it.
    pub user: String,
    /// The details (a JSON object).
    pub fields: Value,
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
    /// Random per process: two servers writing events in the same nanosecond get
    /// different ids.
    server: u32,
    seq: AtomicU32,
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
    /// The audit log kept in `backend`.
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        AuditLog {
            backend,
            server: rand::random(),
            seq: AtomicU32::new(0),
        }
    }

    /// Records `event` caused by `user`, with `fields` (a JSON object).
    pub async fn emit(&self, event: &str, user: &str, fields: Value) {
        self.emit_all(vec![(event, user.to_owned(), fields)]).await;
    }

    /// Records several events (type, user, fields) in this order, in one store write.
    pub async fn emit_all(&self, events: Vec<(&str, String, Value)>) {
        let now = SystemTime::now();
        let nanos = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let mut items = Vec::with_capacity(events.len());
        let mut records = Vec::with_capacity(events.len());
        for (event, user, fields) in events {
            let seq = self.seq.fetch_add(1, Ordering::Relaxed);
            let record = AuditEvent {
                id: format!("{nanos:020}-{:08x}-{seq:010}", self.server),
                time: humantime::format_rfc3339_nanos(now).to_string(),
                event: event.to_owned(),
                user,
                fields,
            };
            let (user, details) = (&record.user, &record.fields);
            tracing::info!(target: "portcullis::audit", event, %user, %details, "audit event");
            match serde_json::to_vec(&record) {
                Ok(value) => items.push(portcullis_store::NewItem {
                    key: key(&record.id),
                    value,
                    expires: Some(now + RETENTION),
                }),
                Err(e) => tracing::error!(event, %user, %details, "audit event not stored: {e}"),
            }
            records.push(record);
        }
        if let Err(e) = self.backend.create_all(items).await {
            for record in &records {
                let (event, user, details) = (&record.event, &record.user, &record.fields);
                tracing::error!(%event, %user, %details, "audit event not stored: {e}");
            }
        }
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
                let event: AuditEvent =
                    serde_json::from_slice(&item.value).map_err(|e| ResourceError::Corrupt {
                        kind: "audit event",
                        key: String::from_utf8_lossy(&item.key).into_owned(),
                        reason: e.to_string(),
                    })?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_store::MemoryBackend;
    use serde_json::json;

    #[tokio::test]
    async fn events_are_kept_in_order_and_searched_by_type_user_time_and_page() {
        let log = AuditLog::new(Arc::new(MemoryBackend::new()));
        let before = SystemTime::now();
        log.emit(RULE_ACTION, "alice", json!({"n": 1})).await;
        log.emit(WHERE_FAILED, "bob", json!({"n": 2})).await;
        log.emit(RULE_ACTION, "bob", json!({"n": 3})).await;

        let log = &log;
        let all = |q: Query| async move { log.search(&Query { limit: 10, ..q }).await.unwrap() };
        let (events, next) = all(Query::default()).await;
        assert_eq!(next, None);
        let ns: Vec<_> = events.iter().map(|e| e.fields["n"].clone()).collect();
        assert_eq!(ns, [json!(1), json!(2), json!(3)]);
        assert!(events.windows(2).all(|w| w[0].id < w[1].id));
        assert!(humantime::parse_rfc3339(&events[0].time).unwrap() >= before);

        let (by_type, _) = all(Query {
            event: Some(RULE_ACTION.into()),
            ..Query::default()
        })
        .await;
        assert_eq!(by_type.len(), 2);
        let (by_user, _) = all(Query {
            user: Some("bob".into()),
            ..Query::default()
        })
        .await;
        assert_eq!(by_user.len(), 2);
        let (later, _) = all(Query {
            since: Some(SystemTime::now() + Duration::from_secs(1)),
            ..Query::default()
        })
        .await;
        assert!(later.is_empty());
        let (from_first, _) = all(Query {
            since: humantime::parse_rfc3339(&events[1].time).ok(),
            ..Query::default()
        })
        .await;
        assert_eq!(
            from_first.len(),
            2,
            "an event exactly at `since` is included"
        );

        // Pages of one, continued with the id they end at.
        let (first, next) = log
            .search(&Query {
                limit: 1,
                ..Query::default()
            })
            .await
            .unwrap();
        assert_eq!(first, events[..1]);
        let (second, _) = log
            .search(&Query {
                limit: 1,
                start_after: next,
                ..Query::default()
            })
            .await
            .unwrap();
        assert_eq!(second, events[1..2]);
    }
}
