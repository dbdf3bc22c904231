//! Validation and normalisation of resources before they are stored.
//!
//! The same checks run in `pctl` (before anything is sent) and in the server (before anything
//! is written), so a bad document is refused with the same message in both places.

use portcullis_api::services::{Metadata, RoleV3, UserV2};

use super::ResourceError;

/// The namespace every resource lives in unless it says otherwise.
pub const DEFAULT_NAMESPACE: &str = "default";

/// Longest accepted resource name.
const MAX_NAME_LEN: usize = 255;

/// Checks a resource name: non-empty, at most 255 bytes, no `/`, no whitespace or control
/// characters, and not `.` or `..`.
pub fn validate_name(kind: &str, name: &str) -> Result<(), ResourceError> {
    let bad = |why: &str| ResourceError::invalid(format!("invalid {kind} name `{name}`: {why}"));
    if name.is_empty() {
        return Err(ResourceError::invalid(format!(
            "{kind} has no name: metadata.name is required"
        )));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(bad("longer than 255 bytes"));
    }
    if name == "." || name == ".." {
        return Err(bad("reserved name"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| *c == '/' || c.is_whitespace() || c.is_control())
    {
        return Err(bad(&format!("character {c:?} is not allowed")));
    }
    Ok(())
}

/// Fills the common header fields and checks kind and version.
pub(crate) fn normalize_header(
    kind_field: &mut String,
    version_field: &mut String,
    metadata: &mut Option<Metadata>,
    kind: &str,
    versions: &[&str],
) -> Result<(), ResourceError> {
    if kind_field.is_empty() {
        *kind_field = kind.to_owned();
    } else if kind_field != kind {
        return Err(ResourceError::invalid(format!(
            "kind `{kind_field}` given where `{kind}` was expected"
        )));
    }
    if version_field.is_empty() {
        *version_field = versions[0].to_owned();
    } else if !versions.contains(&version_field.as_str()) {
        return Err(ResourceError::invalid(format!(
            "{kind} version `{version_field}` is not supported (supported: {})",
            versions.join(", ")
        )));
    }
    let md = metadata.get_or_insert_with(Default::default);
    validate_name(kind, &md.name)?;
    if md.namespace.is_empty() {
        md.namespace = DEFAULT_NAMESPACE.to_owned();
    }
    for key in md.labels.keys() {
        if key.is_empty() {
            return Err(ResourceError::invalid(format!(
                "{kind} `{}`: metadata.labels has an empty key",
                md.name
            )));
        }
    }
    Ok(())
}

/// Normalises and checks a user.
pub fn normalize_user(user: &mut UserV2) -> Result<(), ResourceError> {
    normalize_header(
        &mut user.kind,
        &mut user.version,
        &mut user.metadata,
        super::kinds::KIND_USER,
        &["v2"],
    )?;
    let name = user
        .metadata
        .as_ref()
        .map(|m| m.name.clone())
        .unwrap_or_default();
    if let Some(spec) = &user.spec {
        for (i, role) in spec.roles.iter().enumerate() {
            validate_name("role", role).map_err(|e| {
                ResourceError::invalid(format!("user `{name}`: spec.roles[{i}]: {e}"))
            })?;
        }
        for key in spec.traits.keys() {
            if key.is_empty() {
                return Err(ResourceError::invalid(format!(
                    "user `{name}`: spec.traits has an empty key"
                )));
            }
        }
    }
    Ok(())
}

/// Normalises and checks a role.
pub fn normalize_role(role: &mut RoleV3) -> Result<(), ResourceError> {
    normalize_header(
        &mut role.kind,
        &mut role.version,
        &mut role.metadata,
        super::kinds::KIND_ROLE,
        &["v3"],
    )?;
    let name = role
        .metadata
        .as_ref()
        .map(|m| m.name.clone())
        .unwrap_or_default();
    portcullis_authz::validate::role(role)
        .map_err(|why| ResourceError::invalid(format!("role `{name}`: {why}")))
}
