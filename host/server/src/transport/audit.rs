//! GetAuditEvents: searching the audit log.

use std::time::SystemTime;

use portcullis_api::auth::{AuditEvent, AuditEvents, GetAuditEventsRequest};
use tonic::{Request, Status};

use super::authorize;
use crate::audit::Query;
use crate::rbac::Target;
use crate::state::State;

pub(super) async fn search(
    state: &State,
    request: Request<GetAuditEventsRequest>,
) -> Result<AuditEvents, Status> {
    authorize(state, &request, "GetAuditEvents", Target::default()).await?;
    let req = request.into_inner();
    let query = Query::parse(
        &req.since,
        req.start_after,
        req.limit,
        req.event,
        req.user,
        SystemTime::now(),
    )?;
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
                ..AuditEvent::default()
            })
            .collect(),
        next_start_after: next.unwrap_or_default(),
    })
}
