//! The offset file: a signed number of seconds, re-read when the file changes.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Why an offset file cannot be followed.
#[derive(Debug, thiserror::Error)]
pub enum OffsetError {
    /// The file cannot be read.
    #[error("cannot read clock offset file `{path}`: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file does not hold a signed number of seconds.
    #[error(
        "clock offset file `{path}` must hold a signed number of seconds (e.g. `7200` or \
         `-90`), not `{found}`"
    )]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What it held (trimmed, at most 40 characters).
        found: String,
    },
    /// The process already follows an offset file.
    #[error("the clock already follows an offset file")]
    AlreadySet,
}

/// What identifies one version of the file: inode, modification time and length.
type Stamp = (u64, i64, i64, u64);

/// An offset file and the offset last read from it.
pub(crate) struct OffsetFile {
    path: PathBuf,
    last: Mutex<(Stamp, i64)>,
}

impl OffsetFile {
    /// Reads the file once; it must be there and well formed.
    pub(crate) fn open(path: PathBuf) -> Result<Self, OffsetError> {
        let stamp = stamp(&path)?;
        let seconds = read(&path)?;
        Ok(Self {
            path,
            last: Mutex::new((stamp, seconds)),
        })
    }

    /// The offset in seconds, re-read if the file changed since the last call.
    pub(crate) fn seconds(&self) -> i64 {
        let mut last = match self.last.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let now = match stamp(&self.path) {
            Ok(now) => now,
            Err(e) => {
                if last.0 != GONE {
                    tracing::warn!(error = %e, offset = last.1, "keeping the last clock offset");
                    last.0 = GONE;
                }
                return last.1;
            }
        };
        if now != last.0 {
            last.0 = now;
            match read(&self.path) {
                Ok(seconds) => {
                    if seconds != last.1 {
                        tracing::warn!(from = last.1, to = seconds, "clock offset changed");
                    }
                    last.1 = seconds;
                }
                Err(e) => {
                    tracing::warn!(error = %e, offset = last.1, "keeping the last clock offset")
                }
            }
        }
        last.1
    }
}

/// The stamp remembered while the file cannot be read, so that this is logged once.
const GONE: Stamp = (0, 0, 0, 0);

fn stamp(path: &Path) -> Result<Stamp, OffsetError> {
    let meta = std::fs::metadata(path).map_err(|source| OffsetError::Read {
        path: path.to_owned(),
        source,
    })?;
    Ok((meta.ino(), meta.mtime(), meta.mtime_nsec(), meta.len()))
}

fn read(path: &Path) -> Result<i64, OffsetError> {
    let text = std::fs::read_to_string(path).map_err(|source| OffsetError::Read {
        path: path.to_owned(),
        source,
    })?;
    let text = text.trim();
    text.parse().map_err(|_| OffsetError::Malformed {
        path: path.to_owned(),
        found: text.chars().take(40).collect(),
    })
}
