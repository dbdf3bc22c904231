//! A generic collection of one resource kind in the store.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::SystemTime;

use portcullis_api::time::to_system_time;

use portcullis_api::services::Metadata;
use portcullis_store::{Backend, Error as StoreError, Item};

use super::{Page, PageRequest, ResourceError};

/// Page size used when listing a whole collection.
const LIST_PAGE: usize = 500;

/// A protobuf resource with the common `metadata` field.
pub trait Resource: prost::Message + Default + Clone + Send + Sync + 'static {
    /// The resource kind, e.g. `role`.
    const KIND: &'static str;
    /// The store key prefix, e.g. `/roles/`.
    const PREFIX: &'static str;
    /// The metadata, if set.
    fn metadata(&self) -> Option<&Metadata>;
    /// The metadata, created if missing.
    fn metadata_mut(&mut self) -> &mut Metadata;
    /// The resource name (empty when unset).
    fn name(&self) -> &str {
        self.metadata().map(|m| m.name.as_str()).unwrap_or("")
    }
    /// The part of the store key after the prefix; the name unless a kind needs more.
    fn key_suffix(&self) -> String {
        self.name().to_owned()
    }
    /// When the store drops the record: `metadata.expires` unless a kind keeps records
    /// longer (and checks their expiry itself).
    fn store_expiry(&self) -> Option<SystemTime> {
        self.metadata()
            .and_then(|m| m.expires)
            .and_then(to_system_time)
    }
}

/// Implements [`Resource`] for generated resource messages.
#[macro_export]
macro_rules! impl_resource {
    ($ty:ty, $kind:expr, $prefix:expr) => {
        impl $crate::resources::Resource for $ty {
            const KIND: &'static str = $kind;
            const PREFIX: &'static str = $prefix;
            fn metadata(&self) -> Option<&portcullis_api::services::Metadata> {
                self.metadata.as_ref()
            }
            fn metadata_mut(&mut self) -> &mut portcullis_api::services::Metadata {
                self.metadata.get_or_insert_with(Default::default)
            }
        }
    };
}

/// All resources of kind `T`.
pub struct Collection<T> {
    backend: Arc<dyn Backend>,
    kind: PhantomData<fn() -> T>,
}

impl<T> Clone for Collection<T> {
    fn clone(&self) -> Self {
        Self {
            backend: self.backend.clone(),
            kind: PhantomData,
        }
    }
}

impl<T: Resource> Collection<T> {
    /// The collection of `T` in `backend`.
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Self {
            backend,
            kind: PhantomData,
        }
    }

    /// The store the collection reads and writes.
    pub(crate) fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    fn key(name: &str) -> Vec<u8> {
        format!("{}{name}", T::PREFIX).into_bytes()
    }

    fn not_found(name: &str) -> ResourceError {
        ResourceError::NotFound {
            kind: T::KIND,
            name: name.to_owned(),
        }
    }

    /// Decodes a stored record of this kind; `metadata.id` becomes the record's revision.
    pub fn decode(item: &Item) -> Result<T, ResourceError> {
        let mut res = T::decode(item.value.as_slice()).map_err(|e| ResourceError::Corrupt {
            kind: T::KIND,
            key: String::from_utf8_lossy(&item.key).into_owned(),
            reason: e.to_string(),
        })?;
        res.metadata_mut().id = i64::try_from(item.revision).unwrap_or(i64::MAX);
        Ok(res)
    }

    /// Encodes a resource for storage: the revision is the store's, never the caller's.
    fn encode(res: &T) -> (Vec<u8>, Option<SystemTime>) {
        let mut copy = res.clone();
        copy.metadata_mut().id = 0;
        (copy.encode_to_vec(), copy.store_expiry())
    }

    fn map_store(name: &str, e: StoreError) -> ResourceError {
        match e {
            StoreError::NotFound { .. } => Self::not_found(name),
            StoreError::AlreadyExists { .. } => ResourceError::AlreadyExists {
                kind: T::KIND,
                name: name.to_owned(),
            },
            StoreError::RevisionMismatch {
                expected, actual, ..
            } => ResourceError::Conflict {
                kind: T::KIND,
                name: name.to_owned(),
                expected,
                actual,
            },
            other => ResourceError::Store(other),
        }
    }

    /// Reads one resource by name.
    pub async fn get(&self, name: &str) -> Result<T, ResourceError> {
        self.find(name).await?.ok_or_else(|| Self::not_found(name))
    }

    /// Reads one resource by name, `None` if absent.
    pub async fn find(&self, name: &str) -> Result<Option<T>, ResourceError> {
        Self::found(name, self.backend.get(&Self::key(name)).await)
    }

    /// [`Collection::find`] without waiting: `None` when the store cannot answer a point read
    /// at once (see [`portcullis_store::Backend::get_now`]).
    pub fn find_now(&self, name: &str) -> Option<Result<Option<T>, ResourceError>> {
        let read = self.backend.get_now(&Self::key(name))?;
        Some(Self::found(name, read))
    }

    /// The resource `name` as a point read of the store answered.
    fn found(
        name: &str,
        read: portcullis_store::Result<Option<Item>>,
    ) -> Result<Option<T>, ResourceError> {
        match read {
            Ok(Some(item)) => Self::decode(&item).map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(Self::map_store(name, e)),
        }
    }

    /// One page of the kind as `request` asks (see [`super::paging`]), ordered by key.
    pub async fn page(&self, request: &PageRequest) -> Result<Page<T>, ResourceError> {
        self.scan(request, Some).await
    }

    /// Like [`Collection::page`], keeping only what `keep` maps to `Some`: a filter applied
    /// as the store is read, so pages fill across the items it drops.
    pub async fn scan<U>(
        &self,
        request: &PageRequest,
        mut keep: impl FnMut(T) -> Option<U>,
    ) -> Result<Page<U>, ResourceError> {
        super::paging::scan(&*self.backend, T::PREFIX, T::KIND, request, |item| {
            Ok::<_, ResourceError>(keep(Self::decode(item)?))
        })
        .await
    }

    /// Reads every resource of the kind, ordered by name: for kinds that stay small
    /// (authorities, policy modules); listings that can grow page with
    /// [`Collection::page`].
    pub async fn list(&self) -> Result<Vec<T>, ResourceError> {
        let prefix = T::PREFIX.as_bytes();
        let mut out = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self
                .backend
                .range(prefix, after.as_deref(), LIST_PAGE)
                .await
                .map_err(ResourceError::Store)?;
            for item in &page.items {
                out.push(Self::decode(item)?);
            }
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(out),
            }
        }
    }

    /// Creates a resource; fails if one with the same name exists.
    pub async fn create(&self, res: &T) -> Result<T, ResourceError> {
        let name = res.key_suffix();
        let (value, expires) = Self::encode(res);
        let item = self
            .backend
            .create(&Self::key(&name), value, expires)
            .await
            .map_err(|e| Self::map_store(&name, e))?;
        Self::decode(&item)
    }

    /// Creates or replaces a resource.
    pub async fn upsert(&self, res: &T) -> Result<T, ResourceError> {
        let name = res.key_suffix();
        let (value, expires) = Self::encode(res);
        let item = self
            .backend
            .put(&Self::key(&name), value, expires)
            .await
            .map_err(|e| Self::map_store(&name, e))?;
        Self::decode(&item)
    }

    /// Replaces an existing resource. A non-zero `metadata.id` must equal the stored
    /// revision (optimistic locking); zero replaces whatever is stored.
    pub async fn update(&self, res: &T) -> Result<T, ResourceError> {
        let name = res.key_suffix();
        let expected = match res.metadata().map(|m| m.id).unwrap_or(0) {
            id if id > 0 => id as u64,
            _ => self.current_revision(&name).await?,
        };
        let (value, expires) = Self::encode(res);
        let item = self
            .backend
            .compare_and_swap(&Self::key(&name), expected, value, expires)
            .await
            .map_err(|e| Self::map_store(&name, e))?;
        Self::decode(&item)
    }

    async fn current_revision(&self, name: &str) -> Result<u64, ResourceError> {
        match self.backend.get(&Self::key(name)).await {
            Ok(Some(item)) => Ok(item.revision),
            Ok(None) => Err(Self::not_found(name)),
            Err(e) => Err(Self::map_store(name, e)),
        }
    }

    /// Deletes a resource by name.
    pub async fn delete(&self, name: &str) -> Result<(), ResourceError> {
        self.backend
            .delete(&Self::key(name))
            .await
            .map(|_| ())
            .map_err(|e| Self::map_store(name, e))
    }
}
