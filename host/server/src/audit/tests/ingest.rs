//! Ingestion: the receive time and the caller's identity are recorded whatever the message
//! says, hosts report on any user and users only on themselves, and malformed or oversized
//! events are refused without storing anything.

use std::time::{Duration, SystemTime};

use portcullis_api::events::OneOf;
use portcullis_ca::Identity;
use portcullis_store::Backend;
use serde_json::json;

use super::{all, log, verify};
use crate::audit::ingest::{MAX_EVENT_BYTES, OCCURRED};
use crate::audit::AuditError;

const CLUSTER: &str = "example";

fn host(name: &str, role: &str) -> Identity {
    Identity {
        system_roles: vec![role.into()],
        ..Identity::new(name, vec![])
    }
}

fn user(name: &str) -> Identity {
    Identity::new(name, vec!["emitter".into()])
}

fn event(kind: &str, user: &str, fields: &str) -> OneOf {
    OneOf {
        r#type: kind.into(),
        user: user.into(),
        fields: fields.into(),
        ..OneOf::default()
    }
}

#[tokio::test]
async fn a_host_reports_on_a_user_with_its_identity_and_the_receive_time_recorded() {
    let (_, log) = log();
    let claimed = SystemTime::now() - Duration::from_secs(3600);
    let sent = OneOf {
        r#type: "session.start".into(),
        code: "T2000I".into(),
        time: Some(claimed.into()),
        cluster_name: CLUSTER.into(),
        user: "alice".into(),
        // The message has no say over the emitter, even where the fields mention one.
        fields: r#"{"sid": "s-1", "login": "root", "emitter": "auth", "size": 1.50}"#.into(),
        index: 0,
    };
    let before = SystemTime::now();
    let stored = log
        .ingest(&host("node-1", "Node"), CLUSTER, &sent)
        .await
        .unwrap();
    let after = SystemTime::now();

    let found = all(&log).await;
    assert_eq!(found, std::slice::from_ref(&stored));
    assert_eq!(stored.event, "session.start");
    assert_eq!(stored.code, "T2000I");
    assert_eq!(stored.user, "alice");
    assert_eq!(stored.emitter, "node-1");
    assert_eq!(stored.chain, log.chain());
    let time = humantime::parse_rfc3339(&stored.time).unwrap();
    assert!(before <= time && time <= after, "the server's receive time");
    assert_eq!(
        stored.fields[OCCURRED],
        json!(humantime::format_rfc3339_nanos(claimed).to_string()),
        "the emitter's time is kept as its claim"
    );
    assert_eq!(stored.fields["emitter"], "auth");
    assert_eq!(stored.fields["sid"], "s-1");

    // Every kind of host may name any user, or none.
    for role in ["Proxy", "App", "Kube"] {
        let sent = event("app.session.start", "bob", "");
        let stored = log.ingest(&host("h", role), CLUSTER, &sent).await.unwrap();
        assert_eq!(
            (stored.user.as_str(), stored.emitter.as_str()),
            ("bob", "h")
        );
    }
    let about_nobody = log
        .ingest(
            &host("node-1", "Node"),
            CLUSTER,
            &event("node.boot", "", ""),
        )
        .await
        .unwrap();
    assert_eq!(about_nobody.user, "");
    assert_eq!(about_nobody.fields, json!({}));
    assert_eq!(verify(&log).await.problems, []);
}

#[tokio::test]
async fn a_user_emits_for_itself_only() {
    let (_, log) = log();
    let carol = user("carol");
    let named = log
        .ingest(
            &carol,
            CLUSTER,
            &event("app.custom", "carol", r#"{"x": 1}"#),
        )
        .await
        .unwrap();
    assert_eq!(
        (named.user.as_str(), named.emitter.as_str()),
        ("carol", "carol")
    );
    let unnamed = log
        .ingest(&carol, CLUSTER, &event("app.custom", "", ""))
        .await
        .unwrap();
    assert_eq!(unnamed.user, "carol", "a user's event is its own");

    let forged = log
        .ingest(&carol, CLUSTER, &event("app.custom", "alice", ""))
        .await
        .unwrap_err();
    assert!(matches!(forged, AuditError::OnBehalf { .. }), "{forged:?}");
    assert_eq!(
        forged.to_string(),
        "`carol` cannot emit an event on behalf of another user (`alice`): only hosts may name other users"
    );
    assert_eq!(all(&log).await.len(), 2, "the refused event is not stored");
}

#[tokio::test]
async fn malformed_and_oversized_events_are_refused_and_store_nothing() {
    let (backend, log) = log();
    let node = host("node-1", "Node");
    let big = format!(r#"{{"data": "{}"}}"#, "x".repeat(MAX_EVENT_BYTES));
    let cases = [
        (event("", "", ""), "the event has no type"),
        (
            event("has space", "", ""),
            "event type `has space` is not a name",
        ),
        (event(".dot", "", ""), "is not a name"),
        (event(&"t".repeat(200), "", ""), "longer than 128 bytes"),
        (event("x", "", "[1, 2]"), "fields must be a JSON object"),
        (event("x", "", "{nope"), "fields are not JSON"),
        (event("x", "a/b", ""), "invalid user name `a/b`"),
        (
            event("x", "", r#"{"occurred": "yesterday"}"#),
            "may not hold `occurred`",
        ),
        (
            OneOf {
                cluster_name: "elsewhere".into(),
                ..event("x", "", "")
            },
            "the event is for cluster `elsewhere`, this is cluster `example`",
        ),
        (
            OneOf {
                code: "T 1".into(),
                ..event("x", "", "")
            },
            "event code `T 1` may only hold",
        ),
        (event("x", "", &big), "more than the limit of 65536 bytes"),
    ];
    for (sent, expected) in cases {
        let refused = log.ingest(&node, CLUSTER, &sent).await.unwrap_err();
        assert!(
            refused.to_string().contains(expected),
            "{expected:?} in {refused}"
        );
    }
    assert!(all(&log).await.is_empty());
    let heads = backend
        .range(super::super::chain::HEADS.as_bytes(), None, 0)
        .await
        .unwrap();
    assert!(heads.items.is_empty(), "not even a chain was started");

    // Just under the limit is fine.
    let fits = format!(r#"{{"data": "{}"}}"#, "x".repeat(MAX_EVENT_BYTES - 100));
    log.ingest(&node, CLUSTER, &event("x", "", &fits))
        .await
        .unwrap();
}
