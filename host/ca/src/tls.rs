//! TLS certificate authorities and the certificates they issue: server certificates, client
//! certificates carrying an [`Identity`] in their subject, and host certificates.
//!
//! Every authority key is ECDSA P-256. Every issued certificate carries an Authority Key
//! Identifier equal to [`TlsAuthority::key_id`], so a verifier can tell which CA key (old or
//! new, during a rotation) signed it; see [`crate::authority_key_id`].

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use const_oid::ObjectIdentifier;
use der::asn1::{Ia5String, OctetString};
use p256::ecdsa::SigningKey;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rand_core::OsRng;
use sha2::{Digest, Sha256};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use zeroize::Zeroizing;

use crate::ecdsa::{CertSigner, Encoding, P256Signer};
use crate::external::{expect_algorithm, ExternalAlgorithm, ExternalKey, SharedKey};
use crate::identity::{Identity, CN, O};
use crate::pubkey::{SubjectKey, RSA_ENCRYPTION};
use crate::x509::{
    authority_key_id_ext, cert_to_pem, extension, first_cert_der, parse_cert, sha1_key_id, sign,
    subject_key_id, subject_key_id_ext, validity, CertFields, NameBuilder,
};
use crate::{Error, Result};

/// How long a server certificate issued at start-up stays valid.
pub const SERVER_CERT_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

const SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
const CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");

/// A certificate and, when the authority generated the key pair, its private key.
pub struct IssuedCert {
    /// The certificate, PEM-encoded.
    pub cert_pem: String,
    /// The private key, PEM-encoded (PKCS#8), if it was generated here.
    pub key_pem: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for IssuedCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCert")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &self.key_pem.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// What goes into a host's TLS certificate.
#[derive(Debug, Clone, Default)]
pub struct HostTlsRequest {
    /// The host's unique id (a UUID).
    pub host_id: String,
    /// The host's node name.
    pub node_name: String,
    /// The cluster the host belongs to (may be empty).
    pub cluster_name: String,
    /// The host's system role, e.g. `Node`, `Proxy` or `Auth`.
    pub system_role: String,
    /// DNS names the host serves under.
    pub dns_names: Vec<String>,
    /// IP addresses the host serves under.
    pub ips: Vec<IpAddr>,
    /// The host's public key; without it a key pair is generated.
    pub public_key: Option<SubjectKey>,
}

/// A TLS certificate authority: a CA certificate and its ECDSA P-256 signing key.
pub struct TlsAuthority {
    cert_pem: String,
    /// `None` when the key is held outside the process.
    key_pem: Option<Zeroizing<String>>,
    /// The key, loaded into `ring` to sign (see the crate docs on key material), or external.
    signer: CertSigner,
    subject: Name,
    key_id: Vec<u8>,
}

impl std::fmt::Debug for TlsAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsAuthority")
            .field("fingerprint", &self.fingerprint())
            .field("key_id", &hex(&self.key_id))
            .finish_non_exhaustive()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn public_spki(key: &SigningKey) -> Result<SubjectPublicKeyInfoOwned> {
    SubjectPublicKeyInfoOwned::from_key(*key.verifying_key())
        .map_err(|e| Error::Signing(format!("cannot encode the public key: {e}")))
}

/// The SPKI of an external P-256 key.
fn external_spki(key: &dyn ExternalKey) -> Result<SubjectPublicKeyInfoOwned> {
    expect_algorithm(key, ExternalAlgorithm::EcdsaP256, "a TLS authority")?;
    let public = p256::ecdsa::VerifyingKey::from_sec1_bytes(key.public_key()).map_err(|e| {
        Error::Signing(format!("{}: invalid P-256 public key: {e}", key.describe()))
    })?;
    SubjectPublicKeyInfoOwned::from_key(public)
        .map_err(|e| Error::Signing(format!("cannot encode the public key: {e}")))
}

/// A fresh P-256 key pair for a certificate: its SPKI and its PKCS#8 PEM.
fn generate_key() -> Result<(SubjectPublicKeyInfoOwned, Zeroizing<String>)> {
    let key = SigningKey::random(&mut OsRng);
    let pem = key
        .to_pkcs8_pem(der::pem::LineEnding::LF)
        .map_err(|e| Error::Signing(format!("cannot encode the private key: {e}")))?;
    Ok((public_spki(&key)?, pem))
}

/// Whether `name` can go into a dNSName SAN: LDH labels (underscores tolerated), an optional
/// leading `*.` wildcard, at most 253 characters.
fn is_dns_name(name: &str) -> bool {
    let name = name.strip_prefix("*.").unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.parse::<IpAddr>().is_err()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The subjectAltName extension for DNS names and IP addresses.
fn san_extension(dns_names: &[String], ips: &[IpAddr]) -> Result<Extension> {
    let mut names = Vec::with_capacity(dns_names.len() + ips.len());
    for name in dns_names {
        if !is_dns_name(name) {
            return Err(Error::Certificate(format!(
                "`{name}` is not a valid DNS name for a certificate"
            )));
        }
        let ia5 = Ia5String::new(name)
            .map_err(|e| Error::Certificate(format!("DNS name `{name}`: {e}")))?;
        names.push(GeneralName::DnsName(ia5));
    }
    for ip in ips {
        let octets = match ip {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets().to_vec(),
        };
        let octets = OctetString::new(octets)
            .map_err(|e| Error::Certificate(format!("IP address {ip}: {e}")))?;
        names.push(GeneralName::IpAddress(octets));
    }
    extension(&SubjectAltName(names), false)
}

fn eku_extension(purposes: &[ObjectIdentifier]) -> Result<Extension> {
    extension(&ExtendedKeyUsage(purposes.to_vec()), false)
}

impl TlsAuthority {
    /// Generates a new authority whose self-signed certificate names `organization` (the
    /// cluster) and `common_name`, valid from `now` for `ttl`. Its Subject Key Identifier is
    /// the SHA-1 of the public key bits (RFC 5280 method 1).
    pub fn generate(
        organization: &str,
        common_name: &str,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<Self> {
        let signing_key = SigningKey::random(&mut OsRng);
        let key_pem = signing_key
            .to_pkcs8_pem(der::pem::LineEnding::LF)
            .map_err(|e| Error::Signing(format!("cannot encode the CA key: {e}")))?;
        let public_key = public_spki(&signing_key)?;
        let signer = CertSigner::Local(Box::new(P256Signer::from_p256(
            &signing_key,
            Encoding::Der,
        )?));
        Self::self_signed(
            organization,
            common_name,
            now,
            ttl,
            public_key,
            signer,
            Some(key_pem),
        )
    }

    /// Like [`TlsAuthority::generate`], for a P-256 key held outside the process: the
    /// certificate is signed by `key`, and the authority has no private key to export.
    pub fn generate_external(
        organization: &str,
        common_name: &str,
        now: SystemTime,
        ttl: Duration,
        key: SharedKey,
    ) -> Result<Self> {
        let public_key = external_spki(key.as_ref())?;
        Self::self_signed(
            organization,
            common_name,
            now,
            ttl,
            public_key,
            CertSigner::External(key),
            None,
        )
    }

    fn self_signed(
        organization: &str,
        common_name: &str,
        now: SystemTime,
        ttl: Duration,
        public_key: SubjectPublicKeyInfoOwned,
        signer: CertSigner,
        key_pem: Option<Zeroizing<String>>,
    ) -> Result<Self> {
        let mut name = NameBuilder::default();
        name.push(O, organization)?.push(CN, common_name)?;
        let subject = name.build();
        let key_id = sha1_key_id(&public_key);
        let extensions = vec![
            extension(
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: None,
                },
                true,
            )?,
            extension(
                &KeyUsage(
                    KeyUsages::KeyCertSign | KeyUsages::CRLSign | KeyUsages::DigitalSignature,
                ),
                true,
            )?,
            subject_key_id_ext(&public_key)?,
        ];
        let cert = sign(
            CertFields {
                issuer: subject.clone(),
                subject: subject.clone(),
                validity: validity(now, ttl)?.0,
                public_key,
                extensions,
            },
            &signer,
        )?;
        Ok(Self {
            cert_pem: cert_to_pem(&cert)?,
            key_pem,
            signer,
            subject,
            key_id,
        })
    }

    /// Loads an authority from its PEM certificate and PEM (PKCS#8) ECDSA P-256 private key,
    /// including authorities generated by earlier versions.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self> {
        let signing_key = SigningKey::from_pkcs8_pem(key_pem).map_err(|e| Error::Pem {
            what: "certificate authority key",
            reason: format!("{e} (an ECDSA P-256 PKCS#8 key is expected)"),
        })?;
        let public_key = public_spki(&signing_key)?;
        let signer = CertSigner::Local(Box::new(P256Signer::from_p256(
            &signing_key,
            Encoding::Der,
        )?));
        Self::load(
            cert_pem,
            &public_key,
            signer,
            Some(Zeroizing::new(key_pem.to_owned())),
        )
    }

    /// Loads an authority from its PEM certificate and the external P-256 key it was
    /// generated with ([`TlsAuthority::generate_external`]).
    pub fn from_external(cert_pem: &str, key: SharedKey) -> Result<Self> {
        let public_key = external_spki(key.as_ref())?;
        Self::load(cert_pem, &public_key, CertSigner::External(key), None)
    }

    fn load(
        cert_pem: &str,
        public_key: &SubjectPublicKeyInfoOwned,
        signer: CertSigner,
        key_pem: Option<Zeroizing<String>>,
    ) -> Result<Self> {
        let cert_der = first_cert_der(cert_pem, "certificate authority certificate")?;
        let cert = parse_cert(&cert_der)?;
        let tbs = &cert.tbs_certificate;
        if tbs.subject_public_key_info != *public_key {
            return Err(Error::Certificate(
                "the certificate authority key does not match its certificate".into(),
            ));
        }
        let key_id = match subject_key_id(&cert)? {
            Some(id) => id,
            None => sha1_key_id(&tbs.subject_public_key_info),
        };
        Ok(Self {
            cert_pem: cert_pem.to_owned(),
            key_pem,
            subject: tbs.subject.clone(),
            signer,
            key_id,
        })
    }

    /// The CA certificate, PEM-encoded.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA private key, PEM-encoded, unless it is held outside the process. Handle with
    /// care: it is the cluster's trust root.
    pub fn key_pem(&self) -> Option<&str> {
        self.key_pem.as_deref().map(String::as_str)
    }

    /// SHA-256 fingerprint of the CA certificate (`SHA256:` followed by colon-separated hex).
    pub fn fingerprint(&self) -> String {
        fingerprint_pem(&self.cert_pem).unwrap_or_else(|_| "unknown".into())
    }

    /// The CA key's identifier: the CA certificate's Subject Key Identifier or, for CA
    /// certificates without one (stored by older versions), the SHA-1 of the certificate's
    /// subjectPublicKey bits (RFC 5280 4.2.1.2 method 1). Every certificate this authority
    /// issues carries this value as its Authority Key Identifier.
    pub fn key_id(&self) -> Vec<u8> {
        self.key_id.clone()
    }

    /// Signs an end-entity certificate for `public_key`.
    fn issue(
        &self,
        subject: Name,
        public_key: SubjectPublicKeyInfoOwned,
        validity: x509_cert::time::Validity,
        mut extensions: Vec<Extension>,
    ) -> Result<String> {
        let mut usages = KeyUsages::DigitalSignature.into();
        if public_key.algorithm.oid == RSA_ENCRYPTION {
            usages |= KeyUsages::KeyEncipherment;
        }
        let mut all = vec![
            extension(
                &BasicConstraints {
                    ca: false,
                    path_len_constraint: None,
                },
                true,
            )?,
            extension(&KeyUsage(usages), true)?,
            authority_key_id_ext(&self.key_id)?,
            subject_key_id_ext(&public_key)?,
        ];
        all.append(&mut extensions);
        let cert = sign(
            CertFields {
                issuer: self.subject.clone(),
                subject,
                validity,
                public_key,
                extensions: all,
            },
            &self.signer,
        )?;
        cert_to_pem(&cert)
    }

    /// The subject key: the given (already checked) key, or a generated key pair.
    fn subject_key(
        public_key: Option<&SubjectKey>,
    ) -> Result<(SubjectPublicKeyInfoOwned, Option<Zeroizing<String>>)> {
        match public_key {
            Some(key) => Ok((key.spki().clone(), None)),
            None => generate_key().map(|(spki, pem)| (spki, Some(pem))),
        }
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
        let (validity, _) = validity(now, ttl)?;
        let (public_key, key_pem) = Self::subject_key(None)?;
        let mut name = NameBuilder::default();
        name.push(CN, common_name)?;
        let cert_pem = self.issue(
            name.build(),
            public_key,
            validity,
            vec![
                san_extension(dns_names, ips)?,
                eku_extension(&[SERVER_AUTH, CLIENT_AUTH])?,
            ],
        )?;
        Ok(IssuedCert { cert_pem, key_pem })
    }

    /// Issues a client certificate carrying `identity` in its subject (see the table in the
    /// crate docs); `identity.expires` is ignored, `ttl` decides. With `public_key` (read with
    /// [`SubjectKey::from_any`] or [`SubjectKey::from_pem`]) the certificate is for that key;
    /// without it a P-256 key pair is generated and returned
    /// with the certificate.
    pub fn issue_client_cert(
        &self,
        identity: &Identity,
        public_key: Option<&SubjectKey>,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<IssuedCert> {
        let (validity, not_after) = validity(now, ttl)?;
        let subject = identity.to_subject(not_after)?;
        let (public_key, key_pem) = Self::subject_key(public_key)?;
        let cert_pem = self.issue(
            subject,
            public_key,
            validity,
            vec![eku_extension(&[CLIENT_AUTH])?],
        )?;
        Ok(IssuedCert { cert_pem, key_pem })
    }

    /// Issues a host certificate: subject CN `HOST_ID.CLUSTER` (or `HOST_ID`), O and the
    /// system-roles attribute the system role; SANs the DNS names plus the node name and
    /// host id where those are valid DNS names, and the IPs; usable as server and client
    /// certificate.
    pub fn issue_host_cert(
        &self,
        req: &HostTlsRequest,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<IssuedCert> {
        if req.host_id.is_empty() {
            return Err(Error::Certificate(
                "a host certificate needs a host id".into(),
            ));
        }
        if req.system_role.is_empty() {
            return Err(Error::Certificate(format!(
                "host `{}` has no system role",
                req.host_id
            )));
        }
        let username = if req.cluster_name.is_empty() {
            req.host_id.clone()
        } else {
            format!("{}.{}", req.host_id, req.cluster_name)
        };
        let identity = Identity {
            username,
            roles: vec![req.system_role.clone()],
            system_roles: vec![req.system_role.clone()],
            ..Identity::default()
        };
        let mut dns_names = req.dns_names.clone();
        for extra in [&req.node_name, &req.host_id] {
            if is_dns_name(extra) && !dns_names.contains(extra) {
                dns_names.push(extra.clone());
            }
        }
        let (validity, not_after) = validity(now, ttl)?;
        let subject = identity.to_subject(not_after)?;
        let (public_key, key_pem) = Self::subject_key(req.public_key.as_ref())?;
        let cert_pem = self.issue(
            subject,
            public_key,
            validity,
            vec![
                san_extension(&dns_names, &req.ips)?,
                eku_extension(&[SERVER_AUTH, CLIENT_AUTH])?,
            ],
        )?;
        Ok(IssuedCert { cert_pem, key_pem })
    }
}

/// SHA-256 fingerprint of the first certificate in a PEM document.
pub fn fingerprint_pem(pem: &str) -> Result<String> {
    let der = first_cert_der(pem, "certificate")?;
    let digest = Sha256::digest(&der);
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    Ok(format!("SHA256:{}", hex.join(":")))
}

#[cfg(test)]
mod tests;
