//! Benchmark: events/s that WatchEvents delivers to 1,000 concurrent streams of the real
//! server (over a handful of connections). Every stream watches `role`; writers upsert
//! roles as fast as the server takes them, and the time runs from the first write until
//! every stream has received every write's event. Events/s = streams × writes / time.
//!
//! Baselines measured in the same run: the same writes watched by one stream (so the
//! events/s of one watcher, which the write rate bounds), and the store's event feed fanned
//! out to 1,000 in-process subscribers (the broadcast alone: no decoding, filtering, gRPC or
//! TLS).
//!
//! The writes of a round stay below the feed's buffer (4,096 events per subscriber), so a
//! slow stream can never lag and be ended; `BENCH_WRITES` must stay below it too.
//!
//! Run on demand (not in CI): `cargo bench -p portcullis-tests --bench watch --profile dev`
//! (`BENCH_WATCHERS=N` streams, default 1000; `BENCH_WRITES=N` writes per round, default
//! 2000). The server and the bench share the machine's cores.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Instant;

use portcullis_api::auth::{Operation, WatchKind};
use portcullis_api::Client;
use portcullis_store::{Backend, MemoryBackend};
use portcullis_tests::bench::{admin_clients, env_usize};
use portcullis_tests::{role, Server};

/// Connections the streams share.
const CONNECTIONS: usize = 8;

/// Concurrent writers.
const WRITERS: usize = 16;

/// Opens `count` role watches spread over `clients` (each returns once established).
async fn open_streams(
    clients: &[Client],
    count: usize,
) -> Vec<tonic::Streaming<portcullis_api::auth::Event>> {
    let kind = WatchKind {
        kind: "role".into(),
        ..WatchKind::default()
    };
    let opening = (0..count).map(|i| {
        let client = clients[i % clients.len()].clone();
        let kinds = vec![kind.clone()];
        async move { client.watch_events(kinds).await.expect("WatchEvents") }
    });
    futures::future::join_all(opening).await
}

/// Writes `writes` roles from [`WRITERS`] tasks while every stream counts its PUT events;
/// returns (events delivered per second, writes per second).
async fn round(
    writers: &Arc<Vec<Client>>,
    streams: Vec<tonic::Streaming<portcullis_api::auth::Event>>,
    writes: usize,
) -> (f64, f64) {
    let count = streams.len();
    let readers: Vec<_> = streams
        .into_iter()
        .map(|mut stream| {
            tokio::spawn(async move {
                let mut seen = 0;
                while seen < writes {
                    let event = stream.message().await.expect("stream open");
                    let event = event.expect("stream goes on");
                    if event.r#type() == Operation::Put {
                        seen += 1;
                    }
                }
            })
        })
        .collect();
    let start = Instant::now();
    let writing: Vec<_> = (0..WRITERS)
        .map(|w| {
            let writers = writers.clone();
            tokio::spawn(async move {
                for i in (w..writes).step_by(WRITERS) {
                    let role = role(&format!("bench-{i}"));
                    writers[w].upsert_role(role).await.expect("UpsertRole");
                }
            })
        })
        .collect();
    for w in writing {
        w.await.expect("writer");
    }
    let write_rate = writes as f64 / start.elapsed().as_secs_f64();
    for r in readers {
        r.await.expect("reader");
    }
    let elapsed = start.elapsed().as_secs_f64();
    ((count * writes) as f64 / elapsed, write_rate)
}

/// The store's feed fanned out to `count` in-process subscribers: events delivered per
/// second until every subscriber received every one of `writes` writes.
async fn feed_fan_out(count: usize, writes: usize) -> f64 {
    let store: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
    let value = prost::Message::encode_to_vec(&role("bench"));
    let readers: Vec<_> = (0..count)
        .map(|_| {
            let mut feed = store.subscribe();
            tokio::spawn(async move {
                for _ in 0..writes {
                    feed.recv().await.expect("feed open").expect("no lag");
                }
            })
        })
        .collect();
    let start = Instant::now();
    for i in 0..writes {
        let key = format!("/roles/bench-{i}");
        store
            .put(key.as_bytes(), value.clone(), None)
            .await
            .unwrap();
    }
    for r in readers {
        r.await.expect("subscriber");
    }
    (count * writes) as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let watchers = env_usize("BENCH_WATCHERS", 1000);
    let writes = env_usize("BENCH_WRITES", 2000);
    assert!(
        writes < portcullis_store::DEFAULT_FEED_CAPACITY,
        "BENCH_WRITES must stay below the feed's buffer ({})",
        portcullis_store::DEFAULT_FEED_CAPACITY
    );
    let rt = portcullis_tests::bench::runtime();
    let tmp = tempfile::tempdir().expect("tempdir");
    rt.block_on(async {
        let fan_out = feed_fan_out(watchers, writes).await;

        let server = Server::start(&tmp.path().join("server"), &["--log-level", "warn"]);
        let writers = admin_clients(&server).await;
        let mut readers = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            readers.push(server.admin_client().await);
        }

        let one = open_streams(&readers, 1).await;
        let (one_rate, one_writes) = round(&writers, one, writes).await;

        let started = Instant::now();
        let many = open_streams(&readers, watchers).await;
        eprintln!(
            "{watchers} streams on {CONNECTIONS} connections opened in {:.1?}",
            started.elapsed()
        );
        let (many_rate, many_writes) = round(&writers, many, writes).await;

        println!(
            "{writes} role upserts per round from {WRITERS} writers; events counted when \
             every stream has every write's"
        );
        println!("{:<52} {:>12} {:>8}", "measure", "per second", "ratio");
        println!(
            "{:<52} {:>12.0} {:>8}",
            format!("events delivered to {watchers} WatchEvents streams"),
            many_rate,
            "1.000"
        );
        println!(
            "{:<52} {:>12.0} {:>8.3}",
            "baseline: events delivered to 1 stream",
            one_rate,
            many_rate / one_rate
        );
        println!(
            "{:<52} {:>12.0} {:>8.3}",
            format!("baseline: store feed to {watchers} in-process subscribers"),
            fan_out,
            many_rate / fan_out
        );
        println!(
            "{:<52} {:>12.0} {:>8.3}",
            format!("writes/s while {watchers} streams watch"),
            many_writes,
            many_writes / one_writes
        );
        println!(
            "{:<52} {:>12.0} {:>8}",
            "writes/s while 1 stream watches", one_writes, ""
        );
        server.stop();
    });
}
