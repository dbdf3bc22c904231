//! A background task that periodically deletes expired items.

use std::{sync::Arc, time::Duration};

use tokio::task::JoinHandle;

use crate::Backend;

/// Spawns a task on the current tokio runtime that calls [`sweep_once`] every
/// `interval` (at least one millisecond), for a process that is the store's only user.
/// (The auth server sweeps only on the server elected for it.)
///
/// The task runs until it is aborted through the returned handle (it keeps the backend
/// alive meanwhile).
pub fn spawn_sweeper(backend: Arc<dyn Backend>, interval: Duration) -> JoinHandle<()> {
    let interval = interval.max(Duration::from_millis(1));
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            sweep_once(&*backend).await;
        }
    })
}

/// Runs [`Backend::sweep_expired`] once; errors are logged, not returned.
pub async fn sweep_once(backend: &dyn Backend) {
    match backend.sweep_expired().await {
        Ok(0) => {}
        Ok(count) => tracing::debug!(count, "deleted expired items"),
        Err(error) => tracing::warn!(%error, "expiry sweep failed"),
    }
}
