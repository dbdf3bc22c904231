//! `predicate`: the `where`/`actions` language of the `predicate` policy module, natively
//! (the same parser and evaluator the module runs in Wasm).

use std::sync::Arc;

use portcullis_authz::{HookError, RuleHooks};
use predicate::{ErrorKind, NoFunctions};
use serde_json::{json, Value};

/// The input every expression is evaluated against: a user and a resource with traits,
/// labels and lists, as the server builds it.
fn input() -> &'static Value {
    static INPUT: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    INPUT.get_or_init(|| {
        json!({
            "user": {
                "metadata": {"name": "alice", "labels": {"team": "dba"}},
                "spec": {
                    "roles": ["access", "dba"],
                    "traits": {"logins": ["root", "alice"], "team": ["dba"], "empty": []}
                }
            },
            "resource": {
                "kind": "role",
                "metadata": {"name": "db-admin", "labels": {"env": "prod", "tier": "db"}},
                "spec": {"allow": {"logins": ["root"]}, "count": 3, "flag": true}
            },
            "verb": "read",
            "kind": "role",
            "expression": ""
        })
    })
}

/// Evaluates `data` (as text) both as a `where` clause and as an action, eagerly and
/// lazily (as the module reads its input piece by piece); both ways must agree, and a
/// `where` clause's syntax error must come from the parser alone.
pub fn predicate(data: &[u8]) {
    let Ok(expression) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = predicate::parse(expression);
    let input = input();
    let eager = predicate::evaluate_with(expression, input, &NoFunctions);
    let lazy = predicate::evaluate_lazy(expression, input, &NoFunctions);
    assert_eq!(
        format!("{eager:?}"),
        format!("{lazy:?}"),
        "eager and lazy differ"
    );
    let action = predicate::run_action_with(expression, input, &NoFunctions);
    let lazy_action = predicate::run_action_lazy(expression, input, &NoFunctions);
    assert_eq!(
        format!("{action:?}"),
        format!("{lazy_action:?}"),
        "actions differ"
    );
    let syntax = |e: &predicate::Error| e.kind == ErrorKind::Syntax;
    match &parsed {
        Ok(_) => {
            // (An action may still be refused as a syntax error: it must be a call.)
            assert!(
                !eager.as_ref().is_err_and(syntax),
                "{eager:?} after a parse"
            );
        }
        Err(e) => {
            assert!(syntax(e), "a parse error that is not a syntax error: {e:?}");
            assert!(eager.is_err() && action.is_err());
        }
    }
}

/// The `where`/`actions` hooks of the server, answered natively by the `predicate`
/// language (as the uploaded `predicate` module would), for the resource targets.
pub(crate) struct NativeHooks;

fn hook_error(e: predicate::Error) -> HookError {
    match e.kind {
        ErrorKind::Syntax => HookError::Syntax {
            reason: e.to_string(),
        },
        _ => HookError::Failed {
            reason: e.to_string(),
        },
    }
}

fn expression(input: &Value) -> &str {
    input["expression"].as_str().unwrap_or_default()
}

impl RuleHooks for NativeHooks {
    fn eval_where(&self, input: Arc<Value>) -> Result<bool, HookError> {
        predicate::evaluate_with(expression(&input), &input, &NoFunctions).map_err(hook_error)
    }

    fn run_action(&self, input: Arc<Value>) -> Result<Vec<String>, HookError> {
        predicate::run_action_with(expression(&input), &input, &NoFunctions)
            .map(|effects| effects.iter().map(|e| format!("{e:?}")).collect())
            .map_err(hook_error)
    }
}
