//! First-start bootstrap and later-start reuse of the cluster's identity.
//!
//! On first start the server fixes the cluster name, generates the user, host and jwt
//! certificate authorities (stored as `cert_authority` resources, see [`crate::keyring`])
//! and writes an admin identity (`admin.crt`, `admin.key`, `admin.cas`, mode 0600) into the
//! data directory for `pctl`. Later starts load all of it again; the admin identity is
//! reissued only when it is missing, unreadable, close to expiry or no longer signed by the
//! user authority's current key.

use std::net::IpAddr;
use std::sync::Arc;

use portcullis_api::services::{ClusterNameSpecV2, ClusterNameV2, Metadata};

use crate::config::Config;
use crate::keyring::{KeyringError, Settings};
use crate::modules::{Policies, PolicyServiceError};
use crate::resources::kinds::{CLUSTER_NAME_RESOURCE, KIND_CLUSTER_NAME};
use crate::resources::validate::{validate_name, DEFAULT_NAMESPACE};
use crate::resources::{Collection, ResourceError};
use crate::state::State;

pub use crate::keyring::admin::{ADMIN_ROLE, ADMIN_USER};
pub use crate::keyring::{HOST_CA, JWT_CA, USER_CA};

/// Errors during bootstrap.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// Stored data could not be read or written.
    #[error(transparent)]
    Resource(#[from] ResourceError),
    /// The authorities could not be created or loaded.
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    /// The policy engine could not start or load the stored modules.
    #[error(transparent)]
    Policy(#[from] PolicyServiceError),
    /// The configuration contradicts the stored cluster.
    #[error("{0}")]
    Mismatch(String),
}

/// Runs bootstrap against `backend` and the data directory in `config`: fixes the cluster
/// name, creates missing authorities, loads them and writes the admin identity.
pub async fn bootstrap(
    config: &Config,
    backend: Arc<dyn portcullis_store::Backend>,
) -> Result<Arc<State>, BootstrapError> {
    let cluster_name = cluster_name(config, &Collection::new(backend.clone())).await?;
    let mut dns_names = vec![
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
            Err(_) => dns_names.push(addr.clone()),
        }
    }
    ips.dedup();
    let settings = Settings {
        data_dir: config.data_dir.clone(),
        dns_names,
        ips,
        algorithms: config.algorithms,
        custody: crate::keyring::Custody::open(&config.keys)?,
    };
    let policies = Policies::new(
        config.data_dir.join("policy-cache"),
        config.policy_limits,
        config.policy_validation,
        backend.clone(),
    )?
    .with_compile_timeout(
        config.policy_compile_timeout,
        config.policy_component_compile_timeout,
    )
    .with_fixed_clock(config.policy_clock);
    if let Some(at) = config.policy_clock {
        tracing::warn!(
            clock = %humantime::format_rfc3339_seconds(at),
            "policy modules see a fixed time (policy.clock): for staging and tests only"
        );
    }
    let state = Arc::new(
        State::new(cluster_name, backend, settings, policies)
            .with_static_tokens(config.static_tokens.clone())
            .with_access_request_ttl(config.access_request_ttl)
            .with_session_limits(config.session_limits)
            .with_user_settings(config.users.clone())
            .with_max_unpaged_list(config.max_unpaged_list)
            .with_rate_limits(config.rate_limits),
    );
    state.keyring.ensure_and_load(&state.authorities).await?;
    let loaded = state.policies.load_stored().await?;
    if loaded > 0 {
        tracing::info!(modules = loaded, "loaded policy modules");
    }
    Ok(state)
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
            match names.create(&resource).await {
                Ok(_) => {
                    tracing::info!(cluster = %name, "created new cluster");
                    Ok(name)
                }
                // Another server on the same store created the cluster first: join it, as a
                // later start would.
                Err(ResourceError::AlreadyExists { .. }) => {
                    Box::pin(cluster_name(config, names)).await
                }
                Err(e) => Err(e.into()),
            }
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
