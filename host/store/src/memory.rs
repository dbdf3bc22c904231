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
    Backend, Event, Item, NewItem, Page, Result, Subscription, DEFAULT_FEED_CAPACITY,
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
    fn read(&self, key: &[u8]) -> Result<Option<Item>> {
        let now = portcullis_clock::now();
        Ok(self
            .lock()
            .items
            .get(key)
            .filter(|item| !item.is_expired(now))
            .cloned())
    }

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
        let items = self.write_all(vec![(key.to_vec(), condition, change)])?;
        Ok(items.into_iter().next().unwrap_or_else(|| Item {
            key: key.to_vec(),
            value: Vec::new(),
            revision: 0,
            expires: None,
        }))
    }

    /// Applies changes to distinct keys, all or none, with consecutive revisions.
    fn write_all(&self, ops: Vec<(Vec<u8>, Condition, Change)>) -> Result<Vec<Item>> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let mut state = self.lock();
        let now = portcullis_clock::now();
        for (i, (key, condition, _)) in ops.iter().enumerate() {
            if ops[..i].iter().any(|(other, _, _)| other == key) {
                return Err(crate::Error::AlreadyExists { key: key.clone() });
            }
            let current = state
                .items
                .get(key)
                .filter(|item| !item.is_expired(now))
                .map(|item| item.revision);
            condition.check(key, current)?;
        }
        let mut items = Vec::with_capacity(ops.len());
        for (key, _, change) in ops {
            state.revision += 1;
            let revision = state.revision;
            let event = match change {
                Change::Put { value, expires } => {
                    let item = Item {
                        key: key.clone(),
                        value,
                        revision,
                        expires,
                    };
                    state.items.insert(key, item.clone());
                    Event::put(item)
                }
                Change::Delete => {
                    state.items.remove(&key);
                    Event::delete(key, revision)
                }
            };
            items.push(event.item.clone());
            self.feed.publish(event);
        }
        Ok(items)
    }
}

#[async_trait::async_trait]
impl Backend for MemoryBackend {
    async fn get(&self, key: &[u8]) -> Result<Option<Item>> {
        self.read(key)
    }

    fn get_now(&self, key: &[u8]) -> Option<Result<Option<Item>>> {
        Some(self.read(key))
    }

    fn feed_is_synchronous(&self) -> bool {
        true
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

    async fn create_all(&self, items: Vec<NewItem>) -> Result<Vec<Item>> {
        let ops = items
            .into_iter()
            .map(|n| {
                let change = Change::Put {
                    value: n.value,
                    expires: n.expires,
                };
                (n.key, Condition::Absent, change)
            })
            .collect();
        self.write_all(ops)
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
        let now = portcullis_clock::now();
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
        let now = portcullis_clock::now();
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
