#![allow(clippy::unwrap_used)]
use std::time::{Duration, SystemTime};

use portcullis_api::services::Metadata;

use super::*;
use crate::access_requests::new_request;
use crate::access_requests::testing::always;

fn policy(roles: &[&str], users: &[&str]) -> AccessRequestPolicyV1 {
    AccessRequestPolicyV1 {
        metadata: Some(Metadata {
            name: "dba-tickets".into(),
            ..Metadata::default()
        }),
        spec: Some(AccessRequestPolicySpecV1 {
            module: "approve-dba".into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            users: users.iter().map(|u| (*u).to_owned()).collect(),
        }),
        ..AccessRequestPolicyV1::default()
    }
}

fn request() -> AccessRequestV3 {
    let mut r = new_request(
        "contractor",
        vec!["dba".into()],
        "migrate".into(),
        None,
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        Duration::from_secs(3600),
    )
    .unwrap();
    r.spec.as_mut().unwrap().system_annotations.insert(
        "ticket".into(),
        StringValues {
            values: vec!["OPS-1".into()],
        },
    );
    r
}

fn outcome(policy: &str, result: Result<Decision, ApprovalError>) -> Outcome {
    Outcome {
        policy: policy.into(),
        module: "approve-dba".into(),
        module_version: "1.0.0".into(),
        result,
    }
}

#[test]
fn policies_are_checked_and_cover_roles_and_users() {
    let mut good = policy(&["db*"], &["contractor", "^ext-.*$"]);
    normalize(&mut good).unwrap();
    assert_eq!(good.kind, KIND_ACCESS_REQUEST_POLICY);
    assert!(covers(&good, "contractor", &["ops".into(), "dba".into()]));
    assert!(covers(&good, "ext-7", &["db-read".into()]));
    assert!(!covers(&good, "alice", &["dba".into()]));
    assert!(!covers(&good, "contractor", &["ops".into()]));
    assert!(covers(&policy(&[], &[]), "anyone", &["x".into()]));

    let mut no_module = policy(&[], &[]);
    no_module.spec.as_mut().unwrap().module.clear();
    assert!(normalize(&mut no_module)
        .unwrap_err()
        .to_string()
        .contains("spec.module"));
    let mut bad_glob = policy(&["^(unclosed$"], &[]);
    let err = normalize(&mut bad_glob).unwrap_err().to_string();
    assert!(err.contains("spec.roles[0]"), "{err}");
}

#[test]
fn the_input_follows_the_abi() {
    let r = request();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_005);
    let input = input(&r, json!({"kind": "user"}), now);
    assert_eq!(input.pointer("/request/roles/0"), Some(&json!("dba")));
    assert_eq!(
        input.pointer("/request/annotations/ticket/0"),
        Some(&json!("OPS-1"))
    );
    assert_eq!(input.pointer("/request/state"), Some(&json!("PENDING")));
    assert_eq!(input.pointer("/request/user"), Some(&json!("contractor")));
    assert_eq!(input.pointer("/requester/kind"), Some(&json!("user")));
    assert_eq!(input["now"], json!("2027-01-15T08:00:05Z"));
    assert_eq!(input["reviews"], json!([]));
}

#[test]
fn deny_beats_approve_and_errors_leave_it_pending() {
    let now = SystemTime::now();
    let approve = Decision {
        verdict: Verdict::Approve,
        reason: "ticket OPS-1".into(),
        annotations: BTreeMap::from([("approved-by".into(), vec!["approve-dba".into()])]),
        suggested_reviewers: vec!["alice".into()],
    };
    let deny = Decision::new(Verdict::Deny, "frozen");

    let mut r = request();
    let outcomes = [outcome(
        "broken",
        Err(ApprovalError::NotLoaded("broken".into())),
    )];
    assert_eq!(apply(&mut r, &outcomes, "create", now).unwrap(), None);
    let s = spec(&r);
    assert_eq!(s.state(), RequestState::Pending);
    assert_eq!(s.policy_verdicts[0].verdict, "error");
    assert_eq!(
        s.policy_verdicts[0].reason,
        "policy module `broken` is not loaded"
    );

    let outcomes = [outcome("a", Ok(approve.clone())), outcome("b", Ok(deny))];
    assert_eq!(
        apply(&mut r, &outcomes, "review by bob", now).unwrap(),
        Some(RequestState::Denied)
    );
    let s = spec(&r);
    assert_eq!(s.resolve_reason, "frozen");
    assert_eq!(s.resolved_by, "policy:b (module approve-dba v1.0.0)");
    assert_eq!(s.suggested_reviewers, vec!["alice".to_owned()]);
    assert_eq!(s.policy_verdicts.len(), 3);
    assert_eq!(s.policy_verdicts[2].trigger, "review by bob");

    let mut r = request();
    let outcomes = [outcome("a", Ok(approve))];
    assert_eq!(
        apply(&mut r, &outcomes, "create", now).unwrap(),
        Some(RequestState::Approved)
    );
    let s = spec(&r);
    assert_eq!(
        s.resolve_annotations["approved-by"].values,
        vec!["approve-dba".to_owned()]
    );
}

#[tokio::test]
async fn a_covering_policy_resolves_a_request_when_it_is_made() {
    use crate::access_requests::testing::{carl_asks_dba, events, fixture};
    let f = fixture().await;
    always(&f, "approve-all", "approve").await;
    let context = f.context();
    let request = carl_asks_dba(&context, 0, 0).await;
    let s = spec(&request);
    assert_eq!(s.state(), RequestState::Approved);
    assert_eq!(
        s.resolved_by,
        "policy:approve-all (module approve-all v1.0.0)"
    );
    assert_eq!(s.resolve_reason, "approve-all says approve");
    assert_eq!(s.policy_verdicts.len(), 1);
    assert_eq!(s.policy_verdicts[0].trigger, "create");
    let stored = context.requests.get(request.name()).await.unwrap();
    assert_eq!(spec(&stored).state(), RequestState::Approved);
    assert_eq!(
        events(&f).await,
        [
            audit::ACCESS_REQUEST_POLICY_CHANGE,
            audit::ACCESS_REQUEST_CREATE,
            audit::ACCESS_REQUEST_POLICY,
            audit::ACCESS_REQUEST_UPDATE,
        ]
    );

    // A deny from another covering policy wins.
    always(&f, "deny-all", "deny").await;
    let request = carl_asks_dba(&context, 0, 0).await;
    let s = spec(&request);
    assert_eq!(s.state(), RequestState::Denied);
    assert_eq!(s.policy_verdicts.len(), 2);
}

#[tokio::test]
async fn a_policy_must_name_an_uploaded_access_request_module() {
    use crate::access_requests::testing::{fixture, policy};
    use crate::access_requests::AccessRequestError;
    let f = fixture().await;
    let context = f.context();
    let err = context
        .upsert_policy(policy("p", "nowhere"), "admin")
        .await
        .unwrap_err();
    assert!(
        matches!(err, AccessRequestError::ModuleNotUploaded { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("policy module `nowhere` is not uploaded"),
        "{err}"
    );
    let err = context
        .upsert_policy(policy("p", ""), "admin")
        .await
        .unwrap_err();
    assert!(matches!(err, AccessRequestError::InvalidPolicy(_)), "{err}");
    assert!(err.to_string().contains("spec.module"), "{err}");
    always(&f, "approve-all", "approve").await;
    assert_eq!(
        context.policy("approve-all").await.unwrap().name(),
        "approve-all"
    );
    assert_eq!(context.all_policies().await.unwrap().len(), 1);
    context.delete_policy("approve-all", "admin").await.unwrap();
    assert!(context.all_policies().await.unwrap().is_empty());
}
