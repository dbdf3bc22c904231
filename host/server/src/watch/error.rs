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
