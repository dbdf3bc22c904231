//! Typed resources on top of the key-value store.
//!
//! Each kind (users, roles, certificate authorities, the cluster name) is a [`Collection`]
//! under its own key prefix. Values are stored protobuf-encoded; the store's revision of a
//! record is exposed as `metadata.id`, and `metadata.expires` becomes the record's expiry.

mod cache;
mod collection;
mod error;
pub mod kinds;
pub mod paging;
mod secrets;
pub mod validate;

pub use cache::{Cached, MAX_CACHED};
pub use collection::{Collection, Resource};
pub use error::ResourceError;
pub use paging::{Page, PageRequest, PageSize};
pub use portcullis_api::time::to_system_time;
pub use secrets::WithoutSecrets;
