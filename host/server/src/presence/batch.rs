//! Keep-alive writes of every stream, grouped: the compare-and-swaps that wait at the same
//! time go to the store together ([`Backend::compare_and_swap_each`]: one etcd transaction,
//! or one RocksDB batch and fsync), instead of one store round trip each.
//!
//! Nothing waits to fill a group: a writer task takes whatever is queued when it has room
//! (at most [`IN_FLIGHT`] groups in the store at once, at most [`GROUP`] swaps each), so
//! a lone keep-alive goes out at once, and under load the groups grow by themselves. Each
//! swap keeps its own result: a group member that fails (its record changed or lapsed)
//! leaves the others written. The swaps of one group name distinct keys; a second swap of
//! a key already in the group waits for the next one.

use std::collections::HashSet;
use std::sync::Arc;

use portcullis_store::{Backend, Error, Item, Result, Swap};
use tokio::sync::{mpsc, oneshot, Semaphore};

/// Swaps written together at most (one etcd transaction holds 64).
const GROUP: usize = 64;

/// Groups in the store at once at most.
const IN_FLIGHT: usize = 4;

/// A swap waiting for its group, and where its result goes.
struct Waiting {
    swap: Swap,
    result: oneshot::Sender<Result<Item>>,
}

/// The queue of keep-alive writes of one server, with the task that writes them.
#[derive(Debug)]
pub struct Batcher {
    queue: mpsc::UnboundedSender<Waiting>,
}

impl Batcher {
    /// Starts the writer task on `backend` (in the current tokio runtime). It ends once the
    /// batcher is dropped and its queue is written.
    pub fn start(backend: Arc<dyn Backend>) -> Self {
        let (queue, waiting) = mpsc::unbounded_channel();
        tokio::spawn(write(backend, waiting));
        Batcher { queue }
    }

    /// Compare-and-swaps `swap` with the others waiting at the same time: the result
    /// [`Backend::compare_and_swap`] of it alone would give.
    pub async fn compare_and_swap(&self, swap: Swap) -> Result<Item> {
        let (result, answer) = oneshot::channel();
        let stopped = || Error::Storage("the keep-alive writer stopped".into());
        self.queue
            .send(Waiting { swap, result })
            .map_err(|_| stopped())?;
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }
}

/// Writes what `waiting` brings, in groups, until every sender is gone.
async fn write(backend: Arc<dyn Backend>, mut waiting: mpsc::UnboundedReceiver<Waiting>) {
    let room = Arc::new(Semaphore::new(IN_FLIGHT));
    // Swaps of keys another swap of the group named: first in the next group.
    let mut held: Vec<Waiting> = Vec::new();
    loop {
        let Ok(permit) = room.clone().acquire_owned().await else {
            return;
        };
        let mut group = std::mem::take(&mut held);
        if group.is_empty() && waiting.recv_many(&mut group, GROUP).await == 0 {
            return;
        }
        while group.len() < GROUP {
            match waiting.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let mut keys = HashSet::with_capacity(group.len());
        let (group, again): (Vec<Waiting>, Vec<Waiting>) = group
            .into_iter()
            .partition(|w| keys.insert(w.swap.key.clone()));
        held = again;
        let backend = backend.clone();
        tokio::spawn(async move {
            let (swaps, results): (Vec<Swap>, Vec<_>) =
                group.into_iter().map(|w| (w.swap, w.result)).unzip();
            match backend.compare_and_swap_each(swaps).await {
                Ok(written) => {
                    for (result, item) in results.into_iter().zip(written) {
                        // The keep-alive may have gone (its stream ended): nobody to tell.
                        let _ = result.send(item);
                    }
                }
                Err(e) => {
                    let reason = e.to_string();
                    for result in results {
                        let _ = result.send(Err(Error::Storage(reason.clone().into())));
                    }
                }
            }
            drop(permit);
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use portcullis_store::MemoryBackend;

    use super::*;

    fn swap(key: &str, expected_revision: u64, value: &str) -> Swap {
        Swap {
            key: key.as_bytes().to_vec(),
            expected_revision,
            value: value.as_bytes().to_vec(),
            expires: Some(SystemTime::now() + Duration::from_secs(60)),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_swap_gets_the_result_it_would_alone() {
        let backend: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
        let batcher = Arc::new(Batcher::start(backend.clone()));
        let mut revisions = Vec::new();
        for i in 0..200 {
            let key = format!("/k{i}");
            let item = backend
                .put(key.as_bytes(), b"v0".to_vec(), None)
                .await
                .unwrap();
            revisions.push(item.revision);
        }
        // 200 swaps at once, every fifth on a stale revision, and /k1 by three writers.
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let batcher = batcher.clone();
                let expected = revisions[i] + if i % 5 == 0 { 1000 } else { 0 };
                tokio::spawn(async move {
                    batcher
                        .compare_and_swap(swap(&format!("/k{i}"), expected, "v1"))
                        .await
                })
            })
            .collect();
        let twice = [
            batcher.compare_and_swap(swap("/k1", revisions[1], "a")),
            batcher.compare_and_swap(swap("/k1", revisions[1], "b")),
        ];
        let mut k1 = futures::future::join_all(twice).await;
        let mut mismatched = 0;
        for (i, task) in tasks.into_iter().enumerate() {
            let result = task.await.unwrap();
            if i == 1 {
                k1.push(result);
                continue;
            }
            match result {
                Ok(item) => assert_eq!(item.value, b"v1", "/k{i}"),
                Err(Error::RevisionMismatch { .. }) if i % 5 == 0 => mismatched += 1,
                Err(e) => panic!("/k{i}: {e}"),
            }
        }
        assert_eq!(mismatched, 40);
        // /k1 was swapped by exactly one of its writers; the others found it changed.
        let won = k1.iter().filter(|r| r.is_ok()).count();
        assert_eq!(won, 1, "{k1:?}");
        assert!(
            k1.iter()
                .all(|r| matches!(r, Ok(_) | Err(Error::RevisionMismatch { .. }))),
            "{k1:?}"
        );
    }
}
