//! Remote (leaf) cluster handlers: GetRemoteCluster(s), UpdateRemoteCluster (labels),
//! DeleteRemoteCluster (see [`crate::remote_clusters`]).

use portcullis_api::auth::{
    DeleteRemoteClusterRequest, GetRemoteClusterRequest, RemoteClusterList,
};
use portcullis_api::services::RemoteClusterV3;
use tonic::{Request, Status};

use super::authorize;
use crate::rbac::Target;
use crate::remote_clusters;
use crate::resources::kinds::KIND_REMOTE_CLUSTER;
use crate::resources::validate::validate_name;
use crate::state::State;
use portcullis_authz::access::Target::Cluster;

pub(super) async fn get(
    state: &State,
    request: Request<GetRemoteClusterRequest>,
) -> Result<RemoteClusterV3, Status> {
    let name = request.get_ref().name.clone();
    validate_name(KIND_REMOTE_CLUSTER, &name)?;
    let mut caller = authorize(
        state,
        &request,
        "GetRemoteCluster",
        Target::named(KIND_REMOTE_CLUSTER, &name),
    )
    .await?;
    let cluster = state.remote_clusters.get(&name).await?;
    let labels = cluster.metadata.clone().unwrap_or_default().labels;
    if !caller.grants_labels(state, Cluster, &labels).await? {
        // As for a cluster that does not exist: its name is all the caller knows.
        return Err(crate::resources::ResourceError::NotFound {
            kind: KIND_REMOTE_CLUSTER,
            name,
        }
        .into());
    }
    Ok(remote_clusters::with_status(
        cluster,
        portcullis_clock::now(),
    ))
}

pub(super) async fn list(state: &State, request: Request<()>) -> Result<RemoteClusterList, Status> {
    let mut caller = authorize(state, &request, "GetRemoteClusters", Target::default()).await?;
    let now = portcullis_clock::now();
    // Only the clusters the caller's roles reach by `cluster_labels`.
    let all = state.remote_clusters.list().await?;
    let grants = caller.label_grants(state, Cluster).await?;
    let remote_clusters = all
        .into_iter()
        .filter(|cluster| grants.grants_metadata(cluster.metadata.as_ref()))
        .map(|cluster| remote_clusters::with_status(cluster, now))
        .collect();
    Ok(RemoteClusterList { remote_clusters })
}

/// Replaces the labels of an existing remote cluster (the rest is the server's).
pub(super) async fn update(state: &State, request: Request<RemoteClusterV3>) -> Result<(), Status> {
    authorize(
        state,
        &request,
        "UpdateRemoteCluster",
        Target::resource(request.get_ref()),
    )
    .await?;
    let given = request.into_inner();
    Ok(remote_clusters::relabel(&state.remote_clusters, given).await?)
}

pub(super) async fn delete(
    state: &State,
    request: Request<DeleteRemoteClusterRequest>,
) -> Result<(), Status> {
    let name = request.get_ref().name.clone();
    validate_name(KIND_REMOTE_CLUSTER, &name)?;
    authorize(
        state,
        &request,
        "DeleteRemoteCluster",
        Target::named(KIND_REMOTE_CLUSTER, &name),
    )
    .await?;
    Ok(state.remote_clusters.delete(&name).await?)
}
