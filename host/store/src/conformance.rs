//! The conformance suite: the same cases run against every backend.

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use crate::{
    spawn_sweeper, Backend, Error, Event, EventKind, Item, MemoryBackend, NewItem, RocksBackend,
    Subscription, Swap,
};

/// The feed capacity of the backends under test.
const FEED_CAPACITY: usize = 64;

fn past() -> Option<SystemTime> {
    Some(SystemTime::now() - Duration::from_secs(60))
}

fn future() -> Option<SystemTime> {
    Some(SystemTime::now() + Duration::from_secs(3600))
}

async fn next_event(sub: &mut Subscription) -> Event {
    tokio::time::timeout(Duration::from_secs(5), sub.recv())
        .await
        .expect("timed out waiting for an event")
        .expect("feed closed")
        .expect("feed error")
}

async fn keys(b: &dyn Backend, prefix: &[u8]) -> Vec<Vec<u8>> {
    let page = b.range(prefix, None, 0).await.unwrap();
    assert_eq!(page.next, None);
    page.items.into_iter().map(|item| item.key).collect()
}

async fn put_get(b: Arc<dyn Backend>) {
    assert_eq!(b.current_revision(), 0);
    assert_eq!(b.get(b"/roles/admin").await.unwrap(), None);
    let item = b.put(b"/roles/admin", b"v1".to_vec(), None).await.unwrap();
    let expected = Item {
        key: b"/roles/admin".to_vec(),
        value: b"v1".to_vec(),
        revision: 1,
        expires: None,
    };
    assert_eq!(item, expected);
    assert_eq!(b.get(b"/roles/admin").await.unwrap(), Some(expected));
    let expires = future();
    let item = b
        .put(b"/roles/admin", b"v2".to_vec(), expires)
        .await
        .unwrap();
    assert_eq!((item.revision, item.expires), (2, expires));
    assert_eq!(b.get(b"/roles/admin").await.unwrap(), Some(item));
    assert_eq!(b.current_revision(), 2);
    // Keys are arbitrary bytes, values may be empty.
    let odd = b"/\x00\xff\n";
    b.put(odd, Vec::new(), None).await.unwrap();
    assert_eq!(b.get(odd).await.unwrap().unwrap().value, b"");
}

/// A backend that answers point reads at once answers as `get` would, expiry included.
async fn get_now_agrees_with_get(b: Arc<dyn Backend>) {
    b.put(b"/n/live", b"v".to_vec(), future()).await.unwrap();
    b.put(b"/n/expired", b"v".to_vec(), past()).await.unwrap();
    for key in [&b"/n/live"[..], b"/n/expired", b"/n/absent"] {
        if let Some(now) = b.get_now(key) {
            assert_eq!(now.unwrap(), b.get(key).await.unwrap(), "{key:?}");
        }
    }
    assert!(b
        .get_now(b"/n/expired")
        .is_none_or(|r| r.unwrap().is_none()));
}

async fn revision_per_write(b: Arc<dyn Backend>) {
    let r1 = b.put(b"/a", b"1".to_vec(), None).await.unwrap().revision;
    let r2 = b.create(b"/b", b"1".to_vec(), None).await.unwrap().revision;
    let r3 = b
        .compare_and_swap(b"/a", r1, b"2".to_vec(), None)
        .await
        .unwrap()
        .revision;
    let r4 = b.delete(b"/a").await.unwrap();
    let r5 = b.delete_if(b"/b", r2).await.unwrap();
    assert_eq!([r1, r2, r3, r4, r5], [1, 2, 3, 4, 5]);
    // Failed writes do not consume revisions.
    assert!(b.delete(b"/a").await.is_err());
    assert!(b
        .compare_and_swap(b"/b", 2, Vec::new(), None)
        .await
        .is_err());
    assert_eq!(b.current_revision(), 5);
    assert_eq!(b.put(b"/c", Vec::new(), None).await.unwrap().revision, 6);
}

async fn create_if_absent(b: Arc<dyn Backend>) {
    let item = b.create(b"/users/bob", b"1".to_vec(), None).await.unwrap();
    let err = b
        .create(b"/users/bob", b"2".to_vec(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::AlreadyExists { key } if key == b"/users/bob"),
        "{err}"
    );
    assert_eq!(b.get(b"/users/bob").await.unwrap(), Some(item));
    b.delete(b"/users/bob").await.unwrap();
    b.create(b"/users/bob", b"3".to_vec(), None).await.unwrap();
    // An expired item counts as absent.
    b.put(b"/users/old", b"1".to_vec(), past()).await.unwrap();
    let item = b.create(b"/users/old", b"2".to_vec(), None).await.unwrap();
    assert_eq!(b.get(b"/users/old").await.unwrap(), Some(item));
}

fn new_item(key: &[u8], value: &[u8], expires: Option<SystemTime>) -> NewItem {
    NewItem {
        key: key.to_vec(),
        value: value.to_vec(),
        expires,
    }
}

async fn create_all_or_none(b: Arc<dyn Backend>) {
    b.put(b"/audit/0", b"old".to_vec(), None).await.unwrap();
    b.put(b"/audit/gone", b"old".to_vec(), past())
        .await
        .unwrap();
    let mut sub = b.subscribe();
    let expires = future();
    let items = b
        .create_all(vec![
            new_item(b"/audit/1", b"a", None),
            new_item(b"/audit/2", b"b", expires),
            new_item(b"/audit/gone", b"c", None),
        ])
        .await
        .unwrap();
    // After every earlier write, in order: consecutive, or one revision for the batch.
    let revisions: Vec<u64> = items.iter().map(|i| i.revision).collect();
    assert!(
        revisions == [3, 4, 5] || revisions == [3, 3, 3],
        "{revisions:?}"
    );
    let last = revisions[2];
    assert_eq!(items[1].expires, expires);
    assert_eq!(b.current_revision(), last);
    for item in &items {
        assert_eq!(b.get(&item.key).await.unwrap().as_ref(), Some(item));
        let event = next_event(&mut sub).await;
        assert_eq!((event.kind, &event.item), (EventKind::Put, item));
    }
    // One existing key, or a key given twice: nothing is written.
    for batch in [
        vec![
            new_item(b"/audit/3", b"x", None),
            new_item(b"/audit/0", b"x", None),
        ],
        vec![
            new_item(b"/audit/4", b"x", None),
            new_item(b"/audit/4", b"y", None),
        ],
    ] {
        let err = b.create_all(batch).await.unwrap_err();
        assert!(matches!(err, Error::AlreadyExists { .. }), "{err}");
    }
    assert_eq!(b.current_revision(), last);
    assert_eq!(b.get(b"/audit/3").await.unwrap(), None);
    assert_eq!(b.get(b"/audit/4").await.unwrap(), None);
    assert_eq!(b.create_all(Vec::new()).await.unwrap(), Vec::new());
}

async fn compare_and_swap(b: Arc<dyn Backend>) {
    let item = b.put(b"/k", b"1".to_vec(), None).await.unwrap();
    let swapped = b
        .compare_and_swap(b"/k", item.revision, b"2".to_vec(), future())
        .await
        .unwrap();
    assert!(swapped.revision > item.revision);
    assert_eq!(b.get(b"/k").await.unwrap(), Some(swapped.clone()));

    let err = b
        .compare_and_swap(b"/k", item.revision, b"3".to_vec(), None)
        .await
        .unwrap_err();
    match err {
        Error::RevisionMismatch {
            key,
            expected,
            actual,
        } => {
            assert_eq!(key, b"/k");
            assert_eq!((expected, actual), (item.revision, swapped.revision));
        }
        other => panic!("unexpected error {other}"),
    }
    assert_eq!(b.get(b"/k").await.unwrap().unwrap().value, b"2");

    let err = b.compare_and_swap(b"/missing", 1, Vec::new(), None).await;
    assert!(matches!(err, Err(Error::NotFound { key }) if key == b"/missing"));
    let expired = b.put(b"/expired", Vec::new(), past()).await.unwrap();
    let err = b
        .compare_and_swap(b"/expired", expired.revision, Vec::new(), None)
        .await;
    assert!(matches!(err, Err(Error::NotFound { .. })));
}

async fn compare_and_swap_each(b: Arc<dyn Backend>) {
    let a = b.put(b"/a", b"a1".to_vec(), None).await.unwrap();
    let c = b.put(b"/c", b"c1".to_vec(), None).await.unwrap();
    let expired = b.put(b"/expired", Vec::new(), past()).await.unwrap();
    let mut sub = b.subscribe();
    let swap = |key: &[u8], expected_revision, value: &[u8]| Swap {
        key: key.to_vec(),
        expected_revision,
        value: value.to_vec(),
        expires: future(),
    };
    // Every one holds: all written, in order, each with its event.
    let results = b
        .compare_and_swap_each(vec![
            swap(b"/a", a.revision, b"a2"),
            swap(b"/c", c.revision, b"c2"),
        ])
        .await
        .unwrap();
    let written: Vec<Item> = results.into_iter().map(Result::unwrap).collect();
    assert_eq!(written[0].value, b"a2");
    assert_eq!(written[1].value, b"c2");
    assert!(written[0].revision > c.revision);
    assert!(written[1].revision >= written[0].revision);
    assert_eq!(b.get(b"/a").await.unwrap(), Some(written[0].clone()));
    assert_eq!(b.get(b"/c").await.unwrap(), Some(written[1].clone()));
    for item in &written {
        let event = next_event(&mut sub).await;
        assert_eq!((event.kind, &event.item), (EventKind::Put, item));
    }

    // One fails: the others are written all the same, and each failure is the one
    // compare_and_swap would give.
    let (a2, c2) = (written[0].clone(), written[1].clone());
    let results = b
        .compare_and_swap_each(vec![
            swap(b"/a", a.revision, b"stale"),
            swap(b"/c", c2.revision, b"c3"),
            swap(b"/missing", 1, b"x"),
            swap(b"/expired", expired.revision, b"x"),
            swap(b"/c", c2.revision, b"twice"),
        ])
        .await
        .unwrap();
    assert_eq!(results.len(), 5);
    assert!(
        matches!(&results[0], Err(Error::RevisionMismatch { key, expected, actual })
            if key == b"/a" && (*expected, *actual) == (a.revision, a2.revision)),
        "{:?}",
        results[0]
    );
    let c3 = results[1].as_ref().unwrap().clone();
    assert_eq!(c3.value, b"c3");
    assert!(c3.revision > c2.revision);
    assert!(matches!(&results[2], Err(Error::NotFound { key }) if key == b"/missing"));
    assert!(matches!(&results[3], Err(Error::NotFound { key }) if key == b"/expired"));
    assert!(matches!(&results[4], Err(Error::AlreadyExists { key }) if key == b"/c"));
    assert_eq!(b.get(b"/a").await.unwrap(), Some(a2));
    assert_eq!(b.get(b"/c").await.unwrap(), Some(c3.clone()));
    assert_eq!(b.get(b"/expired").await.unwrap(), None);
    let event = next_event(&mut sub).await;
    assert_eq!((event.kind, event.item), (EventKind::Put, c3));

    // None holds, or none given: nothing written.
    let before = b.current_revision();
    let results = b
        .compare_and_swap_each(vec![swap(b"/a", a.revision, b"stale")])
        .await
        .unwrap();
    assert!(matches!(&results[0], Err(Error::RevisionMismatch { .. })));
    assert!(b
        .compare_and_swap_each(Vec::new())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(b.current_revision(), before);
}

async fn delete(b: Arc<dyn Backend>) {
    let item = b.put(b"/k", b"1".to_vec(), None).await.unwrap();
    let revision = b.delete(b"/k").await.unwrap();
    assert_eq!(revision, item.revision + 1);
    assert_eq!(b.get(b"/k").await.unwrap(), None);
    assert!(matches!(b.delete(b"/k").await, Err(Error::NotFound { .. })));

    let item = b.put(b"/k", b"2".to_vec(), None).await.unwrap();
    let err = b.delete_if(b"/k", item.revision - 1).await.unwrap_err();
    assert!(
        matches!(err, Error::RevisionMismatch { expected, actual, .. }
            if expected == item.revision - 1 && actual == item.revision)
    );
    assert_eq!(b.get(b"/k").await.unwrap(), Some(item.clone()));
    b.delete_if(b"/k", item.revision).await.unwrap();
    assert_eq!(b.get(b"/k").await.unwrap(), None);
    assert!(matches!(
        b.delete_if(b"/k", item.revision).await,
        Err(Error::NotFound { .. })
    ));
    b.put(b"/gone", Vec::new(), past()).await.unwrap();
    assert!(matches!(
        b.delete(b"/gone").await,
        Err(Error::NotFound { .. })
    ));
}

async fn range_prefix(b: Arc<dyn Backend>) {
    let all: [&[u8]; 8] = [
        b"/roles",
        b"/roles/a",
        b"/roles/b",
        b"/roles/\xff",
        b"/roles/\xff\xff",
        b"/roles2",
        b"/rolesx",
        b"/users/a",
    ];
    for key in all.iter().rev() {
        b.put(key, key.to_vec(), None).await.unwrap();
    }
    let roles = keys(&*b, b"/roles/").await;
    let expected: Vec<&[u8]> = vec![b"/roles/a", b"/roles/b", b"/roles/\xff", b"/roles/\xff\xff"];
    assert_eq!(roles, expected);
    assert_eq!(keys(&*b, b"/roles/\xff").await, &expected[2..]);
    assert_eq!(keys(&*b, b"/users/").await, vec![b"/users/a".to_vec()]);
    assert_eq!(keys(&*b, b"/nothing/").await, Vec::<Vec<u8>>::new());
    assert_eq!(keys(&*b, b"").await, all.to_vec());
    let page = b.range(b"/roles/", None, 0).await.unwrap();
    assert!(page.items.iter().all(|item| item.value == item.key));
    assert!(page.items.iter().all(|item| item.revision > 0));
}

async fn paging(b: Arc<dyn Backend>) {
    for i in 0..21 {
        b.put(format!("/users/{i:02}").as_bytes(), Vec::new(), None)
            .await
            .unwrap();
    }
    b.put(b"/users0", Vec::new(), None).await.unwrap();
    b.put(b"/user", Vec::new(), None).await.unwrap();
    for (limit, pages) in [(7, 3), (5, 5), (1, 21), (21, 1), (0, 1), (100, 1)] {
        let mut seen = Vec::new();
        let mut start_after: Option<Vec<u8>> = None;
        let mut count = 0;
        loop {
            let page = b
                .range(b"/users/", start_after.as_deref(), limit)
                .await
                .unwrap();
            count += 1;
            assert!(limit == 0 || page.items.len() <= limit);
            assert!(!page.items.is_empty());
            seen.extend(page.items.into_iter().map(|item| item.key));
            match page.next {
                Some(next) => {
                    assert_eq!(Some(&next), seen.last());
                    start_after = Some(next);
                }
                None => break,
            }
        }
        let expected: Vec<Vec<u8>> = (0..21)
            .map(|i| format!("/users/{i:02}").into_bytes())
            .collect();
        assert_eq!(seen, expected, "limit {limit}");
        assert_eq!(count, pages, "limit {limit}");
    }
    // A start_after before the prefix starts at the prefix; after it, nothing.
    let page = b.range(b"/users/", Some(b"/a"), 2).await.unwrap();
    assert_eq!(page.items[0].key, b"/users/00");
    let page = b.range(b"/users/", Some(b"/users/20"), 0).await.unwrap();
    assert_eq!((page.items.len(), page.next), (0, None));
    let page = b.range(b"/users/", Some(b"/users0"), 0).await.unwrap();
    assert!(page.items.is_empty());
}

async fn expiry(b: Arc<dyn Backend>) {
    b.put(b"/t/past", Vec::new(), past()).await.unwrap();
    b.put(b"/t/epoch", Vec::new(), Some(SystemTime::UNIX_EPOCH))
        .await
        .unwrap();
    let soon = SystemTime::now() + Duration::from_millis(300);
    b.put(b"/t/soon", Vec::new(), Some(soon)).await.unwrap();
    b.put(b"/t/forever", Vec::new(), None).await.unwrap();
    assert_eq!(b.get(b"/t/past").await.unwrap(), None);
    assert_eq!(b.get(b"/t/epoch").await.unwrap(), None);
    assert_eq!(
        b.get(b"/t/soon").await.unwrap().unwrap().expires,
        Some(soon)
    );
    assert_eq!(
        keys(&*b, b"/t/").await,
        vec![b"/t/forever".to_vec(), b"/t/soon".to_vec()]
    );
    // Paging skips expired items too: the only live item after `/t/forever`
    // is `/t/soon`, so a page of one has a next key, then nothing.
    let page = b.range(b"/t/", None, 1).await.unwrap();
    assert_eq!(page.next, Some(b"/t/forever".to_vec()));

    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(b.get(b"/t/soon").await.unwrap(), None);
    assert_eq!(keys(&*b, b"/t/").await, vec![b"/t/forever".to_vec()]);
    let page = b.range(b"/t/", None, 1).await.unwrap();
    assert_eq!(page.next, None);
}

async fn sweep(b: Arc<dyn Backend>) {
    b.put(b"/s/expired", b"x".to_vec(), past()).await.unwrap();
    b.put(b"/s/later", b"x".to_vec(), future()).await.unwrap();
    b.put(b"/s/never", b"x".to_vec(), None).await.unwrap();
    // Re-put without expiry: the sweep must not delete it.
    b.put(b"/s/renewed", b"x".to_vec(), past()).await.unwrap();
    b.put(b"/s/renewed", b"y".to_vec(), None).await.unwrap();
    // Re-put with a different (past) expiry: deleted once.
    b.put(b"/s/twice", b"x".to_vec(), future()).await.unwrap();
    b.put(b"/s/twice", b"y".to_vec(), past()).await.unwrap();
    let before = b.current_revision();
    let mut sub = b.subscribe();
    assert_eq!(b.sweep_expired().await.unwrap(), 2);
    assert_eq!(b.current_revision(), before + 2);
    let mut deleted = Vec::new();
    for revision in before + 1..=before + 2 {
        let event = next_event(&mut sub).await;
        assert_eq!(event.kind, EventKind::Delete);
        assert_eq!(event.item.revision, revision);
        assert!(event.item.value.is_empty());
        deleted.push(event.item.key);
    }
    deleted.sort();
    assert_eq!(deleted, vec![b"/s/expired".to_vec(), b"/s/twice".to_vec()]);
    let live = keys(&*b, b"/s/").await;
    assert_eq!(live, [&b"/s/later"[..], b"/s/never", b"/s/renewed"]);
    assert_eq!(b.sweep_expired().await.unwrap(), 0);
    assert_eq!(b.current_revision(), before + 2);
    // The sweep really removed them: a create succeeds, a write still works.
    b.create(b"/s/expired", Vec::new(), None).await.unwrap();
}

async fn feed_order(b: Arc<dyn Backend>) {
    b.put(b"/before", Vec::new(), None).await.unwrap();
    let mut sub = b.subscribe();
    assert_eq!(sub.start_revision(), 1);
    let writers: Vec<_> = (0..5)
        .map(|w| {
            let b = Arc::clone(&b);
            tokio::spawn(async move {
                for i in 0..8 {
                    let key = format!("/w/{w}/{i}").into_bytes();
                    let item = b.put(&key, vec![w, i], None).await.unwrap();
                    if i % 2 == 1 {
                        b.delete_if(&key, item.revision).await.unwrap();
                    }
                }
            })
        })
        .collect();
    let mut events = Vec::new();
    for _ in 0..60 {
        events.push(next_event(&mut sub).await);
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let revisions: Vec<u64> = events.iter().map(Event::revision).collect();
    assert_eq!(revisions, (2..62).collect::<Vec<u64>>());
    let deletes = events
        .iter()
        .filter(|e| e.kind == EventKind::Delete)
        .count();
    assert_eq!(deletes, 20);
    for event in &events {
        let key = String::from_utf8(event.item.key.clone()).unwrap();
        let parts: Vec<u8> = key[3..].split('/').map(|p| p.parse().unwrap()).collect();
        match event.kind {
            EventKind::Put => assert_eq!(event.item.value, parts),
            EventKind::Delete => assert_eq!(parts[1] % 2, 1),
        }
    }
    // Each key's delete comes after its put.
    for (n, event) in events.iter().enumerate() {
        if event.kind == EventKind::Delete {
            assert!(events[..n].iter().any(|e| e.item.key == event.item.key));
        }
    }
    assert_eq!(b.current_revision(), 61);
}

async fn lagged_subscriber(b: Arc<dyn Backend>) {
    let mut sub = b.subscribe();
    let mut healthy = b.subscribe();
    for i in 0..FEED_CAPACITY + 10 {
        b.put(format!("/l/{i}").as_bytes(), Vec::new(), None)
            .await
            .unwrap();
        if i < 5 {
            assert_eq!(next_event(&mut healthy).await.revision(), i as u64 + 1);
        }
    }
    match sub.recv().await {
        Some(Err(Error::FeedLagged { missed })) => assert!(missed > 0),
        other => panic!("expected a lag error, got {other:?}"),
    }
    assert!(sub.recv().await.is_none(), "a lagged subscription ends");
}

async fn sweeper_task(b: Arc<dyn Backend>) {
    let mut sub = b.subscribe();
    let handle = spawn_sweeper(Arc::clone(&b), Duration::from_millis(10));
    let expires = SystemTime::now() + Duration::from_millis(50);
    let item = b.put(b"/tmp", Vec::new(), Some(expires)).await.unwrap();
    assert_eq!(next_event(&mut sub).await.kind, EventKind::Put);
    let event = next_event(&mut sub).await;
    assert_eq!(event.kind, EventKind::Delete);
    assert_eq!(event.item.key, b"/tmp");
    assert_eq!(event.revision(), item.revision + 1);
    handle.abort();
    assert!(handle.await.unwrap_err().is_cancelled());
}

async fn feed_closes_with_backend(b: Arc<dyn Backend>) {
    let mut sub = b.subscribe();
    b.put(b"/x", Vec::new(), None).await.unwrap();
    drop(b);
    assert_eq!(next_event(&mut sub).await.revision(), 1);
    assert!(sub.recv().await.is_none());
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod memory {
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(Arc::new(MemoryBackend::with_feed_capacity(FEED_CAPACITY))).await;
                }
            )*
        }

        mod rocks {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let dir = tempfile::tempdir().unwrap();
                    let backend =
                        RocksBackend::open_with_feed_capacity(dir.path(), FEED_CAPACITY).unwrap();
                    super::$case(Arc::new(backend)).await;
                }
            )*
        }

        /// A real etcd per case (the cases count revisions from an empty store).
        mod etcd {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let etcd = crate::etcd::testing::TestEtcd::start();
                    let backend = etcd.backend("/conformance", FEED_CAPACITY).await;
                    super::$case(Arc::new(backend)).await;
                }
            )*
        }
    };
}

conformance!(
    put_get,
    get_now_agrees_with_get,
    revision_per_write,
    create_if_absent,
    create_all_or_none,
    compare_and_swap,
    compare_and_swap_each,
    delete,
    range_prefix,
    paging,
    expiry,
    sweep,
    feed_order,
    lagged_subscriber,
    sweeper_task,
    feed_closes_with_backend,
);
