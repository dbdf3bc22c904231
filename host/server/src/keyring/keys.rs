//! Generating and loading the key sets of an authority (where their private keys live is
//! the [`Custody`]'s business).

use std::time::{Duration, SystemTime};

use portcullis_api::services::CaKeySet;
use portcullis_ca::{JwtAlgorithm, JwtAuthority, SshAlgorithm, SshAuthority, TlsAuthority};

use super::{Custody, KeyringError, HOST_CA, JWT_CA, USER_CA};

/// How long a certificate authority's own certificate is valid.
const CA_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Key algorithms for newly generated authority keys (at first start and at each rotation,
/// so changing them in the configuration takes effect at the next rotation).
#[derive(Debug, Clone, Copy, Default)]
pub struct Algorithms {
    /// SSH signing keys of the user and host authorities.
    pub ssh: SshAlgorithm,
    /// JWT signing keys.
    pub jwt: JwtAlgorithm,
}

/// Generates a fresh key set for a `ca_type` authority of `cluster`, its private keys kept by
/// `custody`: TLS and SSH keys for the user and host authorities, a JWT key for the jwt
/// authority.
pub fn generate(
    ca_type: &str,
    cluster: &str,
    algorithms: Algorithms,
    custody: &Custody,
    now: SystemTime,
) -> Result<CaKeySet, KeyringError> {
    match ca_type {
        USER_CA | HOST_CA => Ok(CaKeySet {
            tls: vec![custody.generate_tls(cluster, ca_type, now, CA_TTL)?],
            ssh: vec![custody.generate_ssh(cluster, ca_type, algorithms.ssh)?],
            ..Default::default()
        }),
        JWT_CA => Ok(CaKeySet {
            jwt: vec![custody.generate_jwt(cluster, algorithms.jwt)?],
            ..Default::default()
        }),
        other => Err(KeyringError::UnknownType(other.to_owned())),
    }
}

fn broken(ca_type: &str, reason: impl Into<String>) -> KeyringError {
    KeyringError::Broken {
        ca_type: ca_type.to_owned(),
        reason: reason.into(),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The TLS signer of a key set (its first TLS pair, which must carry a private key).
pub fn tls_signer(
    ca_type: &str,
    set: &CaKeySet,
    custody: &Custody,
) -> Result<TlsAuthority, KeyringError> {
    let pair = set
        .tls
        .first()
        .ok_or_else(|| broken(ca_type, "no TLS key pair"))?;
    if pair.key.is_empty() {
        return Err(broken(ca_type, "the TLS key pair has no private key"));
    }
    custody.tls_signer(ca_type, pair)
}

/// The SSH signer of a key set.
pub fn ssh_signer(
    ca_type: &str,
    set: &CaKeySet,
    custody: &Custody,
) -> Result<SshAuthority, KeyringError> {
    let pair = set
        .ssh
        .first()
        .ok_or_else(|| broken(ca_type, "no SSH key pair"))?;
    if pair.private_key.is_empty() {
        return Err(broken(ca_type, "the SSH key pair has no private key"));
    }
    custody.ssh_signer(ca_type, pair)
}

/// The JWT signer of a key set.
pub fn jwt_signer(set: &CaKeySet, custody: &Custody) -> Result<JwtAuthority, KeyringError> {
    let pair = set
        .jwt
        .first()
        .ok_or_else(|| broken(JWT_CA, "no JWT key pair"))?;
    if pair.private_key.is_empty() {
        return Err(broken(JWT_CA, "the JWT key pair has no private key"));
    }
    custody.jwt_signer(JWT_CA, pair)
}

/// The TLS certificates (PEM) of the given key sets.
pub fn tls_certs<'a>(sets: impl IntoIterator<Item = &'a CaKeySet>) -> Vec<String> {
    sets.into_iter()
        .flat_map(|s| s.tls.iter().map(|p| text(&p.cert)))
        .collect()
}

/// The SSH public keys (OpenSSH format) of the given key sets.
pub fn ssh_public_keys<'a>(sets: impl IntoIterator<Item = &'a CaKeySet>) -> Vec<String> {
    sets.into_iter()
        .flat_map(|s| s.ssh.iter().map(|p| text(&p.public_key).trim().to_owned()))
        .collect()
}

/// The JWT public keys (PEM) of the given key sets.
pub fn jwt_public_keys<'a>(sets: impl IntoIterator<Item = &'a CaKeySet>) -> Vec<String> {
    sets.into_iter()
        .flat_map(|s| s.jwt.iter().map(|p| text(&p.public_key)))
        .collect()
}
