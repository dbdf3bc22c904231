//! What one `WatchKind` of a stream selects: a kind, optionally one name, optionally a
//! kind-specific filter.
//!
//! Filters apply to what a resource *is*, which a deletion no longer carries (its event has
//! the key only). So a filtered selector remembers the names it has seen matching — those
//! matching when the watch started, and every one it delivered since — and passes the
//! deletion of those names only. A watcher never learns of deletions of resources it could
//! not have seen (another user's access requests, say). A resource that stops matching
//! (a PENDING request approved, under `state=PENDING`) is not announced, but its deletion
//! still is.

use std::collections::{BTreeMap, HashSet};

use portcullis_api::auth::event::Resource as EventResource;
use portcullis_api::auth::WatchKind;
use portcullis_api::services::RequestState;

use super::kinds::{KeyName, WatchedKind};
use super::WatchError;
use crate::access_requests::matches;

/// The filter keys of access requests (as `AccessRequestFilter`).
const ACCESS_REQUEST_KEYS: [&str; 3] = ["id", "user", "state"];

/// A filter on access requests: empty fields match everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequestFilter {
    /// Only the request with this ID.
    pub id: String,
    /// Only requests of this user.
    pub user: String,
    /// Only requests in this state (`None` matches every state).
    pub state: RequestState,
}

impl AccessRequestFilter {
    fn parse(filter: &BTreeMap<String, String>) -> Result<Self, WatchError> {
        let mut out = AccessRequestFilter {
            id: String::new(),
            user: String::new(),
            state: RequestState::None,
        };
        for (key, value) in filter {
            match key.as_str() {
                "id" => out.id.clone_from(value),
                "user" => out.user.clone_from(value),
                "state" => {
                    out.state = RequestState::from_str_name(&value.to_ascii_uppercase())
                        .ok_or_else(|| WatchError::BadFilterValue {
                            kind: WatchedKind::AccessRequest.name(),
                            key: key.clone(),
                            value: value.clone(),
                            expected: "PENDING, APPROVED or DENIED",
                        })?;
                }
                _ => {
                    return Err(WatchError::UnknownFilterKey {
                        kind: WatchedKind::AccessRequest.name(),
                        key: key.clone(),
                        known: ACCESS_REQUEST_KEYS.join(", "),
                    })
                }
            }
        }
        Ok(out)
    }
}

/// One `WatchKind` of a stream, checked.
#[derive(Debug, Clone)]
pub struct Selector {
    /// The kind.
    pub kind: WatchedKind,
    /// Only the resource with this name, when not empty.
    pub name: String,
    /// Whether resources are sent with their secrets.
    pub load_secrets: bool,
    /// The access request filter, for `access_request` selectors that have one.
    pub filter: Option<AccessRequestFilter>,
    /// The names seen matching the filter (only kept when there is one).
    known: HashSet<String>,
}

impl Selector {
    /// Checks a `WatchKind`: a watchable kind, and filter keys that kind understands.
    pub fn parse(watch: &WatchKind) -> Result<Self, WatchError> {
        let kind = WatchedKind::parse(&watch.kind)?;
        let filter = &watch.filter;
        let filter = match kind {
            _ if filter.is_empty() => None,
            WatchedKind::AccessRequest => Some(AccessRequestFilter::parse(filter)?),
            _ => {
                let keys: Vec<&str> = filter.keys().map(String::as_str).collect();
                return Err(WatchError::NoFilter {
                    kind: kind.name(),
                    keys: keys.join(", "),
                });
            }
        };
        Ok(Selector {
            kind,
            name: watch.name.clone(),
            load_secrets: watch.load_secrets,
            filter,
            known: HashSet::new(),
        })
    }

    /// The user whose requests alone this selector follows (its `user` filter), if any.
    pub fn only_user(&self) -> Option<&str> {
        self.filter
            .as_ref()
            .map(|f| f.user.as_str())
            .filter(|u| !u.is_empty())
    }

    /// Whether the selector filters by content (and so keeps the names it saw matching).
    pub fn is_filtered(&self) -> bool {
        self.filter.is_some()
    }

    /// What `key` names, if it is a key this selector may concern (right kind and name).
    pub fn key_name(&self, key: &[u8]) -> Option<KeyName> {
        let name = self.kind.key_name(key)?;
        (self.name.is_empty() || self.name == name.name).then_some(name)
    }

    /// Whether a written resource passes the filter; remembers it if so.
    pub fn wants_put(&mut self, name: &KeyName, resource: &EventResource) -> bool {
        let Some(filter) = &self.filter else {
            return true;
        };
        let matching = match resource {
            EventResource::AccessRequest(request) => {
                matches(request, &filter.id, &filter.user, filter.state)
            }
            _ => false,
        };
        if matching {
            self.known.insert(name.name.clone());
        }
        matching
    }

    /// Whether the deletion of `name` is for this selector: always without a filter, and
    /// with one when the name was seen matching (it is then forgotten).
    pub fn wants_delete(&mut self, name: &KeyName) -> bool {
        self.filter.is_none() || self.known.remove(&name.name)
    }
}
