//! Application server and Kubernetes service handlers: `UpsertAppServer` (a lease kept by
//! `SendKeepAlives` of type APP), `UpsertKubeService` (kept by announcing again),
//! `GetAppServers`/`GetKubeServices` (a user sees only the apps and clusters their roles'
//! `app_labels`/`kubernetes_labels` grant; hosts see all), and the deletions.
//!
//! Who may do what: the RBAC table (`create`+`update` on `app_server`/`kube_service` to
//! register, `list`+`read` to list, `delete` to delete), and on top of it the rules of
//! [`crate::presence::hosts`] (a host announces only itself).

use std::collections::BTreeMap;

use portcullis_api::auth::{
    DeleteAllAppServersRequest, DeleteAllKubeServicesRequest, DeleteAppServerRequest,
    DeleteKubeServiceRequest, GetAppServersRequest, GetAppServersResponse, GetKubeServicesRequest,
    GetKubeServicesResponse, UpsertAppServerRequest, UpsertKubeServiceRequest,
};
use portcullis_api::services::{KeepAlive, ServerV2};
use portcullis_authz::access::Target as Labels;
use tonic::{Request, Status};

use super::authorize;
use crate::presence::validate::namespace;
use crate::presence::{hosts, services, PresenceError, Registry, ServerKind};
use crate::rbac::Target;
use crate::state::State;

/// Registers the server a request carries (`rpc`, of `kind`) under a new lease.
async fn register<T>(
    state: &State,
    request: &Request<T>,
    rpc: &str,
    kind: ServerKind,
    server: Option<&ServerV2>,
) -> Result<KeepAlive, Status> {
    let server = server.cloned().ok_or_else(|| {
        PresenceError::invalid(format!("{rpc}: the request has no Server to register"))
    })?;
    let caller = authorize(state, request, rpc, Target::resource(&server)).await?;
    let backend = &*state.backend;
    let now = portcullis_clock::now();
    Ok(hosts::register(backend, &state.cluster_name, &caller, kind, server, now).await?)
}

/// The live servers of `kind` in `namespace` the caller of `request` may see (`rpc`).
async fn list<T>(
    state: &State,
    request: &Request<T>,
    rpc: &str,
    kind: ServerKind,
    namespace_name: &str,
) -> Result<Vec<ServerV2>, Status> {
    let target = Target::default().in_namespace(namespace_name);
    let mut caller = authorize(state, request, rpc, target).await?;
    let namespace = namespace(kind, namespace_name)?;
    let all = Registry::new(&*state.backend, kind)
        .list(&namespace, &BTreeMap::new())
        .await?;
    let labels = match kind {
        ServerKind::Kube => Labels::Kubernetes,
        _ => Labels::App,
    };
    let grants = caller.label_grants(state, labels).await?;
    Ok(all
        .into_iter()
        .filter_map(|server| services::visible(server, |l| grants.grants(l)))
        .collect())
}

/// Removes one server of `kind`, or all of `namespace` when `name` is `None`.
async fn delete<T>(
    state: &State,
    request: &Request<T>,
    rpc: &str,
    kind: ServerKind,
    namespace_name: &str,
    name: Option<&str>,
) -> Result<(), Status> {
    let target = match name {
        Some(name) => Target::named(kind.name(), name),
        None => Target::default(),
    }
    .in_namespace(namespace_name);
    let caller = authorize(state, request, rpc, target).await?;
    let namespace = namespace(kind, namespace_name)?;
    let registry = Registry::new(&*state.backend, kind);
    match name {
        Some(name) => {
            if name.is_empty() {
                return Err(PresenceError::invalid(format!("{rpc}: Name is required")).into());
            }
            registry.delete(&namespace, name).await?;
            tracing::info!(kind = kind.name(), name, by = %caller.username, "server deleted");
        }
        None => {
            let count = registry.delete_all(&namespace).await?;
            tracing::info!(kind = kind.name(), count, by = %caller.username, "servers deleted");
        }
    }
    Ok(())
}

/// `UpsertAppServer`.
pub(super) async fn upsert_app_server(
    state: &State,
    request: Request<UpsertAppServerRequest>,
) -> Result<KeepAlive, Status> {
    let server = request.get_ref().server.as_ref();
    register(state, &request, "UpsertAppServer", ServerKind::App, server).await
}

/// `GetAppServers`.
pub(super) async fn app_servers(
    state: &State,
    request: Request<GetAppServersRequest>,
) -> Result<GetAppServersResponse, Status> {
    let namespace = request.get_ref().namespace.as_str();
    let servers = list(state, &request, "GetAppServers", ServerKind::App, namespace).await?;
    Ok(GetAppServersResponse { servers })
}

/// `DeleteAppServer`.
pub(super) async fn delete_app_server(
    state: &State,
    request: Request<DeleteAppServerRequest>,
) -> Result<(), Status> {
    let (namespace, name) = (&request.get_ref().namespace, &request.get_ref().name);
    let rpc = "DeleteAppServer";
    delete(state, &request, rpc, ServerKind::App, namespace, Some(name)).await
}

/// `DeleteAllAppServers`.
pub(super) async fn delete_all_app_servers(
    state: &State,
    request: Request<DeleteAllAppServersRequest>,
) -> Result<(), Status> {
    let namespace = request.get_ref().namespace.as_str();
    let rpc = "DeleteAllAppServers";
    delete(state, &request, rpc, ServerKind::App, namespace, None).await
}

/// `UpsertKubeService`.
pub(super) async fn upsert_kube_service(
    state: &State,
    request: Request<UpsertKubeServiceRequest>,
) -> Result<(), Status> {
    let server = request.get_ref().server.as_ref();
    register(
        state,
        &request,
        "UpsertKubeService",
        ServerKind::Kube,
        server,
    )
    .await?;
    Ok(())
}

/// `GetKubeServices`.
pub(super) async fn kube_services(
    state: &State,
    request: Request<GetKubeServicesRequest>,
) -> Result<GetKubeServicesResponse, Status> {
    let servers = list(state, &request, "GetKubeServices", ServerKind::Kube, "").await?;
    Ok(GetKubeServicesResponse { servers })
}

/// `DeleteKubeService`.
pub(super) async fn delete_kube_service(
    state: &State,
    request: Request<DeleteKubeServiceRequest>,
) -> Result<(), Status> {
    let name = request.get_ref().name.as_str();
    let rpc = "DeleteKubeService";
    delete(state, &request, rpc, ServerKind::Kube, "", Some(name)).await
}

/// `DeleteAllKubeServices`.
pub(super) async fn delete_all_kube_services(
    state: &State,
    request: Request<DeleteAllKubeServicesRequest>,
) -> Result<(), Status> {
    let rpc = "DeleteAllKubeServices";
    delete(state, &request, rpc, ServerKind::Kube, "", None).await
}
