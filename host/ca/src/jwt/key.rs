//! JWT verification keys: reading them from SPKI PEM, their JWK form and key id, and
//! signature verification.

use base64ct::{Base64UrlUnpadded, Encoding};
use der::Encode;
use rsa::traits::PublicKeyParts;
use rsa::Pkcs1v15Sign;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use spki::{DecodePublicKey, EncodePublicKey};

use super::JwtAlgorithm;
use crate::pubkey::{ED25519, RSA_ENCRYPTION};
use crate::{Error, Result};

/// Smallest RSA modulus accepted, in bytes (2048 bits).
pub(super) const MIN_RSA_BYTES: usize = 256;

/// Bytes of the SHA-256 of the SPKI kept in a key id (128 bits, 22 base64url characters).
const KEY_ID_BYTES: usize = 16;

/// A public key that verifies app tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PublicKey {
    Ed25519(ed25519_dalek::VerifyingKey),
    Rsa(rsa::RsaPublicKey),
}

fn jwt_err(what: &str) -> impl Fn(String) -> Error + '_ {
    move |e| Error::Jwt(format!("{what}: {e}"))
}

impl PublicKey {
    /// Reads an SPKI `PUBLIC KEY` PEM holding an Ed25519 or RSA key.
    pub(super) fn from_pem(pem: &str) -> Result<Self> {
        let spki = crate::pubkey::spki_from_pem(pem, "JWT public key")?;
        let der = spki
            .to_der()
            .map_err(|e| jwt_err("public key")(e.to_string()))?;
        match spki.algorithm.oid {
            ED25519 => ed25519_dalek::VerifyingKey::from_public_key_der(&der)
                .map(Self::Ed25519)
                .map_err(|e| jwt_err("Ed25519 public key")(e.to_string())),
            RSA_ENCRYPTION => {
                let key = rsa::RsaPublicKey::from_public_key_der(&der)
                    .map_err(|e| jwt_err("RSA public key")(e.to_string()))?;
                if key.size() < MIN_RSA_BYTES {
                    return Err(Error::Jwt("RSA keys must have 2048 bits or more".into()));
                }
                Ok(Self::Rsa(key))
            }
            other => Err(Error::Jwt(format!(
                "unsupported JWT key algorithm {other} (known: Ed25519, RSA)"
            ))),
        }
    }

    /// The algorithm tokens signed by this key use.
    pub(super) fn algorithm(&self) -> JwtAlgorithm {
        match self {
            Self::Ed25519(_) => JwtAlgorithm::Ed25519,
            Self::Rsa(_) => JwtAlgorithm::Rs256,
        }
    }

    /// The SPKI `PUBLIC KEY` PEM.
    pub(super) fn to_pem(&self) -> Result<String> {
        let le = der::pem::LineEnding::LF;
        match self {
            Self::Ed25519(key) => key.to_public_key_pem(le),
            Self::Rsa(key) => key.to_public_key_pem(le),
        }
        .map_err(|e| jwt_err("cannot encode the public key")(e.to_string()))
    }

    /// base64url of the first 16 bytes of the SHA-256 of the SPKI DER.
    pub(super) fn key_id(&self) -> Result<String> {
        let der = match self {
            Self::Ed25519(key) => key.to_public_key_der(),
            Self::Rsa(key) => key.to_public_key_der(),
        }
        .map_err(|e| jwt_err("cannot encode the public key")(e.to_string()))?;
        let digest = Sha256::digest(der.as_bytes());
        Ok(Base64UrlUnpadded::encode_string(&digest[..KEY_ID_BYTES]))
    }

    /// The key as a JWK (RFC 7517; Ed25519 as an RFC 8037 OKP key).
    pub(super) fn jwk(&self, key_id: &str) -> Value {
        let b64 = Base64UrlUnpadded::encode_string;
        match self {
            Self::Ed25519(key) => json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": b64(key.as_bytes()),
                "kid": key_id,
                "alg": JwtAlgorithm::Ed25519.jws_name(),
                "use": "sig",
            }),
            Self::Rsa(key) => json!({
                "kty": "RSA",
                "n": b64(&key.n().to_bytes_be()),
                "e": b64(&key.e().to_bytes_be()),
                "kid": key_id,
                "alg": JwtAlgorithm::Rs256.jws_name(),
                "use": "sig",
            }),
        }
    }

    /// Checks `signature` over `message`.
    pub(super) fn verify(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        let bad = |e: String| Error::Jwt(format!("bad token signature: {e}"));
        match self {
            Self::Ed25519(key) => {
                let signature = ed25519_dalek::Signature::from_slice(signature)
                    .map_err(|e| bad(e.to_string()))?;
                key.verify_strict(message, &signature)
                    .map_err(|e| bad(e.to_string()))
            }
            Self::Rsa(key) => key
                .verify(
                    Pkcs1v15Sign::new::<Sha256>(),
                    &Sha256::digest(message),
                    signature,
                )
                .map_err(|e| bad(e.to_string())),
        }
    }
}
