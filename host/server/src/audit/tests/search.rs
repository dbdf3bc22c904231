//! Searching the log: order, filters, `since`, pages.

use super::super::*;
use portcullis_store::MemoryBackend;
use serde_json::json;

#[tokio::test]
async fn events_are_kept_in_order_and_searched_by_type_user_time_and_page() {
    let log = AuditLog::new(Arc::new(MemoryBackend::new()));
    let before = SystemTime::now();
    log.emit(RULE_ACTION, "alice", json!({"n": 1})).await;
    log.emit(WHERE_FAILED, "bob", json!({"n": 2})).await;
    log.emit(RULE_ACTION, "bob", json!({"n": 3})).await;

    let log = &log;
    let all = |q: Query| async move { log.search(&Query { limit: 10, ..q }).await.unwrap() };
    let (events, next) = all(Query::default()).await;
    assert_eq!(next, None);
    let ns: Vec<_> = events.iter().map(|e| e.fields["n"].clone()).collect();
    assert_eq!(ns, [json!(1), json!(2), json!(3)]);
    assert!(events.windows(2).all(|w| w[0].id < w[1].id));
    assert!(humantime::parse_rfc3339(&events[0].time).unwrap() >= before);

    let (by_type, _) = all(Query {
        event: Some(RULE_ACTION.into()),
        ..Query::default()
    })
    .await;
    assert_eq!(by_type.len(), 2);
    let (by_user, _) = all(Query {
        user: Some("bob".into()),
        ..Query::default()
    })
    .await;
    assert_eq!(by_user.len(), 2);
    let (later, _) = all(Query {
        since: Some(SystemTime::now() + Duration::from_secs(1)),
        ..Query::default()
    })
    .await;
    assert!(later.is_empty());
    let (from_first, _) = all(Query {
        since: humantime::parse_rfc3339(&events[1].time).ok(),
        ..Query::default()
    })
    .await;
    assert_eq!(
        from_first.len(),
        2,
        "an event exactly at `since` is included"
    );

    // Pages of one, continued with the id they end at.
    let (first, next) = log
        .search(&Query {
            limit: 1,
            ..Query::default()
        })
        .await
        .unwrap();
    assert_eq!(first, events[..1]);
    let (second, _) = log
        .search(&Query {
            limit: 1,
            start_after: next,
            ..Query::default()
        })
        .await
        .unwrap();
    assert_eq!(second, events[1..2]);
}
