//! The JSON inputs of ABI.md §4 into the typed records of ABI v2, and the typed results
//! back into the JSON outputs of §4, so that both ABIs share one output check
//! ([`output::parse_output`](crate::output::parse_output)) and the server sees one shape.

use serde_json::{json, Map, Value};

use super::bindings::exports::portcullis::policy::{access_request as ar, action, functions};
use super::bindings::portcullis::policy::types;
use crate::output::Level;

fn text(value: &Value, key: &str) -> String {
    match value.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The JSON text of `value[key]`, `{}` when absent.
fn document(value: &Value, key: &str) -> String {
    value
        .get(key)
        .map(Value::to_string)
        .unwrap_or_else(|| "{}".to_owned())
}

fn annotations(value: Option<&Value>) -> Vec<types::Annotation> {
    match value {
        Some(Value::Object(map)) => map
            .iter()
            .map(|(name, values)| types::Annotation {
                name: name.clone(),
                values: strings(Some(values)),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The input of `where-clause.evaluate` and `action.run` (§4.1, §4.2).
pub(crate) fn rule_input(input: &Value) -> types::RuleInput {
    let session = ["session", "ssh_session"]
        .iter()
        .find_map(|key| input.get(*key))
        .map(Value::to_string);
    types::RuleInput {
        expression: text(input, "expression"),
        user: document(input, "user"),
        resource: document(input, "resource"),
        verb: text(input, "verb"),
        kind: text(input, "kind"),
        session,
    }
}

/// The input of `access-request.decide` (§4.3).
pub(crate) fn request_input(input: &Value) -> ar::Input {
    let request = input.get("request").cloned().unwrap_or(Value::Null);
    let reviews = match input.get("reviews") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|r| ar::Review {
                author: text(r, "author"),
                verdict: text(r, "verdict"),
                reason: text(r, "reason"),
                created: text(r, "created"),
            })
            .collect(),
        _ => Vec::new(),
    };
    ar::Input {
        request: ar::Request {
            id: text(&request, "id"),
            user: text(&request, "user"),
            roles: strings(request.get("roles")),
            state: text(&request, "state"),
            reason: text(&request, "reason"),
            annotations: annotations(request.get("annotations")),
            created: text(&request, "created"),
            access_expiry: text(&request, "access_expiry"),
        },
        requester: document(input, "requester"),
        reviews,
        now: text(input, "now"),
    }
}

/// The input of `functions.call` (§4.4) for the function `name`.
pub(crate) fn function_input(name: &str, input: &Value) -> functions::Input {
    let args = match input.get("args") {
        Some(Value::Array(items)) => items.iter().map(Value::to_string).collect(),
        _ => Vec::new(),
    };
    functions::Input {
        name: name.to_owned(),
        args,
        user: document(input, "user"),
        resource: document(input, "resource"),
    }
}

/// `{"error": …, "kind": …}` of a failure (§3).
pub(crate) fn failure(f: types::Failure) -> Value {
    let kind = match f.kind {
        types::FailureKind::Evaluation => "evaluation",
        types::FailureKind::Syntax => "syntax",
    };
    json!({"error": f.message, "kind": kind})
}

fn level(level: types::Level) -> &'static str {
    Level::from(level).as_str()
}

/// `{"result": b}` (§4.1).
pub(crate) fn where_output(result: Result<bool, types::Failure>) -> Value {
    match result {
        Ok(b) => json!({ "result": b }),
        Err(f) => failure(f),
    }
}

/// `{"effects": [...]}` (§4.2).
pub(crate) fn action_output(result: Result<Vec<action::Effect>, types::Failure>) -> Value {
    match result {
        Ok(effects) => {
            let effects: Vec<Value> = effects
                .into_iter()
                .map(|effect| match effect {
                    action::Effect::Log((l, message)) => {
                        json!({"log": {"level": level(l), "message": message}})
                    }
                    action::Effect::Annotate((key, value)) => {
                        json!({"annotate": {"key": key, "value": value}})
                    }
                })
                .collect();
            json!({ "effects": effects })
        }
        Err(f) => failure(f),
    }
}

/// The decision object of §4.3.
pub(crate) fn decision_output(result: Result<ar::Decision, types::Failure>) -> Value {
    let decision = match result {
        Ok(d) => d,
        Err(f) => return failure(f),
    };
    let verdict = match decision.verdict {
        ar::Verdict::Approve => "approve",
        ar::Verdict::Deny => "deny",
        ar::Verdict::Pending => "pending",
    };
    let mut out = Map::new();
    out.insert("verdict".into(), verdict.into());
    if let Some(reason) = decision.reason {
        out.insert("reason".into(), reason.into());
    }
    if !decision.annotations.is_empty() {
        let map: Map<String, Value> = decision
            .annotations
            .into_iter()
            .map(|a| (a.name, Value::from(a.values)))
            .collect();
        out.insert("annotations".into(), Value::Object(map));
    }
    if !decision.suggested_reviewers.is_empty() {
        out.insert(
            "suggested_reviewers".into(),
            Value::from(decision.suggested_reviewers),
        );
    }
    Value::Object(out)
}

/// `{"result": <value>}` (§4.4), or why the function's JSON is not JSON.
pub(crate) fn function_output(result: Result<String, types::Failure>) -> Result<Value, String> {
    match result {
        Ok(text) => serde_json::from_str::<Value>(&text)
            .map(|value| json!({ "result": value }))
            .map_err(|e| format!("the function's result is not JSON: {e}")),
        Err(f) => Ok(failure(f)),
    }
}
