//! approve-dba: the example access-request policy of Portcullis, in Rust as an ABI v2
//! component (`access-request-policy` world of guest-sdk/wit/policy.wit, with wit-bindgen).
//! The decision is specified in policies/conformance/README.md:
//!
//! - any requested role other than `dba`     -> deny
//! - no roles at all                         -> deny
//! - no non-empty `ticket` annotation        -> pending (a human reviews)
//! - outside Mon-Fri 08:00-18:00 UTC         -> pending (a human reviews)
//! - otherwise                               -> approve, annotated `approved-by: approve-dba`

wit_bindgen::generate!({
    path: "../../../guest-sdk/wit",
    world: "access-request-policy",
});

use exports::portcullis::policy::access_request::{Decision, Guest, Input, Verdict};
use exports::portcullis::policy::describe::Guest as Describe;
use portcullis::policy::host::now_ms;
use portcullis::policy::types::{Annotation, Capability, Failure, Metadata};

struct ApproveDba;

fn decision(verdict: Verdict, reason: String, annotations: Vec<Annotation>) -> Decision {
    Decision {
        verdict,
        reason: Some(reason),
        annotations,
        suggested_reviewers: Vec::new(),
    }
}

fn working_hours(ms: i64) -> bool {
    let days = ms.div_euclid(86_400_000);
    let weekday = (days + 4).rem_euclid(7); // 0 = Sunday
    let hour = ms.div_euclid(3_600_000).rem_euclid(24);
    (1..=5).contains(&weekday) && (8..18).contains(&hour)
}

impl Describe for ApproveDba {
    fn get() -> Metadata {
        Metadata {
            name: "approve-dba".into(),
            version: "1.0.0".into(),
            functions: Vec::new(),
            capabilities: vec![Capability::Time],
        }
    }
}

impl Guest for ApproveDba {
    fn decide(input: Input) -> Result<Decision, Failure> {
        let roles = &input.request.roles;
        if roles.is_empty() {
            return Ok(decision(Verdict::Deny, "no roles requested".into(), vec![]));
        }
        if roles.iter().any(|r| r != "dba") {
            let reason = "only dba may be requested under this policy".into();
            return Ok(decision(Verdict::Deny, reason, vec![]));
        }
        let ticket = input
            .request
            .annotations
            .iter()
            .find(|a| a.name == "ticket")
            .and_then(|a| a.values.first())
            .filter(|t| !t.is_empty());
        let Some(ticket) = ticket else {
            let reason = "no ticket annotation: a human must review".into();
            return Ok(decision(Verdict::Pending, reason, vec![]));
        };
        if !working_hours(now_ms()) {
            let reason = "outside working hours: a human must review".into();
            return Ok(decision(Verdict::Pending, reason, vec![]));
        }
        let approved_by = Annotation {
            name: "approved-by".into(),
            values: vec!["approve-dba".into()],
        };
        Ok(decision(
            Verdict::Approve,
            format!("ticket {ticket} during working hours"),
            vec![approved_by],
        ))
    }
}

export!(ApproveDba);
