//! The values a backend stores and reports: items, pages and events.

use std::time::SystemTime;

/// A stored key-value pair with its revision and optional expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The key, an arbitrary byte string (the server uses paths like `/roles/NAME`).
    pub key: Vec<u8>,
    /// The value, opaque bytes.
    pub value: Vec<u8>,
    /// The store-wide revision of the write that last set this item.
    pub revision: u64,
    /// When the item expires; an expired item is treated as absent.
    pub expires: Option<SystemTime>,
}

impl Item {
    /// Whether the item has expired at `now` (an expiry equal to `now` counts as expired).
    pub fn is_expired(&self, now: SystemTime) -> bool {
        is_expired(self.expires, now)
    }
}

/// Whether an optional expiry time has passed at `now`.
pub(crate) fn is_expired(expires: Option<SystemTime>, now: SystemTime) -> bool {
    expires.is_some_and(|at| at <= now)
}

/// An item to create with [`Backend::create_all`](crate::Backend::create_all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    /// The key.
    pub key: Vec<u8>,
    /// The value.
    pub value: Vec<u8>,
    /// When the item expires, if it does.
    pub expires: Option<SystemTime>,
}

/// One compare-and-swap of [`Backend::compare_and_swap_each`](crate::Backend::compare_and_swap_each):
/// the arguments of [`Backend::compare_and_swap`](crate::Backend::compare_and_swap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swap {
    /// The key.
    pub key: Vec<u8>,
    /// The revision the live item under `key` must have.
    pub expected_revision: u64,
    /// The new value.
    pub value: Vec<u8>,
    /// When the new item expires, if it does.
    pub expires: Option<SystemTime>,
}

/// One page of a `range` query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// The items, ordered by key.
    pub items: Vec<Item>,
    /// The key to pass as `start_after` to get the next page; `None` when there
    /// are no more items.
    pub next: Option<Vec<u8>>,
}

/// What kind of write an [`Event`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The item was created or replaced.
    Put,
    /// The item was deleted (explicitly or by the expiry sweep).
    Delete,
}

/// A write, as reported by the event feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What kind of write this was.
    pub kind: EventKind,
    /// For `Put`, the item as stored. For `Delete`, the key and the revision of
    /// the delete, with an empty value and no expiry.
    pub item: Item,
}

impl Event {
    /// The revision of the write this event reports.
    pub fn revision(&self) -> u64 {
        self.item.revision
    }

    pub(crate) fn put(item: Item) -> Self {
        Event {
            kind: EventKind::Put,
            item,
        }
    }

    pub(crate) fn delete(key: Vec<u8>, revision: u64) -> Self {
        Event {
            kind: EventKind::Delete,
            item: Item {
                key,
                value: Vec::new(),
                revision,
                expires: None,
            },
        }
    }
}
