use std::sync::Arc;
use std::time::{Duration, SystemTime};

use portcullis_store::MemoryBackend;

use super::*;

fn tokens() -> Tokens {
    let statics = vec![parse_static_token("node, Proxy:static-token-1").unwrap()];
    Tokens::new(Collection::new(Arc::new(MemoryBackend::new())), statics)
}

#[test]
fn values_roles_and_redaction() {
    let v = random_value();
    assert_eq!(v.len(), 32);
    assert!(v.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(v, random_value());
    assert_eq!(redact("0123456789abcdef"), "0123************");
    assert_eq!(redact("abcdefgh"), "ab******");
    assert!(validate_value("short").is_err());
    assert!(validate_value("has a space").is_err());
    assert_eq!(
        canonical_roles(&["node".into(), "NODE".into(), "trusted_cluster".into()]).unwrap(),
        ["Node", "Trusted_cluster"]
    );
    let err = canonical_roles(&["Overlord".into()])
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown system role `Overlord`"), "{err}");
    assert!(canonical_roles(&[]).is_err());
    let err = parse_static_token("node").unwrap_err().to_string();
    assert!(err.contains("ROLES:TOKEN"), "{err}");
}

#[tokio::test]
async fn joins_say_why_they_fail_and_static_tokens_are_fixed() {
    let t = tokens();
    let now = SystemTime::now();
    let live = new_token(
        "live-token-1".into(),
        vec!["Node".into()],
        now + Duration::from_secs(60),
        Default::default(),
    );
    let old = new_token(
        "old-token-1".into(),
        vec!["Node".into()],
        now - Duration::from_secs(1),
        Default::default(),
    );
    t.create(&live).await.unwrap();
    t.create(&old).await.unwrap();
    assert!(t
        .check_join("live-token-1", "Node", now)
        .await
        .unwrap()
        .is_ok());
    assert_eq!(
        t.check_join("live-token-1", "Proxy", now).await.unwrap(),
        Err(TokenError::WrongRole {
            role: "Proxy".into()
        })
    );
    assert_eq!(
        t.check_join("old-token-1", "Node", now).await.unwrap(),
        Err(TokenError::Expired)
    );
    assert_eq!(
        t.check_join("nope-nope-nope", "Node", now).await.unwrap(),
        Err(TokenError::Unknown)
    );
    assert!(t
        .check_join("static-token-1", "Proxy", now)
        .await
        .unwrap()
        .is_ok());

    // Listings and reads never show expired tokens.
    let names: Vec<String> = t
        .list()
        .await
        .unwrap()
        .iter()
        .map(|t| t.name().to_owned())
        .collect();
    assert_eq!(names, ["static-token-1", "live-token-1"]);
    assert!(t.get("old-token-1").await.is_err());
    // An expired token's value may be reused; a live one may not.
    t.create(&new_token(
        "old-token-1".into(),
        vec!["Proxy".into()],
        now + Duration::from_secs(60),
        Default::default(),
    ))
    .await
    .unwrap();
    assert!(matches!(
        t.create(&live).await,
        Err(ResourceError::AlreadyExists { .. })
    ));

    // Static tokens cannot be replaced or deleted by RPC.
    assert!(t.delete("static-token-1").await.is_err());
    assert!(t
        .upsert(
            &StaticToken {
                roles: vec!["Node".into()],
                value: "static-token-1".into()
            }
            .resource()
        )
        .await
        .is_err());
    t.delete("live-token-1").await.unwrap();
    assert_eq!(
        t.check_join("live-token-1", "Node", now).await.unwrap(),
        Err(TokenError::Unknown)
    );
}

#[tokio::test]
async fn generate_checks_roles_value_and_lifetime() {
    let t = tokens();
    let now = SystemTime::now();
    let ask = |roles: &[&str], value: &str, ttl_nanos: i64| Generate {
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        value: value.to_owned(),
        ttl_nanos,
        labels: [("env".to_owned(), "prod".to_owned())].into(),
    };
    // A random value with the default lifetime, canonical roles and the labels.
    let value = t
        .generate(ask(&["node", "PROXY"], "", 0), now)
        .await
        .unwrap();
    assert_eq!(value.len(), 32);
    let stored = t.get(&value).await.unwrap();
    assert_eq!(roles(&stored), ["Node", "Proxy"]);
    let left = expires(&stored).unwrap().duration_since(now).unwrap();
    assert!(
        left.abs_diff(DEFAULT_TTL) < Duration::from_secs(1),
        "{left:?}"
    );
    assert_eq!(stored.metadata.unwrap().labels["env"], "prod");
    // A chosen value, twice: the second is refused.
    let chosen = ask(&["node"], "chosen-token-1", 3_600_000_000_000);
    assert_eq!(
        t.generate(chosen.clone(), now).await.unwrap(),
        "chosen-token-1"
    );
    assert!(matches!(
        t.generate(chosen, now).await,
        Err(ResourceError::AlreadyExists { .. })
    ));
    // Refused, and nothing stored: bad roles, short values, lifetimes out of range.
    let before = t.list().await.unwrap().len();
    for (request, needle) in [
        (ask(&[], "", 0), "at least one role"),
        (ask(&["Overlord"], "", 0), "unknown system role `Overlord`"),
        (ask(&["node"], "short", 0), "at least 8 characters"),
        (ask(&["node"], "", -1), "ttl -1ns is negative"),
        (
            ask(&["node"], "", 49 * 3_600_000_000_000),
            "longer than the maximum of 2days",
        ),
    ] {
        let err = t.generate(request, now).await.unwrap_err().to_string();
        assert!(err.contains(needle), "`{needle}` missing from: {err}");
    }
    assert_eq!(t.list().await.unwrap().len(), before);
}
