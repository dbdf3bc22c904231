//! Who may announce what: a host (an identity with a system role) registers and keeps alive
//! only itself — the server's name must be the host id of its certificate — while users
//! whose roles allow it (`admin`) and the `Auth` system role act for any server. The RBAC
//! table decides first; these rules come on top.

use std::time::SystemTime;

use portcullis_api::services::{KeepAlive, ServerV2};
use portcullis_ca::Identity;
use portcullis_store::Backend;

use super::validate::{expiry, normalize_server};
use super::{PresenceError, Registry, ServerKind};

/// The system role that may act for any server (the auth server itself).
const AUTH_SYSTEM_ROLE: &str = "Auth";

/// Refuses a host of cluster `cluster_name` acting for a server other than itself.
pub fn check_self(
    cluster_name: &str,
    identity: &Identity,
    kind: ServerKind,
    name: &str,
) -> Result<(), PresenceError> {
    let is_host = !identity.system_roles.is_empty();
    let any_server = identity
        .system_roles
        .iter()
        .any(|r| r.eq_ignore_ascii_case(AUTH_SYSTEM_ROLE));
    if !is_host || any_server {
        return Ok(());
    }
    let suffix = format!(".{cluster_name}");
    let host_id = identity
        .username
        .strip_suffix(&suffix)
        .unwrap_or(&identity.username);
    if host_id == name {
        return Ok(());
    }
    Err(PresenceError::NotSelf {
        host_id: host_id.to_owned(),
        kind: kind.name(),
        name: name.to_owned(),
    })
}

/// `UpsertNode` / `UpsertProxy` for `identity`: checks and normalizes `server`, and
/// registers it under a new lease.
pub async fn register(
    backend: &dyn Backend,
    cluster_name: &str,
    identity: &Identity,
    kind: ServerKind,
    mut server: ServerV2,
    now: SystemTime,
) -> Result<KeepAlive, PresenceError> {
    normalize_server(kind, &mut server)?;
    let metadata = server.metadata.clone().unwrap_or_default();
    check_self(cluster_name, identity, kind, &metadata.name)?;
    let expires = expiry(metadata.expires, now, "metadata.expires")?;
    let lease = Registry::new(backend, kind).upsert(server, expires).await?;
    tracing::debug!(kind = kind.name(), name = %lease.name, "server registered");
    Ok(lease)
}

/// The server a keep-alive names, as `(kind, namespace, name)`, once it is checked to name
/// one and its lease.
pub fn keep_alive_target(
    keep_alive: &KeepAlive,
) -> Result<(ServerKind, String, String), PresenceError> {
    let kind = ServerKind::of_keep_alive(keep_alive.r#type)?;
    let namespace = super::validate::namespace(kind, &keep_alive.namespace)?;
    if keep_alive.name.is_empty() {
        return Err(PresenceError::invalid(
            "a keep-alive has no Name (the name of the server it keeps alive)",
        ));
    }
    if keep_alive.lease_id == 0 {
        return Err(PresenceError::invalid(format!(
            "the keep-alive of {} `{}` has no LeaseID (the lease its registration returned)",
            kind.name(),
            keep_alive.name
        )));
    }
    Ok((kind, namespace, keep_alive.name.clone()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use portcullis_api::services::Metadata;
    use portcullis_store::MemoryBackend;

    use super::*;

    fn host(id: &str, role: &str) -> Identity {
        let mut identity = Identity::new(format!("{id}.example"), vec![]);
        identity.system_roles = vec![role.to_owned()];
        identity
    }

    fn node(name: &str) -> ServerV2 {
        ServerV2 {
            metadata: Some(Metadata {
                name: name.to_owned(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn hosts_act_only_for_themselves_users_and_auth_for_any() {
        let own = check_self("example", &host("n1", "Node"), ServerKind::Node, "n1");
        assert!(own.is_ok());
        let err = check_self("example", &host("n1", "Node"), ServerKind::Node, "n2").unwrap_err();
        assert_eq!(
            err.to_string(),
            "host `n1` may only announce itself, not node `n2`"
        );
        let auth = host("auth", "auth");
        assert!(check_self("example", &auth, ServerKind::Proxy, "p9").is_ok());
        let admin = Identity::new("admin", vec!["admin".into()]);
        assert!(check_self("example", &admin, ServerKind::Node, "n2").is_ok());
    }

    #[tokio::test]
    async fn register_normalizes_checks_and_leases() {
        let backend = Arc::new(MemoryBackend::new());
        let now = portcullis_clock::now();
        let n1 = host("n1", "Node");
        let lease = register(&*backend, "example", &n1, ServerKind::Node, node("n1"), now)
            .await
            .unwrap();
        assert_eq!(
            (lease.name.as_str(), lease.namespace.as_str()),
            ("n1", "default")
        );
        assert!(lease.lease_id > 0);
        // Nothing is written for a refused registration.
        let err = register(&*backend, "example", &n1, ServerKind::Node, node("n2"), now)
            .await
            .unwrap_err();
        assert!(matches!(err, PresenceError::NotSelf { .. }), "{err}");
        let listed = Registry::new(&*backend, ServerKind::Node)
            .list("default", &Default::default())
            .await
            .unwrap();
        let names: Vec<_> = listed
            .iter()
            .map(|s| s.metadata.as_ref().unwrap().name.clone())
            .collect();
        assert_eq!(names, ["n1"]);
        // A past expiry is refused.
        let mut late = node("n1");
        late.metadata.as_mut().unwrap().expires = Some((now - Duration::from_secs(60)).into());
        let err = register(&*backend, "example", &n1, ServerKind::Node, late, now).await;
        assert!(matches!(err, Err(PresenceError::Invalid(_))), "{err:?}");
    }

    #[test]
    fn keep_alives_name_a_server_and_a_lease() {
        let mut keep_alive = KeepAlive {
            name: "n1".into(),
            lease_id: 7,
            ..Default::default()
        };
        let (kind, namespace, name) = keep_alive_target(&keep_alive).unwrap();
        assert_eq!(
            (kind, namespace.as_str(), name.as_str()),
            (ServerKind::Node, "default", "n1")
        );
        keep_alive.lease_id = 0;
        let err = keep_alive_target(&keep_alive).unwrap_err().to_string();
        assert!(err.contains("has no LeaseID"), "{err}");
        keep_alive.name.clear();
        let err = keep_alive_target(&keep_alive).unwrap_err().to_string();
        assert!(err.contains("has no Name"), "{err}");
    }
}
