//! The test files of `pctl policy test --cases FILE`: cases of input and expected output,
//! like `opa test` or kwctl's, in YAML (or JSON, which is YAML).
//!
//! ```yaml
//! hook: access_request                # the hook of every case without its own
//! cases:
//!   - name: a ticketed request in working hours is approved
//!     now: 2026-11-24T10:00:00Z        # optional: the time the module sees
//!     input: {request: {roles: [dba], annotations: {ticket: [OPS-1]}}}
//!     expect: {verdict: approve, reason: ticket OPS-1 during working hours}
//!   - name: without a ticket a human decides
//!     input_file: samples/no-ticket.json   # relative to the test file
//!     expect: {verdict: pending}
//!   - name: a failing evaluation
//!     hook: where
//!     input: {expression: "(", user: {}, resource: {}}
//!     expect: {error: syntax}          # the evaluation fails with this in its message
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;
use serde_json::Value;

/// A whole test file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    /// The hook of cases that name none.
    #[serde(default)]
    pub hook: Option<String>,
    /// The cases, run in order.
    pub cases: Vec<Case>,
}

/// One case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// What the case shows.
    pub name: String,
    /// The hook to call (default: the file's).
    #[serde(default)]
    pub hook: Option<String>,
    /// The time the module sees (RFC 3339, any offset).
    #[serde(default)]
    pub now: Option<String>,
    /// The input, inline.
    #[serde(default)]
    pub input: Option<Value>,
    /// The input, from a JSON file (relative to the test file).
    #[serde(default)]
    pub input_file: Option<PathBuf>,
    /// What the evaluation must give.
    pub expect: Expect,
}

/// What a case expects; every field given must match, and at least one is given.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The whole output, exactly.
    #[serde(default)]
    pub output: Option<Value>,
    /// `verdict` of an access-request decision.
    #[serde(default)]
    pub verdict: Option<String>,
    /// `reason` of a decision.
    #[serde(default)]
    pub reason: Option<String>,
    /// `annotations` of a decision.
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, Vec<String>>>,
    /// `result` of a `where` hook or an extra function.
    #[serde(default)]
    pub result: Option<Value>,
    /// The evaluation fails, with this text in its message.
    #[serde(default)]
    pub error: Option<String>,
}

impl TestFile {
    /// Reads and parses `path`.
    pub fn read(path: &Path) -> anyhow::Result<TestFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        let file: TestFile = serde_norway::from_str(&text)
            .with_context(|| format!("`{}` is not a valid test file", path.display()))?;
        if file.cases.is_empty() {
            bail!("`{}` has no cases", path.display());
        }
        Ok(file)
    }
}

impl Case {
    /// The case's input: inline, or read from `input_file` next to the test file.
    pub fn input(&self, dir: &Path) -> anyhow::Result<Value> {
        match (&self.input, &self.input_file) {
            (Some(input), None) => Ok(input.clone()),
            (None, Some(file)) => {
                let path = dir.join(file);
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read `{}`", path.display()))?;
                serde_json::from_str(&text)
                    .with_context(|| format!("`{}` is not valid JSON", path.display()))
            }
            (Some(_), Some(_)) => bail!("case `{}` has both `input` and `input_file`", self.name),
            (None, None) => bail!("case `{}` has neither `input` nor `input_file`", self.name),
        }
    }
}

impl Expect {
    /// Why `output` (or the failure) does not match, or `None` when it does.
    pub fn mismatch(&self, output: &Result<Value, String>) -> Option<String> {
        let output = match (output, &self.error) {
            (Err(message), Some(wanted)) => {
                return (!message.contains(wanted.as_str()))
                    .then(|| format!("it failed with `{message}`, expected `{wanted}` in it"))
            }
            (Err(message), None) => return Some(format!("it failed: {message}")),
            (Ok(output), Some(wanted)) => {
                return Some(format!(
                    "it answered {output}, expected a failure with `{wanted}`"
                ))
            }
            (Ok(output), None) => output,
        };
        let field = |key: &str| output.get(key).cloned().unwrap_or(Value::Null);
        let mut checks: Vec<(&str, Value, Value)> = Vec::new();
        if let Some(wanted) = &self.output {
            checks.push(("the output", output.clone(), wanted.clone()));
        }
        if let Some(wanted) = &self.verdict {
            checks.push(("verdict", field("verdict"), Value::from(wanted.as_str())));
        }
        if let Some(wanted) = &self.reason {
            checks.push(("reason", field("reason"), Value::from(wanted.as_str())));
        }
        if let Some(wanted) = &self.annotations {
            let got = match field("annotations") {
                Value::Null => Value::Object(Default::default()),
                got => got,
            };
            let wanted = serde_json::to_value(wanted).unwrap_or(Value::Null);
            checks.push(("annotations", got, wanted));
        }
        if let Some(wanted) = &self.result {
            checks.push(("result", field("result"), wanted.clone()));
        }
        if checks.is_empty() {
            return Some("`expect` names nothing to check".to_owned());
        }
        checks
            .into_iter()
            .find(|(_, got, wanted)| got != wanted)
            .map(|(what, got, wanted)| format!("{what} is {got}, expected {wanted}"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expect(yaml: &str) -> Expect {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn fields_given_must_match_and_others_are_free() {
        let out = Ok(json!({"verdict": "approve", "reason": "ok", "annotations": {"a": ["b"]}}));
        assert_eq!(expect("verdict: approve").mismatch(&out), None);
        assert_eq!(
            expect("{verdict: approve, annotations: {a: [b]}}").mismatch(&out),
            None
        );
        assert_eq!(
            expect("verdict: deny").mismatch(&out).unwrap(),
            "verdict is \"approve\", expected \"deny\""
        );
        assert!(expect("{}").mismatch(&out).unwrap().contains("nothing"));
    }

    #[test]
    fn missing_annotations_equal_empty_ones() {
        let out = Ok(json!({"verdict": "pending", "reason": "r"}));
        assert_eq!(expect("annotations: {}").mismatch(&out), None);
    }

    #[test]
    fn an_expected_failure_must_fail_with_the_text() {
        let failed: Result<Value, String> = Err("syntax error at column 3".to_owned());
        assert_eq!(expect("error: syntax").mismatch(&failed), None);
        assert!(expect("error: trap").mismatch(&failed).is_some());
        assert!(expect("verdict: approve")
            .mismatch(&failed)
            .unwrap()
            .contains("failed"));
        assert!(expect("error: x")
            .mismatch(&Ok(json!({"result": true})))
            .unwrap()
            .contains("expected a failure"));
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(serde_norway::from_str::<Expect>("verdic: approve").is_err());
    }
}
