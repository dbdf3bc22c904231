//! Public keys a client presents for signing, in whichever form it has them.
//!
//! One key pair can be signed into both an SSH certificate and a TLS client certificate:
//! [`SubjectKey::from_any`] reads an OpenSSH `authorized_keys` line (or SPKI DER/PEM) once
//! into the checked key that [`crate::TlsAuthority::issue_client_cert`] takes.

use const_oid::ObjectIdentifier;
use der::{Decode, Encode, EncodePem};
use spki::{DecodePublicKey, EncodePublicKey, SubjectPublicKeyInfoOwned};
use ssh_key::public::KeyData;

use crate::{Error, Result};

/// `id-Ed25519` (RFC 8410).
pub(crate) const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// `id-ecPublicKey` (RFC 5480).
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `rsaEncryption` (RFC 8017).
pub(crate) const RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

fn key_err(what: &str) -> impl Fn(String) -> Error + '_ {
    move |e| Error::PublicKey(format!("{what}: {e}"))
}

/// Refuses RSA keys shorter than 2048 bits.
fn check_rsa_size(key: &rsa::RsaPublicKey) -> Result<()> {
    if rsa::traits::PublicKeyParts::size(key) < 256 {
        return Err(Error::PublicKey(
            "RSA keys must have 2048 bits or more".into(),
        ));
    }
    Ok(())
}

/// Checks that `spki` is a well-formed Ed25519, ECDSA P-256 or RSA (2048 bits or more) key.
pub(crate) fn check_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<()> {
    let der = spki
        .to_der()
        .map_err(|e| key_err("cannot encode")(e.to_string()))?;
    match spki.algorithm.oid {
        ED25519 => ed25519_dalek::VerifyingKey::from_public_key_der(&der)
            .map(drop)
            .map_err(|e| key_err("Ed25519")(e.to_string())),
        EC_PUBLIC_KEY => p256::PublicKey::from_public_key_der(&der)
            .map(drop)
            .map_err(|e| key_err("only NIST P-256 EC keys are accepted")(e.to_string())),
        RSA_ENCRYPTION => {
            let key = rsa::RsaPublicKey::from_public_key_der(&der)
                .map_err(|e| key_err("RSA")(e.to_string()))?;
            check_rsa_size(&key)
        }
        other => Err(Error::PublicKey(format!(
            "unsupported key algorithm {other} (known: Ed25519, ECDSA P-256, RSA)"
        ))),
    }
}

/// Reads an SPKI `PUBLIC KEY` PEM (`what` in errors). The PEM is decoded to DER before
/// the DER is parsed: the `der` crate's streaming PEM reader loops forever on a DER length
/// that runs past the end (`MIOE`, found by fuzzing), its slice reader refuses it.
pub(crate) fn spki_from_pem(pem: &str, what: &'static str) -> Result<SubjectPublicKeyInfoOwned> {
    let pem_err = |reason: String| Error::Pem { what, reason };
    let (label, der) =
        der::pem::decode_vec(pem.trim().as_bytes()).map_err(|e| pem_err(e.to_string()))?;
    if label != "PUBLIC KEY" {
        return Err(pem_err(format!(
            "expected a `PUBLIC KEY` block, found `{label}`"
        )));
    }
    SubjectPublicKeyInfoOwned::from_der(&der).map_err(|e| pem_err(e.to_string()))
}

/// A client's public key, parsed and checked once (Ed25519, ECDSA P-256, or RSA of 2048 bits
/// or more), ready to be certified by [`crate::TlsAuthority::issue_client_cert`] without
/// being parsed or checked again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectKey(SubjectPublicKeyInfoOwned);

impl SubjectKey {
    /// Reads a PEM `PUBLIC KEY` (SPKI) and checks it is a supported key.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let spki = spki_from_pem(pem, "public key")?;
        check_spki(&spki)?;
        Ok(Self(spki))
    }

    /// Reads a public key given as SPKI PEM, SPKI DER or an OpenSSH `authorized_keys` line
    /// (`ssh-ed25519`, `ecdsa-sha2-nistp256` or `ssh-rsa`, with an optional comment; options
    /// before the key type are not accepted), and checks it.
    pub fn from_any(input: &[u8]) -> Result<Self> {
        if let Ok(text) = std::str::from_utf8(input) {
            let text = text.trim();
            if text.starts_with("-----BEGIN") {
                return Self::from_pem(text);
            }
            if text.starts_with("ssh-") || text.starts_with("ecdsa-") {
                return Self::from_openssh(text);
            }
        }
        let spki = SubjectPublicKeyInfoOwned::from_der(input).map_err(|e| {
            Error::PublicKey(format!(
                "not an SPKI PEM, SPKI DER or OpenSSH public key: {e}"
            ))
        })?;
        check_spki(&spki)?;
        Ok(Self(spki))
    }

    /// Converts an OpenSSH public key, checking it as it is decoded (once).
    fn from_openssh(line: &str) -> Result<Self> {
        let key = ssh_key::PublicKey::from_openssh(line)
            .map_err(|e| key_err("OpenSSH public key")(e.to_string()))?;
        let der = match key.key_data() {
            KeyData::Ed25519(pk) => ed25519_dalek::VerifyingKey::from_bytes(&pk.0)
                .map_err(|e| key_err("Ed25519")(e.to_string()))?
                .to_public_key_der(),
            KeyData::Ecdsa(ssh_key::public::EcdsaPublicKey::NistP256(point)) => {
                p256::PublicKey::from_sec1_bytes(point.as_bytes())
                    .map_err(|e| key_err("ECDSA P-256")(e.to_string()))?
                    .to_public_key_der()
            }
            KeyData::Rsa(pk) => {
                let key =
                    rsa::RsaPublicKey::try_from(pk).map_err(|e| key_err("RSA")(e.to_string()))?;
                check_rsa_size(&key)?;
                key.to_public_key_der()
            }
            _ => {
                return Err(Error::PublicKey(format!(
            "unsupported OpenSSH key type `{}` (known: ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa)",
            key.algorithm()
        )))
            }
        };
        let der = der.map_err(|e| key_err("cannot encode")(e.to_string()))?;
        let spki = SubjectPublicKeyInfoOwned::from_der(der.as_bytes())
            .map_err(|e| key_err("cannot encode")(e.to_string()))?;
        Ok(Self(spki))
    }

    /// The key as a PEM `PUBLIC KEY`.
    pub fn to_pem(&self) -> Result<String> {
        spki_to_pem(&self.0)
    }

    /// The key's SPKI.
    pub(crate) fn spki(&self) -> &SubjectPublicKeyInfoOwned {
        &self.0
    }
}

/// PEM encoding of an SPKI.
pub(crate) fn spki_to_pem(spki: &SubjectPublicKeyInfoOwned) -> Result<String> {
    spki.to_pem(spki::der::pem::LineEnding::LF)
        .map_err(|e| key_err("cannot encode")(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public_key_pem_from_any(input: &[u8]) -> Result<String> {
        SubjectKey::from_any(input)?.to_pem()
    }
    use rand_core::OsRng;
    use ssh_key::{Algorithm, EcdsaCurve, PrivateKey};

    #[test]
    fn openssh_spki_der_and_pem_agree() {
        for alg in [
            Algorithm::Ed25519,
            Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP256,
            },
        ] {
            let key = PrivateKey::random(&mut OsRng, alg).unwrap();
            let line = key.public_key().to_openssh().unwrap();
            let pem = public_key_pem_from_any(format!("{line} me@host\n").as_bytes()).unwrap();
            assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
            assert_eq!(public_key_pem_from_any(pem.as_bytes()).unwrap(), pem);
            let der = spki_from_pem(&pem, "test").unwrap().to_der().unwrap();
            assert_eq!(public_key_pem_from_any(&der).unwrap(), pem);
        }
    }

    #[test]
    fn truncated_pem_lengths_are_refused_not_looped_on() {
        // Found by fuzzing: `der`'s streaming PEM reader never returned on these.
        for body in ["MQ==", "MIOE"] {
            let pem = format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n");
            let err = SubjectKey::from_pem(&pem).unwrap_err();
            assert!(matches!(err, Error::Pem { .. }), "{err}");
        }
        let err = spki_from_pem(
            "-----BEGIN CERTIFICATE-----\nMQ==\n-----END CERTIFICATE-----\n",
            "k",
        );
        assert!(err.unwrap_err().to_string().contains("`CERTIFICATE`"));
    }

    #[test]
    fn rsa_openssh_keys_convert() {
        let rsa = rsa::RsaPrivateKey::new(&mut OsRng, 2048).unwrap();
        let ssh = ssh_key::public::RsaPublicKey::try_from(rsa.to_public_key()).unwrap();
        let line = ssh_key::PublicKey::from(ssh).to_openssh().unwrap();
        let pem = public_key_pem_from_any(line.as_bytes()).unwrap();
        let back = rsa::RsaPublicKey::from_public_key_pem(&pem).unwrap();
        assert_eq!(back, rsa.to_public_key());
    }

    #[test]
    fn short_rsa_keys_are_refused_in_every_form() {
        let rsa = rsa::RsaPrivateKey::new(&mut OsRng, 1024).unwrap();
        let ssh = ssh_key::public::RsaPublicKey::try_from(rsa.to_public_key()).unwrap();
        let line = ssh_key::PublicKey::from(ssh).to_openssh().unwrap();
        let der = rsa.to_public_key().to_public_key_der().unwrap();
        for input in [line.as_bytes(), der.as_bytes()] {
            let err = SubjectKey::from_any(input).unwrap_err();
            assert!(err.to_string().contains("RSA"), "{err}");
        }
    }

    #[test]
    fn garbage_is_refused() {
        for input in [
            &b"nope"[..],
            b"ssh-ed25519 AAAA",
            b"-----BEGIN PUBLIC KEY-----\n",
        ] {
            assert!(public_key_pem_from_any(input).is_err());
        }
    }
}
