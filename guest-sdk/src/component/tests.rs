//! The glue between WIT records and SDK types, natively (world `access-request-policy`).

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::access_request::exports::portcullis::policy::access_request::{
    Decision as WitDecision, Guest, Input, Request, Review, Verdict as WitVerdict,
};
use super::access_request::exports::portcullis::policy::describe::Guest as Describe;
use super::access_request::portcullis::policy::types::{
    Annotation, Capability as WitCapability, FailureKind,
};
use super::{access_request as glue, Capability};
use crate::{AccessRequestInput, Decision, GuestError, Verdict};

fn request(roles: &[&str], ticket: Option<&str>) -> Input {
    Input {
        request: Request {
            id: "r-1".into(),
            user: "alice".into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            state: "PENDING".into(),
            reason: "fix the db".into(),
            annotations: ticket
                .map(|t| {
                    vec![Annotation {
                        name: "ticket".into(),
                        values: vec![t.into()],
                    }]
                })
                .unwrap_or_default(),
            created: "2026-11-24T10:00:00Z".into(),
            access_expiry: "2026-11-24T18:00:00Z".into(),
        },
        requester: r#"{"kind":"user","metadata":{"name":"alice"},"spec":{"roles":["dev"],"traits":{"team":["db"]}}}"#.into(),
        reviews: vec![Review {
            author: "bob".into(),
            verdict: "approve".into(),
            reason: "ok".into(),
            created: "2026-11-24T10:05:00Z".into(),
        }],
        now: "2026-11-24T10:06:00Z".into(),
    }
}

#[test]
fn the_wit_input_becomes_the_sdk_input() {
    let input = glue::input(request(&["dba"], Some("OPS-1"))).unwrap();
    assert_eq!(input.request.id, "r-1");
    assert_eq!(input.request.roles, ["dba"]);
    assert_eq!(input.request.annotations["ticket"], ["OPS-1"]);
    assert_eq!(input.request.access_expiry, "2026-11-24T18:00:00Z");
    assert_eq!(input.requester.metadata.name, "alice");
    assert_eq!(input.requester.spec.traits["team"], ["db"]);
    assert_eq!(input.reviews.len(), 1);
    assert_eq!(input.reviews[0].verdict, Verdict::Approve);
    assert_eq!(input.now, "2026-11-24T10:06:00Z");
}

#[test]
fn bad_json_in_the_input_is_a_failure_naming_the_field() {
    let mut bad = request(&["dba"], None);
    bad.requester = "{not json".into();
    let failure = glue::input(bad).unwrap_err();
    assert!(
        failure.message.contains("`requester`"),
        "{}",
        failure.message
    );
    assert!(matches!(failure.kind, FailureKind::Evaluation));

    let mut bad = request(&["dba"], None);
    bad.reviews[0].verdict = "maybe".into();
    let failure = glue::input(bad).unwrap_err();
    assert!(
        failure.message.contains("`reviews.verdict`"),
        "{}",
        failure.message
    );
}

#[test]
fn the_sdk_decision_becomes_the_wit_decision() {
    let d = glue::decision(
        Decision::approve("ticket OPS-1")
            .annotate("approved-by", "approve-dba")
            .suggest_reviewer("carol"),
    );
    assert!(matches!(d.verdict, WitVerdict::Approve));
    assert_eq!(d.reason.as_deref(), Some("ticket OPS-1"));
    assert_eq!(d.annotations.len(), 1);
    assert_eq!(d.annotations[0].name, "approved-by");
    assert_eq!(d.annotations[0].values, ["approve-dba"]);
    assert_eq!(d.suggested_reviewers, ["carol"]);
    // An empty reason is no reason.
    let d = glue::decision(Decision::pending(""));
    assert!(matches!(d.verdict, WitVerdict::Pending));
    assert_eq!(d.reason, None);
    assert!(matches!(
        glue::decision(Decision::deny("no")).verdict,
        WitVerdict::Deny
    ));
}

#[test]
fn handler_errors_keep_their_kind() {
    let failure = glue::decide(request(&["dba"], None), |_| {
        Err::<Decision, _>(GuestError::syntax("bad expression"))
    })
    .unwrap_err();
    assert_eq!(failure.message, "bad expression");
    assert!(matches!(failure.kind, FailureKind::Syntax));
    let failure = glue::decide(request(&["dba"], None), |_| {
        Err::<Decision, _>(String::from("boom"))
    })
    .unwrap_err();
    assert_eq!(failure.message, "boom");
    assert!(matches!(failure.kind, FailureKind::Evaluation));
}

#[test]
fn metadata_lists_functions_and_v2_capabilities() {
    let m = glue::metadata(
        "team-check",
        "2.0.0",
        &["business_hours"],
        r#"["log","time","lookup:user","call"]"#,
    );
    assert_eq!(
        (m.name.as_str(), m.version.as_str()),
        ("team-check", "2.0.0")
    );
    assert_eq!(m.functions, ["business_hours"]);
    let caps: Vec<String> = m
        .capabilities
        .iter()
        .map(|c| match c {
            WitCapability::Log => "log".to_string(),
            WitCapability::Time => "time".to_string(),
            WitCapability::Call => "call".to_string(),
            WitCapability::Lookup(kind) => alloc::format!("lookup:{kind}"),
        })
        .collect();
    assert_eq!(caps, ["log", "time", "lookup:user", "call"]);
}

#[test]
fn capabilities_parse_from_their_v1_names() {
    assert_eq!(Capability::parse("log"), Ok(Capability::Log));
    assert_eq!(
        Capability::parse("lookup:role"),
        Ok(Capability::Lookup("role".into()))
    );
    let error = Capability::parse("input").unwrap_err();
    assert!(error.to_string().contains("`input`"), "{error}");
    assert!(Capability::parse("lookup:").is_err());
    assert!(crate::__private::declares_input(r#""time","input""#));
    assert!(!crate::__private::declares_input(
        r#""time","lookup:inputs""#
    ));
}

/// A policy as a crate writes it, through `component!`.
mod policy {
    use super::*;

    fn review(input: AccessRequestInput) -> Result<Decision, String> {
        match input.request.annotations.get("ticket") {
            Some(ticket) => Ok(Decision::approve(alloc::format!("ticket {}", ticket[0]))),
            None => Ok(Decision::pending("no ticket")),
        }
    }

    crate::component! {
        name: "sdk-test",
        version: "0.1.0",
        hooks: { access_request: review },
        functions: {},
        capabilities: [log, time],
    }

    #[test]
    fn the_macro_implements_describe_and_decide() {
        let m = <__PortcullisComponent as Describe>::get();
        assert_eq!(m.name, "sdk-test");
        assert!(m.functions.is_empty());
        assert!(matches!(
            m.capabilities[..],
            [WitCapability::Log, WitCapability::Time]
        ));
        let d: WitDecision =
            <__PortcullisComponent as Guest>::decide(request(&["dba"], Some("OPS-7"))).unwrap();
        assert!(matches!(d.verdict, WitVerdict::Approve));
        assert_eq!(d.reason.as_deref(), Some("ticket OPS-7"));
        let d = <__PortcullisComponent as Guest>::decide(request(&["dba"], None)).unwrap();
        assert!(matches!(d.verdict, WitVerdict::Pending));
    }
}
