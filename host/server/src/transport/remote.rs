//! Remote (leaf) clusters: registered when a cluster joins with a `Trusted_cluster` token
//! (inheriting the token's labels), listed, relabelled and removed. Their labels are what
//! roles' `cluster_labels` match to decide who may reach them.
//!
//! No tunnel keeps a leaf connected to this server yet, so the status is computed when read:
//! `online` while the last heartbeat (the join, for now) is recent, `offline` after.

use std::time::{Duration, SystemTime};

use portcullis_api::auth::{
    DeleteRemoteClusterRequest, GetRemoteClusterRequest, RemoteClusterList,
};
use portcullis_api::services::{
    Metadata, ProvisionTokenV2, RemoteClusterStatusV3, RemoteClusterV3,
};
use tonic::{Request, Status};

use crate::rbac::{authorize, Target};
use crate::resources::kinds::KIND_REMOTE_CLUSTER;
use crate::resources::validate::validate_name;
use crate::resources::{to_system_time, Resource, ResourceError};
use crate::state::State;

/// How long after its last heartbeat a remote cluster counts as online.
pub const ONLINE_FOR: Duration = Duration::from_secs(600);

/// The stored cluster with its status as of `now`.
fn with_status(mut cluster: RemoteClusterV3, now: SystemTime) -> RemoteClusterV3 {
    let status = cluster
        .status
        .get_or_insert_with(RemoteClusterStatusV3::default);
    let recent = status
        .last_heartbeat
        .and_then(to_system_time)
        .is_some_and(|at| now.duration_since(at).unwrap_or_default() < ONLINE_FOR);
    status.connection = if recent { "online" } else { "offline" }.to_owned();
    cluster
}

/// Registers (or refreshes) the leaf cluster `name` that joined with `token`: a new one
/// inherits the token's labels; an existing one keeps its labels (an operator may have
/// changed them) and gets a new heartbeat.
pub(super) async fn register(
    state: &State,
    name: &str,
    token: &ProvisionTokenV2,
    now: SystemTime,
) -> Result<(), ResourceError> {
    validate_name(KIND_REMOTE_CLUSTER, name)?;
    let heartbeat = Some(prost_types::Timestamp::from(now));
    match state.remote_clusters.find(name).await? {
        Some(mut cluster) => {
            cluster
                .status
                .get_or_insert_with(RemoteClusterStatusV3::default)
                .last_heartbeat = heartbeat;
            state.remote_clusters.update(&cluster).await?;
        }
        None => {
            let labels = token
                .metadata()
                .map(|m| m.labels.clone())
                .unwrap_or_default();
            let cluster = RemoteClusterV3 {
                kind: KIND_REMOTE_CLUSTER.to_owned(),
                sub_kind: String::new(),
                version: "v3".to_owned(),
                metadata: Some(Metadata {
                    name: name.to_owned(),
                    namespace: "default".to_owned(),
                    labels,
                    ..Metadata::default()
                }),
                status: Some(RemoteClusterStatusV3 {
                    connection: "online".to_owned(),
                    last_heartbeat: heartbeat,
                }),
            };
            state.remote_clusters.create(&cluster).await?;
        }
    }
    Ok(())
}

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
    Ok(with_status(cluster, SystemTime::now()))
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
            .map(|c| with_status(c, now))
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
    let name = given.name().to_owned();
    validate_name(KIND_REMOTE_CLUSTER, &name)?;
    let labels = given.metadata.map(|m| m.labels).unwrap_or_default();
    for key in labels.keys() {
        if key.is_empty() {
            return Err(Status::invalid_argument(format!(
                "remote cluster `{name}`: metadata.labels has an empty key"
            )));
        }
    }
    let mut cluster = state.remote_clusters.get(&name).await?;
    cluster.metadata_mut().labels = labels;
    state.remote_clusters.update(&cluster).await?;
    Ok(())
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
