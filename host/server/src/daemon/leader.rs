//! Which server runs the duties that must run once per cluster (automatic rotation, the
//! expiry sweep): the holder of a lease kept in the store.
//!
//! The lease is an item under [`LEASE_KEY`] naming its holder, with an expiry `ttl` ahead.
//! A server without it tries to create it every `ttl / 3` (create succeeds once the item
//! is absent or expired); the holder renews it by compare-and-swap on its revision every
//! `ttl / 3`. A holder that loses the race, finds another holder, or cannot renew for
//! `2 * ttl / 3` steps down before the lease can expire, so two servers never both
//! believe they hold it — as long as their clocks agree to well within `ttl / 3` (run NTP).
//! A server that stops cleanly gives the lease up at once; one that dies is replaced once
//! the lease expires, after at most `ttl + ttl / 3`.
//!
//! On one RocksDB server the lease is always this server's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis_store::{Backend, Error as StoreError};
use tokio::sync::watch;

/// The store key of the lease.
pub const LEASE_KEY: &[u8] = b"/leases/cluster-duties";

/// How long a lease lasts without renewal.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(6);

/// This server's side of the election.
pub struct Leadership {
    holding: watch::Receiver<bool>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Leadership {
    /// Whether this server holds the lease, now and as it changes.
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.holding.clone()
    }

    /// Stops campaigning and gives the lease up if this server holds it.
    pub async fn resign(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts campaigning for the lease as `server_id`.
pub fn spawn(backend: Arc<dyn Backend>, server_id: String, ttl: Duration) -> Leadership {
    let (holding_tx, holding) = watch::channel(false);
    let (stop, stopped) = watch::channel(false);
    let campaign = Campaign {
        backend,
        server_id,
        ttl,
        holding: holding_tx,
        held: None,
    };
    Leadership {
        holding,
        stop,
        task: tokio::spawn(campaign.run(stopped)),
    }
}

struct Campaign {
    backend: Arc<dyn Backend>,
    server_id: String,
    ttl: Duration,
    holding: watch::Sender<bool>,
    /// The lease's revision and when it was last renewed, while held.
    held: Option<(u64, Instant)>,
}

impl Campaign {
    async fn run(mut self, mut stopped: watch::Receiver<bool>) {
        let period = self.ttl / 3;
        loop {
            self.step().await;
            tokio::select! {
                () = tokio::time::sleep(period) => {}
                _ = stopped.changed() => break,
            }
        }
        if let Some((revision, _)) = self.held.take() {
            self.holding.send_replace(false);
            match self.backend.delete_if(LEASE_KEY, revision).await {
                Ok(_) => tracing::info!("gave up the cluster duties"),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot give up the cluster duties lease; it expires by itself")
                }
            }
        }
    }

    fn value(&self) -> Vec<u8> {
        self.server_id.as_bytes().to_vec()
    }

    async fn step(&mut self) {
        let expires = Some(portcullis_clock::now() + self.ttl);
        match self.held {
            None => match self.backend.create(LEASE_KEY, self.value(), expires).await {
                Ok(item) => {
                    self.held = Some((item.revision, Instant::now()));
                    self.holding.send_replace(true);
                    tracing::info!(server = %self.server_id, "this server now runs the cluster duties");
                }
                Err(StoreError::AlreadyExists { .. }) => {}
                Err(e) => tracing::debug!(error = %e, "cannot campaign for the cluster duties"),
            },
            Some((revision, renewed)) => {
                match self
                    .backend
                    .compare_and_swap(LEASE_KEY, revision, self.value(), expires)
                    .await
                {
                    Ok(item) => self.held = Some((item.revision, Instant::now())),
                    Err(
                        e @ (StoreError::NotFound { .. } | StoreError::RevisionMismatch { .. }),
                    ) => self.step_down(&e.to_string()),
                    Err(e) if renewed.elapsed() >= self.ttl * 2 / 3 => {
                        self.step_down(&e.to_string())
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot renew the cluster duties lease; retrying")
                    }
                }
            }
        }
    }

    fn step_down(&mut self, reason: &str) {
        self.held = None;
        self.holding.send_replace(false);
        tracing::warn!(%reason, "this server no longer runs the cluster duties");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_store::MemoryBackend;

    async fn until(leadership: &Leadership, wanted: bool) {
        let mut watch = leadership.watch();
        tokio::time::timeout(
            Duration::from_secs(5),
            watch.wait_for(|held| *held == wanted),
        )
        .await
        .expect("leadership did not change in time")
        .unwrap();
    }

    #[tokio::test]
    async fn one_holder_and_a_takeover_when_it_resigns() {
        let backend: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
        let ttl = Duration::from_millis(300);
        let a = spawn(backend.clone(), "a".into(), ttl);
        until(&a, true).await;
        let b = spawn(backend.clone(), "b".into(), ttl);
        // B campaigns several times while A renews: A keeps it.
        tokio::time::sleep(ttl * 2).await;
        assert!(*a.watch().borrow());
        assert!(!*b.watch().borrow());
        let holder = backend.get(LEASE_KEY).await.unwrap().unwrap();
        assert_eq!(holder.value, b"a");
        a.resign().await;
        until(&b, true).await;
        b.resign().await;
        assert_eq!(backend.get(LEASE_KEY).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_dead_holder_is_replaced_once_its_lease_expires() {
        let backend: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
        let ttl = Duration::from_millis(300);
        let a = spawn(backend.clone(), "a".into(), ttl);
        until(&a, true).await;
        // Dies without resigning.
        a.task.abort();
        let b = spawn(backend.clone(), "b".into(), ttl);
        until(&b, true).await;
        assert_eq!(backend.get(LEASE_KEY).await.unwrap().unwrap().value, b"b");
    }

    #[tokio::test]
    async fn a_holder_whose_lease_was_taken_steps_down() {
        let backend: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
        let a = spawn(backend.clone(), "a".into(), Duration::from_millis(300));
        until(&a, true).await;
        // Someone else holds it now (as after a long pause of A's).
        backend.put(LEASE_KEY, b"z".to_vec(), None).await.unwrap();
        until(&a, false).await;
    }
}
