//! Errors of session recording.

/// What went wrong recording or reading a session.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// A message or event is malformed (the message names what).
    #[error("{0}")]
    Invalid(String),
    /// The stream did not start with CreateStream or ResumeStream, or sent one later.
    #[error("{0}")]
    Protocol(String),
    /// Events are missing before this one.
    #[error(
        "event index {got} of session `{session}` skips events: the next expected is {expected}"
    )]
    Gap {
        /// The session.
        session: String,
        /// The index the server expected.
        expected: i64,
        /// The index it got.
        got: i64,
    },
    /// An event is larger than the limit.
    #[error("event {index} (`{event_type}`) is {size} bytes, more than the limit of {limit} bytes per event")]
    EventTooLarge {
        /// Its index.
        index: i64,
        /// Its type.
        event_type: String,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The recording would grow beyond the limit.
    #[error("session `{session}` would exceed the limit of {limit} bytes per recording")]
    SessionTooLarge {
        /// The session.
        session: String,
        /// The limit.
        limit: u64,
    },
    /// No such upload, or it belongs to another session.
    #[error("no upload `{upload}` of session `{session}` to resume")]
    NoUpload {
        /// The session.
        session: String,
        /// The upload.
        upload: String,
    },
    /// The upload was streamed by another identity.
    #[error("upload `{upload}` was created by `{owner}`; `{caller}` may not resume it")]
    NotOwner {
        /// The upload.
        upload: String,
        /// Who created it.
        owner: String,
        /// Who tried to resume it.
        caller: String,
    },
    /// The upload is complete: nothing more can be written to it.
    #[error("upload `{upload}` of session `{session}` is already complete")]
    Completed {
        /// The session.
        session: String,
        /// The upload.
        upload: String,
    },
    /// Another stream writes the same upload.
    #[error("upload `{0}` is being written by another stream; resume it again")]
    Concurrent(String),
    /// The session has a completed recording already (from another upload).
    #[error("session `{0}` already has a completed recording")]
    AlreadyRecorded(String),
    /// No completed recording of the session.
    #[error("no recording of session `{0}` (it may still be in progress)")]
    NotFound(String),
    /// A stored part does not match its digest chain.
    #[error("recording of session `{session}` is damaged at part {part}: {reason}")]
    Damaged {
        /// The session.
        session: String,
        /// The part.
        part: u64,
        /// What does not match.
        reason: String,
    },
    /// A stored record could not be read, or the store failed.
    #[error(transparent)]
    Resource(#[from] crate::resources::ResourceError),
}

impl From<portcullis_store::Error> for SessionError {
    fn from(e: portcullis_store::Error) -> Self {
        Self::Resource(crate::resources::ResourceError::Store(e))
    }
}
