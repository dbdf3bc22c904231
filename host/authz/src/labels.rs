//! Label selectors of roles (`node_labels`, `app_labels`, `cluster_labels`,
//! `kubernetes_labels`): a map from label key to accepted values.
//!
//! A value is `*` (any value), `^...$` (a regular expression, anchored), a glob with `*`
//! (`env-*`) or a literal. The key `*` with the value `*` matches every resource, labelled or
//! not. A resource matches a selector when, for every key of the selector, it has that label
//! with an accepted value; an empty selector matches nothing.

use std::collections::BTreeMap;

use portcullis_api::wrappers::StringValues;
use regex::Regex;

/// One accepted label value.
#[derive(Debug, Clone)]
pub enum ValueMatcher {
    /// `*`.
    Any,
    /// A literal value.
    Exact(String),
    /// `^regex$`, or a glob turned into one.
    Pattern(Regex),
}

/// Why a selector value does not parse ([`ValueMatcher::parse`]).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum PatternError {
    /// A `^...$` value that is not a regular expression.
    #[error("`{value}` is not a valid regular expression: {reason}")]
    Regex {
        /// The value.
        value: String,
        /// What the regular expression parser said.
        reason: String,
    },
    /// A glob whose regular expression does not compile (too large).
    #[error("`{value}` is not a valid glob: {reason}")]
    Glob {
        /// The value.
        value: String,
        /// What the regular expression compiler said.
        reason: String,
    },
}

/// Why a selector is not valid ([`validate`]).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum LabelError {
    /// A label key is empty.
    #[error("empty label key")]
    EmptyKey,
    /// A label key maps to no values.
    #[error("label `{key}` lists no values")]
    NoValues {
        /// The key.
        key: String,
    },
    /// A value of a label does not parse.
    #[error("label `{key}`: {error}")]
    Value {
        /// The key.
        key: String,
        /// What is wrong with the value.
        error: PatternError,
    },
}

impl ValueMatcher {
    /// Parses one value of a selector.
    pub fn parse(value: &str) -> Result<ValueMatcher, PatternError> {
        if value == "*" {
            return Ok(ValueMatcher::Any);
        }
        if value.starts_with('^') && value.ends_with('$') {
            return Regex::new(value)
                .map(ValueMatcher::Pattern)
                .map_err(|e| PatternError::Regex {
                    value: value.to_owned(),
                    reason: e.to_string(),
                });
        }
        if value.contains('*') {
            let pattern = value
                .split('*')
                .map(regex::escape)
                .collect::<Vec<_>>()
                .join(".*");
            return Regex::new(&format!("^{pattern}$"))
                .map(ValueMatcher::Pattern)
                .map_err(|e| PatternError::Glob {
                    value: value.to_owned(),
                    reason: e.to_string(),
                });
        }
        Ok(ValueMatcher::Exact(value.to_owned()))
    }

    /// Whether `value` is accepted.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            ValueMatcher::Any => true,
            ValueMatcher::Exact(exact) => exact == value,
            ValueMatcher::Pattern(re) => re.is_match(value),
        }
    }
}

/// Checks every value of `selector`; the error names the key and value.
pub fn validate(selector: &BTreeMap<String, StringValues>) -> Result<(), LabelError> {
    for (key, values) in selector {
        if key.is_empty() {
            return Err(LabelError::EmptyKey);
        }
        if values.values.is_empty() {
            return Err(LabelError::NoValues { key: key.clone() });
        }
        for value in &values.values {
            ValueMatcher::parse(value).map_err(|error| LabelError::Value {
                key: key.clone(),
                error,
            })?;
        }
    }
    Ok(())
}

/// Whether a resource with `labels` matches `selector` (see the module docs). Values that
/// do not parse match nothing (roles are validated before they are stored).
pub fn matches(
    selector: &BTreeMap<String, StringValues>,
    labels: &BTreeMap<String, String>,
) -> bool {
    if selector.is_empty() {
        return false;
    }
    selector.iter().all(|(key, values)| {
        let accepts = |value: &str| {
            values
                .values
                .iter()
                .any(|v| ValueMatcher::parse(v).is_ok_and(|m| m.matches(value)))
        };
        if key == "*" {
            return values.values.iter().any(|v| v == "*");
        }
        labels.get(key).is_some_and(|value| accepts(value))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn selector(pairs: &[(&str, &[&str])]) -> BTreeMap<String, StringValues> {
        pairs
            .iter()
            .map(|(k, vs)| {
                (
                    (*k).to_owned(),
                    StringValues {
                        values: vs.iter().map(|v| (*v).to_owned()).collect(),
                    },
                )
            })
            .collect()
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn wildcards_globs_regexes_and_literals() {
        let prod = labels(&[("env", "prod"), ("team", "dba")]);
        assert!(matches(&selector(&[("*", &["*"])]), &prod));
        assert!(matches(&selector(&[("*", &["*"])]), &labels(&[])));
        assert!(matches(&selector(&[("env", &["*"])]), &prod));
        assert!(!matches(&selector(&[("region", &["*"])]), &prod));
        assert!(matches(&selector(&[("env", &["staging", "prod"])]), &prod));
        assert!(matches(&selector(&[("env", &["pr*"])]), &prod));
        assert!(matches(&selector(&[("env", &["^p.*d$"])]), &prod));
        assert!(!matches(&selector(&[("env", &["^stag.*$"])]), &prod));
        assert!(!matches(
            &selector(&[("env", &["prod"]), ("team", &["web"])]),
            &prod
        ));
        assert!(!matches(&selector(&[]), &prod));
        // A glob's other characters are literal.
        assert!(!matches(&selector(&[("env", &["p.*"])]), &prod));
    }

    #[test]
    fn invalid_values_are_reported() {
        let err = validate(&selector(&[("env", &["^(unclosed$"])])).unwrap_err();
        assert!(
            matches!(&err, LabelError::Value { key, error: PatternError::Regex { value, .. } }
                if key == "env" && value == "^(unclosed$"),
            "{err:?}"
        );
        assert!(err
            .to_string()
            .starts_with("label `env`: `^(unclosed$` is not a valid regular expression: "));
        assert_eq!(
            validate(&selector(&[("", &["x"])])),
            Err(LabelError::EmptyKey)
        );
        assert_eq!(
            validate(&selector(&[("env", &[])]))
                .unwrap_err()
                .to_string(),
            "label `env` lists no values"
        );
    }
}
