//! Readiness and the recording hooks over a real [`State`](crate::state::State).

use std::sync::Arc;

use portcullis_authz::RuleHooks;
use serde_json::json;

use super::sample;
use crate::access_requests::testing::{fixture, identity};
use crate::diag::{metrics, Readiness};
use crate::modules::PREDICATE_MODULE;
use crate::rbac::Subject;

#[tokio::test]
async fn ready_once_the_authorities_are_loaded() {
    let fixture = fixture().await;
    let state = &fixture.state;
    let reason = state.check().await.unwrap_err();
    assert!(reason.starts_with("authorities not loaded: "), "{reason}");
    state
        .keyring
        .ensure_and_load(&state.authorities)
        .await
        .unwrap();
    assert_eq!(state.check().await, Ok(()));
}

fn decisions(text: &str) -> f64 {
    ["allow", "deny", "error"]
        .iter()
        .map(|result| {
            sample(
                text,
                &format!("portcullis_decisions_total{{result=\"{result}\"}}"),
            )
        })
        .sum()
}

fn predicate_evaluations(text: &str) -> f64 {
    ["ok", "failed"]
        .iter()
        .map(|result| {
            let series = format!(
                "portcullis_policy_evaluations_total{{module=\"{PREDICATE_MODULE}\",result=\"{result}\"}}"
            );
            sample(text, &series)
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_and_evaluations_are_counted_where_they_happen() {
    let fixture = fixture().await;
    let state = &fixture.state;
    state.policies.load_stored().await.unwrap();

    let before = metrics().encode();
    let subject = Subject::load(state, &identity("diag")).await.unwrap();
    let resource = json!({"kind": "role"});
    subject.decide(state, "read", "role", &resource).unwrap();
    let after = metrics().encode();
    assert!(decisions(&after) - decisions(&before) >= 1.0, "{after}");

    let before = metrics().encode();
    let hooks = state.policies.rule_hooks();
    let input = Arc::new(json!({"expression": "true"}));
    let _ = tokio::task::block_in_place(|| hooks.eval_where(input));
    let after = metrics().encode();
    assert!(
        predicate_evaluations(&after) - predicate_evaluations(&before) >= 1.0,
        "{after}"
    );

    let before = metrics().encode();
    let response = state
        .policies
        .evaluate(PREDICATE_MODULE, "where", "{}")
        .await;
    response.unwrap();
    let after = metrics().encode();
    assert!(
        predicate_evaluations(&after) - predicate_evaluations(&before) >= 1.0,
        "{after}"
    );
}
