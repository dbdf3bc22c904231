//! The identity a client certificate carries.
//!
//! The server takes a caller's user, roles, logins and traits from its certificate and from
//! nowhere else. Readable copies sit in the subject (CN = user, O = roles, L = logins); the
//! authoritative copy is a JSON document in a private X.509 extension, so that values with
//! commas or several roles survive unchanged.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::{Error, Result};

/// OID of the extension holding the identity JSON (a private arc, as `1.3.9999` is used by
/// other auth servers for their own extensions).
pub const IDENTITY_EXTENSION_OID: &[u64] = &[1, 3, 9999, 7, 1];

/// Who a certificate speaks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Identity {
    /// The user (or host) name.
    pub username: String,
    /// The roles the holder acts with.
    pub roles: Vec<String>,
    /// The system logins the holder may use.
    pub logins: Vec<String>,
    /// User traits, e.g. `team: [dba]`.
    pub traits: BTreeMap<String, Vec<String>>,
    /// Cluster that requests made with this certificate are routed to, if any.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub route_to_cluster: String,
    /// Approved access requests whose roles are included.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub active_requests: Vec<String>,
    /// When the certificate stops being valid (taken from the certificate, not the JSON).
    #[serde(skip)]
    pub expires: Option<SystemTime>,
}

impl Identity {
    /// An identity for `username` acting with `roles`.
    pub fn new(username: impl Into<String>, roles: Vec<String>) -> Self {
        Self {
            username: username.into(),
            roles,
            ..Self::default()
        }
    }

    /// Whether the identity holds `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// The DER content of the identity extension.
    pub(crate) fn to_extension_content(&self) -> Result<Vec<u8>> {
        let json = serde_json::to_string(self)
            .map_err(|e| Error::NoIdentity(format!("cannot encode identity: {e}")))?;
        Ok(yasna::construct_der(|w| w.write_utf8_string(&json)))
    }

    /// Reads the identity out of a DER-encoded certificate.
    pub fn from_certificate_der(der: &[u8]) -> Result<Self> {
        let (_, cert) =
            X509Certificate::from_der(der).map_err(|e| Error::Certificate(e.to_string()))?;
        let oid = x509_parser::der_parser::oid::Oid::from(IDENTITY_EXTENSION_OID)
            .map_err(|_| Error::NoIdentity("bad extension oid".into()))?;
        let ext = cert
            .extensions()
            .iter()
            .find(|e| e.oid == oid)
            .ok_or_else(|| Error::NoIdentity("identity extension missing".into()))?;
        let json = yasna::parse_der(ext.value, |r| r.read_utf8string())
            .map_err(|e| Error::NoIdentity(format!("identity extension is not a string: {e}")))?;
        let mut identity: Identity = serde_json::from_str(&json)
            .map_err(|e| Error::NoIdentity(format!("identity extension: {e}")))?;
        if identity.username.is_empty() {
            return Err(Error::NoIdentity("empty user name".into()));
        }
        identity.expires = Some(cert.validity().not_after.to_datetime().into());
        Ok(identity)
    }
}
