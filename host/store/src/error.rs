//! The error type shared by every storage backend.

use std::path::PathBuf;

/// A boxed error from the underlying storage engine.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors returned by storage backends.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The key does not exist (or has expired).
    #[error("key `{}` not found", .key.escape_ascii())]
    NotFound {
        /// The key that was looked up.
        key: Vec<u8>,
    },

    /// `create` was called for a key that already exists.
    #[error("key `{}` already exists", .key.escape_ascii())]
    AlreadyExists {
        /// The existing key.
        key: Vec<u8>,
    },

    /// A conditional write found a different revision than expected.
    #[error(
        "revision mismatch for key `{}`: expected {expected}, found {actual}",
        .key.escape_ascii()
    )]
    RevisionMismatch {
        /// The key that was written.
        key: Vec<u8>,
        /// The revision the caller expected.
        expected: u64,
        /// The revision actually stored.
        actual: u64,
    },

    /// A subscriber fell too far behind the event feed; events were dropped for
    /// it and the subscription is closed. Subscribe again and re-read the state.
    #[error("event feed subscriber lagged behind and missed {missed} events")]
    FeedLagged {
        /// How many events the subscriber missed.
        missed: u64,
    },

    /// The event feed stopped (a network store was unreachable for too long); the
    /// subscription is closed. Subscribe again once the store is back and re-read the
    /// state.
    #[error("the event feed was interrupted: {reason}")]
    FeedInterrupted {
        /// Why.
        reason: String,
    },

    /// The store at `path` could not be opened.
    #[error("cannot open store at `{}`: {source}", .path.display())]
    Open {
        /// The directory of the store.
        path: PathBuf,
        /// Why it could not be opened.
        #[source]
        source: BoxError,
    },

    /// The disk holding the store is full. A write that fails with this was not
    /// acknowledged (it is not applied, or lost on restart); reads keep working, and the
    /// store takes writes again by itself once space is freed.
    #[error(
        "no space left on device for the store at `{}` (disk full): writes are refused until \
         space is freed on that filesystem, reads still work ({detail})",
        .path.display()
    )]
    DiskFull {
        /// The directory of the store.
        path: PathBuf,
        /// What the storage engine reported.
        detail: String,
    },

    /// A file of the store is damaged or missing, so the store cannot be trusted to
    /// answer with what was written. Found when the store is opened.
    #[error(
        "the store at `{}` is damaged ({file}): {detail}; refusing to serve from it. \
         Stop the server and restore that directory from a backup{repair}",
        .path.display(),
        repair = if *.repairable {
            ", or salvage what is intact with `portcullis repair-store --data-dir DIR` \
             (writes since the damage may be lost)"
        } else {
            ""
        }
    )]
    Damaged {
        /// The directory of the store.
        path: PathBuf,
        /// The damaged file, or a description of it.
        file: String,
        /// What is wrong.
        detail: String,
        /// Whether RocksDB's repair can salvage the rest.
        repairable: bool,
    },

    /// The network store could not be reached when the backend was opened.
    #[error("cannot connect to etcd at {endpoints}: {source}")]
    Connect {
        /// The endpoints tried, comma-separated.
        endpoints: String,
        /// Why it failed.
        #[source]
        source: BoxError,
    },

    /// A stored record could not be decoded.
    #[error("corrupt record for key `{}`: {reason}", .key.escape_ascii())]
    Corrupt {
        /// The key of the record (or the reserved key of internal metadata).
        key: Vec<u8>,
        /// What is wrong with it.
        reason: String,
    },

    /// The storage engine failed. For a write, the outcome is unknown: the write
    /// may or may not have been applied.
    #[error("storage engine error: {0}")]
    Storage(#[source] BoxError),

    /// etcd did not answer or refused the request (a member or the whole cluster is down,
    /// or the request timed out). For a write, the outcome is unknown.
    #[error("etcd is unreachable or failed: {0}")]
    Etcd(#[source] etcd_client::Error),

    /// A background storage task panicked or was cancelled.
    #[error("storage task failed: {0}")]
    Task(String),
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<rocksdb::Error> for Error {
    fn from(err: rocksdb::Error) -> Self {
        Error::Storage(Box::new(err))
    }
}

impl Error {
    /// Whether this is [`Error::DiskFull`].
    pub fn is_disk_full(&self) -> bool {
        matches!(self, Error::DiskFull { .. })
    }
}

impl From<etcd_client::Error> for Error {
    fn from(err: etcd_client::Error) -> Self {
        Error::Etcd(err)
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(err: tokio::task::JoinError) -> Self {
        Error::Task(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lowercase_and_quote_keys() {
        let err = Error::RevisionMismatch {
            key: b"/roles/a\xff".to_vec(),
            expected: 3,
            actual: 4,
        };
        assert_eq!(
            err.to_string(),
            "revision mismatch for key `/roles/a\\xff`: expected 3, found 4"
        );
        let err = Error::NotFound {
            key: b"/users/bob".to_vec(),
        };
        assert_eq!(err.to_string(), "key `/users/bob` not found");
    }
}
