//! The revision watermark: a small file next to the database recording a revision the
//! store is known to have reached durably (written at every open and clean close).
//!
//! RocksDB finds a damaged block by its checksum, but not a MANIFEST that lost its last
//! records (truncated): it opens the older state those records had replaced, and the
//! writes they held are gone without an error. The store's revision never goes
//! backwards, so a revision below the watermark at open is that loss; and since every
//! write moves the revision, so is the same revision with another number of records (a
//! cut can lose the flush of the items and keep the revision's, which lives in another
//! column family). Either way the store refuses to open. A torn write-ahead-log tail after a crash only ever loses writes
//! that were never acknowledged, so it stays above the watermark and is accepted.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use crate::{Error, Result};

/// The name of the watermark file in the store directory.
pub(super) const FILE: &str = "PORTCULLIS-WATERMARK";

fn file(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// What the watermark file holds: a revision, and the number of records the store held
/// at that revision when it was counted (at an open, and at a clean close with no write
/// since).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Mark {
    /// The revision reached durably.
    pub revision: u64,
    /// The records held at exactly that revision, when known.
    pub records: Option<u64>,
}

impl Mark {
    fn parse(text: &str) -> Option<Mark> {
        let mut parts = text.split_whitespace();
        let revision = parts.next()?.parse().ok()?;
        let records = match parts.next() {
            Some(n) => Some(n.parse().ok()?),
            None => None,
        };
        Some(Mark { revision, records })
    }
}

/// Fails with [`Error::Damaged`] if the store at `dir` opened at `found.revision`, below
/// its watermark, or at the watermark's revision with another number of records (every
/// write moves the revision, so the same revision means the same records): both are a
/// MANIFEST that lost records, which RocksDB reads as a torn tail.
pub(super) fn check(dir: &Path, found: Mark) -> Result<()> {
    let path = file(dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => {
            return Err(Error::Open {
                path: dir.to_path_buf(),
                source: format!("cannot read `{}`: {err}", path.display()).into(),
            })
        }
    };
    let Some(mark) = Mark::parse(&text) else {
        // A damaged watermark proves nothing about the store: start over.
        tracing::warn!(file = %path.display(), "ignoring an unreadable revision watermark");
        return Ok(());
    };
    let lost = if found.revision < mark.revision {
        format!(
            "the store opened at revision {}, but it had reached revision {}",
            found.revision, mark.revision
        )
    } else if found.revision == mark.revision
        && mark.records.is_some()
        && found.records.is_some()
        && mark.records != found.records
    {
        format!(
            "the store opened at revision {} with {} records, but it held {} at that revision",
            found.revision,
            found.records.unwrap_or_default(),
            mark.records.unwrap_or_default()
        )
    } else {
        return Ok(());
    };
    Err(Error::Damaged {
        path: dir.to_path_buf(),
        file: format!("the MANIFEST named by `{}`", dir.join("CURRENT").display()),
        detail: format!(
            "{lost} (recorded in `{}`): the MANIFEST lost records or a data file is \
             missing, and acknowledged writes would be missing. If this directory was \
             restored from an older backup on purpose, delete `{}` and start again",
            path.display(),
            path.display()
        ),
        repairable: true,
    })
}

/// Records `mark` as the watermark (atomically: a temporary file, fsynced, renamed).
/// A failure (a full disk) is logged and ignored: the watermark only ever lags.
pub(super) fn record(dir: &Path, mark: Mark) {
    let path = file(dir);
    let temporary = dir.join(format!("{FILE}.tmp"));
    let written = (|| {
        let mut out = std::fs::File::create(&temporary)?;
        match mark.records {
            Some(records) => writeln!(out, "{} {records}", mark.revision)?,
            None => writeln!(out, "{}", mark.revision)?,
        }
        out.sync_all()?;
        std::fs::rename(&temporary, &path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if let Err(error) = written {
        tracing::warn!(%error, file = %path.display(), "cannot record the revision watermark");
        let _ = std::fs::remove_file(&temporary);
    }
}

/// Removes the watermark (after a repair, which may leave an older state).
pub(super) fn forget(dir: &Path) -> Result<()> {
    match std::fs::remove_file(file(dir)) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(Error::Open {
            path: dir.to_path_buf(),
            source: err.into(),
        }),
    }
}
