//! Where the authorities' private keys live: in the store (the default), or in a PKCS#11
//! token (`keys.backend: pkcs11`).
//!
//! With a token, every key pair generated for an authority (at first start and at each
//! rotation) is made in the token, non-extractable, and the stored key pair holds the public
//! half (certificate, OpenSSH public key, SPKI PEM) and, in place of the private key, the
//! key's handle (`pkcs11:token=LABEL;id=...`) with key type `PKCS11`. Loading an authority
//! finds its keys in the token again by those handles; pairs stored with their private key
//! (`RAW`, e.g. generated before the token was configured) still load from the store, until
//! a rotation replaces them with keys in the token.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use portcullis_api::services::{JwtKeyPair, PrivateKeyType, SshKeyPair, TlsKeyPair};
use portcullis_ca::{
    ExternalAlgorithm, JwtAlgorithm, JwtAuthority, SharedKey, SshAlgorithm, SshAuthority,
    TlsAuthority,
};
use portcullis_hsm::{KeyHandle, Token};
use zeroize::Zeroizing;

use super::KeyringError;
use crate::config::{KeyBackend, Pkcs11Keys};

/// What the PIN file holds, for the refusal messages.
const HOLDS_PIN: &str = "holds the PIN of the PKCS#11 token with the authorities' keys";

/// The place private keys of the authorities are kept.
#[derive(Clone, Default)]
pub enum Custody {
    /// In the store.
    #[default]
    Store,
    /// In a PKCS#11 token.
    Token(Arc<Token>),
}

impl std::fmt::Debug for Custody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Store => f.write_str("Store"),
            Self::Token(token) => write!(f, "Token({:?})", token.label()),
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn is_token(key_type: i32) -> bool {
    key_type == PrivateKeyType::Pkcs11 as i32
}

impl Custody {
    /// Opens the configured place: for a token, reads the PIN file (which must be private
    /// to the server's user), loads the module, finds the token and logs in.
    pub fn open(backend: &KeyBackend) -> Result<Self, KeyringError> {
        let KeyBackend::Pkcs11(settings) = backend else {
            return Ok(Self::Store);
        };
        let Pkcs11Keys {
            module,
            token_label,
            pin_file,
        } = settings;
        portcullis_api::private::check_private(pin_file, "PIN file", HOLDS_PIN)?;
        let pin = std::fs::read_to_string(pin_file)
            .map(Zeroizing::new)
            .map_err(|source| KeyringError::Io {
                path: pin_file.clone(),
                source,
            })?;
        let token = Token::open(module, token_label, &pin)?;
        tracing::info!(
            token = token_label,
            module = %module.display(),
            "authority keys are kept in a PKCS#11 token"
        );
        Ok(Self::Token(token))
    }

    fn token_key(
        &self,
        ca_type: &str,
        what: &str,
        stored: &[u8],
    ) -> Result<SharedKey, KeyringError> {
        let handle = KeyHandle::parse(&text(stored))?;
        let Self::Token(token) = self else {
            return Err(KeyringError::Broken {
                ca_type: ca_type.to_owned(),
                reason: format!(
                    "its {what} key is in a PKCS#11 token (`{handle}`), but `keys.backend` is \
                     not pkcs11"
                ),
            });
        };
        Ok(Arc::new(token.find(&handle)?))
    }

    fn generate_in(
        token: &Arc<Token>,
        algorithm: ExternalAlgorithm,
        label: String,
    ) -> Result<(SharedKey, Vec<u8>), KeyringError> {
        let key = token.generate(algorithm, &label)?;
        let handle = key.handle().to_uri().into_bytes();
        Ok((Arc::new(key), handle))
    }

    /// A new TLS authority and its stored key pair.
    pub fn generate_tls(
        &self,
        cluster: &str,
        ca_type: &str,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<TlsKeyPair, KeyringError> {
        let common_name = format!("{cluster} {ca_type} authority");
        match self {
            Self::Store => {
                let tls = TlsAuthority::generate(cluster, &common_name, now, ttl)?;
                Ok(TlsKeyPair {
                    cert: tls.cert_pem().as_bytes().to_vec(),
                    key: tls.key_pem().unwrap_or_default().as_bytes().to_vec(),
                    ..Default::default()
                })
            }
            Self::Token(token) => {
                let label = format!("portcullis {cluster} {ca_type} tls");
                let (key, handle) = Self::generate_in(token, ExternalAlgorithm::EcdsaP256, label)?;
                let tls = TlsAuthority::generate_external(cluster, &common_name, now, ttl, key)?;
                Ok(TlsKeyPair {
                    cert: tls.cert_pem().as_bytes().to_vec(),
                    key: handle,
                    key_type: PrivateKeyType::Pkcs11 as i32,
                })
            }
        }
    }

    /// A new SSH authority key pair, as stored.
    pub fn generate_ssh(
        &self,
        cluster: &str,
        ca_type: &str,
        algorithm: SshAlgorithm,
    ) -> Result<SshKeyPair, KeyringError> {
        match self {
            Self::Store => {
                let ssh = SshAuthority::generate(algorithm)?;
                Ok(SshKeyPair {
                    public_key: ssh.public_key_openssh()?.into_bytes(),
                    private_key: ssh.private_key_openssh()?.as_bytes().to_vec(),
                    ..Default::default()
                })
            }
            Self::Token(token) => {
                let external = match algorithm {
                    SshAlgorithm::Ed25519 => ExternalAlgorithm::Ed25519,
                    SshAlgorithm::EcdsaP256 => ExternalAlgorithm::EcdsaP256,
                    SshAlgorithm::Rsa3072 => {
                        return Err(KeyringError::Custody(
                            "rsa3072 SSH keys are not supported with keys.backend pkcs11".into(),
                        ))
                    }
                };
                let label = format!("portcullis {cluster} {ca_type} ssh");
                let (key, handle) = Self::generate_in(token, external, label)?;
                let ssh = SshAuthority::from_external(key)?;
                Ok(SshKeyPair {
                    public_key: ssh.public_key_openssh()?.into_bytes(),
                    private_key: handle,
                    private_key_type: PrivateKeyType::Pkcs11 as i32,
                })
            }
        }
    }

    /// A new JWT key pair, as stored.
    pub fn generate_jwt(
        &self,
        cluster: &str,
        algorithm: JwtAlgorithm,
    ) -> Result<JwtKeyPair, KeyringError> {
        match self {
            Self::Store => {
                let jwt = JwtAuthority::generate(algorithm)?;
                Ok(JwtKeyPair {
                    public_key: jwt.public_key_pem().into_bytes(),
                    private_key: jwt
                        .private_key_pem()
                        .map(|pem| pem.as_bytes().to_vec())
                        .unwrap_or_default(),
                    ..Default::default()
                })
            }
            Self::Token(token) => {
                if algorithm != JwtAlgorithm::Ed25519 {
                    return Err(KeyringError::Custody(
                        "rs256 JWT keys are not supported with keys.backend pkcs11".into(),
                    ));
                }
                let label = format!("portcullis {cluster} jwt");
                let (key, handle) = Self::generate_in(token, ExternalAlgorithm::Ed25519, label)?;
                let jwt = JwtAuthority::from_external(key)?;
                Ok(JwtKeyPair {
                    public_key: jwt.public_key_pem().into_bytes(),
                    private_key: handle,
                    private_key_type: PrivateKeyType::Pkcs11 as i32,
                })
            }
        }
    }

    /// The TLS signer of a stored pair.
    pub fn tls_signer(
        &self,
        ca_type: &str,
        pair: &TlsKeyPair,
    ) -> Result<TlsAuthority, KeyringError> {
        if is_token(pair.key_type) {
            let key = self.token_key(ca_type, "TLS", &pair.key)?;
            return Ok(TlsAuthority::from_external(&text(&pair.cert), key)?);
        }
        Ok(TlsAuthority::from_pem(&text(&pair.cert), &text(&pair.key))?)
    }

    /// The SSH signer of a stored pair.
    pub fn ssh_signer(
        &self,
        ca_type: &str,
        pair: &SshKeyPair,
    ) -> Result<SshAuthority, KeyringError> {
        if is_token(pair.private_key_type) {
            let key = self.token_key(ca_type, "SSH", &pair.private_key)?;
            let ssh = SshAuthority::from_external(key)?;
            let stored = text(&pair.public_key);
            if ssh.public_key_openssh()? != stored.trim() {
                return Err(KeyringError::Broken {
                    ca_type: ca_type.to_owned(),
                    reason: "its SSH public key differs from the token's key".into(),
                });
            }
            return Ok(ssh);
        }
        Ok(SshAuthority::from_openssh(&text(&pair.private_key))?)
    }

    /// The JWT signer of a stored pair.
    pub fn jwt_signer(
        &self,
        ca_type: &str,
        pair: &JwtKeyPair,
    ) -> Result<JwtAuthority, KeyringError> {
        if is_token(pair.private_key_type) {
            let key = self.token_key(ca_type, "JWT", &pair.private_key)?;
            let jwt = JwtAuthority::from_external(key)?;
            if jwt.public_key_pem().trim() != text(&pair.public_key).trim() {
                return Err(KeyringError::Broken {
                    ca_type: ca_type.to_owned(),
                    reason: "its JWT public key differs from the token's key".into(),
                });
            }
            return Ok(jwt);
        }
        Ok(JwtAuthority::from_pem(&text(&pair.private_key))?)
    }
}

#[cfg(test)]
mod tests;
