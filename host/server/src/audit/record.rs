//! How an audit event is stored: an envelope `{"body": TEXT, "digest": HEX}` whose body is
//! the event's JSON text kept verbatim as a string, so the bytes that were hashed are the
//! bytes that are stored (re-serializing parsed JSON could order keys or print numbers
//! differently), and whose digest is SHA-256 over the previous event's digest (hex, empty
//! for the first event of a chain) followed by the body's bytes.
//!
//! The body names its chain, its position in it and the previous digest, so everything that
//! places the event in its chain is covered by its own digest.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::AuditEvent;

/// The hashed part of a stored event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Body {
    /// The event's id (also its key under [`super::PREFIX`]).
    pub id: String,
    /// The chain it belongs to.
    pub chain: String,
    /// Its position in the chain, from 0.
    pub seq: u64,
    /// The digest of the event before it in the chain (hex), empty for seq 0.
    pub prev: String,
    /// When the server recorded it, RFC 3339 with nanoseconds (UTC).
    pub time: String,
    /// Its type.
    pub event: String,
    /// The user it is about.
    pub user: String,
    /// Who wrote it: empty for the server itself, else the identity that emitted it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub emitter: String,
    /// The emitter's event code, if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub code: String,
    /// The details (a JSON object).
    pub fields: Value,
}

/// What is stored under an event's key.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Envelope {
    /// The body's JSON text, verbatim.
    pub body: String,
    /// SHA-256 over the previous digest and the body, hex.
    pub digest: String,
}

/// An event as written before the audit log was chained: no envelope, no digest.
#[derive(Debug, Deserialize)]
struct Unchained {
    id: String,
    time: String,
    event: String,
    user: String,
    fields: Value,
}

/// A stored event, decoded.
#[derive(Debug)]
pub(super) enum Stored {
    /// A chained event: its body, the body's text as stored, and the digest stored with it.
    Chained {
        /// The parsed body.
        body: Body,
        /// The body's text, the bytes its digest covers.
        text: String,
        /// The digest stored beside it.
        digest: String,
    },
    /// An event without a chain (written before chaining, or by someone else).
    Unchained(AuditEvent),
}

/// SHA-256 over `prev` (hex text) followed by `body`, as lowercase hex.
pub(super) fn digest(prev: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev.as_bytes());
    hasher.update(body);
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The stored form of `body`: its text and the envelope's bytes (with the digest over
/// `body.prev` and the text).
pub(super) fn encode(body: &Body) -> Result<(String, Vec<u8>), serde_json::Error> {
    let text = serde_json::to_string(body)?;
    let envelope = Envelope {
        digest: digest(&body.prev, text.as_bytes()),
        body: text,
    };
    let value = serde_json::to_vec(&envelope)?;
    Ok((envelope.digest, value))
}

/// Decodes a stored value; the error says why it is unreadable.
pub(super) fn decode(value: &[u8]) -> Result<Stored, String> {
    if let Ok(envelope) = serde_json::from_slice::<Envelope>(value) {
        let body: Body = serde_json::from_str(&envelope.body)
            .map_err(|e| format!("its body is not an audit event: {e}"))?;
        return Ok(Stored::Chained {
            body,
            text: envelope.body,
            digest: envelope.digest,
        });
    }
    match serde_json::from_slice::<Unchained>(value) {
        Ok(old) => Ok(Stored::Unchained(AuditEvent {
            id: old.id,
            time: old.time,
            event: old.event,
            user: old.user,
            fields: old.fields,
            ..AuditEvent::default()
        })),
        Err(e) => Err(format!("not an audit event: {e}")),
    }
}

impl Stored {
    /// The event as searches return it.
    pub fn into_event(self) -> AuditEvent {
        match self {
            Stored::Chained { body, digest, .. } => AuditEvent {
                id: body.id,
                time: body.time,
                event: body.event,
                user: body.user,
                fields: body.fields,
                emitter: body.emitter,
                code: body.code,
                chain: body.chain,
                seq: body.seq,
                digest,
            },
            Stored::Unchained(event) => event,
        }
    }
}
