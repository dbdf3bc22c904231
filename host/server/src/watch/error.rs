//! Why a watch is refused before anything is subscribed.

/// A `Watch` that cannot be served as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WatchError {
    /// No kind was named.
    #[error(
        "a watch needs at least one kind (Kinds is empty); watchable kinds: {}",
        super::kinds::watchable_kinds()
    )]
    NoKinds,
    /// The kind is unknown, or stored without a variant in `Event`.
    #[error(
        "kind `{kind}` cannot be watched; watchable kinds: {}",
        super::kinds::watchable_kinds()
    )]
    UnknownKind {
        /// The kind given.
        kind: String,
    },
    /// A filter key the kind does not understand.
    #[error("unknown filter key `{key}` for kind `{kind}` (known keys: {known})")]
    UnknownFilterKey {
        /// The kind.
        kind: &'static str,
        /// The key given.
        key: String,
        /// The keys the kind understands.
        known: String,
    },
    /// A filter value that means nothing for its key.
    #[error("filter `{key}` of kind `{kind}`: `{value}` is not one of {expected}")]
    BadFilterValue {
        /// The kind.
        kind: &'static str,
        /// The key.
        key: String,
        /// The value given.
        value: String,
        /// What it may be.
        expected: &'static str,
    },
    /// A filter on a kind that has none.
    #[error("kind `{kind}` takes no filter (given: {keys})")]
    NoFilter {
        /// The kind.
        kind: &'static str,
        /// The keys given.
        keys: String,
    },
}

/// Why an open watch ends (the client re-watches to go on).
#[derive(Debug, thiserror::Error)]
pub enum WatchEnd {
    /// The server is stopping.
    #[error("the auth server is shutting down; re-watch")]
    ShuttingDown,
    /// The caller's certificate expired while the stream was open.
    #[error("the client certificate has expired; re-watch with a new one")]
    CertificateExpired,
    /// The watcher did not keep up with the store's feed.
    #[error("watcher fell {missed} events behind; re-watch")]
    Lagged {
        /// Events it missed.
        missed: u64,
    },
    /// The store could not be reached for a while (etcd down): the feed stopped.
    #[error("the store is unreachable ({reason}); re-watch once it is back")]
    StoreUnreachable {
        /// Why the feed stopped.
        reason: String,
    },
    /// The store's feed failed.
    #[error(transparent)]
    Store(portcullis_store::Error),
    /// The store's feed closed.
    #[error("the event feed closed; re-watch")]
    FeedClosed,
    /// The stream could not be started.
    #[error("cannot start the event stream")]
    NotStarted,
}
