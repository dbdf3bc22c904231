//! Building blocks for X.509 certificates: names, validity, extensions, key identifiers and
//! the final signature. Everything DER-related is done by the RustCrypto `der`/`x509-cert`
//! crates; the signature by `ring` ([`crate::ecdsa`]).

use std::time::{Duration, SystemTime};

use const_oid::{AssociatedOid, ObjectIdentifier};
use der::asn1::{Any, BitString, GeneralizedTime, OctetString, SetOfVec, UtcTime};
use der::{DateTime, Decode, Encode, EncodePem, Tag, Tagged};
use rand_core::{OsRng, RngCore};
use sha1::{Digest, Sha1};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::certificate::{Certificate, TbsCertificate, Version};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, SubjectKeyIdentifier};
use x509_cert::ext::Extension;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::ecdsa::CertSigner;
use crate::{Error, Result};

/// How far back `not_before` is set, to tolerate small clock differences between hosts.
pub(crate) const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// `ecdsa-with-SHA256` (RFC 5758): the signature algorithm of every certificate we sign.
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

fn cert_err(what: &str) -> impl Fn(der::Error) -> Error + '_ {
    move |e| Error::Certificate(format!("{what}: {e}"))
}

/// A distinguished name being put together, one single-valued RDN per attribute, in order.
#[derive(Default)]
pub(crate) struct NameBuilder(Vec<RelativeDistinguishedName>);

impl NameBuilder {
    /// Appends `oid = value` as a UTF8String.
    pub(crate) fn push(&mut self, oid: ObjectIdentifier, value: &str) -> Result<&mut Self> {
        let value = Any::new(Tag::Utf8String, value.as_bytes())
            .map_err(cert_err("subject attribute value"))?;
        let set = SetOfVec::try_from(vec![AttributeTypeAndValue { oid, value }])
            .map_err(cert_err("subject attribute"))?;
        self.0.push(RelativeDistinguishedName(set));
        Ok(self)
    }

    /// Appends one attribute per value.
    pub(crate) fn push_all<'a>(
        &mut self,
        oid: ObjectIdentifier,
        values: impl IntoIterator<Item = &'a String>,
    ) -> Result<&mut Self> {
        for value in values {
            self.push(oid, value)?;
        }
        Ok(self)
    }

    /// The finished name.
    pub(crate) fn build(self) -> Name {
        RdnSequence(self.0)
    }
}

/// The string value of a name attribute (UTF8String, PrintableString or IA5String).
pub(crate) fn attribute_string(value: &Any) -> Result<String> {
    match value.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String => {
            std::str::from_utf8(value.value())
                .map(str::to_owned)
                .map_err(|_| Error::Certificate("subject attribute is not valid UTF-8".into()))
        }
        other => Err(Error::Certificate(format!(
            "subject attribute has unsupported string type {other}"
        ))),
    }
}

/// Whole seconds since the epoch.
fn unix_secs(t: SystemTime) -> Result<u64> {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| Error::Validity("time before 1970".into()))
}

/// An X.509 time: UTCTime before 2050, GeneralizedTime from then on (RFC 5280 4.1.2.5).
fn x509_time(secs: u64) -> Result<Time> {
    let dt = DateTime::from_unix_duration(Duration::from_secs(secs))
        .map_err(|e| Error::Validity(format!("time out of range: {e}")))?;
    if dt.year() < 2050 {
        UtcTime::from_date_time(dt).map(Time::UtcTime)
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_date_time(dt)))
    }
    .map_err(|e| Error::Validity(format!("time out of range: {e}")))
}

/// The validity window `[now - CLOCK_SKEW, now + ttl]`, and `not_after` as the exact
/// (whole-second) instant written into the certificate.
pub(crate) fn validity(now: SystemTime, ttl: Duration) -> Result<(Validity, SystemTime)> {
    if ttl.is_zero() {
        return Err(Error::Validity("time to live must be positive".into()));
    }
    let now_secs = unix_secs(now)?;
    let before = now_secs.saturating_sub(CLOCK_SKEW.as_secs());
    let after = now_secs
        .checked_add(ttl.as_secs().max(1))
        .ok_or_else(|| Error::Validity("time to live is too long".into()))?;
    let validity = Validity {
        not_before: x509_time(before)?,
        not_after: x509_time(after)?,
    };
    Ok((
        validity,
        SystemTime::UNIX_EPOCH + Duration::from_secs(after),
    ))
}

/// A random positive 128-bit serial number.
pub(crate) fn random_serial() -> Result<SerialNumber> {
    let mut serial = [0u8; 16];
    OsRng.fill_bytes(&mut serial);
    // Positive, and no leading zero byte, so the DER INTEGER is 16 bytes.
    serial[0] = (serial[0] & 0x7f) | 0x40;
    SerialNumber::new(&serial).map_err(cert_err("serial number"))
}

/// Wraps a DER-encodable extension value.
pub(crate) fn extension<E: AssociatedOid + Encode>(value: &E, critical: bool) -> Result<Extension> {
    let der = value.to_der().map_err(cert_err("extension"))?;
    Ok(Extension {
        extn_id: E::OID,
        critical,
        extn_value: OctetString::new(der).map_err(cert_err("extension"))?,
    })
}

/// RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bits.
pub(crate) fn sha1_key_id(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    Sha1::digest(spki.subject_public_key.raw_bytes()).to_vec()
}

/// The Subject Key Identifier extension for `spki` (method 1).
pub(crate) fn subject_key_id_ext(spki: &SubjectPublicKeyInfoOwned) -> Result<Extension> {
    let id = OctetString::new(sha1_key_id(spki)).map_err(cert_err("key identifier"))?;
    extension(&SubjectKeyIdentifier(id), false)
}

/// The Authority Key Identifier extension naming `key_id`.
pub(crate) fn authority_key_id_ext(key_id: &[u8]) -> Result<Extension> {
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(key_id).map_err(cert_err("key identifier"))?),
        ..Default::default()
    };
    extension(&aki, false)
}

/// The parts of a certificate that differ between kinds.
pub(crate) struct CertFields {
    pub(crate) issuer: Name,
    pub(crate) subject: Name,
    pub(crate) validity: Validity,
    pub(crate) public_key: SubjectPublicKeyInfoOwned,
    pub(crate) extensions: Vec<Extension>,
}

/// Assembles and signs a certificate with the P-256 key `signer` (ECDSA with SHA-256; the
/// signer must make DER signatures).
pub(crate) fn sign(fields: CertFields, signer: &CertSigner) -> Result<Certificate> {
    let algorithm = AlgorithmIdentifierOwned {
        oid: ECDSA_WITH_SHA256,
        parameters: None,
    };
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: random_serial()?,
        signature: algorithm.clone(),
        issuer: fields.issuer,
        validity: fields.validity,
        subject: fields.subject,
        subject_public_key_info: fields.public_key,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(fields.extensions),
    };
    let tbs_der = tbs.to_der().map_err(cert_err("to-be-signed certificate"))?;
    let signature = signer.sign_der(&tbs_der)?;
    let signature = BitString::from_bytes(&signature).map_err(cert_err("signature"))?;
    Ok(Certificate {
        tbs_certificate: tbs,
        signature_algorithm: algorithm,
        signature,
    })
}

/// PEM encoding of a certificate.
pub(crate) fn cert_to_pem(cert: &Certificate) -> Result<String> {
    cert.to_pem(der::pem::LineEnding::LF)
        .map_err(cert_err("PEM encoding"))
}

/// The DER of the first certificate in a PEM document.
pub(crate) fn first_cert_der(pem: &str, what: &'static str) -> Result<Vec<u8>> {
    let (_, doc) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).map_err(|e| Error::Pem {
        what,
        reason: e.to_string(),
    })?;
    if doc.label != "CERTIFICATE" {
        return Err(Error::Pem {
            what,
            reason: format!("expected a CERTIFICATE, found {}", doc.label),
        });
    }
    Ok(doc.contents)
}

/// Parses a DER certificate.
pub(crate) fn parse_cert(der: &[u8]) -> Result<Certificate> {
    Certificate::from_der(der).map_err(|e| Error::Certificate(e.to_string()))
}

/// The value of the extension `oid`, if present.
fn extension_value(cert: &Certificate, oid: ObjectIdentifier) -> Option<&[u8]> {
    cert.tbs_certificate
        .extensions
        .as_deref()?
        .iter()
        .find(|e| e.extn_id == oid)
        .map(|e| e.extn_value.as_bytes())
}

/// The Subject Key Identifier of a certificate, if it has one.
pub(crate) fn subject_key_id(cert: &Certificate) -> Result<Option<Vec<u8>>> {
    extension_value(cert, SubjectKeyIdentifier::OID)
        .map(|v| {
            SubjectKeyIdentifier::from_der(v)
                .map(|ski| ski.0.as_bytes().to_vec())
                .map_err(cert_err("subject key identifier"))
        })
        .transpose()
}

/// The key identifier in a DER certificate's Authority Key Identifier extension, if it has
/// one: it names the CA key that signed the certificate (see [`crate::TlsAuthority::key_id`]),
/// so that during a CA rotation the verifier can tell the old key from the new.
pub fn authority_key_id(cert_der: &[u8]) -> Result<Option<Vec<u8>>> {
    let cert = parse_cert(cert_der)?;
    let Some(value) = extension_value(&cert, AuthorityKeyIdentifier::OID) else {
        return Ok(None);
    };
    let aki =
        AuthorityKeyIdentifier::from_der(value).map_err(cert_err("authority key identifier"))?;
    Ok(aki.key_identifier.map(|id| id.as_bytes().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_uses_utc_time_until_2050_and_whole_seconds() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_500);
        let (v, after) = validity(now, Duration::from_secs(10)).unwrap();
        assert!(matches!(v.not_before, Time::UtcTime(_)));
        assert_eq!(
            after,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_010)
        );
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(2_600_000_000);
        let (v, _) = validity(far, Duration::from_secs(10)).unwrap();
        assert!(matches!(v.not_after, Time::GeneralTime(_)));
        assert!(validity(now, Duration::ZERO).is_err());
    }

    #[test]
    fn serials_are_positive_sixteen_bytes() {
        let s = random_serial().unwrap();
        assert_eq!(s.as_bytes().len(), 16);
        assert!(s.as_bytes()[0] & 0x80 == 0 && s.as_bytes()[0] != 0);
    }
}
