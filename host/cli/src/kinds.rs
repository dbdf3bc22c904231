//! Resource kinds as `pctl` spells them on the command line.

use anyhow::bail;

/// Kinds `pctl get` and `pctl rm` understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Users.
    User,
    /// Roles.
    Role,
    /// Certificate authorities.
    CertAuthority,
    /// Remote (leaf) clusters.
    RemoteCluster,
    /// Access-request policies.
    AccessRequestPolicy,
}

impl Kind {
    fn parse(word: &str) -> anyhow::Result<Self> {
        Ok(match word.to_ascii_lowercase().as_str() {
            "user" | "users" | "usr" => Self::User,
            "role" | "roles" => Self::Role,
            "cert_authority" | "cert_authorities" | "cert_authoritys" | "ca" | "cas" => {
                Self::CertAuthority
            }
            "rc" | "remote_cluster" | "remote_clusters" => Self::RemoteCluster,
            "access_request_policy" | "access_request_policies" | "arp" => {
                Self::AccessRequestPolicy
            }
            other => bail!(
                "unknown resource kind `{other}` (known: user, role, cert_authority, remote_cluster (rc), access_request_policy (arp))"
            ),
        })
    }
}

/// Parses `KIND` or `KIND/NAME`.
pub fn parse_ref(text: &str) -> anyhow::Result<(Kind, Option<String>)> {
    match text.split_once('/') {
        None => Ok((Kind::parse(text)?, None)),
        Some((kind, name)) if !name.is_empty() => Ok((Kind::parse(kind)?, Some(name.to_owned()))),
        Some(_) => bail!("`{text}` has an empty name after `/`"),
    }
}
