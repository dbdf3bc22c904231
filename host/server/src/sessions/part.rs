//! Parts: the chunks a recording is stored in, each one store value well under etcd's
//! request limit, linked by a SHA-256 chain.
//!
//! A part is a header line (JSON) and a body of JSON lines, one event per line. The part's
//! digest is SHA-256 over the previous part's digest (hex, empty for the first part) and
//! the body bytes exactly as stored, so the chain is checked without re-encoding anything.

use portcullis_api::events::OneOf;
use portcullis_api::time::{to_system_time, to_timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// One event as a part stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// Position in the recording, from 0.
    pub index: i64,
    /// Event type (`session.start`, `print`, ...).
    #[serde(rename = "type")]
    pub event_type: String,
    /// Event code, if given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub code: String,
    /// When it happened (RFC 3339 with nanoseconds), as the emitter says.
    pub time: String,
    /// The user who caused it, if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// Every other field (a JSON object).
    pub fields: Value,
}

impl StoredEvent {
    /// The event as it arrived, with its fields already parsed.
    pub fn from_api(event: &OneOf, fields: Value) -> Self {
        let time = event
            .time
            .and_then(to_system_time)
            .map(|t| humantime::format_rfc3339_nanos(t).to_string())
            .unwrap_or_default();
        StoredEvent {
            index: event.index,
            event_type: event.r#type.clone(),
            code: event.code.clone(),
            time,
            user: event.user.clone(),
            fields,
        }
    }

    /// The event as the API returns it.
    pub fn to_api(&self, cluster_name: &str) -> OneOf {
        OneOf {
            r#type: self.event_type.clone(),
            code: self.code.clone(),
            time: humantime::parse_rfc3339(&self.time).ok().map(to_timestamp),
            cluster_name: cluster_name.to_owned(),
            user: self.user.clone(),
            fields: if self.fields.as_object().is_some_and(|o| o.is_empty()) {
                String::new()
            } else {
                self.fields.to_string()
            },
            index: self.index,
        }
    }
}

/// What a part says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartHeader {
    /// Its number in the upload, from 0.
    pub seq: u64,
    /// Index of its first event.
    pub first: i64,
    /// Index of its last event.
    pub last: i64,
    /// Digest of the part before it (empty for part 0).
    pub prev: String,
    /// Its own digest.
    pub digest: String,
}

/// The digest of a body following the part with digest `prev`.
pub fn digest(prev: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev.as_bytes());
    hasher.update(body);
    hex::encode(hasher.finalize())
}

/// Encodes events (in index order, at least one) as part `seq` after digest `prev`: the
/// stored value and its header.
pub fn encode(
    seq: u64,
    prev: &str,
    events: &[StoredEvent],
) -> Result<(Vec<u8>, PartHeader), String> {
    let mut body = Vec::with_capacity(events.len() * 256);
    for event in events {
        serde_json::to_writer(&mut body, event)
            .map_err(|e| format!("cannot encode an event: {e}"))?;
        body.push(b'\n');
    }
    let header = PartHeader {
        seq,
        first: events.first().map(|e| e.index).unwrap_or(-1),
        last: events.last().map(|e| e.index).unwrap_or(-1),
        prev: prev.to_owned(),
        digest: digest(prev, &body),
    };
    let mut value =
        serde_json::to_vec(&header).map_err(|e| format!("cannot encode a part: {e}"))?;
    value.push(b'\n');
    value.extend_from_slice(&body);
    Ok((value, header))
}

/// A stored part, split into its header and body.
pub struct Part<'a> {
    /// The header.
    pub header: PartHeader,
    /// The body: JSON lines.
    pub body: &'a [u8],
}

impl<'a> Part<'a> {
    /// Splits a stored value; the error says what is malformed.
    pub fn decode(value: &'a [u8]) -> Result<Self, String> {
        let split = value
            .iter()
            .position(|b| *b == b'\n')
            .ok_or("no header line")?;
        let header: PartHeader = serde_json::from_slice(&value[..split])
            .map_err(|e| format!("header is not valid: {e}"))?;
        Ok(Part {
            header,
            body: &value[split + 1..],
        })
    }

    /// Whether the body matches the header's digest.
    pub fn check(&self) -> Result<(), String> {
        let actual = digest(&self.header.prev, self.body);
        if actual == self.header.digest {
            Ok(())
        } else {
            Err(format!(
                "its digest is {actual}, its header says {}",
                self.header.digest
            ))
        }
    }

    /// The events of the body, in order.
    pub fn events(&self) -> Result<Vec<StoredEvent>, String> {
        self.body
            .split(|b| *b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| {
                serde_json::from_slice(line).map_err(|e| format!("an event is not valid: {e}"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(index: i64) -> StoredEvent {
        StoredEvent {
            index,
            event_type: "print".into(),
            code: String::new(),
            time: "2026-01-01T00:00:00.000000001Z".into(),
            user: "alice".into(),
            fields: json!({"data": "aGk=", "n": 1.5}),
        }
    }

    #[test]
    fn parts_round_trip_and_chain() {
        let (value, header) = encode(0, "", &[event(0), event(1)]).unwrap();
        let part = Part::decode(&value).unwrap();
        assert_eq!(part.header, header);
        assert_eq!((header.first, header.last), (0, 1));
        part.check().unwrap();
        assert_eq!(part.events().unwrap(), vec![event(0), event(1)]);

        let (next, next_header) = encode(1, &header.digest, &[event(2)]).unwrap();
        assert_eq!(Part::decode(&next).unwrap().header.prev, header.digest);
        assert_ne!(next_header.digest, header.digest);

        // One byte of the body changed: the digest no longer matches.
        let mut edited = value.clone();
        let at = edited.len() - 5;
        edited[at] ^= 1;
        assert!(Part::decode(&edited).unwrap().check().is_err());
    }

    #[test]
    fn events_convert_to_the_api_and_back() {
        let api = event(3).to_api("example");
        assert_eq!(api.index, 3);
        assert_eq!(api.cluster_name, "example");
        let fields: Value = serde_json::from_str(&api.fields).unwrap();
        assert_eq!(StoredEvent::from_api(&api, fields), event(3));
    }
}
