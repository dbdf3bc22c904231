//! A full disk: how the store notices it, keeps serving reads, and takes writes again
//! once space is freed, without a restart.
//!
//! When a write fails for lack of space, RocksDB stops taking writes until it is resumed
//! (the C API offers no resume) or reopened, but it keeps answering reads. The store
//! remembers the failure and refuses writes with [`Error::DiskFull`] without touching the
//! engine. The next write after enough space is free reopens the database: first
//! read-only (that needs no space, so reads go on even if the rest fails), then for
//! writing, which replays the write-ahead log. A write that failed was never
//! acknowledged; every acknowledged one is in the log and survives the reopen.

use std::{
    path::Path,
    sync::PoisonError,
    time::{Duration, Instant},
};

use super::{
    engine,
    inner::{lock, Inner},
};
use crate::{Error, Result};

/// The free space needed before the store tries to take writes again.
pub(super) const HEADROOM: u64 = 1 << 20;

/// How long after a failed attempt to reopen the store the next one may be made.
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// The state of a store whose disk filled up.
#[derive(Debug)]
pub(crate) struct DiskFull {
    /// What the engine reported.
    detail: String,
    /// When reopening was last tried (and failed).
    tried: Option<Instant>,
}

/// The space available to unprivileged writers on the filesystem holding `path`, or
/// `None` if it cannot be told.
fn free_space(path: &Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(path).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

impl Inner {
    /// Converts an engine error from a write; a full disk puts the store in the disk-full
    /// state.
    pub(super) fn engine_error(&self, err: rocksdb::Error) -> Error {
        if !engine::is_no_space(&err) {
            return err.into();
        }
        let detail = err.to_string();
        let mut state = lock(&self.disk_full);
        if state.is_none() {
            tracing::error!(
                store = %self.path.display(),
                error = %detail,
                "the disk is full: refusing writes until space is freed (reads go on)"
            );
        }
        *state = Some(DiskFull {
            detail: detail.clone(),
            tried: None,
        });
        self.disk_full_error(detail)
    }

    fn disk_full_error(&self, detail: String) -> Error {
        Error::DiskFull {
            path: self.path.clone(),
            detail,
        }
    }

    /// Called by every writer with the writer lock held (`last` is the last revision):
    /// fails with [`Error::DiskFull`] while the disk is full, and reopens the database
    /// once there is space again.
    pub(super) fn check_space(&self, last: &mut u64) -> Result<()> {
        let mut state = lock(&self.disk_full);
        let Some(full) = state.as_mut() else {
            return Ok(());
        };
        let waiting = full.tried.is_some_and(|at| at.elapsed() < RETRY_AFTER);
        let room = free_space(&self.path).is_none_or(|free| free >= HEADROOM);
        if waiting || !room {
            return Err(self.disk_full_error(full.detail.clone()));
        }
        match self.reopen(last) {
            Ok(()) => {
                tracing::info!(
                    store = %self.path.display(),
                    revision = *last,
                    "space was freed: the store takes writes again"
                );
                *state = None;
                Ok(())
            }
            Err(error) => {
                tracing::warn!(%error, store = %self.path.display(), "the store cannot take writes yet");
                full.tried = Some(Instant::now());
                if let Error::DiskFull { detail, .. } = &error {
                    full.detail.clone_from(detail);
                }
                Err(self.disk_full_error(full.detail.clone()))
            }
        }
    }

    /// Replaces the stopped database by a read-only one, closes it, then opens it for
    /// writing. On failure the read-only one stays, serving reads.
    fn reopen(&self, last: &mut u64) -> Result<()> {
        let mut db = self.db.write().unwrap_or_else(PoisonError::into_inner);
        let read_only = engine::open_read_only(&self.path)?;
        drop(std::mem::replace(&mut *db, read_only));
        let writable = engine::open_writable(&self.path)?;
        let revision = engine::revision(&writable, &self.path)?;
        *db = writable;
        // A write whose log fsync failed was applied in memory: never reuse its revision.
        *last = (*last).max(revision);
        self.written
            .fetch_max(*last, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}
