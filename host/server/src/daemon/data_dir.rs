//! The data directory is private to the server's user.
//!
//! The store under it holds the authorities' private keys, so:
//! - the process umask is 077 from the first instruction on, and everything the server or
//!   RocksDB creates is owner-only whatever umask it was started with;
//! - an existing data directory that another user owns, or that group or others may read,
//!   write or enter, is refused with the `chmod`/`chown` that fixes it;
//! - the store and policy cache directories, when they are links to elsewhere, are checked
//!   the same way;
//! - anything inside that is still open (files 0644 and directories 0755 left by a version
//!   that did not set the umask) is tightened, and that is logged once.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;
use portcullis_api::private::{check_private, OPEN_BITS};

/// What the data directory holds, for the refusal messages.
const HOLDS_KEYS: &str = "holds the authorities' private keys";

/// Subdirectories that an operator may place elsewhere with a symbolic link.
const LINKABLE: [&str; 2] = ["store", "policy-cache"];

/// Makes every file and directory this process creates private to its user.
pub fn private_umask() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(OPEN_BITS));
}

/// Creates the data directory (owner-only), or checks an existing one and tightens what
/// an earlier version left open inside it.
pub fn prepare(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        return std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create data directory `{}`", dir.display()));
    }
    check_private(dir, "data directory", HOLDS_KEYS)?;
    let mut tightened = Vec::new();
    for name in LINKABLE {
        let sub = dir.join(name);
        if sub.is_symlink() && sub.exists() {
            check_private(&sub, "data directory link", HOLDS_KEYS)?;
            tighten(&sub, &mut tightened)?;
        }
    }
    tighten(dir, &mut tightened)?;
    if !tightened.is_empty() {
        tracing::warn!(
            data_dir = %dir.display(),
            count = tightened.len(),
            first = %tightened[0].display(),
            "made files and directories under the data directory private to the server's \
             user (left open by an earlier version)"
        );
    }
    Ok(())
}

/// Removes group and other access from everything below `dir`, recording what changed.
/// Links are not followed (only the linkable subdirectories are, by [`prepare`]).
fn tighten(dir: &Path, changed: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list `{}`", dir.display()))?;
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot list `{}`", dir.display()))?
            .path();
        let meta = std::fs::symlink_metadata(&path)
            .with_context(|| format!("cannot inspect `{}`", path.display()))?;
        if meta.file_type().is_symlink() {
            continue;
        }
        let mode = meta.permissions().mode();
        if mode & OPEN_BITS != 0 {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & !OPEN_BITS))
                .with_context(|| {
                    format!("cannot make `{}` private to its owner", path.display())
                })?;
            changed.push(path.clone());
        }
        if meta.is_dir() {
            tighten(&path, changed)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_new_data_dir_is_created_private() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        prepare(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
    }

    #[test]
    fn an_open_data_dir_is_refused_and_left_as_it_is() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("f"), "x").unwrap();
        chmod(&dir.join("f"), 0o644);
        chmod(&dir, 0o755);
        let err = format!("{:#}", prepare(&dir).unwrap_err());
        assert!(err.contains("mode 0755"), "{err}");
        assert!(
            err.contains(&format!("chmod 700 {}", dir.display())),
            "{err}"
        );
        assert_eq!(mode(&dir.join("f")), 0o644, "nothing is changed");
    }

    #[test]
    fn open_files_inside_a_private_dir_are_tightened() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        std::fs::create_dir_all(dir.join("store/sub")).unwrap();
        std::fs::write(dir.join("store/000004.log"), "keys").unwrap();
        std::fs::write(dir.join("store/sub/x"), "x").unwrap();
        chmod(&dir.join("store/000004.log"), 0o644);
        chmod(&dir.join("store/sub/x"), 0o664);
        chmod(&dir.join("store/sub"), 0o775);
        chmod(&dir.join("store"), 0o755);
        chmod(&dir, 0o700);
        prepare(&dir).unwrap();
        assert_eq!(mode(&dir.join("store")), 0o700);
        assert_eq!(mode(&dir.join("store/sub")), 0o700);
        assert_eq!(mode(&dir.join("store/000004.log")), 0o600);
        assert_eq!(mode(&dir.join("store/sub/x")), 0o600);
    }

    #[test]
    fn a_linked_store_elsewhere_must_be_private_too() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let elsewhere = tmp.path().join("fast-disk");
        std::fs::create_dir(&dir).unwrap();
        std::fs::create_dir(&elsewhere).unwrap();
        chmod(&dir, 0o700);
        chmod(&elsewhere, 0o755);
        std::os::unix::fs::symlink(&elsewhere, dir.join("store")).unwrap();
        let err = format!("{:#}", prepare(&dir).unwrap_err());
        assert!(err.contains("data directory link"), "{err}");
        assert!(err.contains("mode 0755"), "{err}");
        chmod(&elsewhere, 0o700);
        std::fs::write(elsewhere.join("CURRENT"), "x").unwrap();
        chmod(&elsewhere.join("CURRENT"), 0o644);
        prepare(&dir).unwrap();
        assert_eq!(mode(&elsewhere.join("CURRENT")), 0o600);
    }
}
