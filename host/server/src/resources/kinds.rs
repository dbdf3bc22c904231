//! The resource kinds this server stores, and their key layout.

use portcullis_api::services::{
    CertAuthorityV2, ClusterNameV2, PolicyModuleV1, RemoteClusterV3, RoleV3, UserV2,
};

use crate::impl_resource;

pub use portcullis_api::kinds::{
    KIND_APP_SERVER, KIND_APP_SESSION, KIND_CERT_AUTHORITY, KIND_CLUSTER_NAME, KIND_KUBE_SERVICE,
    KIND_NODE, KIND_POLICY_MODULE, KIND_PROXY, KIND_REMOTE_CLUSTER, KIND_ROLE, KIND_USER,
};

impl_resource!(UserV2, KIND_USER, "/users/");
impl_resource!(RoleV3, KIND_ROLE, "/roles/");
impl_resource!(ClusterNameV2, KIND_CLUSTER_NAME, "/cluster/");
impl_resource!(PolicyModuleV1, KIND_POLICY_MODULE, "/policy_modules/");
impl_resource!(RemoteClusterV3, KIND_REMOTE_CLUSTER, "/remote_clusters/");

impl crate::resources::Resource for CertAuthorityV2 {
    const KIND: &'static str = KIND_CERT_AUTHORITY;
    const PREFIX: &'static str = "/authorities/";
    fn metadata(&self) -> Option<&portcullis_api::services::Metadata> {
        self.metadata.as_ref()
    }
    fn metadata_mut(&mut self) -> &mut portcullis_api::services::Metadata {
        self.metadata.get_or_insert_with(Default::default)
    }
    /// Authorities are keyed by type, then cluster: `/authorities/host/example`.
    fn key_suffix(&self) -> String {
        let ca_type = self.spec.as_ref().map(|s| s.r#type.as_str()).unwrap_or("");
        ca_key(ca_type, crate::resources::Resource::name(self))
    }
}

/// The key suffix of the `ca_type` authority of `cluster`.
pub fn ca_key(ca_type: &str, cluster: &str) -> String {
    format!("{ca_type}/{cluster}")
}

/// Name of the single cluster-name resource (as Teleport names it).
pub const CLUSTER_NAME_RESOURCE: &str = "cluster-name";

/// Store key prefix of nodes: `/nodes/NAMESPACE/NAME`.
pub const NODES_PREFIX: &str = "/nodes/";
/// Store key prefix of proxies: `/proxies/NAME` (proxies live in the default namespace).
pub const PROXIES_PREFIX: &str = "/proxies/";
/// Store key prefix of application servers: `/app_servers/NAMESPACE/NAME`.
pub const APP_SERVERS_PREFIX: &str = "/app_servers/";
/// Store key prefix of Kubernetes services: `/kube_services/NAME` (default namespace only).
pub const KUBE_SERVICES_PREFIX: &str = "/kube_services/";
/// Store key prefix of application sessions: `/app_sessions/ID`.
pub const APP_SESSIONS_PREFIX: &str = "/app_sessions/";
