//! Web session handlers: GetWebSession, GetWebSessions, DeleteWebSession (SignIn, which
//! opens them, is with the password handlers). No answer carries a bearer token.

use portcullis_api::auth::{GetWebSessionsRequest, WebSessionList, WebSessionRequest};
use portcullis_api::services::WebSessionV2;
use tonic::{Request, Status};

use super::authorize;
use super::passwords::for_user;
use crate::resources::validate::validate_name;
use crate::state::State;
use crate::web_sessions::{self, KIND_WEB_SESSION};

pub(super) async fn get(
    state: &State,
    request: Request<WebSessionRequest>,
) -> Result<WebSessionV2, Status> {
    let req = request.get_ref();
    validate_name("user", &req.user)?;
    let target = for_user(KIND_WEB_SESSION, &req.session_id, &req.user);
    authorize(state, &request, "GetWebSession", target).await?;
    let req = request.get_ref();
    Ok(web_sessions::get(&state.backend, &req.user, &req.session_id).await?)
}

pub(super) async fn list(
    state: &State,
    request: Request<GetWebSessionsRequest>,
) -> Result<WebSessionList, Status> {
    let req = request.get_ref();
    validate_name("user", &req.user)?;
    let page = state.page_by_name(KIND_WEB_SESSION, req.limit, &req.start_after)?;
    let target = for_user(KIND_WEB_SESSION, "", &req.user);
    authorize(state, &request, "GetWebSessions", target).await?;
    let page = web_sessions::list(&state.backend, &request.get_ref().user, &page).await?;
    Ok(WebSessionList {
        next_start_after: page.next_start_after(),
        sessions: page.items,
    })
}

pub(super) async fn delete(
    state: &State,
    request: Request<WebSessionRequest>,
) -> Result<(), Status> {
    let req = request.get_ref();
    validate_name("user", &req.user)?;
    let target = for_user(KIND_WEB_SESSION, &req.session_id, &req.user);
    authorize(state, &request, "DeleteWebSession", target).await?;
    let req = request.get_ref();
    Ok(web_sessions::delete(&state.backend, &req.user, &req.session_id).await?)
}
