//! The identity a client (or host) certificate carries, encoded in the certificate subject
//! the way Teleport encodes it: one attribute per value, so roles and logins containing
//! commas survive unchanged.
//!
//! | attribute | OID | value |
//! | --- | --- | --- |
//! | CN | 2.5.4.3 | user name (hosts: `HOST_ID.CLUSTER`) |
//! | O | 2.5.4.10 | one per role, in order |
//! | L | 2.5.4.7 | one per login, in order |
//! | STREET | 2.5.4.9 | cluster to route requests to (only when set) |
//! | POSTALCODE | 2.5.4.17 | traits as a JSON object of string arrays (only when non-empty) |
//! | active requests | [`ACTIVE_REQUESTS_OID`] `1.3.9999.7.2` | one per active access request id |
//! | expiry | [`EXPIRY_OID`] `1.3.9999.7.3` | RFC 3339 UTC, the same instant as notAfter |
//! | system roles | [`SYSTEM_ROLES_OID`] `1.3.9999.7.4` | one per system role (hosts, e.g. `Node`) |
//! | Kubernetes users | [`KUBE_USERS_OID`] `1.3.9999.7.5` | one per Kubernetes user to impersonate |
//! | Kubernetes groups | [`KUBE_GROUPS_OID`] `1.3.9999.7.6` | one per Kubernetes group to impersonate |
//! | Kubernetes cluster | [`KUBE_CLUSTER_OID`] `1.3.9999.7.7` | the cluster the certificate targets (only when set) |
//! | app session | [`APP_SESSION_ID_OID`] `1.3.9999.7.8` | the application session the certificate belongs to |
//! | app address | [`APP_PUBLIC_ADDR_OID`] `1.3.9999.7.9` | the public address of that session's application |
//! | app cluster | [`APP_CLUSTER_NAME_OID`] `1.3.9999.7.10` | the cluster that application runs in |
//!
//! The three app attributes come together or not at all ([`RouteToApp`]: a certificate of an
//! application session); a certificate with only some of them is refused.
//!
//! All values are UTF8String, each in its own single-valued RDN. The expiry attribute marks a
//! certificate as carrying a Portcullis identity: server certificates lack it and are refused
//! by [`Identity::from_certificate_der`].

use std::collections::BTreeMap;
use std::time::SystemTime;

use const_oid::ObjectIdentifier;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use x509_cert::name::Name;

use crate::x509::{attribute_string, parse_cert, NameBuilder};
use crate::{Error, Result};

/// Subject attribute type (private arc `1.3.9999.7`) holding one active access request id.
pub const ACTIVE_REQUESTS_OID: &str = "1.3.9999.7.2";
/// Subject attribute type holding the certificate's expiry as RFC 3339 UTC
/// (`2030-01-02T03:04:05Z`), the same instant as its notAfter.
pub const EXPIRY_OID: &str = "1.3.9999.7.3";
/// Subject attribute type holding one system role (empty for users; e.g. `Node` for hosts).
pub const SYSTEM_ROLES_OID: &str = "1.3.9999.7.4";

pub(crate) const CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
pub(crate) const O: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
const L: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.7");
const STREET: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.9");
const POSTAL_CODE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.17");
/// Subject attribute type holding one Kubernetes user the holder may impersonate.
pub const KUBE_USERS_OID: &str = "1.3.9999.7.5";
/// Subject attribute type holding one Kubernetes group the holder may impersonate.
pub const KUBE_GROUPS_OID: &str = "1.3.9999.7.6";
/// Subject attribute type holding the Kubernetes cluster a certificate targets.
pub const KUBE_CLUSTER_OID: &str = "1.3.9999.7.7";
/// Subject attribute type holding the id of the application session a certificate belongs to.
pub const APP_SESSION_ID_OID: &str = "1.3.9999.7.8";
/// Subject attribute type holding the public address of the application routed to.
pub const APP_PUBLIC_ADDR_OID: &str = "1.3.9999.7.9";
/// Subject attribute type holding the cluster the application routed to runs in.
pub const APP_CLUSTER_NAME_OID: &str = "1.3.9999.7.10";

const ACTIVE_REQUESTS: ObjectIdentifier = ObjectIdentifier::new_unwrap(ACTIVE_REQUESTS_OID);
const EXPIRY: ObjectIdentifier = ObjectIdentifier::new_unwrap(EXPIRY_OID);
const SYSTEM_ROLES: ObjectIdentifier = ObjectIdentifier::new_unwrap(SYSTEM_ROLES_OID);
const KUBE_USERS: ObjectIdentifier = ObjectIdentifier::new_unwrap(KUBE_USERS_OID);
const KUBE_GROUPS: ObjectIdentifier = ObjectIdentifier::new_unwrap(KUBE_GROUPS_OID);
const KUBE_CLUSTER: ObjectIdentifier = ObjectIdentifier::new_unwrap(KUBE_CLUSTER_OID);
const APP_SESSION_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap(APP_SESSION_ID_OID);
const APP_PUBLIC_ADDR: ObjectIdentifier = ObjectIdentifier::new_unwrap(APP_PUBLIC_ADDR_OID);
const APP_CLUSTER_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap(APP_CLUSTER_NAME_OID);

/// The application a certificate of an application session is for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RouteToApp {
    /// The application session's id.
    pub session_id: String,
    /// The application's public address.
    pub public_addr: String,
    /// The cluster the application runs in.
    pub cluster_name: String,
}

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
    /// System roles of a host (`Node`, `Proxy`, ...); empty for users.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub system_roles: Vec<String>,
    /// Kubernetes users the holder may impersonate (its roles' `kubernetes_users`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kubernetes_users: Vec<String>,
    /// Kubernetes groups the holder may impersonate (its roles' `kubernetes_groups`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kubernetes_groups: Vec<String>,
    /// The Kubernetes cluster the certificate targets, if any.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kubernetes_cluster: String,
    /// The application session the certificate belongs to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_to_app: Option<RouteToApp>,
    /// When the certificate stops being valid (its notAfter; ignored when issuing, where the
    /// time to live decides).
    #[serde(skip)]
    pub expires: Option<SystemTime>,
}

/// RFC 3339 UTC form of `t` (whole seconds).
fn rfc3339(t: SystemTime) -> Result<String> {
    OffsetDateTime::from(t)
        .format(&Rfc3339)
        .map_err(|e| Error::Validity(format!("cannot format expiry: {e}")))
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

    /// The certificate subject carrying this identity, for a certificate expiring at
    /// `expires` (its notAfter).
    pub(crate) fn to_subject(&self, expires: SystemTime) -> Result<Name> {
        if self.username.is_empty() {
            return Err(Error::NoIdentity("empty user name".into()));
        }
        let mut name = NameBuilder::default();
        name.push(CN, &self.username)?
            .push_all(O, &self.roles)?
            .push_all(L, &self.logins)?;
        if !self.route_to_cluster.is_empty() {
            name.push(STREET, &self.route_to_cluster)?;
        }
        if !self.traits.is_empty() {
            let json = serde_json::to_string(&self.traits)
                .map_err(|e| Error::NoIdentity(format!("cannot encode traits: {e}")))?;
            name.push(POSTAL_CODE, &json)?;
        }
        name.push_all(ACTIVE_REQUESTS, &self.active_requests)?
            .push(EXPIRY, &rfc3339(expires)?)?
            .push_all(SYSTEM_ROLES, &self.system_roles)?
            .push_all(KUBE_USERS, &self.kubernetes_users)?
            .push_all(KUBE_GROUPS, &self.kubernetes_groups)?;
        if !self.kubernetes_cluster.is_empty() {
            name.push(KUBE_CLUSTER, &self.kubernetes_cluster)?;
        }
        if let Some(app) = &self.route_to_app {
            name.push(APP_SESSION_ID, &app.session_id)?
                .push(APP_PUBLIC_ADDR, &app.public_addr)?
                .push(APP_CLUSTER_NAME, &app.cluster_name)?;
        }
        Ok(name.build())
    }

    /// Reads the identity out of a DER-encoded certificate's subject. The caller must have
    /// verified the certificate; this only decodes it. Certificates without the expiry
    /// attribute (e.g. server certificates) carry no identity and are refused.
    pub fn from_certificate_der(der: &[u8]) -> Result<Self> {
        let cert = parse_cert(der)?;
        let not_after = cert.tbs_certificate.validity.not_after.to_system_time();
        let mut identity = Identity::default();
        let mut common_names = Vec::new();
        let mut expiry = Vec::new();
        let mut traits = Vec::new();
        let mut streets = Vec::new();
        let mut kube_clusters = Vec::new();
        let (mut app_ids, mut app_addrs, mut app_clusters) = (Vec::new(), Vec::new(), Vec::new());
        for rdn in cert.tbs_certificate.subject.0.iter() {
            for atv in rdn.0.iter() {
                let list = match atv.oid {
                    CN => &mut common_names,
                    O => &mut identity.roles,
                    L => &mut identity.logins,
                    STREET => &mut streets,
                    POSTAL_CODE => &mut traits,
                    ACTIVE_REQUESTS => &mut identity.active_requests,
                    EXPIRY => &mut expiry,
                    SYSTEM_ROLES => &mut identity.system_roles,
                    KUBE_USERS => &mut identity.kubernetes_users,
                    KUBE_GROUPS => &mut identity.kubernetes_groups,
                    KUBE_CLUSTER => &mut kube_clusters,
                    APP_SESSION_ID => &mut app_ids,
                    APP_PUBLIC_ADDR => &mut app_addrs,
                    APP_CLUSTER_NAME => &mut app_clusters,
                    _ => continue,
                };
                list.push(attribute_string(&atv.value)?);
            }
        }
        let [expiry] = expiry.as_slice() else {
            return Err(Error::NoIdentity(format!(
                "expected one expiry attribute ({EXPIRY_OID}), found {}",
                expiry.len()
            )));
        };
        let stated = OffsetDateTime::parse(expiry, &Rfc3339)
            .map_err(|e| Error::NoIdentity(format!("expiry `{expiry}`: {e}")))?;
        if SystemTime::from(stated) != not_after {
            return Err(Error::NoIdentity(format!(
                "expiry `{expiry}` differs from the certificate's notAfter"
            )));
        }
        let [username] = <[String; 1]>::try_from(common_names).map_err(|names| {
            Error::NoIdentity(format!("expected one common name, found {}", names.len()))
        })?;
        if username.is_empty() {
            return Err(Error::NoIdentity("empty user name".into()));
        }
        identity.username = username;
        identity.route_to_cluster = at_most_one("route-to-cluster", streets)?;
        identity.kubernetes_cluster = at_most_one("Kubernetes cluster", kube_clusters)?;
        let app = [
            at_most_one("app session id", app_ids)?,
            at_most_one("app public address", app_addrs)?,
            at_most_one("app cluster name", app_clusters)?,
        ];
        identity.route_to_app = match app {
            [id, addr, cluster] if id.is_empty() && addr.is_empty() && cluster.is_empty() => None,
            [session_id, public_addr, cluster_name]
                if !session_id.is_empty()
                    && !public_addr.is_empty()
                    && !cluster_name.is_empty() =>
            {
                Some(RouteToApp {
                    session_id,
                    public_addr,
                    cluster_name,
                })
            }
            _ => {
                return Err(Error::NoIdentity(
                    "an app session needs its id, public address and cluster name together".into(),
                ))
            }
        };
        match traits.as_slice() {
            [] => {}
            [json] => {
                identity.traits = serde_json::from_str(json)
                    .map_err(|e| Error::NoIdentity(format!("traits: {e}")))?;
            }
            more => {
                return Err(Error::NoIdentity(format!(
                    "expected at most one traits attribute, found {}",
                    more.len()
                )))
            }
        }
        identity.expires = Some(not_after);
        Ok(identity)
    }
}

/// The one value of an attribute (`what` in errors), or empty when absent.
fn at_most_one(what: &str, values: Vec<String>) -> Result<String> {
    match <[String; 1]>::try_from(values) {
        Ok([value]) => Ok(value),
        Err(values) if values.is_empty() => Ok(String::new()),
        Err(values) => Err(Error::NoIdentity(format!(
            "expected at most one {what} attribute, found {}",
            values.len()
        ))),
    }
}
