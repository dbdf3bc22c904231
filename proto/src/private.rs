//! Checks that a file or directory holding secrets is private to the user running this
//! process: owned by it, and neither readable, writable nor searchable by group or others.
//!
//! The server checks its data directory and a config file holding static tokens with it;
//! `pctl` checks the private key or identity file it is given.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The permission bits that give group or others any access.
pub const OPEN_BITS: u32 = 0o077;

/// Why a path that must be private is not (or cannot be inspected).
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    /// The path could not be inspected (missing, unreadable parent).
    #[error("cannot inspect {what} `{}`: {source}", path.display())]
    Inspect {
        /// What the path is, e.g. `data directory`.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Group or others may read, write or enter it.
    #[error(
        "{what} `{}` is accessible by group or others (mode {mode:04o}) and {why}: \
         run `chmod {fix:o} {}`",
        path.display(),
        path.display()
    )]
    OpenMode {
        /// What the path is.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// The mode that fixes it (700 for a directory, 600 for a file).
        fix: u32,
        /// What it holds, e.g. `holds the authorities' private keys`.
        why: &'static str,
    },
    /// Another user owns it (and so could read or replace what it holds).
    #[error(
        "{what} `{}` is owned by uid {owner}, not by uid {uid} that runs this program, and \
         {why}: run `chown {uid} {}` or run as its owner",
        path.display(),
        path.display()
    )]
    ForeignOwner {
        /// What the path is.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// The effective uid of this process.
        uid: u32,
        /// What it holds.
        why: &'static str,
    },
}

/// The effective uid of this process.
pub fn effective_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Checks that `path` (followed if a link) is owned by this process's user and gives group
/// and others no access. `what` names the path in errors (`config file`), `why` says what
/// it holds (`holds static provisioning tokens`).
pub fn check_private(
    path: &Path,
    what: &'static str,
    why: &'static str,
) -> Result<(), PrivacyError> {
    let meta = std::fs::metadata(path).map_err(|source| PrivacyError::Inspect {
        what,
        path: path.to_owned(),
        source,
    })?;
    let uid = effective_uid();
    if meta.uid() != uid {
        return Err(PrivacyError::ForeignOwner {
            what,
            path: path.to_owned(),
            owner: meta.uid(),
            uid,
            why,
        });
    }
    let mode = meta.mode() & 0o7777;
    if mode & OPEN_BITS != 0 {
        return Err(PrivacyError::OpenMode {
            what,
            path: path.to_owned(),
            mode,
            fix: if meta.is_dir() { 0o700 } else { 0o600 },
            why,
        });
    }
    Ok(())
}

/// Writes `data` to `path` readable by its owner only (0600), atomically: a private
/// temporary file next to it, synced, then renamed over it.
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = stage_private(path, data)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Writes `data` to a private (0600) temporary file `PATH.tmp` next to `path`, synced, and
/// returns its path, for callers that rename several files one right after the other.
pub fn stage_private(path: &Path, data: &[u8]) -> std::io::Result<PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    let tmp = PathBuf::from(name);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    // A temporary file left by a crash keeps its mode on open.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(data)?;
    file.sync_all()?;
    Ok(tmp)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn private_paths_pass_and_open_ones_name_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key.pem");
        std::fs::write(&file, "secret").unwrap();
        chmod(&file, 0o600);
        chmod(dir.path(), 0o700);
        check_private(&file, "private key file", "holds a private key").unwrap();
        check_private(dir.path(), "data directory", "holds keys").unwrap();

        chmod(&file, 0o640);
        let err = check_private(&file, "private key file", "holds a private key")
            .unwrap_err()
            .to_string();
        assert!(err.contains("mode 0640"), "{err}");
        assert!(
            err.contains(&format!("chmod 600 {}", file.display())),
            "{err}"
        );

        chmod(dir.path(), 0o711);
        let err = check_private(dir.path(), "data directory", "holds keys")
            .unwrap_err()
            .to_string();
        assert!(err.contains("data directory"), "{err}");
        assert!(
            err.contains(&format!("chmod 700 {}", dir.path().display())),
            "{err}"
        );
    }

    #[test]
    fn a_path_of_another_user_is_refused() {
        if effective_uid() != 0 {
            return; // only root can give a file away
        }
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::chown(dir.path(), Some(65534), None).unwrap();
        let err = check_private(dir.path(), "data directory", "holds keys")
            .unwrap_err()
            .to_string();
        assert!(err.contains("owned by uid 65534, not by uid 0"), "{err}");
        assert!(err.contains("run `chown 0 "), "{err}");
    }

    #[test]
    fn written_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("id.key");
        std::fs::write(&file, "old").unwrap();
        chmod(&file, 0o644);
        write_private(&file, b"new").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"new");
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_missing_path_says_what_it_is() {
        let err = check_private(Path::new("/nonexistent/x"), "config file", "holds tokens")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("cannot inspect config file `/nonexistent/x`"),
            "{err}"
        );
    }
}
