//! The wall clock every part of Portcullis reads: certificate windows, token and lease
//! expiry, rotation schedules, audit times.
//!
//! It is the system's clock unless the process was told to follow an offset file
//! ([`follow_offset_file`], `portcullis start --clock-offset-file`). Then it is the system's
//! clock moved by the signed number of seconds written in that file, re-read whenever the
//! file changes, so that a test can make a running server's clock jump forward and back
//! without touching the machine's. Monotonic time (timeouts, rate limits, intervals) is not
//! affected: it is what a real clock jump leaves alone too.
//!
//! Reading the clock with no offset file costs what `SystemTime::now` costs; with one, a
//! `stat` of the file per reading.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod offset;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use offset::OffsetError;
use offset::OffsetFile;

/// Set once, at start, when the process follows an offset file.
static OFFSET: OnceLock<OffsetFile> = OnceLock::new();

/// The current time as Portcullis sees it.
pub fn now() -> SystemTime {
    let system = SystemTime::now();
    match OFFSET.get() {
        None => system,
        Some(file) => shift(system, file.seconds()),
    }
}

/// [`now`] as whole seconds since the Unix epoch (negative before it).
pub fn unix_seconds() -> i64 {
    match now().duration_since(UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// Makes [`now`] follow the offset in `path` from here on: the file holds a signed number of
/// seconds (`7200`, `-90`, surrounding whitespace allowed). The file must exist and be
/// readable now; a later unreadable or malformed version is logged and the last good
/// offset kept. Can be called once per process.
pub fn follow_offset_file(path: PathBuf) -> Result<(), OffsetError> {
    let file = OffsetFile::open(path)?;
    OFFSET.set(file).map_err(|_| OffsetError::AlreadySet)
}

/// `at` moved by `seconds`, saturating at the ends of what `SystemTime` can hold.
fn shift(at: SystemTime, seconds: i64) -> SystemTime {
    let by = Duration::from_secs(seconds.unsigned_abs());
    let moved = if seconds >= 0 {
        at.checked_add(by)
    } else {
        at.checked_sub(by)
    };
    moved.unwrap_or(at)
}

#[cfg(test)]
mod tests;
