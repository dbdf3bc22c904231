//! CheckAccess: a decision with its explanation, for `pctl acl check`.

use portcullis_api::auth::{CheckAccessRequest, CheckAccessResponse};
use tonic::{Request, Status};

use super::authorize;
use crate::rbac::Target;
use crate::state::State;

pub(super) async fn check(
    state: &State,
    request: Request<CheckAccessRequest>,
) -> Result<CheckAccessResponse, Status> {
    let user = request.get_ref().user.clone();
    let own = if user.is_empty() {
        crate::transport::caller(&request)?.username.clone()
    } else {
        user.clone()
    };
    let caller = authorize(
        state,
        &request,
        "CheckAccess",
        Target::default().for_user(&own),
    )
    .await?;
    let req = request.into_inner();
    Ok(crate::rbac::check::check_access(state, &caller, req).await?)
}
