//! ECDSA P-256 signatures through `ring`, whose assembly signs several times faster than the
//! portable arithmetic of RustCrypto's `p256`. Keys are still generated, parsed and encoded
//! with `p256` (and `ssh-key`); only the signing goes through `ring`, with a fresh random nonce
//! from the system's generator for every signature.

use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, EcdsaSigningAlgorithm};
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P256_SHA256_FIXED_SIGNING};
use zeroize::Zeroizing;

use crate::external::{p256_fixed_to_der, SharedKey};
use crate::{Error, Result};

/// How a signature is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// A DER `ECDSA-Sig-Value` (X.509).
    Der,
    /// `r || s`, 32 bytes each (SSH wraps them in mpints).
    Fixed,
}

/// A P-256 signing key loaded into `ring`, ready to sign with SHA-256.
pub(crate) struct P256Signer {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for P256Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("P256Signer").finish_non_exhaustive()
    }
}

impl P256Signer {
    /// Loads the key whose private scalar is `private` (32 bytes, big-endian) and whose public
    /// point is `public` (SEC1, uncompressed); `ring` checks that they belong together.
    pub(crate) fn from_bytes(private: &[u8], public: &[u8], encoding: Encoding) -> Result<Self> {
        let alg: &'static EcdsaSigningAlgorithm = match encoding {
            Encoding::Der => &ECDSA_P256_SHA256_ASN1_SIGNING,
            Encoding::Fixed => &ECDSA_P256_SHA256_FIXED_SIGNING,
        };
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_private_key_and_public_key(alg, private, public, &rng)
            .map_err(|e| Error::Signing(format!("cannot load the P-256 key: {e}")))?;
        Ok(Self { pair, rng })
    }

    /// Loads a `p256` signing key.
    pub(crate) fn from_p256(key: &p256::ecdsa::SigningKey, encoding: Encoding) -> Result<Self> {
        let private = Zeroizing::new(key.to_bytes());
        let public = key.verifying_key().to_encoded_point(false);
        Self::from_bytes(private.as_slice(), public.as_bytes(), encoding)
    }

    /// Signs SHA-256 of `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        self.pair
            .sign(&self.rng, message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| Error::Signing("ECDSA P-256 signing failed".into()))
    }
}

/// The key of a TLS authority, signing certificates with DER-encoded signatures: loaded into
/// `ring`, or held outside the process.
pub(crate) enum CertSigner {
    /// A key in memory (prepared with [`Encoding::Der`]).
    Local(Box<P256Signer>),
    /// An external P-256 key.
    External(SharedKey),
}

impl CertSigner {
    /// Signs SHA-256 of `message`; the signature is DER-encoded.
    pub(crate) fn sign_der(&self, message: &[u8]) -> Result<Vec<u8>> {
        match self {
            Self::Local(signer) => signer.sign(message),
            Self::External(key) => p256_fixed_to_der(&key.sign(message)?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::{DerSignature, Signature};

    #[test]
    fn signatures_verify_with_p256_in_both_encodings() {
        let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let message = b"to be signed";
        let der = P256Signer::from_p256(&key, Encoding::Der).unwrap();
        let sig = DerSignature::try_from(der.sign(message).unwrap().as_slice()).unwrap();
        key.verifying_key().verify(message, &sig).unwrap();
        assert!(key.verifying_key().verify(b"other", &sig).is_err());
        let fixed = P256Signer::from_p256(&key, Encoding::Fixed).unwrap();
        let sig = Signature::from_slice(&fixed.sign(message).unwrap()).unwrap();
        key.verifying_key().verify(message, &sig).unwrap();
    }

    #[test]
    fn a_public_key_of_another_private_key_is_refused() {
        let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let other = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let public = other.verifying_key().to_encoded_point(false);
        let err =
            P256Signer::from_bytes(&key.to_bytes(), public.as_bytes(), Encoding::Der).unwrap_err();
        assert!(
            err.to_string().contains("cannot load the P-256 key"),
            "{err}"
        );
    }
}
