//! Faults of the RocksDB backend: a full disk (on a small tmpfs, which needs root) and
//! damaged files.

use std::path::Path;

use super::*;
use crate::testing::{fill, flip_a_byte_in_the_largest_sst, store_files, Tmpfs};
use crate::Error;

fn key(i: usize) -> Vec<u8> {
    format!("/items/{i:06}").into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_keeps_reads_and_recovers_once_space_is_freed() {
    let Some(fs) = Tmpfs::mount("8m") else {
        return;
    };
    let path = fs.path.join("store");
    let b = RocksBackend::open(&path).unwrap();
    let mut acked = Vec::new();
    for i in 0..10 {
        acked.push(b.put(&key(i), vec![1; 1024], None).await.unwrap());
    }
    let filler = fill(&fs.path);

    // Writes go on until the log needs space it cannot get; then they are refused.
    let mut i = acked.len();
    let refused = loop {
        match b.put(&key(i), vec![2; 4096], None).await {
            Ok(item) => acked.push(item),
            Err(e) => break e,
        }
        i += 1;
        assert!(i < 5000, "no write was refused on a full disk");
    };
    assert!(matches!(refused, Error::DiskFull { .. }), "{refused}");
    let message = refused.to_string();
    assert!(message.contains("no space left on device"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    // Every kind of write is refused while the disk is full, without touching the engine.
    let again = b.create(b"/other", Vec::new(), None).await.unwrap_err();
    assert!(again.is_disk_full(), "{again}");
    let delete = b.delete(&key(0)).await.unwrap_err();
    assert!(delete.is_disk_full(), "{delete}");

    // Reads keep working.
    for item in &acked {
        assert_eq!(b.get(&item.key).await.unwrap().as_ref(), Some(item));
    }
    let listed = b.range(b"/items/", None, 0).await.unwrap();
    assert_eq!(listed.items.len(), acked.len());

    // Freeing space lets the next write through, without reopening by hand.
    std::fs::remove_file(filler).unwrap();
    let last = acked.last().unwrap().revision;
    let item = b.put(b"/after", b"space".to_vec(), None).await.unwrap();
    assert!(item.revision > last, "revisions go on after recovery");
    acked.push(item);
    for item in &acked {
        assert_eq!(b.get(&item.key).await.unwrap().as_ref(), Some(item));
    }
    drop(b);

    // Every acknowledged write is there after a restart.
    let b = RocksBackend::open(&path).unwrap();
    for item in &acked {
        assert_eq!(b.get(&item.key).await.unwrap().as_ref(), Some(item));
    }
}

/// A store with `n` items whose data is in SST files (the reopen flushes the log), closed.
async fn store_on_disk(path: &Path, n: usize) -> Vec<Item> {
    let mut items = Vec::new();
    {
        let b = RocksBackend::open(path).unwrap();
        for i in 0..n {
            items.push(b.put(&key(i), vec![7; 200], None).await.unwrap());
        }
    }
    // Reopening replays the log into SST files, named by new MANIFEST records.
    drop(RocksBackend::open(path).unwrap());
    items
}

fn damaged(path: &Path) -> (String, String) {
    match RocksBackend::open(path) {
        Err(Error::Damaged { file, .. }) => {
            let message = RocksBackend::open(path).unwrap_err().to_string();
            (file, message)
        }
        Err(other) => panic!("expected the store to be refused as damaged: {other}"),
        Ok(_) => panic!("a damaged store opened"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_byte_in_a_data_file_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    store_on_disk(&path, 2000).await;
    let sst = flip_a_byte_in_the_largest_sst(&path);

    let (file, message) = damaged(&path);
    assert!(file.contains(&sst.display().to_string()), "{file}");
    assert!(message.contains("restore"), "{message}");
    assert!(message.contains("repair-store"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_or_missing_current_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    store_on_disk(&path, 10).await;
    let current = path.join("CURRENT");
    let good = std::fs::read(&current).unwrap();

    std::fs::write(&current, b"MANIFEST-0\x01garbage").unwrap();
    let (file, _) = damaged(&path);
    assert!(
        file.contains("CURRENT") || file.contains("MANIFEST"),
        "{file}"
    );

    std::fs::write(&current, b"MANIFEST-999999\n").unwrap();
    let (file, _) = damaged(&path);
    assert!(file.contains("MANIFEST-999999"), "{file}");

    std::fs::remove_file(&current).unwrap();
    let (file, message) = damaged(&path);
    assert!(file.contains("CURRENT"), "{file}");
    assert!(message.contains("missing"), "{message}");
    assert!(
        !current.exists(),
        "a refused store is left as it was, not recreated empty"
    );

    std::fs::write(&current, good).unwrap();
    assert_eq!(RocksBackend::open(&path).unwrap().current_revision(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_manifest_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    store_on_disk(&path, 500).await;
    let manifest = store_files(&path, "")
        .into_iter()
        .find(|file| {
            let name = file.file_name().unwrap().to_string_lossy();
            let current = std::fs::read_to_string(path.join("CURRENT")).unwrap();
            name.starts_with("MANIFEST-") && current.trim() == name
        })
        .expect("the live MANIFEST");
    let len = std::fs::metadata(&manifest).unwrap().len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&manifest)
        .unwrap();
    file.set_len(len / 2).unwrap();
    drop(file);

    let (file, message) = damaged(&path);
    assert!(file.contains("MANIFEST"), "{file}");
    assert!(message.contains("restore"), "{message}");
    // Nothing was deleted: repair can still salvage every item from the data files.
    RocksBackend::repair(&path).unwrap();
    let b = RocksBackend::open(&path).unwrap();
    assert_eq!(b.range(b"/items/", None, 0).await.unwrap().items.len(), 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_log_tail_after_a_crash_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let items = {
        let b = RocksBackend::open(&path).unwrap();
        let mut items = Vec::new();
        for i in 0..20 {
            items.push(b.put(&key(i), vec![3; 100], None).await.unwrap());
        }
        items
    };
    // What `kill -9` during the last write leaves: the watermark of the open (a crash
    // records none at close), and half of the last record in the log.
    std::fs::write(path.join(watermark::FILE), "0\n").unwrap();
    let log = store_files(&path, ".log").pop().expect("a write-ahead log");
    let len = std::fs::metadata(&log).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
    file.set_len(len - 60).unwrap();
    drop(file);

    let b = RocksBackend::open(&path).unwrap();
    assert_eq!(b.current_revision(), 19);
    for item in &items[..19] {
        assert_eq!(b.get(&item.key).await.unwrap().as_ref(), Some(item));
    }
    assert_eq!(b.get(&items[19].key).await.unwrap(), None);
}
