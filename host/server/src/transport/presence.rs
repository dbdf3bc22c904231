//! Presence handlers: `UpsertNode`/`UpsertProxy` register a server under a new lease,
//! `SendKeepAlives` extends leases, `GetNodes`/`GetProxies` list the live servers (see
//! [`crate::presence`] for the lease design).
//!
//! Who may do what: the RBAC table (`create`+`update` on `node`/`proxy` to register,
//! `update` to keep alive, `list`+`read` to list), and on top of it the rules of
//! [`crate::presence::hosts`] (a host announces only itself).

use std::collections::HashMap;

use portcullis_api::auth::{GetNodesRequest, ServerList};
use portcullis_api::services::{KeepAlive, ServerV2};
use tonic::{Request, Status, Streaming};

use super::authorize;
use super::caller;
use crate::presence::validate::{expiry, namespace};
use crate::presence::{hosts, Extended, Registry, ServerKind};
use crate::rbac::{Authorized, Target};
use crate::state::State;
use portcullis_authz::access::Target::Node;

/// `UpsertNode` / `UpsertProxy`: registers the server under a new lease.
pub(super) async fn upsert(
    state: &State,
    request: Request<ServerV2>,
    kind: ServerKind,
) -> Result<KeepAlive, Status> {
    let rpc = match kind {
        ServerKind::Node => "UpsertNode",
        ServerKind::Proxy => "UpsertProxy",
        ServerKind::App => "UpsertAppServer",
        ServerKind::Kube => "UpsertKubeService",
    };
    let caller = authorize(state, &request, rpc, Target::resource(request.get_ref())).await?;
    let server = request.into_inner();
    let backend = &*state.backend;
    let now = portcullis_clock::now();
    Ok(hosts::register(backend, &state.cluster_name, &caller, kind, server, now).await?)
}

/// `GetNodes`: the live nodes of a namespace matching the label selector.
pub(super) async fn nodes(
    state: &State,
    request: Request<GetNodesRequest>,
) -> Result<ServerList, Status> {
    let target = Target::default().in_namespace(&request.get_ref().namespace);
    let mut caller = authorize(state, &request, "GetNodes", target).await?;
    let request = request.into_inner();
    let namespace = namespace(ServerKind::Node, &request.namespace)?;
    let all = Registry::new(&*state.backend, ServerKind::Node)
        .list(&namespace, &request.labels)
        .await?;
    // Only the nodes the caller's roles reach by `node_labels`.
    let grants = caller.label_grants(state, Node).await?;
    let servers = all
        .into_iter()
        .filter(|server| grants.grants_metadata(server.metadata.as_ref()))
        .collect();
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
/// stream; the caller's certificate is checked to be still valid on every one. The stream
/// keeps what each server's last keep-alive wrote, so that the next one is a single store
/// write (see [`Registry::extend`]).
pub(super) async fn keep_alives(
    state: &State,
    request: Request<Streaming<KeepAlive>>,
) -> Result<(), Status> {
    let identity = caller(&request)?;
    let mut stream = request.into_inner();
    // The servers authorized on this stream, each with what its last keep-alive wrote.
    let mut authorized: HashMap<(ServerKind, String, String), Option<Extended>> = HashMap::new();
    while let Some(keep_alive) = stream.message().await? {
        let now = portcullis_clock::now();
        if identity.expires.is_some_and(|at| at <= now) {
            let username = identity.username.clone();
            return Err(super::caller::CallerError::ExpiredDuringStream(username).into());
        }
        let key = hosts::keep_alive_target(&keep_alive)?;
        let kind = key.0;
        if !authorized.contains_key(&key) {
            let target = Target::named(kind.name(), &key.2).in_namespace(&key.1);
            Authorized::new(identity.clone())
                .check(state, "SendKeepAlives", Some(kind.name()), target)
                .await?;
            hosts::check_self(&state.cluster_name, &identity, kind, &key.2)?;
            authorized.insert(key.clone(), None);
        }
        let expires = expiry(keep_alive.expires, now, "keep-alive Expires")?;
        let (kind, namespace, name) = &key;
        let Some(last) = authorized.get_mut(&key) else {
            return Err(Status::internal("a keep-alive's server was not kept"));
        };
        Registry::new(&*state.backend, *kind)
            .with_batcher(state.keep_alive_writes())
            .extend(namespace, name, keep_alive.lease_id, expires, last)
            .await?;
    }
    Ok(())
}
