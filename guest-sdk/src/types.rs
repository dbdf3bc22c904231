//! Typed inputs and outputs of the hooks (ABI.md §4).
//!
//! Every input type ignores unknown fields and defaults missing ones, as ABI 1 allows the
//! server to add fields to inputs.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A resource (a role, a node, an access request, ...) as the API's JSON shows it, or `{}`
/// when the rule is not about one resource.
pub type Resource = Value;

/// Input of the `where` hook (§4.1): the rule's `where` text and what it is evaluated on.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct WhereInput {
    /// The `where` expression (a module implementing a fixed predicate may ignore it).
    pub expression: String,
    /// The user resource, e.g. `{"kind":"user","metadata":{"name":"alice"},"spec":{...}}`.
    pub user: Value,
    /// The resource the rule is about, or `{}`.
    pub resource: Resource,
    /// The verb being checked, e.g. `read`.
    pub verb: String,
    /// The kind of resource being checked, e.g. `role`.
    pub kind: String,
}

/// Input of the `action` hook (§4.2): the same object as for `where`, with `expression`
/// holding one entry of the rule's `actions` list.
pub type ActionInput = WhereInput;

/// Input of an extra function `portcullis_fn_<name>` (§4.4).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct FunctionInput {
    /// The arguments of the call, as JSON values.
    pub args: Vec<Value>,
    /// The user resource of the enclosing `where` evaluation.
    pub user: Value,
    /// The resource of the enclosing `where` evaluation, or `{}`.
    pub resource: Resource,
}

/// Input of the `access_request` hook (§4.3).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct AccessRequestInput {
    /// The access request being decided.
    pub request: AccessRequest,
    /// The user who made the request.
    pub requester: User,
    /// Reviews submitted so far.
    pub reviews: Vec<Review>,
    /// The server's current time, RFC 3339.
    pub now: String,
}

/// An access request (the `request` field of [`AccessRequestInput`]).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct AccessRequest {
    /// Unique id of the request.
    pub id: String,
    /// Name of the requesting user.
    pub user: String,
    /// Roles requested.
    pub roles: Vec<String>,
    /// State, e.g. `PENDING`.
    pub state: String,
    /// The requester's reason.
    pub reason: String,
    /// Annotations: names to lists of strings (e.g. `ticket`).
    pub annotations: BTreeMap<String, Vec<String>>,
    /// Creation time, RFC 3339.
    pub created: String,
    /// When the access would expire, RFC 3339.
    pub access_expiry: String,
}

impl AccessRequest {
    /// The first value of annotation `name`, if any.
    pub fn annotation(&self, name: &str) -> Option<&str> {
        self.annotations
            .get(name)
            .and_then(|values| values.first())
            .map(String::as_str)
    }
}

/// A user resource, reduced to the fields policies usually need. Other fields are ignored;
/// use the raw [`Value`] of a [`WhereInput`] for arbitrary fields.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct User {
    /// Resource kind (`user`).
    pub kind: String,
    /// Resource version (`v2`).
    pub version: String,
    /// Name and labels.
    pub metadata: Metadata,
    /// Roles and traits.
    pub spec: UserSpec,
}

impl User {
    /// The user's name (`metadata.name`).
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// The values of trait `name`; empty when the user has no such trait.
    pub fn traits(&self, name: &str) -> &[String] {
        self.spec.traits.get(name).map_or(&[], Vec::as_slice)
    }

    /// Reads the user from its JSON form (e.g. [`WhereInput::user`]).
    pub fn from_value(value: &Value) -> Result<Self, String> {
        User::deserialize(value).map_err(|e| alloc::format!("invalid user: {e}"))
    }
}

/// Resource metadata.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Metadata {
    /// Resource name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

/// The `spec` of a user.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct UserSpec {
    /// Roles the user holds.
    pub roles: Vec<String>,
    /// Traits: names to lists of strings.
    pub traits: BTreeMap<String, Vec<String>>,
}

/// A review of an access request.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Review {
    /// Who reviewed.
    pub author: String,
    /// `approve` or `deny`.
    pub verdict: Verdict,
    /// The reviewer's reason.
    pub reason: String,
    /// When, RFC 3339.
    pub created: String,
}

/// A verdict on an access request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Approve the request.
    Approve,
    /// Deny the request.
    Deny,
    /// Leave it to humans (the default).
    #[default]
    Pending,
}

/// Output of the `access_request` hook: a verdict with optional details. The host reads it
/// with this same type, refusing unknown fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// The verdict.
    pub verdict: Verdict,
    /// Why; recorded with the verdict.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Annotations to attach to the request.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, Vec<String>>,
    /// Users who should review the request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suggested_reviewers: Vec<String>,
}

impl Decision {
    /// A decision with `verdict` and `reason` and nothing else.
    pub fn new(verdict: Verdict, reason: impl Into<String>) -> Self {
        Decision {
            verdict,
            reason: reason.into(),
            annotations: BTreeMap::new(),
            suggested_reviewers: Vec::new(),
        }
    }

    /// Approves, with a reason.
    pub fn approve(reason: impl Into<String>) -> Self {
        Self::new(Verdict::Approve, reason)
    }

    /// Denies, with a reason.
    pub fn deny(reason: impl Into<String>) -> Self {
        Self::new(Verdict::Deny, reason)
    }

    /// Leaves the request pending (humans decide), with a reason.
    pub fn pending(reason: impl Into<String>) -> Self {
        Self::new(Verdict::Pending, reason)
    }

    /// Adds `value` to annotation `key`.
    pub fn annotate(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations
            .entry(key.into())
            .or_default()
            .push(value.into());
        self
    }

    /// Suggests a reviewer.
    pub fn suggest_reviewer(mut self, user: impl Into<String>) -> Self {
        self.suggested_reviewers.push(user.into());
        self
    }
}

/// A log level (§4.2, §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// `debug` (0).
    Debug,
    /// `info` (1).
    Info,
    /// `warn` (2).
    Warn,
    /// `error` (3).
    Error,
}

impl Level {
    /// The level of the `log` import's `level` argument, if it is 0..=3.
    pub fn from_i32(level: i32) -> Option<Level> {
        match level {
            0 => Some(Level::Debug),
            1 => Some(Level::Info),
            2 => Some(Level::Warn),
            3 => Some(Level::Error),
            _ => None,
        }
    }

    /// The level's number for the `log` import.
    pub fn as_i32(self) -> i32 {
        match self {
            Level::Debug => 0,
            Level::Info => 1,
            Level::Warn => 2,
            Level::Error => 3,
        }
    }

    /// The level's name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

impl core::fmt::Display for Level {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One effect of the `action` hook (§4.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Effect {
    /// `{"log": {"level": ..., "message": ...}}`: a line for the server log and audit log.
    Log {
        /// The level.
        level: Level,
        /// The message.
        message: String,
    },
    /// `{"annotate": {"key": ..., "value": ...}}`: an annotation on the audit event.
    Annotate {
        /// Annotation name.
        key: String,
        /// Annotation value.
        value: String,
    },
}

/// The class of a hook's error (ABI.md §3, the `kind` of an error output).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorKind {
    /// The evaluation failed; what an error output without `kind` means.
    #[default]
    Evaluation,
    /// The hook's `expression` is malformed (it does not parse): it fails whatever the
    /// input, so the server refuses a role whose `where` clause or action has one.
    Syntax,
}

impl ErrorKind {
    /// The kind's name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Evaluation => "evaluation",
            ErrorKind::Syntax => "syntax",
        }
    }

    /// Whether this is [`ErrorKind::Evaluation`], the kind an error output leaves out.
    pub fn is_evaluation(&self) -> bool {
        *self == ErrorKind::Evaluation
    }
}

impl core::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error output (ABI.md §3): `{"error": "message"}`, or `{"error": "message", "kind":
/// "syntax"}` for an expression that does not parse. A hook returning `Err(GuestError)`
/// reports its kind; any other `Err(E: Display)` is an evaluation failure.
///
/// It deliberately does not implement `Display` (that would make it one of the "other"
/// errors); read [`GuestError::message`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuestError {
    /// What went wrong.
    #[serde(rename = "error")]
    pub message: String,
    /// Its class; left out of the JSON when it is [`ErrorKind::Evaluation`].
    #[serde(default, skip_serializing_if = "ErrorKind::is_evaluation")]
    pub kind: ErrorKind,
}

impl GuestError {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        GuestError {
            message: message.into(),
            kind,
        }
    }

    /// A failed evaluation.
    pub fn evaluation(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Evaluation, message)
    }

    /// A malformed expression.
    pub fn syntax(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Syntax, message)
    }
}

/// What a hook's `Err` becomes in its error output: a [`GuestError`] as it is, anything
/// that implements `Display` an evaluation failure with that message.
pub trait IntoGuestError {
    /// The error output.
    fn into_guest_error(self) -> GuestError;
}

impl IntoGuestError for GuestError {
    fn into_guest_error(self) -> GuestError {
        self
    }
}

impl<E: core::fmt::Display> IntoGuestError for E {
    fn into_guest_error(self) -> GuestError {
        GuestError::evaluation(alloc::format!("{self}"))
    }
}

/// The raw input JSON of a hook, undecoded: for modules that read their input with
/// [`crate::host::input_get`] instead of parsing it (smaller, faster modules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawInput {
    /// The input JSON text.
    pub json: &'static str,
}

/// How a hook input is decoded from the bytes the host wrote.
pub trait HookInput: Sized {
    /// Decodes the input; the error becomes the hook's `{"error": ...}`.
    fn decode(bytes: &'static [u8]) -> Result<Self, String>;
}

impl HookInput for RawInput {
    fn decode(bytes: &'static [u8]) -> Result<Self, String> {
        core::str::from_utf8(bytes)
            .map(|json| RawInput { json })
            .map_err(|_| String::from("invalid input: not UTF-8"))
    }
}

macro_rules! serde_input {
    ($($ty:ty),*) => {$(
        impl HookInput for $ty {
            fn decode(bytes: &'static [u8]) -> Result<Self, String> {
                serde_json::from_slice(bytes).map_err(|e| alloc::format!("invalid input: {e}"))
            }
        }
    )*};
}

serde_input!(WhereInput, FunctionInput, AccessRequestInput, Value);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decision_serializes_without_empty_fields() {
        let d = Decision::pending("later");
        assert_eq!(
            serde_json::to_value(&d).unwrap(),
            json!({"verdict": "pending", "reason": "later"})
        );
        let d = Decision::approve("ok")
            .annotate("approved-by", "x")
            .suggest_reviewer("bob");
        assert_eq!(
            serde_json::to_value(&d).unwrap(),
            json!({"verdict": "approve", "reason": "ok",
                   "annotations": {"approved-by": ["x"]}, "suggested_reviewers": ["bob"]})
        );
    }

    #[test]
    fn effects_serialize_as_in_the_abi() {
        let effects = [
            Effect::Log {
                level: Level::Info,
                message: "hi".into(),
            },
            Effect::Annotate {
                key: "k".into(),
                value: "v".into(),
            },
        ];
        assert_eq!(
            serde_json::to_value(effects).unwrap(),
            json!([{"log": {"level": "info", "message": "hi"}},
                   {"annotate": {"key": "k", "value": "v"}}])
        );
    }

    #[test]
    fn inputs_ignore_unknown_and_default_missing_fields() {
        let input = AccessRequestInput::decode(
            br#"{"request":{"roles":["dba"],"annotations":{"ticket":["OPS-1"]},"new":1},
                 "reviews":[{"author":"bob","verdict":"approve"}],"extra":true}"#,
        )
        .unwrap();
        assert_eq!(input.request.roles, ["dba"]);
        assert_eq!(input.request.annotation("ticket"), Some("OPS-1"));
        assert_eq!(input.request.annotation("other"), None);
        assert_eq!(input.reviews[0].verdict, Verdict::Approve);
        assert_eq!(input.requester.name(), "");

        let input =
            WhereInput::decode(br#"{"expression":"x","user":{"spec":{"traits":{"team":["a"]}}}}"#)
                .unwrap();
        let user = User::from_value(&input.user).unwrap();
        assert_eq!(user.traits("team"), ["a"]);
        assert!(user.traits("none").is_empty());
        assert_eq!(input.resource, Value::Null);

        assert!(WhereInput::decode(b"{")
            .unwrap_err()
            .starts_with("invalid input: "));
        assert!(RawInput::decode(b"\xff").is_err());
        assert_eq!(RawInput::decode(b"{}").unwrap().json, "{}");
    }
}
