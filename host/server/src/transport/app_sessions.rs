//! Application session handlers (see [`crate::app_sessions`]): `CreateAppSession` for the
//! caller itself; `GetAppSession`/`DeleteAppSession` of the caller's own sessions, or of
//! anyone's with the rule on `app_session` (admins); `GetAppSessions`/`DeleteAllAppSessions`
//! over everyone's sessions with that rule, else over the caller's own.

use portcullis_api::auth::{
    CreateAppSessionRequest, CreateAppSessionResponse, DeleteAppSessionRequest,
    GetAppSessionRequest, GetAppSessionResponse, GetAppSessionsRequest, GetAppSessionsResponse,
};
use portcullis_api::kinds::KIND_APP_SESSION;
use tonic::{Code, Request, Status};

use super::{authorize, caller};
use crate::app_sessions::{self, owner, redacted_for, AppSessions, NewAppSession};
use crate::rbac::Target;
use crate::state::State;

/// Whether the caller of `request` may make `rpc` over every user's sessions; `false` when
/// its roles allow only its own.
async fn over_everyone<T>(state: &State, request: &Request<T>, rpc: &str) -> Result<bool, Status> {
    match authorize(state, request, rpc, Target::default()).await {
        Ok(_) => Ok(true),
        Err(status) if status.code() == Code::PermissionDenied => Ok(false),
        Err(status) => Err(status),
    }
}

/// `CreateAppSession`.
pub(super) async fn create(
    state: &State,
    request: Request<CreateAppSessionRequest>,
) -> Result<CreateAppSessionResponse, Status> {
    let req = request.get_ref();
    let user = if req.username.is_empty() {
        caller(&request)?.username.clone()
    } else {
        req.username.clone()
    };
    let target = Target::named(KIND_APP_SESSION, &req.public_addr).for_user(&user);
    let mut authorized = authorize(state, &request, "CreateAppSession", target).await?;
    let req = request.into_inner();
    let new = NewAppSession {
        username: req.username,
        parent_session: req.parent_session,
        public_addr: req.public_addr,
        cluster_name: req.cluster_name,
    };
    let identity = authorized.identity.clone();
    let roles = &authorized.subject(state).await?.owned_roles();
    let sessions = AppSessions {
        backend: &state.backend,
        keyring: &state.keyring,
        cluster_name: &state.cluster_name,
    };
    let session = sessions
        .create(&identity, roles, new, portcullis_clock::now())
        .await?;
    let id = session.metadata.as_ref().map_or("", |m| m.name.as_str());
    tracing::info!(user = %identity.username, session = %id, "app session created");
    Ok(CreateAppSessionResponse {
        session: Some(session),
    })
}

/// `GetAppSession`.
pub(super) async fn get(
    state: &State,
    request: Request<GetAppSessionRequest>,
) -> Result<GetAppSessionResponse, Status> {
    let id = &request.get_ref().session_id;
    let session = app_sessions::get(&*state.backend, id).await?;
    let target = Target::named(KIND_APP_SESSION, id).for_user(owner(&session));
    let authorized = authorize(state, &request, "GetAppSession", target).await?;
    Ok(GetAppSessionResponse {
        session: Some(redacted_for(session, &authorized.username)),
    })
}

/// `GetAppSessions`.
pub(super) async fn list(
    state: &State,
    request: Request<GetAppSessionsRequest>,
) -> Result<GetAppSessionsResponse, Status> {
    let name = caller(&request)?.username.clone();
    let req = request.get_ref();
    let page = state.page_by_name(KIND_APP_SESSION, req.limit, &req.start_after)?;
    let everyone = over_everyone(state, &request, "GetAppSessions").await?;
    let user = (!everyone).then_some(name.as_str());
    let page = app_sessions::list(&*state.backend, user, &page).await?;
    Ok(GetAppSessionsResponse {
        next_start_after: page.next_start_after(),
        sessions: page
            .items
            .into_iter()
            .map(|s| redacted_for(s, &name))
            .collect(),
    })
}

/// `DeleteAppSession`.
pub(super) async fn delete(
    state: &State,
    request: Request<DeleteAppSessionRequest>,
) -> Result<(), Status> {
    let id = &request.get_ref().session_id;
    let session = app_sessions::get(&*state.backend, id).await?;
    let target = Target::named(KIND_APP_SESSION, id).for_user(owner(&session));
    let authorized = authorize(state, &request, "DeleteAppSession", target).await?;
    app_sessions::delete(&*state.backend, id).await?;
    tracing::info!(session = %id, by = %authorized.username, "app session deleted");
    Ok(())
}

/// `DeleteAllAppSessions`.
pub(super) async fn delete_all(state: &State, request: Request<()>) -> Result<(), Status> {
    let name = caller(&request)?.username.clone();
    let everyone = over_everyone(state, &request, "DeleteAllAppSessions").await?;
    let user = (!everyone).then_some(name.as_str());
    let count = app_sessions::delete_all(&*state.backend, user).await?;
    tracing::info!(count, by = %name, everyone, "app sessions deleted");
    Ok(())
}
