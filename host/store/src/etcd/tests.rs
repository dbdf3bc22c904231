//! What only the etcd backend does: several backends on one etcd, prefixes, a feed that
//! survives a restart of etcd, and ends subscriptions when it cannot deliver every event.
//! The shared semantics are the conformance suite's (`crate::conformance`).

use std::sync::Arc;
use std::time::Duration;

use etcd_client::{CompactionOptions, GetOptions};

use super::testing::TestEtcd;
use super::watch::{Follower, INTERRUPT_AFTER};
use super::Shared;
use crate::feed::Feed;
use crate::{Backend, Error, Event, EventKind, Subscription};

async fn next(sub: &mut Subscription) -> Event {
    tokio::time::timeout(Duration::from_secs(10), sub.recv())
        .await
        .expect("timed out waiting for an event")
        .expect("feed closed")
        .expect("feed error")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_backends_share_one_store() {
    let etcd = TestEtcd::start();
    let a = etcd.backend("/cluster", 64).await;
    let b = etcd.backend("/cluster", 64).await;
    let mut on_b = b.subscribe();
    let first = a.put(b"/roles/x", b"1".to_vec(), None).await.unwrap();
    assert_eq!(b.get(b"/roles/x").await.unwrap(), Some(first.clone()));
    // A compare-and-swap on B with A's revision wins; A's stale one then loses.
    let second = b
        .compare_and_swap(b"/roles/x", first.revision, b"2".to_vec(), None)
        .await
        .unwrap();
    let err = a
        .compare_and_swap(b"/roles/x", first.revision, b"3".to_vec(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RevisionMismatch { .. }), "{err}");
    let third = a.create(b"/roles/y", Vec::new(), None).await.unwrap();
    // B's feed has A's writes and its own, in revision order.
    for expected in [&first, &second, &third] {
        let event = next(&mut on_b).await;
        assert_eq!((event.kind, &event.item), (EventKind::Put, expected));
    }
    assert!(b.current_revision() >= third.revision);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefixes_keep_clusters_apart() {
    let etcd = TestEtcd::start();
    let one = etcd.backend("/one", 64).await;
    let two = etcd.backend("/one-more", 64).await;
    let mut on_one = one.subscribe();
    two.put(b"/k", b"two".to_vec(), None).await.unwrap();
    let mine = one.put(b"/k", b"one".to_vec(), None).await.unwrap();
    assert_eq!(one.get(b"/k").await.unwrap().unwrap().value, b"one");
    assert_eq!(two.get(b"/k").await.unwrap().unwrap().value, b"two");
    let all = one.range(b"", None, 0).await.unwrap();
    assert_eq!(all.items, vec![mine.clone()]);
    // The first event on `/one` is its own write: `/one-more`'s is not in its feed.
    assert_eq!(next(&mut on_one).await.item, mine);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_resumes_after_etcd_restarts() {
    let mut etcd = TestEtcd::start();
    let writer = etcd.backend("/c", 64).await;
    let follower = etcd.backend("/c", 64).await;
    let mut sub = follower.subscribe();
    let mut written = Vec::new();
    for i in 0..3u8 {
        written.push(writer.put(&[b'/', i], vec![i], None).await.unwrap());
    }
    for item in &written {
        assert_eq!(&next(&mut sub).await.item, item);
    }
    // Down for less than the feed waits before it ends subscriptions.
    etcd.kill();
    etcd.resume();
    // Writes after the restart reach the same subscription, none lost or repeated.
    let mut after = Vec::new();
    for i in 3..6u8 {
        let key = [b'/', i];
        after.push(retry(|| writer.put(&key, vec![i], None)).await);
    }
    for item in &after {
        assert_eq!(&next(&mut sub).await.item, item);
    }
    let more = tokio::time::timeout(Duration::from_millis(300), sub.recv()).await;
    assert!(more.is_err(), "no event repeated: {more:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_ends_subscriptions_and_later_ones_work() {
    let mut etcd = TestEtcd::start();
    let backend = etcd.backend("/c", 64).await;
    let mut sub = backend.subscribe();
    etcd.kill();
    let ended = tokio::time::timeout(INTERRUPT_AFTER * 4, sub.recv())
        .await
        .expect("the subscription ends while etcd is down");
    match ended {
        Some(Err(Error::FeedInterrupted { reason })) => {
            assert!(reason.contains("unreachable"), "{reason}")
        }
        other => panic!("expected an interruption, got {other:?}"),
    }
    assert!(
        sub.recv().await.is_none(),
        "an interrupted subscription ends"
    );
    etcd.resume();
    let item = retry(|| backend.put(b"/back", Vec::new(), None)).await;
    let mut again = backend.subscribe();
    let later = retry(|| backend.put(b"/later", Vec::new(), None)).await;
    assert!(later.revision > item.revision);
    assert_eq!(next(&mut again).await.item, later);
}

/// A feed that must resume from a compacted revision ends its subscriptions as a lagging
/// subscriber's would, and goes on from etcd's current revision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compacted_history_ends_subscriptions_with_lag() {
    let etcd = TestEtcd::start();
    let backend = etcd.backend("/c", 64).await;
    for i in 0..5u8 {
        backend.put(&[b'/', i], Vec::new(), None).await.unwrap();
    }
    let mut client = backend.client.clone();
    let now = client
        .get("/c", Some(GetOptions::new().with_count_only()))
        .await
        .unwrap()
        .header()
        .unwrap()
        .revision();
    client
        .compact(now, Some(CompactionOptions::new().with_physical()))
        .await
        .unwrap();
    // A follower that last saw etcd revision 2 (compacted since).
    let feed = Arc::new(Feed::new(64));
    let shared = Arc::new(Shared::default());
    let mut sub = feed.subscribe(|| 0);
    let (_stop, stopped) = tokio::sync::watch::channel(());
    tokio::spawn(
        Follower {
            client: client.clone(),
            prefix: b"/c/".to_vec(),
            shared: shared.clone(),
            feed: feed.clone(),
        }
        .run(2, stopped),
    );
    match tokio::time::timeout(Duration::from_secs(10), sub.recv()).await {
        Ok(Some(Err(Error::FeedLagged { missed }))) => assert!(missed > 0),
        other => panic!("expected a lag error, got {other:?}"),
    }
    assert!(sub.recv().await.is_none());
    // It follows on from the present: a new subscriber sees the next write.
    let mut fresh = feed.subscribe(|| 0);
    let item = backend.put(b"/new", b"v".to_vec(), None).await.unwrap();
    assert_eq!(next(&mut fresh).await.item, item);
}

/// Runs a write until etcd answers it (it may take a moment to be reachable again).
async fn retry<F, Fut, T>(mut write: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = crate::Result<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match write().await {
            Ok(value) => return value,
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::debug!("etcd not back yet: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("etcd did not come back: {e}"),
        }
    }
}
