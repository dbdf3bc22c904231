//! Tests of the create workflow against the in-memory store.
#![allow(clippy::unwrap_used)]
use std::collections::BTreeMap;

use portcullis_api::services::RequestState;
use portcullis_api::wrappers::StringValues;
use serde_json::Value;

use super::*;
use crate::access_requests::testing::{actor, asked, events, fixture, identity, requester_role};
use crate::access_requests::{state, KIND_ACCESS_REQUEST};
use crate::resources::ResourceError;

#[tokio::test]
async fn requested_roles_must_exist_and_be_requestable() {
    let f = fixture().await;
    let context = f.context();
    let carl = identity("carl");
    let roles = [requester_role(&["dba"], 0, 0)];
    let err = context
        .create(asked("carl", &["ghost"]), actor(&carl, &roles), Value::Null)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AccessRequestError::UnknownRole { role } if role == "ghost"),
        "{err}"
    );
    assert_eq!(err.to_string(), "role `ghost` does not exist");
    let err = context
        .create(asked("carl", &["web"]), actor(&carl, &roles), Value::Null)
        .await
        .unwrap_err();
    assert!(
        matches!(err, AccessRequestError::MayNotRequest { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("`carl` may not request role `web`"),
        "{err}"
    );
    assert!(context.requests.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_thresholds_of_the_requesters_roles_are_recorded() {
    let f = fixture().await;
    let carl = identity("carl");
    let roles = [requester_role(&["dba"], 2, 1)];
    let stored = f
        .context()
        .create(asked("carl", &["dba"]), actor(&carl, &roles), Value::Null)
        .await
        .unwrap();
    let s = spec(&stored);
    assert_eq!(state(&stored), RequestState::Pending);
    assert_eq!(s.user, "carl");
    assert_eq!(s.thresholds.len(), 1);
    assert_eq!(s.thresholds[0].role, "dba");
    assert_eq!(s.thresholds[0].thresholds[0].approve, 2);
    assert_eq!(s.thresholds[0].thresholds[0].deny, 1);
    let found = f.state.access_requests.get(stored.name()).await.unwrap();
    assert_eq!(spec(&found).thresholds, s.thresholds);
    assert_eq!(events(&f).await, [crate::audit::ACCESS_REQUEST_CREATE]);
}

#[tokio::test]
async fn annotations_are_bounded() {
    let f = fixture().await;
    let carl = identity("carl");
    let roles = [requester_role(&["dba"], 0, 0)];
    let values = |n: usize| StringValues {
        values: (0..n).map(|i| i.to_string()).collect(),
    };
    let too_many: BTreeMap<_, _> = (0..=MAX_ANNOTATIONS)
        .map(|i| (format!("a{i}"), values(1)))
        .collect();
    let cases = [
        (too_many, "has 65 entries (at most 64)"),
        (
            BTreeMap::from([(" ".to_owned(), values(1))]),
            "has an empty name",
        ),
        (
            BTreeMap::from([("ticket".to_owned(), values(MAX_ANNOTATIONS + 1))]),
            "`ticket` has 65 values",
        ),
    ];
    for (annotations, why) in cases {
        let mut given = asked("carl", &["dba"]);
        given.spec.as_mut().unwrap().system_annotations = annotations;
        let err = f
            .context()
            .create(given, actor(&carl, &roles), Value::Null)
            .await
            .unwrap_err();
        assert!(matches!(err, AccessRequestError::Invalid(_)), "{err}");
        assert!(err.to_string().contains(why), "{err}");
    }
    let mut given = asked("carl", &["dba"]);
    let fine = BTreeMap::from([("ticket".to_owned(), values(MAX_ANNOTATIONS))]);
    given.spec.as_mut().unwrap().system_annotations = fine.clone();
    let stored = f
        .context()
        .create(given, actor(&carl, &roles), Value::Null)
        .await
        .unwrap();
    assert_eq!(spec(&stored).system_annotations, fine);
}

#[tokio::test]
async fn a_client_may_choose_a_uuid() {
    let f = fixture().await;
    let carl = identity("carl");
    let roles = [requester_role(&["dba"], 0, 0)];
    let id = uuid::Uuid::new_v4().to_string();
    let mut given = asked("carl", &["dba"]);
    given.metadata_mut().name = id.clone();
    let stored = f
        .context()
        .create(given.clone(), actor(&carl, &roles), Value::Null)
        .await
        .unwrap();
    assert_eq!(stored.name(), id);
    assert_eq!(stored.kind, KIND_ACCESS_REQUEST);
    // The same ID twice is refused, by the store.
    let again = f
        .context()
        .create(given, actor(&carl, &roles), Value::Null)
        .await
        .unwrap_err();
    assert!(
        matches!(
            again,
            AccessRequestError::Resource(ResourceError::AlreadyExists { .. })
        ),
        "{again}"
    );
    let mut given = asked("carl", &["dba"]);
    given.metadata_mut().name = "ticket-42".into();
    let err = f
        .context()
        .create(given, actor(&carl, &roles), Value::Null)
        .await
        .unwrap_err();
    assert!(matches!(err, AccessRequestError::NotAUuid { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("access request ID `ticket-42` is not a UUID"),
        "{err}"
    );
}
