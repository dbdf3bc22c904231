//! The duties that run on one server of the cluster, the holder of the lease (see
//! [`super::leader`]): advancing automatic rotations, and sweeping expired records.
//!
//! Rotation state lives in the store, so a server that takes over (or restarts) resumes
//! where the schedule says it should be: a phase whose time passed meanwhile is entered on
//! the first tick, one phase per tick. Every phase move is a compare-and-swap, so even a
//! server that still believed it held the lease could not move a phase twice.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::keyring::rotate;
use crate::state::State;

/// Starts both duties; they run while `leader` says this server holds the lease, until the
/// returned handles are aborted.
pub fn spawn(
    state: Arc<State>,
    rotation_interval: Duration,
    sweep_interval: Duration,
    leader: watch::Receiver<bool>,
) -> [tokio::task::JoinHandle<()>; 2] {
    let backend = state.backend.clone();
    [
        every(rotation_interval, leader.clone(), move || {
            let state = state.clone();
            async move {
                let result = rotate::advance_due(
                    &state.keyring,
                    &state.authorities,
                    portcullis_clock::now(),
                )
                .await;
                if let Err(e) = result {
                    tracing::warn!(error = %e, "certificate authority check failed");
                }
            }
        }),
        every(sweep_interval, leader, move || {
            let backend = backend.clone();
            async move { portcullis_store::sweep_once(&*backend).await }
        }),
    ]
}

/// Runs `duty` every `interval` while this server leads.
fn every<F, Fut>(
    interval: Duration,
    mut leader: watch::Receiver<bool>,
    duty: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let interval = interval.max(Duration::from_millis(1));
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if !*leader.borrow_and_update() {
                // Wait to be elected rather than tick in vain.
                if leader.wait_for(|held| *held).await.is_err() {
                    return;
                }
            }
            duty().await;
        }
    })
}
