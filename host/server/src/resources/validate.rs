//! Validation and normalisation of resources before they are stored.
//!
//! Names and headers are checked by `portcullis_api::validate` (which `pctl` runs too), the
//! role language by `portcullis_authz::validate`, so a bad document is refused with the
//! same message by both.

pub use portcullis_api::kinds::DEFAULT_NAMESPACE;
use portcullis_api::services::{Metadata, UserV2};

use super::ResourceError;

/// Checks a resource name (see `portcullis_api::validate::validate_name`).
pub fn validate_name(kind: &str, name: &str) -> Result<(), ResourceError> {
    Ok(portcullis_api::validate::validate_name(kind, name)?)
}

/// Fills and checks the common header (see `portcullis_api::validate::normalize_header`).
pub fn normalize_header(
    kind_field: &mut String,
    version_field: &mut String,
    metadata: &mut Option<Metadata>,
    kind: &str,
    versions: &[&str],
) -> Result<(), ResourceError> {
    Ok(portcullis_api::validate::normalize_header(
        kind_field,
        version_field,
        metadata,
        kind,
        versions,
    )?)
}

/// A lifetime a caller asks for in nanoseconds: `default` for 0, refused when negative or
/// longer than `max`; `what` names it in the error (`ttl`, `host certificate lifetime`).
pub fn requested_ttl(
    what: &str,
    nanos: i64,
    default: std::time::Duration,
    max: std::time::Duration,
) -> Result<std::time::Duration, ResourceError> {
    match nanos {
        0 => Ok(default),
        n if n < 0 => Err(ResourceError::invalid(format!("{what} {n}ns is negative"))),
        n => {
            let ttl = std::time::Duration::from_nanos(n.unsigned_abs());
            if ttl > max {
                return Err(ResourceError::invalid(format!(
                    "{what} {} is longer than the maximum of {}",
                    humantime::format_duration(ttl),
                    humantime::format_duration(max)
                )));
            }
            Ok(ttl)
        }
    }
}

/// Normalises and checks a user (see `portcullis_api::validate::normalize_user`).
pub fn normalize_user(user: &mut UserV2) -> Result<(), ResourceError> {
    Ok(portcullis_api::validate::normalize_user(user)?)
}
