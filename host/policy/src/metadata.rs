//! The `portcullis.metadata` custom section (ABI.md §2): parsing and its field rules.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{PolicyError, Result};

/// Name of the custom section that carries the metadata.
pub const METADATA_SECTION: &str = "portcullis.metadata";

/// A kind of hook a module implements (the `hooks` field of the metadata).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookKind {
    /// `portcullis_where`: a `where` predicate.
    Where,
    /// `portcullis_action`: an entry of a rule's `actions`.
    Action,
    /// `portcullis_access_request`: custom approval logic.
    AccessRequest,
    /// `portcullis_fn_<name>`: extra functions for `where` expressions.
    Function,
}

impl HookKind {
    /// The name used in the metadata (`where`, `action`, `access_request`, `function`).
    pub fn as_str(self) -> &'static str {
        match self {
            HookKind::Where => "where",
            HookKind::Action => "action",
            HookKind::AccessRequest => "access_request",
            HookKind::Function => "function",
        }
    }
}

impl fmt::Display for HookKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A host capability a module asks for (the `capabilities` field of the metadata).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// `log`: the `portcullis.log` import.
    Log,
    /// `time`: the `portcullis.now_ms` import.
    Time,
    /// `input`: the `portcullis.input_get` and `portcullis.input_get_json` imports.
    Input,
    /// `lookup:KIND`: the `portcullis.lookup` import for resources of `KIND`.
    Lookup(String),
    /// `call`: the `portcullis.call` import.
    Call,
}

impl Capability {
    /// Parses one entry of `capabilities`.
    pub fn parse(s: &str) -> Option<Capability> {
        match s {
            "log" => Some(Capability::Log),
            "time" => Some(Capability::Time),
            "input" => Some(Capability::Input),
            "call" => Some(Capability::Call),
            _ => {
                let kind = s.strip_prefix("lookup:")?;
                let ok = !kind.is_empty()
                    && kind.len() <= 64
                    && kind.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                    });
                ok.then(|| Capability::Lookup(kind.to_owned()))
            }
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Capability::Log => f.write_str("log"),
            Capability::Time => f.write_str("time"),
            Capability::Input => f.write_str("input"),
            Capability::Lookup(kind) => write!(f, "lookup:{kind}"),
            Capability::Call => f.write_str("call"),
        }
    }
}

/// The raw JSON shape of the metadata; unknown fields are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetadata {
    abi: u64,
    name: String,
    version: String,
    hooks: Vec<String>,
    #[serde(default)]
    functions: Vec<String>,
    #[serde(default)]
    capabilities: Vec<String>,
    #[serde(default)]
    input_mode: Option<String>,
}

/// How a hook receives its input (the `input_mode` field of the metadata, ABI.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputMode {
    /// `copy` (the default): the input JSON is written into the module's memory.
    #[default]
    Copy,
    /// `pull`: nothing is written (the hook gets `(0, 0)`); the module reads the values it
    /// needs with `input_get`/`input_get_json`.
    Pull,
}

impl InputMode {
    /// The metadata spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            InputMode::Copy => "copy",
            InputMode::Pull => "pull",
        }
    }
}

/// The metadata of a module, checked against the rules of ABI.md §2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// Informational name, `[a-z0-9-_]{1,64}`.
    pub name: String,
    /// Free-text version.
    pub version: String,
    /// The hooks implemented (non-empty, no duplicates).
    pub hooks: BTreeSet<HookKind>,
    /// Names of extra functions (`portcullis_fn_<name>`).
    pub functions: BTreeSet<String>,
    /// The host capabilities asked for.
    pub capabilities: BTreeSet<Capability>,
    /// How hooks receive their input.
    pub input_mode: InputMode,
}

fn invalid(reason: impl Into<String>) -> PolicyError {
    PolicyError::InvalidMetadata {
        reason: reason.into(),
    }
}

fn valid_module_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Whether `name` is a valid extra-function name (`[a-z_][a-z0-9_]*`).
pub fn valid_function_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_lowercase() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Metadata {
    /// Parses the metadata from the bytes of the custom section.
    pub fn parse(bytes: &[u8]) -> Result<Metadata> {
        let text = std::str::from_utf8(bytes).map_err(|e| invalid(format!("not UTF-8: {e}")))?;
        Metadata::parse_str(text)
    }

    /// Parses the metadata from JSON text.
    pub fn parse_str(text: &str) -> Result<Metadata> {
        let raw: RawMetadata = serde_json::from_str(text)
            .map_err(|e| invalid(format!("not valid metadata JSON: {e}")))?;
        if raw.abi != 1 {
            return Err(invalid(format!("`abi` is `{}`, expected `1`", raw.abi)));
        }
        Metadata::checked(raw)
    }

    /// The metadata of an ABI v2 component: what its `describe.get` returned, with the
    /// hooks its exports implement, checked against the same rules.
    pub(crate) fn from_parts(
        name: String,
        version: String,
        hooks: Vec<String>,
        functions: Vec<String>,
        capabilities: Vec<String>,
    ) -> Result<Metadata> {
        Metadata::checked(RawMetadata {
            abi: 2,
            name,
            version,
            hooks,
            functions,
            capabilities,
            input_mode: None,
        })
    }

    /// The metadata of a component before its `describe.get` has answered: no capability.
    pub(crate) fn placeholder() -> Metadata {
        Metadata {
            name: "(component being loaded)".to_owned(),
            version: String::new(),
            hooks: BTreeSet::new(),
            functions: BTreeSet::new(),
            capabilities: BTreeSet::new(),
            input_mode: InputMode::Copy,
        }
    }

    fn checked(raw: RawMetadata) -> Result<Metadata> {
        if !valid_module_name(&raw.name) {
            return Err(invalid(format!(
                "`name` is `{}`, expected 1-64 characters of [a-z0-9-_]",
                raw.name
            )));
        }
        if raw.hooks.is_empty() {
            return Err(invalid("`hooks` is empty, expected at least one hook"));
        }
        let mut hooks = BTreeSet::new();
        for hook in &raw.hooks {
            let kind = match hook.as_str() {
                "where" => HookKind::Where,
                "action" => HookKind::Action,
                "access_request" => HookKind::AccessRequest,
                "function" => HookKind::Function,
                other => {
                    return Err(invalid(format!(
                        "unknown hook `{other}` (known: where, action, access_request, function)"
                    )))
                }
            };
            if !hooks.insert(kind) {
                return Err(invalid(format!("hook `{hook}` is listed twice")));
            }
        }
        let mut functions = BTreeSet::new();
        for function in &raw.functions {
            if !valid_function_name(function) {
                return Err(invalid(format!(
                    "function name `{function}` is not [a-z_][a-z0-9_]*"
                )));
            }
            if !functions.insert(function.clone()) {
                return Err(invalid(format!("function `{function}` is listed twice")));
            }
        }
        match (hooks.contains(&HookKind::Function), functions.is_empty()) {
            (true, true) => {
                return Err(invalid(
                    "`hooks` contains `function` but `functions` is empty",
                ))
            }
            (false, false) => {
                return Err(invalid(
                    "`functions` is not empty but `hooks` does not contain `function`",
                ))
            }
            _ => {}
        }
        let mut capabilities = BTreeSet::new();
        for cap in &raw.capabilities {
            let parsed = Capability::parse(cap).ok_or_else(|| {
                invalid(format!(
                    "unknown capability `{cap}` (known: log, time, input, lookup:KIND, call)"
                ))
            })?;
            if !capabilities.insert(parsed) {
                return Err(invalid(format!("capability `{cap}` is listed twice")));
            }
        }
        let input_mode = match raw.input_mode.as_deref() {
            None | Some("copy") => InputMode::Copy,
            Some("pull") if capabilities.contains(&Capability::Input) => InputMode::Pull,
            Some("pull") => {
                return Err(invalid(
                    "`input_mode` is `pull` but `capabilities` lacks `input` (a pulling module reads its input with input_get)",
                ))
            }
            Some(other) => {
                return Err(invalid(format!(
                    "unknown `input_mode` `{other}` (known: copy, pull)"
                )))
            }
        };
        Ok(Metadata {
            name: raw.name,
            version: raw.version,
            hooks,
            functions,
            capabilities,
            input_mode,
        })
    }

    /// Whether the module may look up resources of `kind`.
    pub fn may_lookup(&self, kind: &str) -> bool {
        self.capabilities
            .iter()
            .any(|c| matches!(c, Capability::Lookup(k) if k == kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_abi_example() {
        let m = Metadata::parse_str(
            r#"{"abi":1,"name":"approve-dba","version":"1.0.0","hooks":["access_request"],
                "functions":[],"capabilities":["log","time","lookup:role"]}"#,
        )
        .unwrap();
        assert_eq!(m.name, "approve-dba");
        assert!(m.hooks.contains(&HookKind::AccessRequest));
        assert!(m.may_lookup("role"));
        assert!(!m.may_lookup("user"));
    }

    fn err(json: &str) -> String {
        Metadata::parse_str(json).unwrap_err().to_string()
    }

    #[test]
    fn refuses_rule_breakers() {
        assert!(
            err(r#"{"abi":2,"name":"a","version":"1","hooks":["where"]}"#).contains("`abi` is `2`")
        );
        assert!(
            err(r#"{"abi":1,"name":"A b","version":"1","hooks":["where"]}"#).contains("`name`")
        );
        assert!(err(r#"{"abi":1,"name":"","version":"1","hooks":["where"]}"#).contains("`name`"));
        assert!(
            err(r#"{"abi":1,"name":"a","version":"1","hooks":[]}"#).contains("`hooks` is empty")
        );
        assert!(
            err(r#"{"abi":1,"name":"a","version":"1","hooks":["wher"]}"#)
                .contains("unknown hook `wher`")
        );
        assert!(
            err(r#"{"abi":1,"name":"a","version":"1","hooks":["function"]}"#)
                .contains("`functions` is empty")
        );
        assert!(
            err(r#"{"abi":1,"name":"a","version":"1","hooks":["where"],"functions":["f"]}"#)
                .contains("does not contain `function`")
        );
        assert!(err(
            r#"{"abi":1,"name":"a","version":"1","hooks":["function"],"functions":["Bad"]}"#
        )
        .contains("`Bad`"));
        assert!(err(
            r#"{"abi":1,"name":"a","version":"1","hooks":["where"],"capabilities":["net"]}"#
        )
        .contains("unknown capability `net`"));
        assert!(
            err(r#"{"abi":1,"name":"a","version":"1","hooks":["where"],"capabilites":[]}"#)
                .contains("unknown field `capabilites`")
        );
        assert!(
            err(r#"{"abi":1,"name":"a","version":"1","hooks":["where","where"]}"#)
                .contains("twice")
        );
        assert!(err("not json").contains("not valid metadata JSON"));
        assert!(
            err(r#"{"abi":1,"name":"a","version":"1","hooks":["where"],"input_mode":"pull"}"#)
                .contains("lacks `input`")
        );
        assert!(
            err(r#"{"abi":1,"name":"a","version":"1","hooks":["where"],"input_mode":"push"}"#)
                .contains("unknown `input_mode` `push` (known: copy, pull)")
        );
    }
}
