//! Remote (leaf) clusters: registered when a cluster joins with a `Trusted_cluster` token
//! (inheriting the token's labels), listed, relabelled and removed. Their labels are what
//! roles' `cluster_labels` match to decide who may reach them.
//!
//! No tunnel keeps a leaf connected to this server yet, so the status is computed when read:
//! `online` while the last heartbeat (the join, for now) is recent, `offline` after.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use portcullis_api::services::{
    Metadata, ProvisionTokenV2, RemoteClusterStatusV3, RemoteClusterV3,
};

use crate::resources::kinds::KIND_REMOTE_CLUSTER;
use crate::resources::validate::validate_name;
use crate::resources::{to_system_time, Collection, Resource, ResourceError};

/// How long after its last heartbeat a remote cluster counts as online.
pub const ONLINE_FOR: Duration = Duration::from_secs(600);

/// The stored cluster with its status as of `now`.
pub fn with_status(mut cluster: RemoteClusterV3, now: SystemTime) -> RemoteClusterV3 {
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
pub async fn register(
    clusters: &Collection<RemoteClusterV3>,
    name: &str,
    token: &ProvisionTokenV2,
    now: SystemTime,
) -> Result<(), ResourceError> {
    validate_name(KIND_REMOTE_CLUSTER, name)?;
    let heartbeat = Some(prost_types::Timestamp::from(now));
    match clusters.find(name).await? {
        Some(mut cluster) => {
            cluster
                .status
                .get_or_insert_with(RemoteClusterStatusV3::default)
                .last_heartbeat = heartbeat;
            clusters.update(&cluster).await?;
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
            clusters.create(&cluster).await?;
        }
    }
    Ok(())
}

/// Replaces the labels of the existing remote cluster `given` names with its labels (the
/// rest of a remote cluster is the server's).
pub async fn relabel(
    clusters: &Collection<RemoteClusterV3>,
    given: RemoteClusterV3,
) -> Result<(), ResourceError> {
    let name = given.name().to_owned();
    validate_name(KIND_REMOTE_CLUSTER, &name)?;
    let labels: BTreeMap<String, String> = given.metadata.map(|m| m.labels).unwrap_or_default();
    if labels.keys().any(String::is_empty) {
        return Err(ResourceError::invalid(format!(
            "remote cluster `{name}`: metadata.labels has an empty key"
        )));
    }
    let mut cluster = clusters.get(&name).await?;
    cluster.metadata_mut().labels = labels;
    clusters.update(&cluster).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use portcullis_store::MemoryBackend;

    use super::*;

    fn token(labels: &[(&str, &str)]) -> ProvisionTokenV2 {
        let labels = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let expires = portcullis_clock::now() + Duration::from_secs(60);
        crate::tokens::new_token(
            "leaf-token-1".into(),
            vec!["Trusted_cluster".into()],
            expires,
            labels,
        )
    }

    fn labels(cluster: &RemoteClusterV3) -> Vec<(String, String)> {
        let labels = &cluster.metadata.as_ref().unwrap().labels;
        labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    #[tokio::test]
    async fn a_joining_leaf_inherits_the_token_labels_once_and_goes_offline() {
        let clusters = Collection::new(Arc::new(MemoryBackend::new()));
        let now = portcullis_clock::now();
        register(&clusters, "leaf", &token(&[("env", "prod")]), now)
            .await
            .unwrap();
        let stored = clusters.get("leaf").await.unwrap();
        assert_eq!(labels(&stored), [("env".into(), "prod".into())]);
        // Relabelled by an operator, then joining again: the labels stay, the heartbeat moves.
        let mut given = stored.clone();
        given.metadata_mut().labels = [("env".to_owned(), "staging".to_owned())].into();
        relabel(&clusters, given).await.unwrap();
        let later = now + Duration::from_secs(5);
        register(&clusters, "leaf", &token(&[("env", "prod")]), later)
            .await
            .unwrap();
        let stored = clusters.get("leaf").await.unwrap();
        assert_eq!(labels(&stored), [("env".into(), "staging".into())]);
        let online = with_status(stored.clone(), later + ONLINE_FOR / 2);
        assert_eq!(online.status.unwrap().connection, "online");
        let offline = with_status(stored, later + ONLINE_FOR);
        assert_eq!(offline.status.unwrap().connection, "offline");
    }

    #[tokio::test]
    async fn bad_names_and_labels_are_refused_and_change_nothing() {
        let clusters = Collection::new(Arc::new(MemoryBackend::new()));
        let err = register(&clusters, "a/b", &token(&[]), portcullis_clock::now()).await;
        assert!(matches!(err, Err(ResourceError::Invalid(_))), "{err:?}");
        register(
            &clusters,
            "leaf",
            &token(&[("env", "prod")]),
            portcullis_clock::now(),
        )
        .await
        .unwrap();
        let mut given = clusters.get("leaf").await.unwrap();
        given.metadata_mut().labels = [(String::new(), "x".to_owned())].into();
        let err = relabel(&clusters, given).await.unwrap_err().to_string();
        assert!(err.contains("metadata.labels has an empty key"), "{err}");
        let stored = clusters.get("leaf").await.unwrap();
        assert_eq!(labels(&stored), [("env".into(), "prod".into())]);
        let mut unknown = stored;
        unknown.metadata_mut().name = "other".into();
        assert!(matches!(
            relabel(&clusters, unknown).await,
            Err(ResourceError::NotFound { .. })
        ));
    }
}
