//! Uploads: a recording while it is streamed. The upload record says how far the
//! durable parts go (count, last event index, bytes, head digest) and what the session is
//! (from its `session.start`/`session.join`/`session.end` events); the parts hold the
//! events.
//!
//! Writing a part creates it, then moves the record on with a compare-and-swap: a second
//! stream on the same upload fails either write. A server that stopped between the two
//! leaves a part the record does not count yet; resuming adopts it.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::part::{Part, PartHeader, StoredEvent};
use super::SessionError;

/// Store key prefix of upload records.
pub const UPLOADS_PREFIX: &str = "/session_uploads/";
/// Store key prefix of parts: `/session_parts/UPLOAD/SEQ`.
pub const PARTS_PREFIX: &str = "/session_parts/";
/// How long an upload nobody writes stays listed as an active session.
pub const IDLE_TTL: Duration = Duration::from_secs(24 * 3600);

/// The store key of the record of upload `upload`.
pub fn upload_key(upload: &str) -> Vec<u8> {
    format!("{UPLOADS_PREFIX}{upload}").into_bytes()
}

/// The store key of part `seq` of upload `upload`.
pub fn part_key(upload: &str, seq: u64) -> Vec<u8> {
    format!("{PARTS_PREFIX}{upload}/{seq:010}").into_bytes()
}

/// What the events say about the session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// The Unix login.
    #[serde(default)]
    pub login: String,
    /// Users who took part, the owner first.
    #[serde(default)]
    pub participants: Vec<String>,
    /// The server the session ran on.
    #[serde(default)]
    pub server_id: String,
    /// Its host name.
    #[serde(default)]
    pub server_hostname: String,
    /// When it started (RFC 3339).
    #[serde(default)]
    pub started: String,
    /// When it ended (RFC 3339).
    #[serde(default)]
    pub ended: String,
}

fn text(fields: &Value, name: &str) -> Option<String> {
    fields
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl Meta {
    /// Learns from `event` (the session events Teleport's nodes send).
    pub fn learn(&mut self, event: &StoredEvent) {
        let fields = &event.fields;
        match event.event_type.as_str() {
            "session.start" => {
                if let Some(login) = text(fields, "login") {
                    self.login = login;
                }
                if let Some(id) = text(fields, "server_id") {
                    self.server_id = id;
                }
                if let Some(host) = text(fields, "server_hostname") {
                    self.server_hostname = host;
                }
                if self.started.is_empty() {
                    self.started = event.time.clone();
                }
                self.join(&event.user);
            }
            "session.join" => self.join(&event.user),
            "session.end" => {
                self.ended = event.time.clone();
                if let Some(list) = fields.get("participants").and_then(Value::as_array) {
                    for user in list.iter().filter_map(Value::as_str) {
                        self.join(user);
                    }
                }
            }
            _ => {}
        }
    }

    fn join(&mut self, user: &str) {
        if !user.is_empty() && !self.participants.iter().any(|p| p == user) {
            self.participants.push(user.to_owned());
        }
    }
}

/// The record of an upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Upload {
    /// Its ID (what a client resumes with).
    pub upload_id: String,
    /// The session it records.
    pub session_id: String,
    /// Who streams it.
    pub emitter: String,
    /// When it was created (RFC 3339).
    pub created: String,
    /// When a part was last written (RFC 3339).
    pub updated: String,
    /// Whether it became a recording.
    #[serde(default)]
    pub complete: bool,
    /// Parts written.
    pub parts: u64,
    /// Index of the last durable event (-1: none).
    pub last_index: i64,
    /// Bytes of durable events.
    pub bytes: u64,
    /// Digest of the last part (empty: none).
    pub digest: String,
    /// What the events say about the session.
    #[serde(default)]
    pub meta: Meta,
}

impl Upload {
    /// A new, empty upload.
    pub fn new(session_id: &str, emitter: &str, now: SystemTime) -> Self {
        let now = humantime::format_rfc3339_nanos(now).to_string();
        Upload {
            upload_id: uuid::Uuid::new_v4().to_string(),
            session_id: session_id.to_owned(),
            emitter: emitter.to_owned(),
            created: now.clone(),
            updated: now,
            complete: false,
            parts: 0,
            last_index: -1,
            bytes: 0,
            digest: String::new(),
            meta: Meta::default(),
        }
    }

    /// Decodes a stored record.
    pub fn decode(key: &[u8], value: &[u8]) -> Result<Self, SessionError> {
        serde_json::from_slice(value).map_err(|e| {
            crate::resources::ResourceError::Corrupt {
                kind: "session upload",
                key: String::from_utf8_lossy(key).into_owned(),
                reason: e.to_string(),
            }
            .into()
        })
    }

    /// The record as stored.
    pub fn encode(&self) -> Result<Vec<u8>, SessionError> {
        serde_json::to_vec(self)
            .map_err(|e| SessionError::Invalid(format!("cannot encode upload: {e}")))
    }

    /// Counts part `part` (stored as `value`) as written: it must follow the last one.
    pub fn adopt(&mut self, value: &[u8]) -> Result<(), SessionError> {
        let damaged = |reason: String| SessionError::Damaged {
            session: self.session_id.clone(),
            part: self.parts,
            reason,
        };
        let part = Part::decode(value).map_err(damaged)?;
        part.check().map_err(damaged)?;
        if part.header.prev != self.digest || part.header.first != self.last_index + 1 {
            return Err(damaged(format!(
                "it does not follow part {} (index {})",
                self.parts.saturating_sub(1),
                self.last_index
            )));
        }
        for event in part.events().map_err(damaged)? {
            self.meta.learn(&event);
        }
        let body_bytes = part.body.len();
        self.advance(part.header, body_bytes);
        Ok(())
    }

    /// Counts a part this process just encoded (so its checks are not needed): `header`,
    /// with a body of `body_bytes`.
    pub fn advance(&mut self, header: PartHeader, body_bytes: usize) {
        self.parts += 1;
        self.last_index = header.last;
        self.bytes += body_bytes as u64;
        self.digest = header.digest;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(index: i64, event_type: &str, user: &str, fields: Value) -> StoredEvent {
        StoredEvent {
            index,
            event_type: event_type.into(),
            code: String::new(),
            time: format!("2026-01-01T00:00:0{index}Z"),
            user: user.into(),
            fields,
        }
    }

    #[test]
    fn meta_follows_start_join_and_end() {
        let mut meta = Meta::default();
        meta.learn(&event(
            0,
            "session.start",
            "alice",
            json!({"login": "root", "server_id": "node-1", "server_hostname": "db1"}),
        ));
        meta.learn(&event(1, "print", "alice", json!({"data": "aGk="})));
        meta.learn(&event(2, "session.join", "bob", json!({})));
        meta.learn(&event(
            3,
            "session.end",
            "alice",
            json!({"participants": ["alice", "bob", "carol"]}),
        ));
        assert_eq!(meta.login, "root");
        assert_eq!(meta.server_id, "node-1");
        assert_eq!(meta.server_hostname, "db1");
        assert_eq!(meta.participants, ["alice", "bob", "carol"]);
        assert_eq!(meta.started, "2026-01-01T00:00:00Z");
        assert_eq!(meta.ended, "2026-01-01T00:00:03Z");
    }

    #[test]
    fn adopting_a_part_checks_that_it_follows() {
        let mut upload = Upload::new("s1", "node", portcullis_clock::now());
        let (first, header, _) = super::super::part::encode(
            0,
            "",
            &[(&event(0, "session.start", "alice", json!({}))).into()],
        )
        .unwrap();
        upload.adopt(&first).unwrap();
        assert_eq!((upload.parts, upload.last_index), (1, 0));
        assert_eq!(upload.digest, header.digest);
        // The same part again does not follow itself.
        assert!(matches!(
            upload.adopt(&first),
            Err(SessionError::Damaged { part: 1, .. })
        ));
    }
}
