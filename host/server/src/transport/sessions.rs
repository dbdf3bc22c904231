//! GetSessions, GetSession, GetSessionEvents, GetActiveSessions: reading recordings. Each
//! session is authorized on its own (rules on `session` or `ssh_session`, whose `where`
//! clauses see it), so a listing holds only the sessions the caller may read.

use portcullis_api::auth::{
    GetSessionEventsRequest, GetSessionRequest, GetSessionsRequest, SessionEvents, SessionList,
};
use portcullis_api::services::SessionV1;
use tonic::{Request, Status};

use super::{authorize, caller};
use crate::rbac::{Authorized, RbacError, Target};
use crate::sessions::{
    page_size, Page, DEFAULT_EVENTS, DEFAULT_SESSIONS, MAX_EVENTS, MAX_SESSIONS,
};
use crate::state::State;

pub(super) async fn get(
    state: &State,
    request: Request<GetSessionRequest>,
) -> Result<SessionV1, Status> {
    let session = state.sessions.get(&request.get_ref().session_id).await?;
    authorize(state, &request, "GetSession", Target::resource(&session)).await?;
    Ok(session)
}

pub(super) async fn events(
    state: &State,
    request: Request<GetSessionEventsRequest>,
) -> Result<SessionEvents, Status> {
    let req = request.get_ref();
    let limit = page_size(req.limit, DEFAULT_EVENTS, MAX_EVENTS)?;
    let session = state.sessions.get(&req.session_id).await?;
    authorize(
        state,
        &request,
        "GetSessionEvents",
        Target::resource(&session),
    )
    .await?;
    let page = state
        .sessions
        .events(&session, &request.get_ref().start_after, limit)
        .await?;
    Ok(SessionEvents {
        events: page
            .items
            .iter()
            .map(|e| e.to_api(&state.cluster_name))
            .collect(),
        next_start_after: page.next.unwrap_or_default(),
    })
}

/// Which listing: completed recordings or sessions in progress.
#[derive(Debug, Clone, Copy)]
pub(super) enum Listing {
    Recorded,
    Active,
}

pub(super) async fn list(
    state: &State,
    request: Request<GetSessionsRequest>,
    listing: Listing,
) -> Result<SessionList, Status> {
    let rpc = match listing {
        Listing::Recorded => "GetSessions",
        Listing::Active => "GetActiveSessions",
    };
    let mut caller = Authorized::new(caller(&request)?);
    let req = request.into_inner();
    let limit = page_size(req.limit, DEFAULT_SESSIONS, MAX_SESSIONS)?;
    let mut cursor = req.start_after;
    let mut sessions = Vec::new();
    loop {
        let page: Page<SessionV1> = match listing {
            Listing::Recorded => state.sessions.list(&cursor, limit).await?,
            Listing::Active => {
                state
                    .sessions
                    .active(&state.cluster_name, &cursor, limit)
                    .await?
            }
        };
        for session in page.items {
            cursor = session_cursor(&session, listing);
            match caller
                .check(state, rpc, None, Target::resource(&session))
                .await
            {
                Ok(()) => sessions.push(session),
                Err(RbacError::Denied { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
            if sessions.len() == limit {
                return Ok(SessionList {
                    sessions,
                    next_start_after: cursor,
                });
            }
        }
        if page.next.is_none() {
            return Ok(SessionList {
                sessions,
                next_start_after: String::new(),
            });
        }
    }
}

/// Where a listing continues after `session`: completed recordings are keyed by session,
/// active ones by upload.
fn session_cursor(session: &SessionV1, listing: Listing) -> String {
    let spec = session.spec.as_ref();
    match listing {
        Listing::Recorded => spec.map(|s| s.session_id.clone()),
        Listing::Active => spec.map(|s| s.upload_id.clone()),
    }
    .unwrap_or_default()
}
