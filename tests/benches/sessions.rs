//! Benchmark: session events/s ingested over 100 concurrent audit streams (CreateAuditStream
//! through the real client's `SessionRecorder`, one connection per stream as a fleet of nodes
//! would have), events of 1 KiB, counted when the server has made them durable (the
//! recorders wait for the acknowledgement covering their last event before the clock
//! stops).
//!
//! Baseline measured in the same run: raw store writes/s — in-process RocksDB creates of
//! 1 KiB values from 100 tasks, each one fsynced like every store write. The ratio says how
//! much batching events into parts buys over writing each event on its own.
//!
//! Run on demand (not in CI): `cargo bench --workspace --bench sessions --profile dev`
//! (`BENCH_SECONDS=N` changes the time per measurement, default 3; `BENCH_STREAMS=N` the
//! number of streams, default 100). The server and the bench share the machine's cores.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use base64::Engine;
use portcullis_api::events::OneOf;
use portcullis_api::SessionRecorder;
use portcullis_store::{Backend, RocksBackend};
use portcullis_tests::bench::{measure, seconds};
use portcullis_tests::Server;

/// Bytes of terminal output per event (its base64 and the rest make about 1 KiB).
const PRINT_BYTES: usize = 740;

fn streams() -> usize {
    std::env::var("BENCH_STREAMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100)
}

fn print(i: u64) -> OneOf {
    let data = base64::engine::general_purpose::STANDARD.encode(vec![b'x'; PRINT_BYTES]);
    OneOf {
        r#type: "print".into(),
        time: Some(SystemTime::now().into()),
        user: "alice".into(),
        fields: serde_json::json!({"data": data, "ms": i}).to_string(),
        ..OneOf::default()
    }
}

fn main() {
    let n = streams();
    let event_bytes = {
        let e = print(0);
        e.r#type.len() + e.user.len() + e.fields.len()
    };
    let rt = portcullis_tests::bench::runtime();
    let tmp = tempfile::tempdir().expect("tempdir");
    rt.block_on(async {
        // Baseline: one store write per event.
        let store: Arc<dyn Backend> =
            Arc::new(RocksBackend::open(&tmp.path().join("baseline")).expect("open store"));
        let value = vec![b'x'; event_bytes];
        let s = store.clone();
        let store_rate = measure(n, move |t, i| {
            let (s, value) = (s.clone(), value.clone());
            async move {
                let key = format!("/bench/{t}/{i:012}");
                s.create(key.as_bytes(), value, None).await.expect("create");
            }
        })
        .await;
        drop(store);

        let server = Server::start(&tmp.path().join("server"), &["--log-level", "warn"]);
        let mut recorders = Vec::with_capacity(n);
        for i in 0..n {
            let client = server.admin_client().await;
            let recorder = SessionRecorder::create(&client, &format!("bench-{i}"))
                .await
                .unwrap();
            recorders.push(recorder);
        }
        let deadline = Instant::now() + seconds();
        let start = Instant::now();
        let tasks: Vec<_> = recorders
            .into_iter()
            .map(|mut recorder| {
                tokio::spawn(async move {
                    let mut i = 0u64;
                    while Instant::now() < deadline {
                        recorder.record(print(i)).await.unwrap();
                        i += 1;
                    }
                    let durable = recorder.sync().await.unwrap() + 1;
                    (recorder, durable as u64)
                })
            })
            .collect();
        let mut events = 0u64;
        let mut done = Vec::with_capacity(n);
        for task in tasks {
            let (recorder, durable) = task.await.unwrap();
            events += durable;
            done.push(recorder);
        }
        let elapsed = start.elapsed().as_secs_f64();
        for recorder in done {
            recorder.complete().await.unwrap();
        }
        let rate = events as f64 / elapsed;
        println!("session events ingested over {n} audit streams, {event_bytes}-byte events:");
        println!(
            "  {rate:>10.0} events/s durable ({:.1} MiB/s), {events} events in {elapsed:.1} s",
            rate * event_bytes as f64 / (1024.0 * 1024.0)
        );
        println!("  {store_rate:>10.0} raw store writes/s (in-process RocksDB creates of {event_bytes} bytes, {n} tasks)");
        println!("  ratio events/s : raw writes/s = {:.2}", rate / store_rate);
        server.stop();
    });
}
