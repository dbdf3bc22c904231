//! Benchmark: several auth servers on etcd. GetRole and UpsertRole requests/s and
//! GenerateUserCerts pairs/s through one and through two auth servers on a 3-member etcd
//! cluster (TLS, loopback), beside the single RocksDB server measured in the same run, with
//! ratios; then how long a role written through one server takes to be seen by the other
//! (its WatchEvents stream, and a GetRole poll), p50/p99.
//!
//! Run on demand (not in CI): `cargo bench -p portcullis-tests --bench ha --profile dev`
//! (`BENCH_SECONDS=N` changes the time per measurement, default 3; `BENCH_CLIENTS=N` the
//! concurrent clients per measurement, default 16).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis_api::Client;
use portcullis_ca::ClientKey;
use portcullis_tests::bench::{alice_cert_pair, measure, p50_p99};
use portcullis_tests::etcd::EtcdCluster;
use portcullis_tests::{role, write_file, Server, ALICE_YAML};

/// Role changes timed from one server to the other.
const PROPAGATION_SAMPLES: usize = 200;

fn clients_per_measurement() -> usize {
    std::env::var("BENCH_CLIENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16)
}

/// Figures of one set-up.
struct Figures {
    get: f64,
    upsert: f64,
    certs: f64,
}

/// `n` clients spread round-robin over `servers` (one connection each).
async fn clients(servers: &[&Server], n: usize) -> Arc<Vec<Client>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(servers[i % servers.len()].admin_client().await);
    }
    Arc::new(out)
}

async fn figures(servers: &[&Server], public_key: &[u8]) -> Figures {
    let n = clients_per_measurement();
    let c = clients(servers, n).await;
    c[0].upsert_role(role("bench-role"))
        .await
        .expect("seed role");
    let cc = c.clone();
    let get = measure(n, move |t, _| {
        let c = cc.clone();
        async move {
            c[t].get_role("bench-role").await.expect("GetRole");
        }
    })
    .await;
    let cc = c.clone();
    let upsert = measure(n, move |t, i| {
        let c = cc.clone();
        async move {
            c[t].upsert_role(role(&format!("b-{t}-{}", i % 64)))
                .await
                .expect("UpsertRole");
        }
    })
    .await;
    let cc = c.clone();
    let key = public_key.to_vec();
    let certs = measure(n, move |t, _| {
        let c = cc.clone();
        let key = key.clone();
        async move { alice_cert_pair(&c[t], key).await }
    })
    .await;
    Figures { get, upsert, certs }
}

/// Time from UpsertRole acknowledged by `writer` until `reader` shows it: on a WatchEvents
/// stream opened on `reader`, and by polling GetRole on `reader`.
async fn propagation(writer: &Server, reader: &Server) -> (Vec<Duration>, Vec<Duration>) {
    use portcullis_api::auth::{event::Resource, WatchKind};

    let w = writer.admin_client().await;
    let r = reader.admin_client().await;
    let kind = WatchKind {
        kind: "role".into(),
        ..WatchKind::default()
    };
    // Returns once the watch is in place (its INIT event).
    let mut stream = r.watch_events(vec![kind]).await.expect("WatchEvents");
    let mut watched = Vec::with_capacity(PROPAGATION_SAMPLES);
    let mut polled = Vec::with_capacity(PROPAGATION_SAMPLES);
    for i in 0..PROPAGATION_SAMPLES {
        let name = format!("prop-{i}");
        w.upsert_role(role(&name)).await.expect("UpsertRole");
        let acknowledged = Instant::now();
        // Poll the other server until the role is there.
        loop {
            if r.get_role(&name).await.is_ok() {
                polled.push(acknowledged.elapsed());
                break;
            }
            assert!(
                acknowledged.elapsed() < Duration::from_secs(5),
                "never seen"
            );
        }
        // Its watch event (it may have arrived while polling).
        loop {
            let event = stream.message().await.expect("stream open").expect("event");
            let seen = matches!(event.resource, Some(Resource::Role(ref role))
                if role.metadata.as_ref().is_some_and(|m| m.name == name));
            if seen {
                watched.push(acknowledged.elapsed());
                break;
            }
        }
    }
    (watched, polled)
}

fn main() {
    let rt = portcullis_tests::bench::runtime();
    let tmp = tempfile::tempdir().expect("tempdir");
    let key = ClientKey::generate().expect("key");
    let public = key.public_key_openssh().expect("public key").into_bytes();
    let users = write_file(tmp.path(), "user.yaml", ALICE_YAML);

    // Baseline: the single RocksDB server.
    let rocks = Server::start(&tmp.path().join("rocks"), &["--log-level", "warn"]);
    rocks.pctl_ok(&["create", users.to_str().unwrap()]);
    let baseline = rt.block_on(figures(&[&rocks], &public));
    rocks.stop();

    let etcd = EtcdCluster::start(&tmp.path().join("etcd"), 3);
    let (a, b) = (
        etcd.auth_server(&tmp.path().join("a")),
        etcd.auth_server(&tmp.path().join("b")),
    );
    a.pctl_ok(&["create", users.to_str().unwrap()]);
    let one = rt.block_on(figures(&[&a], &public));
    let two = rt.block_on(figures(&[&a, &b], &public));
    let (mut watched, mut polled) = rt.block_on(propagation(&a, &b));

    let n = clients_per_measurement();
    println!("{n} clients; ratios are against the single RocksDB server");
    println!(
        "{:<18} {:>12} {:>14} {:>8} {:>14} {:>8}",
        "operation", "rocksdb", "etcd, 1 srv", "ratio", "etcd, 2 srv", "ratio"
    );
    for (name, base, on_one, on_two) in [
        ("GetRole req/s", baseline.get, one.get, two.get),
        ("UpsertRole req/s", baseline.upsert, one.upsert, two.upsert),
        ("cert pairs/s", baseline.certs, one.certs, two.certs),
    ] {
        println!(
            "{name:<18} {base:>12.0} {on_one:>14.0} {:>8.3} {on_two:>14.0} {:>8.3}",
            on_one / base,
            on_two / base
        );
    }
    let (w50, w99) = p50_p99(&mut watched);
    let (p50, p99) = p50_p99(&mut polled);
    println!(
        "role change through A seen on B ({PROPAGATION_SAMPLES} changes): \
         WatchEvents p50 {w50:?} p99 {w99:?}; GetRole poll p50 {p50:?} p99 {p99:?}"
    );
    a.stop();
    b.stop();
}
