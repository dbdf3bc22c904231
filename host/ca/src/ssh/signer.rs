//! The signing half of an SSH authority, prepared once when the authority is loaded rather
//! than for every certificate: `ssh-key`'s own signing rebuilds an Ed25519 key (a scalar
//! multiplication) or an RSA key (with its precomputation) from the stored key pair on every
//! signature, and signs P-256 with RustCrypto's portable arithmetic.

use signature::Signer;
use ssh_key::private::{EcdsaKeypair, KeypairData};
use ssh_key::public::KeyData;
use ssh_key::{Algorithm, PrivateKey, Signature};
use zeroize::Zeroizing;

use super::rsa_signer::RsaSigner;
use crate::ecdsa::{Encoding, P256Signer};
use crate::external::{ExternalAlgorithm, SharedKey};
use crate::{Error, Result};

enum Key {
    /// Zeroized on drop by `ed25519-dalek`.
    Ed25519(Box<ed25519_dalek::SigningKey>),
    /// In `ring` (see the crate docs on key material).
    EcdsaP256(Box<P256Signer>),
    Rsa(Box<RsaSigner>),
    /// Held outside the process (Ed25519 or P-256).
    External(SharedKey),
}

/// Signs SSH certificates with an authority's key.
pub(super) struct CaSigner {
    key: Key,
    public: KeyData,
}

impl CaSigner {
    /// Prepares the signer of `key` (Ed25519, ECDSA P-256 or RSA).
    pub(super) fn new(key: &PrivateKey) -> Result<Self> {
        let unsupported =
            || Error::Ssh(format!("unsupported SSH authority key {}", key.algorithm()));
        let signer = match key.key_data() {
            KeypairData::Ed25519(pair) => {
                let secret = Zeroizing::new(pair.private.to_bytes());
                Key::Ed25519(Box::new(ed25519_dalek::SigningKey::from_bytes(&secret)))
            }
            KeypairData::Ecdsa(EcdsaKeypair::NistP256 { public, private }) => {
                Key::EcdsaP256(Box::new(P256Signer::from_bytes(
                    private.as_slice(),
                    public.as_bytes(),
                    Encoding::Fixed,
                )?))
            }
            KeypairData::Rsa(pair) => {
                Key::Rsa(Box::new(RsaSigner::new(pair).map_err(|e| {
                    Error::Ssh(format!("cannot load the RSA authority key: {e}"))
                })?))
            }
            _ => return Err(unsupported()),
        };
        Ok(Self {
            key: signer,
            public: key.public_key().key_data().clone(),
        })
    }
}

impl CaSigner {
    /// The signer of an external key whose public half is `public`.
    pub(super) fn external(key: SharedKey, public: KeyData) -> Self {
        Self {
            key: Key::External(key),
            public,
        }
    }
}

/// An SSH signature from the `r || s` of a P-256 signature.
fn p256_signature(fixed: &[u8]) -> std::result::Result<Signature, signature::Error> {
    let sig = p256::ecdsa::Signature::from_slice(fixed)?;
    Signature::try_from(sig).map_err(signature::Error::from_source)
}

impl Signer<Signature> for CaSigner {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Signature, signature::Error> {
        match &self.key {
            Key::Ed25519(key) => {
                Signature::new(Algorithm::Ed25519, key.sign(message).to_bytes().to_vec())
                    .map_err(signature::Error::from_source)
            }
            Key::EcdsaP256(key) => {
                p256_signature(&key.sign(message).map_err(signature::Error::from_source)?)
            }
            Key::Rsa(key) => key.try_sign(message),
            Key::External(key) => {
                let raw = key.sign(message).map_err(signature::Error::from_source)?;
                match key.algorithm() {
                    ExternalAlgorithm::Ed25519 => Signature::new(Algorithm::Ed25519, raw)
                        .map_err(signature::Error::from_source),
                    ExternalAlgorithm::EcdsaP256 => p256_signature(&raw),
                }
            }
        }
    }
}

impl From<&CaSigner> for KeyData {
    fn from(signer: &CaSigner) -> KeyData {
        signer.public.clone()
    }
}
