//! A store that records the latency of every operation of the store it wraps.

use std::future::Future;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use portcullis_store::{Backend, Error, Item, NewItem, Page, Result, Subscription, Swap};

use super::metrics;

/// A [`Backend`] that delegates to another and records each operation's latency and
/// result in `portcullis_store_operation_duration_seconds`. `subscribe`,
/// `current_revision` and `get_now` are passed through unrecorded.
pub struct MeteredBackend {
    inner: Arc<dyn Backend>,
}

impl MeteredBackend {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Backend>) -> Self {
        Self { inner }
    }
}

/// Runs `operation`, recording it as `op`. Answers that are part of the API (not found,
/// already exists, revision mismatch) count as ok.
pub(super) async fn timed<T>(
    op: &'static str,
    operation: impl Future<Output = Result<T>>,
) -> Result<T> {
    let started = Instant::now();
    let result = operation.await;
    let ok = match &result {
        Ok(_) => true,
        Err(e) => matches!(
            e,
            Error::NotFound { .. } | Error::AlreadyExists { .. } | Error::RevisionMismatch { .. }
        ),
    };
    metrics().store_op(op, ok, started.elapsed());
    result
}

#[tonic::async_trait]
impl Backend for MeteredBackend {
    async fn get(&self, key: &[u8]) -> Result<Option<Item>> {
        timed("get", self.inner.get(key)).await
    }

    fn get_now(&self, key: &[u8]) -> Option<Result<Option<Item>>> {
        self.inner.get_now(key)
    }

    async fn put(&self, key: &[u8], value: Vec<u8>, expires: Option<SystemTime>) -> Result<Item> {
        timed("put", self.inner.put(key, value, expires)).await
    }

    async fn create(
        &self,
        key: &[u8],
        value: Vec<u8>,
        expires: Option<SystemTime>,
    ) -> Result<Item> {
        timed("create", self.inner.create(key, value, expires)).await
    }

    async fn create_all(&self, items: Vec<NewItem>) -> Result<Vec<Item>> {
        timed("create_all", self.inner.create_all(items)).await
    }

    async fn compare_and_swap(
        &self,
        key: &[u8],
        expected_revision: u64,
        value: Vec<u8>,
        expires: Option<SystemTime>,
    ) -> Result<Item> {
        let swap = self
            .inner
            .compare_and_swap(key, expected_revision, value, expires);
        timed("compare_and_swap", swap).await
    }

    async fn compare_and_swap_each(&self, swaps: Vec<Swap>) -> Result<Vec<Result<Item>>> {
        timed(
            "compare_and_swap_each",
            self.inner.compare_and_swap_each(swaps),
        )
        .await
    }

    async fn delete(&self, key: &[u8]) -> Result<u64> {
        timed("delete", self.inner.delete(key)).await
    }

    async fn delete_if(&self, key: &[u8], expected_revision: u64) -> Result<u64> {
        timed("delete_if", self.inner.delete_if(key, expected_revision)).await
    }

    async fn range(&self, prefix: &[u8], start_after: Option<&[u8]>, limit: usize) -> Result<Page> {
        timed("range", self.inner.range(prefix, start_after, limit)).await
    }

    fn subscribe(&self) -> Subscription {
        self.inner.subscribe()
    }

    fn current_revision(&self) -> u64 {
        self.inner.current_revision()
    }

    async fn sweep_expired(&self) -> Result<usize> {
        timed("sweep_expired", self.inner.sweep_expired()).await
    }
}
