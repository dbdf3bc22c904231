//! A read-through cache of decoded resources of one kind (or of a view of each, e.g. a user
//! as `where` clauses see it), for what every request reads: the caller's roles and user.
//!
//! It is exact, not eventually consistent: it is only used on an embedded store, whose feed
//! carries every write's event before the write is acknowledged
//! ([`Backend::feed_is_synchronous`]), and each lookup first drains the feed, dropping what
//! changed. A lookup therefore never returns a revision older than one already
//! acknowledged to anyone. On a network store (etcd), whose feed follows writes made
//! through other servers a little later, lookups read the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use portcullis_store::{Backend, Subscription};

use super::{Collection, Resource, ResourceError};

/// Entries kept before the cache is emptied.
pub const MAX_CACHED: usize = 16_384;

/// Resources of kind `T` by name, decoded and turned into a `V` (by default the resource
/// itself).
pub struct Cached<T, V = T> {
    collection: Collection<T>,
    /// Turns a resource read from the store into what is cached and returned.
    view: fn(T) -> V,
    state: Option<Mutex<CacheState<V>>>,
}

struct CacheState<V> {
    feed: Subscription,
    entries: HashMap<String, Arc<V>>,
    /// Bumped on every change seen: a read that started before a change must not fill.
    generation: u64,
}

impl<T: Resource> Cached<T> {
    /// A cache over `backend`'s resources of kind `T` (reads go straight to the store when
    /// its feed is not synchronous).
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Self::with_view(backend, |resource| resource)
    }
}

impl<T: Resource, V> Cached<T, V> {
    /// A cache of `view` of each of `backend`'s resources of kind `T`.
    pub fn with_view(backend: Arc<dyn Backend>, view: fn(T) -> V) -> Self {
        let state = backend.feed_is_synchronous().then(|| {
            Mutex::new(CacheState {
                feed: backend.subscribe(),
                entries: HashMap::new(),
                generation: 0,
            })
        });
        Cached {
            collection: Collection::new(backend),
            view,
            state,
        }
    }

    /// The resource `name` (its view), `None` if absent.
    pub async fn find(&self, name: &str) -> Result<Option<Arc<V>>, ResourceError> {
        let view = |found: Option<T>| found.map(|resource| Arc::new((self.view)(resource)));
        let Some(state) = &self.state else {
            return Ok(view(self.collection.find(name).await?));
        };
        let generation = {
            let state = self.lock(state);
            if let Some(hit) = state.entries.get(name) {
                return Ok(Some(hit.clone()));
            }
            state.generation
        };
        let found = view(self.collection.find(name).await?);
        if let Some(resource) = &found {
            let mut state = self.lock(state);
            if state.generation == generation {
                if state.entries.len() >= MAX_CACHED {
                    state.entries.clear();
                }
                state.entries.insert(name.to_owned(), resource.clone());
            }
        }
        Ok(found)
    }

    /// How many resources are cached.
    pub fn len(&self) -> usize {
        self.state
            .as_ref()
            .map_or(0, |state| self.lock(state).entries.len())
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The state with every change acknowledged so far applied.
    fn lock<'a>(&self, state: &'a Mutex<CacheState<V>>) -> MutexGuard<'a, CacheState<V>> {
        // A panic while holding the lock leaves at worst a stale generation, which only
        // prevents a fill.
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match state.feed.try_recv() {
                Ok(None) => break,
                Ok(Some(event)) => {
                    let Some(name) = event.item.key.strip_prefix(T::PREFIX.as_bytes()) else {
                        continue;
                    };
                    if let Ok(name) = std::str::from_utf8(name) {
                        state.entries.remove(name);
                    }
                    state.generation += 1;
                }
                Err(e) => {
                    // The feed ended (this cache fell too far behind): forget everything
                    // and follow a new subscription.
                    tracing::debug!(kind = T::KIND, error = %e, "cache feed ended; cache cleared");
                    state.entries.clear();
                    state.generation += 1;
                    state.feed = self.collection.backend().subscribe();
                }
            }
        }
        state
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use portcullis_api::services::{Metadata, RoleV3};
    use portcullis_store::MemoryBackend;

    use super::*;

    fn role(name: &str, label: &str) -> RoleV3 {
        let mut metadata = Metadata {
            name: name.to_owned(),
            ..Metadata::default()
        };
        metadata.labels.insert("v".to_owned(), label.to_owned());
        RoleV3 {
            kind: "role".into(),
            version: "v3".into(),
            metadata: Some(metadata),
            ..RoleV3::default()
        }
    }

    fn label(role: &RoleV3) -> &str {
        role.metadata.as_ref().unwrap().labels["v"].as_str()
    }

    #[tokio::test]
    async fn every_acknowledged_write_is_seen_by_the_next_lookup() {
        let backend: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
        let roles: Collection<RoleV3> = Collection::new(backend.clone());
        let cache: Cached<RoleV3> = Cached::new(backend.clone());
        assert!(cache.find("dev").await.unwrap().is_none());
        roles.create(&role("dev", "1")).await.unwrap();
        let first = cache.find("dev").await.unwrap().unwrap();
        assert_eq!(label(&first), "1");
        assert_eq!(cache.len(), 1);
        // A hit is the same decoded value, not a new read.
        assert!(Arc::ptr_eq(
            &first,
            &cache.find("dev").await.unwrap().unwrap()
        ));
        for n in 2..50 {
            let stored = roles.upsert(&role("dev", &n.to_string())).await.unwrap();
            let seen = cache.find("dev").await.unwrap().unwrap();
            assert_eq!(label(&seen), n.to_string());
            assert_eq!(
                seen.metadata.as_ref().unwrap().id,
                stored.metadata.unwrap().id
            );
        }
        // Writes of other kinds and other roles leave the entry cached.
        roles.create(&role("ops", "1")).await.unwrap();
        backend.put(b"/users/x", vec![1], None).await.unwrap();
        assert_eq!(
            cache
                .find("ops")
                .await
                .unwrap()
                .map(|r| label(&r).to_owned()),
            Some("1".into())
        );
        roles.delete("dev").await.unwrap();
        assert!(cache.find("dev").await.unwrap().is_none());
        assert_eq!(cache.len(), 1);
    }

    #[tokio::test]
    async fn a_cache_that_fell_behind_starts_over_instead_of_serving_stale_roles() {
        let backend: Arc<dyn Backend> = Arc::new(MemoryBackend::with_feed_capacity(4));
        let roles: Collection<RoleV3> = Collection::new(backend.clone());
        let cache: Cached<RoleV3> = Cached::new(backend.clone());
        roles.create(&role("dev", "old")).await.unwrap();
        assert_eq!(label(&cache.find("dev").await.unwrap().unwrap()), "old");
        // More writes than the feed buffers, the last one changing `dev`.
        for n in 0..10 {
            backend
                .put(format!("/users/u{n}").as_bytes(), vec![1], None)
                .await
                .unwrap();
        }
        roles.upsert(&role("dev", "new")).await.unwrap();
        assert_eq!(label(&cache.find("dev").await.unwrap().unwrap()), "new");
        // And it keeps following the store afterwards.
        roles.upsert(&role("dev", "newer")).await.unwrap();
        assert_eq!(label(&cache.find("dev").await.unwrap().unwrap()), "newer");
    }

    #[tokio::test]
    async fn a_cached_view_follows_every_write_of_its_resource() {
        let backend: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
        let roles: Collection<RoleV3> = Collection::new(backend.clone());
        let labels: Cached<RoleV3, String> = Cached::with_view(backend.clone(), |role| {
            role.metadata
                .map(|m| m.labels["v"].clone())
                .unwrap_or_default()
        });
        roles.create(&role("dev", "1")).await.unwrap();
        assert_eq!(labels.find("dev").await.unwrap().unwrap().as_str(), "1");
        roles.upsert(&role("dev", "2")).await.unwrap();
        assert_eq!(labels.find("dev").await.unwrap().unwrap().as_str(), "2");
        roles.delete("dev").await.unwrap();
        assert!(labels.find("dev").await.unwrap().is_none());
    }
}
