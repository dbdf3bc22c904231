//! Semaphores: a limited number of leases on something named (e.g. the `connection`
//! semaphore of user `alice`, with as many leases as her roles' `max_connections`), taken
//! with `AcquireSemaphore`, kept with `KeepAliveSemaphoreLease` and given back with
//! `CancelSemaphoreLease` or by letting them expire.
//!
//! # One record per semaphore, compare-and-swap
//!
//! A semaphore is **one store record** under `/semaphores/KIND/NAME`: a `SemaphoreV3`
//! holding every lease (id, expiry, holder). Every change reads the record, changes the
//! leases, and writes the record back by compare-and-swap on the revision it read (or
//! creates it when absent, or deletes it when no lease is left); a concurrent write in
//! between makes the write fail and the change starts over from a fresh read. So two
//! acquirers can never both take the last slot, on one server or on several sharing etcd.
//!
//! - Expired leases stop counting at once: each change drops the leases whose expiry has
//!   passed before it counts or writes, and listings hide them.
//! - The record's store expiry is its latest lease's expiry, so a semaphore whose leases
//!   all lapsed is absent from every read (and swept), without anyone cancelling.
//! - A full semaphore is refused ([`SemaphoreError::LimitReached`]) without a write.
//! - Within one server, changes to one semaphore take a local lock first (one of
//!   [`LOCK_STRIPES`] striped by key), so its own requests do not race each other's
//!   compare-and-swap; the retry loop is what keeps several servers correct. Retries are
//!   bounded ([`MAX_ATTEMPTS`], with a small jittered backoff): a request ends with a lease,
//!   a clear refusal, or, only if other servers won every one of the attempts,
//!   [`SemaphoreError::Contended`].
//! - Lease ids are random UUIDs, not revisions: a keep-alive or cancel names the lease
//!   itself, and an expired lease is gone for good (keep-alives of it are NOT_FOUND).
//! - Lifetimes are bounded ([`validate::expiry`]): an expiry is required and must be in
//!   the future; one later than [`validate::MAX_LEASE_TTL`] is cut to it.

mod error;
pub mod validate;

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use portcullis_api::kinds::{DEFAULT_NAMESPACE, KIND_SEMAPHORE};
use portcullis_api::services::{
    AcquireSemaphoreRequest, Metadata, SemaphoreFilter, SemaphoreLease, SemaphoreLeaseRef,
    SemaphoreSpecV3, SemaphoreV3,
};
use portcullis_store::{Backend, Error as StoreError, Item};
use rand::Rng;
use tokio::sync::Mutex;

pub use error::{Result, SemaphoreError};

use crate::resources::{to_system_time, ResourceError};

/// Store key prefix of semaphores: `/semaphores/KIND/NAME`.
pub const SEMAPHORES_PREFIX: &str = "/semaphores/";

/// How many times a change is tried when concurrent writes (of other servers) keep
/// changing the semaphore between its read and its write.
pub const MAX_ATTEMPTS: usize = 100;

/// The longest backoff between two attempts (each waits a random time up to
/// `min(2^attempt ms, this)`).
const MAX_BACKOFF: Duration = Duration::from_millis(25);

/// How many local locks the semaphores of one server share (by hash of the key).
pub const LOCK_STRIPES: usize = 64;

/// Page size when listing semaphores.
const LIST_PAGE: usize = 500;

/// The semaphores in a store.
pub struct Semaphores {
    backend: Arc<dyn Backend>,
    locks: Box<[Mutex<()>]>,
}

fn key(kind: &str, name: &str) -> Vec<u8> {
    format!("{SEMAPHORES_PREFIX}{kind}/{name}").into_bytes()
}

fn leases(semaphore: &SemaphoreV3) -> &[SemaphoreLeaseRef] {
    semaphore.spec.as_ref().map_or(&[], |s| s.leases.as_slice())
}

fn leases_mut(semaphore: &mut SemaphoreV3) -> &mut Vec<SemaphoreLeaseRef> {
    &mut semaphore.spec.get_or_insert_with(Default::default).leases
}

fn lease_expiry(lease: &SemaphoreLeaseRef) -> Option<SystemTime> {
    lease.expires.and_then(to_system_time)
}

/// Drops the leases that have expired at `now` (a lease without a valid expiry counts as
/// expired).
fn prune(semaphore: &mut SemaphoreV3, now: SystemTime) {
    leases_mut(semaphore).retain(|l| lease_expiry(l).is_some_and(|at| at > now));
}

/// The latest expiry among the semaphore's leases: the record's store expiry.
fn latest_expiry(semaphore: &SemaphoreV3) -> Option<SystemTime> {
    leases(semaphore).iter().filter_map(lease_expiry).max()
}

/// An empty semaphore of `kind` called `name`.
fn empty(kind: &str, name: &str) -> SemaphoreV3 {
    SemaphoreV3 {
        kind: KIND_SEMAPHORE.to_owned(),
        sub_kind: kind.to_owned(),
        version: "v3".to_owned(),
        metadata: Some(Metadata {
            name: name.to_owned(),
            namespace: DEFAULT_NAMESPACE.to_owned(),
            ..Metadata::default()
        }),
        spec: Some(SemaphoreSpecV3::default()),
    }
}

fn decode(item: &Item) -> Result<SemaphoreV3> {
    prost::Message::decode(item.value.as_slice()).map_err(|e: prost::DecodeError| {
        SemaphoreError::Resource(ResourceError::Corrupt {
            kind: KIND_SEMAPHORE,
            key: String::from_utf8_lossy(&item.key).into_owned(),
            reason: e.to_string(),
        })
    })
}

/// A stored semaphore as listings show it: without the leases expired at `now`, with the
/// record's expiry and revision.
fn listed(item: &Item, now: SystemTime) -> Result<SemaphoreV3> {
    let mut semaphore = decode(item)?;
    prune(&mut semaphore, now);
    let expires = latest_expiry(&semaphore).map(Into::into);
    let metadata = semaphore.metadata.get_or_insert_with(Default::default);
    metadata.expires = expires;
    metadata.id = i64::try_from(item.revision).unwrap_or(i64::MAX);
    Ok(semaphore)
}

fn store_error(e: StoreError) -> SemaphoreError {
    SemaphoreError::Resource(ResourceError::Store(e))
}

/// Waits a random time before attempt `attempt` (from 0) is retried.
async fn backoff(attempt: usize) {
    let cap = MAX_BACKOFF.min(Duration::from_millis(1 << attempt.min(10)));
    let wait = rand::rng().random_range(Duration::ZERO..=cap);
    tokio::time::sleep(wait).await;
}

impl Semaphores {
    /// The semaphores in `backend`.
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Semaphores {
            backend,
            locks: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }

    fn lock(&self, key: &[u8]) -> &Mutex<()> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut hasher);
        let stripe = usize::try_from(hasher.finish() % LOCK_STRIPES as u64).unwrap_or(0);
        &self.locks[stripe % self.locks.len()]
    }

    /// Applies `change` to the semaphore `kind`/`name` as stored (without its leases expired
    /// at `now`; `None` when absent) and writes what it returns (creating the record when
    /// absent, deleting it when no lease is left) until a write wins: the compare-and-swap
    /// loop. An error of `change` ends the loop without a write.
    async fn update<T>(
        &self,
        kind: &str,
        name: &str,
        now: SystemTime,
        mut change: impl FnMut(Option<SemaphoreV3>) -> Result<(SemaphoreV3, T)>,
    ) -> Result<T> {
        let key = key(kind, name);
        let _local = self.lock(&key).lock().await;
        for attempt in 0..MAX_ATTEMPTS {
            let item = self.backend.get(&key).await.map_err(store_error)?;
            let current = match &item {
                Some(item) => {
                    let mut semaphore = decode(item)?;
                    prune(&mut semaphore, now);
                    Some(semaphore)
                }
                None => None,
            };
            let (mut semaphore, out) = change(current)?;
            let expires = latest_expiry(&semaphore);
            if let Some(metadata) = semaphore.metadata.as_mut() {
                metadata.id = 0;
                metadata.expires = expires.map(Into::into);
            }
            let value = prost::Message::encode_to_vec(&semaphore);
            let written = match (&item, expires) {
                (None, None) => return Ok(out),
                (None, Some(_)) => self.backend.create(&key, value, expires).await.map(drop),
                (Some(item), Some(_)) => self
                    .backend
                    .compare_and_swap(&key, item.revision, value, expires)
                    .await
                    .map(drop),
                // No lease left: the semaphore goes.
                (Some(item), None) => self.backend.delete_if(&key, item.revision).await.map(drop),
            };
            match written {
                Ok(()) => return Ok(out),
                // Written, created or deleted since the read: look again.
                Err(
                    StoreError::RevisionMismatch { .. }
                    | StoreError::AlreadyExists { .. }
                    | StoreError::NotFound { .. },
                ) => backoff(attempt).await,
                Err(e) => return Err(store_error(e)),
            }
        }
        Err(SemaphoreError::Contended {
            kind: kind.to_owned(),
            name: name.to_owned(),
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Takes a lease on the semaphore the request names, if fewer than its `MaxLeases`
    /// live leases are held; refused with [`SemaphoreError::LimitReached`] otherwise.
    pub async fn acquire(
        &self,
        request: &AcquireSemaphoreRequest,
        now: SystemTime,
    ) -> Result<SemaphoreLease> {
        let (kind, name) = (&request.semaphore_kind, &request.semaphore_name);
        validate::part("SemaphoreKind", kind)?;
        validate::part("SemaphoreName", name)?;
        validate::max_leases(request.max_leases)?;
        validate::holder(&request.holder)?;
        let expires = validate::expiry(request.expires, now)?;
        let lease_id = uuid::Uuid::new_v4().to_string();
        let max = usize::try_from(request.max_leases).unwrap_or(usize::MAX);
        self.update(kind, name, now, |current| {
            let mut semaphore = current.unwrap_or_else(|| empty(kind, name));
            if leases(&semaphore).len() >= max {
                return Err(SemaphoreError::LimitReached {
                    kind: kind.clone(),
                    name: name.clone(),
                    max: request.max_leases,
                });
            }
            leases_mut(&mut semaphore).push(SemaphoreLeaseRef {
                lease_id: lease_id.clone(),
                expires: Some(expires.into()),
                holder: request.holder.clone(),
            });
            Ok((semaphore, ()))
        })
        .await?;
        Ok(SemaphoreLease {
            semaphore_kind: kind.clone(),
            semaphore_name: name.clone(),
            lease_id,
            expires: Some(expires.into()),
        })
    }

    fn check_lease(lease: &SemaphoreLease) -> Result<()> {
        validate::part("SemaphoreKind", &lease.semaphore_kind)?;
        validate::part("SemaphoreName", &lease.semaphore_name)?;
        validate::lease_id(&lease.lease_id)
    }

    fn lease_not_found(lease: &SemaphoreLease) -> SemaphoreError {
        SemaphoreError::LeaseNotFound {
            kind: lease.semaphore_kind.clone(),
            name: lease.semaphore_name.clone(),
            lease_id: lease.lease_id.clone(),
        }
    }

    /// Extends the live lease `lease` names to its `Expires` (in the future, bounded like
    /// an acquisition's); returns the new expiry. An expired or unknown lease is
    /// [`SemaphoreError::LeaseNotFound`].
    pub async fn keep_alive(&self, lease: &SemaphoreLease, now: SystemTime) -> Result<SystemTime> {
        Self::check_lease(lease)?;
        let expires = validate::expiry(lease.expires, now)?;
        let (kind, name) = (&lease.semaphore_kind, &lease.semaphore_name);
        self.update(kind, name, now, |current| {
            let mut semaphore = current.ok_or_else(|| Self::lease_not_found(lease))?;
            let held = leases_mut(&mut semaphore)
                .iter_mut()
                .find(|l| l.lease_id == lease.lease_id)
                .ok_or_else(|| Self::lease_not_found(lease))?;
            held.expires = Some(expires.into());
            Ok((semaphore, ()))
        })
        .await?;
        Ok(expires)
    }

    /// Gives the live lease `lease` names back; the semaphore goes with its last lease. An
    /// expired or unknown lease is [`SemaphoreError::LeaseNotFound`].
    pub async fn cancel(&self, lease: &SemaphoreLease, now: SystemTime) -> Result<()> {
        Self::check_lease(lease)?;
        let (kind, name) = (&lease.semaphore_kind, &lease.semaphore_name);
        self.update(kind, name, now, |current| {
            let mut semaphore = current.ok_or_else(|| Self::lease_not_found(lease))?;
            let held = leases_mut(&mut semaphore);
            let before = held.len();
            held.retain(|l| l.lease_id != lease.lease_id);
            if held.len() == before {
                return Err(Self::lease_not_found(lease));
            }
            Ok((semaphore, ()))
        })
        .await
    }

    /// The semaphores matching `filter` (an empty kind or name matches every one), ordered
    /// by kind and name, with their live leases only.
    pub async fn list(
        &self,
        filter: &SemaphoreFilter,
        now: SystemTime,
    ) -> Result<Vec<SemaphoreV3>> {
        let (kind, name) = (&filter.semaphore_kind, &filter.semaphore_name);
        validate::filter_part("SemaphoreKind", kind)?;
        validate::filter_part("SemaphoreName", name)?;
        if !kind.is_empty() && !name.is_empty() {
            let item = self
                .backend
                .get(&key(kind, name))
                .await
                .map_err(store_error)?;
            let semaphore = item.map(|item| listed(&item, now)).transpose()?;
            return Ok(semaphore
                .filter(|s| !leases(s).is_empty())
                .into_iter()
                .collect());
        }
        let prefix = match kind.as_str() {
            "" => SEMAPHORES_PREFIX.to_owned(),
            kind => format!("{SEMAPHORES_PREFIX}{kind}/"),
        };
        let mut out = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self
                .backend
                .range(prefix.as_bytes(), after.as_deref(), LIST_PAGE)
                .await
                .map_err(store_error)?;
            for item in &page.items {
                let semaphore = listed(item, now)?;
                let its_name = semaphore.metadata.as_ref().map_or("", |m| m.name.as_str());
                if (name.is_empty() || its_name == name) && !leases(&semaphore).is_empty() {
                    out.push(semaphore);
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(out),
            }
        }
    }

    /// Deletes the semaphore `filter` names (both kind and name are required) with all its
    /// leases; [`SemaphoreError::NotFound`] when there is none.
    pub async fn delete(&self, filter: &SemaphoreFilter) -> Result<()> {
        let (kind, name) = (&filter.semaphore_kind, &filter.semaphore_name);
        validate::part("SemaphoreKind", kind)?;
        validate::part("SemaphoreName", name)?;
        let key = key(kind, name);
        let _local = self.lock(&key).lock().await;
        match self.backend.delete(&key).await {
            Ok(_) => Ok(()),
            Err(StoreError::NotFound { .. }) => Err(SemaphoreError::NotFound {
                kind: kind.clone(),
                name: name.clone(),
            }),
            Err(e) => Err(store_error(e)),
        }
    }
}

#[cfg(test)]
mod tests;
