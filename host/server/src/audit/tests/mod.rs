//! Tests of the audit log against the in-memory store, and what they share: a log over a
//! store the test can reach behind the log's back, to alter, remove and move events as an
//! attacker with access to the store would.

mod chain;
mod ingest;
mod search;
mod verify;

use std::sync::Arc;
use std::time::SystemTime;

use portcullis_store::{Backend, MemoryBackend};
use serde_json::{json, Value};

use super::record::{self, Envelope};
use super::{AuditEvent, AuditLog, Query, PREFIX};

/// A log over a fresh in-memory store, and the store.
fn log() -> (Arc<MemoryBackend>, AuditLog) {
    let backend = Arc::new(MemoryBackend::new());
    let log = AuditLog::new(backend.clone());
    (backend, log)
}

/// Emits `n` events `test` with fields `{"n": i}` one by one (one batch each).
async fn emit_n(log: &AuditLog, n: u64) {
    for i in 0..n {
        log.emit("test", "alice", json!({ "n": i })).await;
    }
}

/// Every event, oldest first.
async fn all(log: &AuditLog) -> Vec<AuditEvent> {
    let query = Query {
        since: None,
        limit: super::MAX_LIMIT,
        ..Query::default()
    };
    log.search(&query).await.unwrap().0
}

/// The store key of event `id`.
fn key(id: &str) -> Vec<u8> {
    format!("{PREFIX}{id}").into_bytes()
}

/// The envelope stored under event `id`.
async fn envelope(backend: &MemoryBackend, id: &str) -> Envelope {
    let item = backend.get(&key(id)).await.unwrap().unwrap();
    serde_json::from_slice(&item.value).unwrap()
}

/// Stores `envelope` under event `id`, keeping the item's expiry.
async fn store(backend: &MemoryBackend, id: &str, envelope: &Envelope) {
    let expires = backend.get(&key(id)).await.unwrap().and_then(|i| i.expires);
    let value = serde_json::to_vec(envelope).unwrap();
    backend.put(&key(id), value, expires).await.unwrap();
}

/// Changes the body of event `id` with `edit`, leaving its digest as it was.
async fn alter(backend: &MemoryBackend, id: &str, edit: impl FnOnce(&mut Value)) {
    let mut envelope = envelope(backend, id).await;
    let mut body: Value = serde_json::from_str(&envelope.body).unwrap();
    edit(&mut body);
    envelope.body = body.to_string();
    store(backend, id, &envelope).await;
}

/// Changes the body of event `id` with `edit` and recomputes its digest, as an attacker who
/// knows the format would.
async fn alter_and_rehash(backend: &MemoryBackend, id: &str, edit: impl FnOnce(&mut Value)) {
    let mut envelope = envelope(backend, id).await;
    let mut body: Value = serde_json::from_str(&envelope.body).unwrap();
    edit(&mut body);
    envelope.body = body.to_string();
    let prev = body["prev"].as_str().unwrap().to_owned();
    envelope.digest = record::digest(&prev, envelope.body.as_bytes());
    store(backend, id, &envelope).await;
}

/// Verifies the whole log now.
async fn verify(log: &AuditLog) -> super::verify::Report {
    log.verify(None, SystemTime::now()).await.unwrap()
}
