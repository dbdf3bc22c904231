//! The embedded RocksDB backend, the server's default store.
//!
//! Layout: user items live in the default column family under their own keys
//! (any bytes), encoded as described in `record.rs`; the revision counter lives
//! in the `meta` column family and the expiry index in the `expiry` column
//! family, so `range` can never see either.
//!
//! Durability: a write that returned `Ok` is in the fsynced write-ahead log.
//! Writers are serialized by a mutex that covers the condition check, the
//! revision allocation, the write of the record and the new revision counter
//! in one `WriteBatch` (unsynced), and the publication of the event. After
//! releasing it, each writer waits for a WAL fsync that covers its revision;
//! concurrent writers share fsyncs (group commit). Events may therefore be
//! delivered to subscribers slightly before the write is durable.
//!
//! Faults: a full disk refuses writes with [`Error::DiskFull`](crate::Error::DiskFull)
//! while reads go on, and writes resume by themselves once space is freed (`space.rs`).
//! Opening reads every block with its checksum and compares the revision with a
//! watermark (`watermark.rs`), so a damaged store refuses to open with
//! [`Error::Damaged`](crate::Error::Damaged), naming the file, rather than serve wrong
//! data (`engine.rs`).

mod engine;
#[cfg(test)]
mod fault_tests;
mod inner;
pub(crate) mod record;
mod space;
#[cfg(test)]
mod tests;
mod watermark;

use std::{
    fmt,
    path::Path,
    sync::{atomic::AtomicU64, atomic::Ordering, Arc, Mutex, RwLock},
    time::SystemTime,
};

use self::inner::Inner;
use crate::{
    feed::Feed,
    ops::{Change, Condition},
    Backend, Item, NewItem, Page, Result, Subscription, Swap, DEFAULT_FEED_CAPACITY,
};

/// A [`Backend`] storing items in an embedded RocksDB database.
pub struct RocksBackend {
    inner: Arc<Inner>,
}

impl fmt::Debug for RocksBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RocksBackend")
            .field("path", &self.inner.path)
            .field("revision", &self.current_revision())
            .finish()
    }
}

impl RocksBackend {
    /// Opens (creating it and its parent directories if missing) the store in
    /// the directory `path`, with the default feed capacity. This blocks; call
    /// it at startup.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with_feed_capacity(path, DEFAULT_FEED_CAPACITY)
    }

    /// Like [`RocksBackend::open`], with a feed that buffers `capacity` events
    /// per subscriber before the subscriber lags.
    pub fn open_with_feed_capacity(path: &Path, capacity: usize) -> Result<Self> {
        let (db, opened) = engine::open_checked(path)?;
        let revision = opened.revision;
        let inner = Inner {
            db: RwLock::new(db),
            path: path.to_path_buf(),
            writer: Mutex::new(revision),
            written: AtomicU64::new(revision),
            synced: Mutex::new(revision),
            syncs: AtomicU64::new(0),
            feed: Feed::new(capacity),
            disk_full: Mutex::new(None),
        };
        Ok(RocksBackend {
            inner: Arc::new(inner),
        })
    }

    /// Salvages what is intact of a damaged store in the directory `path` with RocksDB's
    /// repair (the server must not be running). Writes held by the damaged files are lost.
    pub fn repair(path: &Path) -> Result<()> {
        engine::repair(path)
    }

    /// The directory of the store.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `op` on the blocking thread pool with the shared state.
    async fn blocking<T, F>(&self, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || op(&inner)).await?
    }

    async fn write(&self, key: &[u8], condition: Condition, change: Change) -> Result<Item> {
        let key = key.to_vec();
        self.blocking(move |inner| inner.write(key, condition, change))
            .await
    }
}

#[async_trait::async_trait]
impl Backend for RocksBackend {
    async fn get(&self, key: &[u8]) -> Result<Option<Item>> {
        // A point read is answered from the memtable or block cache in microseconds, far
        // less than a hop to the blocking pool and back (two thread wake-ups, ~30 µs on a
        // small VM), and it runs on every authorized RPC. Writes (which wait for an fsync),
        // scans and sweeps, whose cost grows with the data, stay on the blocking pool.
        self.inner.get(key)
    }

    fn get_now(&self, key: &[u8]) -> Option<Result<Option<Item>>> {
        Some(self.inner.get(key))
    }

    fn feed_is_synchronous(&self) -> bool {
        true
    }

    async fn create_all(&self, items: Vec<NewItem>) -> Result<Vec<Item>> {
        let ops = items
            .into_iter()
            .map(|n| {
                (
                    n.key,
                    Condition::Absent,
                    Change::Put {
                        value: n.value,
                        expires: n.expires,
                    },
                )
            })
            .collect();
        self.blocking(move |inner| inner.write_all(ops)).await
    }

    async fn put(&self, key: &[u8], value: Vec<u8>, expires: Option<SystemTime>) -> Result<Item> {
        self.write(key, Condition::Any, Change::Put { value, expires })
            .await
    }

    async fn create(
        &self,
        key: &[u8],
        value: Vec<u8>,
        expires: Option<SystemTime>,
    ) -> Result<Item> {
        self.write(key, Condition::Absent, Change::Put { value, expires })
            .await
    }

    async fn compare_and_swap(
        &self,
        key: &[u8],
        expected_revision: u64,
        value: Vec<u8>,
        expires: Option<SystemTime>,
    ) -> Result<Item> {
        let condition = Condition::Revision(expected_revision);
        self.write(key, condition, Change::Put { value, expires })
            .await
    }

    async fn compare_and_swap_each(&self, swaps: Vec<Swap>) -> Result<Vec<Result<Item>>> {
        let ops = swaps.into_iter().map(Swap::into_op).collect();
        self.blocking(move |inner| inner.write_each(ops)).await
    }

    async fn delete(&self, key: &[u8]) -> Result<u64> {
        let item = self.write(key, Condition::Present, Change::Delete).await?;
        Ok(item.revision)
    }

    async fn delete_if(&self, key: &[u8], expected_revision: u64) -> Result<u64> {
        let condition = Condition::Revision(expected_revision);
        Ok(self.write(key, condition, Change::Delete).await?.revision)
    }

    async fn range(&self, prefix: &[u8], start_after: Option<&[u8]>, limit: usize) -> Result<Page> {
        let prefix = prefix.to_vec();
        let start_after = start_after.map(<[u8]>::to_vec);
        self.blocking(move |inner| inner.range(&prefix, start_after.as_deref(), limit))
            .await
    }

    fn subscribe(&self) -> Subscription {
        self.inner.feed.subscribe(|| self.current_revision())
    }

    fn current_revision(&self) -> u64 {
        self.inner.written.load(Ordering::SeqCst)
    }

    async fn sweep_expired(&self) -> Result<usize> {
        self.blocking(Inner::sweep).await
    }
}
