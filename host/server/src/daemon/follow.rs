//! The store follower: the caches a server keeps (the key ring with the listener's trust,
//! the registry of compiled policy modules) are views of the store, refreshed from its
//! event feed whoever wrote the change: this server, or another one on the same etcd.
//!
//! The other caches need no follower: roles, users, tokens and access-request policies are
//! read from the store on every request, and compiled Cedar role sets are keyed by each
//! role's revision, so a role written through another server is in force on the next
//! request here.
//!
//! When the feed ends early (this server fell behind, or the store was unreachable), the
//! follower subscribes again and re-reads everything it keeps, so nothing it missed stays
//! stale.

use std::sync::Arc;
use std::time::Duration;

use portcullis_store::{Event, Subscription};

use crate::resources::Resource;
use crate::state::State;

/// Pause before subscribing again, and between attempts to re-read the store.
const RETRY: Duration = Duration::from_millis(500);

/// Starts the follower on `feed`, a subscription taken before bootstrap loaded the key
/// ring and the modules (so nothing written since is missed, and nothing needs re-reading
/// now). It runs until the store's feed closes or the handle is aborted.
pub fn spawn(state: Arc<State>, mut feed: Subscription) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            loop {
                match feed.recv().await {
                    Some(Ok(event)) => apply(&state, &event).await,
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "store feed ended; following it again");
                        break;
                    }
                    None => return,
                }
            }
            tokio::time::sleep(RETRY).await;
            feed = state.backend.subscribe();
            // Whatever changed while no subscription was open.
            while let Err(e) = resync(&state).await {
                tracing::warn!(error = %e, "cannot re-read authorities and policy modules; retrying");
                tokio::time::sleep(RETRY).await;
            }
        }
    })
}

/// Why a refresh failed.
#[derive(Debug, thiserror::Error)]
enum RefreshError {
    #[error(transparent)]
    Keyring(#[from] crate::keyring::KeyringError),
    #[error(transparent)]
    Modules(#[from] crate::modules::PolicyServiceError),
}

async fn resync(state: &State) -> Result<(), RefreshError> {
    state.keyring.reload(&state.authorities).await?;
    state.policies.resync().await?;
    Ok(())
}

/// Refreshes what `event` changed.
async fn apply(state: &State, event: &Event) {
    let key = String::from_utf8_lossy(&event.item.key);
    let result: Result<(), RefreshError> =
        if let Some(name) = key.strip_prefix(portcullis_api::services::PolicyModuleV1::PREFIX) {
            state.policies.refresh(name).await.map_err(Into::into)
        } else if key.starts_with(portcullis_api::services::CertAuthorityV2::PREFIX) {
            state
                .keyring
                .reload(&state.authorities)
                .await
                .map(|_| ())
                .map_err(Into::into)
        } else {
            Ok(())
        };
    if let Err(e) = result {
        tracing::error!(key = %key, error = %e, "cannot follow a change in the store");
    }
}
