//! Benchmark: GetRole and UpsertRole over mTLS against the real server, with 1, 16 and 64
//! concurrent clients (one connection each), printed beside an in-process RocksDB store
//! get/put baseline measured in the same run with the same concurrency.
//!
//! Run on demand (not in CI): `cargo bench -p portcullis-tests --bench api --profile dev`
//! (`BENCH_SECONDS=N` changes the time per measurement, default 3).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis_store::{Backend, RocksBackend};
use portcullis_tests::{role, Server};

const CONCURRENCY: [usize; 3] = [1, 16, 64];

fn seconds() -> Duration {
    let s = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    Duration::from_secs(s)
}

/// Runs `tasks` copies of `op` for the measurement time and returns operations per second.
async fn measure<F, Fut>(tasks: usize, op: F) -> f64
where
    F: Fn(usize, u64) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + seconds();
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let op = op.clone();
            let done = done.clone();
            tokio::spawn(async move {
                let mut i = 0u64;
                while Instant::now() < deadline {
                    op(t, i).await;
                    i += 1;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for h in handles {
        h.await.expect("bench task");
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let tmp = tempfile::tempdir().expect("tempdir");
    rt.block_on(async {
        // Baseline: the store in this process, same record size as a small role.
        let store: Arc<dyn Backend> =
            Arc::new(RocksBackend::open(&tmp.path().join("baseline")).expect("open store"));
        let value = prost::Message::encode_to_vec(&role("bench-role"));
        store
            .put(b"/roles/bench-role", value.clone(), None)
            .await
            .expect("put");
        let mut baseline = Vec::new();
        for &n in &CONCURRENCY {
            let s = store.clone();
            let get = measure(n, move |_, _| {
                let s = s.clone();
                async move {
                    s.get(b"/roles/bench-role").await.expect("get");
                }
            })
            .await;
            let s = store.clone();
            let v = value.clone();
            let put = measure(n, move |t, i| {
                let s = s.clone();
                let v = v.clone();
                async move {
                    let key = format!("/roles/b-{t}-{}", i % 64);
                    s.put(key.as_bytes(), v, None).await.expect("put");
                }
            })
            .await;
            baseline.push((get, put));
        }

        // The real server over mTLS.
        let server = Server::start(&tmp.path().join("server"), &["--log-level", "warn"]);
        let admin = server.admin_client().await;
        admin
            .upsert_role(role("bench-role"))
            .await
            .expect("seed role");
        let max = *CONCURRENCY.iter().max().unwrap_or(&1);
        let mut clients = Vec::new();
        for _ in 0..max {
            clients.push(
                portcullis_api::Client::connect(&server.addr, &server.admin_files())
                    .await
                    .expect("connect"),
            );
        }
        let clients = Arc::new(clients);
        println!(
            "{:<12} {:>8} {:>14} {:>16} {:>8}",
            "operation", "clients", "server req/s", "store ops/s", "ratio"
        );
        for (idx, &n) in CONCURRENCY.iter().enumerate() {
            let c = clients.clone();
            let get = measure(n, move |t, _| {
                let c = c.clone();
                async move {
                    c[t].get_role("bench-role").await.expect("GetRole");
                }
            })
            .await;
            let c = clients.clone();
            let upsert = measure(n, move |t, i| {
                let c = c.clone();
                async move {
                    c[t].upsert_role(role(&format!("b-{t}-{}", i % 64)))
                        .await
                        .expect("UpsertRole");
                }
            })
            .await;
            let (bget, bput) = baseline[idx];
            println!(
                "{:<12} {:>8} {:>14.0} {:>16.0} {:>8.3}",
                "GetRole",
                n,
                get,
                bget,
                get / bget
            );
            println!(
                "{:<12} {:>8} {:>14.0} {:>16.0} {:>8.3}",
                "UpsertRole",
                n,
                upsert,
                bput,
                upsert / bput
            );
        }
        server.stop();
    });
}
