//! TLS certificate authorities and the certificates they issue.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use rand::RngCore;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
    SubjectPublicKeyInfo, PKCS_ECDSA_P256_SHA256,
};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::identity::{Identity, IDENTITY_EXTENSION_OID};
use crate::{Error, Result};

/// How long a server certificate issued at start-up stays valid.
pub const SERVER_CERT_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

/// How far back `not_before` is set, to tolerate small clock differences between hosts.
const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// A certificate and, when the authority generated the key pair, its private key.
#[derive(Debug)]
pub struct IssuedCert {
    /// The certificate, PEM-encoded.
    pub cert_pem: String,
    /// The private key, PEM-encoded (PKCS#8), if it was generated here.
    pub key_pem: Option<Zeroizing<String>>,
}

/// A TLS certificate authority: a self-signed CA certificate and its signing key.
pub struct TlsAuthority {
    cert_pem: String,
    key_pem: Zeroizing<String>,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for TlsAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsAuthority")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

impl TlsAuthority {
    /// Generates a new authority whose certificate names `organization` (the cluster) and
    /// `common_name`, valid from `now` for `ttl`.
    pub fn generate(
        organization: &str,
        common_name: &str,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<Self> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = base_params(now, ttl)?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, organization);
        dn.push(DnType::CommonName, common_name);
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key)?;
        let key_pem = Zeroizing::new(key.serialize_pem());
        Ok(Self {
            cert_pem: cert.pem(),
            key_pem,
            issuer: Issuer::new(params, key),
        })
    }

    /// Loads an authority from its PEM certificate and PEM private key.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self> {
        let key = KeyPair::from_pem(key_pem).map_err(|e| Error::Pem {
            what: "certificate authority key",
            reason: e.to_string(),
        })?;
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key).map_err(|e| Error::Pem {
            what: "certificate authority certificate",
            reason: e.to_string(),
        })?;
        Ok(Self {
            cert_pem: cert_pem.to_owned(),
            key_pem: Zeroizing::new(key_pem.to_owned()),
            issuer,
        })
    }

    /// The CA certificate, PEM-encoded.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA private key, PEM-encoded. Handle with care: it is the cluster's trust root.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// SHA-256 fingerprint of the CA certificate (`SHA256:` followed by colon-separated hex).
    pub fn fingerprint(&self) -> String {
        fingerprint_pem(&self.cert_pem).unwrap_or_else(|_| "unknown".into())
    }

    /// Issues a server certificate for a freshly generated key pair, valid for the given DNS
    /// names and IP addresses.
    pub fn issue_server_cert(
        &self,
        common_name: &str,
        dns_names: &[String],
        ips: &[IpAddr],
        now: SystemTime,
        ttl: Duration,
    ) -> Result<IssuedCert> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = base_params(now, ttl)?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, common_name);
        params.distinguished_name = dn;
        for name in dns_names {
            let name = name.as_str().try_into().map_err(|_| {
                Error::Certificate(format!(
                    "`{name}` is not a valid DNS name for a certificate"
                ))
            })?;
            params.subject_alt_names.push(SanType::DnsName(name));
        }
        params
            .subject_alt_names
            .extend(ips.iter().copied().map(SanType::IpAddress));
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(IssuedCert {
            cert_pem: cert.pem(),
            key_pem: Some(Zeroizing::new(key.serialize_pem())),
        })
    }

    /// Issues a client certificate carrying `identity`. With `public_key_pem` (a PEM
    /// `PUBLIC KEY`) the certificate is for that key; without it a key pair is generated and
    /// returned with the certificate.
    pub fn issue_client_cert(
        &self,
        identity: &Identity,
        public_key_pem: Option<&str>,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<IssuedCert> {
        let mut params = base_params(now, ttl)?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, identity.username.as_str());
        if !identity.roles.is_empty() {
            dn.push(DnType::OrganizationName, identity.roles.join(","));
        }
        if !identity.logins.is_empty() {
            dn.push(DnType::LocalityName, identity.logins.join(","));
        }
        params.distinguished_name = dn;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.custom_extensions = vec![CustomExtension::from_oid_content(
            IDENTITY_EXTENSION_OID,
            identity.to_extension_content()?,
        )];
        match public_key_pem {
            Some(pem) => {
                let public_key = SubjectPublicKeyInfo::from_pem(pem).map_err(|e| Error::Pem {
                    what: "public key",
                    reason: e.to_string(),
                })?;
                let cert = params.signed_by(&public_key, &self.issuer)?;
                Ok(IssuedCert {
                    cert_pem: cert.pem(),
                    key_pem: None,
                })
            }
            None => {
                let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
                let cert = params.signed_by(&key, &self.issuer)?;
                Ok(IssuedCert {
                    cert_pem: cert.pem(),
                    key_pem: Some(Zeroizing::new(key.serialize_pem())),
                })
            }
        }
    }
}

/// SHA-256 fingerprint of the first certificate in a PEM document.
pub fn fingerprint_pem(pem: &str) -> Result<String> {
    let (_, doc) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).map_err(|e| Error::Pem {
        what: "certificate",
        reason: e.to_string(),
    })?;
    let digest = Sha256::digest(&doc.contents);
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    Ok(format!("SHA256:{}", hex.join(":")))
}

/// Parameters shared by every certificate: a random serial number and the validity window.
fn base_params(now: SystemTime, ttl: Duration) -> Result<CertificateParams> {
    if ttl.is_zero() {
        return Err(Error::Validity("time to live must be positive".into()));
    }
    let mut params = CertificateParams::default();
    let not_before = now.checked_sub(CLOCK_SKEW).unwrap_or(now);
    let not_after = now
        .checked_add(ttl)
        .ok_or_else(|| Error::Validity("time to live is too long".into()))?;
    params.not_before = OffsetDateTime::from(not_before);
    params.not_after = OffsetDateTime::from(not_after);
    let mut serial = [0u8; 16];
    rand::rng().fill_bytes(&mut serial);
    serial[0] &= 0x7f;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem_der(pem: &str) -> Vec<u8> {
        x509_parser::pem::parse_x509_pem(pem.as_bytes())
            .unwrap()
            .1
            .contents
    }

    #[test]
    fn client_cert_round_trips_identity() {
        let now = SystemTime::now();
        let ca =
            TlsAuthority::generate("example", "user ca", now, Duration::from_secs(3600)).unwrap();
        let mut id = Identity::new("alice", vec!["dba".into(), "dev,ops".into()]);
        id.logins = vec!["root".into()];
        id.traits.insert("team".into(), vec!["dba".into()]);
        let issued = ca
            .issue_client_cert(&id, None, now, Duration::from_secs(600))
            .unwrap();
        assert!(issued.key_pem.is_some());
        let back = Identity::from_certificate_der(&pem_der(&issued.cert_pem)).unwrap();
        assert_eq!(back.username, "alice");
        assert_eq!(back.roles, id.roles);
        assert_eq!(back.traits, id.traits);
        let expires = back.expires.unwrap();
        let left = expires.duration_since(now).unwrap();
        assert!(left <= Duration::from_secs(600) && left >= Duration::from_secs(598));
    }

    #[test]
    fn reload_from_pem_signs_verifiable_certs() {
        let now = SystemTime::now();
        let ca =
            TlsAuthority::generate("example", "host ca", now, Duration::from_secs(3600)).unwrap();
        let again = TlsAuthority::from_pem(ca.cert_pem(), ca.key_pem()).unwrap();
        assert_eq!(ca.fingerprint(), again.fingerprint());
        let server = again
            .issue_server_cert(
                "auth",
                &["localhost".into()],
                &["127.0.0.1".parse().unwrap()],
                now,
                SERVER_CERT_TTL,
            )
            .unwrap();
        let der = pem_der(&server.cert_pem);
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        let ca_der = pem_der(ca.cert_pem());
        let (_, ca_cert) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
        cert.verify_signature(Some(ca_cert.public_key())).unwrap();
        assert!(Identity::from_certificate_der(&der).is_err());
    }

    #[test]
    fn bad_pem_is_named() {
        let err = TlsAuthority::from_pem("nope", "nope").unwrap_err();
        assert!(
            err.to_string().contains("certificate authority key"),
            "{err}"
        );
    }

    #[test]
    fn fingerprint_format() {
        let ca =
            TlsAuthority::generate("c", "n", SystemTime::now(), Duration::from_secs(60)).unwrap();
        let fp = ca.fingerprint();
        assert!(
            fp.starts_with("SHA256:") && fp.len() == 7 + 32 * 3 - 1,
            "{fp}"
        );
    }
}
