//! Presence handlers: `UpsertNode`/`UpsertProxy` register a server under a new lease,
//! `SendKeepAlives` extends leases, `GetNodes`/`GetProxies` list the live servers (see
//! [`crate::presence`] for the lease design).
//!
//! Who may do what: the RBAC table (`create`+`update` on `node`/`proxy` to register,
//! `update` to keep alive, `list`+`read` to list), and on top of it a host (an identity with
//! a system role) may only register and keep alive itself: the server's name must be the
//! host id of its certificate. Users whose roles allow it (`admin`) and the `Auth` system
//! role may act for any server.

use std::collections::HashSet;
use std::time::SystemTime;

use portcullis_api::auth::{GetNodesRequest, ServerList};
use portcullis_api::services::{KeepAlive, ServerV2};
use portcullis_ca::Identity;
use tonic::{Request, Status, Streaming};

use super::caller;
use crate::presence::validate::{expiry, namespace, normalize_server};
use crate::presence::{Registry, ServerKind};
use crate::rbac::{authorize, authorize_identity, Target};
use crate::state::State;

/// The system role that may act for any server (the auth server itself).
const AUTH_SYSTEM_ROLE: &str = "Auth";

/// Refuses a host acting for a server other than itself.
fn check_self(
    state: &State,
    identity: &Identity,
    kind: ServerKind,
    name: &str,
) -> Result<(), Status> {
    let is_host = !identity.system_roles.is_empty();
    let any_server = identity
        .system_roles
        .iter()
        .any(|r| r.eq_ignore_ascii_case(AUTH_SYSTEM_ROLE));
    if !is_host || any_server {
        return Ok(());
    }
    let suffix = format!(".{}", state.cluster_name);
    let host_id = identity
        .username
        .strip_suffix(&suffix)
        .unwrap_or(&identity.username);
    if host_id == name {
        return Ok(());
    }
    Err(Status::permission_denied(format!(
        "host `{host_id}` may only announce itself, not {} `{name}`",
        kind.name()
    )))
}

/// `UpsertNode` / `UpsertProxy`: registers the server under a new lease.
pub(super) async fn upsert(
    state: &State,
    request: Request<ServerV2>,
    kind: ServerKind,
) -> Result<KeepAlive, Status> {
    let rpc = match kind {
        ServerKind::Node => "UpsertNode",
        ServerKind::Proxy => "UpsertProxy",
    };
    let identity = authorize(state, &request, rpc, Target::resource(request.get_ref())).await?;
    let mut server = request.into_inner();
    normalize_server(kind, &mut server)?;
    let metadata = server.metadata.clone().unwrap_or_default();
    check_self(state, &identity, kind, &metadata.name)?;
    let expires = expiry(metadata.expires, SystemTime::now(), "metadata.expires")?;
    let lease = Registry::new(&*state.backend, kind)
        .upsert(server, expires)
        .await?;
    tracing::debug!(kind = kind.name(), name = %lease.name, "server registered");
    Ok(lease)
}

/// `GetNodes`: the live nodes of a namespace matching the label selector.
pub(super) async fn nodes(
    state: &State,
    request: Request<GetNodesRequest>,
) -> Result<ServerList, Status> {
    authorize(state, &request, "GetNodes", Target::default()).await?;
    let request = request.into_inner();
    let namespace = namespace(ServerKind::Node, &request.namespace)?;
    let servers = Registry::new(&*state.backend, ServerKind::Node)
        .list(&namespace, &request.labels)
        .await?;
    Ok(ServerList { servers })
}

/// `GetProxies`: the live proxies.
pub(super) async fn proxies(state: &State, request: Request<()>) -> Result<ServerList, Status> {
    authorize(state, &request, "GetProxies", Target::default()).await?;
    let namespace = namespace(ServerKind::Proxy, "")?;
    let servers = Registry::new(&*state.backend, ServerKind::Proxy)
        .list(&namespace, &Default::default())
        .await?;
    Ok(ServerList { servers })
}

/// `SendKeepAlives`: extends the lease each keep-alive names, in order, until the client
/// closes the stream (answered OK) or a keep-alive fails (the stream ends with that
/// status, naming the server). Each server is authorized on its first keep-alive of the
/// stream; the caller's certificate is checked to be still valid on every one.
pub(super) async fn keep_alives(
    state: &State,
    request: Request<Streaming<KeepAlive>>,
) -> Result<(), Status> {
    let identity = caller(&request)?;
    let mut stream = request.into_inner();
    let mut authorized: HashSet<(ServerKind, String, String)> = HashSet::new();
    while let Some(keep_alive) = stream.message().await? {
        let now = SystemTime::now();
        if identity.expires.is_some_and(|at| at <= now) {
            return Err(Status::unauthenticated(format!(
                "the client certificate of `{}` expired during the keep-alive stream",
                identity.username
            )));
        }
        let kind = ServerKind::of_keep_alive(keep_alive.r#type)?;
        let namespace = namespace(kind, &keep_alive.namespace)?;
        let name = keep_alive.name;
        if name.is_empty() {
            return Err(Status::invalid_argument(
                "a keep-alive has no Name (the name of the server it keeps alive)",
            ));
        }
        if keep_alive.lease_id == 0 {
            return Err(Status::invalid_argument(format!(
                "the keep-alive of {} `{name}` has no LeaseID (the lease its registration returned)",
                kind.name()
            )));
        }
        let key = (kind, namespace, name);
        if !authorized.contains(&key) {
            let target = Target::named(kind.name(), &key.2);
            authorize_identity(
                state,
                &identity,
                "SendKeepAlives",
                Some(kind.name()),
                target,
            )
            .await?;
            check_self(state, &identity, kind, &key.2)?;
            authorized.insert(key.clone());
        }
        let (kind, namespace, name) = &key;
        let expires = expiry(keep_alive.expires, now, "keep-alive Expires")?;
        Registry::new(&*state.backend, *kind)
            .keep_alive(namespace, name, keep_alive.lease_id, expires)
            .await?;
    }
    Ok(())
}
