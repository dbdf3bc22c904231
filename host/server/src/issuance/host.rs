//! Host certificates: an SSH host certificate and a TLS certificate for a host with a
//! system role.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use portcullis_ca::{HostCertRequest, HostTlsRequest};

use super::IssueError;
use crate::keyring::KeyRing;

/// Lifetime of host certificates.
pub const HOST_CERT_TTL: Duration = portcullis_ca::SERVER_CERT_TTL;

pub use portcullis_authz::builtin::SYSTEM_ROLES;

/// What a host asks to have signed.
#[derive(Debug, Clone, Default)]
pub struct HostCertsParams {
    /// The host's unique id.
    pub host_id: String,
    /// The host's node name.
    pub node_name: String,
    /// Its system role.
    pub role: String,
    /// Extra SSH principals (and TLS names: DNS names or IP addresses).
    pub additional_principals: Vec<String>,
    /// Extra DNS names of the TLS certificate.
    pub dns_names: Vec<String>,
    /// Public key for the TLS certificate (PEM/DER, or OpenSSH).
    pub public_tls_key: Vec<u8>,
    /// Public key for the SSH certificate (OpenSSH).
    pub public_ssh_key: Vec<u8>,
    /// Lifetime of the certificates in nanoseconds: [`HOST_CERT_TTL`] for 0, and at most
    /// that.
    pub ttl_nanos: i64,
}

/// The certificates issued, with what the host needs to trust its peers.
#[derive(Debug, Clone)]
pub struct HostCerts {
    /// SSH host certificate (OpenSSH format).
    pub ssh: String,
    /// TLS certificate (PEM).
    pub tls: String,
    /// Host CA certificates (PEM) to verify the auth server with.
    pub tls_ca_certs: Vec<String>,
    /// User CA public keys (OpenSSH) that sshd should trust for user certificates.
    pub ssh_ca_keys: Vec<String>,
}

/// Canonical spelling of a system role name (case-insensitive match).
pub fn system_role(name: &str) -> Result<&'static str, IssueError> {
    SYSTEM_ROLES
        .into_iter()
        .find(|r| r.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            IssueError::Invalid(format!(
                "unknown system role `{name}` (known: {})",
                SYSTEM_ROLES.join(", ")
            ))
        })
}

/// Issues the certificates of a host of cluster `cluster_name`, signed by `keyring`'s
/// current authorities.
pub fn issue(
    keyring: &KeyRing,
    cluster_name: &str,
    params: &HostCertsParams,
    now: SystemTime,
) -> Result<HostCerts, IssueError> {
    if params.host_id.trim().is_empty() {
        return Err(IssueError::Invalid(
            "a host certificate needs a host id".into(),
        ));
    }
    let role = system_role(&params.role)?;
    let ttl = crate::resources::validate::requested_ttl(
        "host certificate lifetime",
        params.ttl_nanos,
        HOST_CERT_TTL,
        HOST_CERT_TTL,
    )?;
    let ssh_key = std::str::from_utf8(&params.public_ssh_key)
        .map_err(|_| IssueError::Invalid("the public SSH key is not text".into()))?
        .trim();
    if ssh_key.is_empty() {
        return Err(IssueError::Invalid(
            "no public SSH key to sign was given".into(),
        ));
    }
    if params.public_tls_key.is_empty() {
        return Err(IssueError::Invalid(
            "no public TLS key to sign was given".into(),
        ));
    }
    let keyring = keyring.current()?;
    let fqdn = format!("{}.{}", params.host_id, cluster_name);
    let mut principals: Vec<String> = Vec::new();
    let candidates = [params.host_id.clone(), fqdn, params.node_name.clone()];
    for name in candidates.iter().chain(&params.additional_principals) {
        if !name.is_empty() && !principals.contains(name) {
            principals.push(name.clone());
        }
    }
    let ssh = keyring.host.ssh.sign_host_cert(
        &HostCertRequest {
            public_key: ssh_key.to_owned(),
            key_id: params.host_id.clone(),
            principals,
            ttl,
        },
        now,
    )?;
    let mut dns_names = params.dns_names.clone();
    let mut ips = Vec::new();
    for extra in &params.additional_principals {
        match extra.parse::<IpAddr>() {
            Ok(ip) => ips.push(ip),
            Err(_) => dns_names.push(extra.clone()),
        }
    }
    let tls_key = portcullis_ca::SubjectKey::from_any(&params.public_tls_key)?;
    let tls = keyring.host.tls.issue_host_cert(
        &HostTlsRequest {
            host_id: params.host_id.clone(),
            node_name: params.node_name.clone(),
            cluster_name: cluster_name.to_owned(),
            system_role: role.to_owned(),
            dns_names,
            ips,
            public_key: Some(tls_key),
        },
        now,
        ttl,
    )?;
    Ok(HostCerts {
        ssh,
        tls: tls.cert_pem,
        tls_ca_certs: keyring.host.trusted_tls.clone(),
        ssh_ca_keys: keyring.user.trusted_ssh.clone(),
    })
}
