//! Joining: a host exchanges a provisioning token for host certificates
//! (RegisterUsingToken).
//!
//! A failure says why — the token is not valid, has expired, or does not allow the role —
//! and nothing more; failures count against the source address ([`super::limit`]). Success
//! and failure are audit events (`join.success`, `join.failure`). A leaf cluster joining
//! with a `Trusted_cluster` token is registered as a remote cluster named by its node name.

use std::net::IpAddr;
use std::time::{Instant, SystemTime};

use portcullis_api::auth::RegisterUsingTokenRequest;
use portcullis_api::services::RemoteClusterV3;
use serde_json::json;

use super::limit::FailureLimiter;
use super::{redact, TokenError, Tokens};
use crate::audit::{self, AuditLog};
use crate::issuance::host::{self, system_role, HostCerts};
use crate::issuance::IssueError;
use crate::keyring::KeyRing;
use crate::resources::kinds::KIND_REMOTE_CLUSTER;
use crate::resources::validate::validate_name;
use crate::resources::{Collection, ResourceError};

/// The system role of leaf clusters.
const TRUSTED_CLUSTER: &str = "Trusted_cluster";

/// Why a join was refused.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// Too many failed joins from the caller's address lately.
    #[error("too many failed joins from {addr}; try again in {wait_secs}s")]
    Throttled {
        /// The caller's address.
        addr: IpAddr,
        /// Seconds until it may try again.
        wait_secs: u64,
    },
    /// The role asked for is not a system role.
    #[error(transparent)]
    Role(IssueError),
    /// The token does not let the host join (unknown, expired, or not for that role).
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The certificates could not be issued (bad keys, no authority loaded, ...).
    #[error(transparent)]
    Issue(IssueError),
    /// Stored data could not be read or written, or the leaf cluster's name is not valid.
    #[error(transparent)]
    Resource(#[from] ResourceError),
}

/// What a join reads and writes.
pub struct Joining<'a> {
    /// The tokens.
    pub tokens: &'a Tokens,
    /// Failed joins per source address.
    pub failures: &'a FailureLimiter,
    /// The authorities that sign.
    pub keyring: &'a KeyRing,
    /// This cluster's name.
    pub cluster_name: &'a str,
    /// Where joining leaf clusters are registered.
    pub remote_clusters: &'a Collection<RemoteClusterV3>,
    /// The audit log.
    pub audit: &'a AuditLog,
}

impl Joining<'_> {
    /// Joins the host `req` describes, calling from `addr`, at `now`.
    pub async fn join(
        &self,
        addr: IpAddr,
        req: &RegisterUsingTokenRequest,
        now: SystemTime,
    ) -> Result<HostCerts, JoinError> {
        if let Err(wait) = self.failures.check(addr, Instant::now()) {
            let wait_secs = wait.as_secs().max(1);
            return Err(JoinError::Throttled { addr, wait_secs });
        }
        let role = match system_role(&req.role) {
            Ok(role) => role,
            Err(e) => return Err(self.failed(addr, req, JoinError::Role(e)).await),
        };
        let token = match self.tokens.check_join(&req.token, role, now).await? {
            Ok(token) => token,
            Err(e) => return Err(self.failed(addr, req, e.into()).await),
        };
        if role == TRUSTED_CLUSTER {
            validate_name(KIND_REMOTE_CLUSTER, &req.node_name)?;
        }
        let params = host::HostCertsParams {
            host_id: req.host_id.clone(),
            node_name: req.node_name.clone(),
            role: role.to_owned(),
            additional_principals: req.additional_principals.clone(),
            dns_names: req.dns_names.clone(),
            public_tls_key: req.public_tls_key.clone(),
            public_ssh_key: req.public_ssh_key.clone(),
            ttl_nanos: 0,
        };
        let certs = match host::issue(self.keyring, self.cluster_name, &params, now) {
            Ok(certs) => certs,
            Err(e) => return Err(self.failed(addr, req, JoinError::Issue(e)).await),
        };
        if role == TRUSTED_CLUSTER {
            // A leaf cluster joins under its cluster name (the node name).
            crate::remote_clusters::register(self.remote_clusters, &req.node_name, &token, now)
                .await?;
        }
        let fields = json!({
            "host_id": req.host_id, "node_name": req.node_name, "role": role,
            "token": redact(&req.token), "remote_addr": addr.to_string(),
        });
        self.audit
            .emit(audit::JOIN_SUCCESS, &req.host_id, fields)
            .await;
        Ok(certs)
    }

    /// Counts and audits a failed join; returns its error.
    async fn failed(
        &self,
        addr: IpAddr,
        req: &RegisterUsingTokenRequest,
        error: JoinError,
    ) -> JoinError {
        self.failures.failed(addr, Instant::now());
        let fields = json!({
            "host_id": req.host_id, "node_name": req.node_name, "role": req.role,
            "token": redact(&req.token), "remote_addr": addr.to_string(),
            "reason": error.to_string(),
        });
        self.audit.emit(audit::JOIN_FAILURE, "", fields).await;
        error
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::sync::Arc;
    use std::time::Duration;

    use portcullis_ca::ClientKey;
    use portcullis_store::{Backend, MemoryBackend};

    use super::*;

    struct World {
        tokens: Tokens,
        failures: FailureLimiter,
        keyring: KeyRing,
        remote_clusters: Collection<RemoteClusterV3>,
        audit: AuditLog,
        _dir: tempfile::TempDir,
    }

    impl World {
        async fn new() -> World {
            let backend: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
            let (keyring, dir) = crate::keyring::test_keyring("example").await;
            World {
                tokens: Tokens::new(Collection::new(backend.clone()), vec![]),
                failures: FailureLimiter::default(),
                keyring,
                remote_clusters: Collection::new(backend.clone()),
                audit: AuditLog::new(backend),
                _dir: dir,
            }
        }

        fn joining(&self) -> Joining<'_> {
            Joining {
                tokens: &self.tokens,
                failures: &self.failures,
                keyring: &self.keyring,
                cluster_name: "example",
                remote_clusters: &self.remote_clusters,
                audit: &self.audit,
            }
        }
    }

    fn request(token: &str, role: &str, host_id: &str) -> RegisterUsingTokenRequest {
        let key = ClientKey::generate().unwrap();
        RegisterUsingTokenRequest {
            token: token.into(),
            role: role.into(),
            host_id: host_id.into(),
            node_name: host_id.into(),
            public_ssh_key: key.public_key_openssh().unwrap().into_bytes(),
            public_tls_key: key.public_key_pem().unwrap().into_bytes(),
            ..Default::default()
        }
    }

    const ADDR: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[tokio::test]
    async fn a_node_joins_a_leaf_is_registered_and_failures_say_why() {
        let world = World::new().await;
        let now = portcullis_clock::now();
        let expires = now + Duration::from_secs(600);
        let node = super::super::new_token(
            "node-token-1".into(),
            vec!["Node".into()],
            expires,
            Default::default(),
        );
        world.tokens.create(&node).await.unwrap();
        let labels = [("env".to_owned(), "prod".to_owned())].into();
        let leaf = super::super::new_token(
            "leaf-token-1".into(),
            vec!["Trusted_cluster".into()],
            expires,
            labels,
        );
        world.tokens.create(&leaf).await.unwrap();

        let certs = world
            .joining()
            .join(ADDR, &request("node-token-1", "node", "n1"), now)
            .await
            .unwrap();
        assert!(certs.ssh.contains("-cert-v01@openssh.com"), "{}", certs.ssh);
        assert!(certs.tls.contains("BEGIN CERTIFICATE"));

        world
            .joining()
            .join(
                ADDR,
                &request("leaf-token-1", "Trusted_cluster", "leaf"),
                now,
            )
            .await
            .unwrap();
        let cluster = world.remote_clusters.get("leaf").await.unwrap();
        assert_eq!(
            cluster.metadata.unwrap().labels["env"],
            "prod",
            "inherits the token's labels"
        );

        let refused = [
            (
                request("node-token-1", "Overlord", "n2"),
                "unknown system role `Overlord`",
            ),
            (
                request("no-such-token", "Node", "n2"),
                "the provisioning token is not valid",
            ),
            (
                request("node-token-1", "Proxy", "n2"),
                "does not allow joining as `Proxy`",
            ),
        ];
        for (req, needle) in refused {
            let err = world.joining().join(ADDR, &req, now).await.unwrap_err();
            assert!(
                err.to_string().contains(needle),
                "`{needle}` missing from: {err}"
            );
        }
        let mut bad_key = request("node-token-1", "Node", "n2");
        bad_key.public_ssh_key = b"not a key".to_vec();
        let err = world.joining().join(ADDR, &bad_key, now).await.unwrap_err();
        assert!(matches!(err, JoinError::Issue(_)), "{err}");
    }

    #[tokio::test]
    async fn repeated_failures_from_one_address_are_throttled() {
        let world = World::new().await;
        let now = portcullis_clock::now();
        let mut throttled = None;
        for _ in 0..50 {
            match world
                .joining()
                .join(ADDR, &request("no-such-token", "Node", "n1"), now)
                .await
            {
                Err(JoinError::Token(_)) => continue,
                Err(e @ JoinError::Throttled { .. }) => {
                    throttled = Some(e);
                    break;
                }
                other => panic!("unexpected: {other:?}"),
            }
        }
        let err = throttled.expect("throttled within 50 failures").to_string();
        assert!(
            err.starts_with("too many failed joins from 127.0.0.1; try again in "),
            "{err}"
        );
        // Another address is not affected.
        let other = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        let err = world
            .joining()
            .join(other, &request("no-such-token", "Node", "n1"), now)
            .await;
        assert!(matches!(err, Err(JoinError::Token(_))), "{err:?}");
    }
}
