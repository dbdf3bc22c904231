//! Errors of the resource layer.

/// What went wrong reading or writing a resource.
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    /// No such resource.
    #[error("{kind} `{name}` not found")]
    NotFound {
        /// Resource kind.
        kind: &'static str,
        /// Resource name.
        name: String,
    },
    /// A resource with that name exists already.
    #[error("{kind} `{name}` already exists")]
    AlreadyExists {
        /// Resource kind.
        kind: &'static str,
        /// Resource name.
        name: String,
    },
    /// The resource changed since it was read (its `metadata.id` is stale).
    #[error("{kind} `{name}` was modified concurrently (expected revision {expected}, found {actual}); read it again and retry")]
    Conflict {
        /// Resource kind.
        kind: &'static str,
        /// Resource name.
        name: String,
        /// The revision the caller had.
        expected: u64,
        /// The revision in the store.
        actual: u64,
    },
    /// The resource is not valid.
    #[error("{0}")]
    Invalid(String),
    /// A stored record could not be decoded.
    #[error("stored {kind} `{key}` is corrupt: {reason}")]
    Corrupt {
        /// Resource kind.
        kind: &'static str,
        /// Store key.
        key: String,
        /// Decoder message.
        reason: String,
    },
    /// The store failed.
    #[error("store: {0}")]
    Store(portcullis_store::Error),
    /// A listing asked for everything at once (`Limit` 0) and there is more than the server
    /// answers in one response.
    #[error(
        "there are more than {max} {kind}s to return at once (the server's max_unpaged_list): \
         ask for pages instead, with Limit (1 to 1000) and then StartAfter set to each \
         answer's NextStartAfter"
    )]
    TooMany {
        /// The kind listed (`role`).
        kind: &'static str,
        /// The most answered at once.
        max: usize,
    },
}

impl From<portcullis_api::validate::InvalidResource> for ResourceError {
    fn from(e: portcullis_api::validate::InvalidResource) -> Self {
        Self::Invalid(e.0)
    }
}

impl ResourceError {
    /// An invalid-resource error with a message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }
}
