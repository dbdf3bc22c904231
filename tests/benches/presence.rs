//! Benchmark: keep-alives/s of 1,000 simulated nodes against the real server, each node a
//! host identity of its own (signed by GenerateHostCerts) on a connection of its own. Every
//! node registers once (UpsertNode), then pushes keep-alives on its SendKeepAlives stream as
//! fast as the server takes them, and the time runs until the last stream was answered (the
//! server answers a stream after extending every lease it carried), so every keep-alive
//! counted was applied. A short first round sizes the measured one (keep-alives per node)
//! to last about BENCH_SECONDS.
//!
//! Baselines measured in the same run: Ping RPCs/s over the same 1,000 connections (the
//! cost of the RPC path alone), and in-process store get + compare-and-swap/s of the same
//! record from 1,000 tasks (the store work of one keep-alive, without gRPC or TLS).
//!
//! Run on demand (not in CI): `cargo bench -p portcullis-tests --bench presence --profile dev`
//! (`BENCH_SECONDS=N` changes the time per measurement, default 3; `BENCH_NODES=N` the
//! number of nodes, default 1000). The server and the bench share the machine's cores.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use portcullis_api::auth::{GetNodesRequest, HostCertsRequest};
use portcullis_api::services::{KeepAlive, ServerV2};
use portcullis_api::{Client, TlsFiles};
use portcullis_ca::ClientKey;
use portcullis_store::{Backend, RocksBackend};
use portcullis_tests::bench::{measure, seconds};
use portcullis_tests::Server;
use tokio_stream::wrappers::ReceiverStream;

/// File descriptors the run needs per node (one socket in the bench, one in the server).
const FDS_PER_NODE: u64 = 2;

fn nodes() -> usize {
    std::env::var("BENCH_NODES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000)
}

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
async fn host_identity(admin: &Client, key: &ClientKey, dir: &std::path::Path, name: &str) {
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

fn main() {
    let n = nodes();
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
    rt.block_on(async {
        // Baseline 1: the store work of a keep-alive, in process, one key per task.
        let store: Arc<dyn Backend> =
            Arc::new(RocksBackend::open(&tmp.path().join("baseline")).expect("open store"));
        let value = prost::Message::encode_to_vec(&node("bench-node"));
        let expires = || Some(SystemTime::now() + Duration::from_secs(600));
        for t in 0..n {
            let key = format!("/nodes/default/n{t}");
            store
                .put(key.as_bytes(), value.clone(), expires())
                .await
                .unwrap();
        }
        let s = store.clone();
        let store_rate = measure(n, move |t, _| {
            let s = s.clone();
            async move {
                let key = format!("/nodes/default/n{t}");
                let item = s.get(key.as_bytes()).await.unwrap().unwrap();
                let swapped =
                    s.compare_and_swap(key.as_bytes(), item.revision, item.value, expires());
                swapped.await.expect("compare_and_swap");
            }
        })
        .await;
        drop(store);

        // The real server; one host identity and one connection per node.
        let server = Server::start(&tmp.path().join("server"), &["--log-level", "warn"]);
        let admin = server.admin_client().await;
        let key = ClientKey::generate().unwrap();
        let ids = tmp.path().join("ids");
        std::fs::create_dir_all(&ids).unwrap();
        let started = Instant::now();
        let mut clients = Vec::with_capacity(n);
        for i in 0..n {
            let name = format!("node-{i:04}");
            host_identity(&admin, &key, &ids, &name).await;
            let files = TlsFiles::from_prefix(ids.join(&name));
            clients.push(
                Client::connect(&server.addr, &files)
                    .await
                    .expect("connect"),
            );
        }
        let clients = Arc::new(clients);
        eprintln!(
            "{n} host identities signed and connected in {:.1?}",
            started.elapsed()
        );

        // Baseline 2: Ping over the same connections.
        let c = clients.clone();
        let ping_rate = measure(n, move |t, _| {
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
        // sent faster than the server applies them would only queue up in the streams.
        let leases = Arc::new(leases);
        let warm_up = round(&clients, &leases, 5).await;
        let per_node = ((warm_up * seconds().as_secs_f64()) / n as f64)
            .ceil()
            .max(1.0) as u64;
        let keep_alive_rate = round(&clients, &leases, per_node).await;
        let listed = admin
            .rpc()
            .get_nodes(GetNodesRequest::default())
            .await
            .expect("GetNodes")
            .into_inner()
            .servers
            .len();
        assert_eq!(listed, n, "every node is still listed");

        println!("{n} nodes, one connection and stream each, {per_node} keep-alives per node");
        println!("{:<44} {:>12} {:>8}", "measure", "per second", "ratio");
        println!(
            "{:<44} {:>12.0} {:>8}",
            "keep-alives (SendKeepAlives)", keep_alive_rate, "1.000"
        );
        println!(
            "{:<44} {:>12.0} {:>8.3}",
            "baseline: Ping RPCs, same connections",
            ping_rate,
            keep_alive_rate / ping_rate
        );
        println!(
            "{:<44} {:>12.0} {:>8.3}",
            "baseline: store get+CAS in process",
            store_rate,
            keep_alive_rate / store_rate
        );
        drop(clients);
        server.stop();
    });
}
