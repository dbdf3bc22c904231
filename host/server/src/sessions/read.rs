//! Reading recordings: completed ones (kind `session`), their events, and the sessions
//! being recorded now (kind `ssh_session`).

use portcullis_api::services::SessionV1;

use super::part::StoredEvent;
use super::stream::part_events;
use super::upload::{part_key, Upload, UPLOADS_PREFIX};
use super::{session_of, validate_session_id, Recordings, SessionError, KIND_SSH_SESSION};
use crate::resources::{Collection, Resource, ResourceError};

/// Most sessions a page lists.
pub const MAX_SESSIONS: usize = 1000;
/// Sessions a page lists when the request does not say.
pub const DEFAULT_SESSIONS: usize = 100;
/// Most events a page returns.
pub const MAX_EVENTS: usize = 10_000;
/// Events a page returns when the request does not say.
pub const DEFAULT_EVENTS: usize = 1000;

/// A page of results and where the next one starts (`None`: no more).
#[derive(Debug)]
pub struct Page<T> {
    /// The results.
    pub items: Vec<T>,
    /// What to pass to get the next page.
    pub next: Option<String>,
}

/// A requested page size: 0 means `default`, more than `max` is refused.
pub fn page_size(limit: u32, default: usize, max: usize) -> Result<usize, SessionError> {
    match limit as usize {
        0 => Ok(default),
        n if n > max => Err(SessionError::Invalid(format!(
            "limit {n} is more than {max}"
        ))),
        n => Ok(n),
    }
}

impl Recordings {
    /// The completed recording of session `id`.
    pub async fn get(&self, id: &str) -> Result<SessionV1, SessionError> {
        validate_session_id(id)?;
        self.sessions
            .find(id)
            .await?
            .ok_or_else(|| SessionError::NotFound(id.to_owned()))
    }

    /// Completed recordings by session ID, after `start_after`, at most `limit`.
    pub async fn list(
        &self,
        start_after: &str,
        limit: usize,
    ) -> Result<Page<SessionV1>, SessionError> {
        let prefix = <SessionV1 as Resource>::PREFIX;
        let after =
            (!start_after.is_empty()).then(|| format!("{prefix}{start_after}").into_bytes());
        let page = self
            .backend
            .range(prefix.as_bytes(), after.as_deref(), limit)
            .await?;
        let items = page
            .items
            .iter()
            .map(Collection::<SessionV1>::decode)
            .collect::<Result<Vec<_>, ResourceError>>()?;
        Ok(Page {
            next: page
                .next
                .is_some()
                .then(|| items.last().map(|s| s.name().to_owned()))
                .flatten(),
            items,
        })
    }

    /// Sessions being recorded now (uploads not completed), by upload ID.
    pub async fn active(
        &self,
        cluster_name: &str,
        start_after: &str,
        limit: usize,
    ) -> Result<Page<SessionV1>, SessionError> {
        let after = (!start_after.is_empty())
            .then(|| format!("{UPLOADS_PREFIX}{start_after}").into_bytes());
        let mut cursor = after;
        let mut items = Vec::new();
        loop {
            let page = self
                .backend
                .range(UPLOADS_PREFIX.as_bytes(), cursor.as_deref(), limit)
                .await?;
            for item in &page.items {
                let upload = Upload::decode(&item.key, &item.value)?;
                if upload.complete {
                    continue;
                }
                items.push(session_of(&upload, KIND_SSH_SESSION, cluster_name));
                if items.len() == limit {
                    return Ok(Page {
                        items,
                        next: Some(upload.upload_id),
                    });
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(Page { items, next: None }),
            }
        }
    }

    /// Events of the recording `session` (as [`Recordings::get`] returned it), in index
    /// order, from `start_after` (a cursor a previous page returned; empty: the start), at
    /// most `limit`. Every part read is checked against its digest and its link to the part
    /// before it, and the last part against the recording's digest.
    pub async fn events(
        &self,
        session: &SessionV1,
        start_after: &str,
        limit: usize,
    ) -> Result<Page<StoredEvent>, SessionError> {
        let spec = session.spec.clone().unwrap_or_default();
        let id = spec.session_id.as_str();
        let (mut seq, mut skip) = parse_cursor(start_after)?;
        let mut items = Vec::new();
        let mut prev_digest: Option<String> = None;
        loop {
            let Some(item) = self.backend.get(&part_key(&spec.upload_id, seq)).await? else {
                // The last part returns before this: a missing part means damage, unless
                // the recording has no events at all.
                if spec.events == 0 {
                    return Ok(Page { items, next: None });
                }
                return Err(SessionError::Damaged {
                    session: id.to_owned(),
                    part: seq,
                    reason: "the part is missing".into(),
                });
            };
            let (header, events) = part_events(id, seq, &item.value)?;
            if let Some(prev) = &prev_digest {
                if *prev != header.prev {
                    return Err(SessionError::Damaged {
                        session: id.to_owned(),
                        part: seq,
                        reason: "it does not follow the part before it".into(),
                    });
                }
            }
            let last_part = u64::try_from(header.last + 1).unwrap_or(0) == spec.events;
            if last_part && header.digest != spec.digest {
                return Err(SessionError::Damaged {
                    session: id.to_owned(),
                    part: seq,
                    reason: "the chain does not end at the recording's digest".into(),
                });
            }
            let count = events.len();
            for event in events.into_iter().skip(skip) {
                items.push(event);
                skip += 1;
                if items.len() == limit {
                    let next = (skip < count || !last_part).then(|| format!("{seq}:{skip}"));
                    return Ok(Page { items, next });
                }
            }
            if last_part {
                return Ok(Page { items, next: None });
            }
            prev_digest = Some(header.digest);
            seq += 1;
            skip = 0;
        }
    }
}

fn parse_cursor(cursor: &str) -> Result<(u64, usize), SessionError> {
    if cursor.is_empty() {
        return Ok((0, 0));
    }
    cursor
        .split_once(':')
        .and_then(|(seq, skip)| Some((seq.parse().ok()?, skip.parse().ok()?)))
        .ok_or_else(|| {
            SessionError::Invalid(format!("`{cursor}` is not a page cursor of session events"))
        })
}
