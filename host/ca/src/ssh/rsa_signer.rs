//! RSA signing of SSH certificates with `rsa-sha2-512`.
//!
//! ssh-key 0.6.7 has RSA signing, but its conversion of an `RsaKeypair` into an
//! `rsa::RsaPrivateKey` passes the prime `p` twice instead of `p` and `q`, so every RSA
//! signature fails. This wrapper makes the conversion correctly and signs with the `rsa`
//! crate's PKCS#1 v1.5 over SHA-512 (blinded), producing an `rsa-sha2-512` SSH signature.

use rand_core::OsRng;
use rsa::pkcs1v15;
use sha2::Sha512;
use signature::{RandomizedSigner, SignatureEncoding, Signer};
use ssh_key::private::RsaKeypair;
use ssh_key::{Algorithm, HashAlg, Signature};

/// An RSA signer, prepared once per authority; the `rsa` key inside zeroizes on drop.
pub(super) struct RsaSigner {
    key: pkcs1v15::SigningKey<Sha512>,
}

impl RsaSigner {
    /// Builds the signer from an SSH RSA key pair.
    pub(super) fn new(pair: &RsaKeypair) -> Result<Self, ssh_key::Error> {
        let big = |m: &ssh_key::Mpint| rsa::BigUint::try_from(m);
        let key = rsa::RsaPrivateKey::from_components(
            big(&pair.public.n)?,
            big(&pair.public.e)?,
            big(&pair.private.d)?,
            vec![big(&pair.private.p)?, big(&pair.private.q)?],
        )?;
        Ok(Self {
            key: pkcs1v15::SigningKey::new(key),
        })
    }
}

impl Signer<Signature> for RsaSigner {
    fn try_sign(&self, message: &[u8]) -> Result<Signature, signature::Error> {
        let raw = self.key.try_sign_with_rng(&mut OsRng, message)?;
        Signature::new(
            Algorithm::Rsa {
                hash: Some(HashAlg::Sha512),
            },
            raw.to_vec(),
        )
        .map_err(signature::Error::from_source)
    }
}
