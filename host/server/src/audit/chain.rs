//! The hash chain of one server process: every event this process writes — its own and
//! ingested ones — gets the next position (`seq`, from 0) in the process's chain (a random
//! id) and the digest of the event before it, and the chain's head record under
//! [`HEADS`] says how far the chain goes, so a verifier also notices its newest events
//! removed.
//!
//! Writes are batched by combining: an append queues its events, takes the chain's head
//! (an async mutex), and writes everything queued so far in one atomic `create_all`, so
//! concurrent emitters share one durable write and the chain's order is the write order.
//! The head only moves once a batch is stored. The head record goes into the first batch
//! (created with it) and is replaced after every later one: it may lag behind the events
//! after a crash, never run ahead of them. Each append runs in a task of its own, so a
//! caller that goes away (a client that hung up) cannot stop a batch half way.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use portcullis_store::{Backend, NewItem};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::oneshot;

use super::record::{self, Body};
use super::{key, AuditError, AuditEvent, RETENTION};

/// Where the chains' head records live in the store (outside [`super::PREFIX`]).
pub const HEADS: &str = "/audit_chains/";

/// Most events in one batch write (a store transaction: etcd limits its operations).
const MAX_BATCH_EVENTS: usize = 64;
/// Most bytes in one batch write, unless a single append is larger.
const MAX_BATCH_BYTES: usize = 1 << 20;

/// A chain's head record: the newest event of the chain when it was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainHead {
    /// The chain.
    pub chain: String,
    /// When the chain's first event was written (RFC 3339, nanoseconds).
    pub started: String,
    /// The seq of its newest event.
    pub seq: u64,
    /// The digest of its newest event.
    pub digest: String,
    /// The id of its newest event.
    pub last_id: String,
}

/// The store key of chain `chain`'s head record.
pub fn head_key(chain: &str) -> Vec<u8> {
    format!("{HEADS}{chain}").into_bytes()
}

/// An event to append: everything but its place in the chain and its time.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Its type.
    pub event: String,
    /// The user it is about.
    pub user: String,
    /// Who emitted it (empty: the server).
    pub emitter: String,
    /// The emitter's code.
    pub code: String,
    /// The details (a JSON object).
    pub fields: Value,
}

/// Where the chain stands: what the next event links to.
#[derive(Debug, Default)]
struct Head {
    /// The seq of the next event.
    next_seq: u64,
    /// The digest of the newest event (empty before the first).
    digest: String,
    /// The newest event's id.
    last_id: String,
    /// The time of the newest event, in nanoseconds since the epoch: events of the chain
    /// never go back in time, so their keys sort in chain order even if the clock does.
    last_nanos: u128,
    /// When the first event was written.
    started: String,
}

type Reply = oneshot::Sender<Result<Vec<AuditEvent>, AuditError>>;

/// One queued append.
struct Submission {
    events: Vec<NewEvent>,
    /// About how many bytes the events take.
    bytes: usize,
    reply: Reply,
}

/// The writer of one chain.
pub struct Writer {
    backend: Arc<dyn Backend>,
    chain: String,
    head: tokio::sync::Mutex<Head>,
    queue: Mutex<Vec<Submission>>,
}

impl Writer {
    /// A new chain with a random id, written to `backend`.
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Writer {
            backend,
            chain: format!("{:016x}", rand::random::<u64>()),
            head: tokio::sync::Mutex::new(Head::default()),
            queue: Mutex::new(Vec::new()),
        }
    }

    /// The chain's id.
    pub fn chain(&self) -> &str {
        &self.chain
    }

    /// Appends `events` in this order, durably; returns them as stored.
    pub async fn append(
        self: &Arc<Self>,
        events: Vec<NewEvent>,
    ) -> Result<Vec<AuditEvent>, AuditError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let writer = self.clone();
        tokio::spawn(async move { writer.append_here(events).await })
            .await
            .map_err(|e| AuditError::Writer(e.to_string()))?
    }

    async fn append_here(&self, events: Vec<NewEvent>) -> Result<Vec<AuditEvent>, AuditError> {
        let (reply, mut answer) = oneshot::channel();
        let bytes = events
            .iter()
            .map(|e| e.event.len() + e.user.len() + e.code.len() + e.fields.to_string().len())
            .sum();
        self.lock_queue().push(Submission {
            events,
            bytes,
            reply,
        });
        let mut head = self.head.lock().await;
        loop {
            // A batch written while this append waited for the head may have held it.
            match answer.try_recv() {
                Ok(result) => return result,
                Err(oneshot::error::TryRecvError::Closed) => {
                    return Err(AuditError::Writer("the batch was dropped".into()))
                }
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            let batch = self.take_batch();
            if batch.is_empty() {
                return Err(AuditError::Writer(
                    "the events left the queue unwritten".into(),
                ));
            }
            self.write(&mut head, batch).await;
        }
    }

    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Vec<Submission>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The oldest queued appends, within the batch limits (at least one).
    fn take_batch(&self) -> Vec<Submission> {
        let mut queue = self.lock_queue();
        let (mut events, mut bytes, mut n) = (0, 0, 0);
        for submission in queue.iter() {
            if n > 0
                && (events + submission.events.len() > MAX_BATCH_EVENTS
                    || bytes + submission.bytes > MAX_BATCH_BYTES)
            {
                break;
            }
            events += submission.events.len();
            bytes += submission.bytes;
            n += 1;
        }
        queue.drain(..n).collect()
    }

    /// Writes `batch` as the next events of the chain and answers each submission.
    async fn write(&self, head: &mut Head, batch: Vec<Submission>) {
        let now = portcullis_clock::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let built = match self.build(head, &batch, now.max(head.last_nanos)) {
            Ok(built) => built,
            Err(e) => {
                let message = format!("an audit event could not be encoded: {e}");
                for submission in batch {
                    let _ = submission
                        .reply
                        .send(Err(AuditError::Writer(message.clone())));
                }
                return;
            }
        };
        let Built {
            mut items,
            events,
            next,
            head_record,
        } = built;
        let first = head.next_seq == 0;
        if first {
            // Created with the first events: a chain is never without its head record.
            items.push(head_record.clone());
        }
        if let Err(e) = self.backend.create_all(items).await {
            let e = Arc::new(e);
            for submission in batch {
                let _ = submission.reply.send(Err(AuditError::Store(e.clone())));
            }
            return;
        }
        *head = next;
        if !first {
            let NewItem {
                key,
                value,
                expires,
            } = head_record;
            if let Err(e) = self.backend.put(&key, value, expires).await {
                // The events are stored; the record catches up with the next batch.
                tracing::error!(chain = %self.chain, "audit chain head record not updated: {e}");
            }
        }
        let mut events = events.into_iter();
        for submission in batch {
            let answer = events.by_ref().take(submission.events.len()).collect();
            let _ = submission.reply.send(Ok(answer));
        }
    }

    /// The batch's events as store items (at `nanos` since the epoch) and as stored, the
    /// head after them, and its record.
    fn build(&self, head: &Head, batch: &[Submission], nanos: u128) -> serde_json::Result<Built> {
        let at = UNIX_EPOCH + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
        let time = humantime::format_rfc3339_nanos(at).to_string();
        let expires = Some(at + RETENTION);
        let mut next = Head {
            next_seq: head.next_seq,
            digest: head.digest.clone(),
            last_id: head.last_id.clone(),
            last_nanos: nanos,
            started: if head.next_seq == 0 {
                time.clone()
            } else {
                head.started.clone()
            },
        };
        let mut items = Vec::new();
        let mut events = Vec::new();
        for event in batch.iter().flat_map(|s| &s.events) {
            let seq = next.next_seq;
            let body = Body {
                id: format!("{nanos:020}-{}-{seq:010}", self.chain),
                chain: self.chain.clone(),
                seq,
                prev: next.digest.clone(),
                time: time.clone(),
                event: event.event.clone(),
                user: event.user.clone(),
                emitter: event.emitter.clone(),
                code: event.code.clone(),
                fields: event.fields.clone(),
            };
            let (digest, value) = record::encode(&body)?;
            items.push(NewItem {
                key: key(&body.id),
                value,
                expires,
            });
            next.next_seq = seq + 1;
            next.digest.clone_from(&digest);
            next.last_id.clone_from(&body.id);
            events.push(
                record::Stored::Chained {
                    body,
                    text: String::new(),
                    digest,
                }
                .into_event(),
            );
        }
        let record = ChainHead {
            chain: self.chain.clone(),
            started: next.started.clone(),
            seq: next.next_seq.saturating_sub(1),
            digest: next.digest.clone(),
            last_id: next.last_id.clone(),
        };
        let head_record = NewItem {
            key: head_key(&self.chain),
            value: serde_json::to_vec(&record)?,
            // At least as long as the chain's newest event.
            expires,
        };
        Ok(Built {
            items,
            events,
            next,
            head_record,
        })
    }
}

/// A batch ready to write.
struct Built {
    items: Vec<NewItem>,
    events: Vec<AuditEvent>,
    next: Head,
    head_record: NewItem,
}
