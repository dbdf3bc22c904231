//! The audit log: GetAuditEvents (searching), EmitAuditEvent (events from hosts and users)
//! and VerifyAuditLog (checking the hash chains).

use portcullis_api::auth::{
    AuditEvent, AuditEvents, AuditLogProblem, GetAuditEventsRequest, VerifyAuditLogRequest,
    VerifyAuditLogResponse,
};
use portcullis_api::events::OneOf;
use tonic::{Request, Status};

use super::authorize;
use crate::audit::{verify, Query};
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
        portcullis_clock::now(),
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
                emitter: e.emitter,
                code: e.code,
                chain: e.chain,
                seq: e.seq,
                digest: e.digest,
            })
            .collect(),
        next_start_after: next.unwrap_or_default(),
    })
}

pub(super) async fn emit(state: &State, request: Request<OneOf>) -> Result<(), Status> {
    let caller = authorize(state, &request, "EmitAuditEvent", Target::default()).await?;
    let event = request.into_inner();
    state
        .audit
        .ingest(&caller.identity, &state.cluster_name, &event)
        .await?;
    Ok(())
}

pub(super) async fn verify(
    state: &State,
    request: Request<VerifyAuditLogRequest>,
) -> Result<VerifyAuditLogResponse, Status> {
    authorize(state, &request, "VerifyAuditLog", Target::default()).await?;
    let since = verify::parse_since(&request.get_ref().since)?;
    let report = state.audit.verify(since, portcullis_clock::now()).await?;
    Ok(VerifyAuditLogResponse {
        checked: report.checked,
        chains: report.chains,
        problems: report
            .problems
            .into_iter()
            .map(|p| AuditLogProblem {
                event_id: p.event_id,
                chain: p.chain,
                problem: p.problem,
            })
            .collect(),
    })
}
