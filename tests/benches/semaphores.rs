//! Benchmark: semaphore acquire+release pairs/s (AcquireSemaphore then CancelSemaphoreLease)
//! against the real server on RocksDB, with 64 tasks contending for one semaphore, each task
//! on a connection of its own: with room for all of them (max 64), and with room for 8 (the
//! others are refused and try again at once; refusals/s printed beside).
//!
//! Baselines measured in the same run, over the same connections: one task alone
//! (uncontended pairs/s, the latency of two writes), 64 tasks each on a semaphore of its own
//! (the same work without contention on one record), and UpsertRole from 64 tasks (one plain
//! store write through an RPC: a pair is two writes). The ratios say what contention on one
//! record costs.
//!
//! Run on demand (not in CI): `cargo bench -p portcullis-tests --bench semaphores --profile dev`
//! (`BENCH_SECONDS=N` changes the time per measurement, default 3; five measurements).
//! The server and the bench share the machine's cores.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use portcullis_api::services::AcquireSemaphoreRequest;
use portcullis_api::Client;
use portcullis_tests::bench::{admin_clients, measure, seconds};
use portcullis_tests::{role, Server};
use tonic::Code;

/// Contending tasks.
const TASKS: usize = 64;

/// One acquire+release of a lease on `connection/NAME` (at most `max` leases), retried at
/// once while the semaphore is full; every refusal is counted in `refusals`.
async fn pair(client: &Client, name: String, max: i64, refusals: &AtomicU64) {
    let request = AcquireSemaphoreRequest {
        semaphore_kind: "connection".into(),
        semaphore_name: name,
        max_leases: max,
        expires: Some((SystemTime::now() + Duration::from_secs(60)).into()),
        holder: "bench".into(),
    };
    let lease = loop {
        match client.rpc().acquire_semaphore(request.clone()).await {
            Ok(lease) => break lease.into_inner(),
            Err(e) if e.code() == Code::ResourceExhausted => {
                refusals.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => panic!("AcquireSemaphore: {e:?}"),
        }
    };
    client
        .rpc()
        .cancel_semaphore_lease(lease)
        .await
        .expect("CancelSemaphoreLease");
}

/// Pairs/s from `tasks` tasks on the semaphore `name(task)` with at most `max` leases, and
/// refusals/s.
async fn pairs(
    clients: &Arc<Vec<Client>>,
    tasks: usize,
    max: i64,
    name: fn(usize) -> String,
) -> (f64, f64) {
    let refusals = Arc::new(AtomicU64::new(0));
    let (c, r) = (clients.clone(), refusals.clone());
    let rate = measure(tasks, move |t, _| {
        let (c, r) = (c.clone(), r.clone());
        async move { pair(&c[t], name(t), max, &r).await }
    })
    .await;
    let refused = refusals.load(Ordering::Relaxed) as f64 / seconds().as_secs_f64();
    (rate, refused)
}

fn main() {
    let rt = portcullis_tests::bench::runtime();
    let tmp = tempfile::tempdir().expect("tempdir");
    rt.block_on(async {
        let server = Server::start(&tmp.path().join("server"), &["--log-level", "warn"]);
        let clients = admin_clients(&server).await;
        assert!(clients.len() >= TASKS);
        let secs = seconds().as_secs();

        let (contended, _) = pairs(&clients, TASKS, TASKS as i64, |_| "shared".into()).await;
        let (scarce, refused) = pairs(&clients, TASKS, 8, |_| "scarce".into()).await;
        let (alone, _) = pairs(&clients, 1, 1, |_| "alone".into()).await;
        let (separate, _) = pairs(&clients, TASKS, 1, |t| format!("own-{t}")).await;
        let c = clients.clone();
        let writes = measure(TASKS, move |t, i| {
            let c = c.clone();
            async move {
                let name = format!("bench-{t}-{}", i % 64);
                c[t].upsert_role(role(&name)).await.expect("UpsertRole");
            }
        })
        .await;

        println!(
            "semaphores: acquire+release pairs/s against the real server (RocksDB), \
             {TASKS} tasks on {TASKS} connections, {secs} s per measurement"
        );
        println!("  {TASKS} contenders, one semaphore of {TASKS}: {contended:>9.0} pairs/s");
        println!(
            "  {TASKS} contenders, one semaphore of 8:  {scarce:>9.0} pairs/s \
             ({refused:.0} refusals/s)"
        );
        println!("baselines (same run):");
        println!("  1 task, uncontended:                  {alone:>9.0} pairs/s");
        println!("  {TASKS} tasks, a semaphore each:          {separate:>9.0} pairs/s");
        println!("  UpsertRole from {TASKS} tasks:            {writes:>9.0} writes/s");
        println!("ratios:");
        println!(
            "  contended / a semaphore each:         {:>9.2}",
            contended / separate
        );
        println!(
            "  contended / uncontended:              {:>9.2}",
            contended / alone
        );
        println!(
            "  contended pairs / (UpsertRole / 2):   {:>9.2}",
            contended / (writes / 2.0)
        );
        server.stop();
    });
}
