//! Verification: an intact log passes; an altered, removed, moved or replayed event, a
//! removed chain tail, a removed head record and unreadable records are each named; the
//! start of a chain lost to retention is not.

use std::time::{Duration, SystemTime};

use portcullis_store::{Backend, MemoryBackend};
use serde_json::json;

use super::super::chain::{head_key, ChainHead};
use super::super::verify::{Problem, Report};
use super::super::RETENTION;
use super::{all, alter, alter_and_rehash, emit_n, envelope, key, log, store, verify};
use crate::audit::AuditLog;

/// The one problem `report` holds.
fn only(report: &Report) -> &Problem {
    assert_eq!(report.problems.len(), 1, "{report:#?}");
    &report.problems[0]
}

/// A log of five events `n` = 0..5, their ids, and the store.
async fn five() -> (std::sync::Arc<MemoryBackend>, AuditLog, Vec<String>) {
    let (backend, log) = log();
    emit_n(&log, 5).await;
    let ids = all(&log).await.into_iter().map(|e| e.id).collect();
    (backend, log, ids)
}

#[tokio::test]
async fn an_intact_log_passes() {
    let (_, log, _) = five().await;
    let report = verify(&log).await;
    assert_eq!(
        report,
        Report {
            checked: 5,
            chains: 1,
            problems: vec![]
        }
    );
    let empty = super::log().1;
    assert_eq!(verify(&empty).await, Report::default());
}

#[tokio::test]
async fn an_altered_event_is_named() {
    let (backend, log, ids) = five().await;
    alter(&backend, &ids[2], |body| body["fields"]["n"] = json!(99)).await;
    assert_eq!(all(&log).await[2].fields["n"], 99, "searches do not check");
    let problem = only(&verify(&log).await).clone();
    assert_eq!(problem.event_id, ids[2]);
    assert_eq!(problem.chain, log.chain());
    assert!(problem.problem.starts_with("altered"), "{problem:?}");

    // Altering only the digest is the same.
    let (backend, log, ids) = five().await;
    let mut stored = envelope(&backend, &ids[0]).await;
    stored.digest = "00".repeat(32);
    store(&backend, &ids[0], &stored).await;
    let problem = only(&verify(&log).await).clone();
    assert_eq!(problem.event_id, ids[0]);
    assert!(problem.problem.starts_with("altered"), "{problem:?}");
}

#[tokio::test]
async fn an_altered_event_with_a_recomputed_digest_is_named_by_the_next_link() {
    let (backend, log, ids) = five().await;
    alter_and_rehash(&backend, &ids[1], |body| body["user"] = json!("mallory")).await;
    let problem = only(&verify(&log).await).clone();
    assert_eq!(problem.event_id, ids[1]);
    assert!(problem.problem.starts_with("altered"), "{problem:?}");
    assert!(problem.problem.contains(&ids[2]), "{problem:?}");

    // The newest event has no next one: its head record holds its digest.
    let (backend, log, ids) = five().await;
    alter_and_rehash(&backend, &ids[4], |body| body["user"] = json!("mallory")).await;
    let problem = only(&verify(&log).await).clone();
    assert_eq!(problem.event_id, ids[4]);
    assert!(problem.problem.contains("head record"), "{problem:?}");
}

#[tokio::test]
async fn a_removed_event_is_named_by_the_one_after_it() {
    let (backend, log, ids) = five().await;
    backend.delete(&key(&ids[2])).await.unwrap();
    let report = verify(&log).await;
    assert_eq!(report.checked, 4);
    let problem = only(&report);
    assert_eq!(problem.event_id, ids[3]);
    assert!(
        problem.problem.starts_with("removed: events 2 to 2"),
        "{problem:?}"
    );
}

#[tokio::test]
async fn removed_newest_events_are_named_from_the_head_record() {
    let (backend, log, ids) = five().await;
    backend.delete(&key(&ids[4])).await.unwrap();
    backend.delete(&key(&ids[3])).await.unwrap();
    let problem = only(&verify(&log).await).clone();
    assert_eq!(problem.event_id, ids[4]);
    assert!(problem.problem.starts_with("removed"), "{problem:?}");
    assert!(problem.problem.contains(&ids[2]), "{problem:?}");

    // Every event of the chain.
    for id in &ids[..3] {
        backend.delete(&key(id)).await.unwrap();
    }
    let report = verify(&log).await;
    assert_eq!((report.checked, report.chains), (0, 0));
    let problem = only(&report);
    assert_eq!(problem.event_id, ids[4]);
    assert!(
        problem
            .problem
            .contains("every event of the chain is missing"),
        "{problem:?}"
    );
}

#[tokio::test]
async fn a_removed_head_record_is_named() {
    let (backend, log, ids) = five().await;
    backend.delete(&head_key(log.chain())).await.unwrap();
    let problem = only(&verify(&log).await).clone();
    assert_eq!(problem.event_id, ids[4]);
    assert!(problem.problem.contains("head record"), "{problem:?}");
}

#[tokio::test]
async fn moved_and_replayed_events_are_named() {
    // Two events swapped between their keys.
    let (backend, log, ids) = five().await;
    let (one, three) = (
        envelope(&backend, &ids[1]).await,
        envelope(&backend, &ids[3]).await,
    );
    store(&backend, &ids[1], &three).await;
    store(&backend, &ids[3], &one).await;
    let problem = only(&verify(&log).await).clone();
    assert_eq!(problem.event_id, ids[1]);
    assert!(problem.problem.starts_with("moved"), "{problem:?}");

    // An old event copied to a later key, its id and digest made to fit: out of order.
    let (backend, log, ids) = five().await;
    let later = format!("{}9", ids[4]);
    let mut copy = envelope(&backend, &ids[1]).await;
    let mut body: serde_json::Value = serde_json::from_str(&copy.body).unwrap();
    body["id"] = json!(later);
    copy.body = body.to_string();
    copy.digest =
        super::super::record::digest(body["prev"].as_str().unwrap(), copy.body.as_bytes());
    let value = serde_json::to_vec(&copy).unwrap();
    backend.put(&key(&later), value, None).await.unwrap();
    let problem = only(&verify(&log).await).clone();
    assert_eq!(problem.event_id, later);
    assert!(
        problem
            .problem
            .starts_with("reordered: it is seq 1 of its chain but comes after seq 4"),
        "{problem:?}"
    );
}

#[tokio::test]
async fn the_first_events_of_a_young_chain_must_be_there_but_retention_may_take_an_old_chains() {
    let (backend, log, ids) = five().await;
    backend.delete(&key(&ids[0])).await.unwrap();
    backend.delete(&key(&ids[1])).await.unwrap();
    let problem = only(&verify(&log).await).clone();
    assert_eq!(problem.event_id, ids[2]);
    assert!(problem.problem.starts_with("removed"), "{problem:?}");

    // The same chain, started more than the retention ago: its first events expired.
    let head_item = backend.get(&head_key(log.chain())).await.unwrap().unwrap();
    let mut head: ChainHead = serde_json::from_slice(&head_item.value).unwrap();
    let long_ago = SystemTime::now() - RETENTION - Duration::from_secs(3600);
    head.started = humantime::format_rfc3339_nanos(long_ago).to_string();
    let value = serde_json::to_vec(&head).unwrap();
    backend
        .put(&head_key(log.chain()), value, head_item.expires)
        .await
        .unwrap();
    let report = verify(&log).await;
    assert_eq!(report.problems, []);
    assert_eq!(report.checked, 3);

    // With `since`, the first event in the range is the anchor.
    let (_, log, _) = five().await;
    let events = all(&log).await;
    let since = humantime::parse_rfc3339(&events[3].time).unwrap();
    let report = log.verify(Some(since), SystemTime::now()).await.unwrap();
    assert_eq!((report.checked, report.chains), (2, 1));
    assert_eq!(report.problems, []);
}

#[tokio::test]
async fn since_leaves_out_older_chains() {
    let (backend, old) = log();
    emit_n(&old, 2).await;
    let cut = SystemTime::now();
    let new = AuditLog::new(backend.clone());
    emit_n(&new, 2).await;
    // The old chain's events are out of range: their removal is not for this check.
    for event in all(&old).await.iter().filter(|e| e.chain == old.chain()) {
        backend.delete(&key(&event.id)).await.unwrap();
    }
    let report = new.verify(Some(cut), SystemTime::now()).await.unwrap();
    assert_eq!(
        (report.checked, report.chains, report.problems.len()),
        (2, 1, 0)
    );
    assert_eq!(only(&verify(&new).await).chain, old.chain());
}

#[tokio::test]
async fn unreadable_and_unchained_records_are_named_by_key() {
    let (backend, log, ids) = five().await;
    let garbage = format!("{}1", ids[4]);
    backend
        .put(&key(&garbage), b"not json".to_vec(), None)
        .await
        .unwrap();
    let problem = only(&verify(&log).await).clone();
    assert_eq!(problem.event_id, garbage);
    assert!(problem.problem.starts_with("unreadable"), "{problem:?}");
    backend.delete(&key(&garbage)).await.unwrap();

    // An event in the format of before the chains: searches read it, verify names it.
    let old = json!({"id": "00000000000000000001-0000abcd-0000000000", "time": "1970-01-01T00:00:00Z",
        "event": "old", "user": "alice", "fields": {}});
    let old_key = key("00000000000000000001-0000abcd-0000000000");
    backend
        .put(&old_key, serde_json::to_vec(&old).unwrap(), None)
        .await
        .unwrap();
    let found = log
        .search(&crate::audit::Query {
            since: Some(SystemTime::UNIX_EPOCH),
            limit: 10,
            ..crate::audit::Query::default()
        })
        .await
        .unwrap()
        .0;
    assert_eq!(
        (found[0].event.as_str(), found[0].chain.as_str()),
        ("old", "")
    );
    let problem = only(&verify(&log).await).clone();
    assert_eq!(problem.event_id, "00000000000000000001-0000abcd-0000000000");
    assert!(problem.problem.starts_with("not chained"), "{problem:?}");
}
