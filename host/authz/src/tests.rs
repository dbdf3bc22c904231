//! Decisions over small role sets, with `where` clauses answered by a fake evaluator.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use portcullis_api::services::{Metadata, RoleConditions, RoleSpecV3, RoleV3, Rule};
use serde_json::{json, Value};

use crate::{Authorizer, Decision, HookError, Request, RuleHooks, RuleRef, Side};

use crate::builtin::rule;

fn with_where(mut rule: Rule, clause: &str) -> Rule {
    rule.r#where = clause.to_owned();
    rule
}

pub(crate) fn role(name: &str, revision: i64, allow: Vec<Rule>, deny: Vec<Rule>) -> RoleV3 {
    RoleV3 {
        kind: "role".into(),
        version: "v3".into(),
        metadata: Some(Metadata {
            name: name.into(),
            id: revision,
            ..Metadata::default()
        }),
        spec: Some(RoleSpecV3 {
            options: None,
            allow: Some(RoleConditions {
                rules: allow,
                ..RoleConditions::default()
            }),
            deny: Some(RoleConditions {
                rules: deny,
                ..RoleConditions::default()
            }),
        }),
        ..RoleV3::default()
    }
}

/// `where` clauses: `yes` holds, `no` does not, `team-dba` checks the user's team trait,
/// anything else fails. Actions log their text.
pub(crate) struct Fake;

impl RuleHooks for Fake {
    fn eval_where(&self, input: Arc<Value>) -> Result<bool, HookError> {
        match input["expression"].as_str().unwrap_or_default() {
            "yes" => Ok(true),
            "no" => Ok(false),
            "team-dba" => Ok(input["user"]["spec"]["traits"]["team"]
                .as_array()
                .is_some_and(|t| t.iter().any(|v| v == "dba"))),
            other => Err(HookError::Failed {
                reason: format!("cannot evaluate `{other}`"),
            }),
        }
    }

    fn run_action(&self, input: Arc<Value>) -> Result<Vec<String>, HookError> {
        Ok(vec![format!(
            "ran {}",
            input["expression"].as_str().unwrap_or_default()
        )])
    }
}

pub(crate) fn decide(roles: &[RoleV3], verb: &str, kind: &str) -> Decision {
    decide_as(roles, verb, kind, &json!({"metadata": {"name": "alice"}}))
}

fn decide_as(roles: &[RoleV3], verb: &str, kind: &str, user: &Value) -> Decision {
    let authorizer = Authorizer::new().unwrap();
    let resource = json!({});
    authorizer
        .decide(
            roles,
            &Request {
                user: "alice",
                verb,
                kind,
                user_resource: user,
                resource: &resource,
                namespace: "default",
            },
            &Fake,
        )
        .unwrap()
}

fn at(role: &str, side: Side, index: usize) -> RuleRef {
    RuleRef {
        role: role.into(),
        side,
        index,
    }
}

#[test]
fn allow_rules_permit_and_everything_else_is_denied() {
    let plugin = role(
        "access-plugin",
        1,
        vec![rule(&["access_request"], &["list", "read", "update"])],
        vec![],
    );
    let d = decide(std::slice::from_ref(&plugin), "update", "access_request");
    assert!(d.allowed);
    assert_eq!(d.decided_by, [at("access-plugin", Side::Allow, 0)]);
    assert!(
        d.to_string()
            .contains("allowed by role `access-plugin` allow.rules[0]"),
        "{d}"
    );
    for (verb, kind) in [
        ("delete", "access_request"),
        ("read", "role"),
        ("create", "access_request"),
    ] {
        let d = decide(std::slice::from_ref(&plugin), verb, kind);
        assert!(!d.allowed, "{verb} {kind}");
        assert!(d.decided_by.is_empty());
        assert!(
            d.to_string()
                .contains("no rule of the caller's roles allows it"),
            "{d}"
        );
    }
}

#[test]
fn a_deny_rule_on_another_role_beats_an_allow_rule() {
    let admin = role("everything", 1, vec![rule(&["*"], &["*"])], vec![]);
    let no_roles = role(
        "no-role-writes",
        1,
        vec![],
        vec![rule(&["role"], &["create", "update", "delete"])],
    );
    let roles = [admin, no_roles];
    assert!(decide(&roles, "read", "role").allowed);
    let d = decide(&roles, "delete", "role");
    assert!(!d.allowed);
    assert_eq!(d.decided_by, [at("no-role-writes", Side::Deny, 0)]);
    assert!(
        d.to_string()
            .contains("denied by role `no-role-writes` deny.rules[0]"),
        "{d}"
    );
}

#[test]
fn read_covers_readnosecrets_but_not_the_other_way_round() {
    let reader = role(
        "reader",
        1,
        vec![rule(&["cert_authority"], &["read"])],
        vec![],
    );
    let no_secrets = role(
        "no-secrets",
        1,
        vec![rule(&["cert_authority"], &["readnosecrets"])],
        vec![],
    );
    assert!(decide(&[reader], "readnosecrets", "cert_authority").allowed);
    assert!(
        decide(
            std::slice::from_ref(&no_secrets),
            "readnosecrets",
            "cert_authority"
        )
        .allowed
    );
    assert!(!decide(&[no_secrets], "read", "cert_authority").allowed);
}

#[test]
fn where_clauses_match_and_fail_closed() {
    let dba = role(
        "dba",
        1,
        vec![with_where(rule(&["role"], &["read"]), "team-dba")],
        vec![],
    );
    let in_team = json!({"spec": {"traits": {"team": ["dba"]}}});
    let outside = json!({"spec": {"traits": {"team": ["web"]}}});
    let d = decide_as(std::slice::from_ref(&dba), "read", "role", &in_team);
    assert!(d.allowed);
    assert_eq!(d.wheres[0].result, Ok(true));
    assert!(
        d.to_string()
            .contains("where `team-dba` of role `dba` allow.rules[0] is true"),
        "{d}"
    );
    assert!(!decide_as(&[dba], "read", "role", &outside).allowed);

    // An allow clause that fails does not allow; a deny clause that fails denies.
    let broken_allow = role(
        "broken-allow",
        1,
        vec![with_where(rule(&["role"], &["read"]), "boom")],
        vec![],
    );
    let d = decide(&[broken_allow], "read", "role");
    assert!(!d.allowed);
    assert!(d.wheres[0].result.is_err());
    let everything = role("everything", 1, vec![rule(&["*"], &["*"])], vec![]);
    let broken_deny = role(
        "broken-deny",
        1,
        vec![],
        vec![with_where(rule(&["role"], &["read"]), "boom")],
    );
    let d = decide(&[everything.clone(), broken_deny], "read", "role");
    assert!(!d.allowed);
    assert_eq!(d.decided_by, [at("broken-deny", Side::Deny, 0)]);
    assert!(
        d.to_string().contains("failed (cannot evaluate `boom`)"),
        "{d}"
    );
    // Audit events record the error as its text.
    let error = d.wheres[0].result.as_ref().unwrap_err();
    assert!(!error.is_syntax());
    assert_eq!(
        serde_json::to_value(error).unwrap(),
        json!("cannot evaluate `boom`")
    );

    // A deny clause that is false leaves the allow rules to decide; one that does not apply
    // to the verb is not evaluated at all.
    let maybe = role(
        "maybe",
        1,
        vec![],
        vec![
            with_where(rule(&["role"], &["delete"]), "yes"),
            with_where(rule(&["role"], &["read"]), "no"),
        ],
    );
    let d = decide(&[everything, maybe], "read", "role");
    assert!(d.allowed);
    assert_eq!(d.wheres.len(), 1);
}

#[test]
fn clauses_are_evaluated_only_until_the_answer_is_known() {
    // Allow side: the first clause that holds settles it; `boom` after it is never run.
    let two = role(
        "two",
        1,
        vec![
            with_where(rule(&["role"], &["read"]), "no"),
            with_where(rule(&["role"], &["read"]), "yes"),
            with_where(rule(&["role"], &["read"]), "boom"),
        ],
        vec![],
    );
    let d = decide(std::slice::from_ref(&two), "read", "role");
    assert!(d.allowed);
    assert_eq!(d.decided_by, [at("two", Side::Allow, 1)]);
    let answers: Vec<_> = d.wheres.iter().map(|w| w.result.clone()).collect();
    assert_eq!(answers, [Ok(false), Ok(true)]);

    // An allow rule without a clause settles the allow side: no clause runs.
    let plain = role("plain", 1, vec![rule(&["role"], &["read"])], vec![]);
    let d = decide(&[two.clone(), plain], "read", "role");
    assert!(d.allowed);
    assert!(d.wheres.is_empty(), "{d}");

    // A deny rule without a clause denies: no allow clause runs.
    let no_roles = role("no-roles", 1, vec![], vec![rule(&["role", "user"], &["*"])]);
    let d = decide(&[two, no_roles], "read", "role");
    assert!(!d.allowed);
    assert!(d.wheres.is_empty(), "{d}");
    // A rule naming several kinds decides once, whichever kind is asked for.
    assert_eq!(d.decided_by, [at("no-roles", Side::Deny, 0)]);
}

#[test]
fn actions_of_the_deciding_rules_run() {
    let mut logged = rule(&["role"], &["read"]);
    logged.actions = vec![r#"log("info", "read")"#.into()];
    let mut other = rule(&["user"], &["read"]);
    other.actions = vec!["never".into()];
    let d = decide(
        &[role("audited", 1, vec![logged, other], vec![])],
        "read",
        "role",
    );
    assert!(d.allowed);
    assert_eq!(d.actions.len(), 1);
    assert_eq!(
        d.actions[0].result,
        Ok(vec![r#"ran log("info", "read")"#.to_owned()])
    );
}

#[test]
fn compiled_role_sets_are_cached_per_roles_and_revisions() {
    let authorizer = Authorizer::new().unwrap();
    let user = json!({});
    let request = Request {
        user: "alice",
        verb: "read",
        kind: "role",
        user_resource: &user,
        resource: &user,
        namespace: "default",
    };
    let v1 = role("r", 1, vec![rule(&["role"], &["read"])], vec![]);
    let v2 = role("r", 2, vec![], vec![]);
    assert!(
        authorizer
            .decide(std::slice::from_ref(&v1), &request, &Fake)
            .unwrap()
            .allowed
    );
    assert!(authorizer.decide(&[v1], &request, &Fake).unwrap().allowed);
    assert_eq!(authorizer.cached_role_sets(), 1);
    // A new revision is compiled afresh.
    assert!(!authorizer.decide(&[v2], &request, &Fake).unwrap().allowed);
    assert_eq!(authorizer.cached_role_sets(), 2);
}

#[test]
fn unknown_verbs_in_requests_and_rules_are_errors() {
    let authorizer = Authorizer::new().unwrap();
    let user = json!({});
    let request = Request {
        user: "alice",
        verb: "fly",
        kind: "role",
        user_resource: &user,
        resource: &user,
        namespace: "default",
    };
    assert!(authorizer.decide::<RoleV3>(&[], &request, &Fake).is_err());
    let bad = role("bad", 1, vec![rule(&["role"], &["fly"])], vec![]);
    let request = Request {
        verb: "read",
        ..request
    };
    let e = authorizer.decide(&[bad], &request, &Fake).unwrap_err();
    assert!(
        e.to_string()
            .contains("role `bad`: allow.rules[0]: unknown verb `fly`"),
        "{e}"
    );
}

#[test]
fn builtin_roles() {
    let admin = crate::builtin::admin();
    assert!(decide(&[admin], "delete", "cert_authority").allowed);
    let node = crate::builtin::role_named("Node").unwrap();
    assert!(
        decide(
            std::slice::from_ref(&node),
            "readnosecrets",
            "cert_authority"
        )
        .allowed
    );
    assert!(!decide(std::slice::from_ref(&node), "read", "cert_authority").allowed);
    assert!(!decide(std::slice::from_ref(&node), "create", "role").allowed);
    // Nodes and proxies take, keep and cancel semaphore leases; other hosts do not.
    for role in ["Node", "Proxy"] {
        let role = crate::builtin::role_named(role).unwrap();
        for verb in ["list", "create", "read", "update", "delete"] {
            assert!(decide(std::slice::from_ref(&role), verb, "semaphore").allowed);
        }
    }
    let app = crate::builtin::role_named("App").unwrap();
    assert!(!decide(&[app], "create", "semaphore").allowed);
    assert!(crate::builtin::is_reserved("admin") && crate::builtin::is_reserved("Node"));
    // System roles are named as issued: a stored role may be called `web` or `node`, and
    // gets nothing of the `Web` or `Node` system role.
    assert!(!crate::builtin::is_reserved("web") && !crate::builtin::is_reserved("node"));
    assert!(crate::builtin::role_named("web").is_none());
    // The shared copies are the same roles, one per name.
    for name in ["admin", crate::builtin::IMPLICIT, "Node", "Proxy", "App"] {
        let shared = crate::builtin::shared(name).unwrap();
        assert_eq!(*shared, crate::builtin::role_named(name).unwrap());
        assert!(std::sync::Arc::ptr_eq(
            &shared,
            &crate::builtin::shared(name).unwrap()
        ));
    }
    assert!(crate::builtin::shared("web").is_none());
    let err = crate::validate::role(&crate::builtin::admin()).unwrap_err();
    assert_eq!(
        err.problem,
        crate::validate::Problem::Reserved("admin".into())
    );
    assert!(
        err.to_string().starts_with("`admin` is a built-in role"),
        "{err}"
    );
}

#[test]
fn rules_apply_only_in_their_roles_namespaces() {
    let authorizer = Authorizer::new().unwrap();
    let user = json!({});
    // Each variant is a new revision: compiled role sets are cached by name and revision.
    let revision = std::cell::Cell::new(0);
    let in_namespace = |namespaces: &[&str], deny_namespaces: &[&str]| {
        revision.set(revision.get() + 1);
        let mut role = role(
            "r",
            revision.get(),
            vec![rule(&["node"], &["list"])],
            vec![with_where(rule(&["node"], &["list"]), "yes")],
        );
        let spec = role.spec.as_mut().unwrap();
        let listed = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect();
        spec.allow.as_mut().unwrap().namespaces = listed(namespaces);
        spec.deny.as_mut().unwrap().namespaces = listed(deny_namespaces);
        role
    };
    let decide = |role: &RoleV3, namespace: &str| {
        let request = Request {
            user: "alice",
            verb: "list",
            kind: "node",
            user_resource: &user,
            resource: &user,
            namespace,
        };
        authorizer
            .decide(std::slice::from_ref(role), &request, &Fake)
            .unwrap()
    };
    // None listed: `default` only, on both sides (the deny rule applies there).
    let plain = in_namespace(&[], &[]);
    assert!(!decide(&plain, "default").allowed);
    let allow_only = in_namespace(&[], &["nowhere"]);
    assert!(decide(&allow_only, "default").allowed);
    let elsewhere = decide(&allow_only, "dev");
    assert!(!elsewhere.allowed);
    assert!(elsewhere.decided_by.is_empty());
    assert!(elsewhere.wheres.is_empty(), "no rule applies in `dev`");
    assert!(elsewhere.to_string().contains("in namespace `dev`"));
    // Listed: only there; `*` everywhere; a deny rule in the namespace wins.
    let dev = in_namespace(&["dev"], &["prod"]);
    assert!(decide(&dev, "dev").allowed);
    assert!(!decide(&dev, "default").allowed);
    let everywhere = in_namespace(&["*"], &["prod"]);
    assert!(decide(&everywhere, "anything").allowed);
    let denied = decide(&everywhere, "prod");
    assert!(!denied.allowed);
    assert_eq!(denied.decided_by, vec![at("r", Side::Deny, 0)]);
}

#[test]
fn remembered_answers_equal_fresh_ones_for_every_question() {
    // Allow rules with and without clauses, on several kinds and verbs, in two namespaces,
    // and a deny rule whose clause depends on the user: every question asked twice of one
    // authorizer (the second answer comes from its memo) must equal the answer of a fresh
    // authorizer, including which rules decided.
    let mut dev = role(
        "dev",
        1,
        vec![
            rule(&["node"], &["list", "read"]),
            with_where(rule(&["role"], &["read"]), "team-dba"),
            with_where(rule(&["token"], &["*"]), "yes"),
        ],
        vec![with_where(rule(&["role"], &["read"]), "team-dba")],
    );
    dev.spec
        .as_mut()
        .unwrap()
        .allow
        .as_mut()
        .unwrap()
        .namespaces = vec!["default".into(), "dev".into()];
    let ops = role(
        "ops",
        4,
        vec![
            with_where(rule(&["role", "user"], &["read", "list"]), "no"),
            rule(&["role"], &["read"]),
        ],
        vec![with_where(rule(&["token"], &["delete"]), "broken")],
    );
    let roles = [dev, ops];
    let shared = Authorizer::new().unwrap();
    let dba = json!({"spec": {"traits": {"team": ["dba"]}}});
    let web = json!({"spec": {"traits": {"team": ["web"]}}});
    let resource = json!({});
    let mut asked = 0;
    for round in 0..2 {
        for user in [&dba, &web] {
            for verb in ["read", "list", "delete", "create"] {
                for kind in ["node", "role", "user", "token"] {
                    for namespace in ["default", "dev", "prod"] {
                        let request = Request {
                            user: "alice",
                            verb,
                            kind,
                            user_resource: user,
                            resource: &resource,
                            namespace,
                        };
                        let remembered = shared.decide(&roles, &request, &Fake).unwrap();
                        let fresh = Authorizer::new()
                            .unwrap()
                            .decide(&roles, &request, &Fake)
                            .unwrap();
                        assert_eq!(remembered, fresh, "round {round}: {request:?}");
                        asked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(asked, 2 * 2 * 4 * 4 * 3);
    // The deny clause made the dba and web users' `read role` different questions.
    let denied = decide_as(&roles, "read", "role", &dba);
    assert!(!denied.allowed);
    assert_eq!(denied.decided_by, vec![at("dev", Side::Deny, 0)]);
    let allowed = decide_as(&roles, "read", "role", &web);
    assert!(allowed.allowed);
    assert_eq!(allowed.decided_by, vec![at("ops", Side::Allow, 1)]);
}
