//! A key in the token, signing for the authorities.

use std::sync::Arc;

use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectHandle};
use portcullis_ca::{ExternalAlgorithm, ExternalKey};
use sha2::{Digest, Sha256};

use crate::{HsmError, KeyHandle, Result, Token};

/// `CKA_EC_PARAMS` of P-256 keys: the DER of the OID prime256v1 (1.2.840.10045.3.1.7).
pub(crate) const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// `CKA_EC_PARAMS` of Ed25519 keys: the DER of the OID id-Ed25519 (1.3.101.112).
pub(crate) const ED25519_PARAMS: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];

/// Bytes of the public key: Ed25519 32, P-256 uncompressed 65.
fn public_len(algorithm: ExternalAlgorithm) -> usize {
    match algorithm {
        ExternalAlgorithm::Ed25519 => 32,
        ExternalAlgorithm::EcdsaP256 => 65,
    }
}

/// A private key in a token, with its public key.
pub struct TokenKey {
    token: Arc<Token>,
    handle: KeyHandle,
    object: ObjectHandle,
    algorithm: ExternalAlgorithm,
    public: Vec<u8>,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKey")
            .field("handle", &self.handle.to_uri())
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl TokenKey {
    /// A key whose public object's `CKA_EC_POINT` is `point` (the raw point, or the DER
    /// OCTET STRING around it, as most tokens return it).
    pub(crate) fn new(
        token: Arc<Token>,
        handle: KeyHandle,
        object: ObjectHandle,
        algorithm: ExternalAlgorithm,
        point: &[u8],
    ) -> Result<Self> {
        let want = public_len(algorithm);
        let public = match point {
            raw if raw.len() == want => raw.to_vec(),
            [0x04, len, rest @ ..] if usize::from(*len) == want && rest.len() == want => {
                rest.to_vec()
            }
            other => {
                return Err(HsmError::KeyKind {
                    handle: handle.to_uri(),
                    reason: format!("a {algorithm} public point of {} bytes", other.len()),
                })
            }
        };
        Ok(Self {
            token,
            handle,
            object,
            algorithm,
            public,
        })
    }

    /// Where the key lives (stored in place of the private key).
    pub fn handle(&self) -> &KeyHandle {
        &self.handle
    }

    /// Whether the token keeps the private key from ever leaving it: `CKA_SENSITIVE` and
    /// `CKA_ALWAYS_SENSITIVE` true, `CKA_EXTRACTABLE` false and `CKA_NEVER_EXTRACTABLE` true.
    pub fn is_locked_in(&self) -> Result<bool> {
        let attributes = self
            .token
            .in_session("reading a key's attributes", |session| {
                session.get_attributes(
                    self.object,
                    &[
                        AttributeType::Sensitive,
                        AttributeType::AlwaysSensitive,
                        AttributeType::Extractable,
                        AttributeType::NeverExtractable,
                    ],
                )
            })?;
        let mut locked = attributes.len() == 4;
        for attribute in attributes {
            locked &= match attribute {
                Attribute::Sensitive(on)
                | Attribute::AlwaysSensitive(on)
                | Attribute::NeverExtractable(on) => on,
                Attribute::Extractable(on) => !on,
                _ => false,
            };
        }
        Ok(locked)
    }

    /// Signs as [`ExternalKey::sign`] describes.
    pub fn sign_raw(&self, message: &[u8]) -> Result<Vec<u8>> {
        match self.algorithm {
            ExternalAlgorithm::Ed25519 => self.token.sign(
                &Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
                self.object,
                message,
            ),
            ExternalAlgorithm::EcdsaP256 => {
                self.token
                    .sign(&Mechanism::Ecdsa, self.object, &Sha256::digest(message))
            }
        }
    }
}

impl ExternalKey for TokenKey {
    fn algorithm(&self) -> ExternalAlgorithm {
        self.algorithm
    }

    fn public_key(&self) -> &[u8] {
        &self.public
    }

    fn sign(&self, message: &[u8]) -> portcullis_ca::Result<Vec<u8>> {
        self.sign_raw(message)
            .map_err(|e| portcullis_ca::Error::Signing(e.to_string()))
    }

    fn describe(&self) -> String {
        format!("the PKCS#11 key `{}`", self.handle.to_uri())
    }
}
