//! Deny overrides allow, over random role sets: whatever the allow rules say, a request
//! that any deny rule matches is denied (by deny rules only), and otherwise it is allowed
//! exactly when an allow rule matches.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use portcullis_api::services::{RoleV3, Rule};
use proptest::prelude::*;

use crate::tests::{decide, role};
use crate::Side;

const KINDS: [&str; 3] = ["role", "user", "token"];
const VERBS: [&str; 3] = ["read", "list", "create"];
/// `where` clauses of the fake evaluator: none, holds, does not hold, fails.
const CLAUSES: [&str; 4] = ["", "yes", "no", "broken"];

/// A rule over some of [`KINDS`] (or `*`), some of [`VERBS`] (or `*`), with one of
/// [`CLAUSES`].
fn rule() -> impl Strategy<Value = Rule> {
    let names = |all: [&'static str; 3]| {
        prop_oneof![
            4 => proptest::sample::subsequence(all.to_vec(), 1..=3),
            1 => Just(vec!["*"]),
        ]
    };
    (names(KINDS), names(VERBS), 0..CLAUSES.len()).prop_map(|(kinds, verbs, clause)| Rule {
        resources: kinds.into_iter().map(str::to_owned).collect(),
        verbs: verbs.into_iter().map(str::to_owned).collect(),
        r#where: CLAUSES[clause].to_owned(),
        actions: Vec::new(),
    })
}

fn roles() -> impl Strategy<Value = Vec<RoleV3>> {
    let sides = (
        proptest::collection::vec(rule(), 0..4),
        proptest::collection::vec(rule(), 0..3),
    );
    proptest::collection::vec(sides, 1..4).prop_map(|sets| {
        sets.into_iter()
            .enumerate()
            .map(|(i, (allow, deny))| role(&format!("r{i}"), 1, allow, deny))
            .collect()
    })
}

/// Whether `rule` applies to `verb` on `kind`, and matches on its side: a failing clause
/// matches a deny rule (fail closed) and never an allow rule.
fn matches(rule: &Rule, side: Side, verb: &str, kind: &str) -> bool {
    let named = |list: &[String], name: &str| list.iter().any(|n| n == name || n == "*");
    let holds = match rule.r#where.as_str() {
        "" | "yes" => true,
        "no" => false,
        _ => side == Side::Deny,
    };
    named(&rule.resources, kind) && named(&rule.verbs, verb) && holds
}

fn any_match(roles: &[RoleV3], side: Side, verb: &str, kind: &str) -> bool {
    roles.iter().any(|r| {
        let spec = r.spec.as_ref().unwrap();
        let conditions = match side {
            Side::Allow => spec.allow.as_ref(),
            Side::Deny => spec.deny.as_ref(),
        };
        conditions.is_some_and(|c| c.rules.iter().any(|rule| matches(rule, side, verb, kind)))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn deny_overrides_allow(
        roles in roles(),
        verb in proptest::sample::select(VERBS.to_vec()),
        kind in proptest::sample::select(KINDS.to_vec()),
    ) {
        let decision = decide(&roles, verb, kind);
        let denied = any_match(&roles, Side::Deny, verb, kind);
        let allowed = any_match(&roles, Side::Allow, verb, kind);
        prop_assert_eq!(decision.allowed, !denied && allowed, "{}", decision);
        if denied {
            prop_assert!(!decision.decided_by.is_empty());
            prop_assert!(decision.decided_by.iter().all(|r| r.side == Side::Deny));
        } else if allowed {
            prop_assert!(decision.decided_by.iter().all(|r| r.side == Side::Allow));
        }
    }
}
