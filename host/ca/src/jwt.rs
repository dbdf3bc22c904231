//! JWT authorities: the keys that sign app-access tokens, their public JWK sets, and token
//! signing and verification.
//!
//! Tokens are compact JWS (RFC 7515) with header `{"alg","typ":"JWT","kid"}` and claims
//! `{"iss","sub","username","roles","aud","iat","nbf","exp"}` (times in Unix seconds, `sub`
//! equal to `username`, `aud` the app's URI, `nbf` one minute before `iat` to tolerate clock
//! differences). Keys are Ed25519 (`EdDSA`, the default) or RSA-2048 (`RS256`); the key id
//! `kid` is the base64url form of the first 16 bytes of the SHA-256 of the public key's SPKI
//! DER, so it is stable across exports and the same for the private and the public half.

use std::time::{Duration, SystemTime};

use pkcs8::{DecodePrivateKey, EncodePrivateKey, PrivateKeyInfo, SecretDocument};
use rand_core::OsRng;
use rsa::traits::PublicKeyParts;
use rsa::Pkcs1v15Sign;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use signature::Signer;
use zeroize::Zeroizing;

use crate::external::{expect_algorithm, ExternalAlgorithm, SharedKey};
use crate::pubkey::{ED25519, RSA_ENCRYPTION};
use crate::{Error, Result};

mod key;
mod token;

use key::{PublicKey, MIN_RSA_BYTES};

/// Bits of generated RSA JWT keys.
const RSA_BITS: usize = 2048;

/// The key algorithm of a JWT authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JwtAlgorithm {
    /// Ed25519, JWS algorithm `EdDSA` (the default).
    #[default]
    Ed25519,
    /// RSA-2048 with PKCS#1 v1.5 and SHA-256, JWS algorithm `RS256`.
    Rs256,
}

impl JwtAlgorithm {
    /// The JWS `alg` name: `EdDSA` or `RS256`.
    pub fn jws_name(self) -> &'static str {
        match self {
            Self::Ed25519 => "EdDSA",
            Self::Rs256 => "RS256",
        }
    }
}

impl std::str::FromStr for JwtAlgorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "ed25519" => Ok(Self::Ed25519),
            "rs256" => Ok(Self::Rs256),
            other => Err(Error::Jwt(format!(
                "unknown JWT key algorithm `{other}` (known: ed25519, rs256)"
            ))),
        }
    }
}

/// What an app token says about its holder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppTokenClaims {
    /// The user the token speaks for (`sub` and `username`).
    pub username: String,
    /// The user's roles (`roles`).
    pub roles: Vec<String>,
    /// The app's URI, the token's audience (`aud`).
    pub uri: String,
    /// Who issued the token, e.g. the cluster name (`iss`).
    pub issuer: String,
}

/// A private key that signs JWTs. Zeroized on drop (`ed25519-dalek` and `rsa` zeroize their
/// keys; the PEM copy is held in [`Zeroizing`]).
enum PrivateKey {
    Ed25519(Box<ed25519_dalek::SigningKey>),
    Rsa(Box<rsa::RsaPrivateKey>),
    /// An Ed25519 key held outside the process.
    External(SharedKey),
}

/// A JWT signing authority: one key pair.
pub struct JwtAuthority {
    key: PrivateKey,
    public: PublicKey,
    /// `None` when the key is held outside the process.
    private_pem: Option<Zeroizing<String>>,
    public_pem: String,
    key_id: String,
}

impl std::fmt::Debug for JwtAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuthority")
            .field("algorithm", &self.algorithm())
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

fn jwt_err(what: &str) -> impl Fn(String) -> Error + '_ {
    move |e| Error::Jwt(format!("{what}: {e}"))
}

impl JwtAuthority {
    /// Generates a new key pair.
    pub fn generate(algorithm: JwtAlgorithm) -> Result<Self> {
        let key = match algorithm {
            JwtAlgorithm::Ed25519 => {
                PrivateKey::Ed25519(Box::new(ed25519_dalek::SigningKey::generate(&mut OsRng)))
            }
            JwtAlgorithm::Rs256 => PrivateKey::Rsa(Box::new(
                rsa::RsaPrivateKey::new(&mut OsRng, RSA_BITS)
                    .map_err(|e| jwt_err("cannot generate an RSA key")(e.to_string()))?,
            )),
        };
        Self::from_memory(key)
    }

    /// Loads an authority from its PKCS#8 `PRIVATE KEY` PEM (Ed25519 or RSA of 2048 bits or
    /// more); the algorithm follows from the key.
    pub fn from_pem(private_key_pem: &str) -> Result<Self> {
        let pem_err = |reason: String| Error::Pem {
            what: "JWT private key",
            reason,
        };
        let (label, doc) =
            SecretDocument::from_pem(private_key_pem.trim()).map_err(|e| pem_err(e.to_string()))?;
        if label != "PRIVATE KEY" {
            return Err(pem_err(format!(
                "expected a PKCS#8 PRIVATE KEY, found {label}"
            )));
        }
        let info = PrivateKeyInfo::try_from(doc.as_bytes()).map_err(|e| pem_err(e.to_string()))?;
        let key = match info.algorithm.oid {
            ED25519 => ed25519_dalek::SigningKey::from_pkcs8_der(doc.as_bytes())
                .map(|k| PrivateKey::Ed25519(Box::new(k)))
                .map_err(|e| pem_err(format!("Ed25519: {e}")))?,
            RSA_ENCRYPTION => {
                let key = rsa::RsaPrivateKey::from_pkcs8_der(doc.as_bytes())
                    .map_err(|e| pem_err(format!("RSA: {e}")))?;
                if key.size() < MIN_RSA_BYTES {
                    return Err(Error::Jwt("RSA keys must have 2048 bits or more".into()));
                }
                PrivateKey::Rsa(Box::new(key))
            }
            other => {
                return Err(pem_err(format!(
                    "unsupported JWT key algorithm {other} (known: Ed25519, RSA)"
                )))
            }
        };
        Self::from_memory(key)
    }

    /// An authority whose Ed25519 key is held outside the process: every token is signed by
    /// `key` (`EdDSA`).
    pub fn from_external(key: SharedKey) -> Result<Self> {
        expect_algorithm(key.as_ref(), ExternalAlgorithm::Ed25519, "a JWT authority")?;
        let raw: [u8; 32] = key.public_key().try_into().map_err(|_| {
            Error::Jwt(format!(
                "{}: an Ed25519 public key has 32 bytes, not {}",
                key.describe(),
                key.public_key().len()
            ))
        })?;
        let public = ed25519_dalek::VerifyingKey::from_bytes(&raw)
            .map_err(|e| jwt_err("invalid Ed25519 public key")(e.to_string()))?;
        Self::from_key(PrivateKey::External(key), PublicKey::Ed25519(public))
    }

    fn from_memory(key: PrivateKey) -> Result<Self> {
        let public = match &key {
            PrivateKey::Ed25519(k) => PublicKey::Ed25519(k.verifying_key()),
            PrivateKey::Rsa(k) => PublicKey::Rsa(k.to_public_key()),
            PrivateKey::External(_) => {
                return Err(Error::Jwt("an external key has no key in memory".into()))
            }
        };
        Self::from_key(key, public)
    }

    fn from_key(key: PrivateKey, public: PublicKey) -> Result<Self> {
        let le = der::pem::LineEnding::LF;
        let private_pem = match &key {
            PrivateKey::Ed25519(k) => Some(k.to_pkcs8_pem(le)),
            PrivateKey::Rsa(k) => Some(k.to_pkcs8_pem(le)),
            PrivateKey::External(_) => None,
        };
        let private_pem = private_pem
            .transpose()
            .map_err(|e| jwt_err("cannot encode the private key")(e.to_string()))?;
        Ok(Self {
            public_pem: public.to_pem()?,
            key_id: public.key_id()?,
            key,
            public,
            private_pem,
        })
    }

    /// The key algorithm.
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.public.algorithm()
    }

    /// The private key as PKCS#8 `PRIVATE KEY` PEM, unless it is held outside the process.
    /// Handle with care.
    pub fn private_key_pem(&self) -> Option<Zeroizing<String>> {
        self.private_pem.clone()
    }

    /// The public key as SPKI `PUBLIC KEY` PEM.
    pub fn public_key_pem(&self) -> String {
        self.public_pem.clone()
    }

    /// The key id (`kid`): base64url of the first 16 bytes of the SHA-256 of the SPKI DER.
    pub fn key_id(&self) -> String {
        self.key_id.clone()
    }

    /// The public key as a JWK with `kid`, `alg` and `use: "sig"`.
    pub fn jwk(&self) -> Value {
        self.public.jwk(&self.key_id)
    }

    /// Signs an app token for `claims`, valid from a minute before `now` until `now + ttl`.
    pub fn sign_app_token(
        &self,
        claims: &AppTokenClaims,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<String> {
        let header = token::Header {
            alg: self.algorithm().jws_name().into(),
            typ: Some("JWT".into()),
            kid: Some(self.key_id.clone()),
        };
        let input = token::signing_input(&header, claims, now, ttl)?;
        let signature = match &self.key {
            PrivateKey::Ed25519(k) => k
                .try_sign(input.as_bytes())
                .map(|s| s.to_bytes().to_vec())
                .map_err(|e| e.to_string()),
            PrivateKey::Rsa(k) => k
                .sign_with_rng(
                    &mut OsRng,
                    Pkcs1v15Sign::new::<Sha256>(),
                    &Sha256::digest(input.as_bytes()),
                )
                .map_err(|e| e.to_string()),
            PrivateKey::External(k) => k.sign(input.as_bytes()).map_err(|e| e.to_string()),
        }
        .map_err(jwt_err("cannot sign the token"))?;
        Ok(token::finish(input, &signature))
    }
}

/// Builds a JWK set `{"keys":[...]}` from SPKI `PUBLIC KEY` PEMs (Ed25519 or RSA), e.g. the
/// current and the previous key during a rotation. Duplicate keys appear once.
pub fn jwks_from_public_pems(pems: &[&str]) -> Result<Value> {
    let mut keys = Vec::with_capacity(pems.len());
    let mut seen = Vec::with_capacity(pems.len());
    for pem in pems {
        let key = PublicKey::from_pem(pem)?;
        let key_id = key.key_id()?;
        if !seen.contains(&key_id) {
            keys.push(key.jwk(&key_id));
            seen.push(key_id);
        }
    }
    Ok(json!({ "keys": keys }))
}

/// Verifies an app token against an SPKI `PUBLIC KEY` PEM: its algorithm must match the
/// key, its signature must hold, and `now` must lie in `[nbf, exp)`. Returns its claims; the
/// caller checks the audience (`uri`) and issuer it expects.
pub fn verify_app_token(
    token: &str,
    public_key_pem: &str,
    now: SystemTime,
) -> Result<AppTokenClaims> {
    let key = PublicKey::from_pem(public_key_pem)?;
    token::verify(token, &key, now)
}

/// The key id (`kid`) in a token's header, read without verifying anything: use it only to
/// pick which public key to verify with (e.g. during a rotation).
pub fn app_token_key_id(token: &str) -> Result<Option<String>> {
    Ok(token::header(token)?.kid)
}

#[cfg(test)]
mod tests;
