//! Key pairs that clients generate for themselves and have signed.
//!
//! One Ed25519 key pair serves both certificates a client holds: its public key is sent in
//! OpenSSH format for the SSH certificate and as a PEM `PUBLIC KEY` for the X.509 one; the
//! private key is written in OpenSSH format (for `ssh -i`) or PKCS#8 PEM (for TLS).

use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};
use rand_core::OsRng;
use ssh_key::private::{Ed25519Keypair, KeypairData};
use ssh_key::{LineEnding, PrivateKey};
use zeroize::Zeroizing;

use crate::{Error, Result};

/// A client's own key pair (Ed25519). The secret is zeroized when dropped.
pub struct ClientKey {
    key: PrivateKey,
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKey")
            .field("public", &self.public_key_openssh().unwrap_or_default())
            .finish_non_exhaustive()
    }
}

impl ClientKey {
    /// Generates a new key pair from the operating system's random source.
    pub fn generate() -> Result<Self> {
        let keypair = Ed25519Keypair::random(&mut OsRng);
        Ok(Self {
            key: PrivateKey::from(keypair),
        })
    }

    fn dalek(&self) -> Result<ed25519_dalek::SigningKey> {
        match self.key.key_data() {
            KeypairData::Ed25519(pair) => Ok(ed25519_dalek::SigningKey::from_bytes(
                &pair.private.to_bytes(),
            )),
            _ => Err(Error::Ssh("client key is not Ed25519".into())),
        }
    }

    /// The public key as an `authorized_keys` entry (`ssh-ed25519 AAAA...`).
    pub fn public_key_openssh(&self) -> Result<String> {
        self.key
            .public_key()
            .to_openssh()
            .map_err(|e| Error::Ssh(format!("cannot encode the public key: {e}")))
    }

    /// The public key as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    pub fn public_key_pem(&self) -> Result<String> {
        self.dalek()?
            .verifying_key()
            .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .map_err(|e| Error::Pem {
                what: "client public key",
                reason: e.to_string(),
            })
    }

    /// The private key in OpenSSH format, as `ssh -i` reads it.
    pub fn private_key_openssh(&self) -> Result<Zeroizing<String>> {
        self.key
            .to_openssh(LineEnding::LF)
            .map_err(|e| Error::Ssh(format!("cannot encode the private key: {e}")))
    }

    /// The private key as PKCS#8 PEM, as TLS libraries read it.
    pub fn private_key_pem(&self) -> Result<Zeroizing<String>> {
        self.dalek()?
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .map(|pem| Zeroizing::new(pem.to_string()))
            .map_err(|e| Error::Pem {
                what: "client private key",
                reason: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_key_in_every_format() {
        let key = ClientKey::generate().unwrap();
        assert!(key
            .public_key_openssh()
            .unwrap()
            .starts_with("ssh-ed25519 "));
        assert!(key
            .public_key_pem()
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----"));
        let pem = key.private_key_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let openssh = key.private_key_openssh().unwrap();
        let back = PrivateKey::from_openssh(openssh.as_str()).unwrap();
        assert_eq!(back.public_key(), key.key.public_key());
        assert!(!format!("{key:?}").contains(pem.as_str()));
        // rcgen (the TLS signer) reads the PKCS#8 key.
        rcgen::KeyPair::from_pem(&pem).unwrap();
    }
}
