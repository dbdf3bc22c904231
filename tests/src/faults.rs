//! Helpers of the fault tests: a small tmpfs to fill up, damaging store files, and a
//! server start that must be refused.

use std::{
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
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
    pub fn mount(size: &str) -> Option<Tmpfs> {
        let uid = crate::run_ok(Command::new("id").arg("-u"));
        if uid.trim() != "0" {
            eprintln!("skipped: mounting a tmpfs needs root");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fs");
        std::fs::create_dir(&path).unwrap();
        crate::run_ok(
            Command::new("mount")
                .args([
                    "-t",
                    "tmpfs",
                    "-o",
                    &format!("size={size},mode=0700"),
                    "tmpfs",
                ])
                .arg(&path),
        );
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
pub fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
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
pub fn store_files(store: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(store)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    files
}

/// The live MANIFEST of the store directory `store` (the one `CURRENT` names).
pub fn live_manifest(store: &Path) -> PathBuf {
    let current = std::fs::read_to_string(store.join("CURRENT")).unwrap();
    store.join(current.trim())
}

/// Cuts the last `bytes` bytes off `file`.
pub fn truncate_by(file: &Path, bytes: u64) {
    let len = std::fs::metadata(file).unwrap().len();
    let handle = std::fs::OpenOptions::new().write(true).open(file).unwrap();
    handle.set_len(len.saturating_sub(bytes)).unwrap();
}

/// Starts `portcullis start` on `data` and expects it to exit with an error (within a
/// minute) rather than listen; returns what it wrote to standard error.
pub fn start_refused(data: &Path) -> String {
    let mut child = Command::new(crate::bin("portcullis"))
        .arg("start")
        .arg("--data-dir")
        .arg(data)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn portcullis");
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    loop {
        match lines.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if line.starts_with("listening on ") => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("portcullis started on a damaged store");
            }
            Ok(_) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!("portcullis neither listened nor exited within a minute");
            }
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "portcullis exited successfully");
    String::from_utf8_lossy(&out.stderr).into_owned()
}
