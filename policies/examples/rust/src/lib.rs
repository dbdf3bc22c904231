//! `approve-dba`: the example approval policy shared by every guest language (see
//! `policies/conformance/README.md`), written with the Rust guest SDK.
//!
//! Only `dba` may be requested; a request with a `ticket` annotation made during working
//! hours (Monday–Friday, 08:00–18:00 UTC) is approved, any other `dba` request is left to a
//! human. Like the other languages' versions it does not parse its input: it reads the
//! values it needs with the `input_get` import and the time with `now_ms`.
#![cfg_attr(target_arch = "wasm32", no_std)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

use portcullis_guest::{host, Decision, RawInput};

portcullis_guest::module! {
    name: "approve-dba",
    version: "1.0.0",
    hooks: {
        access_request: access_request,
    },
    functions: {},
    capabilities: [time, input],
}

/// The only role this policy lets through.
pub const ROLE: &str = "dba";

const MS_PER_HOUR: i64 = 3_600_000;
const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;

/// The `access_request` hook: reads roles, ticket and time from the host and decides.
fn access_request(_input: RawInput) -> Result<Decision, String> {
    let roles = requested_roles();
    let ticket = host::input_get("/request/annotations/ticket/0");
    Ok(decide(&roles, ticket.as_deref(), host::now_ms()))
}

/// `/request/roles/0`, `/request/roles/1`, ... until there is no such value.
fn requested_roles() -> Vec<String> {
    let mut roles = Vec::new();
    let mut path = String::new();
    for index in 0..u32::MAX {
        path.clear();
        path.push_str("/request/roles/");
        push_decimal(&mut path, index);
        match host::input_get(&path) {
            Some(role) => roles.push(role),
            None => break,
        }
    }
    roles
}

/// Appends `n` in decimal (without pulling in `core::fmt`).
fn push_decimal(out: &mut String, n: u32) {
    if n >= 10 {
        push_decimal(out, n / 10);
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// The policy: first match wins.
pub fn decide(roles: &[String], ticket: Option<&str>, now_ms: i64) -> Decision {
    if roles.is_empty() {
        return Decision::deny("no roles requested");
    }
    if roles.iter().any(|role| role != ROLE) {
        return Decision::deny("only dba may be requested under this policy");
    }
    let Some(ticket) = ticket.filter(|ticket| !ticket.is_empty()) else {
        return Decision::pending("no ticket annotation: a human must review");
    };
    if !working_hours(now_ms) {
        return Decision::pending("outside working hours: a human must review");
    }
    let mut reason = String::from("ticket ");
    reason.push_str(ticket);
    reason.push_str(" during working hours");
    Decision::approve(reason).annotate("approved-by", "approve-dba")
}

/// Monday–Friday, `08:00 <= hour < 18:00`, UTC; the weekday is `(days + 4) % 7` with
/// 0 = Sunday (1970-01-01 was a Thursday).
pub fn working_hours(now_ms: i64) -> bool {
    let weekday = (now_ms.div_euclid(MS_PER_DAY) + 4).rem_euclid(7);
    let hour = now_ms.div_euclid(MS_PER_HOUR).rem_euclid(24);
    (1..=5).contains(&weekday) && (8..18).contains(&hour)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use portcullis_guest::Verdict;

    /// Tuesday 2026-11-24 10:00 UTC.
    const TUESDAY_10: i64 = 1_795_514_400_000;
    /// Saturday 2026-11-21 10:00 UTC.
    const SATURDAY_10: i64 = 1_795_255_200_000;

    fn roles(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn decisions() {
        let d = decide(&roles(&["dba"]), Some("OPS-1"), TUESDAY_10);
        assert_eq!(d.verdict, Verdict::Approve);
        assert_eq!(d.reason, "ticket OPS-1 during working hours");
        assert_eq!(d.annotations["approved-by"], ["approve-dba"]);
        assert!(d.suggested_reviewers.is_empty());

        let d = decide(&roles(&["dba"]), None, TUESDAY_10);
        assert_eq!(
            (d.verdict, d.reason.as_str()),
            (
                Verdict::Pending,
                "no ticket annotation: a human must review"
            )
        );
        assert_eq!(
            decide(&roles(&["dba"]), Some(""), TUESDAY_10).verdict,
            Verdict::Pending
        );

        let d = decide(&roles(&["dba"]), Some("OPS-1"), SATURDAY_10);
        assert_eq!(
            (d.verdict, d.reason.as_str()),
            (
                Verdict::Pending,
                "outside working hours: a human must review"
            )
        );

        for names in [&["dev"][..], &["dba", "dev"], &["DBA"], &["dba-admin"]] {
            let d = decide(&roles(names), None, SATURDAY_10);
            assert_eq!(
                (d.verdict, d.reason.as_str()),
                (Verdict::Deny, "only dba may be requested under this policy")
            );
        }
        let d = decide(&[], Some("OPS-1"), TUESDAY_10);
        assert_eq!(
            (d.verdict, d.reason.as_str()),
            (Verdict::Deny, "no roles requested")
        );
    }

    #[test]
    fn working_hours_edges() {
        let tuesday_0 = TUESDAY_10 - 10 * MS_PER_HOUR;
        assert!(!working_hours(tuesday_0 + 8 * MS_PER_HOUR - 1));
        assert!(working_hours(tuesday_0 + 8 * MS_PER_HOUR));
        assert!(working_hours(tuesday_0 + 18 * MS_PER_HOUR - 1));
        assert!(!working_hours(tuesday_0 + 18 * MS_PER_HOUR));
        assert!(!working_hours(SATURDAY_10));
        assert!(!working_hours(SATURDAY_10 + MS_PER_DAY));
        assert!(working_hours(SATURDAY_10 + 2 * MS_PER_DAY));
        // 1970-01-01 (Thursday) 12:00 and 1969-12-31 (Wednesday) 12:00.
        assert!(working_hours(12 * MS_PER_HOUR));
        assert!(working_hours(-12 * MS_PER_HOUR));
        assert!(!working_hours(-3 * MS_PER_DAY));
    }

    #[test]
    fn decimal() {
        let mut s = String::new();
        for n in [0, 7, 10, 4_294_967_295] {
            push_decimal(&mut s, n);
            s.push(' ');
        }
        assert_eq!(s, "0 7 10 4294967295 ");
    }
}
