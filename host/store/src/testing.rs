//! Helpers for tests of disk faults, shared by the store's own tests and the end-to-end
//! tests (feature `test-util`): a small tmpfs to fill up.

// Test helpers: a failed set-up ends the test that asked for it.
#![allow(clippy::expect_used, clippy::panic)]

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::Command,
};

/// A small tmpfs mounted for a test (private to root, mode 0700), unmounted when dropped.
pub struct Tmpfs {
    _dir: tempfile::TempDir,
    /// Where it is mounted.
    pub path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. `16m`) under a new temporary directory, or returns
    /// `None` (saying so) when not running as root, which mounting needs.
    ///
    /// # Panics
    /// When the mount fails as root: a test that needs it cannot go on.
    pub fn mount(size: &str) -> Option<Tmpfs> {
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: mounting a tmpfs needs root");
            return None;
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("fs");
        std::fs::create_dir(&path).expect("a mount point");
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(&path)
            .status()
            .expect("run mount");
        assert!(status.success(), "mount a tmpfs on {}", path.display());
        Some(Tmpfs { _dir: dir, path })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

/// Fills the filesystem holding `dir` with the file `dir/filler` until a write fails for
/// lack of space (ENOSPC), and returns the file.
///
/// # Panics
/// On any other write error.
pub fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).expect("create the filler file");
    for chunk in [1 << 20, 4096, 1] {
        let bytes = vec![0x5a; chunk];
        loop {
            match file.write_all(&bytes).and_then(|()| file.flush()) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(28) => break,
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
    }
    path
}

/// The files of the store directory `store` whose names end with `suffix`, sorted.
///
/// # Panics
/// When the directory cannot be read.
pub fn store_files(store: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(store)
        .expect("read the store directory")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    files
}

/// Flips one bit in the largest SST file of the store directory `store` (a quarter of the
/// way in: inside a data block) and returns the file.
///
/// # Panics
/// When the store has no SST file or it cannot be rewritten.
pub fn flip_a_byte_in_the_largest_sst(store: &Path) -> PathBuf {
    let sst = store_files(store, ".sst")
        .into_iter()
        .max_by_key(|file| std::fs::metadata(file).map(|m| m.len()).unwrap_or(0))
        .expect("an SST file");
    let mut bytes = std::fs::read(&sst).expect("read the SST file");
    let at = bytes.len() / 4;
    bytes[at] ^= 0x40;
    std::fs::write(&sst, bytes).expect("rewrite the SST file");
    sst
}
