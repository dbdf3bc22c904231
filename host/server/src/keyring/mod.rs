//! The cluster's certificate authorities as the running server uses them.
//!
//! The authorities live in the store (`cert_authority` resources: user, host and jwt). The
//! key ring loads them into a [`Snapshot`] of ready signers and keeps three things in step
//! with it whenever an authority changes (a rotation phase, a restart):
//!
//! - the TLS listener's configuration: client certificates are verified against every
//!   trusted key of the user and host authorities, and a caller whose certificate was signed
//!   by a key that is no longer trusted is refused even on an open connection;
//! - the server's own certificate, reissued when the host authority's server signer changes
//!   (at update_servers, and back at rollback);
//! - the admin identity in the data directory, reissued when the user authority's signer
//!   changes and rewritten with every trusted host CA certificate in `admin.cas`, so the
//!   local `pctl` keeps working through a rotation.

pub mod admin;
pub mod custody;
mod error;
pub mod keys;
mod proto;
pub mod rotate;
mod snapshot;
pub mod trust;

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use portcullis_api::services::{CertAuthoritySpecV2, CertAuthorityV2, Metadata};
use portcullis_ca::SERVER_CERT_TTL;

pub use custody::Custody;
pub use error::KeyringError;
pub use keys::Algorithms;
pub use proto::to_proto as rotation_to_proto;
pub use snapshot::{CaSigners, JwtSigners, Snapshot};

use crate::resources::kinds::{ca_key, KIND_CERT_AUTHORITY};
use crate::resources::validate::DEFAULT_NAMESPACE;
use crate::resources::Collection;
use trust::TlsState;

/// Host certificate authority type.
pub const HOST_CA: &str = portcullis_api::kinds::HOST_CA;
/// User certificate authority type.
pub const USER_CA: &str = portcullis_api::kinds::USER_CA;
/// JWT signing authority type.
pub const JWT_CA: &str = "jwt";
/// Every authority type, in the order they are created and rotated.
pub const CA_TYPES: [&str; 3] = [USER_CA, HOST_CA, JWT_CA];

/// What the key ring needs to know about this server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Data directory (where the admin identity is written).
    pub data_dir: PathBuf,
    /// DNS names of the server certificate.
    pub dns_names: Vec<String>,
    /// IP addresses of the server certificate.
    pub ips: Vec<IpAddr>,
    /// Algorithms of newly generated keys.
    pub algorithms: Algorithms,
    /// Where the authorities' private keys are kept.
    pub custody: Custody,
}

struct ServerCert {
    signer_key_id: Vec<u8>,
    cert_pem: String,
    key_pem: zeroize::Zeroizing<String>,
}

/// The loaded authorities and what depends on them.
pub struct KeyRing {
    cluster_name: String,
    settings: Settings,
    snapshot: RwLock<Option<Arc<Snapshot>>>,
    server_cert: Mutex<Option<ServerCert>>,
    tls: Arc<TlsState>,
    reloading: tokio::sync::Mutex<()>,
}

impl KeyRing {
    /// An empty key ring; [`KeyRing::reload`] fills it.
    pub fn new(cluster_name: String, settings: Settings) -> Self {
        Self {
            cluster_name,
            settings,
            snapshot: RwLock::new(None),
            server_cert: Mutex::new(None),
            tls: Arc::new(TlsState::default()),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// The TLS configuration and trust the listener uses.
    pub fn tls(&self) -> Arc<TlsState> {
        self.tls.clone()
    }

    /// Algorithms of newly generated keys.
    pub fn algorithms(&self) -> Algorithms {
        self.settings.algorithms
    }

    /// Where the authorities' private keys are kept.
    pub fn custody(&self) -> &Custody {
        &self.settings.custody
    }

    /// The authorities as last loaded.
    pub fn current(&self) -> Result<Arc<Snapshot>, KeyringError> {
        self.snapshot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(KeyringError::NotLoaded)
    }

    /// Creates any authority missing from the store (first start, or an upgrade that adds
    /// a type), then loads them all.
    pub async fn ensure_and_load(
        &self,
        authorities: &Collection<CertAuthorityV2>,
    ) -> Result<Arc<Snapshot>, KeyringError> {
        let now = portcullis_clock::now();
        for ca_type in CA_TYPES {
            let key = ca_key(ca_type, &self.cluster_name);
            if authorities.find(&key).await?.is_some() {
                continue;
            }
            let resource = CertAuthorityV2 {
                kind: KIND_CERT_AUTHORITY.into(),
                version: "v2".into(),
                metadata: Some(Metadata {
                    name: self.cluster_name.clone(),
                    namespace: DEFAULT_NAMESPACE.to_owned(),
                    ..Default::default()
                }),
                spec: Some(CertAuthoritySpecV2 {
                    r#type: ca_type.into(),
                    cluster_name: self.cluster_name.clone(),
                    active_keys: Some(keys::generate(
                        ca_type,
                        &self.cluster_name,
                        self.settings.algorithms,
                        &self.settings.custody,
                        now,
                    )?),
                    rotation: Some(proto::to_proto(&Default::default())),
                    ..Default::default()
                }),
                ..Default::default()
            };
            match authorities.create(&resource).await {
                Ok(_) => tracing::info!(ca = ca_type, "generated certificate authority"),
                // Another start raced us; theirs stands.
                Err(crate::resources::ResourceError::AlreadyExists { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.reload(authorities).await
    }

    /// Loads the authorities from the store and brings the TLS configuration, the server
    /// certificate and the admin identity in line with them.
    pub async fn reload(
        &self,
        authorities: &Collection<CertAuthorityV2>,
    ) -> Result<Arc<Snapshot>, KeyringError> {
        let _one_at_a_time = self.reloading.lock().await;
        let cluster = &self.cluster_name;
        let custody = &self.settings.custody;
        let load = |ca_type: &'static str| async move {
            authorities
                .get(&ca_key(ca_type, cluster))
                .await
                .map_err(KeyringError::from)
        };
        let snapshot = Arc::new(Snapshot {
            user: CaSigners::load(USER_CA, &load(USER_CA).await?, custody)?,
            host: CaSigners::load(HOST_CA, &load(HOST_CA).await?, custody)?,
            jwt: JwtSigners::load(&load(JWT_CA).await?, custody)?,
        });
        self.install_tls(&snapshot)?;
        admin::ensure(&self.settings.data_dir, &snapshot, portcullis_clock::now())?;
        *self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(snapshot.clone());
        Ok(snapshot)
    }

    fn install_tls(&self, snapshot: &Snapshot) -> Result<(), KeyringError> {
        let signer = snapshot.host.server_signer();
        let signer_id = signer.key_id();
        let mut slot = self
            .server_cert
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().map(|c| &c.signer_key_id) != Some(&signer_id) {
            let issued = signer.issue_server_cert(
                &self.cluster_name,
                &self.settings.dns_names,
                &self.settings.ips,
                portcullis_clock::now(),
                SERVER_CERT_TTL,
            )?;
            let key_pem = issued.key_pem.ok_or_else(|| KeyringError::Broken {
                ca_type: HOST_CA.into(),
                reason: "the server key was not generated".into(),
            })?;
            if slot.is_some() {
                tracing::info!(
                    fingerprint = %signer.fingerprint(),
                    "server certificate reissued by the host authority's new signer"
                );
            }
            *slot = Some(ServerCert {
                signer_key_id: signer_id,
                cert_pem: issued.cert_pem,
                key_pem,
            });
        }
        let Some(cert) = slot.as_ref() else {
            return Err(KeyringError::NotLoaded);
        };
        let config = trust::server_config(&cert.cert_pem, &cert.key_pem, &snapshot.client_roots())?;
        let trusted: HashSet<Vec<u8>> = snapshot.trusted_key_ids();
        self.tls.install(config, trusted);
        Ok(())
    }
}

/// A key ring for cluster `cluster` with fresh authorities (stored in an in-memory store),
/// and the directory it may write its admin identity to: for unit tests of the domains
/// that sign.
#[cfg(test)]
pub(crate) async fn test_keyring(cluster: &str) -> (KeyRing, tempfile::TempDir) {
    let backend: std::sync::Arc<dyn portcullis_store::Backend> =
        std::sync::Arc::new(portcullis_store::MemoryBackend::new());
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        data_dir: dir.path().to_owned(),
        dns_names: vec!["localhost".into()],
        ips: vec![],
        algorithms: Algorithms::default(),
        custody: Custody::Store,
    };
    let keyring = KeyRing::new(cluster.into(), settings);
    keyring
        .ensure_and_load(&Collection::new(backend))
        .await
        .unwrap();
    (keyring, dir)
}
