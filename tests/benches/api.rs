//! Benchmark: GetRole and UpsertRole over mTLS against the real server, with 1, 16 and 64
//! concurrent clients (one connection each), printed beside an in-process RocksDB store
//! get/put baseline measured in the same run with the same concurrency.
//!
//! Run on demand (not in CI): `cargo bench -p portcullis-tests --bench api --profile dev`
//! (`BENCH_SECONDS=N` changes the time per measurement, default 3).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use portcullis_store::{Backend, RocksBackend};
use portcullis_tests::bench::{admin_clients, measure, CONCURRENCY};
use portcullis_tests::{role, Server};

fn main() {
    let rt = portcullis_tests::bench::runtime();
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
        let clients = admin_clients(&server).await;
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
