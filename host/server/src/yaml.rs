//! Reading YAML with errors that name the offending field's path.

use serde::de::DeserializeOwned;

/// Formats a deserialization error as `path: message` (just the message at the top level).
fn with_path<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> String {
    let path = e.path().to_string();
    if path == "." {
        e.inner().to_string()
    } else {
        format!("{path}: {}", e.inner())
    }
}

/// Deserializes YAML text, naming the field path on error.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_path_to_error::deserialize(serde_norway::Deserializer::from_str(text)).map_err(with_path)
}

/// Deserializes an already-parsed YAML value, naming the field path on error.
pub fn from_value<T: DeserializeOwned>(value: serde_norway::Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(with_path)
}
