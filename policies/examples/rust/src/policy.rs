//! The decision of approve-dba, shared by its two Rust builds: the ABI v1 core module of
//! this crate (`src/lib.rs`, `module!`) and the ABI v2 component of
//! `policies/examples/rust-component` (`component!`), which includes this file.

use alloc::string::String;

use portcullis_guest::Decision;

/// The only role this policy lets through.
pub const ROLE: &str = "dba";

const MS_PER_HOUR: i64 = 3_600_000;
const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;

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
    use alloc::vec::Vec;
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
}
