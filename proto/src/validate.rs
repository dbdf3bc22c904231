//! Names and the common header of resources: the checks `pctl` runs before it sends a
//! document and the server runs before it stores one, so both refuse a bad document with
//! the same message. Checks that need the role language (verbs, label matchers) live in
//! `portcullis-authz` and run after these.

use crate::kinds::{DEFAULT_NAMESPACE, KIND_ACCESS_REQUEST_POLICY, KIND_USER};
use crate::services::{AccessRequestPolicyV1, Metadata, UserV2};

/// Longest accepted resource name.
const MAX_NAME_LEN: usize = 255;

/// A resource that is not valid, with the reason (naming the field and the value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidResource(pub String);

impl InvalidResource {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Checks a resource name: non-empty, at most 255 bytes, no `/`, no whitespace or control
/// characters, and not `.` or `..`.
pub fn validate_name(kind: &str, name: &str) -> Result<(), InvalidResource> {
    let bad = |why: &str| InvalidResource(format!("invalid {kind} name `{name}`: {why}"));
    if name.is_empty() {
        return Err(InvalidResource(format!(
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

/// Fills the common header fields (kind, version, namespace) and checks kind, version,
/// name and label keys.
pub fn normalize_header(
    kind_field: &mut String,
    version_field: &mut String,
    metadata: &mut Option<Metadata>,
    kind: &str,
    versions: &[&str],
) -> Result<(), InvalidResource> {
    if kind_field.is_empty() {
        *kind_field = kind.to_owned();
    } else if kind_field != kind {
        return Err(InvalidResource(format!(
            "kind `{kind_field}` given where `{kind}` was expected"
        )));
    }
    if version_field.is_empty() {
        *version_field = versions[0].to_owned();
    } else if !versions.contains(&version_field.as_str()) {
        return Err(InvalidResource(format!(
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
            return Err(InvalidResource(format!(
                "{kind} `{}`: metadata.labels has an empty key",
                md.name
            )));
        }
    }
    Ok(())
}

/// Normalises and checks a user.
pub fn normalize_user(user: &mut UserV2) -> Result<(), InvalidResource> {
    normalize_header(
        &mut user.kind,
        &mut user.version,
        &mut user.metadata,
        KIND_USER,
        &["v2"],
    )?;
    let name = user
        .metadata
        .as_ref()
        .map(|m| m.name.clone())
        .unwrap_or_default();
    if let Some(spec) = &user.spec {
        for (i, role) in spec.roles.iter().enumerate() {
            validate_name("role", role)
                .map_err(|e| InvalidResource(format!("user `{name}`: spec.roles[{i}]: {e}")))?;
        }
        for key in spec.traits.keys() {
            if key.is_empty() {
                return Err(InvalidResource(format!(
                    "user `{name}`: spec.traits has an empty key"
                )));
            }
        }
    }
    Ok(())
}

/// Checks an access-request policy's kind, version, name and module, and fills in its
/// kind and version. Its role and user patterns are checked by `portcullis-authz`.
pub fn normalize_access_request_policy(
    policy: &mut AccessRequestPolicyV1,
) -> Result<(), InvalidResource> {
    if !policy.kind.is_empty() && policy.kind != KIND_ACCESS_REQUEST_POLICY {
        return Err(InvalidResource(format!(
            "kind is `{}`, expected `{KIND_ACCESS_REQUEST_POLICY}`",
            policy.kind
        )));
    }
    if !policy.version.is_empty() && policy.version != "v1" {
        return Err(InvalidResource(format!(
            "version `{}` is not supported (supported: v1)",
            policy.version
        )));
    }
    let name = policy
        .metadata
        .as_ref()
        .map(|m| m.name.clone())
        .unwrap_or_default();
    validate_name(KIND_ACCESS_REQUEST_POLICY, &name)?;
    let module = policy.spec.as_ref().map_or("", |s| s.module.as_str());
    if module.trim().is_empty() {
        return Err(InvalidResource(format!(
            "access_request_policy `{name}`: spec.module must name an uploaded policy module"
        )));
    }
    policy.kind = KIND_ACCESS_REQUEST_POLICY.to_owned();
    policy.version = "v1".to_owned();
    Ok(())
}
