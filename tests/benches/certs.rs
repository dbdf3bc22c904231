//! Benchmark: certificate pairs (SSH + TLS) per second from GenerateUserCerts over mTLS with
//! 1, 16 and 64 concurrent clients (one connection each), printed beside raw Ed25519
//! signatures per second measured in the same run on the same number of threads, and the
//! CPU time the server and this client process spent per pair (steadier than rates on a
//! machine whose speed varies from run to run).
//!
//! Run on demand (not in CI): `cargo bench -p portcullis-tests --bench certs --profile dev`
//! (`BENCH_SECONDS=N` changes the time per measurement, default 3).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::{Signer, SigningKey};
use portcullis_ca::ClientKey;
use portcullis_tests::bench::{
    admin_clients, alice_cert_pair, measure, process_cpu_time, CONCURRENCY,
};
use portcullis_tests::{write_file, Server, ALICE_YAML};

fn main() {
    let rt = portcullis_tests::bench::runtime();
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_bench(&tmp.path().join("data"));
    let users = write_file(tmp.path(), "user.yaml", ALICE_YAML);
    server.pctl_ok(&["create", users.to_str().unwrap()]);
    let key = ClientKey::generate().expect("key");
    let public = key.public_key_openssh().expect("public key").into_bytes();
    rt.block_on(async {
        // Baseline: one Ed25519 signature over a certificate-sized message per operation.
        let signer = Arc::new(SigningKey::from_bytes(&[7u8; 32]));
        let message = Arc::new(vec![0x5au8; 512]);
        let mut baseline = Vec::new();
        for &n in &CONCURRENCY {
            let s = signer.clone();
            let m = message.clone();
            baseline.push(
                measure(n, move |_, _| {
                    let s = s.clone();
                    let m = m.clone();
                    async move {
                        std::hint::black_box(s.sign(&m));
                    }
                })
                .await,
            );
        }

        let clients = admin_clients(&server).await;
        println!(
            "{:<18} {:>8} {:>14} {:>18} {:>8} {:>14} {:>14}",
            "operation",
            "clients",
            "cert pairs/s",
            "ed25519 sigs/s",
            "ratio",
            "server CPU/pair",
            "client CPU/pair"
        );
        let cpu = |pid| process_cpu_time(pid).unwrap_or_default();
        let per_pair =
            |cpu: Duration, pairs: f64| format!("{:.0} µs", cpu.as_secs_f64() * 1e6 / pairs);
        for (idx, &n) in CONCURRENCY.iter().enumerate() {
            let c = clients.clone();
            let p = public.clone();
            let (server_before, client_before) = (cpu(Some(server.pid())), cpu(None));
            let start = Instant::now();
            let rate = measure(n, move |t, _| {
                let c = c.clone();
                let p = p.clone();
                async move { alice_cert_pair(&c[t], p).await }
            })
            .await;
            let pairs = rate * start.elapsed().as_secs_f64();
            let server_cpu = cpu(Some(server.pid())) - server_before;
            let client_cpu = cpu(None) - client_before;
            println!(
                "{:<18} {:>8} {:>14.0} {:>18.0} {:>8.4} {:>14} {:>14}",
                "GenerateUserCerts",
                n,
                rate,
                baseline[idx],
                rate / baseline[idx],
                per_pair(server_cpu, pairs),
                per_pair(client_cpu, pairs)
            );
        }
    });
    server.stop();
}
