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
use std::time::SystemTime;

use portcullis_api::auth::event::Resource as EventResource;
use portcullis_api::auth::{Event, Operation, Watch};
use portcullis_api::BoxStream;
use portcullis_store::{Error as StoreError, Subscription};
use tokio::sync::mpsc;
use tonic::{Request, Status};

use super::caller;
use crate::rbac::{Authorized, Target};
use crate::resources::WithoutSecrets;
use crate::state::State;
use crate::tokens::redact;
use crate::watch::{Change, Selection, Selector, WatchEnd, WatchedKind};

/// Events buffered between the feed and the client's stream.
const BUFFER: usize = 64;

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
    let (tx, rx) = mpsc::channel(BUFFER);
    let init = Event {
        r#type: Operation::Init.into(),
        resource: None,
    };
    // The channel is new and empty: this cannot fail for lack of room.
    tx.try_send(Ok(init)).map_err(|_| WatchEnd::NotStarted)?;
    tracing::debug!(user = %identity.username, kinds = selection.selectors().len(), "watch started");
    let ends = identity.expires;
    tokio::spawn(forward(state.stopping(), subscription, selection, tx, ends));
    Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
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

type Sender = mpsc::Sender<Result<Event, Status>>;

/// Passes what the selection keeps of the feed to the client until the client goes away,
/// the feed ends or lags, `stopping` resolves or the certificate expires.
async fn forward(
    stopping: impl Future<Output = ()>,
    mut subscription: Subscription,
    mut selection: Selection,
    tx: Sender,
    certificate_expires: Option<SystemTime>,
) {
    let _watcher = crate::diag::metrics().watcher();
    tokio::pin!(stopping);
    let expiry = until(certificate_expires);
    tokio::pin!(expiry);
    loop {
        let next = tokio::select! {
            () = tx.closed() => return,
            () = &mut stopping => {
                let _ = tx.try_send(Err(WatchEnd::ShuttingDown.into()));
                return;
            }
            () = &mut expiry => {
                let _ = tx.try_send(Err(WatchEnd::CertificateExpired.into()));
                return;
            }
            next = subscription.recv() => next,
        };
        let event = match next {
            Some(Ok(event)) => event,
            Some(Err(e)) => {
                let end = match e {
                    StoreError::FeedLagged { missed } => WatchEnd::Lagged { missed },
                    StoreError::FeedInterrupted { reason } => WatchEnd::StoreUnreachable { reason },
                    other => WatchEnd::Store(other),
                };
                send(&tx, Err(end.into()), &mut stopping).await;
                return;
            }
            None => {
                send(&tx, Err(WatchEnd::FeedClosed.into()), &mut stopping).await;
                return;
            }
        };
        let out = match selection.select(&event) {
            Ok(Some(change)) => Ok(present(change)),
            Ok(None) => continue,
            Err(e) => Err(Status::from(e)),
        };
        let failed = out.is_err();
        if !send(&tx, out, &mut stopping).await || failed {
            return;
        }
    }
}

/// Sends one item, waiting for room unless the server stops first; false if it was not
/// sent.
async fn send(
    tx: &Sender,
    item: Result<Event, Status>,
    stopping: &mut (impl Future<Output = ()> + Unpin),
) -> bool {
    tokio::select! {
        sent = tx.send(item) => sent.is_ok(),
        () = stopping => false,
    }
}

/// Resolves at `at` (never when `None`).
async fn until(at: Option<SystemTime>) {
    match at {
        Some(at) => {
            let left = at.duration_since(SystemTime::now()).unwrap_or_default();
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
