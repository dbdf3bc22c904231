//! Access to nodes, apps, clusters and Kubernetes clusters: label selectors (and, for nodes,
//! logins) of the caller's roles. As for rules, deny wins: a role whose deny side matches
//! the resource (or, for nodes, the login) refuses access, whatever other roles allow.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use portcullis_api::services::{RoleConditions, RoleV3};
use portcullis_api::wrappers::StringValues;

use crate::labels;
use crate::templates;

/// Which label selector of a role applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `node_labels` (SSH nodes).
    Node,
    /// `app_labels`.
    App,
    /// `cluster_labels` (leaf clusters).
    Cluster,
    /// `kubernetes_labels`.
    Kubernetes,
}

impl Target {
    fn selector(self, conditions: &RoleConditions) -> &BTreeMap<String, StringValues> {
        match self {
            Target::Node => &conditions.node_labels,
            Target::App => &conditions.app_labels,
            Target::Cluster => &conditions.cluster_labels,
            Target::Kubernetes => &conditions.kubernetes_labels,
        }
    }

    fn field(self) -> &'static str {
        match self {
            Target::Node => "node_labels",
            Target::App => "app_labels",
            Target::Cluster => "cluster_labels",
            Target::Kubernetes => "kubernetes_labels",
        }
    }
}

/// An access check's answer and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// Whether access is granted.
    pub allowed: bool,
    /// Which role decided and how.
    pub reason: String,
}

pub(crate) fn name(role: &RoleV3) -> &str {
    role.metadata.as_ref().map_or("", |m| m.name.as_str())
}

fn logins(conditions: &RoleConditions, traits: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    conditions
        .logins
        .iter()
        .flat_map(|login| templates::expand(login, traits))
        .collect()
}

/// Whether the caller may reach a resource of `target` with `resource_labels`, and, when
/// `login` is given (nodes), log in as that user.
pub fn check<R: Borrow<RoleV3>>(
    roles: &[R],
    traits: &BTreeMap<String, Vec<String>>,
    target: Target,
    resource_labels: &BTreeMap<String, String>,
    login: Option<&str>,
) -> Access {
    let field = target.field();
    for role in roles.iter().map(Borrow::borrow) {
        let Some(deny) = role.spec.as_ref().and_then(|s| s.deny.as_ref()) else {
            continue;
        };
        if labels::matches(target.selector(deny), resource_labels) {
            return Access {
                allowed: false,
                reason: format!("denied by role `{}`: deny.{field} matches", name(role)),
            };
        }
        if let Some(login) = login {
            if logins(deny, traits).iter().any(|l| l == login) {
                return Access {
                    allowed: false,
                    reason: format!("denied by role `{}`: deny.logins has `{login}`", name(role)),
                };
            }
        }
    }
    for role in roles.iter().map(Borrow::borrow) {
        let Some(allow) = role.spec.as_ref().and_then(|s| s.allow.as_ref()) else {
            continue;
        };
        if !labels::matches(target.selector(allow), resource_labels) {
            continue;
        }
        match login {
            Some(login) if !logins(allow, traits).iter().any(|l| l == login) => continue,
            _ => {}
        }
        return Access {
            allowed: true,
            reason: format!("allowed by role `{}`: allow.{field} matches", name(role)),
        };
    }
    Access {
        allowed: false,
        reason: match login {
            Some(login) => {
                format!("denied: no role allows {field} matching these labels with login `{login}`")
            }
            None => format!("denied: no role's allow.{field} matches these labels"),
        },
    }
}

/// A role with these two sides, for tests.
#[cfg(test)]
pub(crate) fn test_role(name: &str, allow: RoleConditions, deny: RoleConditions) -> RoleV3 {
    use portcullis_api::services::{Metadata, RoleSpecV3};
    RoleV3 {
        metadata: Some(Metadata {
            name: name.to_owned(),
            ..Metadata::default()
        }),
        spec: Some(RoleSpecV3 {
            options: None,
            allow: Some(allow),
            deny: Some(deny),
        }),
        ..RoleV3::default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::requests::may_request;
    use test_role as role;

    fn selector(key: &str, value: &str) -> BTreeMap<String, StringValues> {
        BTreeMap::from([(
            key.to_owned(),
            StringValues {
                values: vec![value.to_owned()],
            },
        )])
    }

    #[test]
    fn deny_beats_allow_and_logins_are_expanded() {
        let dev = role(
            "dev",
            RoleConditions {
                logins: vec!["{{internal.logins}}".into()],
                node_labels: selector("env", "staging"),
                ..RoleConditions::default()
            },
            RoleConditions::default(),
        );
        let no_nodes = role(
            "no-nodes",
            RoleConditions::default(),
            RoleConditions {
                node_labels: selector("*", "*"),
                ..RoleConditions::default()
            },
        );
        let traits = BTreeMap::from([("logins".to_owned(), vec!["alice".to_owned()])]);
        let staging = BTreeMap::from([("env".to_owned(), "staging".to_owned())]);
        let prod = BTreeMap::from([("env".to_owned(), "prod".to_owned())]);
        let node = |roles: &[RoleV3], labels, login| {
            check(roles, &traits, Target::Node, labels, Some(login))
        };
        assert!(node(std::slice::from_ref(&dev), &staging, "alice").allowed);
        assert!(!node(std::slice::from_ref(&dev), &staging, "root").allowed);
        assert!(!node(std::slice::from_ref(&dev), &prod, "alice").allowed);
        let denied = node(&[dev.clone(), no_nodes], &staging, "alice");
        assert!(!denied.allowed);
        assert!(denied.reason.contains("`no-nodes`"), "{}", denied.reason);
        assert!(!check(&[dev], &traits, Target::App, &staging, None).allowed);
    }

    #[test]
    fn requestable_roles() {
        use portcullis_api::services::AccessRequestConditions;
        let request = |roles: &[&str]| RoleConditions {
            request: Some(AccessRequestConditions {
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                ..AccessRequestConditions::default()
            }),
            ..RoleConditions::default()
        };
        let contractor = role("contractor", request(&["dba"]), RoleConditions::default());
        let traits = BTreeMap::new();
        assert!(may_request(std::slice::from_ref(&contractor), &traits, "dba").allowed);
        let other = may_request(std::slice::from_ref(&contractor), &traits, "admin");
        assert!(!other.allowed);
        assert!(other.reason.contains("no role"), "{}", other.reason);
        let globs = role("globs", request(&["db-*"]), request(&["db-prod"]));
        assert!(may_request(std::slice::from_ref(&globs), &traits, "db-staging").allowed);
        assert!(!may_request(&[globs, contractor], &traits, "db-prod").allowed);
    }
}
