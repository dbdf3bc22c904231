//! The etcd backend's event feed: one etcd watch on the prefix, turned into store events.
//!
//! The follower remembers the etcd revision of the last event it published. When the watch
//! breaks (a member died, the connection dropped), it watches again from the next revision,
//! so no event is lost and none is repeated. If etcd stays unreachable for longer than
//! [`INTERRUPT_AFTER`], open subscriptions end with [`Error::FeedInterrupted`] (their owners
//! cannot tell an outage from a quiet store otherwise) while the follower keeps trying; once
//! etcd is back it resumes where it stopped. If etcd compacted the revisions it must resume
//! from, the events in between are gone: open subscriptions end with
//! [`Error::FeedLagged`], as a lagging subscriber's would, and the feed goes on from etcd's
//! current revision.
//!
//! [`Error::FeedInterrupted`]: crate::Error::FeedInterrupted
//! [`Error::FeedLagged`]: crate::Error::FeedLagged

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_client::{Client, EventType, GetOptions, WatchOptions, WatchResponse};

use super::record::{store_revision, Record};
use super::Shared;
use crate::feed::Feed;
use crate::Event;

/// How long etcd may be unreachable before open subscriptions are ended.
pub(crate) const INTERRUPT_AFTER: Duration = Duration::from_secs(3);

/// How long a dropped backend's feed waits for the events of its own last writes.
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// Pause between attempts to watch again.
const RETRY: Duration = Duration::from_millis(200);

/// The task that follows etcd's events for one backend.
pub(super) struct Follower {
    pub(super) client: Client,
    pub(super) prefix: Vec<u8>,
    pub(super) shared: Arc<Shared>,
    pub(super) feed: Arc<Feed>,
}

/// Why a watch stream stopped.
enum Stopped {
    /// The backend was dropped and every event it wrote was published.
    Done,
    /// The connection broke or etcd cancelled the watch.
    Broken(String),
    /// The revision to resume from was compacted.
    Compacted { compact_revision: i64 },
}

impl Follower {
    /// Follows etcd from just after etcd revision `start` until `stop` is dropped.
    pub(super) async fn run(self, start: i64, mut stop: tokio::sync::watch::Receiver<()>) {
        let mut last = start;
        let mut down_since: Option<Instant> = None;
        let mut interrupted = false;
        loop {
            let stopped = match self.watch_from(last + 1).await {
                Ok(stream) => {
                    down_since = None;
                    interrupted = false;
                    self.follow(stream, &mut last, &mut stop).await
                }
                Err(reason) => Stopped::Broken(reason),
            };
            match stopped {
                Stopped::Done => return,
                Stopped::Compacted { compact_revision } => {
                    // The present first: a subscription made after the lag signal below
                    // starts after it (`current_revision` has moved there), so the jump
                    // skips nothing any open subscription still expects.
                    match self.current_revision().await {
                        Ok(now) => {
                            let missed = u64::try_from(compact_revision - (last + 1)).unwrap_or(0);
                            tracing::warn!(
                                resume = last + 1,
                                compact_revision,
                                "etcd compacted the revisions the event feed needed; subscribers must re-read"
                            );
                            self.feed.lagged(missed.max(1));
                            last = now;
                            continue;
                        }
                        Err(reason) => tracing::warn!(%reason, "cannot read etcd's revision"),
                    }
                }
                Stopped::Broken(reason) => {
                    let since = *down_since.get_or_insert_with(Instant::now);
                    if !interrupted && since.elapsed() >= INTERRUPT_AFTER {
                        interrupted = true;
                        tracing::warn!(%reason, "etcd unreachable: ending event subscriptions");
                        self.feed.interrupt(format!(
                            "etcd has been unreachable for {}s ({reason})",
                            since.elapsed().as_secs()
                        ));
                    } else {
                        tracing::debug!(%reason, "etcd watch broke; watching again");
                    }
                }
            }
            if stop.has_changed().is_err() {
                // Dropped while etcd is unreachable: nothing more will arrive.
                return;
            }
            tokio::time::sleep(RETRY).await;
        }
    }

    async fn watch_from(&self, revision: i64) -> Result<etcd_client::WatchStream, String> {
        let end = super::EtcdBackend::range_end(&self.prefix);
        let options = WatchOptions::new()
            .with_range(end)
            .with_start_revision(revision)
            .with_progress_notify();
        self.client
            .clone()
            .watch(self.prefix.clone(), Some(options))
            .await
            .map_err(|e| e.to_string())
    }

    async fn current_revision(&self) -> Result<i64, String> {
        let response = self
            .client
            .kv_client()
            .get(
                self.prefix.clone(),
                Some(GetOptions::new().with_count_only()),
            )
            .await
            .map_err(|e| e.to_string())?;
        let revision = response.header().map_or(0, |h| h.revision());
        self.shared.saw(Some(revision));
        Ok(revision)
    }

    /// Publishes the events of `stream`, moving `last` along, until it stops.
    async fn follow(
        &self,
        mut stream: etcd_client::WatchStream,
        last: &mut i64,
        stop: &mut tokio::sync::watch::Receiver<()>,
    ) -> Stopped {
        let mut drain_until: Option<Instant> = None;
        loop {
            if drain_until.is_some() || stop.has_changed().is_err() {
                let written = self.shared.written.load(Ordering::Acquire);
                let deadline = *drain_until.get_or_insert_with(|| Instant::now() + DRAIN_LIMIT);
                if store_revision(*last) >= written || Instant::now() >= deadline {
                    return Stopped::Done;
                }
            }
            let message = tokio::select! {
                message = stream.message() => message,
                _ = stop.changed(), if drain_until.is_none() => continue,
                () = tokio::time::sleep(DRAIN_LIMIT), if drain_until.is_some() => continue,
            };
            let response = match message {
                Ok(Some(response)) => response,
                Ok(None) => return Stopped::Broken("the watch stream ended".to_owned()),
                Err(e) => return Stopped::Broken(e.to_string()),
            };
            if response.compact_revision() > 0 {
                return Stopped::Compacted {
                    compact_revision: response.compact_revision(),
                };
            }
            if response.canceled() {
                let reason = response.cancel_reason();
                return Stopped::Broken(format!("etcd cancelled the watch: {reason}"));
            }
            self.publish(&response, last);
        }
    }

    fn publish(&self, response: &WatchResponse, last: &mut i64) {
        for event in response.events() {
            let Some(kv) = event.kv() else { continue };
            let revision = kv.mod_revision();
            if revision <= *last {
                continue;
            }
            let key = kv
                .key()
                .get(self.prefix.len()..)
                .unwrap_or_default()
                .to_vec();
            let event = match event.event_type() {
                EventType::Delete => Event::delete(key, store_revision(revision)),
                EventType::Put => match Record::decode(&key, kv.value()) {
                    Ok(record) => Event::put(record.into_item(key, revision)),
                    Err(e) => {
                        // Not written by a Portcullis store: a read of the key fails the same
                        // way, and no subscriber could decode it either.
                        tracing::error!(error = %e, "undecodable value in the etcd event feed skipped");
                        continue;
                    }
                },
            };
            // The revision goes up before the event is out: see `Feed::subscribe`.
            self.shared.saw(Some(revision));
            self.feed.publish(event);
        }
        if let Some(event) = response.events().last().and_then(|e| e.kv()) {
            *last = (*last).max(event.mod_revision());
        }
    }
}
