//! Reviews of access requests. Each reviewer approves or denies once; a request is never
//! reviewed by its own user. After every review the request's thresholds are tallied: a
//! requested role is denied when one of its thresholds has enough denials, approved when
//! one has enough approvals; the request is denied as soon as any role is denied, and
//! approved once every role is approved. Until then it stays pending; then the covering
//! access-request policies run. A reviewer's roles must cover every requested role
//! (`review_requests`).

use std::collections::BTreeMap;
use std::time::SystemTime;

use portcullis_api::services::{AccessRequestV3, AccessReview, RequestState, RoleThresholds};
use portcullis_authz::requests::may_review;
use serde_json::json;

use super::{
    approval, ensure_pending, resolution_event, resolve, spec, state_name, AccessRequestError,
    Actor, Context, Resolution,
};
use crate::audit;
use crate::resources::ResourceError;

/// How often a review is retried when the request changed between read and write.
const ATTEMPTS: usize = 5;

impl Context<'_> {
    /// Adds `review` by `reviewer` to the pending request `id`, then lets thresholds, or
    /// else the covering policies, resolve it. A concurrent change of the request makes it
    /// read the request again (a few times). Answers the request as stored.
    pub async fn review(
        &self,
        id: &str,
        review: AccessReview,
        reviewer: Actor<'_>,
    ) -> super::Result<AccessRequestV3> {
        let author = &reviewer.identity.username;
        if !review.author.is_empty() && &review.author != author {
            return Err(AccessRequestError::NotAuthor {
                caller: author.clone(),
                author: review.author,
            });
        }
        let trigger = format!("review by {author}");
        let mut attempt = 0;
        let (stored, outcomes, resolved) = loop {
            attempt += 1;
            let mut access_request = self.requests.get(id).await?;
            let requested = spec(&access_request);
            let traits = &reviewer.identity.traits;
            let access = may_review(reviewer.roles, traits, &requested.roles);
            if !access.allowed {
                return Err(AccessRequestError::MayNotReview {
                    reviewer: author.clone(),
                    id: id.to_owned(),
                    reason: access.reason,
                });
            }
            let now = portcullis_clock::now();
            let mut resolved = submit(&mut access_request, author, review.clone(), now)?;
            let mut outcomes = Vec::new();
            if !resolved {
                let requester = self.user_json(&requested.user).await?;
                let ran = self
                    .run_approval(&mut access_request, requester, &trigger)
                    .await?;
                outcomes = ran.outcomes;
                resolved = ran.resolved.is_some();
            }
            match self.requests.update(&access_request).await {
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
        let mut events = vec![(audit::ACCESS_REQUEST_REVIEW, author.clone(), fields)];
        events.extend(approval::outcome_events(&stored, &outcomes, &trigger));
        if resolved {
            events.push(resolution_event(&stored, author));
        }
        self.audit.emit_all(events).await;
        Ok(stored)
    }
}

/// Adds `review` by `author` (made at `now`) to a pending `request`, then resolves the
/// request if its thresholds are now met. Answers whether the review resolved it.
pub fn submit(
    request: &mut AccessRequestV3,
    author: &str,
    mut review: AccessReview,
    now: SystemTime,
) -> Result<bool, ResourceError> {
    let id = ensure_pending(request, "only pending requests can be reviewed")?;
    let proposed = review.proposed_state();
    if !matches!(proposed, RequestState::Approved | RequestState::Denied) {
        return Err(ResourceError::invalid(format!(
            "a review proposes approved or denied, not {}",
            state_name(proposed)
        )));
    }
    let spec = request.spec.get_or_insert_with(Default::default);
    if spec.user == author {
        return Err(ResourceError::invalid(format!(
            "`{author}` may not review its own access request `{id}`"
        )));
    }
    if spec.reviews.iter().any(|r| r.author == author) {
        return Err(ResourceError::AlreadyExists {
            kind: "access_review",
            name: format!("{author} on {id}"),
        });
    }
    review.author = author.to_owned();
    review.created = Some(prost_types::Timestamp::from(now));
    spec.reviews.push(review);
    let Some(resolution) = tally(&spec.thresholds, &spec.roles, &spec.reviews) else {
        return Ok(false);
    };
    let authors: Vec<&str> = spec
        .reviews
        .iter()
        .filter(|r| r.proposed_state() == resolution.state)
        .map(|r| r.author.as_str())
        .collect();
    let resolved_by = format!("reviews:{}", authors.join(","));
    resolve(request, resolution)?;
    request
        .spec
        .get_or_insert_with(Default::default)
        .resolved_by = resolved_by;
    Ok(true)
}

/// How the reviews so far decide a request for `roles`, if they do.
pub fn tally(
    thresholds: &[RoleThresholds],
    roles: &[String],
    reviews: &[AccessReview],
) -> Option<Resolution> {
    let count = |wanted: RequestState| {
        let n = reviews
            .iter()
            .filter(|r| r.proposed_state() == wanted)
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    };
    let (approvals, denials) = (count(RequestState::Approved), count(RequestState::Denied));
    let default = [portcullis_authz::requests::default_threshold()];
    let of_role = |role: &str| {
        thresholds
            .iter()
            .find(|t| t.role == role && !t.thresholds.is_empty())
            .map_or(&default[..], |t| &t.thresholds[..])
    };
    // Any role denied denies the request, whatever the others stand at.
    for role in roles {
        if let Some(t) = of_role(role).iter().find(|t| denials >= t.deny.max(1)) {
            return Some(decided(
                RequestState::Denied,
                format!(
                    "denied by {denials} review(s): threshold `{}` of role `{role}` needs {}",
                    t.name,
                    t.deny.max(1)
                ),
                reviews,
            ));
        }
    }
    let mut approved_by = Vec::new();
    for role in roles {
        let t = of_role(role)
            .iter()
            .find(|t| approvals >= t.approve.max(1))?;
        approved_by.push(format!("`{role}` by threshold `{}`", t.name));
    }
    Some(decided(
        RequestState::Approved,
        format!(
            "approved by {approvals} review(s): {}",
            approved_by.join(", ")
        ),
        reviews,
    ))
}

/// The resolution, with the deciding reviews' reasons and annotations.
fn decided(state: RequestState, summary: String, reviews: &[AccessReview]) -> Resolution {
    let deciding: Vec<&AccessReview> = reviews
        .iter()
        .filter(|r| r.proposed_state() == state)
        .collect();
    let reasons: Vec<String> = deciding
        .iter()
        .filter(|r| !r.reason.is_empty())
        .map(|r| format!("{}: {}", r.author, r.reason))
        .collect();
    let reason = if reasons.is_empty() {
        summary
    } else {
        format!("{summary} ({})", reasons.join("; "))
    };
    let mut annotations = BTreeMap::new();
    for review in deciding {
        for (name, values) in &review.annotations {
            let merged: &mut portcullis_api::wrappers::StringValues =
                annotations.entry(name.clone()).or_default();
            merged.values.extend(values.values.iter().cloned());
        }
    }
    Resolution {
        state,
        roles: Vec::new(),
        reason,
        annotations,
    }
}

#[cfg(test)]
mod workflow_tests;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::access_requests::{new_request, state};
    use portcullis_api::services::AccessReviewThreshold;
    use std::time::Duration;

    fn review(state: RequestState, reason: &str) -> AccessReview {
        AccessReview {
            proposed_state: state as i32,
            reason: reason.to_owned(),
            ..AccessReview::default()
        }
    }

    fn request(thresholds: Vec<RoleThresholds>) -> AccessRequestV3 {
        let now = portcullis_clock::now();
        let mut r = new_request(
            "contractor",
            vec!["dba".into(), "ops".into()],
            String::new(),
            None,
            now,
            Duration::from_secs(3600),
        )
        .unwrap();
        r.spec.as_mut().unwrap().thresholds = thresholds;
        r
    }

    fn threshold(role: &str, approve: u32, deny: u32) -> RoleThresholds {
        RoleThresholds {
            role: role.into(),
            thresholds: vec![AccessReviewThreshold {
                name: format!("{role}-{approve}-{deny}"),
                approve,
                deny,
            }],
        }
    }

    #[test]
    fn every_role_needs_its_approvals() {
        let mut r = request(vec![threshold("dba", 2, 2)]);
        let now = portcullis_clock::now();
        let approve = || review(RequestState::Approved, "ok");
        // `ops` has the default threshold (1); `dba` needs 2.
        assert!(!submit(&mut r, "alice", approve(), now).unwrap());
        assert_eq!(state(&r), RequestState::Pending);
        assert!(submit(&mut r, "bob", approve(), now).unwrap());
        let spec = r.spec.as_ref().unwrap();
        assert_eq!(spec.state(), RequestState::Approved);
        assert_eq!(spec.resolved_by, "reviews:alice,bob");
        assert!(
            spec.resolve_reason.contains("threshold `dba-2-2`"),
            "{}",
            spec.resolve_reason
        );
        assert!(
            spec.resolve_reason.contains("alice: ok"),
            "{}",
            spec.resolve_reason
        );
        // Resolved: no more reviews.
        let late = submit(&mut r, "carol", approve(), now).unwrap_err();
        assert!(late.to_string().contains("already approved"), "{late}");
    }

    #[test]
    fn one_role_denied_denies_the_request() {
        let mut r = request(vec![threshold("dba", 1, 2), threshold("ops", 3, 1)]);
        let now = portcullis_clock::now();
        assert!(submit(&mut r, "alice", review(RequestState::Denied, "no"), now).unwrap());
        let spec = r.spec.as_ref().unwrap();
        assert_eq!(spec.state(), RequestState::Denied);
        assert!(
            spec.resolve_reason.contains("role `ops`"),
            "{}",
            spec.resolve_reason
        );
    }

    #[test]
    fn no_self_review_no_second_review_no_other_states() {
        let mut r = request(vec![threshold("dba", 3, 3), threshold("ops", 3, 3)]);
        let now = portcullis_clock::now();
        let own = submit(
            &mut r,
            "contractor",
            review(RequestState::Approved, ""),
            now,
        );
        assert!(own.unwrap_err().to_string().contains("its own"));
        submit(&mut r, "alice", review(RequestState::Approved, ""), now).unwrap();
        let twice = submit(&mut r, "alice", review(RequestState::Denied, ""), now);
        assert!(matches!(twice, Err(ResourceError::AlreadyExists { .. })));
        let pending = submit(&mut r, "bob", review(RequestState::Pending, ""), now);
        assert!(pending.unwrap_err().to_string().contains("not pending"));
        assert_eq!(r.spec.as_ref().unwrap().reviews.len(), 1);
    }
}
