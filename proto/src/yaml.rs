//! Reading YAML with errors that name the offending field's path.

use serde::de::DeserializeOwned;

/// A YAML document that does not deserialize, with the path of the offending field.
#[derive(Debug, thiserror::Error)]
#[error("{}{message}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
pub struct YamlError {
    /// The field path, e.g. `spec.allow.rules[0].verbs` (empty at the top level).
    pub path: String,
    /// What the parser reported.
    pub message: String,
}

fn with_path<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> YamlError {
    let path = e.path().to_string();
    YamlError {
        path: if path == "." { String::new() } else { path },
        message: e.inner().to_string(),
    }
}

/// Deserializes YAML text, naming the field path on error.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    serde_path_to_error::deserialize(serde_norway::Deserializer::from_str(text)).map_err(with_path)
}

/// Deserializes an already-parsed YAML value, naming the field path on error.
pub fn from_value<T: DeserializeOwned>(value: serde_norway::Value) -> Result<T, YamlError> {
    serde_path_to_error::deserialize(value).map_err(with_path)
}
