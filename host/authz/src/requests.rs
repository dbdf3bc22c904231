//! Access requests and reviews: which roles a user may request (`request.roles`), whose
//! requests a user may review (`review_requests.roles`), and the review thresholds that
//! decide a requested role (`request.thresholds` of the roles that allow requesting it).
//!
//! Entries are role names, `*`, globs or `^regex$`, and may use trait templates. As
//! everywhere, deny wins: a role whose deny side names a role refuses it, whatever other
//! roles allow.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use portcullis_api::services::{AccessReviewThreshold, RoleConditions, RoleV3};

use crate::access::{name, Access};
use crate::labels::ValueMatcher;
use crate::templates;

type Traits = BTreeMap<String, Vec<String>>;

/// Which list of role names of a role's conditions.
#[derive(Debug, Clone, Copy)]
enum List {
    Request,
    Review,
}

impl List {
    fn field(self) -> &'static str {
        match self {
            List::Request => "request.roles",
            List::Review => "review_requests.roles",
        }
    }

    fn entries(self, conditions: Option<&RoleConditions>, traits: &Traits) -> Vec<String> {
        let raw = conditions.and_then(|c| match self {
            List::Request => c.request.as_ref().map(|r| &r.roles),
            List::Review => c.review_requests.as_ref().map(|r| &r.roles),
        });
        raw.into_iter()
            .flatten()
            .flat_map(|entry| templates::expand(entry, traits))
            .collect()
    }
}

fn names(entries: &[String], role: &str) -> bool {
    entries
        .iter()
        .any(|entry| ValueMatcher::parse(entry).is_ok_and(|m| m.matches(role)))
}

fn side(role: &RoleV3, allow: bool) -> Option<&RoleConditions> {
    let spec = role.spec.as_ref()?;
    if allow {
        spec.allow.as_ref()
    } else {
        spec.deny.as_ref()
    }
}

/// Whether `roles` (with `traits`) name `target` in `list`: denied if a deny side names
/// it, allowed if an allow side does.
fn check<R: Borrow<RoleV3>>(roles: &[R], traits: &Traits, list: List, target: &str) -> Access {
    let field = list.field();
    for role in roles.iter().map(Borrow::borrow) {
        if names(&list.entries(side(role, false), traits), target) {
            return Access {
                allowed: false,
                reason: format!(
                    "denied by role `{}`: deny.{field} names `{target}`",
                    name(role)
                ),
            };
        }
    }
    for role in roles.iter().map(Borrow::borrow) {
        if names(&list.entries(side(role, true), traits), target) {
            return Access {
                allowed: true,
                reason: format!(
                    "allowed by role `{}`: allow.{field} names `{target}`",
                    name(role)
                ),
            };
        }
    }
    Access {
        allowed: false,
        reason: format!("denied: no role's allow.{field} names `{target}`"),
    }
}

/// Whether the caller's roles let it request role `requested` through an access request:
/// some role's `allow.request.roles` names it, and no role's `deny.request.roles` does.
pub fn may_request<R: Borrow<RoleV3>>(roles: &[R], traits: &Traits, requested: &str) -> Access {
    check(roles, traits, List::Request, requested)
}

/// Whether the reviewer's roles let it review a request for `requested` (every one of
/// them): some role's `allow.review_requests.roles` names each, and no role's
/// `deny.review_requests.roles` names any.
pub fn may_review<R: Borrow<RoleV3>>(roles: &[R], traits: &Traits, requested: &[String]) -> Access {
    if requested.is_empty() {
        return Access {
            allowed: false,
            reason: "denied: the request names no roles".to_owned(),
        };
    }
    let mut reasons = Vec::with_capacity(requested.len());
    for role in requested {
        let access = check(roles, traits, List::Review, role);
        if !access.allowed {
            return access;
        }
        reasons.push(access.reason);
    }
    Access {
        allowed: true,
        reason: reasons.join("; "),
    }
}

/// Whether any of `roles` lets its holder review some requests (an allow side with
/// `review_requests.roles`).
pub fn reviews_any<R: Borrow<RoleV3>>(roles: &[R]) -> bool {
    roles.iter().any(|role| {
        side(role.borrow(), true)
            .and_then(|c| c.review_requests.as_ref())
            .is_some_and(|r| !r.roles.is_empty())
    })
}

/// One approval or one denial: what decides a role when no role sets thresholds.
pub fn default_threshold() -> AccessReviewThreshold {
    AccessReviewThreshold {
        name: "default".to_owned(),
        approve: 1,
        deny: 1,
    }
}

/// The thresholds that decide a request for role `requested` by a user with `roles`: those
/// of every role whose `allow.request.roles` names it (any one of them met decides), or
/// [`default_threshold`] when none sets any. Zero counts read as 1.
pub fn request_thresholds(
    roles: &[RoleV3],
    traits: &Traits,
    requested: &str,
) -> Vec<AccessReviewThreshold> {
    let mut found: Vec<AccessReviewThreshold> = roles
        .iter()
        .filter(|role| names(&List::Request.entries(side(role, true), traits), requested))
        .filter_map(|role| side(role, true)?.request.as_ref())
        .flat_map(|request| request.thresholds.iter().cloned())
        .map(|mut t| {
            t.approve = t.approve.max(1);
            t.deny = t.deny.max(1);
            t
        })
        .collect();
    found.dedup();
    if found.is_empty() {
        found.push(default_threshold());
    }
    found
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::access::test_role as role;
    use portcullis_api::services::{AccessRequestConditions, AccessReviewConditions};

    fn reviews(roles: &[&str]) -> RoleConditions {
        RoleConditions {
            review_requests: Some(AccessReviewConditions {
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            }),
            ..RoleConditions::default()
        }
    }

    fn requests(roles: &[&str], thresholds: Vec<AccessReviewThreshold>) -> RoleConditions {
        RoleConditions {
            request: Some(AccessRequestConditions {
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                thresholds,
                ..AccessRequestConditions::default()
            }),
            ..RoleConditions::default()
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn reviewers_need_every_requested_role_and_deny_wins() {
        let traits = Traits::new();
        let dba_reviewer = role("dba-reviewer", reviews(&["db*"]), RoleConditions::default());
        let r = std::slice::from_ref(&dba_reviewer);
        assert!(may_review(r, &traits, &strings(&["dba", "db-read"])).allowed);
        assert!(reviews_any(r));
        let partly = may_review(r, &traits, &strings(&["dba", "admin"]));
        assert!(!partly.allowed);
        assert!(partly.reason.contains("`admin`"), "{}", partly.reason);
        assert!(!may_review(r, &traits, &[]).allowed);
        let no_prod = role("no-prod", RoleConditions::default(), reviews(&["db-prod"]));
        let both = [dba_reviewer, no_prod];
        let denied = may_review(&both, &traits, &strings(&["db-prod"]));
        assert!(!denied.allowed);
        assert!(
            denied.reason.contains("role `no-prod`"),
            "{}",
            denied.reason
        );
        // Requesting is a different list.
        let requester = role("r", requests(&["dba"], vec![]), RoleConditions::default());
        assert!(!reviews_any(std::slice::from_ref(&requester)));
        assert!(!may_review(&[requester], &traits, &strings(&["dba"])).allowed);
    }

    #[test]
    fn thresholds_come_from_the_roles_that_allow_the_request() {
        let traits = Traits::new();
        let two = AccessReviewThreshold {
            name: "two".to_owned(),
            approve: 2,
            deny: 0,
        };
        let strict = role(
            "strict",
            requests(&["dba"], vec![two.clone()]),
            RoleConditions::default(),
        );
        let loose = role(
            "loose",
            requests(&["ops"], vec![]),
            RoleConditions::default(),
        );
        let roles = [strict, loose];
        let dba = request_thresholds(&roles, &traits, "dba");
        assert_eq!(
            dba,
            vec![AccessReviewThreshold {
                deny: 1,
                ..two.clone()
            }]
        );
        assert_eq!(
            request_thresholds(&roles, &traits, "ops"),
            vec![default_threshold()]
        );
    }
}
