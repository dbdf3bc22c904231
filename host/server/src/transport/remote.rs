//! Remote (leaf) cluster handlers: GetRemoteCluster(s), UpdateRemoteCluster (labels),
//! DeleteRemoteCluster (see [`crate::remote_clusters`]).

use std::time::SystemTime;

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

pub(super) async fn get(
    state: &State,
    request: Request<GetRemoteClusterRequest>,
) -> Result<RemoteClusterV3, Status> {
    let name = request.get_ref().name.clone();
    validate_name(KIND_REMOTE_CLUSTER, &name)?;
    authorize(
        state,
        &request,
        "GetRemoteCluster",
        Target::named(KIND_REMOTE_CLUSTER, &name),
    )
    .await?;
    let cluster = state.remote_clusters.get(&name).await?;
    Ok(remote_clusters::with_status(cluster, SystemTime::now()))
}

pub(super) async fn list(state: &State, request: Request<()>) -> Result<RemoteClusterList, Status> {
    authorize(state, &request, "GetRemoteClusters", Target::default()).await?;
    let now = SystemTime::now();
    Ok(RemoteClusterList {
        remote_clusters: state
            .remote_clusters
            .list()
            .await?
            .into_iter()
            .map(|c| remote_clusters::with_status(c, now))
            .collect(),
    })
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
