//! The background task that advances automatic rotations and picks up authority changes.
//!
//! Rotation state lives in the store, so a restarted server resumes where the schedule says
//! it should be: a phase whose time passed while the server was down is entered on the first
//! tick, one phase per tick.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::keyring::rotate;
use crate::state::State;

/// Starts the task; it runs until the returned handle is aborted.
pub fn spawn(state: Arc<State>, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let result =
                rotate::advance_due(&state.keyring, &state.authorities, SystemTime::now()).await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "certificate authority check failed");
            }
        }
    })
}
