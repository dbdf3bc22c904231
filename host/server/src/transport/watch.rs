//! WatchEvents: a stream of the changes to the kinds a caller names, over the store's event
//! feed (the matching in [`crate::watch`]).
//!
//! Everything is checked before anything is subscribed: the kinds and filters, and the
//! caller's rights — `list` and `readnosecrets` on each kind (`read` with `LoadSecrets`),
//! or, for access requests, a `user` filter naming the caller itself (a user sees its own
//! requests, as with GetAccessRequests). Rights are those at subscribe time; the stream
//! ends when the caller's certificate expires.
//!
//! The stream starts with INIT once the subscription is in place: every later write is
//! delivered, in store order, without gaps. A watcher that falls behind the feed's buffer
//! is ended with ABORTED ("re-watch") rather than skipping events. The stream ends when the
//! client goes away or the server stops (UNAVAILABLE).

use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use futures::{Stream, StreamExt};
use portcullis_api::auth::event::Resource as EventResource;
use portcullis_api::auth::{Event, Operation, Watch};
use portcullis_api::BoxStream;
use portcullis_store::{Error as StoreError, Subscription};
use tonic::{Request, Status};

use super::caller;
use crate::diag::WatcherGuard;
use crate::rbac::{Authorized, Target};
use crate::resources::WithoutSecrets;
use crate::state::State;
use crate::tokens::redact;
use crate::watch::{Change, Selection, Selector, WatchEnd, WatchedKind};

pub(super) async fn watch(
    state: &State,
    request: Request<Watch>,
) -> Result<BoxStream<Event>, Status> {
    let identity = caller(&request)?;
    let mut selection = Selection::parse(&request.get_ref().kinds)?;
    // The caller's roles are read once for every kind selected.
    let mut authorized = Authorized::new(identity.clone());
    for selector in selection.selectors() {
        authorize(state, &mut authorized, selector).await?;
    }
    let subscription = state.backend.subscribe();
    selection.load_matching(state.backend.as_ref()).await?;
    let init = Event {
        r#type: Operation::Init.into(),
        resource: None,
    };
    tracing::debug!(user = %identity.username, kinds = selection.selectors().len(), "watch started");
    let ends = identity.expires;
    let changes = events(state.stopping(), subscription, selection, ends);
    Ok(Box::pin(
        futures::stream::once(std::future::ready(Ok(init))).chain(changes),
    ))
}

/// Checks that the caller may watch what `selector` selects.
async fn authorize(
    state: &State,
    authorized: &mut Authorized,
    selector: &Selector,
) -> Result<(), Status> {
    let kind = selector.kind.name();
    let mut target = if selector.name.is_empty() {
        Target {
            resource: Some(serde_json::json!({ "kind": kind })),
            ..Target::default()
        }
    } else if selector.kind == WatchedKind::Token {
        // Where clauses see a token by its redacted value, never the secret.
        Target::named(kind, &redact(&selector.name))
    } else {
        Target::named(kind, &selector.name)
    };
    target = target.secrets(selector.load_secrets);
    if let Some(user) = selector.only_user() {
        target = target.for_user(user);
    }
    let allowed = authorized
        .check(state, "WatchEvents", Some(kind), target)
        .await;
    allowed.map_err(|e| {
        let e = Status::from(e);
        let hint = if selector.kind == WatchedKind::AccessRequest && selector.only_user().is_none()
        {
            format!(
                " (to watch your own requests, filter on user={})",
                authorized.username
            )
        } else {
            String::new()
        };
        Status::new(e.code(), format!("{}{hint}", e.message()))
    })
}

/// A future the watch holds across polls.
type Held = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One watch between two events: what it waits on, and what it keeps of the feed.
struct Watching {
    stopping: Held,
    expiry: Held,
    subscription: Subscription,
    selection: Selection,
    /// Counts the stream as open until it is dropped.
    _watcher: WatcherGuard,
}

impl Watching {
    /// The next event to pass on, or the status that ends the stream.
    async fn next(&mut self) -> Result<Event, Status> {
        loop {
            let next = tokio::select! {
                () = &mut self.stopping => return Err(WatchEnd::ShuttingDown.into()),
                () = &mut self.expiry => return Err(WatchEnd::CertificateExpired.into()),
                next = self.subscription.recv() => next,
            };
            let event = match next {
                Some(Ok(event)) => event,
                Some(Err(e)) => {
                    let end = match e {
                        StoreError::FeedLagged { missed } => WatchEnd::Lagged { missed },
                        StoreError::FeedInterrupted { reason } => {
                            WatchEnd::StoreUnreachable { reason }
                        }
                        other => WatchEnd::Store(other),
                    };
                    return Err(end.into());
                }
                None => return Err(WatchEnd::FeedClosed.into()),
            };
            match self.selection.select(&event) {
                Ok(Some(change)) => return Ok(present(change)),
                Ok(None) => {}
                Err(e) => return Err(Status::from(e)),
            }
        }
    }
}

/// What the selection keeps of the feed, until the feed ends or lags, `stopping` resolves
/// or the certificate expires (each told by a last error), or the stream is dropped (the
/// client went away).
///
/// The stream is polled by the task that sends it to the client, whenever the client's
/// HTTP/2 stream has room: no task or buffer of its own between the feed and the client (a
/// watcher that falls behind lags in the feed's buffer, as with one). Every event is decoded
/// and encoded per stream, only when the stream is polled.
fn events(
    stopping: impl Future<Output = ()> + Send + 'static,
    subscription: Subscription,
    selection: Selection,
    certificate_expires: Option<SystemTime>,
) -> impl Stream<Item = Result<Event, Status>> + Send + 'static {
    let watching = Watching {
        stopping: Box::pin(stopping),
        expiry: Box::pin(until(certificate_expires)),
        subscription,
        selection,
        _watcher: crate::diag::metrics().watcher(),
    };
    futures::stream::unfold(Some(watching), |watching| async move {
        let mut watching = watching?;
        match watching.next().await {
            Ok(event) => Some((Ok(event), Some(watching))),
            Err(status) => Some((Err(status), None)),
        }
    })
}

/// Resolves at `at` (never when `None`).
async fn until(at: Option<SystemTime>) {
    match at {
        Some(at) => {
            let left = at
                .duration_since(portcullis_clock::now())
                .unwrap_or_default();
            tokio::time::sleep(left).await;
        }
        None => std::future::pending().await,
    }
}

/// The event for a change, without secrets unless they were asked for (and so allowed).
fn present(change: Change) -> Event {
    let (operation, resource) = match change {
        Change::Put { resource, secrets } => (Operation::Put, resource.secrets_if(secrets)),
        Change::Delete {
            kind,
            mut header,
            secrets,
        } => {
            if kind == WatchedKind::Token && !secrets {
                if let Some(metadata) = header.metadata.as_mut() {
                    metadata.name = redact(&metadata.name);
                }
            }
            (Operation::Delete, EventResource::ResourceHeader(header))
        }
    };
    Event {
        r#type: operation.into(),
        resource: Some(resource),
    }
}

#[cfg(test)]
mod tests;
