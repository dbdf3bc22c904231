//! GetAuditEvents: searching the audit log.

use std::time::{Duration, SystemTime};

use portcullis_api::auth::{AuditEvent, AuditEvents, GetAuditEventsRequest};
use tonic::{Request, Status};

use crate::audit::{Query, MAX_LIMIT};
use crate::rbac::{authorize, Target};
use crate::state::State;

/// Events returned when the request does not say how many.
const DEFAULT_LIMIT: usize = 100;

/// How far back a search looks when the request does not say.
const DEFAULT_SINCE: Duration = Duration::from_secs(24 * 3600);

pub(super) async fn search(
    state: &State,
    request: Request<GetAuditEventsRequest>,
) -> Result<AuditEvents, Status> {
    authorize(state, &request, "GetAuditEvents", Target::default()).await?;
    let req = request.into_inner();
    let since = if req.since.is_empty() {
        SystemTime::now().checked_sub(DEFAULT_SINCE)
    } else {
        Some(humantime::parse_rfc3339_weak(&req.since).map_err(|e| {
            Status::invalid_argument(format!(
                "since `{}` is not an RFC 3339 time: {e}",
                req.since
            ))
        })?)
    };
    let limit = match req.limit as usize {
        0 => DEFAULT_LIMIT,
        n if n > MAX_LIMIT => {
            return Err(Status::invalid_argument(format!(
                "limit {n} is more than {MAX_LIMIT}"
            )))
        }
        n => n,
    };
    let non_empty = |s: String| (!s.is_empty()).then_some(s);
    let query = Query {
        since,
        start_after: non_empty(req.start_after),
        limit,
        event: non_empty(req.event),
        user: non_empty(req.user),
    };
    let (events, next) = state.audit.search(&query).await?;
    Ok(AuditEvents {
        events: events
            .into_iter()
            .map(|e| AuditEvent {
                id: e.id,
                time: e.time,
                event: e.event,
                user: e.user,
                fields_json: e.fields.to_string(),
            })
            .collect(),
        next_start_after: next.unwrap_or_default(),
    })
}
