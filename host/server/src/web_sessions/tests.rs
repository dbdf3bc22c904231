//! Tests of web sessions against the in-memory store.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use portcullis_api::services::{UserSpecV2, UserV2};
use portcullis_store::{Backend, MemoryBackend};

use super::*;

fn alice() -> UserV2 {
    let mut user = UserV2 {
        spec: Some(UserSpecV2 {
            roles: vec!["dev".into()],
            ..Default::default()
        }),
        ..Default::default()
    };
    user.metadata_mut().name = "alice".into();
    user
}

#[tokio::test]
async fn sessions_keep_the_roles_hide_the_bearer_and_end() {
    let backend: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
    let now = SystemTime::now();
    let opened = create(&backend, &alice(), Duration::from_secs(3600), now)
        .await
        .unwrap();
    let id = opened.name().to_owned();
    let spec = opened.spec.clone().unwrap();
    assert_eq!(spec.bearer_token.len(), 64);
    assert!(spec.bearer_token_hash.is_empty());
    assert_eq!(spec.roles, ["dev"]);

    let raw = backend
        .get(format!("{PREFIX}alice/{id}").as_bytes())
        .await
        .unwrap()
        .unwrap();
    assert!(raw.expires.is_some(), "the store expires sessions");
    let raw = String::from_utf8_lossy(&raw.value).into_owned();
    assert!(
        !raw.contains(&spec.bearer_token),
        "the bearer token is never stored"
    );

    let read = get(&backend, "alice", &id).await.unwrap();
    let read_spec = read.spec.unwrap();
    assert!(read_spec.bearer_token.is_empty() && read_spec.bearer_token_hash.is_empty());
    assert_eq!(read_spec.user, "alice");
    authenticate(&backend, "alice", &id, &spec.bearer_token)
        .await
        .unwrap();
    let forged = authenticate(&backend, "alice", &id, "not-the-token").await;
    assert!(
        matches!(forged, Err(WebSessionError::NotFound { .. })),
        "{forged:?}"
    );

    create(&backend, &alice(), Duration::from_secs(3600), now)
        .await
        .unwrap();
    let listed = list(&backend, "alice", &PageRequest::everything(100))
        .await
        .unwrap()
        .items;
    assert_eq!(listed.len(), 2);
    assert!(listed
        .iter()
        .all(|s| s.spec.as_ref().unwrap().bearer_token_hash.is_empty()));
    assert!(list(&backend, "bob", &PageRequest::everything(100))
        .await
        .unwrap()
        .items
        .is_empty());

    delete(&backend, "alice", &id).await.unwrap();
    let again = delete(&backend, "alice", &id).await;
    assert!(
        matches!(again, Err(WebSessionError::NotFound { .. })),
        "{again:?}"
    );
    let bad = get(&backend, "alice", "../x").await;
    assert!(matches!(bad, Err(WebSessionError::Invalid(_))), "{bad:?}");
    assert_eq!(delete_all(&backend, "alice").await.unwrap(), 1);
    assert!(list(&backend, "alice", &PageRequest::everything(100))
        .await
        .unwrap()
        .items
        .is_empty());
}
