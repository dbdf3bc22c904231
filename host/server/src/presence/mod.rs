//! Presence: nodes, proxies, application servers and Kubernetes services announce
//! themselves and stay listed only while they keep their lease alive.
//!
//! # Leases and expiry
//!
//! A registration (`UpsertNode`, `UpsertProxy`, `UpsertAppServer`, `UpsertKubeService`) is
//! **one store record** per server, under `/nodes/NAMESPACE/NAME`, `/proxies/NAME`,
//! `/app_servers/NAMESPACE/NAME` or `/kube_services/NAME`: a [`Registration`] holding the
//! `ServerV2` as announced and a lease id. The record's store expiry *is* the lease's expiry.
//!
//! Nodes, proxies and application servers extend their lease with `SendKeepAlives` (types
//! NODE, PROXY, APP). `UpsertKubeService` returns no lease and the keep-alive types have no
//! Kubernetes member: a Kubernetes service stays registered by announcing itself again before
//! its expiry, as Teleport's Kubernetes services do.
//!
//! - One record, not a server record plus a lease record: every write changes both at
//!   once, so there is no moment where a node is listed without a live lease or a lease
//!   outlives its node, and a keep-alive costs one write (one fsync, shared with concurrent
//!   writers by the store's group commit).
//! - Expiry is the store's: an expired record is absent from every read even before the
//!   sweeper deletes it, so `GetNodes`/`GetProxies` can never return a server whose lease
//!   lapsed, however late the sweep runs.
//! - The lease id is a random positive 63-bit number drawn at each registration, not the
//!   store revision (every keep-alive write bumps the revision). A keep-alive must name the
//!   current lease: registering again replaces it, so an old heartbeat loop (a restarted
//!   process, a second process using the same name, a lease that lapsed and was taken
//!   again) is told its lease is gone instead of silently extending someone else's
//!   registration.
//! - A keep-alive reads the record, checks the lease, and writes the same bytes back with
//!   the new expiry by compare-and-swap on the revision it read (retried if a concurrent
//!   write came between), so it never resurrects a record deleted or replaced meanwhile and
//!   never rewrites the announced server. The `metadata.expires` a listing reports is the
//!   record's current expiry.
//! - A stream's later keep-alives of the same lease skip the read: they compare-and-swap
//!   the bytes the previous one wrote on the revision it got ([`Registry::extend`]), which
//!   only succeeds while the record is exactly that (same lease, same server, live); any
//!   other outcome falls back to the read. A steady keep-alive is one store round trip.
//! - Expiries are bounded ([`validate::expiry`]): none given means the default announce
//!   TTL (10 minutes), later than an hour is cut to an hour, a past expiry is refused.
//!
//! Who may register or keep alive what is decided by the service (`service/presence.rs`):
//! the RBAC table, plus "a host only announces itself".

mod batch;
mod error;
pub mod hosts;
pub mod services;
pub mod validate;

use std::collections::BTreeMap;
use std::time::SystemTime;

use portcullis_api::services::keep_alive::KeepAliveType;
use portcullis_api::services::{KeepAlive, ServerV2};
use portcullis_store::{Backend, Error as StoreError, Item, Swap};
use rand::Rng;

pub use batch::Batcher;
pub use error::PresenceError;

use crate::resources::kinds::{
    APP_SERVERS_PREFIX, KIND_APP_SERVER, KIND_KUBE_SERVICE, KIND_NODE, KIND_PROXY,
    KUBE_SERVICES_PREFIX, NODES_PREFIX, PROXIES_PREFIX,
};
use crate::resources::ResourceError;

/// How many times a keep-alive retries when a concurrent write changed the record between
/// its read and its compare-and-swap.
const KEEP_ALIVE_ATTEMPTS: usize = 3;

/// Page size when listing servers.
const LIST_PAGE: usize = 500;

/// The kinds of servers that announce themselves here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerKind {
    /// SSH nodes (`node`), per namespace.
    Node,
    /// Proxies (`proxy`), in the default namespace.
    Proxy,
    /// Application servers (`app_server`), per namespace.
    App,
    /// Kubernetes services (`kube_service`), in the default namespace.
    Kube,
}

impl ServerKind {
    /// The resource kind: `node`, `proxy`, `app_server` or `kube_service`.
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Node => KIND_NODE,
            ServerKind::Proxy => KIND_PROXY,
            ServerKind::App => KIND_APP_SERVER,
            ServerKind::Kube => KIND_KUBE_SERVICE,
        }
    }

    /// The keep-alive type of this kind; Kubernetes services have none (they announce
    /// themselves again instead).
    pub fn keep_alive_type(self) -> Option<KeepAliveType> {
        match self {
            ServerKind::Node => Some(KeepAliveType::Node),
            ServerKind::Proxy => Some(KeepAliveType::Proxy),
            ServerKind::App => Some(KeepAliveType::App),
            ServerKind::Kube => None,
        }
    }

    /// Whether servers of this kind live in one namespace only (`default`).
    pub fn default_namespace_only(self) -> bool {
        matches!(self, ServerKind::Proxy | ServerKind::Kube)
    }

    /// The kind a keep-alive's `Type` names.
    pub fn of_keep_alive(r#type: i32) -> Result<Self, PresenceError> {
        match KeepAliveType::try_from(r#type) {
            Ok(KeepAliveType::Node) => Ok(ServerKind::Node),
            Ok(KeepAliveType::Proxy) => Ok(ServerKind::Proxy),
            Ok(KeepAliveType::App) => Ok(ServerKind::App),
            Err(_) => Err(PresenceError::invalid(format!(
                "keep-alive Type {type} is not a known type (NODE, APP or PROXY)"
            ))),
        }
    }

    fn prefix(self, namespace: &str) -> String {
        match self {
            ServerKind::Node => format!("{NODES_PREFIX}{namespace}/"),
            ServerKind::App => format!("{APP_SERVERS_PREFIX}{namespace}/"),
            ServerKind::Proxy => PROXIES_PREFIX.to_owned(),
            ServerKind::Kube => KUBE_SERVICES_PREFIX.to_owned(),
        }
    }

    fn key(self, namespace: &str, name: &str) -> Vec<u8> {
        format!("{}{name}", self.prefix(namespace)).into_bytes()
    }
}

/// What the store holds for one registered server.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Registration {
    /// The lease a keep-alive must name.
    #[prost(int64, tag = "1")]
    pub lease_id: i64,
    /// The server as announced.
    #[prost(message, optional, tag = "2")]
    pub server: Option<ServerV2>,
}

fn decode_registration(kind: ServerKind, item: &Item) -> Result<Registration, PresenceError> {
    prost::Message::decode(item.value.as_slice()).map_err(|e: prost::DecodeError| {
        PresenceError::Resource(ResourceError::Corrupt {
            kind: kind.name(),
            key: String::from_utf8_lossy(&item.key).into_owned(),
            reason: e.to_string(),
        })
    })
}

/// The server a stored registration of `kind` announces, as listings show it: with the
/// record's current expiry and revision (`None` for a registration without a server).
pub fn listed_server(kind: ServerKind, item: &Item) -> Result<Option<ServerV2>, PresenceError> {
    let Some(mut server) = decode_registration(kind, item)?.server else {
        return Ok(None);
    };
    let metadata = server.metadata.get_or_insert_with(Default::default);
    metadata.expires = item.expires.map(Into::into);
    metadata.id = i64::try_from(item.revision).unwrap_or(i64::MAX);
    Ok(Some(server))
}

/// What a keep-alive wrote: the lease it extended, the revision its write got and the bytes
/// it wrote (the record as registered), so that the next keep-alive of the same server can
/// write without reading first (see [`Registry::extend`]).
#[derive(Debug, Clone)]
pub struct Extended {
    lease_id: i64,
    revision: u64,
    value: Vec<u8>,
}

/// The registered servers of one kind in a store.
pub struct Registry<'a> {
    backend: &'a dyn Backend,
    kind: ServerKind,
    /// Where keep-alives write, when not straight to the backend.
    batcher: Option<&'a Batcher>,
}

impl<'a> Registry<'a> {
    /// The servers of `kind` in `backend`.
    pub fn new(backend: &'a dyn Backend, kind: ServerKind) -> Self {
        Registry {
            backend,
            kind,
            batcher: None,
        }
    }

    /// The same, with keep-alives written through `batcher` (together with those of other
    /// streams; `batcher` writes to the same store).
    pub fn with_batcher(mut self, batcher: &'a Batcher) -> Self {
        self.batcher = Some(batcher);
        self
    }

    /// The compare-and-swap of a keep-alive, through the batcher if there is one.
    async fn swap(&self, swap: Swap) -> Result<Item, StoreError> {
        match self.batcher {
            Some(batcher) => batcher.compare_and_swap(swap).await,
            None => {
                let Swap {
                    key,
                    expected_revision,
                    value,
                    expires,
                } = swap;
                self.backend
                    .compare_and_swap(&key, expected_revision, value, expires)
                    .await
            }
        }
    }

    fn store_error(&self, e: StoreError) -> PresenceError {
        PresenceError::Resource(ResourceError::Store(e))
    }

    fn decode(&self, item: &Item) -> Result<Registration, PresenceError> {
        decode_registration(self.kind, item)
    }

    /// Registers `server` (normalised, see [`validate::normalize_server`]) until `expires`
    /// under a new lease, replacing any earlier registration and its lease.
    pub async fn upsert(
        &self,
        mut server: ServerV2,
        expires: SystemTime,
    ) -> Result<KeepAlive, PresenceError> {
        let metadata = server.metadata.get_or_insert_with(Default::default);
        metadata.expires = Some(expires.into());
        metadata.id = 0;
        let (name, namespace) = (metadata.name.clone(), metadata.namespace.clone());
        let lease_id = rand::rng().random_range(1..=i64::MAX);
        let record = Registration {
            lease_id,
            server: Some(server),
        };
        let key = self.kind.key(&namespace, &name);
        let value = prost::Message::encode_to_vec(&record);
        self.backend
            .put(&key, value, Some(expires))
            .await
            .map_err(|e| self.store_error(e))?;
        Ok(KeepAlive {
            name,
            namespace,
            lease_id,
            expires: Some(expires.into()),
            r#type: self.kind.keep_alive_type().map_or(0, Into::into),
        })
    }

    /// Extends the registration of `name` under `lease_id` to `expires`.
    pub async fn keep_alive(
        &self,
        namespace: &str,
        name: &str,
        lease_id: i64,
        expires: SystemTime,
    ) -> Result<(), PresenceError> {
        self.extend(namespace, name, lease_id, expires, &mut None)
            .await
    }

    /// Extends the registration of `name` under `lease_id` to `expires`, as
    /// [`Registry::keep_alive`], given what the previous keep-alive of the same server on
    /// the same stream wrote (`last`, updated here; `None` at first).
    ///
    /// When `last` names the same lease, the keep-alive is one store write: a
    /// compare-and-swap of the bytes it wrote, on the revision its write got. The swap only
    /// succeeds while the record is exactly what that keep-alive left (same lease, same
    /// announced server) and live, so it checks what a read would have. Otherwise (the
    /// record was written, replaced, deleted or lapsed since, or this is the first
    /// keep-alive) the record is read and its lease checked first.
    pub async fn extend(
        &self,
        namespace: &str,
        name: &str,
        lease_id: i64,
        expires: SystemTime,
        last: &mut Option<Extended>,
    ) -> Result<(), PresenceError> {
        let key = self.kind.key(namespace, name);
        if let Some(known) = last.take().filter(|known| known.lease_id == lease_id) {
            let (revision, value) = (known.revision, known.value);
            if self
                .rewrite(&key, lease_id, revision, value, expires, last)
                .await?
            {
                return Ok(());
            }
            // Changed or gone since that keep-alive: read what is there now.
        }
        let not_registered = || PresenceError::NotRegistered {
            kind: self.kind.name(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        };
        for _ in 0..KEEP_ALIVE_ATTEMPTS {
            let item = self
                .backend
                .get(&key)
                .await
                .map_err(|e| self.store_error(e))?
                .ok_or_else(not_registered)?;
            if self.decode(&item)?.lease_id != lease_id {
                return Err(PresenceError::LeaseMismatch {
                    kind: self.kind.name(),
                    name: name.to_owned(),
                    given: lease_id,
                });
            }
            let (revision, value) = (item.revision, item.value);
            if self
                .rewrite(&key, lease_id, revision, value, expires, last)
                .await?
            {
                return Ok(());
            }
            // Written or deleted since the read: look again.
        }
        Err(PresenceError::Contended {
            kind: self.kind.name(),
            name: name.to_owned(),
            attempts: KEEP_ALIVE_ATTEMPTS,
        })
    }

    /// Writes `value` (a registration under `lease_id`) back under `key` until `expires`,
    /// if the live record there still has `revision`, and keeps the write in `last`. False
    /// when the record changed or went since.
    async fn rewrite(
        &self,
        key: &[u8],
        lease_id: i64,
        revision: u64,
        value: Vec<u8>,
        expires: SystemTime,
        last: &mut Option<Extended>,
    ) -> Result<bool, PresenceError> {
        let swap = Swap {
            key: key.to_vec(),
            expected_revision: revision,
            value,
            expires: Some(expires),
        };
        match self.swap(swap).await {
            Ok(item) => {
                *last = Some(Extended {
                    lease_id,
                    revision: item.revision,
                    value: item.value,
                });
                Ok(true)
            }
            Err(StoreError::RevisionMismatch { .. } | StoreError::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.store_error(e)),
        }
    }

    /// Removes the registration of `name` (and its lease).
    pub async fn delete(&self, namespace: &str, name: &str) -> Result<(), PresenceError> {
        match self.backend.delete(&self.kind.key(namespace, name)).await {
            Ok(_) => Ok(()),
            Err(StoreError::NotFound { .. }) => Err(PresenceError::NotRegistered {
                kind: self.kind.name(),
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            }),
            Err(e) => Err(self.store_error(e)),
        }
    }

    /// Removes every registration of `namespace`; returns how many there were.
    pub async fn delete_all(&self, namespace: &str) -> Result<usize, PresenceError> {
        let prefix = self.kind.prefix(namespace);
        let mut deleted = 0;
        loop {
            let page = self
                .backend
                .range(prefix.as_bytes(), None, LIST_PAGE)
                .await
                .map_err(|e| self.store_error(e))?;
            if page.items.is_empty() {
                return Ok(deleted);
            }
            for item in &page.items {
                match self.backend.delete(&item.key).await {
                    Ok(_) => deleted += 1,
                    // Expired or deleted by someone else meanwhile.
                    Err(StoreError::NotFound { .. }) => {}
                    Err(e) => return Err(self.store_error(e)),
                }
            }
        }
    }

    /// The live servers of `namespace` carrying every label of `selector` (see
    /// [`validate::matches`]), ordered by name, with their current expiry.
    pub async fn list(
        &self,
        namespace: &str,
        selector: &BTreeMap<String, String>,
    ) -> Result<Vec<ServerV2>, PresenceError> {
        let prefix = self.kind.prefix(namespace);
        let mut out = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self
                .backend
                .range(prefix.as_bytes(), after.as_deref(), LIST_PAGE)
                .await
                .map_err(|e| self.store_error(e))?;
            for item in &page.items {
                match listed_server(self.kind, item)? {
                    Some(server) if validate::matches(&server, selector) => out.push(server),
                    _ => {}
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(out),
            }
        }
    }
}

#[cfg(test)]
mod tests;
