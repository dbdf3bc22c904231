use std::time::{Duration, SystemTime};

use super::*;

fn pending() -> AccessRequestV3 {
    let now = SystemTime::now();
    new_request(
        "contractor",
        vec!["dba".into(), "web".into()],
        "ticket 42".into(),
        None,
        now,
        DEFAULT_PENDING_TTL,
    )
    .unwrap()
}

#[test]
fn new_requests_are_pending_with_both_expiries() {
    let now = SystemTime::now();
    let r = pending();
    assert_eq!(state(&r), RequestState::Pending);
    assert_eq!(
        uuid::Uuid::parse_str(&r.metadata.as_ref().unwrap().name)
            .unwrap()
            .get_version_num(),
        4
    );
    let pending_until = to_system_time(r.metadata.as_ref().unwrap().expires.unwrap()).unwrap();
    assert!(pending_until > now + Duration::from_secs(3500));
    assert!(access_expires(&r).unwrap() > now + Duration::from_secs(3500));
    for (roles, expires, why) in [
        (vec![], None, "at least one role"),
        (
            vec!["dba".to_owned()],
            Some(now - Duration::from_secs(1)),
            "in the past",
        ),
        (
            vec!["dba".to_owned()],
            Some(now + Duration::from_secs(31 * 3600)),
            "more than 1day 6h",
        ),
    ] {
        let err = new_request("u", roles, String::new(), expires, now, DEFAULT_PENDING_TTL)
            .unwrap_err()
            .to_string();
        assert!(err.contains(why), "{err}");
    }
}

#[test]
fn only_pending_requests_resolve_and_partial_approval_narrows() {
    let mut r = pending();
    let err = resolve(
        &mut r.clone(),
        Resolution {
            state: RequestState::Approved,
            roles: vec!["admin".into()],
            ..Resolution::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("role `admin` was not requested"), "{err}");
    let err = resolve(
        &mut r.clone(),
        Resolution {
            state: RequestState::Pending,
            ..Resolution::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("only be set to approved or denied"), "{err}");
    resolve(
        &mut r,
        Resolution {
            state: RequestState::Approved,
            roles: vec!["dba".into()],
            reason: "ok".into(),
            ..Resolution::default()
        },
    )
    .unwrap();
    assert_eq!(spec(&r).roles, ["dba"]);
    assert_eq!(r.metadata.as_ref().unwrap().expires, spec(&r).expires);
    let err = resolve(
        &mut r,
        Resolution {
            state: RequestState::Denied,
            ..Resolution::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("already approved"), "{err}");
    assert!(matches(&r, "", "contractor", RequestState::Approved));
    assert!(!matches(&r, "", "someone", RequestState::None));
    assert!(!matches(&r, "", "", RequestState::Pending));
}
