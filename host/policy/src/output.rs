//! Hook outputs (ABI.md §4): schema checks and typed forms.

use serde::Deserialize;
use serde_json::Value;

use crate::error::EvalError;
use crate::hook::Hook;

/// The output types modules write are the guest SDK's, so both sides agree by construction.
pub use portcullis_guest::{Decision, Effect, ErrorKind, Level, Verdict};

// An error output, `{"error": "message"}` with an optional `"kind"`: the guest SDK's type
// too.
use portcullis_guest::GuestError as ErrorOutput;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WhereOutput {
    result: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionOutput {
    effects: Vec<Effect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FunctionOutput {
    result: Value,
}

fn malformed(hook: &Hook, e: impl std::fmt::Display) -> EvalError {
    EvalError::MalformedOutput(format!("not a valid `{}` output: {e}", hook.kind()))
}

/// Parses the raw output bytes of `hook` and checks them against its schema.
///
/// An error output, `{"error": "..."}` with an optional `"kind"` (ABI.md §3), becomes
/// [`EvalError::Guest`].
pub(crate) fn parse_output(hook: &Hook, bytes: &[u8]) -> Result<Value, EvalError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| EvalError::MalformedOutput(format!("not UTF-8: {e}")))?;
    let value: Value = serde_json::from_str(text)
        .map_err(|e| EvalError::MalformedOutput(format!("not valid JSON: {e}")))?;
    if value
        .as_object()
        .is_some_and(|obj| obj.contains_key("error"))
    {
        return Err(match ErrorOutput::deserialize(&value) {
            Ok(error) => EvalError::guest(error.kind, error.message),
            Err(e) => EvalError::MalformedOutput(format!(
                "an error output must be `{{\"error\": \"<message>\"}}`, optionally with \
                 `\"kind\": \"syntax\"` or `\"kind\": \"evaluation\"`: {e}"
            )),
        });
    }
    check_schema(hook, &value)?;
    Ok(value)
}

fn check_schema(hook: &Hook, value: &Value) -> Result<(), EvalError> {
    match hook {
        Hook::Where => WhereOutput::deserialize(value).map(drop),
        Hook::Action => ActionOutput::deserialize(value).map(drop),
        Hook::AccessRequest => Decision::deserialize(value).map(drop),
        Hook::Function(_) => FunctionOutput::deserialize(value).map(drop),
    }
    .map_err(|e| malformed(hook, e))
}

/// The `result` of a checked `where` output.
pub(crate) fn where_result(value: &Value) -> Result<bool, EvalError> {
    WhereOutput::deserialize(value)
        .map(|o| o.result)
        .map_err(|e| malformed(&Hook::Where, e))
}

/// The effects of a checked `action` output.
pub(crate) fn action_effects(value: Value) -> Result<Vec<Effect>, EvalError> {
    ActionOutput::deserialize(value)
        .map(|o| o.effects)
        .map_err(|e| malformed(&Hook::Action, e))
}

/// The decision of a checked `access_request` output.
pub(crate) fn decision(value: Value) -> Result<Decision, EvalError> {
    Decision::deserialize(value).map_err(|e| malformed(&Hook::AccessRequest, e))
}

/// The `result` of a checked function output.
pub(crate) fn function_result(hook: &Hook, value: Value) -> Result<Value, EvalError> {
    FunctionOutput::deserialize(value)
        .map(|o| o.result)
        .map_err(|e| malformed(hook, e))
}

/// Reads what a module answered to `hook` as the engine does (UTF-8, JSON, an error
/// output or the hook's schema, then its typed form), without running a module: for the
/// fuzz targets and tools that replay recorded outputs.
pub fn check_output(hook: &Hook, bytes: &[u8]) -> Result<(), EvalError> {
    let value = parse_output(hook, bytes)?;
    match hook {
        Hook::Where => where_result(&value).map(drop),
        Hook::Action => action_effects(value).map(drop),
        Hook::AccessRequest => decision(value).map(drop),
        Hook::Function(_) => function_result(hook, value).map(drop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas() {
        assert!(parse_output(&Hook::Where, br#"{"result":true}"#).is_ok());
        assert!(matches!(
            parse_output(&Hook::Where, br#"{"result":"yes"}"#),
            Err(EvalError::MalformedOutput(_))
        ));
        assert_eq!(
            parse_output(&Hook::Where, br#"{"error":"no input"}"#),
            Err(EvalError::guest(ErrorKind::Evaluation, "no input"))
        );
        let v = parse_output(
            &Hook::Action,
            br#"{"effects":[{"log":{"level":"info","message":"m"}},{"annotate":{"key":"k","value":"v"}}]}"#,
        )
        .unwrap();
        assert_eq!(action_effects(v).unwrap().len(), 2);
        assert!(parse_output(
            &Hook::Action,
            br#"{"effects":[{"log":{"level":"loud","message":"m"}}]}"#
        )
        .is_err());
        let v = parse_output(&Hook::AccessRequest, br#"{"verdict":"pending"}"#).unwrap();
        assert_eq!(decision(v).unwrap().verdict, Verdict::Pending);
        assert!(parse_output(&Hook::AccessRequest, br#"{"verdict":"maybe"}"#).is_err());
        assert!(parse_output(&Hook::Function("f".into()), br#"{"result":[1,2]}"#).is_ok());
        assert!(parse_output(&Hook::Function("f".into()), br#"{}"#).is_err());
        assert!(matches!(
            parse_output(&Hook::Where, b"\xff"),
            Err(EvalError::MalformedOutput(_))
        ));
    }

    #[test]
    fn error_outputs_carry_their_kind() {
        let syntax = parse_output(
            &Hook::Where,
            br#"{"error":"syntax error: unexpected `)` at column 5","kind":"syntax"}"#,
        )
        .unwrap_err();
        assert_eq!(
            syntax,
            EvalError::guest(
                ErrorKind::Syntax,
                "syntax error: unexpected `)` at column 5"
            )
        );
        assert!(syntax.is_syntax());
        // The text is the same whatever the kind (audit events record it).
        assert_eq!(
            syntax.to_string(),
            "policy module reported an error: syntax error: unexpected `)` at column 5"
        );
        // A v1 error without a kind, or with the explicit default, is an evaluation failure.
        for bytes in [
            &br#"{"error":"syntax error: but no kind"}"#[..],
            br#"{"error":"boom","kind":"evaluation"}"#,
        ] {
            let e = parse_output(&Hook::Action, bytes).unwrap_err();
            assert!(
                matches!(
                    e,
                    EvalError::Guest {
                        kind: ErrorKind::Evaluation,
                        ..
                    }
                ),
                "{e:?}"
            );
            assert!(!e.is_syntax());
        }
        // Unknown kinds, other fields and non-string messages are malformed outputs.
        for bytes in [
            &br#"{"error":"x","kind":"typo"}"#[..],
            br#"{"error":"x","extra":1}"#,
            br#"{"error":42}"#,
            br#"{"error":"x","kind":null}"#,
        ] {
            assert!(
                matches!(
                    parse_output(&Hook::Where, bytes),
                    Err(EvalError::MalformedOutput(_))
                ),
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }
}
