//! Authority keys held outside this process (a PKCS#11 token, for instance): the store then
//! keeps only the public key and a handle, and every signature is asked of the key's holder.
//!
//! An [`ExternalKey`] is Ed25519 or ECDSA P-256, the algorithms common tokens can generate
//! and sign with. The authorities built on one ([`crate::TlsAuthority::generate_external`],
//! [`crate::SshAuthority::from_external`], [`crate::JwtAuthority::from_external`]) sign
//! exactly as they do with a key in memory; they just have no private key to export.

use std::sync::Arc;

use crate::{Error, Result};

/// The algorithm of an external key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternalAlgorithm {
    /// Ed25519 (pure EdDSA).
    Ed25519,
    /// ECDSA on NIST P-256 with SHA-256.
    EcdsaP256,
}

impl std::fmt::Display for ExternalAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Ed25519 => "Ed25519",
            Self::EcdsaP256 => "ECDSA P-256",
        })
    }
}

/// A signing key whose private half this process never sees.
pub trait ExternalKey: Send + Sync {
    /// The key's algorithm.
    fn algorithm(&self) -> ExternalAlgorithm;

    /// The public key: 32 bytes for Ed25519, the uncompressed SEC1 point (65 bytes) for P-256.
    fn public_key(&self) -> &[u8];

    /// Signs `message`: for Ed25519 the 64-byte signature of the message itself, for P-256
    /// ECDSA over the SHA-256 of the message as `r || s` (32 bytes each).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>>;

    /// Where the key lives, for logs and errors (no secret in it).
    fn describe(&self) -> String;
}

/// An external key shared by the authorities that sign with it.
pub type SharedKey = Arc<dyn ExternalKey>;

/// Checks that `key` has the algorithm `want` (for the message: `what` authority).
pub(crate) fn expect_algorithm(
    key: &dyn ExternalKey,
    want: ExternalAlgorithm,
    what: &str,
) -> Result<()> {
    if key.algorithm() == want {
        return Ok(());
    }
    Err(Error::Signing(format!(
        "{what} needs an {want} key, but {} is {}",
        key.describe(),
        key.algorithm()
    )))
}

/// Converts a P-256 `r || s` signature to DER (`ECDSA-Sig-Value`, as X.509 carries it).
pub(crate) fn p256_fixed_to_der(fixed: &[u8]) -> Result<Vec<u8>> {
    let sig = p256::ecdsa::Signature::from_slice(fixed).map_err(|e| {
        Error::Signing(format!("malformed P-256 signature from the key store: {e}"))
    })?;
    Ok(sig.to_der().as_bytes().to_vec())
}

/// Test keys held in memory behind the [`ExternalKey`] interface, to check the external
/// paths of the authorities without a token.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use signature::Signer;

    pub(crate) struct MemoryKey {
        algorithm: ExternalAlgorithm,
        ed25519: Option<ed25519_dalek::SigningKey>,
        p256: Option<p256::ecdsa::SigningKey>,
        public: Vec<u8>,
    }

    impl MemoryKey {
        pub(crate) fn shared(algorithm: ExternalAlgorithm) -> SharedKey {
            let mut rng = rand_core::OsRng;
            let key = match algorithm {
                ExternalAlgorithm::Ed25519 => {
                    let k = ed25519_dalek::SigningKey::generate(&mut rng);
                    Self {
                        algorithm,
                        public: k.verifying_key().as_bytes().to_vec(),
                        ed25519: Some(k),
                        p256: None,
                    }
                }
                ExternalAlgorithm::EcdsaP256 => {
                    let k = p256::ecdsa::SigningKey::random(&mut rng);
                    Self {
                        algorithm,
                        public: k
                            .verifying_key()
                            .to_encoded_point(false)
                            .as_bytes()
                            .to_vec(),
                        ed25519: None,
                        p256: Some(k),
                    }
                }
            };
            Arc::new(key)
        }
    }

    impl ExternalKey for MemoryKey {
        fn algorithm(&self) -> ExternalAlgorithm {
            self.algorithm
        }
        fn public_key(&self) -> &[u8] {
            &self.public
        }
        fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
            if let Some(k) = &self.ed25519 {
                return Ok(k.sign(message).to_bytes().to_vec());
            }
            let Some(k) = &self.p256 else {
                return Err(Error::Signing("no key".into()));
            };
            let sig: p256::ecdsa::Signature = k.sign(message);
            Ok(sig.to_bytes().to_vec())
        }
        fn describe(&self) -> String {
            "an in-memory test key".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::testing::MemoryKey;
    use super::*;
    use crate::{AppTokenClaims, JwtAuthority, SshAuthority, TlsAuthority, UserCertRequest};

    const DAY: Duration = Duration::from_secs(24 * 3600);

    #[test]
    fn tls_authorities_sign_with_an_external_key_and_load_back() {
        let now = SystemTime::now();
        let key = MemoryKey::shared(ExternalAlgorithm::EcdsaP256);
        let ca =
            TlsAuthority::generate_external("example", "user ca", now, DAY, key.clone()).unwrap();
        assert!(ca.key_pem().is_none());
        let issued = ca
            .issue_server_cert("auth", &["localhost".into()], &[], now, DAY)
            .unwrap();
        let ca_der = crate::x509::first_cert_der(ca.cert_pem(), "ca").unwrap();
        let leaf_der = crate::x509::first_cert_der(&issued.cert_pem, "leaf").unwrap();
        let (_, ca_cert) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
        let (_, leaf) = x509_parser::parse_x509_certificate(&leaf_der).unwrap();
        ca_cert.verify_signature(None).unwrap();
        leaf.verify_signature(Some(ca_cert.public_key())).unwrap();

        let again = TlsAuthority::from_external(ca.cert_pem(), key).unwrap();
        assert_eq!(again.key_id(), ca.key_id());
        let other = MemoryKey::shared(ExternalAlgorithm::EcdsaP256);
        let err = TlsAuthority::from_external(ca.cert_pem(), other).unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
        let ed = MemoryKey::shared(ExternalAlgorithm::Ed25519);
        let err = TlsAuthority::generate_external("e", "c", now, DAY, ed).unwrap_err();
        assert!(
            err.to_string().contains("needs an ECDSA P-256 key"),
            "{err}"
        );
    }

    #[test]
    fn ssh_authorities_sign_with_external_keys_of_both_algorithms() {
        let now = SystemTime::now();
        let unix = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let subject =
            ssh_key::PrivateKey::random(&mut rand_core::OsRng, ssh_key::Algorithm::Ed25519)
                .unwrap();
        for algorithm in [ExternalAlgorithm::Ed25519, ExternalAlgorithm::EcdsaP256] {
            let ca = SshAuthority::from_external(MemoryKey::shared(algorithm)).unwrap();
            assert!(ca.is_external());
            assert!(ca.private_key_openssh().is_err());
            let cert = ca
                .sign_user_cert(
                    &UserCertRequest {
                        public_key: subject.public_key().to_openssh().unwrap(),
                        key_id: "alice".into(),
                        principals: vec!["alice".into()],
                        ttl: DAY,
                        ..Default::default()
                    },
                    now,
                )
                .unwrap();
            let parsed = ssh_key::Certificate::from_openssh(&cert).unwrap();
            let ca_key =
                ssh_key::PublicKey::from_openssh(&ca.public_key_openssh().unwrap()).unwrap();
            parsed
                .validate_at(unix, [&ca_key.fingerprint(ssh_key::HashAlg::Sha256)])
                .unwrap_or_else(|e| panic!("{algorithm}: {e}"));
        }
    }

    #[test]
    fn jwt_authorities_sign_with_an_external_ed25519_key_only() {
        let now = SystemTime::now();
        let ca =
            JwtAuthority::from_external(MemoryKey::shared(ExternalAlgorithm::Ed25519)).unwrap();
        assert!(ca.private_key_pem().is_none());
        let claims = AppTokenClaims {
            username: "alice".into(),
            roles: vec!["dev".into()],
            uri: "https://app.example".into(),
            issuer: "example".into(),
        };
        let token = ca.sign_app_token(&claims, now, DAY).unwrap();
        let read = crate::verify_app_token(&token, &ca.public_key_pem(), now).unwrap();
        assert_eq!(read, claims);
        let Err(err) = JwtAuthority::from_external(MemoryKey::shared(ExternalAlgorithm::EcdsaP256))
        else {
            panic!("a P-256 JWT key was accepted");
        };
        assert!(err.to_string().contains("needs an Ed25519 key"), "{err}");
    }
}
