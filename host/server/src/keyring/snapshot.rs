//! The signers and trust anchors loaded from the stored authorities.

use std::collections::HashSet;

use portcullis_api::services::{CaKeySet, CertAuthorityV2};
use portcullis_ca::{JwtAuthority, Phase, Rotation, SshAuthority, TlsAuthority};

use super::{keys, proto, Custody, KeyringError, HOST_CA, JWT_CA, USER_CA};

/// The user or host authority, ready to sign.
pub struct CaSigners {
    /// Signs TLS certificates (the active key).
    pub tls: TlsAuthority,
    /// Signs SSH certificates (the active key).
    pub ssh: SshAuthority,
    /// The other TLS key of a running rotation (new during init and rollback, old during
    /// update_clients and update_servers).
    pub additional_tls: Option<TlsAuthority>,
    /// Every trusted TLS CA certificate (PEM): active first, then additional.
    pub trusted_tls: Vec<String>,
    /// Every trusted SSH public key (OpenSSH format): active first, then additional.
    pub trusted_ssh: Vec<String>,
    /// Key identifiers of the trusted TLS keys.
    pub trusted_key_ids: Vec<Vec<u8>>,
    /// Rotation state.
    pub rotation: Rotation,
    /// Store revision the authority was loaded at.
    pub revision: i64,
}

/// The jwt authority, ready to sign.
pub struct JwtSigners {
    /// Signs tokens (the active key).
    pub active: JwtAuthority,
    /// Every trusted public key (PEM).
    pub trusted: Vec<String>,
    /// Rotation state.
    pub rotation: Rotation,
    /// Store revision the authority was loaded at.
    pub revision: i64,
}

/// Every authority of the cluster, as loaded at one moment.
pub struct Snapshot {
    /// Signs client certificates; its keys verify callers.
    pub user: CaSigners,
    /// Signs host and server certificates.
    pub host: CaSigners,
    /// Signs application tokens.
    pub jwt: JwtSigners,
}

fn key_sets(ca: &CertAuthorityV2) -> (CaKeySet, Option<CaKeySet>) {
    let spec = ca.spec.clone().unwrap_or_default();
    (
        spec.active_keys.unwrap_or_default(),
        spec.additional_trusted_keys,
    )
}

fn revision(ca: &CertAuthorityV2) -> i64 {
    ca.metadata.as_ref().map(|m| m.id).unwrap_or(0)
}

impl CaSigners {
    /// Loads the signers of a stored user or host authority.
    pub fn load(
        ca_type: &str,
        ca: &CertAuthorityV2,
        custody: &Custody,
    ) -> Result<Self, KeyringError> {
        let (active, additional) = key_sets(ca);
        let tls = keys::tls_signer(ca_type, &active, custody)?;
        let ssh = keys::ssh_signer(ca_type, &active, custody)?;
        let additional_tls = match &additional {
            Some(set) if !set.tls.is_empty() => Some(keys::tls_signer(ca_type, set, custody)?),
            _ => None,
        };
        let sets: Vec<&CaKeySet> = std::iter::once(&active).chain(additional.iter()).collect();
        let mut trusted_key_ids = vec![tls.key_id()];
        if let Some(other) = &additional_tls {
            trusted_key_ids.push(other.key_id());
        }
        Ok(Self {
            trusted_tls: keys::tls_certs(sets.iter().copied()),
            trusted_ssh: keys::ssh_public_keys(sets.iter().copied()),
            tls,
            ssh,
            additional_tls,
            trusted_key_ids,
            rotation: proto::from_proto(ca.spec.as_ref().and_then(|s| s.rotation.as_ref())),
            revision: revision(ca),
        })
    }

    /// The key that signs the auth server's own certificate: during update_clients servers
    /// still present certificates of the old key, which is then the additional one.
    pub fn server_signer(&self) -> &TlsAuthority {
        match (&self.rotation.phase, &self.additional_tls) {
            (Phase::UpdateClients, Some(old)) => old,
            _ => &self.tls,
        }
    }
}

impl JwtSigners {
    /// Loads the signer of the stored jwt authority.
    pub fn load(ca: &CertAuthorityV2, custody: &Custody) -> Result<Self, KeyringError> {
        let (active, additional) = key_sets(ca);
        Ok(Self {
            active: keys::jwt_signer(&active, custody)?,
            trusted: keys::jwt_public_keys(std::iter::once(&active).chain(additional.iter())),
            rotation: proto::from_proto(ca.spec.as_ref().and_then(|s| s.rotation.as_ref())),
            revision: revision(ca),
        })
    }
}

impl Snapshot {
    /// Key identifiers of every TLS key a caller's certificate may be signed by.
    pub fn trusted_key_ids(&self) -> HashSet<Vec<u8>> {
        self.user
            .trusted_key_ids
            .iter()
            .chain(&self.host.trusted_key_ids)
            .cloned()
            .collect()
    }

    /// The CA certificates client certificates are verified against (user and host
    /// authorities, every trusted key).
    pub fn client_roots(&self) -> Vec<&str> {
        self.user
            .trusted_tls
            .iter()
            .chain(&self.host.trusted_tls)
            .map(String::as_str)
            .collect()
    }

    /// The store revision the `ca_type` authority was loaded at.
    pub fn revision(&self, ca_type: &str) -> Option<i64> {
        match ca_type {
            USER_CA => Some(self.user.revision),
            HOST_CA => Some(self.host.revision),
            JWT_CA => Some(self.jwt.revision),
            _ => None,
        }
    }
}
