//! Benchmark: certificate pairs (SSH + TLS) per second from GenerateUserCerts over mTLS with
//! 1, 16 and 64 concurrent clients (one connection each), printed beside raw Ed25519
//! signatures per second measured in the same run on the same number of threads.
//!
//! Run on demand (not in CI): `cargo bench -p portcullis-tests --bench certs --profile dev`
//! (`BENCH_SECONDS=N` changes the time per measurement, default 3).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use ed25519_dalek::{Signer, SigningKey};
use portcullis_ca::ClientKey;
use portcullis_tests::bench::{admin_clients, alice_cert_pair, measure, CONCURRENCY};
use portcullis_tests::{write_file, Server, ALICE_YAML};

fn main() {
    let rt = portcullis_tests::bench::runtime();
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&tmp.path().join("data"), &["--log-level", "warn"]);
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
            "{:<18} {:>8} {:>14} {:>18} {:>8}",
            "operation", "clients", "cert pairs/s", "ed25519 sigs/s", "ratio"
        );
        for (idx, &n) in CONCURRENCY.iter().enumerate() {
            let c = clients.clone();
            let p = public.clone();
            let pairs = measure(n, move |t, _| {
                let c = c.clone();
                let p = p.clone();
                async move { alice_cert_pair(&c[t], p).await }
            })
            .await;
            println!(
                "{:<18} {:>8} {:>14.0} {:>18.0} {:>8.4}",
                "GenerateUserCerts",
                n,
                pairs,
                baseline[idx],
                pairs / baseline[idx]
            );
        }
    });
    server.stop();
}
