//! SubmitAccessReview: a reviewer whose roles' `review_requests` cover every requested role
//! approves or denies a pending request; thresholds, then access-request policies, may
//! resolve it.

use std::time::SystemTime;

use portcullis_api::auth::AccessReviewSubmission;
use portcullis_api::services::AccessRequestV3;
use portcullis_authz::requests::may_review;
use serde_json::{json, Value};
use tonic::{Request, Status};

use super::authorize;
use crate::access_requests::{reviews, spec, state_name, KIND_ACCESS_REQUEST};
use crate::audit;
use crate::rbac::{stored_user_json, Subject, Target};
use crate::resources::ResourceError;
use crate::state::State;

/// How often a review is retried when the request changed between read and write.
const ATTEMPTS: usize = 5;

pub(super) async fn submit(
    state: &State,
    request: Request<AccessReviewSubmission>,
) -> Result<AccessRequestV3, Status> {
    let id = request.get_ref().request_id.clone();
    let target = Target::named(KIND_ACCESS_REQUEST, &id);
    let caller = authorize(state, &request, "SubmitAccessReview", target).await?;
    let submission = request.into_inner();
    let review = submission.review.unwrap_or_default();
    if !review.author.is_empty() && review.author != caller.username {
        return Err(Status::permission_denied(format!(
            "reviews are submitted by their author: `{}` may not review as `{}`",
            caller.username, review.author
        )));
    }
    let reviewer = Subject::load(state, &caller).await?;
    let trigger = format!("review by {}", caller.username);
    let mut attempt = 0;
    let (stored, outcomes, resolved) = loop {
        attempt += 1;
        let mut access_request = state.access_requests.get(&id).await?;
        let requested = spec(&access_request);
        let access = may_review(&reviewer.roles, &caller.traits, &requested.roles);
        if !access.allowed {
            return Err(Status::permission_denied(format!(
                "`{}` may not review access request `{id}`: {}",
                caller.username, access.reason
            )));
        }
        let mut resolved = reviews::submit(
            &mut access_request,
            &caller.username,
            review.clone(),
            SystemTime::now(),
        )?;
        let mut outcomes = Vec::new();
        if !resolved {
            // The requester as policies see it: the stored user without secrets (`null`
            // if gone).
            let requester = stored_user_json(state, &requested.user).await?;
            let requester = requester.unwrap_or(Value::Null);
            let (ran, changed) =
                super::approval::run(state, &mut access_request, requester, &trigger).await?;
            outcomes = ran;
            resolved = changed.is_some();
        }
        match state.access_requests.update(&access_request).await {
            Ok(stored) => break (stored, outcomes, resolved),
            Err(ResourceError::Conflict { .. }) if attempt < ATTEMPTS => continue,
            Err(e) => return Err(e.into()),
        }
    };
    let s = spec(&stored);
    let fields = json!({
        "id": id, "verdict": state_name(review.proposed_state()), "reason": review.reason,
        "state": state_name(s.state()), "user": s.user,
    });
    let mut events = vec![(
        audit::ACCESS_REQUEST_REVIEW,
        caller.username.clone(),
        fields,
    )];
    events.extend(super::approval::outcome_events(
        &stored, &outcomes, &trigger,
    ));
    if resolved {
        events.push(resolution_event(&stored, &caller.username));
    }
    state.audit.emit_all(events).await;
    Ok(stored)
}

/// The `access_request.update` event of a request resolved by reviews or a policy.
pub(super) fn resolution_event(
    request: &AccessRequestV3,
    actor: &str,
) -> (&'static str, String, serde_json::Value) {
    let s = spec(request);
    let fields = json!({
        "id": crate::resources::Resource::name(request), "state": state_name(s.state()),
        "roles": s.roles, "reason": s.resolve_reason, "resolved_by": s.resolved_by,
        "user": s.user,
    });
    (audit::ACCESS_REQUEST_UPDATE, actor.to_owned(), fields)
}
