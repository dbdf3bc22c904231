//! One audit stream being written: events checked and buffered in index order, written
//! as parts, and completed into a recording.

use std::time::SystemTime;

use portcullis_api::events::OneOf;
use portcullis_api::services::SessionV1;
use portcullis_store::Error as StoreError;

use super::part::{self, NewEvent, Part, StoredEvent};
use super::upload::{part_key, upload_key, Upload, IDLE_TTL};
use super::{session_of, validate_session_id, Recordings, SessionError, KIND_SESSION, PART_BYTES};
use crate::resources::ResourceError;

/// A stream writing one upload. Events go through [`StreamWriter::push`] and become
/// durable with [`StreamWriter::flush`] (which the caller runs once
/// [`StreamWriter::should_flush`] says so, on a timer, and before it answers a flush).
pub struct StreamWriter<'a> {
    recordings: &'a Recordings,
    upload: Upload,
    revision: u64,
    buffer: Vec<NewEvent>,
    buffer_bytes: usize,
    next_index: i64,
    meta: super::upload::Meta,
}

impl std::fmt::Debug for StreamWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamWriter")
            .field("upload", &self.upload.upload_id)
            .field("next_index", &self.next_index)
            .finish_non_exhaustive()
    }
}

impl<'a> StreamWriter<'a> {
    /// Starts a new upload of session `session_id`, streamed by `emitter`.
    pub async fn create(
        recordings: &'a Recordings,
        session_id: &str,
        emitter: &str,
        now: SystemTime,
    ) -> Result<Self, SessionError> {
        validate_session_id(session_id)?;
        let upload = Upload::new(session_id, emitter, now);
        let item = recordings
            .backend
            .create(
                &upload_key(&upload.upload_id),
                upload.encode()?,
                Some(now + IDLE_TTL),
            )
            .await?;
        Ok(Self::open(recordings, upload, item.revision))
    }

    /// Resumes upload `upload_id` of session `session_id` for `emitter` (who must have
    /// created it), counting any part a stopped server wrote but did not record.
    pub async fn resume(
        recordings: &'a Recordings,
        session_id: &str,
        upload_id: &str,
        emitter: &str,
        now: SystemTime,
    ) -> Result<Self, SessionError> {
        validate_session_id(session_id)?;
        let no_upload = || SessionError::NoUpload {
            session: session_id.to_owned(),
            upload: upload_id.to_owned(),
        };
        if uuid::Uuid::parse_str(upload_id).is_err() {
            return Err(no_upload());
        }
        let key = upload_key(upload_id);
        let item = recordings.backend.get(&key).await?.ok_or_else(no_upload)?;
        let mut upload = Upload::decode(&key, &item.value)?;
        if upload.session_id != session_id {
            return Err(no_upload());
        }
        if upload.complete {
            return Err(SessionError::Completed {
                session: session_id.to_owned(),
                upload: upload_id.to_owned(),
            });
        }
        if upload.emitter != emitter {
            return Err(SessionError::NotOwner {
                upload: upload_id.to_owned(),
                owner: upload.emitter,
                caller: emitter.to_owned(),
            });
        }
        let mut revision = item.revision;
        let mut adopted = false;
        while let Some(stray) = recordings
            .backend
            .get(&part_key(upload_id, upload.parts))
            .await?
        {
            upload.adopt(&stray.value)?;
            adopted = true;
        }
        if adopted {
            upload.updated = humantime::format_rfc3339_nanos(now).to_string();
            revision = swap(recordings, &upload, revision, Some(now + IDLE_TTL)).await?;
        }
        Ok(Self::open(recordings, upload, revision))
    }

    fn open(recordings: &'a Recordings, upload: Upload, revision: u64) -> Self {
        StreamWriter {
            recordings,
            next_index: upload.last_index + 1,
            meta: upload.meta.clone(),
            upload,
            revision,
            buffer: Vec::new(),
            buffer_bytes: 0,
        }
    }

    /// The upload's ID.
    pub fn upload_id(&self) -> &str {
        &self.upload.upload_id
    }

    /// The session's ID.
    pub fn session_id(&self) -> &str {
        &self.upload.session_id
    }

    /// Index of the last durable event (-1: none).
    pub fn durable_index(&self) -> i64 {
        self.upload.last_index
    }

    /// Whether events wait in memory.
    pub fn has_buffered(&self) -> bool {
        !self.buffer.is_empty()
    }

    /// Whether enough events wait for a part.
    pub fn should_flush(&self) -> bool {
        self.buffer_bytes >= PART_BYTES
    }

    /// Takes the next event: `Ok(true)` when it was the next index, `Ok(false)` when it
    /// was one already taken (a client resending after a resume: dropped).
    pub fn push(&mut self, event: &OneOf) -> Result<bool, SessionError> {
        if event.index < self.next_index {
            return Ok(false);
        }
        let session = || self.upload.session_id.clone();
        if event.index > self.next_index {
            return Err(SessionError::Gap {
                session: session(),
                expected: self.next_index,
                got: event.index,
            });
        }
        if event.r#type.is_empty() {
            return Err(SessionError::Invalid(format!(
                "event {} has no type",
                event.index
            )));
        }
        let size = event.r#type.len() + event.code.len() + event.user.len() + event.fields.len();
        let limits = self.recordings.limits;
        if size > limits.max_event_bytes {
            return Err(SessionError::EventTooLarge {
                index: event.index,
                event_type: event.r#type.clone(),
                size,
                limit: limits.max_event_bytes,
            });
        }
        if self.upload.bytes + (self.buffer_bytes + size) as u64 > limits.max_session_bytes {
            return Err(SessionError::SessionTooLarge {
                session: session(),
                limit: limits.max_session_bytes,
            });
        }
        let new = NewEvent::from_api(event).map_err(SessionError::Invalid)?;
        if new.event_type.starts_with("session.") {
            let stored = new.stored().map_err(SessionError::Invalid)?;
            self.meta.learn(&stored);
        }
        self.buffer.push(new);
        self.buffer_bytes += size;
        self.next_index += 1;
        Ok(true)
    }

    /// Writes the waiting events as the next part; returns the last durable index.
    pub async fn flush(&mut self, now: SystemTime) -> Result<i64, SessionError> {
        if self.buffer.is_empty() {
            return Ok(self.upload.last_index);
        }
        let upload_id = self.upload.upload_id.clone();
        let (value, header, body_bytes) =
            part::encode(self.upload.parts, &self.upload.digest, &self.buffer)
                .map_err(SessionError::Invalid)?;
        let mut next = self.upload.clone();
        next.advance(header, body_bytes);
        next.meta = self.meta.clone();
        next.updated = humantime::format_rfc3339_nanos(now).to_string();
        match self
            .recordings
            .backend
            .create(&part_key(&upload_id, self.upload.parts), value, None)
            .await
        {
            Ok(_) => {}
            Err(StoreError::AlreadyExists { .. }) => {
                return Err(SessionError::Concurrent(upload_id))
            }
            Err(e) => return Err(e.into()),
        }
        self.revision = swap(self.recordings, &next, self.revision, Some(now + IDLE_TTL)).await?;
        self.upload = next;
        self.buffer.clear();
        self.buffer_bytes = 0;
        Ok(self.upload.last_index)
    }

    /// Writes what waits and turns the upload into the session's recording (once: a
    /// second completion of the same upload answers the same recording).
    pub async fn complete(
        mut self,
        cluster_name: &str,
        now: SystemTime,
    ) -> Result<SessionV1, SessionError> {
        self.flush(now).await?;
        let mut upload = self.upload.clone();
        if upload.meta.ended.is_empty() {
            upload.meta.ended = humantime::format_rfc3339_nanos(now).to_string();
        }
        let recording = session_of(&upload, KIND_SESSION, cluster_name);
        let recording = match self.recordings.sessions.create(&recording).await {
            Ok(created) => created,
            Err(ResourceError::AlreadyExists { .. }) => {
                let existing = self.recordings.sessions.get(&upload.session_id).await?;
                let same = existing
                    .spec
                    .as_ref()
                    .is_some_and(|s| s.upload_id == upload.upload_id);
                if !same {
                    return Err(SessionError::AlreadyRecorded(upload.session_id));
                }
                existing
            }
            Err(e) => return Err(e.into()),
        };
        upload.complete = true;
        swap(self.recordings, &upload, self.revision, None).await?;
        Ok(recording)
    }
}

/// Moves the upload record from `revision` to `upload`; another writer makes it fail.
async fn swap(
    recordings: &Recordings,
    upload: &Upload,
    revision: u64,
    expires: Option<SystemTime>,
) -> Result<u64, SessionError> {
    match recordings
        .backend
        .compare_and_swap(
            &upload_key(&upload.upload_id),
            revision,
            upload.encode()?,
            expires,
        )
        .await
    {
        Ok(item) => Ok(item.revision),
        Err(StoreError::RevisionMismatch { .. }) | Err(StoreError::NotFound { .. }) => {
            Err(SessionError::Concurrent(upload.upload_id.clone()))
        }
        Err(e) => Err(e.into()),
    }
}

/// The events of a stored part (checked against its digest).
pub(super) fn part_events(
    session: &str,
    seq: u64,
    value: &[u8],
) -> Result<(super::part::PartHeader, Vec<StoredEvent>), SessionError> {
    let damaged = |reason: String| SessionError::Damaged {
        session: session.to_owned(),
        part: seq,
        reason,
    };
    let part = Part::decode(value).map_err(damaged)?;
    part.check().map_err(damaged)?;
    let events = part.events().map_err(damaged)?;
    Ok((part.header, events))
}
