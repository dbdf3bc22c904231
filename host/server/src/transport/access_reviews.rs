//! SubmitAccessReview: a reviewer approves or denies a pending request (the workflow is
//! [`crate::access_requests::reviews`]).

use portcullis_api::auth::AccessReviewSubmission;
use portcullis_api::services::AccessRequestV3;
use tonic::{Request, Status};

use super::authorize;
use crate::access_requests::{Actor, Context, KIND_ACCESS_REQUEST};
use crate::rbac::Target;
use crate::state::State;

pub(super) async fn submit(
    state: &State,
    request: Request<AccessReviewSubmission>,
) -> Result<AccessRequestV3, Status> {
    let target = Target::named(KIND_ACCESS_REQUEST, &request.get_ref().request_id);
    let mut caller = authorize(state, &request, "SubmitAccessReview", target).await?;
    let submission = request.into_inner();
    let identity = caller.identity.clone();
    let subject = caller.subject(state).await?;
    let roles = subject.owned_roles();
    let reviewer = Actor {
        identity: &identity,
        roles: &roles,
    };
    let review = submission.review.unwrap_or_default();
    let stored = Context::from(state)
        .review(&submission.request_id, review, reviewer)
        .await?;
    Ok(stored)
}
