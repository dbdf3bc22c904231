//! Kubernetes in user certificates: the Kubernetes users and groups a user may impersonate
//! are their roles' `kubernetes_users` and `kubernetes_groups` (trait templates such as
//! `{{internal.kubernetes_groups}}` expanded, less what any role denies), and a certificate
//! may target one Kubernetes cluster (`UserCertsRequest.KubernetesCluster`): one that a live
//! Kubernetes service serves (else not found) and that the roles' `kubernetes_labels` grant
//! (deny wins; else denied).

use std::collections::BTreeMap;

use portcullis_api::services::RoleV3;
use portcullis_authz::access::{check, Target};
use portcullis_store::Backend;

use super::user::allowed_values;
use super::IssueError;
use crate::presence::{services, Registry, ServerKind};
use crate::resources::validate::DEFAULT_NAMESPACE;

/// Whom a user may act as in Kubernetes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeAccess {
    /// Kubernetes users (`kubernetes_users`).
    pub users: Vec<String>,
    /// Kubernetes groups (`kubernetes_groups`).
    pub groups: Vec<String>,
}

impl KubeAccess {
    /// What `roles` allow a user with `traits`.
    pub fn of(roles: &[RoleV3], traits: &BTreeMap<String, Vec<String>>) -> Self {
        KubeAccess {
            users: allowed_values(roles, traits, |c| &c.kube_users),
            groups: allowed_values(roles, traits, |c| &c.kube_groups),
        }
    }
}

/// Checks that `cluster` is served by a live Kubernetes service of `backend` and that `roles`
/// (of a user with `traits`) grant it by `kubernetes_labels`.
pub async fn check_cluster(
    backend: &dyn Backend,
    roles: &[RoleV3],
    traits: &BTreeMap<String, Vec<String>>,
    cluster: &str,
) -> Result<(), IssueError> {
    let registered = Registry::new(backend, ServerKind::Kube)
        .list(DEFAULT_NAMESPACE, &BTreeMap::new())
        .await?;
    let found = services::find_cluster(&registered, cluster).ok_or_else(|| {
        IssueError::NotFound(format!(
            "Kubernetes cluster `{cluster}` is not served by any registered Kubernetes service"
        ))
    })?;
    let labels = services::cluster_labels(found);
    let access = check(roles, traits, Target::Kubernetes, &labels, None);
    if !access.allowed {
        return Err(IssueError::Denied(format!(
            "Kubernetes cluster `{cluster}`: {}",
            access.reason
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use portcullis_api::services::{
        KubernetesCluster, Metadata, RoleConditions, RoleSpecV3, ServerSpecV2, ServerV2,
    };
    use portcullis_api::wrappers::StringValues;
    use portcullis_store::MemoryBackend;

    use super::*;

    fn role(allow: RoleConditions, deny: RoleConditions) -> RoleV3 {
        RoleV3 {
            metadata: Some(Metadata {
                name: "r".into(),
                ..Metadata::default()
            }),
            spec: Some(RoleSpecV3 {
                options: None,
                allow: Some(allow),
                deny: Some(deny),
            }),
            ..RoleV3::default()
        }
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    fn env(value: &str) -> BTreeMap<String, StringValues> {
        BTreeMap::from([(
            "env".to_owned(),
            StringValues {
                values: strings(&[value]),
            },
        )])
    }

    #[test]
    fn groups_and_users_expand_traits_and_deny_wins() {
        let traits =
            BTreeMap::from([("kubernetes_groups".to_owned(), strings(&["devs", "admins"]))]);
        let allow = RoleConditions {
            kube_groups: strings(&["{{internal.kubernetes_groups}}", "viewers"]),
            kube_users: strings(&["alice@corp"]),
            ..RoleConditions::default()
        };
        let deny = RoleConditions {
            kube_groups: strings(&["admins"]),
            ..RoleConditions::default()
        };
        let access = KubeAccess::of(&[role(allow, deny)], &traits);
        assert_eq!(access.groups, ["devs", "viewers"]);
        assert_eq!(access.users, ["alice@corp"]);
    }

    #[tokio::test]
    async fn clusters_must_be_registered_and_granted() {
        let backend = MemoryBackend::new();
        let service = ServerV2 {
            kind: "kube_service".into(),
            version: "v2".into(),
            metadata: Some(Metadata {
                name: "kube-1".into(),
                namespace: "default".into(),
                ..Metadata::default()
            }),
            spec: Some(ServerSpecV2 {
                kubernetes_clusters: vec![KubernetesCluster {
                    name: "prod".into(),
                    static_labels: BTreeMap::from([("env".into(), "prod".into())]),
                    ..KubernetesCluster::default()
                }],
                ..ServerSpecV2::default()
            }),
            ..ServerV2::default()
        };
        let expires = SystemTime::now() + std::time::Duration::from_secs(60);
        Registry::new(&backend, ServerKind::Kube)
            .upsert(service, expires)
            .await
            .unwrap();
        let traits = BTreeMap::new();
        let prod = role(
            RoleConditions {
                kubernetes_labels: env("prod"),
                ..RoleConditions::default()
            },
            RoleConditions::default(),
        );
        check_cluster(&backend, std::slice::from_ref(&prod), &traits, "prod")
            .await
            .unwrap();
        let e = check_cluster(&backend, std::slice::from_ref(&prod), &traits, "staging")
            .await
            .unwrap_err();
        assert!(matches!(e, IssueError::NotFound(_)), "{e}");
        assert!(e.to_string().contains("`staging` is not served"), "{e}");
        let dev = role(
            RoleConditions {
                kubernetes_labels: env("dev"),
                ..RoleConditions::default()
            },
            RoleConditions::default(),
        );
        let e = check_cluster(&backend, &[dev], &traits, "prod")
            .await
            .unwrap_err();
        assert!(matches!(e, IssueError::Denied(_)), "{e}");
        assert!(e.to_string().contains("kubernetes_labels"), "{e}");
    }
}
