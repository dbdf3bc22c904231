//! The kinds a watcher may follow: where each lives in the store, how a store key names a
//! resource of it, and how a stored value becomes the `Event` variant that carries it.

use portcullis_api::auth::event::Resource as EventResource;
use portcullis_api::services::{
    AccessRequestPolicyV1, AccessRequestV3, CertAuthorityV2, ClusterNameV2, Metadata,
    ProvisionTokenV2, RemoteClusterV3, ResourceHeader, RoleV3, UserV2,
};
use portcullis_store::Item;

use super::WatchError;
use crate::access_requests::approval::KIND_ACCESS_REQUEST_POLICY;
use crate::access_requests::KIND_ACCESS_REQUEST;
use crate::presence::{listed_server, ServerKind};
use crate::resources::kinds::{
    APP_SERVERS_PREFIX, KIND_APP_SERVER, KIND_CERT_AUTHORITY, KIND_CLUSTER_NAME, KIND_KUBE_SERVICE,
    KIND_NODE, KIND_PROXY, KIND_REMOTE_CLUSTER, KIND_ROLE, KIND_USER, KUBE_SERVICES_PREFIX,
    NODES_PREFIX, PROXIES_PREFIX,
};
use crate::resources::{Collection, Resource, ResourceError};
use crate::tokens::KIND_TOKEN;

/// Another name clients use for provisioning tokens.
const PROVISION_TOKEN_ALIAS: &str = "provision_token";

/// A stored kind that has a variant in `Event`, and so can be watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatchedKind {
    /// `user`
    User,
    /// `role`
    Role,
    /// `cert_authority` (the user, host and JWT authorities of each cluster)
    CertAuthority,
    /// `token` (provisioning tokens; `provision_token` is accepted too)
    Token,
    /// `cluster_name`
    ClusterName,
    /// `node` (announced SSH servers)
    Node,
    /// `proxy` (announced proxies)
    Proxy,
    /// `app_server` (announced application servers)
    AppServer,
    /// `kube_service` (announced Kubernetes services)
    KubeService,
    /// `remote_cluster`
    RemoteCluster,
    /// `access_request`
    AccessRequest,
    /// `access_request_policy`
    AccessRequestPolicy,
}

/// The name (and for some kinds sub-kind or namespace) that a store key gives a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyName {
    /// `metadata.name`: the cluster of an authority, the value of a token.
    pub name: String,
    /// The authority type (`user`, `host`, `jwt`) of an authority; empty otherwise.
    pub sub_kind: String,
    /// The namespace of a node or application server; empty otherwise.
    pub namespace: String,
}

impl KeyName {
    fn plain(name: &str) -> Option<Self> {
        (!name.is_empty()).then(|| KeyName {
            name: name.to_owned(),
            sub_kind: String::new(),
            namespace: String::new(),
        })
    }
}

impl WatchedKind {
    /// Every watchable kind.
    pub const ALL: [WatchedKind; 12] = [
        WatchedKind::User,
        WatchedKind::Role,
        WatchedKind::CertAuthority,
        WatchedKind::Token,
        WatchedKind::ClusterName,
        WatchedKind::Node,
        WatchedKind::Proxy,
        WatchedKind::AppServer,
        WatchedKind::KubeService,
        WatchedKind::RemoteCluster,
        WatchedKind::AccessRequest,
        WatchedKind::AccessRequestPolicy,
    ];

    /// The kind called `kind` (as `WatchKind.Kind` names it).
    pub fn parse(kind: &str) -> Result<Self, WatchError> {
        if kind == PROVISION_TOKEN_ALIAS {
            return Ok(WatchedKind::Token);
        }
        Self::ALL
            .into_iter()
            .find(|k| k.name() == kind)
            .ok_or_else(|| WatchError::UnknownKind {
                kind: kind.to_owned(),
            })
    }

    /// The resource kind name, e.g. `access_request`.
    pub fn name(self) -> &'static str {
        match self {
            WatchedKind::User => KIND_USER,
            WatchedKind::Role => KIND_ROLE,
            WatchedKind::CertAuthority => KIND_CERT_AUTHORITY,
            WatchedKind::Token => KIND_TOKEN,
            WatchedKind::ClusterName => KIND_CLUSTER_NAME,
            WatchedKind::Node => KIND_NODE,
            WatchedKind::Proxy => KIND_PROXY,
            WatchedKind::AppServer => KIND_APP_SERVER,
            WatchedKind::KubeService => KIND_KUBE_SERVICE,
            WatchedKind::RemoteCluster => KIND_REMOTE_CLUSTER,
            WatchedKind::AccessRequest => KIND_ACCESS_REQUEST,
            WatchedKind::AccessRequestPolicy => KIND_ACCESS_REQUEST_POLICY,
        }
    }

    /// The store key prefix of the kind.
    pub fn prefix(self) -> &'static str {
        match self {
            WatchedKind::User => UserV2::PREFIX,
            WatchedKind::Role => RoleV3::PREFIX,
            WatchedKind::CertAuthority => CertAuthorityV2::PREFIX,
            WatchedKind::Token => ProvisionTokenV2::PREFIX,
            WatchedKind::ClusterName => ClusterNameV2::PREFIX,
            WatchedKind::Node => NODES_PREFIX,
            WatchedKind::Proxy => PROXIES_PREFIX,
            WatchedKind::AppServer => APP_SERVERS_PREFIX,
            WatchedKind::KubeService => KUBE_SERVICES_PREFIX,
            WatchedKind::RemoteCluster => RemoteClusterV3::PREFIX,
            WatchedKind::AccessRequest => AccessRequestV3::PREFIX,
            WatchedKind::AccessRequestPolicy => AccessRequestPolicyV1::PREFIX,
        }
    }

    /// The resource version of the kind, for the headers of deletions.
    fn version(self) -> &'static str {
        match self {
            WatchedKind::Role | WatchedKind::RemoteCluster | WatchedKind::AccessRequest => "v3",
            WatchedKind::AccessRequestPolicy => "v1",
            _ => "v2",
        }
    }

    /// What `key` names if it is a key of this kind, `None` otherwise.
    pub fn key_name(self, key: &[u8]) -> Option<KeyName> {
        let rest = key.strip_prefix(self.prefix().as_bytes())?;
        let rest = std::str::from_utf8(rest).ok()?;
        match self {
            // `/authorities/TYPE/CLUSTER`
            WatchedKind::CertAuthority => {
                let (sub_kind, name) = rest.split_once('/')?;
                let mut out = KeyName::plain(name)?;
                out.sub_kind = sub_kind.to_owned();
                Some(out)
            }
            // `/nodes/NAMESPACE/NAME`, `/app_servers/NAMESPACE/NAME`
            WatchedKind::Node | WatchedKind::AppServer => {
                let (namespace, name) = rest.split_once('/')?;
                let mut out = KeyName::plain(name)?;
                out.namespace = namespace.to_owned();
                Some(out)
            }
            _ if rest.contains('/') => None,
            _ => KeyName::plain(rest),
        }
    }

    /// Decodes a stored record of this kind into the `Event` variant that carries it, with
    /// `metadata.id` set to the record's revision. `None` for a record that holds no
    /// resource (a server registration without its server).
    pub fn decode(self, item: &Item) -> Result<Option<EventResource>, ResourceError> {
        use EventResource as R;
        let presence = |kind| {
            listed_server(kind, item).map_err(|e| ResourceError::Corrupt {
                kind: self.name(),
                key: String::from_utf8_lossy(&item.key).into_owned(),
                reason: e.to_string(),
            })
        };
        Ok(Some(match self {
            WatchedKind::User => R::User(Collection::decode(item)?),
            WatchedKind::Role => R::Role(Collection::decode(item)?),
            WatchedKind::CertAuthority => R::CertAuthority(Collection::decode(item)?),
            WatchedKind::Token => R::ProvisionToken(Collection::decode(item)?),
            WatchedKind::ClusterName => R::ClusterName(Collection::decode(item)?),
            WatchedKind::Node
            | WatchedKind::Proxy
            | WatchedKind::AppServer
            | WatchedKind::KubeService => {
                let kind = match self {
                    WatchedKind::Proxy => ServerKind::Proxy,
                    WatchedKind::AppServer => ServerKind::App,
                    WatchedKind::KubeService => ServerKind::Kube,
                    _ => ServerKind::Node,
                };
                match presence(kind)? {
                    Some(server) => R::Server(server),
                    None => return Ok(None),
                }
            }
            WatchedKind::RemoteCluster => R::RemoteCluster(Collection::decode(item)?),
            WatchedKind::AccessRequest => R::AccessRequest(Collection::decode(item)?),
            WatchedKind::AccessRequestPolicy => R::AccessRequestPolicy(Collection::decode(item)?),
        }))
    }

    /// The header that a deletion of the resource `name` of this kind carries (at
    /// `revision`, as its `metadata.id`).
    pub fn header(self, name: &KeyName, revision: u64) -> ResourceHeader {
        ResourceHeader {
            kind: self.name().to_owned(),
            sub_kind: name.sub_kind.clone(),
            version: self.version().to_owned(),
            metadata: Some(Metadata {
                name: name.name.clone(),
                namespace: name.namespace.clone(),
                id: i64::try_from(revision).unwrap_or(i64::MAX),
                ..Metadata::default()
            }),
        }
    }
}

/// The kinds a watcher may name, for error messages.
pub fn watchable_kinds() -> String {
    WatchedKind::ALL.map(WatchedKind::name).join(", ")
}
