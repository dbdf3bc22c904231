//! Resource kind names, as the API, the store and `pctl` spell them.

/// Users.
pub const KIND_USER: &str = "user";
/// Roles.
pub const KIND_ROLE: &str = "role";
/// Certificate authorities.
pub const KIND_CERT_AUTHORITY: &str = "cert_authority";
/// Policy modules.
pub const KIND_POLICY_MODULE: &str = "policy_module";
/// The cluster name resource.
pub const KIND_CLUSTER_NAME: &str = "cluster_name";
/// Remote (leaf) clusters.
pub const KIND_REMOTE_CLUSTER: &str = "remote_cluster";
/// Nodes (SSH servers announcing themselves).
pub const KIND_NODE: &str = "node";
/// Proxies (announcing themselves like nodes).
pub const KIND_PROXY: &str = "proxy";
/// Application servers (hosts serving web applications, announcing themselves).
pub const KIND_APP_SERVER: &str = "app_server";
/// Kubernetes services (hosts serving Kubernetes clusters, announcing themselves).
pub const KIND_KUBE_SERVICE: &str = "kube_service";
/// Application sessions (a user's browser session with one application).
pub const KIND_APP_SESSION: &str = "app_session";
/// Provisioning tokens.
pub const KIND_TOKEN: &str = "token";
/// Access requests.
pub const KIND_ACCESS_REQUEST: &str = "access_request";
/// Access-request policies.
pub const KIND_ACCESS_REQUEST_POLICY: &str = "access_request_policy";
/// Semaphores (leases limiting concurrent use, e.g. a user's connections).
pub const KIND_SEMAPHORE: &str = "semaphore";
/// The kind of semaphore limiting a user's concurrent connections (its `SubKind`; the
/// semaphore is named after the user).
pub const SEMAPHORE_KIND_CONNECTION: &str = "connection";

/// The namespace every resource lives in unless it says otherwise.
pub const DEFAULT_NAMESPACE: &str = "default";

/// Type of the host certificate authority.
pub const HOST_CA: &str = "host";
/// Type of the user certificate authority.
pub const USER_CA: &str = "user";

/// Completed session recordings.
pub const KIND_SESSION: &str = "session";
/// Sessions being recorded now.
pub const KIND_SSH_SESSION: &str = "ssh_session";
