//! Benchmark: sustained keep-alives/s of 1,000 simulated nodes against the real server, on
//! one server (RocksDB) and on two servers sharing a 3-member etcd cluster (TLS, loopback),
//! and the number of nodes that rate carries at the default heartbeat interval.
//!
//! Each node is a host identity of its own (signed by GenerateHostCerts) on a connection of
//! its own (with two servers, half the nodes on each). Every node registers once
//! (UpsertNode), then pushes keep-alives on its SendKeepAlives stream as fast as the server
//! takes them, and the time runs until the last stream was answered (the server answers a
//! stream after extending every lease it carried), so every keep-alive counted was applied.
//! A short first round sizes the measured one (keep-alives per node) to last about
//! BENCH_SECONDS. Nodes carried = keep-alives/s × [`HEARTBEAT`].
//!
//! Baselines measured in the same run, per store: in-process get + compare-and-swap/s of one
//! record per task from 1,000 tasks (the store work of a keep-alive that reads first: a
//! stream's first one, or one after a concurrent write), and compare-and-swap/s alone (the
//! store work of a steady keep-alive, which writes on the revision its predecessor got
//! without reading); both without gRPC or TLS. For the etcd baselines, the backend runs in
//! this process against the same etcd cluster. Also Ping RPCs/s over the same connections
//! (the cost of the RPC path alone).
//!
//! Run on demand (not in CI): `cargo bench -p portcullis-tests --bench presence --profile dev`
//! (`BENCH_SECONDS=N` changes the time per measurement, default 3; `BENCH_NODES=N` the
//! number of nodes, default 1000). The servers, etcd and the bench share the machine's cores.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use portcullis_api::auth::{GetNodesRequest, HostCertsRequest};
use portcullis_api::services::{KeepAlive, ServerV2};
use portcullis_api::{Client, TlsFiles};
use portcullis_ca::ClientKey;
use portcullis_store::{Backend, EtcdBackend, EtcdOptions, EtcdTls, RocksBackend};
use portcullis_tests::bench::{env_usize, measure, seconds};
use portcullis_tests::etcd::EtcdCluster;
use portcullis_tests::Server;
use tokio_stream::wrappers::ReceiverStream;

/// File descriptors the run needs per node (one socket in the bench, one in a server).
const FDS_PER_NODE: u64 = 2;

/// The default heartbeat: the example node (`examples/src/bin/node`, the README's joining
/// node) announces itself with a 30 s TTL (`--ttl-secs`) and keeps it alive every third of
/// it.
const HEARTBEAT: Duration = Duration::from_secs(10);

/// The soft limit on open files (the server inherits it), from /proc.
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn node(name: &str) -> ServerV2 {
    portcullis_tests::server_v2("node", name, &[("env", "bench")])
}

/// Signs a host identity for `name` (with `key`) and writes it under `dir`.
async fn host_identity(admin: &Client, key: &ClientKey, dir: &Path, name: &str) {
    let certs = admin
        .rpc()
        .generate_host_certs(HostCertsRequest {
            host_id: name.into(),
            node_name: name.into(),
            role: "Node".into(),
            public_tls_key: key.public_key_pem().unwrap().into_bytes(),
            public_ssh_key: key.public_key_openssh().unwrap().into_bytes(),
            ..Default::default()
        })
        .await
        .expect("GenerateHostCerts")
        .into_inner();
    let files = TlsFiles::from_prefix(dir.join(name));
    std::fs::write(&files.key, key.private_key_pem().unwrap().as_bytes()).unwrap();
    std::fs::write(&files.cert, &certs.tls).unwrap();
    let cas: Vec<u8> = certs.tlsca_certs.concat();
    std::fs::write(&files.cas, cas).unwrap();
}

/// Sends `count` keep-alives of `lease` on one stream of `client`, as fast as the server
/// takes them, and waits for the server's answer (given once it applied them all).
async fn keep_alive(client: &Client, lease: &KeepAlive, count: u64) {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let mut rpc = client.rpc();
    let call = tokio::spawn(async move { rpc.send_keep_alives(ReceiverStream::new(rx)).await });
    for _ in 0..count {
        let mut keep_alive = lease.clone();
        keep_alive.expires = Some((SystemTime::now() + Duration::from_secs(600)).into());
        if tx.send(keep_alive).await.is_err() {
            break;
        }
    }
    drop(tx);
    call.await.unwrap().expect("SendKeepAlives");
}

/// Every node sends `per_node` keep-alives on its stream at once; returns keep-alives/s.
async fn round(clients: &Arc<Vec<Client>>, leases: &Arc<Vec<KeepAlive>>, per_node: u64) -> f64 {
    let start = Instant::now();
    let handles: Vec<_> = (0..clients.len())
        .map(|i| {
            let (clients, leases) = (clients.clone(), leases.clone());
            tokio::spawn(async move { keep_alive(&clients[i], &leases[i], per_node).await })
        })
        .collect();
    for h in handles {
        h.await.expect("node task");
    }
    (clients.len() as u64 * per_node) as f64 / start.elapsed().as_secs_f64()
}

/// The in-process store baselines of one backend, with `tasks` tasks on a record each.
struct StoreFigures {
    /// get + compare-and-swap per second.
    get_cas: f64,
    /// compare-and-swap alone (on the revision the previous one got) per second.
    cas: f64,
}

async fn store_figures(store: Arc<dyn Backend>, tasks: usize) -> StoreFigures {
    let value = prost::Message::encode_to_vec(&node("bench-node"));
    let expires = || Some(SystemTime::now() + Duration::from_secs(600));
    let key = |t: usize| format!("/nodes/default/n{t}").into_bytes();
    for t in 0..tasks {
        store.put(&key(t), value.clone(), expires()).await.unwrap();
    }
    let s = store.clone();
    let get_cas = measure(tasks, move |t, _| {
        let s = s.clone();
        async move {
            let key = key(t);
            let item = s.get(&key).await.unwrap().unwrap();
            let swapped = s.compare_and_swap(&key, item.revision, item.value, expires());
            swapped.await.expect("compare_and_swap");
        }
    })
    .await;
    // Each task starts from the record's current revision, then swaps on what it wrote.
    let mut revisions = Vec::with_capacity(tasks);
    for t in 0..tasks {
        revisions.push(store.get(&key(t)).await.unwrap().unwrap().revision);
    }
    let revisions: Arc<Vec<std::sync::atomic::AtomicU64>> =
        Arc::new(revisions.into_iter().map(Into::into).collect());
    let s = store.clone();
    let cas = measure(tasks, move |t, _| {
        let (s, revisions, value) = (s.clone(), revisions.clone(), value.clone());
        async move {
            use std::sync::atomic::Ordering::Relaxed;
            let key = key(t);
            let swapped = s.compare_and_swap(&key, revisions[t].load(Relaxed), value, expires());
            let item = swapped.await.expect("compare_and_swap");
            revisions[t].store(item.revision, Relaxed);
        }
    })
    .await;
    StoreFigures { get_cas, cas }
}

/// The figures of one set-up of servers.
struct Figures {
    keep_alives: f64,
    ping: f64,
    per_node: u64,
}

/// Signs `n` host identities through `servers[0]`, connects node `i` to `servers[i %
/// len]`, registers every node, and measures Ping and keep-alives over those connections.
async fn figures(servers: &[&Server], dir: &Path, n: usize) -> Figures {
    let admin = servers[0].admin_client().await;
    let key = ClientKey::generate().unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let started = Instant::now();
    let mut clients = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("node-{i:04}");
        host_identity(&admin, &key, dir, &name).await;
        let files = TlsFiles::from_prefix(dir.join(&name));
        let server = servers[i % servers.len()];
        clients.push(
            Client::connect(&server.addr, &files)
                .await
                .expect("connect"),
        );
    }
    let clients = Arc::new(clients);
    eprintln!(
        "{n} host identities signed and connected to {} server(s) in {:.1?}",
        servers.len(),
        started.elapsed()
    );

    let c = clients.clone();
    let ping = measure(n, move |t, _| {
        let c = c.clone();
        async move {
            c[t].ping().await.expect("Ping");
        }
    })
    .await;

    // Register every node, then keep-alives from all of them at once.
    let mut leases = Vec::with_capacity(n);
    for (i, client) in clients.iter().enumerate() {
        let lease = client
            .rpc()
            .upsert_node(node(&format!("node-{i:04}")))
            .await;
        leases.push(lease.expect("UpsertNode").into_inner());
    }
    // A short round sizes the measured one to last about BENCH_SECONDS: keep-alives
    // sent faster than the servers apply them would only queue up in the streams.
    let leases = Arc::new(leases);
    let warm_up = round(&clients, &leases, 5).await;
    let per_node = ((warm_up * seconds().as_secs_f64()) / n as f64)
        .ceil()
        .max(1.0) as u64;
    let keep_alives = round(&clients, &leases, per_node).await;
    for server in servers {
        let listed = server
            .admin_client()
            .await
            .rpc()
            .get_nodes(GetNodesRequest::default())
            .await
            .expect("GetNodes")
            .into_inner()
            .servers
            .len();
        assert_eq!(listed, n, "every node is still listed on every server");
    }
    Figures {
        keep_alives,
        ping,
        per_node,
    }
}

/// The etcd backend in this process, on `etcd` under `prefix`.
async fn etcd_backend(etcd: &EtcdCluster, prefix: &str) -> Arc<dyn Backend> {
    let tls = etcd.tls();
    let mut options = EtcdOptions::new(etcd.endpoints());
    options.prefix = prefix.as_bytes().to_vec();
    options.tls = Some(EtcdTls {
        ca_pem: std::fs::read(&tls.ca).unwrap(),
        cert_pem: std::fs::read(&tls.cert).unwrap(),
        key_pem: std::fs::read(&tls.key).unwrap(),
    });
    Arc::new(EtcdBackend::connect(options).await.expect("etcd backend"))
}

fn main() {
    let n = env_usize("BENCH_NODES", 1000);
    if let Some(limit) = open_files_limit() {
        let needed = n as u64 * FDS_PER_NODE + 200;
        if limit < needed {
            eprintln!(
                "the open-files limit is {limit}; {n} nodes need about {needed} \
                 (raise it with `ulimit -n {needed}`, or set BENCH_NODES lower)"
            );
            std::process::exit(2);
        }
    }
    let rt = portcullis_tests::bench::runtime();
    let tmp = tempfile::tempdir().expect("tempdir");

    // One server on RocksDB, and its store in process.
    let rocks_store = rt.block_on(async {
        let store: Arc<dyn Backend> =
            Arc::new(RocksBackend::open(&tmp.path().join("baseline")).expect("open store"));
        store_figures(store, n).await
    });
    let server = Server::start_bench(&tmp.path().join("rocks"));
    let rocks = rt.block_on(figures(&[&server], &tmp.path().join("ids-rocks"), n));
    server.stop();

    // Two servers on a 3-member etcd cluster, and the etcd backend in process.
    let etcd = EtcdCluster::start(&tmp.path().join("etcd"), 3);
    let etcd_store =
        rt.block_on(async { store_figures(etcd_backend(&etcd, "/bench-baseline").await, n).await });
    let (a, b) = (
        etcd.auth_server(&tmp.path().join("a")),
        etcd.auth_server(&tmp.path().join("b")),
    );
    let two = rt.block_on(figures(&[&a, &b], &tmp.path().join("ids-etcd"), n));
    a.stop();
    b.stop();
    drop(etcd);

    println!(
        "{n} nodes, one connection and SendKeepAlives stream each; nodes carried = \
         keep-alives/s x the default heartbeat ({}s)",
        HEARTBEAT.as_secs()
    );
    println!(
        "{:<44} {:>14} {:>8} {:>14} {:>8}",
        "measure (per second)", "1 srv, rocksdb", "ratio", "2 srv, etcd", "ratio"
    );
    let row = |label: &str, rocks_value: f64, etcd_value: f64, ratio: bool| {
        let (r, e) = if ratio {
            (
                format!("{:.3}", rocks.keep_alives / rocks_value),
                format!("{:.3}", two.keep_alives / etcd_value),
            )
        } else {
            ("1.000".into(), "1.000".into())
        };
        println!("{label:<44} {rocks_value:>14.0} {r:>8} {etcd_value:>14.0} {e:>8}");
    };
    row(
        "keep-alives (SendKeepAlives)",
        rocks.keep_alives,
        two.keep_alives,
        false,
    );
    row(
        "baseline: Ping RPCs, same connections",
        rocks.ping,
        two.ping,
        true,
    );
    row(
        "baseline: store get+CAS in process",
        rocks_store.get_cas,
        etcd_store.get_cas,
        true,
    );
    row(
        "baseline: store CAS alone in process",
        rocks_store.cas,
        etcd_store.cas,
        true,
    );
    let carried = |rate: f64| rate * HEARTBEAT.as_secs_f64();
    println!(
        "{:<44} {:>14.0} {:>8} {:>14.0} {:>8}",
        format!(
            "nodes carried at one keep-alive per {}s",
            HEARTBEAT.as_secs()
        ),
        carried(rocks.keep_alives),
        "",
        carried(two.keep_alives),
        ""
    );
    println!(
        "keep-alives per node in the measured round: {} (rocksdb), {} (etcd)",
        rocks.per_node, two.per_node
    );
}
