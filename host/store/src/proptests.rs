//! Property tests: the RocksDB and etcd encodings round-trip, and revisions strictly
//! increase over any sequence of writes, on the memory and RocksDB backends.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;

use crate::{codec, Backend, MemoryBackend, NewItem, RocksBackend, Swap};

fn expiry() -> impl Strategy<Value = Option<SystemTime>> {
    prop_oneof![
        Just(None),
        (0u64..=u64::MAX).prop_map(|n| Some(UNIX_EPOCH + Duration::from_nanos(n / 2))),
        (1u64..=u64::MAX).prop_map(|n| Some(UNIX_EPOCH - Duration::from_nanos(n / 2))),
    ]
}

proptest! {
    #[test]
    fn rocks_records_round_trip(
        revision in 1u64..,
        expires in prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX), Just(-1i64)],
        value in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        use crate::rocks::record::{time_from_nanos, Record};
        let bytes = Record::encode(revision, expires, &value);
        let record = Record::decode(b"/k", &bytes).unwrap();
        prop_assert_eq!(&record, &Record { revision, expires, value: value.clone() });
        // Through the item (and its SystemTime expiry) and back: the same bytes.
        let item = codec::decode_rocks_record(b"/k", &bytes).unwrap();
        prop_assert_eq!(item.expires, time_from_nanos(expires));
        prop_assert_eq!(codec::encode_rocks_record(item.revision, item.expires, &item.value), bytes);
    }

    #[test]
    fn rocks_expiries_round_trip(expires in expiry()) {
        let bytes = codec::encode_rocks_record(1, expires, b"v");
        let item = codec::decode_rocks_record(b"/k", &bytes).unwrap();
        // Nanosecond precision from 1678 to 2262; the epoch itself is 1 ns before it.
        if expires != Some(UNIX_EPOCH) {
            prop_assert_eq!(item.expires, expires);
        }
    }

    #[test]
    fn etcd_values_round_trip(
        expires in expiry(),
        value in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let bytes = codec::encode_etcd_value(&value, expires);
        let (decoded, stored) = codec::decode_etcd_value(b"/k", &bytes).unwrap();
        prop_assert_eq!(&stored, &value);
        prop_assert_eq!(codec::encode_etcd_value(&stored, decoded), bytes);
    }

    #[test]
    fn index_keys_round_trip(
        expires in any::<i64>(),
        key in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        let index = codec::rocks_index_key(expires, &key);
        prop_assert_eq!(codec::split_rocks_index_key(&index).unwrap(), (expires, &key[..]));
    }
}

/// One write of a random sequence, on keys `/k/0` to `/k/3`.
#[derive(Debug, Clone)]
enum Write {
    Put(u8),
    Create(u8),
    /// Compare-and-swap with the right revision (`true`) or a stale one.
    Swap(u8, bool),
    Delete(u8),
    DeleteIf(u8, bool),
    CreateAll(Vec<u8>),
    SwapEach(Vec<u8>),
}

fn write() -> impl Strategy<Value = Write> {
    let key = 0u8..4;
    let keys = proptest::collection::vec(0u8..4, 1..4);
    prop_oneof![
        key.clone().prop_map(Write::Put),
        key.clone().prop_map(Write::Create),
        (key.clone(), any::<bool>()).prop_map(|(k, ok)| Write::Swap(k, ok)),
        key.clone().prop_map(Write::Delete),
        (key, any::<bool>()).prop_map(|(k, ok)| Write::DeleteIf(k, ok)),
        keys.clone().prop_map(Write::CreateAll),
        keys.prop_map(Write::SwapEach),
    ]
}

fn key(k: u8) -> Vec<u8> {
    format!("/k/{k}").into_bytes()
}

/// Applies `writes`; every write that succeeds gets revisions above every earlier one
/// (consecutive within a batch), the backend's current revision follows, and a read
/// sees the revision its write returned.
async fn revisions_increase(backend: &dyn Backend, writes: &[Write]) {
    let mut last = backend.current_revision();
    let mut live: HashMap<u8, u64> = HashMap::new();
    for w in writes {
        let revision = |k: &u8, ok: bool| live.get(k).map_or(1, |r| if ok { *r } else { r + 1 });
        match w {
            Write::Put(k) => {
                let item = backend.put(&key(*k), vec![*k], None).await.unwrap();
                advance(&mut last, item.revision, w);
                live.insert(*k, item.revision);
            }
            Write::Create(k) => {
                if let Ok(item) = backend.create(&key(*k), vec![*k], None).await {
                    advance(&mut last, item.revision, w);
                    live.insert(*k, item.revision);
                }
            }
            Write::Swap(k, ok) => {
                let expected = revision(k, *ok);
                if let Ok(item) = backend
                    .compare_and_swap(&key(*k), expected, vec![], None)
                    .await
                {
                    advance(&mut last, item.revision, w);
                    live.insert(*k, item.revision);
                }
            }
            Write::Delete(k) => {
                if let Ok(rev) = backend.delete(&key(*k)).await {
                    advance(&mut last, rev, w);
                    live.remove(k);
                }
            }
            Write::DeleteIf(k, ok) => {
                if let Ok(rev) = backend.delete_if(&key(*k), revision(k, *ok)).await {
                    advance(&mut last, rev, w);
                    live.remove(k);
                }
            }
            Write::CreateAll(keys) => {
                let items = keys
                    .iter()
                    .map(|k| NewItem {
                        key: key(*k),
                        value: vec![*k],
                        expires: None,
                    })
                    .collect();
                if let Ok(items) = backend.create_all(items).await {
                    for (k, item) in keys.iter().zip(&items) {
                        advance(&mut last, item.revision, w);
                        live.insert(*k, item.revision);
                    }
                }
            }
            Write::SwapEach(keys) => {
                let swaps = keys
                    .iter()
                    .map(|k| Swap {
                        key: key(*k),
                        expected_revision: revision(k, true),
                        value: vec![],
                        expires: None,
                    })
                    .collect();
                let results = backend.compare_and_swap_each(swaps).await.unwrap();
                for (k, result) in keys.iter().zip(results) {
                    if let Ok(item) = result {
                        advance(&mut last, item.revision, w);
                        live.insert(*k, item.revision);
                    }
                }
            }
        }
        assert_eq!(backend.current_revision(), last, "{w:?}");
        for (k, rev) in &live {
            let item = backend.get(&key(*k)).await.unwrap();
            assert_eq!(item.map(|i| i.revision), Some(*rev), "{w:?}: /k/{k}");
        }
    }
}

fn advance(last: &mut u64, revision: u64, what: &Write) {
    assert!(
        revision > *last,
        "{what:?}: revision {revision} after {last}"
    );
    *last = revision;
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn memory_revisions_strictly_increase(writes in proptest::collection::vec(write(), 1..40)) {
        runtime().block_on(revisions_increase(&MemoryBackend::new(), &writes));
    }
}

proptest! {
    // Every write is fsynced: fewer, shorter sequences.
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn rocks_revisions_strictly_increase(writes in proptest::collection::vec(write(), 1..25)) {
        let dir = tempfile::tempdir().unwrap();
        let backend = RocksBackend::open(&dir.path().join("store")).unwrap();
        runtime().block_on(revisions_increase(&backend, &writes));
    }
}
