//! SoftHSM2 tokens for tests and trials: a private configuration and token directory, and
//! tokens initialized in it with `softhsm2-util` (Debian package `softhsm2`).
//!
//! SoftHSM2 reads its configuration from the file `SOFTHSM2_CONF` names when the process
//! initializes the library, so a process using [`SoftHsm::conf`] must have that variable set
//! before its first [`crate::Token::open`].

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where Debian installs the SoftHSM2 PKCS#11 library.
pub const DEBIAN_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// The SoftHSM2 PKCS#11 library, if installed in one of the usual places.
pub fn module() -> Option<PathBuf> {
    [
        DEBIAN_MODULE,
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/local/lib/softhsm/libsofthsm2.so",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// A SoftHSM2 configuration with its own token directory.
#[derive(Debug, Clone)]
pub struct SoftHsm {
    /// The configuration file (the value for `SOFTHSM2_CONF`).
    pub conf: PathBuf,
    /// The PKCS#11 library.
    pub module: PathBuf,
}

fn failed(what: String) -> std::io::Error {
    std::io::Error::other(what)
}

impl SoftHsm {
    /// Writes a configuration under `dir` whose tokens live in `dir/tokens`.
    pub fn create(dir: &Path) -> std::io::Result<Self> {
        let module = module().ok_or_else(|| {
            failed(format!(
                "SoftHSM2 is not installed (no {DEBIAN_MODULE}; apt-get install softhsm2)"
            ))
        })?;
        let tokens = dir.join("tokens");
        std::fs::create_dir_all(&tokens)?;
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )?;
        Ok(Self { conf, module })
    }

    /// Initializes a token labelled `label` in the first free slot, with user PIN `pin`.
    pub fn init_token(&self, label: &str, pin: &str) -> std::io::Result<()> {
        let out = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &self.conf)
            .args(["--init-token", "--free", "--label", label, "--pin", pin])
            .args(["--so-pin", "so-pin-for-tests"])
            .output()
            .map_err(|e| failed(format!("cannot run softhsm2-util (package softhsm2): {e}")))?;
        if !out.status.success() {
            return Err(failed(format!(
                "softhsm2-util --init-token failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(())
    }
}

/// The user PIN [`for_tests`] gives the token `label`.
pub fn test_pin(label: &str) -> String {
    format!("pin-{label}")
}

/// For tests: one SoftHSM2 configuration for the whole process (a PKCS#11 library is
/// initialized once per process, with the configuration of that moment), made in a fresh
/// temporary directory on the first call, with a token for each of `labels` (user PIN
/// [`test_pin`]), and `SOFTHSM2_CONF` set to it. Every call must name the same labels.
pub fn for_tests(labels: &[&str]) -> std::io::Result<&'static SoftHsm> {
    static HSM: std::sync::OnceLock<Result<SoftHsm, String>> = std::sync::OnceLock::new();
    let made = HSM.get_or_init(|| {
        let make = || -> std::io::Result<SoftHsm> {
            let dir = std::env::temp_dir().join(format!(
                "portcullis-softhsm-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or_default()
            ));
            let hsm = SoftHsm::create(&dir)?;
            for label in labels {
                hsm.init_token(label, &test_pin(label))?;
            }
            std::env::set_var("SOFTHSM2_CONF", &hsm.conf);
            Ok(hsm)
        };
        make().map_err(|e| e.to_string())
    });
    made.as_ref().map_err(|e| failed(e.clone()))
}
