//! Checks of a role before it is stored; every error names the field.

use portcullis_api::documents::Document;
use portcullis_api::kinds::KIND_ROLE;
use portcullis_api::services::{AccessRequestPolicyV1, RoleConditions, RoleV3, Rule};
use portcullis_api::validate::{normalize_header, InvalidResource};

use crate::builtin;
use crate::labels;
use crate::templates;
use crate::verbs::{is_verb, VERBS, WILDCARD};

/// Certificate formats a role may ask for.
pub const CERTIFICATE_FORMATS: [&str; 2] = ["standard", "oldssh"];

/// Checks `role`; `Err` says which field is wrong and why (without the role's name, which
/// the caller adds).
pub fn role(role: &RoleV3) -> Result<(), String> {
    let name = role.metadata.as_ref().map_or("", |m| m.name.as_str());
    if builtin::is_reserved(name) {
        return Err(format!(
            "`{name}` is a built-in role and cannot be created, changed or deleted"
        ));
    }
    let Some(spec) = &role.spec else {
        return Ok(());
    };
    if let Some(options) = &spec.options {
        let non_negative = [
            ("max_session_ttl", options.max_session_ttl),
            ("client_idle_timeout", options.client_idle_timeout),
            ("max_connections", options.max_connections),
            ("max_sessions", options.max_sessions),
        ];
        for (field, value) in non_negative {
            if value < 0 {
                return Err(format!("spec.options.{field} must not be negative"));
            }
        }
        let format = options.certificate_format.as_str();
        if !format.is_empty() && !CERTIFICATE_FORMATS.contains(&format) {
            return Err(format!(
                "spec.options.cert_format `{format}` is not one of {}",
                CERTIFICATE_FORMATS.join(", ")
            ));
        }
    }
    for (side, conditions) in [("allow", &spec.allow), ("deny", &spec.deny)] {
        if let Some(conditions) = conditions {
            self::conditions(conditions).map_err(|e| format!("spec.{side}.{e}"))?;
        }
    }
    Ok(())
}

fn conditions(conditions: &RoleConditions) -> Result<(), String> {
    let templated = [
        ("logins", &conditions.logins),
        ("kubernetes_groups", &conditions.kube_groups),
        ("kubernetes_users", &conditions.kube_users),
    ];
    for (field, values) in templated {
        for (i, value) in values.iter().enumerate() {
            if value.trim().is_empty() {
                return Err(format!("{field}[{i}] is empty"));
            }
            templates::parse(value).map_err(|e| format!("{field}[{i}]: {e}"))?;
        }
    }
    let selectors = [
        ("node_labels", &conditions.node_labels),
        ("app_labels", &conditions.app_labels),
        ("cluster_labels", &conditions.cluster_labels),
        ("kubernetes_labels", &conditions.kubernetes_labels),
    ];
    for (field, selector) in selectors {
        labels::validate(selector).map_err(|e| format!("{field}: {e}"))?;
    }
    for (i, rule) in conditions.rules.iter().enumerate() {
        self::rule(rule).map_err(|e| format!("rules[{i}]: {e}"))?;
    }
    if let Some(request) = &conditions.request {
        role_names("request.roles", &request.roles)?;
        for (i, t) in request.thresholds.iter().enumerate() {
            if t.approve > MAX_THRESHOLD || t.deny > MAX_THRESHOLD {
                return Err(format!(
                    "request.thresholds[{i}]: approve and deny must be at most {MAX_THRESHOLD}"
                ));
            }
        }
    }
    if let Some(review) = &conditions.review_requests {
        role_names("review_requests.roles", &review.roles)?;
    }
    Ok(())
}

/// The largest review count a threshold may ask for.
pub const MAX_THRESHOLD: u32 = 100;

fn role_names(field: &str, names: &[String]) -> Result<(), String> {
    for (i, entry) in names.iter().enumerate() {
        if entry.trim().is_empty() {
            return Err(format!("{field}[{i}] is empty"));
        }
        templates::parse(entry).map_err(|e| format!("{field}[{i}]: {e}"))?;
        if !entry.contains("{{") {
            labels::ValueMatcher::parse(entry).map_err(|e| format!("{field}[{i}]: {e}"))?;
        }
    }
    Ok(())
}

/// Checks one rule: known verbs, named resources. (`where` clauses are checked by the
/// server, which owns the predicate module.)
pub fn rule(rule: &Rule) -> Result<(), String> {
    if rule.resources.is_empty() {
        return Err("resources must name at least one resource kind or `*`".into());
    }
    if rule.verbs.is_empty() {
        return Err("verbs must name at least one verb".into());
    }
    if let Some(verb) = rule.verbs.iter().find(|v| !is_verb(v)) {
        return Err(format!(
            "unknown verb `{verb}` (known: {}, {WILDCARD})",
            VERBS.join(", ")
        ));
    }
    if let Some(kind) = rule.resources.iter().find(|r| !valid_kind(r)) {
        return Err(format!(
            "resource `{kind}` is not a resource kind (lower-case letters, digits and `_`) or `*`"
        ));
    }
    if let Some(i) = rule.actions.iter().position(|a| a.trim().is_empty()) {
        return Err(format!("actions[{i}] is empty"));
    }
    Ok(())
}

fn valid_kind(kind: &str) -> bool {
    kind == WILDCARD
        || (!kind.is_empty()
            && kind
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
}

/// Normalises a role's header (`portcullis_api::validate`) and checks the rest of it.
pub fn normalize_role(role: &mut RoleV3) -> Result<(), InvalidResource> {
    normalize_header(
        &mut role.kind,
        &mut role.version,
        &mut role.metadata,
        KIND_ROLE,
        &["v3"],
    )?;
    let name = role.metadata.as_ref().map_or("", |m| m.name.as_str());
    self::role(role).map_err(|why| InvalidResource(format!("role `{name}`: {why}")))
}

/// Normalises an access-request policy (`portcullis_api::validate`) and checks its role
/// and user patterns.
pub fn normalize_access_request_policy(
    policy: &mut AccessRequestPolicyV1,
) -> Result<(), InvalidResource> {
    portcullis_api::validate::normalize_access_request_policy(policy)?;
    let name = policy.metadata.as_ref().map_or("", |m| m.name.as_str());
    let Some(spec) = &policy.spec else {
        return Ok(());
    };
    for (field, entries) in [("spec.roles", &spec.roles), ("spec.users", &spec.users)] {
        for (i, entry) in entries.iter().enumerate() {
            labels::ValueMatcher::parse(entry).map_err(|e| {
                InvalidResource(format!(
                    "access_request_policy `{name}`: {field}[{i}] `{entry}`: {e}"
                ))
            })?;
        }
    }
    Ok(())
}

/// The checks of the role language on a document read by
/// `portcullis_api::documents::parse_documents_with` (which has checked its header).
pub fn document(doc: &Document) -> Result<(), InvalidResource> {
    match doc {
        Document::User(_) => Ok(()),
        Document::Role(role) => {
            let name = role.metadata.as_ref().map_or("", |m| m.name.as_str());
            self::role(role).map_err(|why| InvalidResource(format!("role `{name}`: {why}")))
        }
        Document::AccessRequestPolicy(policy) => {
            normalize_access_request_policy(&mut policy.as_ref().clone())
        }
    }
}

#[cfg(test)]
mod document_tests {
    #![allow(clippy::unwrap_used)]

    use portcullis_api::documents::parse_documents_with;

    #[test]
    fn the_role_language_is_checked_in_documents() {
        let err = parse_documents_with(
            "kind: role\nmetadata: {name: a}\nspec: {allow: {rules: [{resources: [role], verbs: [fly]}]}}\n",
            super::document,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown verb `fly`"), "{err}");
        let err = parse_documents_with(
            "kind: access_request_policy\nmetadata: {name: p}\nspec: {module: m, roles: ['^(db$']}\n",
            super::document,
        )
        .unwrap_err();
        assert!(err.to_string().contains("spec.roles[0]"), "{err}");
    }
}
