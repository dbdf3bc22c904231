//! Reading resources from multi-document YAML in the `kind`/`version`/`metadata`/`spec`
//! format. Every document is parsed and validated before anything is sent, so one bad
//! document means nothing is written.
//!
//! [`parse_documents`] checks what this crate knows (structure, kinds, versions, names);
//! [`parse_documents_with`] also runs a deeper check on each document, such as
//! `portcullis_authz::validate::document` for the role language.

use serde::Deserialize;

use crate::kinds::{KIND_ACCESS_REQUEST_POLICY, KIND_ROLE, KIND_USER};
use crate::services::{AccessRequestPolicyV1, RoleV3, UserV2};
use crate::validate::{
    normalize_access_request_policy, normalize_header, normalize_user, InvalidResource,
};

/// One resource read from a file.
#[derive(Debug, Clone, PartialEq)]
pub enum Document {
    /// A user.
    User(Box<UserV2>),
    /// A role.
    Role(Box<RoleV3>),
    /// An access-request policy.
    AccessRequestPolicy(Box<AccessRequestPolicyV1>),
}

impl Document {
    /// The resource kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::User(_) => KIND_USER,
            Self::Role(_) => KIND_ROLE,
            Self::AccessRequestPolicy(_) => KIND_ACCESS_REQUEST_POLICY,
        }
    }

    /// The resource name.
    pub fn name(&self) -> &str {
        let md = match self {
            Self::User(u) => u.metadata.as_ref(),
            Self::Role(r) => r.metadata.as_ref(),
            Self::AccessRequestPolicy(p) => p.metadata.as_ref(),
        };
        md.map(|m| m.name.as_str()).unwrap_or("")
    }
}

/// A document that could not be read, with its position in the file.
#[derive(Debug, thiserror::Error)]
#[error("document {index}{label}: {message}")]
pub struct DocumentError {
    /// 1-based position of the document in the file.
    pub index: usize,
    /// ` (kind `x`, name `y`)` when known.
    pub label: String,
    /// What was wrong, with the field path where there is one.
    pub message: String,
}

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    metadata: Option<HeaderMetadata>,
}

#[derive(Deserialize)]
struct HeaderMetadata {
    #[serde(default)]
    name: Option<serde_norway::Value>,
}

/// Parses every document of `text`. Empty documents are skipped; the first bad document
/// ends parsing with an error naming it and the offending field.
pub fn parse_documents(text: &str) -> Result<Vec<Document>, DocumentError> {
    parse_documents_with(text, |_| Ok(()))
}

/// Like [`parse_documents`], and runs `check` on each document once this crate's checks
/// passed; its error is reported like theirs, naming the document.
pub fn parse_documents_with(
    text: &str,
    check: impl Fn(&Document) -> Result<(), InvalidResource>,
) -> Result<Vec<Document>, DocumentError> {
    let mut out = Vec::new();
    for (i, de) in serde_norway::Deserializer::from_str(text).enumerate() {
        let index = i + 1;
        let err = |label: String, message: String| DocumentError {
            index,
            label,
            message,
        };
        let value = serde_norway::Value::deserialize(de)
            .map_err(|e| err(String::new(), format!("malformed YAML: {e}")))?;
        if value.is_null() {
            continue;
        }
        if !value.is_mapping() {
            return Err(err(
                String::new(),
                "a resource must be a mapping with kind, version, metadata and spec".into(),
            ));
        }
        let header: Header = crate::yaml::from_value(value.clone())
            .map_err(|m| err(String::new(), m.to_string()))?;
        let name = header
            .metadata
            .and_then(|m| m.name)
            .and_then(|n| n.as_str().map(str::to_owned))
            .unwrap_or_default();
        let kind = header.kind.unwrap_or_default();
        let label = format!(" (kind `{kind}`, name `{name}`)");
        let doc = match kind.as_str() {
            KIND_USER => {
                let mut user: UserV2 =
                    crate::yaml::from_value(value).map_err(|m| err(label.clone(), m.to_string()))?;
                normalize_user(&mut user).map_err(|e| err(label.clone(), e.to_string()))?;
                Document::User(Box::new(user))
            }
            KIND_ROLE => {
                let mut role: RoleV3 =
                    crate::yaml::from_value(value).map_err(|m| err(label.clone(), m.to_string()))?;
                normalize_role_header(&mut role).map_err(|e| err(label.clone(), e.to_string()))?;
                Document::Role(Box::new(role))
            }
            KIND_ACCESS_REQUEST_POLICY => {
                let mut policy: AccessRequestPolicyV1 =
                    crate::yaml::from_value(value).map_err(|m| err(label.clone(), m.to_string()))?;
                normalize_access_request_policy(&mut policy)
                    .map_err(|e| err(label.clone(), e.to_string()))?;
                Document::AccessRequestPolicy(Box::new(policy))
            }
            "" => return Err(err(label, "missing field `kind`".into())),
            other => {
                return Err(err(
                    label,
                    format!("unknown or unsupported kind `{other}` (supported: user, role, access_request_policy)"),
                ))
            }
        };
        check(&doc).map_err(|e| err(label.clone(), e.to_string()))?;
        if let Some(dup) = out
            .iter()
            .position(|d: &Document| d.kind() == doc.kind() && d.name() == doc.name())
        {
            return Err(err(
                label,
                format!("same {} as document {}", doc.kind(), dup + 1),
            ));
        }
        out.push(doc);
    }
    Ok(out)
}

fn normalize_role_header(role: &mut RoleV3) -> Result<(), InvalidResource> {
    normalize_header(
        &mut role.kind,
        &mut role.version,
        &mut role.metadata,
        KIND_ROLE,
        &["v3"],
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    const RSCS: &str = "kind: user\nmetadata:\n  name: access-plugin\nspec:\n  roles: ['access-plugin']\nversion: v2\n---\nkind: role\nmetadata:\n  name: access-plugin\nspec:\n  allow:\n    rules:\n      - resources: ['access_request']\n        verbs: ['list','read','update']\n    logins: ['access-plugin']\nversion: v3\n";

    #[test]
    fn seed_documents_load() {
        let docs = parse_documents(RSCS).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].kind(), "user");
        let Document::Role(role) = &docs[1] else {
            panic!("not a role")
        };
        let allow = role.spec.as_ref().unwrap().allow.as_ref().unwrap();
        assert_eq!(allow.rules[0].verbs, ["list", "read", "update"]);
        assert_eq!(allow.logins, ["access-plugin"]);
    }

    #[test]
    fn bad_document_is_named_with_field() {
        let text = RSCS.replace("verbs: ['list','read','update']", "verbs: 7");
        let err = parse_documents(&text).unwrap_err();
        assert_eq!(err.index, 2);
        let msg = err.to_string();
        assert!(msg.contains("spec.allow.rules[0].verbs"), "{msg}");
        assert!(msg.contains("`access-plugin`"), "{msg}");
    }

    #[test]
    fn unknown_kind_version_and_field_are_refused() {
        let err = parse_documents("kind: widget\nmetadata: {name: a}\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown or unsupported kind `widget`"),
            "{err}"
        );
        let err = parse_documents("kind: role\nversion: v9\nmetadata: {name: a}\n").unwrap_err();
        assert!(err.to_string().contains("version `v9`"), "{err}");
        let err =
            parse_documents("kind: role\nmetadata: {name: a}\nspec: {alow: {}}\n").unwrap_err();
        assert!(err.to_string().contains("alow"), "{err}");
        let err = parse_documents("kind: role\nmetadata: {name: 'a/b'}\n").unwrap_err();
        assert!(err.to_string().contains("not allowed"), "{err}");
    }

    #[test]
    fn access_request_policies_load_and_are_checked() {
        let text = "kind: access_request_policy\nversion: v1\nmetadata: {name: dba-tickets}\nspec: {module: approve-dba, roles: [dba], users: ['contractor*']}\n";
        let docs = parse_documents(text).unwrap();
        let Document::AccessRequestPolicy(p) = &docs[0] else {
            panic!("not a policy")
        };
        assert_eq!(p.spec.as_ref().unwrap().module, "approve-dba");
        let err = parse_documents(&text.replace("module: approve-dba, ", "")).unwrap_err();
        assert!(err.to_string().contains("spec.module"), "{err}");
        let err = parse_documents(&text.replace("version: v1", "version: v2")).unwrap_err();
        assert!(err.to_string().contains("version `v2`"), "{err}");
    }

    #[test]
    fn malformed_yaml_and_duplicates() {
        let err = parse_documents("kind: role\nmetadata: [\n").unwrap_err();
        assert!(err.to_string().contains("malformed YAML"), "{err}");
        let twice = format!("{RSCS}---\n{}", RSCS.split("---\n").nth(1).unwrap());
        let err = parse_documents(&twice).unwrap_err();
        assert!(err.to_string().contains("same role as document 2"), "{err}");
    }
}
