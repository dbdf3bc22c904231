//! Events that hosts and users send with `EmitAuditEvent`: checked, then recorded in this
//! process's chain with the server's receive time and the caller as their emitter.
//!
//! What the message says is the emitter's claim and is kept as such: its time goes into the
//! fields as [`OCCURRED`]; the event's `time` is when the server received it, and its
//! `emitter` is the caller's identity, which the message cannot name. Hosts (callers with a
//! system role: `Node`, `Proxy`, `App`, `Kube`, ...) report on users' sessions and may name
//! any user; a user may only name itself (an empty user means itself). `Index` belongs to
//! session recordings (`CreateAuditStream`) and is not kept here.

use portcullis_api::events::OneOf;
use portcullis_ca::Identity;
use prost::Message;
use serde_json::Value;

use super::chain::NewEvent;
use super::{AuditError, AuditEvent, AuditLog};

/// The largest event accepted, encoded (64 KiB).
pub const MAX_EVENT_BYTES: usize = 64 * 1024;

/// The field that keeps the time the emitter said the event happened (RFC 3339).
pub const OCCURRED: &str = "occurred";

/// Longest event type.
const MAX_TYPE_LEN: usize = 128;
/// Longest event code.
const MAX_CODE_LEN: usize = 64;

impl AuditLog {
    /// Records `event`, sent by `caller` to the cluster `cluster_name`; returns it as stored.
    /// A refused event stores nothing.
    pub async fn ingest(
        &self,
        caller: &Identity,
        cluster_name: &str,
        event: &OneOf,
    ) -> Result<AuditEvent, AuditError> {
        let new = check(caller, cluster_name, event)?;
        tracing::info!(
            target: "portcullis::audit",
            event = %new.event, user = %new.user, emitter = %new.emitter, details = %new.fields,
            "audit event"
        );
        let mut stored = self.append(vec![new]).await?;
        stored
            .pop()
            .ok_or_else(|| AuditError::Writer("the event was not written".into()))
    }
}

/// The event `caller` sent, as it will be recorded, or why it is refused.
pub fn check(caller: &Identity, cluster_name: &str, event: &OneOf) -> Result<NewEvent, AuditError> {
    let size = event.encoded_len();
    if size > MAX_EVENT_BYTES {
        return Err(AuditError::TooLarge {
            size,
            limit: MAX_EVENT_BYTES,
        });
    }
    if caller.username.is_empty() {
        return Err(invalid("the caller's identity has no name"));
    }
    check_type(&event.r#type)?;
    check_code(&event.code)?;
    if !event.cluster_name.is_empty() && event.cluster_name != cluster_name {
        return Err(invalid(format!(
            "the event is for cluster `{}`, this is cluster `{cluster_name}`",
            event.cluster_name
        )));
    }
    let host = !caller.system_roles.is_empty();
    let user = if event.user.is_empty() {
        // A user's event is its own; a host's may be about no user.
        if host {
            String::new()
        } else {
            caller.username.clone()
        }
    } else {
        portcullis_api::validate::validate_name("user", &event.user).map_err(|e| invalid(e.0))?;
        if !host && event.user != caller.username {
            return Err(AuditError::OnBehalf {
                caller: caller.username.clone(),
                user: event.user.clone(),
            });
        }
        event.user.clone()
    };
    let mut fields = if event.fields.trim().is_empty() {
        serde_json::Map::new()
    } else {
        match serde_json::from_str::<Value>(&event.fields) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(invalid("the event's fields must be a JSON object")),
            Err(e) => {
                return Err(invalid(format!("the event's fields are not JSON: {e}")));
            }
        }
    };
    if fields.contains_key(OCCURRED) {
        return Err(invalid(format!(
            "the event's fields may not hold `{OCCURRED}`: the server sets it from the event's time"
        )));
    }
    if let Some(time) = &event.time {
        let at = std::time::SystemTime::try_from(*time)
            .map_err(|e| invalid(format!("the event's time is not valid: {e}")))?;
        let at = humantime::format_rfc3339_nanos(at).to_string();
        fields.insert(OCCURRED.to_owned(), Value::String(at));
    }
    Ok(NewEvent {
        event: event.r#type.clone(),
        user,
        emitter: caller.username.clone(),
        code: event.code.clone(),
        fields: Value::Object(fields),
    })
}

fn invalid(message: impl Into<String>) -> AuditError {
    AuditError::Invalid(message.into())
}

/// An event type: a letter or digit, then letters, digits and `.`, `_`, `-`, `:`
/// (`session.start`, `app.session.chunk`, `exec`).
fn check_type(kind: &str) -> Result<(), AuditError> {
    if kind.is_empty() {
        return Err(invalid("the event has no type"));
    }
    if kind.len() > MAX_TYPE_LEN {
        return Err(invalid(format!(
            "event type `{kind}` is longer than {MAX_TYPE_LEN} bytes"
        )));
    }
    let starts_well = kind.starts_with(|c: char| c.is_ascii_alphanumeric());
    if !starts_well
        || !kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-:".contains(c))
    {
        return Err(invalid(format!(
            "event type `{}` is not a name: letters, digits and `.`, `_`, `-`, `:`, starting with a letter or digit",
            kind.escape_debug()
        )));
    }
    Ok(())
}

/// An event code: empty, or letters, digits and `.`, `_`, `-` (`T2000I`).
fn check_code(code: &str) -> Result<(), AuditError> {
    if code.len() > MAX_CODE_LEN {
        return Err(invalid(format!(
            "event code `{code}` is longer than {MAX_CODE_LEN} bytes"
        )));
    }
    if !code
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(invalid(format!(
            "event code `{}` may only hold letters, digits and `.`, `_`, `-`",
            code.escape_debug()
        )));
    }
    Ok(())
}
