//! The storage interface the server is written against.

use std::time::SystemTime;

use crate::{Page, Result, Subscription};

/// A key-value store with store-wide revisions, compare-and-swap, expiry and
/// an event feed.
///
/// Every successful write (`put`, `create`, `compare_and_swap`, `delete`,
/// `delete_if`, each deletion done by `sweep_expired`, and each batch of
/// `create_all`) gets a new revision
/// from a store-wide counter that never goes backwards and is never reused,
/// and publishes one [`Event`](crate::Event) to subscribers, in revision order.
/// An item whose expiry time has passed is treated as absent by every
/// operation, even before the sweep deletes it.
///
/// Used as `Arc<dyn Backend>`.
#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    /// Reads the live item stored under `key`.
    async fn get(&self, key: &[u8]) -> Result<Option<crate::Item>>;

    /// [`Backend::get`] answered at once, for callers that run synchronous code (a policy
    /// module's look-up, inside a decision): `Some` when the backend answers a point read
    /// without waiting (an embedded store), `None` when it would have to wait (a network
    /// store), and the caller then awaits [`Backend::get`].
    fn get_now(&self, _key: &[u8]) -> Option<Result<Option<crate::Item>>> {
        None
    }

    /// Whether every write's event is in the feed before the write is acknowledged (an
    /// embedded store): a subscriber that drains its subscription after a write returned
    /// has seen it. A network store's feed follows its writes a little later.
    fn feed_is_synchronous(&self) -> bool {
        false
    }

    /// Creates or replaces the item under `key`; returns it with its new revision.
    async fn put(
        &self,
        key: &[u8],
        value: Vec<u8>,
        expires: Option<SystemTime>,
    ) -> Result<crate::Item>;

    /// Creates the item under `key` if there is no live item there; otherwise
    /// fails with [`Error::AlreadyExists`](crate::Error::AlreadyExists).
    async fn create(
        &self,
        key: &[u8],
        value: Vec<u8>,
        expires: Option<SystemTime>,
    ) -> Result<crate::Item>;

    /// Creates every item, all or none: if any key holds a live item (or two items
    /// share a key), fails with [`Error::AlreadyExists`](crate::Error::AlreadyExists)
    /// and writes nothing. Otherwise the items are written (and made durable) together
    /// and get one event each, in order. Their revisions are newer than every earlier
    /// write and never decrease along the batch: consecutive on the embedded backends,
    /// one shared revision on etcd (where a transaction is one revision).
    async fn create_all(&self, items: Vec<crate::NewItem>) -> Result<Vec<crate::Item>>;

    /// Replaces the item under `key` if its revision is `expected_revision`.
    /// Fails with [`Error::NotFound`](crate::Error::NotFound) if there is no live
    /// item and [`Error::RevisionMismatch`](crate::Error::RevisionMismatch) if
    /// the revision differs.
    async fn compare_and_swap(
        &self,
        key: &[u8],
        expected_revision: u64,
        value: Vec<u8>,
        expires: Option<SystemTime>,
    ) -> Result<crate::Item>;

    /// Compare-and-swaps several items, each on its own: the result of each is what
    /// [`Backend::compare_and_swap`] of it alone would have returned (one failing leaves the
    /// others to succeed), and each that succeeds gets its own event. The keys must be
    /// distinct: an item whose key an earlier item names fails with
    /// [`Error::AlreadyExists`](crate::Error::AlreadyExists) and is not written. The
    /// revisions of those written are newer than every earlier write and never decrease
    /// along the call: consecutive on the embedded backends, shared by those of one etcd
    /// transaction.
    ///
    /// The point is the cost: a backend that can write several items in one round trip or
    /// one sync does so (etcd: one transaction per 64 items while none fails; RocksDB:
    /// one batch and one fsync). The default swaps them one after the other. An `Err`
    /// means the store failed as a whole, and nothing is known of any item.
    async fn compare_and_swap_each(
        &self,
        swaps: Vec<crate::Swap>,
    ) -> Result<Vec<Result<crate::Item>>> {
        let mut seen = std::collections::HashSet::new();
        let mut results = Vec::with_capacity(swaps.len());
        for swap in swaps {
            if !seen.insert(swap.key.clone()) {
                results.push(Err(crate::Error::AlreadyExists { key: swap.key }));
                continue;
            }
            let swapped = self
                .compare_and_swap(&swap.key, swap.expected_revision, swap.value, swap.expires)
                .await;
            results.push(swapped);
        }
        Ok(results)
    }

    /// Deletes the live item under `key` and returns the revision of the delete.
    /// Fails with [`Error::NotFound`](crate::Error::NotFound) if there is none.
    async fn delete(&self, key: &[u8]) -> Result<u64>;

    /// Deletes the item under `key` if its revision is `expected_revision`;
    /// fails like [`Backend::compare_and_swap`].
    async fn delete_if(&self, key: &[u8], expected_revision: u64) -> Result<u64>;

    /// Lists live items whose key starts with `prefix`, ordered by key,
    /// starting after the key `start_after` (if given), at most `limit` of them
    /// (0 = no limit). Pass the returned [`Page::next`] as `start_after` to get
    /// the next page.
    async fn range(&self, prefix: &[u8], start_after: Option<&[u8]>, limit: usize) -> Result<Page>;

    /// Subscribes to the event feed: every write after this call, in revision
    /// order (see [`Subscription`]).
    fn subscribe(&self) -> Subscription;

    /// The revision of the latest write (0 for an empty, never-written store).
    fn current_revision(&self) -> u64;

    /// Deletes every expired item, each with its own revision and
    /// [`EventKind::Delete`](crate::EventKind::Delete) event, and returns how
    /// many were deleted.
    async fn sweep_expired(&self) -> Result<usize>;
}
