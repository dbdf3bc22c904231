//! Storage for Portcullis: the [`Backend`] trait the server stores its
//! resources through, and its implementations.
//!
//! A backend is a key-value store of opaque byte values (the server stores
//! protobuf-encoded resources under keys like `/roles/NAME`) with a store-wide
//! revision for every write, create-if-absent and compare-and-swap writes,
//! per-item expiry, ordered prefix ranges with paging, and an ordered feed of
//! every write for watchers and the audit log.
//!
//! [`RocksBackend`] is the embedded default: durable (a write that returned
//! `Ok` survives a crash) with group commit. [`EtcdBackend`] keeps the store on an
//! etcd v3 cluster, so that several auth servers share it. [`MemoryBackend`] has the
//! same semantics without durability, for tests. [`spawn_sweeper`] runs the expiry
//! sweep in the background.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod backend;
pub mod codec;
mod error;
mod etcd;
mod feed;
mod item;
mod memory;
mod ops;
mod rocks;
mod sweeper;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;

#[cfg(test)]
mod conformance;
#[cfg(test)]
mod proptests;

pub use backend::Backend;
pub use error::{BoxError, Error, Result};
pub use etcd::{EtcdBackend, EtcdOptions, EtcdTls};
pub use feed::{Subscription, DEFAULT_FEED_CAPACITY};
pub use item::{Event, EventKind, Item, NewItem, Page, Swap};
pub use memory::MemoryBackend;
pub use rocks::RocksBackend;
pub use sweeper::{spawn_sweeper, sweep_once};
