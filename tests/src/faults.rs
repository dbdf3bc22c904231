//! Helpers of the fault tests: a small tmpfs to fill up, damaging store files, and a
//! server start that must be refused.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

pub use portcullis_store::testing::{fill, flip_a_byte_in_the_largest_sst, store_files, Tmpfs};

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
    let lines = crate::stdout_lines(child.stdout.take().unwrap());
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
