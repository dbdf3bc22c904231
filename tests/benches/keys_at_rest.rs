//! Benchmark: certificate pairs (SSH + TLS) per second from GenerateUserCerts with the
//! authorities' keys in a PKCS#11 token (SoftHSM2, `keys.backend: pkcs11`), beside the same
//! measured in the same run on a server keeping them in its store (the default), with 1, 16
//! and 64 concurrent clients.
//!
//! Run on demand (not in CI): `cargo bench -p portcullis-tests --bench keys_at_rest --profile
//! dev` (`BENCH_SECONDS=N` changes the time per measurement, default 3).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;

use portcullis_ca::ClientKey;
use portcullis_hsm::softhsm::SoftHsm;
use portcullis_tests::bench::{
    admin_clients, alice_cert_pair, measure, CONCURRENCY, NO_RATE_LIMITS,
};
use portcullis_tests::{s, write_file, Server, ALICE_YAML};

/// Pairs per second at each concurrency level of [`CONCURRENCY`].
fn pairs_per_second(rt: &tokio::runtime::Runtime, server: &Server, public: &[u8]) -> Vec<f64> {
    rt.block_on(async {
        let clients = admin_clients(server).await;
        let mut rates = Vec::new();
        for &n in &CONCURRENCY {
            let c = clients.clone();
            let p = public.to_vec();
            rates.push(
                measure(n, move |t, _| {
                    let c = c.clone();
                    let p = p.clone();
                    async move { alice_cert_pair(&c[t], p).await }
                })
                .await,
            );
        }
        rates
    })
}

fn main() {
    let rt = portcullis_tests::bench::runtime();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let users = write_file(dir, "user.yaml", ALICE_YAML);
    let key = ClientKey::generate().expect("key");
    let public = key.public_key_openssh().expect("public key").into_bytes();

    let store = Server::start_bench(&dir.join("store-data"));
    store.pctl_ok(&["create", s(&users)]);
    let in_store = pairs_per_second(&rt, &store, &public);
    store.stop();

    let hsm = SoftHsm::create(&dir.join("hsm")).expect("softhsm");
    hsm.init_token("bench", "bench-pin").expect("token");
    let pin_file = write_file(dir, "pin", "bench-pin\n");
    std::fs::set_permissions(&pin_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = write_file(
        dir,
        "token.yaml",
        &format!(
            "{NO_RATE_LIMITS}keys:\n  backend: pkcs11\n  module: {}\n  token_label: bench\n  pin_file: {}\n",
            hsm.module.display(),
            pin_file.display()
        ),
    );
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let token = Server::start_env(
        &dir.join("token-data"),
        &["--config", s(&config), "--log-level", "warn"],
        &[("SOFTHSM2_CONF", &hsm.conf)],
    );
    token.pctl_ok(&["create", s(&users)]);
    let in_token = pairs_per_second(&rt, &token, &public);
    token.stop();

    println!(
        "{:<18} {:>8} {:>16} {:>16} {:>8}",
        "operation", "clients", "token pairs/s", "store pairs/s", "ratio"
    );
    for (idx, &n) in CONCURRENCY.iter().enumerate() {
        println!(
            "{:<18} {:>8} {:>16.0} {:>16.0} {:>8.3}",
            "GenerateUserCerts",
            n,
            in_token[idx],
            in_store[idx],
            in_token[idx] / in_store[idx]
        );
    }
}
