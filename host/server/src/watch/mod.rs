//! Watching resources over the store's event feed (WatchEvents).
//!
//! A watch names kinds ([`Selector`]s: a kind, optionally one name, optionally a filter).
//! Every write of the store reaches every subscriber in revision order; a [`Selection`]
//! maps each written key back to its kind and name ([`WatchedKind::key_name`]), decodes
//! a written value into the `Event` variant that carries it, and keeps what the watch
//! asked for. Deletions (explicit or by the expiry sweep) carry a [`ResourceHeader`] with
//! the kind and name only.
//!
//! Who may watch what, and what secrets leave the server, is the service's concern
//! (`service/watch.rs`).

mod error;
mod kinds;
mod selector;

use portcullis_api::auth::event::Resource as EventResource;
use portcullis_api::auth::WatchKind;
use portcullis_api::services::ResourceHeader;
use portcullis_store::{Backend, Event, EventKind};

pub use error::{WatchEnd, WatchError};
pub use kinds::{watchable_kinds, KeyName, WatchedKind};
pub use selector::{AccessRequestFilter, Selector};

use crate::resources::ResourceError;

/// Page size when reading what filtered selectors match at the start.
const PAGE: usize = 500;

/// A change a watch passes on.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A resource was created or updated.
    Put {
        /// The resource as stored (secrets included; boxed: resources are large).
        resource: Box<EventResource>,
        /// Whether a selector that wants it asked for secrets.
        secrets: bool,
    },
    /// A resource was deleted.
    Delete {
        /// Its kind.
        kind: WatchedKind,
        /// Its kind and name.
        header: ResourceHeader,
        /// Whether a selector that wants it asked for secrets.
        secrets: bool,
    },
}

/// The selectors of one watch.
#[derive(Debug, Clone)]
pub struct Selection {
    selectors: Vec<Selector>,
}

impl Selection {
    /// Checks the kinds of a `Watch`: at least one, each watchable, with filters it
    /// understands.
    pub fn parse(kinds: &[WatchKind]) -> Result<Self, WatchError> {
        if kinds.is_empty() {
            return Err(WatchError::NoKinds);
        }
        let selectors = kinds
            .iter()
            .map(Selector::parse)
            .collect::<Result<_, _>>()?;
        Ok(Selection { selectors })
    }

    /// The selectors.
    pub fn selectors(&self) -> &[Selector] {
        &self.selectors
    }

    /// Reads what the filtered selectors match now, so that the deletions of those
    /// resources are passed on. Call it after subscribing.
    pub async fn load_matching(&mut self, backend: &dyn Backend) -> Result<(), ResourceError> {
        for selector in self.selectors.iter_mut().filter(|s| s.is_filtered()) {
            let prefix = selector.kind.prefix().as_bytes();
            let mut after: Option<Vec<u8>> = None;
            loop {
                let page = backend
                    .range(prefix, after.as_deref(), PAGE)
                    .await
                    .map_err(ResourceError::Store)?;
                for item in &page.items {
                    let Some(name) = selector.key_name(&item.key) else {
                        continue;
                    };
                    if let Some(resource) = selector.kind.decode(item)? {
                        selector.wants_put(&name, &resource);
                    }
                }
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        Ok(())
    }

    /// What the watch passes on of a store event, if anything. Fails on a record that
    /// cannot be decoded.
    pub fn select(&mut self, event: &Event) -> Result<Option<Change>, ResourceError> {
        let mut decoded: Option<Option<EventResource>> = None;
        let mut chosen: Option<(WatchedKind, KeyName)> = None;
        let mut secrets = false;
        for selector in &mut self.selectors {
            let Some(name) = selector.key_name(&event.item.key) else {
                continue;
            };
            let wanted = match event.kind {
                EventKind::Put => {
                    if decoded.is_none() {
                        decoded = Some(selector.kind.decode(&event.item)?);
                    }
                    match decoded.as_ref().and_then(Option::as_ref) {
                        Some(resource) => selector.wants_put(&name, resource),
                        None => false,
                    }
                }
                EventKind::Delete => selector.wants_delete(&name),
            };
            if wanted {
                secrets |= selector.load_secrets;
                chosen.get_or_insert((selector.kind, name));
            }
        }
        let Some((kind, name)) = chosen else {
            return Ok(None);
        };
        Ok(match event.kind {
            EventKind::Put => decoded.flatten().map(|resource| Change::Put {
                resource: Box::new(resource),
                secrets,
            }),
            EventKind::Delete => Some(Change::Delete {
                kind,
                header: kind.header(&name, event.revision()),
                secrets,
            }),
        })
    }
}

#[cfg(test)]
mod tests;
