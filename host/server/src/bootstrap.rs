//! First-start bootstrap and later-start reuse of the cluster's identity.
//!
//! On first start the server fixes the cluster name, generates the host and user TLS
//! certificate authorities (stored as `cert_authority` resources) and writes an admin
//! identity (`admin.crt`, `admin.key`, `admin.cas`, mode 0600) into the data directory for
//! `pctl`. Later starts load all of it again; the admin identity is reissued only when it is
//! missing, unreadable, close to expiry or no longer signed by the cluster's authorities.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use portcullis_api::services::{
    CaKeySet, CertAuthoritySpecV2, CertAuthorityV2, ClusterNameSpecV2, ClusterNameV2, Metadata,
    SshKeyPair, TlsKeyPair,
};
use portcullis_ca::{Identity, SshAlgorithm, SshAuthority, TlsAuthority, SERVER_CERT_TTL};

use crate::config::Config;
use crate::resources::kinds::{
    ca_key, CLUSTER_NAME_RESOURCE, KIND_CERT_AUTHORITY, KIND_CLUSTER_NAME,
};
use crate::resources::validate::{validate_name, DEFAULT_NAMESPACE};
use crate::resources::{Collection, ResourceError};
use crate::state::State;

/// How long a certificate authority generated at bootstrap is valid.
const CA_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// How long the admin identity is valid.
const ADMIN_TTL: Duration = Duration::from_secs(365 * 24 * 3600);
/// The admin identity is reissued when less than this is left.
const ADMIN_RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 3600);
/// User name and role of the bootstrap admin identity.
pub const ADMIN_USER: &str = "admin";
/// The role that may do anything.
pub const ADMIN_ROLE: &str = "admin";
/// Host certificate authority type.
pub const HOST_CA: &str = "host";
/// User certificate authority type.
pub const USER_CA: &str = "user";

/// Errors during bootstrap.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// Stored data could not be read or written.
    #[error(transparent)]
    Resource(#[from] ResourceError),
    /// Signing failed.
    #[error(transparent)]
    Ca(#[from] portcullis_ca::Error),
    /// A file in the data directory could not be written.
    #[error("cannot write `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The configuration contradicts the stored cluster.
    #[error("{0}")]
    Mismatch(String),
    /// TLS configuration failed.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

/// What bootstrap produced.
pub struct Bootstrapped {
    /// The cluster name.
    pub cluster_name: String,
    /// The host certificate authority (signs server certificates).
    pub host_ca: TlsAuthority,
    /// The user certificate authority (signs client certificates).
    pub user_ca: TlsAuthority,
    /// The server's TLS configuration.
    pub tls: Arc<rustls::ServerConfig>,
}

/// Runs bootstrap against the store in `state` (whose cluster name is not yet known) and the
/// data directory in `config`.
pub async fn bootstrap(
    config: &Config,
    backend: Arc<dyn portcullis_store::Backend>,
) -> Result<(Arc<State>, Bootstrapped), BootstrapError> {
    let cluster_name = cluster_name(config, &Collection::new(backend.clone())).await?;
    let state = Arc::new(State::new(cluster_name.clone(), backend));
    let now = SystemTime::now();
    let host_ca = authority(&state, HOST_CA, now).await?;
    let user_ca = authority(&state, USER_CA, now).await?;
    ensure_admin_identity(&config.data_dir, &host_ca, &user_ca, now)?;

    let mut dns = vec![
        portcullis_api::AUTH_SERVER_NAME.to_owned(),
        "localhost".to_owned(),
    ];
    let mut ips: Vec<IpAddr> = vec![[127, 0, 0, 1].into(), std::net::Ipv6Addr::LOCALHOST.into()];
    if !config.listen_addr.ip().is_unspecified() {
        ips.push(config.listen_addr.ip());
    }
    for addr in &config.public_addrs {
        match addr.parse::<IpAddr>() {
            Ok(ip) => ips.push(ip),
            Err(_) => dns.push(addr.clone()),
        }
    }
    ips.dedup();
    let server = host_ca.issue_server_cert(&cluster_name, &dns, &ips, now, SERVER_CERT_TTL)?;
    let key = server
        .key_pem
        .ok_or_else(|| BootstrapError::Mismatch("server key was not generated".into()))?;
    let tls = crate::tls::server_config(
        &server.cert_pem,
        &key,
        &[user_ca.cert_pem(), host_ca.cert_pem()],
    )?;
    Ok((
        state,
        Bootstrapped {
            cluster_name,
            host_ca,
            user_ca,
            tls,
        },
    ))
}

async fn cluster_name(
    config: &Config,
    names: &Collection<ClusterNameV2>,
) -> Result<String, BootstrapError> {
    let stored = names.find(CLUSTER_NAME_RESOURCE).await?;
    let stored_name = stored
        .as_ref()
        .and_then(|c| c.spec.as_ref())
        .map(|s| s.cluster_name.clone());
    match (stored_name, &config.cluster_name) {
        (Some(stored), Some(wanted)) if &stored != wanted => {
            Err(BootstrapError::Mismatch(format!(
                "the data directory belongs to cluster `{stored}`, but the configuration names \
             `{wanted}`; a cluster cannot be renamed"
            )))
        }
        (Some(stored), _) => Ok(stored),
        (None, wanted) => {
            let name = wanted
                .clone()
                .unwrap_or_else(|| crate::config::DEFAULT_CLUSTER_NAME.to_owned());
            validate_name("cluster", &name)?;
            let resource = ClusterNameV2 {
                kind: KIND_CLUSTER_NAME.into(),
                version: "v2".into(),
                metadata: Some(metadata(CLUSTER_NAME_RESOURCE)),
                spec: Some(ClusterNameSpecV2 {
                    cluster_name: name.clone(),
                }),
                ..Default::default()
            };
            names.create(&resource).await?;
            tracing::info!(cluster = %name, "created new cluster");
            Ok(name)
        }
    }
}

fn metadata(name: &str) -> Metadata {
    Metadata {
        name: name.to_owned(),
        namespace: DEFAULT_NAMESPACE.to_owned(),
        ..Default::default()
    }
}

/// Loads the `ca_type` authority, generating and storing it on first start.
async fn authority(
    state: &State,
    ca_type: &str,
    now: SystemTime,
) -> Result<TlsAuthority, BootstrapError> {
    let key = ca_key(ca_type, &state.cluster_name);
    if let Some(ca) = state.authorities.find(&key).await? {
        let pair = ca
            .spec
            .as_ref()
            .and_then(|s| s.active_keys.as_ref())
            .and_then(|k| k.tls.first())
            .ok_or_else(|| {
                BootstrapError::Mismatch(format!("stored {ca_type} authority has no TLS key pair"))
            })?;
        let cert = String::from_utf8_lossy(&pair.cert);
        let key = String::from_utf8_lossy(&pair.key);
        let authority = TlsAuthority::from_pem(&cert, &key)?;
        add_missing_ssh_key(state, ca, ca_type).await?;
        return Ok(authority);
    }
    let authority = TlsAuthority::generate(
        &state.cluster_name,
        &format!("{} {ca_type} authority", state.cluster_name),
        now,
        CA_TTL,
    )?;
    let resource = CertAuthorityV2 {
        kind: KIND_CERT_AUTHORITY.into(),
        version: "v2".into(),
        metadata: Some(metadata(&state.cluster_name)),
        spec: Some(CertAuthoritySpecV2 {
            r#type: ca_type.into(),
            cluster_name: state.cluster_name.clone(),
            active_keys: Some(CaKeySet {
                tls: vec![TlsKeyPair {
                    cert: authority.cert_pem().as_bytes().to_vec(),
                    key: authority.key_pem().as_bytes().to_vec(),
                    ..Default::default()
                }],
                ssh: vec![new_ssh_key_pair()?],
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    state.authorities.create(&resource).await?;
    tracing::info!(ca = ca_type, fingerprint = %authority.fingerprint(), "generated certificate authority");
    Ok(authority)
}

/// A new SSH signing key pair for an authority (Ed25519).
fn new_ssh_key_pair() -> Result<SshKeyPair, BootstrapError> {
    let ssh = SshAuthority::generate(SshAlgorithm::Ed25519)?;
    Ok(SshKeyPair {
        public_key: ssh.public_key_openssh()?.into_bytes(),
        private_key: ssh.private_key_openssh()?.as_bytes().to_vec(),
        ..Default::default()
    })
}

/// Gives an authority stored before SSH keys existed its SSH key pair (compare-and-swap on
/// the revision it was read at, so a concurrent change is not overwritten).
async fn add_missing_ssh_key(
    state: &State,
    mut ca: CertAuthorityV2,
    ca_type: &str,
) -> Result<(), BootstrapError> {
    let keys = ca
        .spec
        .get_or_insert_with(Default::default)
        .active_keys
        .get_or_insert_with(Default::default);
    if !keys.ssh.is_empty() {
        return Ok(());
    }
    keys.ssh.push(new_ssh_key_pair()?);
    state.authorities.update(&ca).await?;
    tracing::info!(
        ca = ca_type,
        "added an SSH key pair to the certificate authority"
    );
    Ok(())
}

/// Paths of an identity's three files: `PREFIX.crt`, `PREFIX.key`, `PREFIX.cas`.
pub fn identity_paths(dir: &Path, name: &str) -> [PathBuf; 3] {
    ["crt", "key", "cas"].map(|ext| dir.join(format!("{name}.{ext}")))
}

fn ensure_admin_identity(
    dir: &Path,
    host_ca: &TlsAuthority,
    user_ca: &TlsAuthority,
    now: SystemTime,
) -> Result<(), BootstrapError> {
    let [crt, key, cas] = identity_paths(dir, ADMIN_USER);
    if admin_identity_usable(&crt, &key, &cas, host_ca, user_ca, now) {
        return Ok(());
    }
    let identity = Identity::new(ADMIN_USER, vec![ADMIN_ROLE.to_owned()]);
    let issued = user_ca.issue_client_cert(&identity, None, now, ADMIN_TTL)?;
    let key_pem = issued
        .key_pem
        .ok_or_else(|| BootstrapError::Mismatch("admin key was not generated".into()))?;
    write_private(&key, key_pem.as_bytes())?;
    write_private(&crt, issued.cert_pem.as_bytes())?;
    write_private(&cas, host_ca.cert_pem().as_bytes())?;
    tracing::info!(path = %crt.display(), "wrote admin identity");
    Ok(())
}

fn admin_identity_usable(
    crt: &Path,
    key: &Path,
    cas: &Path,
    host_ca: &TlsAuthority,
    user_ca: &TlsAuthority,
    now: SystemTime,
) -> bool {
    let (Ok(crt_pem), Ok(_), Ok(cas_pem)) = (
        std::fs::read_to_string(crt),
        std::fs::read(key),
        std::fs::read_to_string(cas),
    ) else {
        return false;
    };
    if cas_pem.trim() != host_ca.cert_pem().trim() {
        return false;
    }
    let Ok((_, pem)) = x509_parser::pem::parse_x509_pem(crt_pem.as_bytes()) else {
        return false;
    };
    let Ok(identity) = Identity::from_certificate_der(&pem.contents) else {
        return false;
    };
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(&pem.contents) else {
        return false;
    };
    let issued_by_user_ca = x509_parser::pem::parse_x509_pem(user_ca.cert_pem().as_bytes())
        .ok()
        .and_then(|(_, ca)| {
            x509_parser::parse_x509_certificate(&ca.contents)
                .ok()
                .map(|(_, ca)| ca.subject().as_raw() == cert.issuer().as_raw())
        })
        .unwrap_or(false);
    let fresh = identity
        .expires
        .and_then(|e| e.duration_since(now).ok())
        .is_some_and(|left| left > ADMIN_RENEW_BEFORE);
    issued_by_user_ca && fresh && identity.has_role(ADMIN_ROLE)
}

/// Writes a file readable by its owner only, atomically (temporary file, then rename).
pub fn write_private(path: &Path, data: &[u8]) -> Result<(), BootstrapError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| BootstrapError::Io {
        path: path.to_owned(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io)?;
    file.write_all(data).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_authority_stored_without_ssh_keys_gets_one() {
        let backend = Arc::new(portcullis_store::MemoryBackend::new());
        let state = State::new("c".into(), backend);
        let now = SystemTime::now();
        let tls = authority(&state, USER_CA, now).await.unwrap();
        let key = ca_key(USER_CA, "c");
        let ssh_keys = |ca: &CertAuthorityV2| {
            ca.spec
                .as_ref()
                .unwrap()
                .active_keys
                .as_ref()
                .unwrap()
                .ssh
                .clone()
        };
        let mut ca = state.authorities.get(&key).await.unwrap();
        assert_eq!(ssh_keys(&ca).len(), 1, "a new authority has an SSH key");
        // As an older version stored it: TLS only.
        ca.spec
            .as_mut()
            .unwrap()
            .active_keys
            .as_mut()
            .unwrap()
            .ssh
            .clear();
        state.authorities.update(&ca).await.unwrap();
        let again = authority(&state, USER_CA, now).await.unwrap();
        assert_eq!(
            tls.fingerprint(),
            again.fingerprint(),
            "the TLS key is kept"
        );
        let ca = state.authorities.get(&key).await.unwrap();
        let ssh = ssh_keys(&ca);
        assert_eq!(ssh.len(), 1, "the SSH key was added");
        let private = String::from_utf8(ssh[0].private_key.clone()).unwrap();
        SshAuthority::from_openssh(&private).unwrap();
    }
}
