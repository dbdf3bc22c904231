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

/// An event on its way into a part. Its fields stay the JSON text that arrived (checked
/// to be one object, on one line), so writing the part copies them instead of encoding
/// them again: most of a recording is terminal output in `print` events' fields.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Position in the recording, from 0.
    pub index: i64,
    /// Event type.
    pub event_type: String,
    /// Event code, if given.
    pub code: String,
    /// When it happened (RFC 3339 with nanoseconds), as the emitter says.
    pub time: String,
    /// The user who caused it, if any.
    pub user: String,
    /// The fields: the text of one JSON object without line breaks.
    pub fields: String,
}

impl NewEvent {
    /// Checks an event as it arrived; the error says what is wrong with its fields.
    pub fn from_api(event: &OneOf) -> Result<Self, String> {
        let text = event.fields.trim();
        let fields = if text.is_empty() {
            "{}".to_owned()
        } else {
            if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
                return Err(format!(
                    "fields of event {} are not valid JSON: {e}",
                    event.index
                ));
            }
            if !text.starts_with('{') {
                return Err(format!(
                    "fields of event {} are not a JSON object",
                    event.index
                ));
            }
            if text.contains(['\n', '\r']) {
                // Line breaks between tokens: the compact form fits on the part's line.
                serde_json::from_str::<Value>(text)
                    .map(|v| v.to_string())
                    .map_err(|e| format!("fields of event {}: {e}", event.index))?
            } else {
                text.to_owned()
            }
        };
        let time = event
            .time
            .and_then(to_system_time)
            .map(|t| humantime::format_rfc3339_nanos(t).to_string())
            .unwrap_or_default();
        Ok(NewEvent {
            index: event.index,
            event_type: event.r#type.clone(),
            code: event.code.clone(),
            time,
            user: event.user.clone(),
            fields,
        })
    }

    /// The event as a part stores it, its fields parsed.
    pub fn stored(&self) -> Result<StoredEvent, String> {
        let fields = serde_json::from_str(&self.fields)
            .map_err(|e| format!("fields of event {}: {e}", self.index))?;
        Ok(StoredEvent {
            index: self.index,
            event_type: self.event_type.clone(),
            code: self.code.clone(),
            time: self.time.clone(),
            user: self.user.clone(),
            fields,
        })
    }

    /// Appends the event's line: the JSON object [`StoredEvent`] reads back.
    fn write_line(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        out.extend_from_slice(b"{\"index\":");
        out.extend_from_slice(self.index.to_string().as_bytes());
        out.extend_from_slice(b",\"type\":");
        serde_json::to_writer(&mut *out, &self.event_type)?;
        if !self.code.is_empty() {
            out.extend_from_slice(b",\"code\":");
            serde_json::to_writer(&mut *out, &self.code)?;
        }
        out.extend_from_slice(b",\"time\":");
        serde_json::to_writer(&mut *out, &self.time)?;
        if !self.user.is_empty() {
            out.extend_from_slice(b",\"user\":");
            serde_json::to_writer(&mut *out, &self.user)?;
        }
        out.extend_from_slice(b",\"fields\":");
        out.extend_from_slice(self.fields.as_bytes());
        out.extend_from_slice(b"}\n");
        Ok(())
    }
}

impl From<&StoredEvent> for NewEvent {
    fn from(event: &StoredEvent) -> Self {
        NewEvent {
            index: event.index,
            event_type: event.event_type.clone(),
            code: event.code.clone(),
            time: event.time.clone(),
            user: event.user.clone(),
            fields: event.fields.to_string(),
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
/// stored value, its header and the size of its body.
pub fn encode(
    seq: u64,
    prev: &str,
    events: &[NewEvent],
) -> Result<(Vec<u8>, PartHeader, usize), String> {
    let mut body = Vec::with_capacity(events.iter().map(|e| e.fields.len() + 128).sum());
    for event in events {
        event
            .write_line(&mut body)
            .map_err(|e| format!("cannot encode an event: {e}"))?;
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
    Ok((value, header, body.len()))
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
        let (value, header, body) =
            encode(0, "", &[(&event(0)).into(), (&event(1)).into()]).unwrap();
        assert_eq!(Part::decode(&value).unwrap().body.len(), body);
        let part = Part::decode(&value).unwrap();
        assert_eq!(part.header, header);
        assert_eq!((header.first, header.last), (0, 1));
        part.check().unwrap();
        assert_eq!(part.events().unwrap(), vec![event(0), event(1)]);

        let (next, next_header, _) = encode(1, &header.digest, &[(&event(2)).into()]).unwrap();
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
        let new = NewEvent::from_api(&api).unwrap();
        assert_eq!(new.stored().unwrap(), event(3));
    }

    #[test]
    fn fields_must_be_one_json_object_and_are_kept_on_one_line() {
        let mut api = event(0).to_api("example");
        api.fields = "{\n  \"a\": 1.50,\n  \"b\": \"x\"\n}".into();
        let new = NewEvent::from_api(&api).unwrap();
        assert!(!new.fields.contains('\n'), "{}", new.fields);
        let (value, _, _) = encode(0, "", &[new]).unwrap();
        let events = Part::decode(&value).unwrap().events().unwrap();
        assert_eq!(events[0].fields, json!({"a": 1.5, "b": "x"}));
        api.fields = "[1]".into();
        assert!(NewEvent::from_api(&api)
            .unwrap_err()
            .contains("not a JSON object"));
        api.fields = "{".into();
        assert!(NewEvent::from_api(&api)
            .unwrap_err()
            .contains("not valid JSON"));
        api.fields = String::new();
        assert_eq!(NewEvent::from_api(&api).unwrap().fields, "{}");
    }
}
