//! Refusing to test stale binaries: the end-to-end tests run `portcullis` and `pctl` as
//! built by `cargo build --workspace --bins`, which the tests never run themselves. A binary
//! older than a source it is built from would test yesterday's server; [`check`] names it.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What `portcullis` and `pctl` are built from, relative to the repository root: the
/// workspace crates they link (directories, searched recursively) and the workspace
/// manifest and lock file.
const SOURCES: [&str; 5] = ["host", "proto", "guest-sdk", "Cargo.toml", "Cargo.lock"];

/// Directories never searched: build output, installed packages, hidden directories.
fn skipped_dir(name: &str) -> bool {
    name == "target" || name == "node_modules" || name.starts_with('.')
}

/// Whether a file of that name is a build input: Rust and protobuf sources, manifests, lock
/// files (build scripts are Rust sources).
fn is_source(name: &str) -> bool {
    name.ends_with(".rs")
        || name.ends_with(".proto")
        || name == "Cargo.toml"
        || name == "Cargo.lock"
}

/// The first of `binaries` older than the newest of `sources`, with that source, as the
/// message to fail with; `None` when every binary is at least as new as every source.
pub(crate) fn stale_binary(
    binaries: &[(PathBuf, SystemTime)],
    sources: &[(PathBuf, SystemTime)],
) -> Option<String> {
    let (newest, newest_time) = sources.iter().max_by_key(|(_, time)| *time)?;
    let (stale, _) = binaries.iter().find(|(_, time)| time < newest_time)?;
    Some(format!(
        "`{}` is stale: `{}` is newer; run `cargo build --workspace --bins` (scripts/test does)",
        stale.display(),
        newest.display()
    ))
}

/// The build inputs under `root` (see [`SOURCES`]) with their modification times.
pub(crate) fn sources(root: &Path) -> Vec<(PathBuf, SystemTime)> {
    let mut found = Vec::new();
    for entry in SOURCES {
        collect(&root.join(entry), &mut found);
    }
    found
}

fn collect(path: &Path, found: &mut Vec<(PathBuf, SystemTime)>) {
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if meta.is_dir() {
        if skipped_dir(name) {
            return;
        }
        let Ok(entries) = std::fs::read_dir(path) else {
            return;
        };
        for entry in entries.flatten() {
            collect(&entry.path(), found);
        }
    } else if is_source(name) {
        if let Ok(modified) = meta.modified() {
            found.push((path.to_owned(), modified));
        }
    }
}

/// Checks that the binaries `names` exist in `dir` and, when `root` (the repository) is
/// given, that none is older than the sources under it.
pub(crate) fn check(dir: &Path, names: &[&str], root: Option<&Path>) -> Result<(), String> {
    let mut binaries = Vec::new();
    for name in names {
        let path = dir.join(name);
        let modified = std::fs::metadata(&path)
            .ok()
            .filter(|meta| meta.is_file())
            .and_then(|meta| meta.modified().ok());
        let Some(modified) = modified else {
            return Err(format!(
                "`{}` is missing: run `cargo build --workspace --bins` first (scripts/test does)",
                path.display()
            ));
        };
        binaries.push((path, modified));
    }
    let Some(root) = root else {
        return Ok(());
    };
    // Each binary against what it is built from: the files cargo's dep-info next to it
    // (`NAME.d`) lists, or, without one, every source under the repository.
    for binary in &binaries {
        let inputs = match dep_info(&binary.0.with_extension("d")) {
            Some(inputs) => inputs,
            None => sources(root),
        };
        if let Some(why) = stale_binary(std::slice::from_ref(binary), &inputs) {
            return Err(why);
        }
    }
    Ok(())
}

/// The input files of a cargo dep-info file (`TARGET: INPUT INPUT ...`, spaces in paths
/// escaped with a backslash) that exist, with their modification times; `None` if there is no
/// readable dep-info file.
fn dep_info(path: &Path) -> Option<Vec<(PathBuf, SystemTime)>> {
    let text = std::fs::read_to_string(path).ok()?;
    let (_, inputs) = text.lines().next()?.split_once(": ")?;
    let mut found = Vec::new();
    let mut current = String::new();
    let mut chars = inputs.chars();
    let mut push = |current: &mut String| {
        if current.is_empty() {
            return;
        }
        let input = PathBuf::from(std::mem::take(current));
        if let Ok(modified) = std::fs::metadata(&input).and_then(|m| m.modified()) {
            found.push((input, modified));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => current.extend(chars.next()),
            ' ' => push(&mut current),
            other => current.push(other),
        }
    }
    push(&mut current);
    Some(found)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
    }

    fn stamped(files: &[(&str, u64)]) -> Vec<(PathBuf, SystemTime)> {
        files
            .iter()
            .map(|(path, secs)| (PathBuf::from(path), at(*secs)))
            .collect()
    }

    #[test]
    fn binaries_as_new_as_their_sources_are_fresh() {
        let binaries = stamped(&[("bin/portcullis", 10), ("bin/pctl", 10)]);
        let sources = stamped(&[("host/a.rs", 5), ("Cargo.lock", 10)]);
        assert_eq!(stale_binary(&binaries, &sources), None);
        assert_eq!(stale_binary(&binaries, &[]), None, "no sources found");
        assert_eq!(stale_binary(&[], &sources), None, "no binaries given");
    }

    #[test]
    fn a_binary_older_than_the_newest_source_is_named_with_that_source() {
        let binaries = stamped(&[("bin/portcullis", 20), ("bin/pctl", 10)]);
        let sources = stamped(&[("host/a.rs", 5), ("proto/b.proto", 15), ("host/c.rs", 12)]);
        assert_eq!(
            stale_binary(&binaries, &sources).as_deref(),
            Some(
                "`bin/pctl` is stale: `proto/b.proto` is newer; \
                 run `cargo build --workspace --bins` (scripts/test does)"
            )
        );
        // Both older: the first is named, with the newest source.
        let binaries = stamped(&[("bin/portcullis", 1), ("bin/pctl", 2)]);
        let why = stale_binary(&binaries, &sources).unwrap();
        assert!(
            why.starts_with("`bin/portcullis` is stale: `proto/b.proto` is newer"),
            "{why}"
        );
    }

    #[test]
    fn sources_are_the_build_inputs_under_the_listed_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let files = [
            "host/server/src/main.rs",
            "host/server/build.rs",
            "host/server/Cargo.toml",
            "proto/protos/auth.proto",
            "guest-sdk/src/lib.rs",
            "Cargo.toml",
            "Cargo.lock",
            // Not inputs: other kinds, build output, other directories.
            "host/server/README.md",
            "host/target/debug/build/out.rs",
            "guest-sdk/.hidden/x.rs",
            "tests/src/lib.rs",
            "policies/Cargo.toml",
        ];
        for file in files {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, "").unwrap();
        }
        let mut found: Vec<String> = sources(root)
            .into_iter()
            .map(|(path, _)| {
                let relative = path.strip_prefix(root).unwrap();
                relative.to_str().unwrap().to_owned()
            })
            .collect();
        found.sort();
        let mut expected = files[..7].to_vec();
        expected.sort();
        assert_eq!(found, expected);
    }

    #[test]
    fn a_binary_with_dep_info_is_compared_with_its_own_inputs_only() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        let bin = tmp.path().join("bin");
        std::fs::create_dir_all(root.join("host/cli/src")).unwrap();
        std::fs::create_dir_all(root.join("host/server/src")).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        let touch = |path: &Path, secs: u64| {
            let file = std::fs::File::create(path).unwrap();
            file.set_modified(at(secs)).unwrap();
        };
        let cli = root.join("host/cli/src/my file.rs");
        touch(&cli, 5);
        touch(&bin.join("pctl"), 10);
        let escaped = cli.to_str().unwrap().replace(' ', "\\ ");
        let deps = format!(
            "{}: {escaped} /nonexistent/gone.rs\n",
            bin.join("pctl").display()
        );
        std::fs::write(bin.join("pctl.d"), deps).unwrap();
        // A newer server source does not make pctl stale: pctl is not built from it.
        touch(&root.join("host/server/src/lib.rs"), 20);
        assert_eq!(check(&bin, &["pctl"], Some(&root)), Ok(()));
        // A newer input of its own does.
        touch(&cli, 30);
        let why = check(&bin, &["pctl"], Some(&root)).unwrap_err();
        assert!(why.contains("my file.rs` is newer"), "{why}");
    }

    #[test]
    fn check_names_a_missing_binary() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("portcullis"), "").unwrap();
        let why = check(tmp.path(), &["portcullis", "pctl"], None).unwrap_err();
        assert!(why.contains("pctl` is missing"), "{why}");
        assert_eq!(check(tmp.path(), &["portcullis"], None), Ok(()));
    }

    #[test]
    fn check_compares_the_binaries_with_the_sources_under_the_root() {
        let tmp = tempfile::tempdir().unwrap();
        let bin = tmp.path().join("bin");
        let root = tmp.path().join("repo");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(root.join("host/ca/src")).unwrap();
        let touch = |path: &Path, secs: u64| {
            let file = std::fs::File::create(path).unwrap();
            file.set_modified(at(secs)).unwrap();
        };
        touch(&bin.join("pctl"), 10);
        touch(&root.join("host/ca/src/lib.rs"), 20);
        let why = check(&bin, &["pctl"], Some(&root)).unwrap_err();
        assert!(why.starts_with(&format!("`{}` is stale", bin.join("pctl").display())));
        assert!(why.contains("host/ca/src/lib.rs` is newer"), "{why}");
        touch(&bin.join("pctl"), 30);
        assert_eq!(check(&bin, &["pctl"], Some(&root)), Ok(()));
    }
}
