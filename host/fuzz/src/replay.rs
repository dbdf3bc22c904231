//! Replays every committed input of every target: the corpus the fuzzer starts from and
//! each crash it found (`regressions/`), so a fixed crash stays fixed.

use std::path::{Path, PathBuf};

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != ".gitkeep"))
        .collect();
    files.sort();
    files
}

fn replay(kind: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(kind);
    let mut count = 0;
    let mut failed = Vec::new();
    for (name, target) in crate::TARGETS {
        for path in inputs(&root.join(name)) {
            let data = std::fs::read(&path).unwrap();
            if std::panic::catch_unwind(|| target(&data)).is_err() {
                failed.push(path.display().to_string());
            }
            count += 1;
        }
    }
    assert!(failed.is_empty(), "inputs that panic: {failed:#?}");
    count
}

#[test]
fn the_corpora_replay_without_a_panic() {
    let count = replay("corpus");
    assert!(count >= crate::TARGETS.len(), "only {count} corpus inputs");
    for (name, _) in crate::TARGETS {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpus")
            .join(name);
        assert!(!inputs(&dir).is_empty(), "no corpus for `{name}`");
    }
}

#[test]
fn every_crash_found_stays_fixed() {
    replay("regressions");
}

#[test]
fn targets_are_found_by_name() {
    assert!(crate::target("store_record").is_some());
    assert!(crate::target("nope").is_none());
}
