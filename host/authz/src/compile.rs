//! Roles to a Cedar policy set.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

use cedar_policy::{Entities, Policy, PolicyId, PolicySet, Schema};
use portcullis_api::services::{RoleV3, Rule};

use crate::error::AuthzError;
use crate::verbs::{VERBS, WILDCARD};

/// The Cedar schema of role decisions: a `User` applies an action (a verb) to a `Kind` of
/// resource; `readnosecrets` is a member of `read`, so a rule allowing `read` also allows
/// reading without secrets. `where_true` lists the rules whose `where` clause holds;
/// `namespace` is the namespace the request is in (a rule applies only in the namespaces its
/// role's conditions list).
pub(crate) const SCHEMA: &str = r#"
entity User;
entity Kind;
type RuleContext = { where_true: Set<String>, namespace: String };
action "list", "create", "read", "update", "delete", "rotate"
  appliesTo { principal: User, resource: Kind, context: RuleContext };
action "readnosecrets" in ["read"]
  appliesTo { principal: User, resource: Kind, context: RuleContext };
"#;

/// The schema and the action entities (the `readnosecrets in read` hierarchy).
pub(crate) fn schema() -> Result<(Schema, Entities), AuthzError> {
    let (schema, _warnings) =
        Schema::from_cedarschema_str(SCHEMA).map_err(|e| AuthzError::Internal(e.to_string()))?;
    let actions = schema
        .action_entities()
        .map_err(|e| AuthzError::Internal(e.to_string()))?;
    Ok((schema, actions))
}

/// The side of a role a rule is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// `spec.allow`.
    Allow,
    /// `spec.deny`.
    Deny,
}

impl Side {
    /// `allow` or `deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Allow => "allow",
            Side::Deny => "deny",
        }
    }
}

/// Which rule of which role: `role-name` `deny.rules[0]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleRef {
    /// The role's name.
    pub role: String,
    /// Allow or deny.
    pub side: Side,
    /// Index in the side's `rules`.
    pub index: usize,
}

impl fmt::Display for RuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "role `{}` {}.rules[{}]",
            self.role,
            self.side.as_str(),
            self.index
        )
    }
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRule {
    pub(crate) at: RuleRef,
    pub(crate) rule: Rule,
    /// The rule's entry in `where_true` when it has a `where` clause (`r{index}`).
    pub(crate) id: String,
    /// The namespaces the rule applies in: its side's `namespaces`, [`DEFAULT_NAMESPACE`]
    /// when that lists none; `*` is every namespace.
    pub(crate) namespaces: Vec<String>,
}

/// The namespace of requests and resources that name none, and of rules whose role's
/// conditions list none.
pub const DEFAULT_NAMESPACE: &str = "default";

/// The namespaces a side's rules apply in (see [`CompiledRule::namespaces`]).
fn rule_namespaces(listed: &[String]) -> Vec<String> {
    if listed.is_empty() {
        vec![DEFAULT_NAMESPACE.to_owned()]
    } else {
        listed.to_vec()
    }
}

impl CompiledRule {
    /// Whether the rule has a `where` clause.
    pub(crate) fn has_where(&self) -> bool {
        !self.rule.r#where.trim().is_empty()
    }

    /// Whether the rule applies in `namespace` and names `verb` (or `*`; `read` covers
    /// `readnosecrets`) and `kind` (or `*`), leaving its `where` clause aside.
    pub(crate) fn applies_to(&self, verb: &str, kind: &str, namespace: &str) -> bool {
        let namespace_ok = self
            .namespaces
            .iter()
            .any(|n| n == WILDCARD || n == namespace);
        let verb_ok = self
            .rule
            .verbs
            .iter()
            .any(|v| v == WILDCARD || v == verb || (verb == "readnosecrets" && v == "read"));
        namespace_ok
            && verb_ok
            && self
                .rule
                .resources
                .iter()
                .any(|r| r == WILDCARD || r == kind)
    }
}

/// The caller's roles as Cedar policies, with the rules they came from.
#[derive(Debug)]
pub(crate) struct CompiledRoles {
    pub(crate) policies: PolicySet,
    pub(crate) rules: Vec<CompiledRule>,
    /// For policy `p{n}`, the index in `rules` of the rule it came from.
    policy_rules: Vec<usize>,
    /// What Cedar answered over these policies, by question.
    pub(crate) outcomes: crate::outcomes::Outcomes,
}

impl CompiledRoles {
    /// The index in `rules` of the rule a Cedar policy id stands for.
    pub(crate) fn rule_index(&self, id: &PolicyId) -> Option<usize> {
        let policy: usize = id.to_string().strip_prefix('p')?.parse().ok()?;
        self.policy_rules.get(policy).copied()
    }
}

/// A Cedar string literal.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The Cedar text of one rule that applies in `namespaces`: one policy per resource kind it
/// names (or one for `*`), the kind in the policy's scope, where Cedar matches it without
/// evaluating a condition; the namespace (unless `*`) and the `where` clause in conditions.
fn policy_texts(
    rule: &Rule,
    namespaces: &[String],
    side: Side,
    id: &str,
) -> Result<Vec<String>, String> {
    let effect = match side {
        Side::Allow => "permit",
        Side::Deny => "forbid",
    };
    let action = if rule.verbs.iter().any(|v| v == WILDCARD) {
        "action".to_owned()
    } else {
        let mut verbs = Vec::new();
        for verb in &rule.verbs {
            if !VERBS.contains(&verb.as_str()) {
                return Err(format!("unknown verb `{verb}`"));
            }
            verbs.push(format!("Action::{}", quoted(verb)));
        }
        format!("action in [{}]", verbs.join(", "))
    };
    let mut when = String::new();
    if !namespaces.iter().any(|n| n == WILDCARD) {
        let listed: Vec<String> = namespaces.iter().map(|n| quoted(n)).collect();
        when.push_str(&format!(
            " when {{ [{}].contains(context.namespace) }}",
            listed.join(", ")
        ));
    }
    if !rule.r#where.trim().is_empty() {
        when.push_str(&format!(
            " when {{ context.where_true.contains({}) }}",
            quoted(id)
        ));
    }
    let resources: Vec<String> = if rule.resources.iter().any(|r| r == WILDCARD) {
        vec!["resource".to_owned()]
    } else {
        let mut kinds: Vec<&String> = rule.resources.iter().collect();
        kinds.sort();
        kinds.dedup();
        kinds
            .into_iter()
            .map(|kind| format!("resource == Kind::{}", quoted(kind)))
            .collect()
    };
    Ok(resources
        .iter()
        .map(|resource| format!("{effect}(principal, {action}, {resource}){when};"))
        .collect())
}

/// Compiles `roles` (already validated) into one policy set.
pub(crate) fn compile<R: Borrow<RoleV3>>(roles: &[R]) -> Result<CompiledRoles, AuthzError> {
    let mut policies = PolicySet::new();
    let mut rules = Vec::new();
    let mut policy_rules = Vec::new();
    for role in roles {
        let role: &RoleV3 = role.borrow();
        let name = role
            .metadata
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default();
        let Some(spec) = &role.spec else { continue };
        for (side, conditions) in [(Side::Allow, &spec.allow), (Side::Deny, &spec.deny)] {
            let Some(conditions) = conditions else {
                continue;
            };
            let namespaces = rule_namespaces(&conditions.namespaces);
            for (index, rule) in conditions.rules.iter().enumerate() {
                let id = format!("r{}", rules.len());
                let invalid = |reason: String| AuthzError::InvalidRole {
                    role: name.clone(),
                    reason: format!("{}.rules[{index}]: {reason}", side.as_str()),
                };
                for text in policy_texts(rule, &namespaces, side, &id).map_err(invalid)? {
                    let policy_id = PolicyId::from_str(&format!("p{}", policy_rules.len()))
                        .map_err(|e| AuthzError::Internal(e.to_string()))?;
                    let policy = Policy::parse(Some(policy_id), &text)
                        .map_err(|e| invalid(format!("cannot be compiled: {e}")))?;
                    policies
                        .add(policy)
                        .map_err(|e| AuthzError::Internal(e.to_string()))?;
                    policy_rules.push(rules.len());
                }
                rules.push(CompiledRule {
                    at: RuleRef {
                        role: name.clone(),
                        side,
                        index,
                    },
                    rule: rule.clone(),
                    id,
                    namespaces: namespaces.clone(),
                });
            }
        }
    }
    Ok(CompiledRoles {
        policies,
        rules,
        policy_rules,
        outcomes: crate::outcomes::Outcomes::default(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use cedar_policy::{ValidationMode, Validator};

    fn rule(resources: &[&str], verbs: &[&str], where_clause: &str) -> Rule {
        Rule {
            r#where: where_clause.to_owned(),
            ..crate::builtin::rule(resources, verbs)
        }
    }

    #[test]
    fn rules_become_policies_that_the_schema_validates() {
        let all = vec!["*".to_owned()];
        let cases = [
            (
                rule(&["*"], &["*"], ""),
                all.clone(),
                Side::Allow,
                vec!["permit(principal, action, resource);"],
            ),
            (
                rule(&["user", "role", "user"], &["read", "list"], ""),
                all.clone(),
                Side::Deny,
                vec![
                    r#"forbid(principal, action in [Action::"read", Action::"list"], resource == Kind::"role");"#,
                    r#"forbid(principal, action in [Action::"read", Action::"list"], resource == Kind::"user");"#,
                ],
            ),
            (
                rule(&["role"], &["*"], "x"),
                rule_namespaces(&[]),
                Side::Allow,
                vec![
                    r#"permit(principal, action, resource == Kind::"role") when { ["default"].contains(context.namespace) } when { context.where_true.contains("r7") };"#,
                ],
            ),
            (
                rule(&["node"], &["list"], ""),
                vec!["dev".to_owned(), "prod".to_owned()],
                Side::Deny,
                vec![
                    r#"forbid(principal, action in [Action::"list"], resource == Kind::"node") when { ["dev", "prod"].contains(context.namespace) };"#,
                ],
            ),
        ];
        let (schema, _) = schema().unwrap();
        for (rule, namespaces, side, expected) in cases {
            let texts = policy_texts(&rule, &namespaces, side, "r7").unwrap();
            assert_eq!(texts, expected);
            let set = PolicySet::from_str(&texts.concat()).unwrap();
            let result = Validator::new(schema.clone()).validate(&set, ValidationMode::Strict);
            assert!(result.validation_passed(), "{texts:?}: {result}");
        }
        assert_eq!(quoted("a\"b\\c"), r#""a\"b\\c""#);
        assert!(
            policy_texts(&rule(&["role"], &["fly"], ""), &all, Side::Allow, "r0")
                .unwrap_err()
                .contains("unknown verb `fly`")
        );
    }
}
