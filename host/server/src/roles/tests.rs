//! The role workflows over the in-memory store, clauses checked by the built-in
//! `predicate` module.

use std::sync::Arc;

use portcullis_api::documents::{parse_documents, Document};
use portcullis_policy::Limits;
use portcullis_store::MemoryBackend;

use super::*;
use crate::modules::Policies;

/// The roles of an empty in-memory store and the module registry (with the built-in
/// `predicate` module when `predicate` is set). Keep the directory while they are used.
async fn setup(predicate: bool) -> (Collection<RoleV3>, Policies, tempfile::TempDir) {
    let backend = Arc::new(MemoryBackend::new());
    let dir = tempfile::tempdir().unwrap();
    let policies = Policies::new(
        dir.path().to_path_buf(),
        Limits::default(),
        portcullis_policy::ValidationLimits::default(),
        backend.clone(),
    )
    .unwrap();
    if predicate {
        policies.load_stored().await.unwrap();
    }
    (Collection::new(backend), policies, dir)
}

/// A role `name` whose one allow rule has the `where` clause `clause` and the `actions`.
fn role(name: &str, clause: &str, actions: &[&str]) -> RoleV3 {
    let yaml = format!(
        "kind: role\nversion: v3\nmetadata: {{name: {name}}}\nspec:\n  allow:\n    rules:\n    \
         - resources: [role]\n      verbs: [read]\n      where: {}\n      actions: {}\n",
        serde_json::to_string(clause).unwrap(),
        serde_json::to_string(actions).unwrap(),
    );
    match parse_documents(&yaml).unwrap().pop() {
        Some(Document::Role(role)) => *role,
        other => panic!("not a role: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clause_with_a_syntax_error_is_refused() {
    let (roles, policies, _dir) = setup(true).await;
    let hooks = policies.rule_hooks();
    let bad = role("bad", r#"contains(user.spec.traits["team"]"#, &[]);
    let err = create(&roles, &hooks, bad).await.unwrap_err();
    let RoleError::Clause {
        role: name,
        field,
        error,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (name.as_str(), field.as_str()),
        ("bad", "spec.allow.rules[0].where")
    );
    assert!(error.is_syntax(), "{error:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("role `bad`: spec.allow.rules[0].where: syntax error: "),
        "{text}"
    );
    assert!(text.contains("at column"), "{text}");
    assert!(roles.find("bad").await.unwrap().is_none());

    // An action that is not a call is malformed too.
    let bad = role("bad", "", &["user.metadata.name"]);
    let err = upsert(&roles, &hooks, bad).await.unwrap_err();
    assert!(
        matches!(&err, RoleError::Clause { field, error, .. }
            if field == "spec.allow.rules[0].actions[0]" && error.is_syntax()),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clauses_that_only_fail_at_evaluation_are_accepted() {
    let (roles, policies, _dir) = setup(true).await;
    let hooks = policies.rule_hooks();
    // A type error (a string where a boolean is needed) depends on what the clause is
    // evaluated on: the role is stored.
    for (name, clause) in [
        ("typed", "user.metadata.name"),
        ("good", r#"contains(user.spec.traits["team"], "dba")"#),
    ] {
        let stored = create(
            &roles,
            &hooks,
            role(name, clause, &[r#"log("info", "%v", verb)"#]),
        )
        .await
        .unwrap();
        assert_eq!(stored.metadata.as_ref().unwrap().name, name);
        assert_eq!(get(&roles, name).await.unwrap().spec, stored.spec);
    }
    assert_eq!(
        list(&roles, &PageRequest::everything(100))
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    // A call of an extra function that no uploaded module provides is refused, naming it,
    // in a clause or in an action's arguments.
    for (clause, action) in [
        (r#"business_hours("utc")"#, r#"log("info", "%v", verb)"#),
        ("", r#"log("info", "%v", owner(verb))"#),
    ] {
        let err = create(&roles, &hooks, role("extra", clause, &[action]))
            .await
            .unwrap_err();
        let RoleError::UnknownFunction { functions, .. } = &err else {
            panic!("{err:?}")
        };
        assert!(
            functions == &["business_hours"] || functions == &["owner"],
            "{err}"
        );
        assert!(err
            .to_string()
            .contains("no uploaded policy module provides"));
    }
    let err = create(&roles, &hooks, role("good", "", &[]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RoleError::Resource(ResourceError::AlreadyExists { .. })
        ),
        "{err:?}"
    );
    upsert(&roles, &hooks, role("good", "", &[])).await.unwrap();
    delete(&roles, "good").await.unwrap();
    let err = delete(&roles, "good").await.unwrap_err();
    assert!(
        matches!(err, RoleError::Resource(ResourceError::NotFound { .. })),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_predicate_module_clauses_are_left_to_evaluation() {
    let (roles, policies, _dir) = setup(false).await;
    let hooks = policies.rule_hooks();
    create(&roles, &hooks, role("later", "contains(", &[]))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_in_roles_are_reserved() {
    let (roles, policies, _dir) = setup(true).await;
    let hooks = policies.rule_hooks();
    let err = create(&roles, &hooks, role("admin", "", &[]))
        .await
        .unwrap_err();
    assert!(matches!(err, RoleError::Invalid(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "role `admin`: `admin` is a built-in role and cannot be created, changed or deleted"
    );
    let err = delete(&roles, "admin").await.unwrap_err();
    assert!(matches!(&err, RoleError::Reserved { name } if name == "admin"));
    assert_eq!(
        err.to_string(),
        "`admin` is a built-in role and cannot be created, changed or deleted"
    );
    // The built-in roles are read like stored ones, and are not in the store.
    assert_eq!(
        get(&roles, "admin").await.unwrap(),
        portcullis_authz::builtin::admin()
    );
    assert!(list(&roles, &PageRequest::everything(100))
        .await
        .unwrap()
        .items
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_role_language_is_checked_before_the_clauses() {
    let (_roles, policies, _dir) = setup(true).await;
    let hooks = policies.rule_hooks();
    let mut bad = role("fly", "contains(", &[]);
    bad.spec.as_mut().unwrap().allow.as_mut().unwrap().rules[0].verbs = vec!["fly".into()];
    let err = validate(&mut bad, &hooks).unwrap_err();
    assert!(matches!(err, RoleError::Invalid(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("role `fly`: spec.allow.rules[0]: unknown verb `fly`"),
        "{err}"
    );
}
