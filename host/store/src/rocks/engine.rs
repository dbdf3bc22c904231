//! Opening the RocksDB database: its options and column families, the checks done at
//! open (a missing `CURRENT`, the checksum of every block, the revision watermark), and
//! the classification of engine errors as a full disk or damage.

use std::{path::Path, time::Instant};

use rocksdb::{ColumnFamilyDescriptor, ErrorKind, Options, ReadOptions, DB};

use super::{
    inner::{EXPIRY_CF, META_CF, REVISION_KEY},
    record,
    watermark::{self, Mark},
};
use crate::{Error, Result};

/// The column families, in the order they are opened.
const FAMILIES: [&str; 3] = [rocksdb::DEFAULT_COLUMN_FAMILY_NAME, META_CF, EXPIRY_CF];

fn options() -> Options {
    let mut options = Options::default();
    options.create_if_missing(true);
    options.create_missing_column_families(true);
    options
}

fn families() -> Vec<ColumnFamilyDescriptor> {
    // Items are read by key on every request (the caller's user and roles) and checked
    // for absence on every create: a Bloom filter lets a point read skip the files
    // that cannot hold its key, so its cost does not grow with the number of files a
    // large store has (without one, creating a million items slowed from 30,000/s to
    // 17,000/s as the store grew, in `--bench scale`).
    let mut items = Options::default();
    let mut table = rocksdb::BlockBasedOptions::default();
    table.set_bloom_filter(10.0, false);
    items.set_block_based_table_factory(&table);
    vec![
        ColumnFamilyDescriptor::new(FAMILIES[0], items),
        ColumnFamilyDescriptor::new(FAMILIES[1], Options::default()),
        ColumnFamilyDescriptor::new(FAMILIES[2], Options::default()),
    ]
}

/// Opens the database for reading and writing, after checking that an existing one has
/// its `CURRENT` file (without it RocksDB would silently create an empty database).
pub(super) fn open_writable(path: &Path) -> Result<DB> {
    std::fs::create_dir_all(path).map_err(|err| Error::Open {
        path: path.to_path_buf(),
        source: err.into(),
    })?;
    check_current(path)?;
    DB::open_cf_descriptors(&options(), path, families()).map_err(|err| open_failure(path, err))
}

/// Opens the database read-only (no file is written, so this works on a full disk).
pub(super) fn open_read_only(path: &Path) -> Result<DB> {
    // Only the families that exist (a repaired store may lack the empty ones, which the
    // writable open then creates).
    let existing = DB::list_cf(&options(), path).map_err(|err| open_failure(path, err))?;
    let families = families()
        .into_iter()
        .filter(|family| existing.iter().any(|name| name == family.name()));
    DB::open_cf_descriptors_read_only(&options(), path, families, false)
        .map_err(|err| open_failure(path, err))
}

/// Opens the store at `path` for serving. An existing store is first opened read-only
/// (which changes no file), every block of every file is read (checking its checksum)
/// and its revision is compared with the watermark of the last open or clean close;
/// only then is it opened for writing, since that deletes the data files its MANIFEST
/// does not name (which repair would need). Returns the database and its revision and records.
pub(super) fn open_checked(path: &Path) -> Result<(DB, Mark)> {
    let started = Instant::now();
    let exists = path.join("CURRENT").exists();
    let records = if exists {
        let db = open_read_only(path)?;
        let records = verify(&db, path)?;
        let revision = revision(&db, path)?;
        watermark::check(
            path,
            Mark {
                revision,
                records: Some(records),
            },
        )?;
        records
    } else {
        0
    };
    let verified = started.elapsed();
    let db = open_writable(path)?;
    let mark = Mark {
        revision: revision(&db, path)?,
        records: Some(records),
    };
    watermark::record(path, mark);
    tracing::info!(
        store = %path.display(),
        records,
        revision = mark.revision,
        verify_ms = verified.as_millis() as u64,
        open_ms = started.elapsed().as_millis() as u64,
        "store opened"
    );
    Ok((db, mark))
}

/// Salvages what is intact of a damaged store with RocksDB's repair, and forgets the
/// watermark (the repaired store may be older than it).
pub(super) fn repair(path: &Path) -> Result<()> {
    DB::repair(&options(), path).map_err(|err| Error::Open {
        path: path.to_path_buf(),
        source: err.into(),
    })?;
    watermark::forget(path)
}

/// The revision counter stored in the database.
pub(super) fn revision(db: &DB, path: &Path) -> Result<u64> {
    let meta = db.cf_handle(META_CF).ok_or_else(|| Error::Open {
        path: path.to_path_buf(),
        source: format!("missing column family `{META_CF}`").into(),
    })?;
    match db.get_cf(meta, REVISION_KEY) {
        Ok(Some(bytes)) => record::decode_revision(REVISION_KEY, &bytes),
        Ok(None) => Ok(0),
        Err(err) => Err(open_failure(path, err)),
    }
}

/// Reads every entry of every column family with checksums verified, so that a damaged
/// block is found now rather than when a request reads it. Returns the number of items
/// (entries of the items family).
pub(super) fn verify(db: &DB, path: &Path) -> Result<u64> {
    let mut items = 0;
    for name in FAMILIES {
        let Some(family) = db.cf_handle(name) else {
            continue;
        };
        let mut options = ReadOptions::default();
        options.set_verify_checksums(true);
        options.fill_cache(false);
        options.set_readahead_size(2 << 20);
        for entry in db.iterator_cf_opt(family, options, rocksdb::IteratorMode::Start) {
            entry.map_err(|err| open_failure(path, err))?;
            // Only the items family changes with every revision and never without one
            // (the sweep may drop stale expiry index entries without a revision).
            if name == FAMILIES[0] {
                items += 1;
            }
        }
    }
    Ok(items)
}

/// Refuses a store directory that holds RocksDB files but no `CURRENT` (the file naming
/// the live MANIFEST).
fn check_current(path: &Path) -> Result<()> {
    if path.join("CURRENT").exists() {
        return Ok(());
    }
    let entries = std::fs::read_dir(path).map_err(|err| Error::Open {
        path: path.to_path_buf(),
        source: err.into(),
    })?;
    let orphan = entries
        .flatten()
        .map(|entry| entry.file_name())
        .find(|name| {
            let name = name.to_string_lossy();
            name.starts_with("MANIFEST-") || name.ends_with(".sst") || name.ends_with(".log")
        });
    match orphan {
        Some(name) => Err(Error::Damaged {
            path: path.to_path_buf(),
            file: format!("`{}`", path.join("CURRENT").display()),
            detail: format!(
                "the file is missing although the store holds data (`{}`)",
                name.to_string_lossy()
            ),
            repairable: true,
        }),
        None => Ok(()),
    }
}

/// Whether the engine failed because the disk is full.
pub(super) fn is_no_space(err: &rocksdb::Error) -> bool {
    let message = err.to_string();
    message.contains("No space left on device") || message.contains("NoSpace")
}

/// The error for a failure to open (or verify) the store at `path`.
pub(super) fn open_failure(path: &Path, err: rocksdb::Error) -> Error {
    let message = err.to_string();
    if is_no_space(&err) {
        return Error::DiskFull {
            path: path.to_path_buf(),
            detail: message,
        };
    }
    let missing = err.kind() == ErrorKind::IOError && message.contains("No such file");
    if err.kind() == ErrorKind::Corruption || missing {
        return Error::Damaged {
            path: path.to_path_buf(),
            file: named_file(&message, path),
            detail: message,
            repairable: true,
        };
    }
    Error::Open {
        path: path.to_path_buf(),
        source: err.into(),
    }
}

/// The file a RocksDB message names: a path inside `dir`, else `CURRENT` or the MANIFEST
/// when the message speaks of them.
fn named_file(message: &str, dir: &Path) -> String {
    let prefix = dir.to_string_lossy();
    if let Some(start) = message.find(prefix.as_ref()) {
        let rest = &message[start..];
        let end = rest
            .find(|c: char| c.is_whitespace() || c == ',' || c == ':' || c == ';')
            .unwrap_or(rest.len());
        return format!("`{}`", &rest[..end]);
    }
    let in_dir = |name: &str| format!("`{}`", dir.join(name).display());
    if message.contains("CURRENT") {
        in_dir("CURRENT")
    } else if message.contains("MANIFEST") {
        format!("the MANIFEST named by {}", in_dir("CURRENT"))
    } else {
        format!("a file in `{}`", dir.display())
    }
}
