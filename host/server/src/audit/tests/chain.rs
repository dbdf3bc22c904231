//! The chain: every event links to the one before it, the head record follows the newest,
//! concurrent emitters keep one contiguous chain, and a failed write moves nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use portcullis_store::{Backend, Item, MemoryBackend, NewItem, Page, Subscription};
use serde_json::json;

use super::super::chain::{head_key, ChainHead};
use super::super::record::{self, Stored};
use super::{all, emit_n, envelope, log, verify};
use crate::audit::AuditLog;

#[tokio::test]
async fn each_event_holds_the_digest_of_the_one_before_and_the_head_follows_the_newest() {
    let (backend, log) = log();
    emit_n(&log, 3).await;
    log.emit_all(vec![
        ("pair", "bob".into(), json!({"half": 1})),
        ("pair", "bob".into(), json!({"half": 2})),
    ])
    .await;

    let events = all(&log).await;
    assert_eq!(events.len(), 5);
    let mut prev = String::new();
    for (seq, event) in events.iter().enumerate() {
        assert_eq!(event.chain, log.chain());
        assert_eq!(event.seq, seq as u64);
        assert_eq!(event.emitter, "", "the server's own events have no emitter");
        assert!(event.id.contains(log.chain()), "{}", event.id);
        // The digest covers the previous digest and the body exactly as stored.
        let stored = envelope(&backend, &event.id).await;
        assert_eq!(stored.digest, event.digest);
        assert_eq!(record::digest(&prev, stored.body.as_bytes()), event.digest);
        let Ok(Stored::Chained { body, .. }) =
            record::decode(&serde_json::to_vec(&stored).unwrap())
        else {
            panic!("a chained record");
        };
        assert_eq!(body.prev, prev);
        prev = event.digest.clone();
    }
    assert_eq!(events[3].time, events[4].time, "one batch, one time");

    let head = backend.get(&head_key(log.chain())).await.unwrap().unwrap();
    let head: ChainHead = serde_json::from_slice(&head.value).unwrap();
    assert_eq!(head.seq, 4);
    assert_eq!(head.digest, events[4].digest);
    assert_eq!(head.last_id, events[4].id);
    assert_eq!(head.started, events[0].time);
    assert!(head.started <= events[4].time);
    assert!(
        backend
            .get(&head_key(log.chain()))
            .await
            .unwrap()
            .unwrap()
            .expires
            >= backend
                .get(&super::key(&events[4].id))
                .await
                .unwrap()
                .unwrap()
                .expires,
        "the head record lives as long as the newest event"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_emitters_keep_one_contiguous_chain_in_key_order() {
    let (_, log) = log();
    let log = Arc::new(log);
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move {
                log.emit_all(vec![
                    ("first", format!("u{i}"), json!({"i": i})),
                    ("second", format!("u{i}"), json!({"i": i})),
                ])
                .await;
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let events = all(&log).await;
    assert_eq!(events.len(), 128);
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (0..128).collect::<Vec<_>>(),
        "key order is chain order"
    );
    for pair in events.chunks(2) {
        // An emit_all's events stay together, in order.
        assert_eq!(
            (pair[0].event.as_str(), pair[1].event.as_str()),
            ("first", "second")
        );
        assert_eq!(pair[0].user, pair[1].user);
    }
    let report = verify(&log).await;
    assert_eq!((report.checked, report.chains), (128, 1));
    assert_eq!(report.problems, []);
}

#[tokio::test]
async fn every_server_process_writes_a_chain_of_its_own() {
    let (backend, first) = log();
    emit_n(&first, 2).await;
    let second = AuditLog::new(backend.clone());
    emit_n(&second, 2).await;
    emit_n(&first, 1).await;
    assert_ne!(first.chain(), second.chain());

    let events = all(&second).await;
    let chains: Vec<(&str, u64)> = events.iter().map(|e| (e.chain.as_str(), e.seq)).collect();
    assert_eq!(
        chains,
        [
            (first.chain(), 0),
            (first.chain(), 1),
            (second.chain(), 0),
            (second.chain(), 1),
            (first.chain(), 2)
        ]
    );
    let report = verify(&second).await;
    assert_eq!((report.checked, report.chains), (5, 2));
    assert_eq!(report.problems, []);
}

/// A store whose batch writes fail while `failing` is set.
struct Flaky {
    inner: MemoryBackend,
    failing: AtomicBool,
}

#[async_trait::async_trait]
impl Backend for Flaky {
    async fn get(&self, key: &[u8]) -> portcullis_store::Result<Option<Item>> {
        self.inner.get(key).await
    }
    async fn put(
        &self,
        key: &[u8],
        value: Vec<u8>,
        expires: Option<SystemTime>,
    ) -> portcullis_store::Result<Item> {
        self.inner.put(key, value, expires).await
    }
    async fn create(
        &self,
        key: &[u8],
        value: Vec<u8>,
        expires: Option<SystemTime>,
    ) -> portcullis_store::Result<Item> {
        self.inner.create(key, value, expires).await
    }
    async fn create_all(&self, items: Vec<NewItem>) -> portcullis_store::Result<Vec<Item>> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(portcullis_store::Error::FeedInterrupted {
                reason: "the test says so".into(),
            });
        }
        self.inner.create_all(items).await
    }
    async fn compare_and_swap(
        &self,
        key: &[u8],
        expected_revision: u64,
        value: Vec<u8>,
        expires: Option<SystemTime>,
    ) -> portcullis_store::Result<Item> {
        self.inner
            .compare_and_swap(key, expected_revision, value, expires)
            .await
    }
    async fn delete(&self, key: &[u8]) -> portcullis_store::Result<u64> {
        self.inner.delete(key).await
    }
    async fn delete_if(&self, key: &[u8], expected_revision: u64) -> portcullis_store::Result<u64> {
        self.inner.delete_if(key, expected_revision).await
    }
    async fn range(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> portcullis_store::Result<Page> {
        self.inner.range(prefix, start_after, limit).await
    }
    fn subscribe(&self) -> Subscription {
        self.inner.subscribe()
    }
    fn current_revision(&self) -> u64 {
        self.inner.current_revision()
    }
    async fn sweep_expired(&self) -> portcullis_store::Result<usize> {
        self.inner.sweep_expired().await
    }
}

#[tokio::test]
async fn a_failed_write_stores_nothing_and_the_chain_goes_on_where_it_stood() {
    let flaky = Arc::new(Flaky {
        inner: MemoryBackend::new(),
        failing: AtomicBool::new(true),
    });
    let log = AuditLog::new(flaky.clone());
    let event = portcullis_api::events::OneOf {
        r#type: "session.start".into(),
        ..Default::default()
    };
    let host = portcullis_ca::Identity {
        system_roles: vec!["Node".into()],
        ..portcullis_ca::Identity::new("node-1", vec![])
    };
    // Before the first event: not even the head record is written.
    let refused = log.ingest(&host, "example", &event).await.unwrap_err();
    assert!(
        refused.to_string().contains("the test says so"),
        "{refused}"
    );
    log.emit("lost", "alice", json!({})).await; // logged, not returned
    assert!(flaky.get(&head_key(log.chain())).await.unwrap().is_none());
    assert!(all(&log).await.is_empty());

    flaky.failing.store(false, Ordering::SeqCst);
    emit_n(&log, 2).await;
    flaky.failing.store(true, Ordering::SeqCst);
    log.ingest(&host, "example", &event).await.unwrap_err();
    flaky.failing.store(false, Ordering::SeqCst);
    let stored = log.ingest(&host, "example", &event).await.unwrap();
    assert_eq!(stored.seq, 2, "failed writes took no place in the chain");

    let report = verify(&log).await;
    assert_eq!((report.checked, report.chains), (3, 1));
    assert_eq!(report.problems, []);
}
