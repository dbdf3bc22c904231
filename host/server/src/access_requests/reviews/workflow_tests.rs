//! Tests of the review workflow against the in-memory store.
#![allow(clippy::unwrap_used)]
use portcullis_api::services::{AccessReview, RequestState};

use super::*;
use crate::access_requests::testing::{
    actor, carl_asks_dba, events, fixture, identity, reviewer_role,
};
use crate::access_requests::{state, AccessRequestError};
use crate::resources::Resource;

fn verdict(state: RequestState) -> AccessReview {
    AccessReview {
        proposed_state: state as i32,
        reason: "looks fine".into(),
        ..AccessReview::default()
    }
}

#[tokio::test]
async fn thresholds_approve_after_enough_reviews() {
    let f = fixture().await;
    let context = f.context();
    let request = carl_asks_dba(&context, 2, 2).await;
    let id = request.name();
    let reviewers = [reviewer_role(&["dba"])];
    let (alice, bob) = (identity("alice"), identity("bob"));
    let approve = || verdict(RequestState::Approved);
    let once = context
        .review(id, approve(), actor(&alice, &reviewers))
        .await
        .unwrap();
    assert_eq!(state(&once), RequestState::Pending);
    let twice = context
        .review(id, approve(), actor(&alice, &reviewers))
        .await
        .unwrap_err();
    assert!(
        matches!(
            twice,
            AccessRequestError::Resource(ResourceError::AlreadyExists { .. })
        ),
        "{twice}"
    );
    let done = context
        .review(id, approve(), actor(&bob, &reviewers))
        .await
        .unwrap();
    assert_eq!(state(&done), RequestState::Approved);
    assert_eq!(spec(&done).resolved_by, "reviews:alice,bob");
    let stored = context.requests.get(id).await.unwrap();
    assert_eq!(state(&stored), RequestState::Approved);
    let all = events(&f).await;
    assert_eq!(
        all.iter()
            .filter(|e| *e == audit::ACCESS_REQUEST_REVIEW)
            .count(),
        2,
        "{all:?}"
    );
    assert_eq!(all.last().unwrap(), audit::ACCESS_REQUEST_UPDATE, "{all:?}");
}

#[tokio::test]
async fn one_denial_over_the_threshold_denies() {
    let f = fixture().await;
    let context = f.context();
    let request = carl_asks_dba(&context, 3, 1).await;
    let reviewers = [reviewer_role(&["dba"])];
    let alice = identity("alice");
    let denied = context
        .review(
            request.name(),
            verdict(RequestState::Denied),
            actor(&alice, &reviewers),
        )
        .await
        .unwrap();
    assert_eq!(state(&denied), RequestState::Denied);
    assert!(
        spec(&denied).resolve_reason.contains("alice: looks fine"),
        "{}",
        spec(&denied).resolve_reason
    );
}

#[tokio::test]
async fn no_own_review_no_review_as_another_no_review_beyond_the_roles() {
    let f = fixture().await;
    let context = f.context();
    let request = carl_asks_dba(&context, 0, 0).await;
    let id = request.name();
    let dba_reviewers = [reviewer_role(&["dba"])];
    let carl = identity("carl");
    let own = context
        .review(
            id,
            verdict(RequestState::Approved),
            actor(&carl, &dba_reviewers),
        )
        .await
        .unwrap_err();
    assert!(
        own.to_string()
            .contains("`carl` may not review its own access request"),
        "{own}"
    );
    let alice = identity("alice");
    let mut as_bob = verdict(RequestState::Approved);
    as_bob.author = "bob".into();
    let err = context
        .review(id, as_bob, actor(&alice, &dba_reviewers))
        .await
        .unwrap_err();
    assert!(matches!(err, AccessRequestError::NotAuthor { .. }), "{err}");
    assert!(err.to_string().contains("may not review as `bob`"), "{err}");
    let web_reviewers = [reviewer_role(&["web"])];
    let err = context
        .review(
            id,
            verdict(RequestState::Approved),
            actor(&alice, &web_reviewers),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, AccessRequestError::MayNotReview { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains(&format!("`alice` may not review access request `{id}`")),
        "{err}"
    );
    let stored = context.requests.get(id).await.unwrap();
    assert!(spec(&stored).reviews.is_empty());
}
