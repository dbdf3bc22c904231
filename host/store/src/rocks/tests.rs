//! Tests specific to the RocksDB backend: persistence, durability, encoding.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, SystemTime},
};

use rocksdb::{Options, DB};

use super::{
    inner::{EXPIRY_CF, META_CF},
    *,
};
use crate::Error;

fn open(dir: &Path) -> RocksBackend {
    RocksBackend::open(dir).unwrap()
}

fn synced(backend: &RocksBackend) -> u64 {
    *backend.inner.synced.lock().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revisions_and_items_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/store");
    let soon = SystemTime::now() + Duration::from_millis(200);
    let (kept, expiring) = {
        let b = open(&path);
        let kept = b.put(b"/roles/a", b"a".to_vec(), None).await.unwrap();
        b.put(b"/roles/b", b"b".to_vec(), None).await.unwrap();
        b.delete(b"/roles/b").await.unwrap();
        let expiring = b.put(b"/roles/c", b"c".to_vec(), Some(soon)).await.unwrap();
        assert_eq!(b.current_revision(), 4);
        (kept, expiring)
    };
    let b = open(&path);
    assert_eq!(b.path(), path);
    assert_eq!(b.current_revision(), 4);
    assert_eq!(b.get(b"/roles/a").await.unwrap(), Some(kept));
    assert_eq!(b.get(b"/roles/b").await.unwrap(), None);
    assert_eq!(b.get(b"/roles/c").await.unwrap(), Some(expiring));
    assert_eq!(
        b.put(b"/roles/d", Vec::new(), None).await.unwrap().revision,
        5
    );
    // The expiry index survived too.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(b.sweep_expired().await.unwrap(), 1);
    drop(b);
    let b = open(&path);
    assert_eq!(b.current_revision(), 6);
    assert_eq!(b.range(b"/", None, 0).await.unwrap().items.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_are_synced() {
    let dir = tempfile::tempdir().unwrap();
    let b = open(dir.path());
    let item = b.put(b"/a", Vec::new(), None).await.unwrap();
    assert!(synced(&b) >= item.revision);
    let revision = b.delete(b"/a").await.unwrap();
    assert!(synced(&b) >= revision);
    b.put(b"/b", Vec::new(), Some(SystemTime::UNIX_EPOCH))
        .await
        .unwrap();
    assert_eq!(b.sweep_expired().await.unwrap(), 1);
    assert_eq!(synced(&b), 4);
    assert!(b.inner.syncs.load(Ordering::Relaxed) >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_get_distinct_revisions() {
    let dir = tempfile::tempdir().unwrap();
    let b = Arc::new(open(dir.path()));
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let b = Arc::clone(&b);
            tokio::spawn(async move {
                let key = format!("/c/{i}").into_bytes();
                b.put(&key, Vec::new(), None).await.unwrap().revision
            })
        })
        .collect();
    let mut revisions = Vec::new();
    for task in tasks {
        revisions.push(task.await.unwrap());
    }
    revisions.sort_unstable();
    assert_eq!(revisions, (1..=64).collect::<Vec<u64>>());
    assert_eq!(synced(&b), 64);
    let syncs = b.inner.syncs.load(Ordering::Relaxed);
    assert!((1..=64).contains(&syncs), "{syncs} syncs");
}

#[tokio::test]
async fn undecodable_records_are_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    {
        let mut options = Options::default();
        options.create_missing_column_families(true);
        let db = DB::open_cf(&options, dir.path(), ["default", META_CF, EXPIRY_CF]).unwrap();
        db.put(b"/bad", b"garbage").unwrap();
        let expiry = db.cf_handle(EXPIRY_CF).unwrap();
        db.put_cf(expiry, b"short", b"").unwrap();
        db.put_cf(expiry, record::index_key(1, b"/bad"), b"")
            .unwrap();
    }
    // Written behind the store's back, without a revision: the watermark would refuse
    // the store whole (its record count changed at the same revision), and this test is
    // about the records read one by one.
    std::fs::remove_file(dir.path().join(super::watermark::FILE)).unwrap();
    let b = open(dir.path());
    let err = b.get(b"/bad").await.unwrap_err();
    assert!(
        matches!(&err, Error::Corrupt { key, .. } if key == b"/bad"),
        "{err}"
    );
    assert!(err.to_string().contains("`/bad`"), "{err}");
    assert!(matches!(
        b.range(b"/", None, 0).await,
        Err(Error::Corrupt { .. })
    ));
    assert!(matches!(
        b.delete(b"/bad").await,
        Err(Error::Corrupt { .. })
    ));
    let create = b.create(b"/bad", Vec::new(), None).await;
    assert!(matches!(create, Err(Error::Corrupt { .. })));
    // The sweep skips what it cannot read, and drops those index entries.
    assert_eq!(b.sweep_expired().await.unwrap(), 0);
    let indexed = {
        let db = b.inner.db();
        let expiry = inner::cf(&db, EXPIRY_CF).unwrap();
        db.iterator_cf(expiry, rocksdb::IteratorMode::Start).count()
    };
    assert_eq!(indexed, 0);
    // An unconditional put replaces it.
    let item = b.put(b"/bad", b"good".to_vec(), None).await.unwrap();
    assert_eq!(b.get(b"/bad").await.unwrap(), Some(item));
}

#[test]
fn open_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, b"").unwrap();
    let path = file.join("store");
    let err = RocksBackend::open(&path).unwrap_err();
    assert!(matches!(err, Error::Open { .. }));
    assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");

    // A store that is already open is locked.
    let _first = open(dir.path());
    let err = RocksBackend::open(dir.path()).unwrap_err();
    assert!(matches!(err, Error::Open { .. }), "{err}");
    assert!(
        err.to_string().contains(&*dir.path().to_string_lossy()),
        "{err}"
    );
}

const CHILD_DIR: &str = "PORTCULLIS_STORE_TEST_CHILD_DIR";

/// Writes forever, printing each acknowledged write; run by
/// `acknowledged_writes_survive_kill`, which kills it with SIGKILL.
#[test]
#[ignore = "helper process of acknowledged_writes_survive_kill"]
fn durability_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let b = open(Path::new(&dir));
        for i in 0u64.. {
            let key = format!("/k/{i}").into_bytes();
            let item = b.put(&key, i.to_be_bytes().to_vec(), None).await.unwrap();
            println!("ack {i} {}", item.revision);
        }
    });
}

#[test]
fn acknowledged_writes_survive_kill() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["rocks::tests::durability_child", "--exact", "--ignored"])
        .args(["--nocapture", "--test-threads", "1"])
        .env(CHILD_DIR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acks = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let Some(ack) = line.strip_prefix("ack ") else {
            continue;
        };
        let (i, revision) = ack.split_once(' ').unwrap();
        acks.push((i.parse::<u64>().unwrap(), revision.parse::<u64>().unwrap()));
        if acks.len() == 200 {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(acks.len(), 200, "the child stopped early");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let b = open(dir.path());
        for (i, revision) in acks {
            let item = b.get(format!("/k/{i}").as_bytes()).await.unwrap();
            let item = item.unwrap_or_else(|| panic!("acknowledged write {i} was lost"));
            assert_eq!(
                (item.revision, item.value),
                (revision, i.to_be_bytes().to_vec())
            );
        }
        assert!(b.current_revision() >= 200);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sweep_removes_many_chunks_with_one_revision_each() {
    let dir = tempfile::tempdir().unwrap();
    let b = open(dir.path());
    let past = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1));
    let later = Some(SystemTime::now() + Duration::from_secs(3600));
    // Several chunks of expired items, with live ones (and a later expiry) between them.
    let count = super::inner::SWEEP_CHUNK * 3 + 17;
    let items = (0..count)
        .map(|i| NewItem {
            key: format!("/x/{i:05}").into_bytes(),
            value: Vec::new(),
            expires: if i % 7 == 0 { later } else { past },
        })
        .collect();
    b.create_all(items).await.unwrap();
    let expired = (0..count).filter(|i| i % 7 != 0).count();
    let before = b.current_revision();
    assert_eq!(b.sweep_expired().await.unwrap(), expired);
    assert_eq!(b.current_revision(), before + expired as u64);
    assert_eq!(b.sweep_expired().await.unwrap(), 0);
    let left = b.range(b"/x/", None, 0).await.unwrap().items;
    assert_eq!(left.len(), count - expired);
}
