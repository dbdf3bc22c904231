//! The event feed: an ordered stream of every write, built on a tokio broadcast
//! channel.

use tokio::sync::broadcast::{self, error::RecvError};

use crate::{Error, Event, Result};

/// The default number of events buffered per subscriber before it lags.
pub const DEFAULT_FEED_CAPACITY: usize = 4096;

/// The publishing side of the event feed, owned by a backend.
#[derive(Debug)]
pub(crate) struct Feed {
    tx: broadcast::Sender<Signal>,
}

/// What the feed carries: an event, or the end of every subscription open at the time
/// (a backend that lost events it cannot replay tells its subscribers so).
#[derive(Debug, Clone)]
enum Signal {
    Event(Event),
    /// The feed skipped `missed` events (etcd compacted the revisions it had to resume
    /// from).
    Lagged {
        missed: u64,
    },
    /// The feed stopped for `reason` (etcd unreachable).
    Interrupted {
        reason: String,
    },
}

impl Feed {
    /// A feed that buffers up to `capacity` events per subscriber (at least 1).
    pub(crate) fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Feed { tx }
    }

    /// Publishes an event. Backends call this while holding their write lock,
    /// after updating the revision that `current_revision` reports, so that
    /// events go out in revision order.
    pub(crate) fn publish(&self, event: Event) {
        // An error only means that nobody is subscribed.
        let _ = self.tx.send(Signal::Event(event));
    }

    /// Ends every open subscription with [`Error::FeedLagged`]: the backend skipped
    /// `missed` events. Later subscriptions are not affected.
    pub(crate) fn lagged(&self, missed: u64) {
        let _ = self.tx.send(Signal::Lagged { missed });
    }

    /// Ends every open subscription with [`Error::FeedInterrupted`]. Later subscriptions
    /// are not affected.
    pub(crate) fn interrupt(&self, reason: String) {
        let _ = self.tx.send(Signal::Interrupted { reason });
    }

    /// Subscribes. `current_revision` is called after subscribing; every event
    /// with a greater revision is then guaranteed to be delivered, and events
    /// at or below it are filtered out.
    pub(crate) fn subscribe(&self, current_revision: impl FnOnce() -> u64) -> Subscription {
        let rx = self.tx.subscribe();
        Subscription {
            rx: Some(rx),
            after: current_revision(),
        }
    }
}

/// A subscription to a backend's event feed.
///
/// It delivers, in revision order and without gaps, the event of every write
/// whose revision is greater than [`Subscription::start_revision`]. A
/// subscriber that falls more than the feed's capacity behind gets one
/// [`Error::FeedLagged`] and then the subscription ends: it never silently
/// skips events. A backend that cannot deliver every event (a network store that was
/// unreachable too long, or whose history was compacted) ends the subscription the same
/// way, with [`Error::FeedLagged`] or [`Error::FeedInterrupted`].
///
/// The feed may deliver an event slightly before the write is durable on disk
/// (events are published in order while the write is being synced).
#[derive(Debug)]
pub struct Subscription {
    rx: Option<broadcast::Receiver<Signal>>,
    after: u64,
}

impl Subscription {
    /// The store revision when the subscription started: every later write is
    /// delivered, no earlier one is.
    pub fn start_revision(&self) -> u64 {
        self.after
    }

    /// The next event if one is already waiting: `Ok(None)` when none is, `Err` as
    /// [`Subscription::recv`] ends (then the subscription is over; a closed feed reads as
    /// [`Error::FeedInterrupted`]). An embedded store publishes each write's event before
    /// it acknowledges the write, so draining with this after a write was acknowledged
    /// always sees it.
    pub fn try_recv(&mut self) -> Result<Option<Event>> {
        use broadcast::error::TryRecvError;
        loop {
            let Some(rx) = self.rx.as_mut() else {
                return Err(Error::FeedInterrupted {
                    reason: "the subscription has ended".to_owned(),
                });
            };
            let ended = match rx.try_recv() {
                Ok(Signal::Event(event)) if event.revision() <= self.after => continue,
                Ok(Signal::Event(event)) => return Ok(Some(event)),
                Err(TryRecvError::Empty) => return Ok(None),
                Ok(Signal::Lagged { missed }) | Err(TryRecvError::Lagged(missed)) => {
                    Error::FeedLagged { missed }
                }
                Ok(Signal::Interrupted { reason }) => Error::FeedInterrupted { reason },
                Err(TryRecvError::Closed) => Error::FeedInterrupted {
                    reason: "the store was closed".to_owned(),
                },
            };
            self.rx = None;
            return Err(ended);
        }
    }

    /// Waits for the next event. Returns `None` once the feed is closed (the
    /// backend was dropped, or the subscriber lagged and was already told).
    pub async fn recv(&mut self) -> Option<Result<Event>> {
        loop {
            let rx = self.rx.as_mut()?;
            match rx.recv().await {
                Ok(Signal::Event(event)) if event.revision() <= self.after => continue,
                Ok(Signal::Event(event)) => return Some(Ok(event)),
                Ok(Signal::Lagged { missed }) => {
                    self.rx = None;
                    return Some(Err(Error::FeedLagged { missed }));
                }
                Ok(Signal::Interrupted { reason }) => {
                    self.rx = None;
                    return Some(Err(Error::FeedInterrupted { reason }));
                }
                Err(RecvError::Lagged(missed)) => {
                    self.rx = None;
                    return Some(Err(Error::FeedLagged { missed }));
                }
                Err(RecvError::Closed) => {
                    self.rx = None;
                    return None;
                }
            }
        }
    }
}
