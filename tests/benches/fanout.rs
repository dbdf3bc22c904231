//! Benchmark: one role change fanned out to 10,000 concurrent WatchEvents streams of the real
//! server (100 client connections, 100 streams each, every stream watching `role`).
//!
//! A series of UpsertRole writes, each one sent once the previous one reached every stream;
//! for every stream and every write, the time from the write's acknowledgement (UpsertRole
//! answered) to the stream's receipt of its event. Printed: p50, p99 and max over all streams
//! and writes, and the server's resident set size (`VmRSS` of `/proc/PID/status`) before the
//! streams, with them open (idle, and after the writes), and per stream.
//!
//! Baseline measured in the same run: the same writes watched by one stream alone (its
//! p50/p99), and the ratio of the many streams' figures to it. The event may reach a stream
//! before the writer has its answer (the store publishes an event while its write is being
//! synced, and the answer travels back to the writer meanwhile): such a receipt counts as 0.
//!
//! The receipts are timed by the bench's own tasks, which share the machine's cores with the
//! server: on a small machine the client's decoding of 10,000 events is part of the figure.
//!
//! Run on demand (not in CI): `cargo bench -p portcullis-tests --bench fanout --profile dev`
//! (`BENCH_CONNECTIONS=N`, default 100; `BENCH_STREAMS=N` streams per connection, default
//! 100; `BENCH_WRITES=N` writes, default 20).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use portcullis_api::auth::event::Resource;
use portcullis_api::auth::{Event, Operation, WatchKind};
use portcullis_api::Client;
use portcullis_tests::bench::env_usize;
use portcullis_tests::{role, Server};
use tokio::sync::Notify;

/// How long one write may take to reach every stream before the bench gives up.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(60);

/// Pause between one write's last delivery and the next write.
const SETTLE: Duration = Duration::from_millis(100);

/// Streams opened at once while setting up.
const OPENING: usize = 200;

/// Opens `count` role watches spread round-robin over `clients` (each returns once its INIT
/// arrived, so the watch is in place).
async fn open_streams(clients: &[Client], count: usize) -> Vec<tonic::Streaming<Event>> {
    let kind = WatchKind {
        kind: "role".into(),
        ..WatchKind::default()
    };
    futures::stream::iter(0..count)
        .map(|i| {
            let client = clients[i % clients.len()].clone();
            let kinds = vec![kind.clone()];
            async move { client.watch_events(kinds).await.expect("WatchEvents") }
        })
        .buffer_unordered(OPENING)
        .collect()
        .await
}

/// The index `i` of a role `fan-{round}-{i}` in `event`, if it is one of round `round`'s.
fn write_index(event: &Event, round: &str) -> Option<usize> {
    if event.r#type() != Operation::Put {
        return None;
    }
    let Some(Resource::Role(role)) = &event.resource else {
        return None;
    };
    let name = &role.metadata.as_ref()?.name;
    name.strip_prefix(round)?.parse().ok()
}

/// What every stream received of one round's writes.
struct Deliveries {
    /// Per write: how many streams received it.
    received: Vec<AtomicUsize>,
    /// Woken when a write reached its last stream.
    all_there: Notify,
}

/// Writes `writes` roles through `writer`, one at a time, each once the previous one reached
/// every stream, and returns every (stream, write) delivery latency.
async fn round(
    name: &str,
    writer: &Client,
    streams: Vec<tonic::Streaming<Event>>,
    writes: usize,
) -> Latencies {
    let count = streams.len();
    let prefix = format!("fan-{name}-");
    let deliveries = Arc::new(Deliveries {
        received: (0..writes).map(|_| AtomicUsize::new(0)).collect(),
        all_there: Notify::new(),
    });
    let readers: Vec<_> = streams
        .into_iter()
        .map(|mut stream| {
            let (deliveries, prefix) = (deliveries.clone(), prefix.clone());
            tokio::spawn(async move {
                let mut arrived: Vec<Option<Instant>> = vec![None; writes];
                let mut seen = 0;
                while seen < writes {
                    let event = stream.message().await.expect("stream open");
                    let event = event.expect("stream goes on");
                    let Some(i) = write_index(&event, &prefix) else {
                        continue;
                    };
                    let at = Instant::now();
                    if arrived[i].replace(at).is_none() {
                        seen += 1;
                        let n = deliveries.received[i].fetch_add(1, Ordering::AcqRel) + 1;
                        if n == count {
                            deliveries.all_there.notify_one();
                        }
                    }
                }
                // Keeps the stream open until the round ends (a dropped stream is cancelled,
                // which the server would have to handle while others still deliver).
                (arrived, stream)
            })
        })
        .collect();
    let mut sent = Vec::with_capacity(writes);
    let mut acknowledged = Vec::with_capacity(writes);
    for i in 0..writes {
        let upsert = role(&format!("{prefix}{i}"));
        sent.push(Instant::now());
        writer.upsert_role(upsert).await.expect("UpsertRole");
        acknowledged.push(Instant::now());
        let deadline = Instant::now() + DELIVERY_TIMEOUT;
        while deliveries.received[i].load(Ordering::Acquire) < count {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "write {i} reached {} of {count} streams within {DELIVERY_TIMEOUT:?}",
                deliveries.received[i].load(Ordering::Acquire)
            );
            // A notification may come for an earlier write, or before this wait started:
            // the count is checked again either way.
            let _ = tokio::time::timeout(
                left.min(Duration::from_millis(20)),
                deliveries.all_there.notified(),
            )
            .await;
        }
        tokio::time::sleep(SETTLE).await;
    }
    let mut latencies = Latencies {
        from_ack: Vec::with_capacity(count * writes),
        from_send: Vec::with_capacity(count * writes),
        writes: sent
            .iter()
            .zip(&acknowledged)
            .map(|(s, a)| a.duration_since(*s))
            .collect(),
    };
    let mut kept = Vec::with_capacity(count);
    for r in readers {
        let (arrived, stream) = r.await.expect("reader");
        for ((at, acked), sent) in arrived.iter().zip(&acknowledged).zip(&sent) {
            let at = at.expect("every write arrived");
            latencies
                .from_ack
                .push(at.saturating_duration_since(*acked));
            latencies.from_send.push(at.duration_since(*sent));
        }
        kept.push(stream);
    }
    drop(kept);
    latencies
}

/// The delivery latencies of one round.
struct Latencies {
    /// Receipt minus the write's acknowledgement (0 when received before it), per delivery.
    from_ack: Vec<Duration>,
    /// Receipt minus the moment the write was sent, per delivery.
    from_send: Vec<Duration>,
    /// How long each UpsertRole took to be answered.
    writes: Vec<Duration>,
}

/// `a / b` with one decimal, or `-` when `b` is zero.
fn ratio(a: Duration, b: Duration) -> String {
    if b.is_zero() {
        "-".to_owned()
    } else {
        format!("{:.1}", a.as_secs_f64() / b.as_secs_f64())
    }
}

/// p50, p99 and max of `times` (which it sorts).
fn percentiles(times: &mut [Duration]) -> (Duration, Duration, Duration) {
    let (p50, p99) = portcullis_tests::bench::p50_p99(times);
    (p50, p99, times.last().copied().unwrap_or_default())
}

/// The CPU time this process used so far.
fn own_cpu_time() -> Duration {
    portcullis_tests::bench::process_cpu_time(None).expect("this process's CPU time")
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() {
    let connections = env_usize("BENCH_CONNECTIONS", 100).max(1);
    let per_connection = env_usize("BENCH_STREAMS", 100).max(1);
    let writes = env_usize("BENCH_WRITES", 20).max(1);
    let streams = connections * per_connection;
    let rt = portcullis_tests::bench::runtime();
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&tmp.path().join("server"), &["--log-level", "warn"]);
    let rss = || server.rss_bytes().expect("the server's VmRSS");
    let cpu = || server.cpu_time().expect("the server's CPU time");
    rt.block_on(async {
        let writer = server.admin_client().await;
        let mut clients = Vec::with_capacity(connections);
        for _ in 0..connections {
            clients.push(server.admin_client().await);
        }

        // Baseline: one stream alone.
        let one = open_streams(&clients[..1], 1).await;
        let mut alone = round("one", &writer, one, writes).await;

        let before = rss();
        let started = Instant::now();
        let many = open_streams(&clients, streams).await;
        let opened = started.elapsed();
        // Let the server settle (the opening's buffers freed or reused) before reading RSS.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let idle = rss();
        eprintln!(
            "{streams} streams on {connections} connections opened in {opened:.1?} (server pid {})",
            server.pid()
        );
        let (server_cpu, own_cpu) = (cpu(), own_cpu_time());
        let mut fanned = round("many", &writer, many, writes).await;
        let server_cpu = cpu().saturating_sub(server_cpu);
        let own_cpu = own_cpu_time().saturating_sub(own_cpu);
        let busy = rss();

        let within = fanned
            .from_ack
            .iter()
            .filter(|d| **d <= Duration::from_secs(1))
            .count();
        let total = fanned.from_ack.len();
        println!(
            "{writes} role upserts, each once the previous one reached every stream; per \
             delivery (stream x write), the time to the stream's receipt"
        );
        let many_label = format!("{streams} streams on {connections} connections");
        let tables = [
            (
                "from the write's acknowledgement",
                &mut fanned.from_ack,
                &mut alone.from_ack,
            ),
            (
                "from the write's send (includes the write)",
                &mut fanned.from_send,
                &mut alone.from_send,
            ),
        ];
        for (title, many, one) in tables {
            let (m, o) = (percentiles(many), percentiles(one));
            println!(
                "{title:<44} {:>10} {:>10} {:>10} {:>7} {:>7}",
                "p50", "p99", "max", "p50 x", "p99 x"
            );
            println!(
                "{many_label:<44} {:>10.1?} {:>10.1?} {:>10.1?} {:>7} {:>7}",
                m.0,
                m.1,
                m.2,
                ratio(m.0, o.0),
                ratio(m.1, o.1)
            );
            println!(
                "{:<44} {:>10.1?} {:>10.1?} {:>10.1?} {:>7} {:>7}",
                "baseline: 1 stream alone", o.0, o.1, o.2, "1.0", "1.0"
            );
        }
        let (w50, w99, _) = percentiles(&mut fanned.writes);
        let (o50, o99, _) = percentiles(&mut alone.writes);
        println!(
            "UpsertRole answered in p50 {w50:.1?} p99 {w99:.1?} while {streams} streams \
             watch (1 stream: p50 {o50:.1?} p99 {o99:.1?})"
        );
        println!(
            "deliveries within 1 s of the acknowledgement: {within} of {total} ({:.2}%); an \
             event received before the acknowledgement counts as 0",
            100.0 * within as f64 / total.max(1) as f64
        );
        let deliveries = (streams * writes) as f64;
        println!(
            "CPU time during the {streams} streams' round: server {server_cpu:.2?} ({:.1} µs \
             per delivery), this bench (the clients) {own_cpu:.2?} ({:.1} µs per delivery)",
            server_cpu.as_secs_f64() * 1e6 / deliveries,
            own_cpu.as_secs_f64() * 1e6 / deliveries,
        );
        println!(
            "server RSS: {:.1} MiB before the streams; with them open {:.1} MiB idle, {:.1} MiB \
             after the writes; per stream {:.1} KiB idle, {:.1} KiB after the writes",
            mib(before),
            mib(idle),
            mib(busy),
            idle.saturating_sub(before) as f64 / 1024.0 / streams as f64,
            busy.saturating_sub(before) as f64 / 1024.0 / streams as f64
        );
        drop(clients);
    });
    server.stop();
}
