//! `--login CERT_FILE`: the node admits users by their SSH certificates, as an SSH server
//! enforcing the roles' `max_connections` across the cluster would.
//!
//! For each certificate (a `*-cert.pub` made by `pctl auth sign --format openssh`) the node
//! checks that the cluster's user CA signed it and that it is valid now, takes the user from
//! its key id and the limit from its `max-connections@portcullis` extension, and acquires a
//! lease on the `connection` semaphore named after the user with that many leases at most
//! (holder: the node's name). It prints `admitted USER lease ID` or `refused USER: REASON`,
//! keeps the admitted leases alive with its heartbeats, and cancels them when it stops.
//! A certificate without the extension has no connection limit: admitted without a lease.

use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context};
use portcullis_api::auth::GetCertAuthorityRequest;
use portcullis_api::kinds::SEMAPHORE_KIND_CONNECTION;
use portcullis_api::services::{AcquireSemaphoreRequest, SemaphoreLease};
use portcullis_api::Client;
use ssh_key::{Certificate, Fingerprint, HashAlg, PublicKey};

/// The certificate extension carrying the user's connection limit.
const MAX_CONNECTIONS: &str = "max-connections@portcullis";

/// A user asking to log in, as its certificate says.
pub struct Login {
    /// The user (the certificate's key id).
    pub user: String,
    /// Its `max-connections@portcullis` (`None`: no limit).
    pub max_connections: Option<i64>,
}

/// Fingerprints of the cluster's user CA keys (active and, during a rotation, trusted ones).
pub async fn user_ca_fingerprints(client: &Client) -> anyhow::Result<Vec<Fingerprint>> {
    let ca = client
        .rpc()
        .get_cert_authority(GetCertAuthorityRequest {
            r#type: "user".to_owned(),
            domain_name: String::new(),
            with_secrets: false,
        })
        .await
        .context("cannot read the user CA")?
        .into_inner();
    let spec = ca.spec.unwrap_or_default();
    let pairs = [spec.active_keys, spec.additional_trusted_keys];
    let keys = spec.checking_keys.into_iter().chain(
        pairs
            .into_iter()
            .flatten()
            .flat_map(|set| set.ssh)
            .map(|k| k.public_key),
    );
    let mut fingerprints = Vec::new();
    for key in keys {
        let text = String::from_utf8_lossy(&key);
        let key = PublicKey::from_openssh(text.trim()).context("a user CA key does not parse")?;
        fingerprints.push(key.fingerprint(HashAlg::Sha256));
    }
    Ok(fingerprints)
}

/// Reads the certificate at `path` and checks it against the user CA `trusted` at `now`.
pub fn read_login(path: &Path, trusted: &[Fingerprint], now: SystemTime) -> anyhow::Result<Login> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    let cert = Certificate::from_openssh(text.trim())
        .with_context(|| format!("`{}` is not an OpenSSH certificate", path.display()))?;
    let unix = now.duration_since(SystemTime::UNIX_EPOCH)?.as_secs();
    cert.validate_at(unix, trusted).with_context(|| {
        format!(
            "the certificate of `{}` is not valid now or not signed by the user CA",
            cert.key_id()
        )
    })?;
    let max_connections =
        match cert.extensions().get(MAX_CONNECTIONS) {
            None => None,
            Some(value) => Some(value.parse::<i64>().with_context(|| {
                format!("extension {MAX_CONNECTIONS} `{value}` is not a number")
            })?),
        };
    if cert.key_id().is_empty() {
        bail!("the certificate names no user (empty key id)");
    }
    Ok(Login {
        user: cert.key_id().to_owned(),
        max_connections,
    })
}

/// The connection leases the node holds for the users it admitted.
pub struct Connections {
    node: String,
    ttl: Duration,
    held: Vec<(String, SemaphoreLease)>,
}

impl Connections {
    /// No connections yet, for node `node`, leases living `ttl` between keep-alives.
    pub fn new(node: &str, ttl: Duration) -> Self {
        Connections {
            node: node.to_owned(),
            ttl,
            held: Vec::new(),
        }
    }

    /// Admits `login` if its connection limit allows, printing the outcome.
    pub async fn admit(&mut self, client: &Client, login: Login) {
        let Some(max) = login.max_connections else {
            println!("admitted {} (no connection limit)", login.user);
            return;
        };
        let request = AcquireSemaphoreRequest {
            semaphore_kind: SEMAPHORE_KIND_CONNECTION.to_owned(),
            semaphore_name: login.user.clone(),
            max_leases: max,
            expires: Some((SystemTime::now() + self.ttl).into()),
            holder: self.node.clone(),
        };
        match client.rpc().acquire_semaphore(request).await {
            Ok(lease) => {
                let lease = lease.into_inner();
                println!("admitted {} lease {}", login.user, lease.lease_id);
                self.held.push((login.user, lease));
            }
            Err(status) => println!("refused {}: {}", login.user, status.message()),
        }
    }

    /// Extends every held lease; a lease that is gone (expired, or its semaphore removed)
    /// ends that user's connection.
    pub async fn keep_alive(&mut self, client: &Client) {
        let mut kept = Vec::with_capacity(self.held.len());
        for (user, mut lease) in std::mem::take(&mut self.held) {
            lease.expires = Some((SystemTime::now() + self.ttl).into());
            match client.rpc().keep_alive_semaphore_lease(lease.clone()).await {
                Ok(_) => kept.push((user, lease)),
                Err(status) => println!("disconnected {user}: {}", status.message()),
            }
        }
        self.held = kept;
    }

    /// Gives every held lease back.
    pub async fn cancel_all(self, client: &Client) {
        for (user, lease) in self.held {
            match client.rpc().cancel_semaphore_lease(lease).await {
                Ok(_) => println!("released {user}"),
                Err(status) => println!("release of {user} failed: {}", status.message()),
            }
        }
    }
}
