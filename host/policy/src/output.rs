//! Hook outputs (ABI.md §4): schema checks and typed forms.

use serde::Deserialize;
use serde_json::Value;

use crate::error::EvalError;
use crate::module::Hook;

/// The output types modules write are the guest SDK's, so both sides agree by construction.
pub use portcullis_guest::{Decision, Effect, Level, Verdict};

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
/// `{"error": "..."}` becomes [`EvalError::Guest`].
pub(crate) fn parse_output(hook: &Hook, bytes: &[u8]) -> Result<Value, EvalError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| EvalError::MalformedOutput(format!("not UTF-8: {e}")))?;
    let value: Value = serde_json::from_str(text)
        .map_err(|e| EvalError::MalformedOutput(format!("not valid JSON: {e}")))?;
    if let Some(obj) = value.as_object() {
        if let Some(error) = obj.get("error") {
            return match (error.as_str(), obj.len()) {
                (Some(message), 1) => Err(EvalError::Guest(message.to_owned())),
                _ => Err(EvalError::MalformedOutput(
                    "an error output must be exactly `{\"error\": \"<message>\"}`".to_owned(),
                )),
            };
        }
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
            Err(EvalError::Guest("no input".to_owned()))
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
}
