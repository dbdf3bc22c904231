//! User certificates: an SSH certificate and a TLS client certificate for one public key.
//! The SSH certificate also carries the session limits of the user's roles
//! ([`super::limits`]); the TLS identity does not (nodes enforce them from SSH). The TLS
//! identity carries the Kubernetes users and groups of the roles, and the Kubernetes cluster
//! asked for once [`super::kube`] has checked it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use portcullis_api::services::{AccessRequestV3, RoleConditions, RoleV3, UserV2};
use portcullis_ca::{Identity, Permissions, UserCertRequest};

use super::limits::SessionLimits;
use super::{ssh_extensions, IssueError};
use crate::keyring::KeyRing;
use crate::resources::Collection;

/// What issuing a user's certificates reads: the users, their roles, the access requests
/// whose roles they add, and the authorities that sign.
pub struct UserIssuer<'a> {
    /// The authorities.
    pub keyring: &'a KeyRing,
    /// This cluster's name (the only cluster requests may be routed to, for now).
    pub cluster_name: &'a str,
    /// The users.
    pub users: &'a Collection<UserV2>,
    /// The roles.
    pub roles: &'a Collection<RoleV3>,
    /// The access requests.
    pub access_requests: &'a Collection<AccessRequestV3>,
    /// The store, where Kubernetes services are registered.
    pub backend: &'a dyn portcullis_store::Backend,
}

/// Lifetime of user certificates when the request names none.
pub const DEFAULT_USER_TTL: Duration = Duration::from_secs(12 * 3600);
/// Longest lifetime of user certificates.
pub const MAX_USER_TTL: Duration = Duration::from_secs(30 * 3600);

/// What a caller asks to have signed.
#[derive(Debug, Clone, Default)]
pub struct UserCertsParams {
    /// The user the certificates are for.
    pub username: String,
    /// The public key: an OpenSSH `authorized_keys` line, or a PEM/DER `PUBLIC KEY`.
    pub public_key: Vec<u8>,
    /// Desired expiry (the server may shorten it).
    pub expires: Option<SystemTime>,
    /// Cluster to route requests to.
    pub route_to_cluster: String,
    /// Access requests whose roles to add.
    pub access_requests: Vec<String>,
    /// Kubernetes cluster to target.
    pub kubernetes_cluster: String,
}

/// The certificates issued.
#[derive(Debug, Clone)]
pub struct UserCerts {
    /// SSH certificate in OpenSSH format; `None` when the key was given as PEM/DER or the
    /// user has no logins.
    pub ssh: Option<String>,
    /// TLS client certificate (PEM).
    pub tls: String,
    /// When both expire.
    pub expires: SystemTime,
}

fn traits_of(user: &UserV2) -> BTreeMap<String, Vec<String>> {
    user.spec
        .as_ref()
        .map(|s| {
            s.traits
                .iter()
                .map(|(k, v)| (k.clone(), v.values.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The values of a list field of the roles' conditions (`logins`, `kubernetes_groups`, ...),
/// trait templates expanded, less what any role denies; sorted, without empty values.
pub(super) fn allowed_values(
    roles: &[RoleV3],
    traits: &BTreeMap<String, Vec<String>>,
    field: fn(&RoleConditions) -> &Vec<String>,
) -> Vec<String> {
    let mut allowed = BTreeSet::new();
    let mut denied = BTreeSet::new();
    for role in roles {
        let Some(spec) = &role.spec else { continue };
        for value in spec.allow.iter().flat_map(field) {
            allowed.extend(portcullis_authz::templates::expand(value, traits));
        }
        for value in spec.deny.iter().flat_map(field) {
            denied.extend(portcullis_authz::templates::expand(value, traits));
        }
    }
    allowed
        .difference(&denied)
        .filter(|l| !l.is_empty())
        .cloned()
        .collect()
}

fn logins(roles: &[RoleV3], traits: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    allowed_values(roles, traits, |c| &c.logins)
}

fn permissions(roles: &[RoleV3]) -> Permissions {
    let options = || {
        roles
            .iter()
            .filter_map(|r| r.spec.as_ref()?.options.as_ref())
    };
    Permissions {
        pty: true,
        // Port forwarding is on unless a role turns it off; agent and X11 forwarding are
        // off unless a role turns them on.
        port_forwarding: !options().any(|o| o.port_forwarding == Some(false)),
        agent_forwarding: options().any(|o| o.forward_agent),
        x11_forwarding: options().any(|o| o.permit_x11_forwarding),
    }
}

/// The lifetime: the requested one (default 12 h), at most 30 h and at most the shortest
/// `max_session_ttl` of the user's roles.
pub(crate) fn ttl(
    roles: &[RoleV3],
    expires: Option<SystemTime>,
    now: SystemTime,
) -> Result<Duration, IssueError> {
    let requested = match expires {
        None => DEFAULT_USER_TTL,
        Some(at) => super::lifetime_until(at, now)?,
    };
    let role_cap = roles
        .iter()
        .filter_map(|r| r.spec.as_ref()?.options.as_ref())
        .filter_map(|o| u64::try_from(o.max_session_ttl).ok())
        .filter(|nanos| *nanos > 0)
        .map(Duration::from_nanos)
        .min();
    let mut ttl = requested.min(MAX_USER_TTL);
    if let Some(cap) = role_cap {
        ttl = ttl.min(cap);
    }
    Ok(ttl)
}

fn is_openssh_key(key: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(key).ok()?.trim();
    let kind = text.split_whitespace().next()?;
    (kind.starts_with("ssh-") || kind.starts_with("ecdsa-sha2-") || kind.starts_with("sk-"))
        .then_some(text)
}

/// Adds the roles of the approved access requests `params.access_requests` to `roles` and
/// returns the earliest access expiry among them. A request that is unknown (or expired),
/// belongs to another user, or is not approved is refused.
async fn add_requested_roles(
    state: &UserIssuer<'_>,
    params: &UserCertsParams,
    roles: &mut Vec<RoleV3>,
    now: SystemTime,
) -> Result<Option<SystemTime>, IssueError> {
    use crate::access_requests::{access_expires, spec, state as request_state, state_name};
    use portcullis_api::services::RequestState;
    let mut until: Option<SystemTime> = None;
    for id in &params.access_requests {
        let request = state.access_requests.find(id).await?.ok_or_else(|| {
            IssueError::Denied(format!(
                "access request `{id}` does not exist or has expired"
            ))
        })?;
        let spec = spec(&request);
        if spec.user != params.username {
            return Err(IssueError::Denied(format!(
                "access request `{id}` belongs to another user"
            )));
        }
        let current = request_state(&request);
        if current != RequestState::Approved {
            return Err(IssueError::Denied(format!(
                "access request `{id}` is {}, not approved",
                state_name(current)
            )));
        }
        let expires = access_expires(&request)
            .filter(|at| *at > now)
            .ok_or_else(|| {
                IssueError::Denied(format!("the access granted by request `{id}` has expired"))
            })?;
        until = Some(until.map_or(expires, |u| u.min(expires)));
        for name in &spec.roles {
            let held = roles
                .iter()
                .any(|r| r.metadata.as_ref().is_some_and(|m| &m.name == name));
            if held {
                continue;
            }
            let role = match portcullis_authz::builtin::role_named(name) {
                Some(role) => role,
                None => state.roles.find(name).await?.ok_or_else(|| {
                    IssueError::Invalid(format!(
                        "access request `{id}` grants role `{name}`, which no longer exists"
                    ))
                })?,
            };
            roles.push(role);
        }
    }
    Ok(until)
}

/// Issues the certificates of `params.username` for `params.public_key`.
pub async fn issue(
    state: &UserIssuer<'_>,
    params: &UserCertsParams,
    now: SystemTime,
) -> Result<UserCerts, IssueError> {
    if !params.route_to_cluster.is_empty() && params.route_to_cluster != *state.cluster_name {
        return Err(IssueError::Invalid(format!(
            "unknown cluster `{}` to route to: this cluster is `{}` and no remote cluster by \
             that name is registered",
            params.route_to_cluster, state.cluster_name
        )));
    }
    if params.public_key.is_empty() {
        return Err(IssueError::Invalid(
            "no public key to sign was given".into(),
        ));
    }
    let user = state.users.get(&params.username).await?;
    let mut roles = Vec::new();
    for name in user
        .spec
        .as_ref()
        .map(|s| s.roles.as_slice())
        .unwrap_or(&[])
    {
        if let Some(role) = portcullis_authz::builtin::role_named(name) {
            roles.push(role);
            continue;
        }
        match state.roles.find(name).await? {
            Some(role) => roles.push(role),
            None => {
                return Err(IssueError::Invalid(format!(
                    "user `{}` holds role `{name}`, which does not exist",
                    params.username
                )))
            }
        }
    }
    let access_until = add_requested_roles(state, params, &mut roles, now).await?;
    let traits = traits_of(&user);
    let logins = logins(&roles, &traits);
    let kube = super::kube::KubeAccess::of(&roles, &traits);
    if !params.kubernetes_cluster.is_empty() {
        super::kube::check_cluster(state.backend, &roles, &traits, &params.kubernetes_cluster)
            .await?;
    }
    let mut ttl = ttl(&roles, params.expires, now)?;
    if let Some(until) = access_until {
        ttl = ttl.min(until.duration_since(now).unwrap_or_default());
    }
    let role_names: Vec<String> = roles
        .iter()
        .filter_map(|r| r.metadata.as_ref().map(|m| m.name.clone()))
        .collect();

    let keyring = state.keyring.current()?;
    // Without logins there is nothing an SSH certificate could be valid for (a certificate
    // without principals would be valid for every login), so only the TLS one is issued.
    let ssh = match is_openssh_key(&params.public_key) {
        Some(key) if !logins.is_empty() => {
            // The roles' session limits (see `limits`), then the identity.
            let mut extensions = SessionLimits::of(&roles).ssh_extensions();
            extensions.insert(
                ssh_extensions::ROLES.to_owned(),
                json(&role_names).map_err(IssueError::Invalid)?,
            );
            extensions.insert(
                ssh_extensions::TRAITS.to_owned(),
                json(&traits).map_err(IssueError::Invalid)?,
            );
            if !params.access_requests.is_empty() {
                extensions.insert(
                    ssh_extensions::ACTIVE_REQUESTS.to_owned(),
                    json(&params.access_requests).map_err(IssueError::Invalid)?,
                );
            }
            if !params.route_to_cluster.is_empty() {
                extensions.insert(
                    ssh_extensions::ROUTE_TO_CLUSTER.to_owned(),
                    params.route_to_cluster.clone(),
                );
            }
            let request = UserCertRequest {
                public_key: key.to_owned(),
                key_id: params.username.clone(),
                principals: logins.clone(),
                permissions: permissions(&roles),
                extensions,
                ttl,
            };
            Some(keyring.user.ssh.sign_user_cert(&request, now)?)
        }
        _ => None,
    };
    let public_key = portcullis_ca::SubjectKey::from_any(&params.public_key)?;
    let identity = Identity {
        username: params.username.clone(),
        roles: role_names,
        logins,
        traits,
        route_to_cluster: params.route_to_cluster.clone(),
        active_requests: params.access_requests.clone(),
        kubernetes_users: kube.users,
        kubernetes_groups: kube.groups,
        kubernetes_cluster: params.kubernetes_cluster.clone(),
        ..Identity::default()
    };
    let tls = keyring
        .user
        .tls
        .issue_client_cert(&identity, Some(&public_key), now, ttl)?;
    Ok(UserCerts {
        ssh,
        tls: tls.cert_pem,
        expires: now + ttl,
    })
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| format!("cannot encode an extension: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_api::services::{RoleConditions, RoleOptions, RoleSpecV3};

    fn role(allow: &[&str], deny: &[&str], options: RoleOptions) -> RoleV3 {
        RoleV3 {
            spec: Some(RoleSpecV3 {
                options: Some(options),
                allow: Some(RoleConditions {
                    logins: allow.iter().map(|s| s.to_string()).collect(),
                    ..Default::default()
                }),
                deny: Some(RoleConditions {
                    logins: deny.iter().map(|s| s.to_string()).collect(),
                    ..Default::default()
                }),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn logins_expand_traits_and_deny_wins() {
        let mut traits = BTreeMap::new();
        traits.insert(
            "logins".to_owned(),
            vec!["alice".to_owned(), "ops".to_owned()],
        );
        let roles = [
            role(
                &["root", "{{internal.logins}}"],
                &[],
                RoleOptions::default(),
            ),
            role(&["{{external.missing}}"], &["ops"], RoleOptions::default()),
        ];
        assert_eq!(logins(&roles, &traits), vec!["alice", "root"]);
    }

    #[test]
    fn ttl_defaults_caps_and_respects_roles() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let plain = [role(&[], &[], RoleOptions::default())];
        assert_eq!(ttl(&plain, None, now).unwrap(), DEFAULT_USER_TTL);
        let far = now + Duration::from_secs(100 * 3600);
        assert_eq!(ttl(&plain, Some(far), now).unwrap(), MAX_USER_TTL);
        let short = [role(
            &[],
            &[],
            RoleOptions {
                max_session_ttl: 3_600_000_000_000,
                ..Default::default()
            },
        )];
        assert_eq!(ttl(&short, None, now).unwrap(), Duration::from_secs(3600));
        assert!(ttl(&plain, Some(now - Duration::from_secs(1)), now).is_err());
    }

    #[test]
    fn permissions_follow_role_options() {
        let default = permissions(&[role(&[], &[], RoleOptions::default())]);
        assert!(default.pty && default.port_forwarding);
        assert!(!default.agent_forwarding && !default.x11_forwarding);
        let strict = permissions(&[
            role(&[], &[], RoleOptions::default()),
            role(
                &[],
                &[],
                RoleOptions {
                    port_forwarding: Some(false),
                    forward_agent: true,
                    permit_x11_forwarding: true,
                    ..Default::default()
                },
            ),
        ]);
        assert!(!strict.port_forwarding && strict.agent_forwarding && strict.x11_forwarding);
    }
}
