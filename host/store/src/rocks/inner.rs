//! The blocking half of the RocksDB backend: everything here runs on tokio's
//! blocking thread pool.

use std::{
    path::PathBuf,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard,
    },
};

use rocksdb::{ColumnFamily, Direction, IteratorMode, ReadOptions, WriteBatch, DB};

use super::space::DiskFull;

use super::record::{
    encode_revision, index_end, index_key, nanos_from_time, split_index_key, time_from_nanos,
    Record,
};
use crate::{
    feed::Feed,
    ops::{prefix_end, range_start, Change, Condition, PageBuilder},
    Error, Event, Item, Page, Result,
};

/// The column family of the revision counter.
pub(super) const META_CF: &str = "meta";
/// The column family of the expiry index.
pub(super) const EXPIRY_CF: &str = "expiry";
/// The key of the revision counter in [`META_CF`].
pub(super) const REVISION_KEY: &[u8] = b"revision";

/// How many expired items one sweep batch deletes while holding the write lock.
pub(super) const SWEEP_CHUNK: usize = 256;

/// The shared state of a [`RocksBackend`](super::RocksBackend).
pub(super) struct Inner {
    /// The database. Replaced (under the write lock) only when the store recovers from a
    /// full disk; everything else takes the read lock.
    pub(super) db: RwLock<DB>,
    pub(super) path: PathBuf,
    /// Serializes writers; holds the last allocated (and written) revision.
    pub(super) writer: Mutex<u64>,
    /// The last revision written to RocksDB, possibly not yet fsynced. Updated
    /// before the write's event is published.
    pub(super) written: AtomicU64,
    /// Serializes WAL syncs; holds the revision the WAL is known to be synced
    /// through.
    pub(super) synced: Mutex<u64>,
    /// How many WAL fsyncs were done (for tests and diagnostics).
    pub(super) syncs: AtomicU64,
    pub(super) feed: Feed,
    /// Set while the disk is full: writes are refused until space is freed.
    pub(super) disk_full: Mutex<Option<DiskFull>>,
}

fn now_nanos() -> i64 {
    nanos_from_time(Some(portcullis_clock::now()))
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Guarded values are only updated after the operation succeeded, so they
    // are consistent even if a holder panicked.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The column family `name` of `db`.
pub(super) fn cf<'a>(db: &'a DB, name: &str) -> Result<&'a ColumnFamily> {
    db.cf_handle(name)
        .ok_or_else(|| Error::Storage(format!("missing column family `{name}`").into()))
}

fn data(db: &DB) -> Result<&ColumnFamily> {
    cf(db, rocksdb::DEFAULT_COLUMN_FAMILY_NAME)
}

/// Reads and decodes the record under `key`, expired or not.
fn read_record(db: &DB, key: &[u8]) -> Result<Option<Record>> {
    match db.get_pinned_cf(data(db)?, key)? {
        Some(bytes) => Record::decode(key, &bytes).map(Some),
        None => Ok(None),
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // A clean close: everything written is durable. The revision and the records
        // read now, together, are what the next open must find.
        let db = self.db();
        let found = super::engine::revision(&db, &self.path).and_then(|revision| {
            let records = super::engine::verify(&db, &self.path)?;
            Ok(super::watermark::Mark {
                revision,
                records: Some(records),
            })
        });
        let mark = found.unwrap_or(super::watermark::Mark {
            revision: *lock(&self.synced),
            records: None,
        });
        super::watermark::record(&self.path, mark);
    }
}

impl Inner {
    /// The database, for reading (or writing under the writer lock).
    pub(super) fn db(&self) -> RwLockReadGuard<'_, DB> {
        self.db.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn get(&self, key: &[u8]) -> Result<Option<Item>> {
        let now = now_nanos();
        Ok(read_record(&self.db(), key)?
            .filter(|record| !record.is_expired(now))
            .map(|record| record.into_item(key.to_vec())))
    }

    pub(super) fn range(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Page> {
        let (start, exclusive) = range_start(prefix, start_after);
        let mut options = ReadOptions::default();
        if let Some(end) = prefix_end(prefix) {
            options.set_iterate_upper_bound(end);
        }
        let mode = IteratorMode::From(start, Direction::Forward);
        let now = now_nanos();
        let mut page = PageBuilder::new(limit);
        let db = self.db();
        for entry in db.iterator_cf_opt(data(&db)?, options, mode) {
            let (key, value) = entry?;
            if !key.starts_with(prefix) {
                break;
            }
            if exclusive && *key == *start {
                continue;
            }
            let record = Record::decode(&key, &value)?;
            if !record.is_expired(now) && !page.push(record.into_item(key.into_vec())) {
                break;
            }
        }
        Ok(page.finish())
    }

    /// Checks `condition`, allocates a revision and writes `change` with the new
    /// revision counter in one batch, publishes the event, then waits until the
    /// WAL is fsynced through the write.
    pub(super) fn write(&self, key: Vec<u8>, condition: Condition, change: Change) -> Result<Item> {
        let items = self.write_all(vec![(key, condition, change)])?;
        items
            .into_iter()
            .next()
            .ok_or_else(|| Error::Storage("a write of one change wrote nothing".into()))
    }

    /// Like [`Inner::write`] for several changes to distinct keys, all or none: every
    /// condition is checked first, then the changes get consecutive revisions and are
    /// written in one batch (one fsync), each with its event.
    pub(super) fn write_all(&self, ops: Vec<(Vec<u8>, Condition, Change)>) -> Result<Vec<Item>> {
        self.apply(ops, true)?.into_iter().collect()
    }

    /// Like [`Inner::write`] for several changes to distinct keys, each on its own: a change
    /// whose condition fails (or whose key an earlier change names) gets its error and is
    /// left out; the others get consecutive revisions and are written in one batch (one
    /// fsync), each with its event.
    pub(super) fn write_each(
        &self,
        ops: Vec<(Vec<u8>, Condition, Change)>,
    ) -> Result<Vec<Result<Item>>> {
        self.apply(ops, false)
    }

    /// Checks the conditions, then writes the changes that passed in one batch. With
    /// `all_or_none`, the first failure fails the whole call and nothing is written.
    fn apply(
        &self,
        ops: Vec<(Vec<u8>, Condition, Change)>,
        all_or_none: bool,
    ) -> Result<Vec<Result<Item>>> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let mut last = lock(&self.writer);
        self.check_space(&mut last)?;
        let db = self.db();
        let (data, expiry, meta) = (data(&db)?, cf(&db, EXPIRY_CF)?, cf(&db, META_CF)?);
        let now = now_nanos();
        // Per change: the record it replaces (if any) once its condition holds.
        let mut olds = Vec::with_capacity(ops.len());
        // A set, not a search of the keys before each one: a batch of n keys is checked in
        // O(n), not O(n²).
        let mut seen = std::collections::HashSet::with_capacity(ops.len());
        for (key, condition, _) in &ops {
            let checked = if !seen.insert(key.as_slice()) {
                Err(Error::AlreadyExists { key: key.clone() })
            } else {
                check(&db, key, *condition, now)
            };
            match checked {
                Err(error) if all_or_none => return Err(error),
                checked => olds.push(checked),
            }
        }

        let mut batch = WriteBatch::default();
        let mut results = Vec::with_capacity(ops.len());
        let mut events = Vec::with_capacity(ops.len());
        let mut revision = *last;
        for ((key, _, change), old) in ops.into_iter().zip(olds) {
            let old = match old {
                Ok(old) => old,
                Err(error) => {
                    results.push(Err(error));
                    continue;
                }
            };
            revision += 1;
            if let Some(old) = old.as_ref().filter(|old| old.expires != 0) {
                batch.delete_cf(expiry, index_key(old.expires, &key));
            }
            let event = match change {
                Change::Put { value, expires } => {
                    let expires = nanos_from_time(expires);
                    batch.put_cf(data, &key, Record::encode(revision, expires, &value));
                    if expires != 0 {
                        batch.put_cf(expiry, index_key(expires, &key), []);
                    }
                    Event::put(Item {
                        key,
                        value,
                        revision,
                        expires: time_from_nanos(expires),
                    })
                }
                Change::Delete => {
                    batch.delete_cf(data, &key);
                    Event::delete(key, revision)
                }
            };
            results.push(Ok(event.item.clone()));
            events.push(event);
        }
        if events.is_empty() {
            return Ok(results);
        }
        batch.put_cf(meta, REVISION_KEY, encode_revision(revision));
        // Not synced here: `sync_through` below fsyncs the WAL for a whole
        // group of writers at once.
        db.write(batch).map_err(|err| self.engine_error(err))?;
        *last = revision;
        self.written.store(revision, Ordering::SeqCst);
        for event in events {
            self.feed.publish(event);
        }
        drop(db);
        drop(last);

        self.sync_through(revision)?;
        Ok(results)
    }

    /// Group commit: returns once the WAL is fsynced through `revision`. One
    /// fsync covers every write done before it started, so concurrent writers
    /// waiting here share it.
    pub(super) fn sync_through(&self, revision: u64) -> Result<()> {
        let mut synced = lock(&self.synced);
        if *synced >= revision {
            return Ok(());
        }
        let written = self.written.load(Ordering::SeqCst);
        // The guard is released before a failure is handled: that may take the disk-full
        // state's lock, which a recovery holds while it waits for the database's.
        let flushed = self.db().flush_wal(true);
        flushed.map_err(|err| self.engine_error(err))?;
        self.syncs.fetch_add(1, Ordering::Relaxed);
        *synced = written;
        Ok(())
    }

    /// Deletes every item whose expiry has passed, in chunks.
    ///
    /// Each chunk goes on from the last index entry of the one before rather than from the
    /// start of the index: the entries a chunk deletes stay behind as tombstones until a
    /// compaction, and starting every chunk from the start would step over all of them
    /// again, which made sweeping n items O(n²) (100,000 expired items took 12 s, 122 µs
    /// each, in `--bench scale`).
    pub(super) fn sweep(&self) -> Result<usize> {
        let now = now_nanos();
        let mut deleted = 0;
        let mut last_revision = None;
        let mut after: Option<Box<[u8]>> = None;
        loop {
            let entries = self.expired_entries(now, after.as_deref())?;
            let (count, revision) = self.delete_expired(&entries)?;
            deleted += count;
            last_revision = revision.or(last_revision);
            if entries.len() < SWEEP_CHUNK {
                break;
            }
            after = entries.last().cloned();
        }
        if let Some(revision) = last_revision {
            self.sync_through(revision)?;
        }
        Ok(deleted)
    }

    /// Up to [`SWEEP_CHUNK`] expiry-index keys expiring at or before `now`, after the key
    /// `after` when given.
    fn expired_entries(&self, now: i64, after: Option<&[u8]>) -> Result<Vec<Box<[u8]>>> {
        let mut options = ReadOptions::default();
        options.set_iterate_upper_bound(index_end(now));
        let mode = match after {
            Some(key) => IteratorMode::From(key, Direction::Forward),
            None => IteratorMode::Start,
        };
        let db = self.db();
        let entries = db
            .iterator_cf_opt(cf(&db, EXPIRY_CF)?, options, mode)
            .filter(
                |entry| !matches!((entry, after), (Ok((key, _)), Some(after)) if **key == *after),
            )
            .take(SWEEP_CHUNK)
            .map(|entry| Ok(entry?.0))
            .collect();
        entries
    }

    /// Deletes the items of these index entries (if they still expire then) in
    /// one batch. Returns the count and the last revision used.
    fn delete_expired(&self, entries: &[Box<[u8]>]) -> Result<(usize, Option<u64>)> {
        let mut last = lock(&self.writer);
        self.check_space(&mut last)?;
        let db = self.db();
        let (data, expiry, meta) = (data(&db)?, cf(&db, EXPIRY_CF)?, cf(&db, META_CF)?);
        let mut revision = *last;
        let mut batch = WriteBatch::default();
        let mut events = Vec::new();
        for index in entries {
            // Every visited entry is removed, so each chunk makes progress.
            batch.delete_cf(expiry, index);
            let still_expiring = match split_index_key(index) {
                Ok((expires, key)) => match read_record(&db, key) {
                    Ok(record) => record
                        .filter(|record| record.expires == expires)
                        .map(|_| key),
                    Err(error @ Error::Corrupt { .. }) => {
                        tracing::warn!(%error, "expiry sweep skipped a corrupt record");
                        None
                    }
                    Err(error) => return Err(error),
                },
                Err(error) => {
                    tracing::warn!(%error, "expiry sweep dropped a corrupt index entry");
                    None
                }
            };
            if let Some(key) = still_expiring {
                revision += 1;
                batch.delete_cf(data, key);
                events.push(Event::delete(key.to_vec(), revision));
            }
        }
        if events.is_empty() {
            // Only stale index entries, if any: clean them up without a revision.
            if !entries.is_empty() {
                db.write(batch).map_err(|err| self.engine_error(err))?;
            }
            return Ok((0, None));
        }
        batch.put_cf(meta, REVISION_KEY, encode_revision(revision));
        db.write(batch).map_err(|err| self.engine_error(err))?;
        *last = revision;
        self.written.store(revision, Ordering::SeqCst);
        let count = events.len();
        for event in events {
            self.feed.publish(event);
        }
        Ok((count, Some(revision)))
    }
}

/// The record under `key` (expired or not) if `condition` holds for it at `now`.
fn check(db: &DB, key: &[u8], condition: Condition, now: i64) -> Result<Option<Record>> {
    let old = match read_record(db, key) {
        // An unconditional put may replace an undecodable record (its
        // expiry-index entry, if any, is cleaned up by the sweep).
        Err(error @ Error::Corrupt { .. }) if condition == Condition::Any => {
            tracing::warn!(%error, "overwriting a corrupt record");
            None
        }
        other => other?,
    };
    let live = old.as_ref().filter(|record| !record.is_expired(now));
    condition.check(key, live.map(|record| record.revision))?;
    Ok(old)
}
