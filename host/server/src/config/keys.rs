//! The `keys:` section: where the authorities' private keys live — in the store (the
//! default) or in a PKCS#11 token, the store then holding only public keys and handles.

use std::path::PathBuf;

use portcullis_ca::{JwtAlgorithm, SshAlgorithm};
use serde::Deserialize;

use super::ConfigError;
use crate::keyring::Algorithms;

/// The `keys:` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeysSection {
    /// `store` (default) or `pkcs11`.
    pub backend: Option<String>,
    /// The token's PKCS#11 library, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: Option<PathBuf>,
    /// The label of the token holding the keys.
    pub token_label: Option<String>,
    /// A file (mode 0600) holding the token's user PIN.
    pub pin_file: Option<PathBuf>,
}

/// Where the authorities' private keys live, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum KeyBackend {
    /// In the store, next to the certificates (the default).
    #[default]
    Store,
    /// In a PKCS#11 token.
    Pkcs11(Pkcs11Keys),
}

/// The `keys:` settings of the pkcs11 backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkcs11Keys {
    /// The PKCS#11 library.
    pub module: PathBuf,
    /// The token's label.
    pub token_label: String,
    /// The file holding the user PIN.
    pub pin_file: PathBuf,
}

impl KeysSection {
    /// Validates the section against the configured key algorithms: a token generates and
    /// signs with Ed25519 and ECDSA P-256 keys only.
    pub fn resolve(self, algorithms: Algorithms) -> Result<KeyBackend, ConfigError> {
        let invalid =
            |field: &'static str, message: String| ConfigError::Invalid { field, message };
        match self.backend.as_deref().unwrap_or("store") {
            "store" => {
                for (field, set) in [
                    ("keys.module", self.module.is_some()),
                    ("keys.token_label", self.token_label.is_some()),
                    ("keys.pin_file", self.pin_file.is_some()),
                ] {
                    if set {
                        return Err(invalid(
                            field,
                            "is only used with `keys.backend: pkcs11`".into(),
                        ));
                    }
                }
                Ok(KeyBackend::Store)
            }
            "pkcs11" => {
                let need = "is required with `keys.backend: pkcs11`".to_owned();
                let module = self
                    .module
                    .ok_or_else(|| invalid("keys.module", need.clone()))?;
                let token_label = self
                    .token_label
                    .filter(|l| !l.is_empty())
                    .ok_or_else(|| invalid("keys.token_label", need.clone()))?;
                let pin_file = self
                    .pin_file
                    .ok_or_else(|| invalid("keys.pin_file", need))?;
                if algorithms.ssh == SshAlgorithm::Rsa3072 {
                    return Err(invalid(
                        "ca.ssh_algorithm",
                        "rsa3072 SSH keys are not supported with `keys.backend: pkcs11` \
                         (supported: ed25519, ecdsa-p256)"
                            .into(),
                    ));
                }
                if algorithms.jwt == JwtAlgorithm::Rs256 {
                    return Err(invalid(
                        "ca.jwt_algorithm",
                        "rs256 JWT keys are not supported with `keys.backend: pkcs11` \
                         (supported: ed25519)"
                            .into(),
                    ));
                }
                Ok(KeyBackend::Pkcs11(Pkcs11Keys {
                    module,
                    token_label,
                    pin_file,
                }))
            }
            other => Err(invalid(
                "keys.backend",
                format!("unknown key backend `{other}` (known: store, pkcs11)"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FileConfig, Overrides};

    fn resolve(yaml: &str) -> Result<KeyBackend, String> {
        FileConfig::parse(yaml)
            .map_err(|e| e.to_string())?
            .resolve(Overrides::default())
            .map(|c| c.keys)
            .map_err(|e| e.to_string())
    }

    const PKCS11: &str = "keys:\n  backend: pkcs11\n  module: /usr/lib/softhsm/libsofthsm2.so\n  token_label: portcullis\n  pin_file: /etc/portcullis/pin\n";

    #[test]
    fn the_store_is_the_default_and_pkcs11_needs_its_settings() {
        assert_eq!(resolve("").unwrap(), KeyBackend::Store);
        assert_eq!(
            resolve(PKCS11).unwrap(),
            KeyBackend::Pkcs11(Pkcs11Keys {
                module: "/usr/lib/softhsm/libsofthsm2.so".into(),
                token_label: "portcullis".into(),
                pin_file: "/etc/portcullis/pin".into(),
            })
        );
        let err =
            resolve("keys:\n  backend: pkcs11\n  module: /m.so\n  pin_file: /p\n").unwrap_err();
        assert!(
            err.contains("`keys.token_label`: is required with `keys.backend: pkcs11`"),
            "{err}"
        );
        let err = resolve("keys:\n  token_label: x\n").unwrap_err();
        assert!(
            err.contains("`keys.token_label`: is only used with"),
            "{err}"
        );
        let err = resolve("keys:\n  backend: kms\n").unwrap_err();
        assert!(
            err.contains("unknown key backend `kms` (known: store, pkcs11)"),
            "{err}"
        );
    }

    #[test]
    fn algorithms_a_token_cannot_do_are_refused() {
        let err = resolve(&format!("{PKCS11}ca:\n  ssh_algorithm: rsa3072\n")).unwrap_err();
        assert!(
            err.contains("rsa3072 SSH keys are not supported with `keys.backend: pkcs11`"),
            "{err}"
        );
        let err = resolve(&format!("{PKCS11}ca:\n  jwt_algorithm: rs256\n")).unwrap_err();
        assert!(err.contains("rs256 JWT keys are not supported"), "{err}");
        assert!(resolve(&format!("{PKCS11}ca:\n  ssh_algorithm: ecdsa-p256\n")).is_ok());
    }
}
