//! An in-memory backend for tests: same semantics and feed as the RocksDB
//! backend, no durability.

use std::{
    collections::BTreeMap,
    ops::Bound,
    sync::{Mutex, MutexGuard, PoisonError},
    time::SystemTime,
};

use crate::{
    feed::Feed,
    item::is_expired,
    ops::{range_start, Change, Condition, PageBuilder},
    Backend, Event, Item, Page, Result, Subscription, DEFAULT_FEED_CAPACITY,
};

/// A [`Backend`] keeping everything in a `BTreeMap`. Meant for unit tests of
/// other crates; nothing survives the process.
#[derive(Debug)]
pub struct MemoryBackend {
    state: Mutex<State>,
    feed: Feed,
}

#[derive(Debug, Default)]
struct State {
    items: BTreeMap<Vec<u8>, Item>,
    revision: u64,
}

impl Default for MemoryBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryBackend {
    /// An empty store with the default feed capacity.
    pub fn new() -> Self {
        Self::with_feed_capacity(DEFAULT_FEED_CAPACITY)
    }

    /// An empty store whose feed buffers `capacity` events per subscriber.
    pub fn with_feed_capacity(capacity: usize) -> Self {
        MemoryBackend {
            state: Mutex::new(State::default()),
            feed: Feed::new(capacity),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is only modified after every check passed, so it is
        // consistent even if a holder panicked.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self, key: &[u8], condition: Condition, change: Change) -> Result<Item> {
        let mut state = self.lock();
        let now = SystemTime::now();
        let current = state
            .items
            .get(key)
            .filter(|item| !item.is_expired(now))
            .map(|item| item.revision);
        condition.check(key, current)?;
        state.revision += 1;
        let revision = state.revision;
        let event = match change {
            Change::Put { value, expires } => {
                let item = Item {
                    key: key.to_vec(),
                    value,
                    revision,
                    expires,
                };
                state.items.insert(key.to_vec(), item.clone());
                Event::put(item)
            }
            Change::Delete => {
                state.items.remove(key);
                Event::delete(key.to_vec(), revision)
            }
        };
        let item = event.item.clone();
        self.feed.publish(event);
        Ok(item)
    }
}

#[async_trait::async_trait]
impl Backend for MemoryBackend {
    async fn get(&self, key: &[u8]) -> Result<Option<Item>> {
        let now = SystemTime::now();
        Ok(self
            .lock()
            .items
            .get(key)
            .filter(|item| !item.is_expired(now))
            .cloned())
    }

    async fn put(&self, key: &[u8], value: Vec<u8>, expires: Option<SystemTime>) -> Result<Item> {
        self.write(key, Condition::Any, Change::Put { value, expires })
    }

    async fn create(
        &self,
        key: &[u8],
        value: Vec<u8>,
        expires: Option<SystemTime>,
    ) -> Result<Item> {
        self.write(key, Condition::Absent, Change::Put { value, expires })
    }

    async fn compare_and_swap(
        &self,
        key: &[u8],
        expected_revision: u64,
        value: Vec<u8>,
        expires: Option<SystemTime>,
    ) -> Result<Item> {
        let condition = Condition::Revision(expected_revision);
        self.write(key, condition, Change::Put { value, expires })
    }

    async fn delete(&self, key: &[u8]) -> Result<u64> {
        Ok(self
            .write(key, Condition::Present, Change::Delete)?
            .revision)
    }

    async fn delete_if(&self, key: &[u8], expected_revision: u64) -> Result<u64> {
        let condition = Condition::Revision(expected_revision);
        Ok(self.write(key, condition, Change::Delete)?.revision)
    }

    async fn range(&self, prefix: &[u8], start_after: Option<&[u8]>, limit: usize) -> Result<Page> {
        let now = SystemTime::now();
        let (start, exclusive) = range_start(prefix, start_after);
        let lower = if exclusive {
            Bound::Excluded(start)
        } else {
            Bound::Included(start)
        };
        let state = self.lock();
        let mut page = PageBuilder::new(limit);
        let items = state
            .items
            .range::<[u8], _>((lower, Bound::Unbounded))
            .map(|(_, item)| item)
            .take_while(|item| item.key.starts_with(prefix))
            .filter(|item| !item.is_expired(now));
        for item in items {
            if !page.push(item.clone()) {
                break;
            }
        }
        Ok(page.finish())
    }

    fn subscribe(&self) -> Subscription {
        self.feed.subscribe(|| self.current_revision())
    }

    fn current_revision(&self) -> u64 {
        self.lock().revision
    }

    async fn sweep_expired(&self) -> Result<usize> {
        let now = SystemTime::now();
        let mut state = self.lock();
        let expired: Vec<Vec<u8>> = state
            .items
            .values()
            .filter(|item| is_expired(item.expires, now))
            .map(|item| item.key.clone())
            .collect();
        for key in &expired {
            state.items.remove(key);
            state.revision += 1;
            self.feed
                .publish(Event::delete(key.clone(), state.revision));
        }
        Ok(expired.len())
    }
}
