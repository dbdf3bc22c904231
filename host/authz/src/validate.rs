//! Checks of a role before it is stored; every error names the field.

use portcullis_api::documents::Document;
use portcullis_api::kinds::KIND_ROLE;
use portcullis_api::services::{AccessRequestPolicyV1, RoleConditions, RoleV3, Rule};
use portcullis_api::validate::{normalize_header, InvalidResource};

use crate::builtin;
use crate::labels::{self, LabelError, PatternError};
use crate::templates::{self, TemplateError};
use crate::verbs::{is_verb, VERBS, WILDCARD};

/// Certificate formats a role may ask for.
pub const CERTIFICATE_FORMATS: [&str; 2] = ["standard", "oldssh"];

/// What is wrong with a role ([`role`]) or a rule ([`rule`]), and where: displayed as
/// `FIELD: PROBLEM` (or `FIELD PROBLEM` when the problem reads as the end of a sentence
/// about the field, e.g. `spec.allow.logins[0] is empty`), or the problem alone when it is
/// about the whole role or rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// Path of the field, e.g. `spec.allow.rules[0]`; empty for the role or rule as a whole.
    pub field: String,
    /// What is wrong with it.
    pub problem: Problem,
}

impl ValidationError {
    fn new(field: impl Into<String>, problem: impl Into<Problem>) -> Self {
        ValidationError {
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// The same error, its field inside `parent` (`spec.allow` + `rules[0]`).
    fn within(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_owned()
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

impl std::fmt::Display for ValidationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.field.is_empty(), self.problem.continues_field()) {
            (true, _) => write!(f, "{}", self.problem),
            (false, true) => write!(f, "{} {}", self.field, self.problem),
            (false, false) => write!(f, "{}: {}", self.field, self.problem),
        }
    }
}

impl std::error::Error for ValidationError {}

/// The problems [`ValidationError`] reports.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The role has the name of a built-in role.
    #[error("`{0}` is a built-in role and cannot be created, changed or deleted")]
    Reserved(String),
    /// A number that must not be negative is.
    #[error("must not be negative")]
    Negative,
    /// `spec.options.cert_format` is not one of [`CERTIFICATE_FORMATS`].
    #[error("`{format}` is not one of {known}", known = CERTIFICATE_FORMATS.join(", "))]
    UnknownCertificateFormat {
        /// The format asked for.
        format: String,
    },
    /// An entry of a list is empty.
    #[error("is empty")]
    Empty,
    /// A login, group, user or role name is not a valid template.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A label selector is not valid.
    #[error(transparent)]
    Label(#[from] LabelError),
    /// A role name pattern is not valid.
    #[error(transparent)]
    Pattern(#[from] PatternError),
    /// A review threshold asks for more than [`MAX_THRESHOLD`] reviews.
    #[error("approve and deny must be at most {MAX_THRESHOLD}")]
    ThresholdTooLarge,
    /// A rule names no resource kind.
    #[error("resources must name at least one resource kind or `*`")]
    NoResources,
    /// A rule names no verb.
    #[error("verbs must name at least one verb")]
    NoVerbs,
    /// A rule names a verb that is not one of [`VERBS`].
    #[error("unknown verb `{verb}` (known: {known}, {wildcard})", known = VERBS.join(", "), wildcard = WILDCARD)]
    UnknownVerb {
        /// The verb.
        verb: String,
    },
    /// An entry of a rule's `actions` is empty.
    #[error("actions[{index}] is empty")]
    EmptyAction {
        /// Its index.
        index: usize,
    },
    /// A rule names something that is not a resource kind.
    #[error(
        "resource `{kind}` is not a resource kind (lower-case letters, digits and `_`) or `*`"
    )]
    NotAKind {
        /// What it names.
        kind: String,
    },
}

impl Problem {
    /// Whether the problem continues a sentence about its field (`X is empty`) rather
    /// than following it after a colon.
    fn continues_field(&self) -> bool {
        matches!(
            self,
            Problem::Negative | Problem::UnknownCertificateFormat { .. } | Problem::Empty
        )
    }
}

/// Checks `role`; `Err` says which field is wrong and why (without the role's name, which
/// the caller adds).
pub fn role(role: &RoleV3) -> Result<(), ValidationError> {
    let name = role.metadata.as_ref().map_or("", |m| m.name.as_str());
    if builtin::is_reserved(name) {
        return Err(ValidationError::new("", Problem::Reserved(name.to_owned())));
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
                return Err(ValidationError::new(
                    format!("spec.options.{field}"),
                    Problem::Negative,
                ));
            }
        }
        let format = options.certificate_format.as_str();
        if !format.is_empty() && !CERTIFICATE_FORMATS.contains(&format) {
            return Err(ValidationError::new(
                "spec.options.cert_format",
                Problem::UnknownCertificateFormat {
                    format: format.to_owned(),
                },
            ));
        }
    }
    for (side, conditions) in [("allow", &spec.allow), ("deny", &spec.deny)] {
        if let Some(conditions) = conditions {
            self::conditions(conditions).map_err(|e| e.within(&format!("spec.{side}")))?;
        }
    }
    Ok(())
}

fn conditions(conditions: &RoleConditions) -> Result<(), ValidationError> {
    let templated = [
        ("logins", &conditions.logins),
        ("kubernetes_groups", &conditions.kube_groups),
        ("kubernetes_users", &conditions.kube_users),
    ];
    for (field, values) in templated {
        for (i, value) in values.iter().enumerate() {
            let at = || format!("{field}[{i}]");
            if value.trim().is_empty() {
                return Err(ValidationError::new(at(), Problem::Empty));
            }
            templates::parse(value).map_err(|e| ValidationError::new(at(), e))?;
        }
    }
    let selectors = [
        ("node_labels", &conditions.node_labels),
        ("app_labels", &conditions.app_labels),
        ("cluster_labels", &conditions.cluster_labels),
        ("kubernetes_labels", &conditions.kubernetes_labels),
    ];
    for (field, selector) in selectors {
        labels::validate(selector).map_err(|e| ValidationError::new(field, e))?;
    }
    for (i, rule) in conditions.rules.iter().enumerate() {
        self::rule(rule).map_err(|e| e.within(&format!("rules[{i}]")))?;
    }
    if let Some(request) = &conditions.request {
        role_names("request.roles", &request.roles)?;
        for (i, t) in request.thresholds.iter().enumerate() {
            if t.approve > MAX_THRESHOLD || t.deny > MAX_THRESHOLD {
                return Err(ValidationError::new(
                    format!("request.thresholds[{i}]"),
                    Problem::ThresholdTooLarge,
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

fn role_names(field: &str, names: &[String]) -> Result<(), ValidationError> {
    for (i, entry) in names.iter().enumerate() {
        let at = || format!("{field}[{i}]");
        if entry.trim().is_empty() {
            return Err(ValidationError::new(at(), Problem::Empty));
        }
        templates::parse(entry).map_err(|e| ValidationError::new(at(), e))?;
        if !entry.contains("{{") {
            labels::ValueMatcher::parse(entry).map_err(|e| ValidationError::new(at(), e))?;
        }
    }
    Ok(())
}

/// Checks one rule: known verbs, named resources. (`where` clauses are checked by the
/// server, which owns the predicate module.) The error is about the rule as a whole (its
/// field is empty).
pub fn rule(rule: &Rule) -> Result<(), ValidationError> {
    let whole = |problem| Err(ValidationError::new("", problem));
    if rule.resources.is_empty() {
        return whole(Problem::NoResources);
    }
    if rule.verbs.is_empty() {
        return whole(Problem::NoVerbs);
    }
    if let Some(verb) = rule.verbs.iter().find(|v| !is_verb(v)) {
        return whole(Problem::UnknownVerb { verb: verb.clone() });
    }
    if let Some(kind) = rule.resources.iter().find(|r| !valid_kind(r)) {
        return whole(Problem::NotAKind { kind: kind.clone() });
    }
    if let Some(index) = rule.actions.iter().position(|a| a.trim().is_empty()) {
        return whole(Problem::EmptyAction { index });
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
    #![allow(clippy::unwrap_used, clippy::panic)]

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

    #[test]
    fn errors_name_the_field() {
        use super::{Problem, ValidationError};
        let check = |yaml: &str| {
            let doc = portcullis_api::documents::parse_documents(yaml).unwrap();
            let portcullis_api::documents::Document::Role(role) = &doc[0] else {
                panic!("not a role")
            };
            super::role(role).unwrap_err()
        };
        let head = "kind: role\nmetadata: {name: r}\n";
        let err = check(&format!(
            "{head}spec: {{allow: {{rules: [{{resources: [role], verbs: [read], actions: [' ']}}]}}}}\n"
        ));
        assert_eq!(
            err,
            ValidationError {
                field: "spec.allow.rules[0]".into(),
                problem: Problem::EmptyAction { index: 0 }
            }
        );
        assert_eq!(err.to_string(), "spec.allow.rules[0]: actions[0] is empty");
        let err = check(&format!("{head}spec: {{deny: {{logins: ['']}}}}\n"));
        assert_eq!(err.to_string(), "spec.deny.logins[0] is empty");
        let err = check(&format!(
            "{head}spec: {{allow: {{logins: ['{{{{claims.x}}}}']}}}}\n"
        ));
        assert!(matches!(err.problem, Problem::Template(_)), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("spec.allow.logins[0]: `{{claims.x}}`: unknown template namespace"),
            "{err}"
        );
        let err = check(&format!("{head}spec: {{options: {{max_sessions: -1}}}}\n"));
        assert_eq!(
            err.to_string(),
            "spec.options.max_sessions must not be negative"
        );
        let err = check(&format!(
            "{head}spec: {{allow: {{node_labels: {{env: []}}}}}}\n"
        ));
        assert_eq!(
            err.to_string(),
            "spec.allow.node_labels: label `env` lists no values"
        );
        let err = check(&format!(
            "{head}spec: {{allow: {{request: {{roles: ['^(x$']}}}}}}\n"
        ));
        assert!(matches!(err.problem, Problem::Pattern(_)), "{err:?}");
        assert!(err
            .to_string()
            .starts_with("spec.allow.request.roles[0]: `^(x$` is not a valid regular expression"));
    }
}
