//! Unit tests of the registry: leases, expiry, listings.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use portcullis_api::services::{Metadata, ServerV2};
use portcullis_store::{Backend, MemoryBackend};

use super::{Batcher, PresenceError, Registry, ServerKind};

fn node(name: &str, env: &str) -> ServerV2 {
    ServerV2 {
        kind: "node".into(),
        version: "v2".into(),
        metadata: Some(Metadata {
            name: name.into(),
            namespace: "default".into(),
            labels: BTreeMap::from([("env".into(), env.into())]),
            ..Metadata::default()
        }),
        ..ServerV2::default()
    }
}

fn names(servers: &[ServerV2]) -> Vec<String> {
    servers
        .iter()
        .map(|s| s.metadata.as_ref().unwrap().name.clone())
        .collect()
}

#[tokio::test]
async fn leases_extend_registrations_and_lapse() {
    let backend = MemoryBackend::new();
    let nodes = Registry::new(&backend, ServerKind::Node);
    let now = SystemTime::now();
    let soon = now + Duration::from_millis(300);
    let lease = nodes.upsert(node("n1", "prod"), soon).await.unwrap();
    assert!(lease.lease_id > 0);
    assert_eq!(
        (lease.name.as_str(), lease.namespace.as_str()),
        ("n1", "default")
    );
    nodes
        .upsert(node("n2", "dev"), now + Duration::from_secs(60))
        .await
        .unwrap();

    let all = nodes.list("default", &BTreeMap::new()).await.unwrap();
    assert_eq!(names(&all), ["n1", "n2"]);
    let expires = all[0].metadata.as_ref().unwrap().expires.unwrap();
    assert_eq!(expires, soon.into());
    let prod = BTreeMap::from([("env".to_owned(), "prod".to_owned())]);
    assert_eq!(names(&nodes.list("default", &prod).await.unwrap()), ["n1"]);
    assert!(nodes
        .list("other", &BTreeMap::new())
        .await
        .unwrap()
        .is_empty());

    // A keep-alive with the lease extends it; the listing reports the new expiry.
    let later = now + Duration::from_secs(30);
    nodes
        .keep_alive("default", "n1", lease.lease_id, later)
        .await
        .unwrap();
    let all = nodes.list("default", &prod).await.unwrap();
    assert_eq!(
        all[0].metadata.as_ref().unwrap().expires.unwrap(),
        later.into()
    );

    // Another lease is refused and changes nothing.
    let e = nodes
        .keep_alive(
            "default",
            "n1",
            lease.lease_id ^ 1,
            now + Duration::from_secs(50),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, PresenceError::LeaseMismatch { .. }), "{e}");
    assert!(e.to_string().contains("`n1`"), "{e}");
    let item = backend.get(b"/nodes/default/n1").await.unwrap().unwrap();
    assert_eq!(item.expires, Some(later));

    // Registering again replaces the lease.
    let again = nodes.upsert(node("n1", "prod"), soon).await.unwrap();
    assert_ne!(again.lease_id, lease.lease_id);
    let e = nodes
        .keep_alive("default", "n1", lease.lease_id, later)
        .await
        .unwrap_err();
    assert!(matches!(e, PresenceError::LeaseMismatch { .. }), "{e}");

    // Once the lease lapses the node is gone from listings, and keep-alives are refused.
    tokio::time::sleep(soon.duration_since(SystemTime::now()).unwrap_or_default()).await;
    assert_eq!(
        names(&nodes.list("default", &BTreeMap::new()).await.unwrap()),
        ["n2"]
    );
    let e = nodes
        .keep_alive("default", "n1", again.lease_id, later)
        .await
        .unwrap_err();
    assert!(matches!(e, PresenceError::NotRegistered { .. }), "{e}");
    assert!(
        e.to_string().contains("node `n1` in namespace `default`"),
        "{e}"
    );
}

/// A stream's keep-alives after the first write without reading, and still see every change
/// a read would: another lease, a deletion, a lapse, an announcement that changed.
#[tokio::test]
async fn a_streams_later_keep_alives_write_once_and_see_every_change() {
    let backend = Arc::new(MemoryBackend::new());
    let batcher = Batcher::start(backend.clone());
    let nodes = Registry::new(backend.as_ref(), ServerKind::Node).with_batcher(&batcher);
    let now = SystemTime::now();
    let lease = nodes
        .upsert(node("n1", "prod"), now + Duration::from_secs(60))
        .await
        .unwrap();
    let mut last = None;
    let at = |secs| now + Duration::from_secs(secs);
    for secs in [70, 80, 90] {
        let before = backend.current_revision();
        nodes
            .extend("default", "n1", lease.lease_id, at(secs), &mut last)
            .await
            .unwrap();
        // One write, the record kept as announced, the new expiry.
        assert_eq!(backend.current_revision(), before + 1);
        let item = backend.get(b"/nodes/default/n1").await.unwrap().unwrap();
        assert_eq!(item.expires, Some(at(secs)));
        let listed = nodes.list("default", &BTreeMap::new()).await.unwrap();
        assert_eq!(listed[0].metadata.as_ref().unwrap().labels["env"], "prod");
    }

    // Announced again (a new lease): the old lease is refused, the new one works.
    let again = nodes.upsert(node("n1", "dev"), at(60)).await.unwrap();
    let e = nodes
        .extend("default", "n1", lease.lease_id, at(100), &mut last)
        .await
        .unwrap_err();
    assert!(matches!(e, PresenceError::LeaseMismatch { .. }), "{e}");
    nodes
        .extend("default", "n1", again.lease_id, at(100), &mut last)
        .await
        .unwrap();
    let listed = nodes.list("default", &BTreeMap::new()).await.unwrap();
    assert_eq!(listed[0].metadata.as_ref().unwrap().labels["env"], "dev");

    // Deleted: refused, and nothing comes back.
    nodes.delete("default", "n1").await.unwrap();
    let e = nodes
        .extend("default", "n1", again.lease_id, at(110), &mut last)
        .await
        .unwrap_err();
    assert!(matches!(e, PresenceError::NotRegistered { .. }), "{e}");
    assert_eq!(backend.get(b"/nodes/default/n1").await.unwrap(), None);

    // Lapsed: refused, and it stays gone.
    let short = nodes
        .upsert(
            node("n1", "prod"),
            SystemTime::now() + Duration::from_millis(200),
        )
        .await
        .unwrap();
    let mut last = None;
    nodes
        .extend(
            "default",
            "n1",
            short.lease_id,
            SystemTime::now() + Duration::from_millis(300),
            &mut last,
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let e = nodes
        .extend("default", "n1", short.lease_id, at(120), &mut last)
        .await
        .unwrap_err();
    assert!(matches!(e, PresenceError::NotRegistered { .. }), "{e}");
    assert!(nodes
        .list("default", &BTreeMap::new())
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn proxies_and_nodes_are_apart() {
    let backend = MemoryBackend::new();
    let expires = SystemTime::now() + Duration::from_secs(60);
    let mut proxy = node("p1", "prod");
    proxy.kind = "proxy".into();
    let lease = Registry::new(&backend, ServerKind::Proxy)
        .upsert(proxy, expires)
        .await
        .unwrap();
    assert_eq!(lease.r#type, i32::from(super::KeepAliveType::Proxy));
    assert!(backend.get(b"/proxies/p1").await.unwrap().is_some());
    let nodes = Registry::new(&backend, ServerKind::Node);
    assert!(nodes
        .list("default", &BTreeMap::new())
        .await
        .unwrap()
        .is_empty());
    let e = nodes
        .keep_alive("default", "p1", lease.lease_id, expires)
        .await
        .unwrap_err();
    assert!(matches!(e, PresenceError::NotRegistered { .. }), "{e}");
}

#[test]
fn keep_alive_types() {
    assert_eq!(ServerKind::of_keep_alive(0).unwrap(), ServerKind::Node);
    assert_eq!(ServerKind::of_keep_alive(2).unwrap(), ServerKind::Proxy);
    assert_eq!(ServerKind::of_keep_alive(1).unwrap(), ServerKind::App);
    assert!(matches!(
        ServerKind::of_keep_alive(7),
        Err(PresenceError::Invalid(_))
    ));
}
