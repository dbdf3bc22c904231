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
    let err = canonical_roles(&["Admin".into()]).unwrap_err().to_string();
    assert!(err.contains("unknown system role `Admin`"), "{err}");
    assert!(canonical_roles(&[]).is_err());
    let err = parse_static_token("node").unwrap_err();
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
