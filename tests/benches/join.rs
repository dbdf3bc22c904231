//! Benchmark: joins per second. 1,000 simulated nodes, each on its own connection (without
//! a client certificate, as a new host has none), exchange one provisioning token for host
//! certificates (RegisterUsingToken: token check, SSH + TLS certificates, audit event), all
//! at once. Beside it, in the same run, the same number of host certificate pairs issued by
//! GenerateHostCerts to the admin over 64 connections: the signing work alone, without the
//! token check, the audit event or the extra connections.
//!
//! Run on demand (not in CI): `cargo bench -p portcullis-tests --bench join --profile dev`
//! (`JOIN_NODES=N` changes the number of nodes, default 1,000).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use portcullis_api::auth::{HostCertsRequest, RegisterUsingTokenRequest};
use portcullis_api::Client;
use portcullis_ca::ClientKey;
use portcullis_tests::bench::admin_clients;
use portcullis_tests::Server;

fn nodes() -> usize {
    std::env::var("JOIN_NODES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000)
}

fn main() {
    let rt = portcullis_tests::bench::runtime();
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_bench(&tmp.path().join("data"));
    let token = server.pctl_ok(&["tokens", "add", "--type", "node", "--ttl", "1h"]);
    let token = token.trim().to_owned();
    let host_ca = server.pctl_ok(&["auth", "export", "--type", "tls-host"]);
    let key = ClientKey::generate().expect("key");
    let ssh = key.public_key_openssh().expect("ssh key").into_bytes();
    let tls = key.public_key_pem().expect("tls key").into_bytes();
    let n = nodes();

    rt.block_on(async {
        // Every node connects first; only the joins are timed.
        let mut connects = Vec::with_capacity(n);
        for _ in 0..n {
            let addr = server.addr.clone();
            let ca = host_ca.clone();
            connects.push(tokio::spawn(async move {
                Client::connect_to_join(&addr, &ca).await.expect("connect")
            }));
        }
        let mut nodes = Vec::with_capacity(n);
        for c in connects {
            nodes.push(c.await.expect("connect task"));
        }
        let request = |i: usize| RegisterUsingTokenRequest {
            token: token.clone(),
            host_id: format!("bench-node-{i}"),
            node_name: format!("bench-node-{i}.example"),
            role: "Node".to_owned(),
            public_ssh_key: ssh.clone(),
            public_tls_key: tls.clone(),
            ..RegisterUsingTokenRequest::default()
        };
        let start = Instant::now();
        let joins: Vec<_> = nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                let mut rpc = node.rpc();
                let req = request(i);
                tokio::spawn(async move { rpc.register_using_token(req).await.expect("join") })
            })
            .collect();
        for j in joins {
            j.await.expect("join task");
        }
        let join_secs = start.elapsed().as_secs_f64();

        // Baseline: the same number of host certificate pairs over the admin's connections.
        let admins = admin_clients(&server).await;
        let start = Instant::now();
        let issues: Vec<_> = (0..n)
            .map(|i| {
                let mut rpc = admins[i % admins.len()].rpc();
                let req = HostCertsRequest {
                    host_id: format!("baseline-{i}"),
                    node_name: format!("baseline-{i}.example"),
                    role: "Node".to_owned(),
                    public_ssh_key: ssh.clone(),
                    public_tls_key: tls.clone(),
                    ..HostCertsRequest::default()
                };
                tokio::spawn(async move { rpc.generate_host_certs(req).await.expect("issue") })
            })
            .collect();
        for i in issues {
            i.await.expect("issue task");
        }
        let issue_secs = start.elapsed().as_secs_f64();

        let joins_per_s = n as f64 / join_secs;
        let issues_per_s = n as f64 / issue_secs;
        println!("{:<44} {:>10} {:>12}", "operation", "count", "per second");
        println!(
            "{:<44} {:>10} {:>12.0}",
            "RegisterUsingToken, one connection per node", n, joins_per_s
        );
        println!(
            "{:<44} {:>10} {:>12.0}",
            "GenerateHostCerts (admin, 64 connections)", n, issues_per_s
        );
        println!(
            "{:<44} {:>10} {:>12.2}",
            "ratio joins / host cert pairs",
            "",
            joins_per_s / issues_per_s
        );
    });
    server.stop();
}
