//! End-to-end: semaphores against the real binary — the five RPCs (acquire, list,
//! keep-alive, cancel, delete) and their refusals, 64 concurrent acquirers on a semaphore
//! of 10, expired leases no longer counting, `pctl semaphores`, who may use semaphores, and
//! the role options `max_connections`, `max_sessions`, `client_idle_timeout` and
//! `disconnect_expired_cert` reaching the user's SSH certificate, where the example node
//! (`--login`) enforces `max_connections` with connection leases.
//!
//! The servers run with an hour-long sweep interval, so an expired lease no longer counting
//! proves that reads and writes drop it, not that the sweeper happened to run.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use portcullis_api::services::{
    AcquireSemaphoreRequest, SemaphoreFilter, SemaphoreLease, SemaphoreV3,
};
use portcullis_api::time::to_system_time;
use portcullis_api::{Client, TlsFiles};
use portcullis_tests::{err, ok, rt, s, write_file, Server};
use tonic::Code;

/// A server that never sweeps, in `dir`.
fn start(dir: &Path) -> Server {
    Server::start_with_config(dir, "sweep_interval: 1h\n")
}

fn acquire_request(name: &str, max: i64, ttl: Duration) -> AcquireSemaphoreRequest {
    AcquireSemaphoreRequest {
        semaphore_kind: "connection".into(),
        semaphore_name: name.into(),
        max_leases: max,
        expires: Some((SystemTime::now() + ttl).into()),
        holder: "test".into(),
    }
}

fn filter(kind: &str, name: &str) -> SemaphoreFilter {
    SemaphoreFilter {
        semaphore_kind: kind.into(),
        semaphore_name: name.into(),
    }
}

async fn acquire(
    client: &Client,
    name: &str,
    max: i64,
    ttl: Duration,
) -> Result<SemaphoreLease, tonic::Status> {
    let request = acquire_request(name, max, ttl);
    client
        .rpc()
        .acquire_semaphore(request)
        .await
        .map(|r| r.into_inner())
}

async fn semaphores(client: &Client, kind: &str, name: &str) -> Vec<SemaphoreV3> {
    client
        .rpc()
        .get_semaphores(filter(kind, name))
        .await
        .unwrap()
        .into_inner()
        .semaphores
}

/// The live leases of `connection/NAME` as the server lists them.
async fn leases(client: &Client, name: &str) -> Vec<portcullis_api::services::SemaphoreLeaseRef> {
    let listed = semaphores(client, "connection", name).await;
    listed
        .into_iter()
        .flat_map(|s| s.spec.unwrap_or_default().leases)
        .collect()
}

/// Asserts `result` failed with `code` and a message containing `needle`.
#[track_caller]
fn refused<T: std::fmt::Debug>(result: Result<T, tonic::Status>, code: Code, needle: &str) {
    let e = result.unwrap_err();
    assert_eq!(e.code(), code, "{e:?}");
    assert!(
        e.message().contains(needle),
        "`{needle}` not in: {}",
        e.message()
    );
}

#[test]
fn the_five_rpcs_take_keep_cancel_list_and_delete_leases() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start(tmp.path());
    let rt = rt();
    rt.block_on(async {
        let admin = server.admin_client().await;
        let minute = Duration::from_secs(60);
        let first = acquire(&admin, "alice", 2, minute).await.unwrap();
        assert_eq!(first.semaphore_kind, "connection");
        assert_eq!(first.semaphore_name, "alice");
        let second = acquire(&admin, "alice", 2, minute).await.unwrap();
        refused(
            acquire(&admin, "alice", 2, minute).await,
            Code::ResourceExhausted,
            "too many concurrent leases on semaphore `connection/alice` (max 2)",
        );

        // GetSemaphores: the semaphore with its two leases.
        let listed = semaphores(&admin, "connection", "alice").await;
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (listed[0].kind.as_str(), listed[0].sub_kind.as_str()),
            ("semaphore", "connection")
        );
        assert_eq!(listed[0].metadata.as_ref().unwrap().name, "alice");
        let held = leases(&admin, "alice").await;
        let mut ids: Vec<_> = held.iter().map(|l| l.lease_id.clone()).collect();
        ids.sort();
        let mut wanted = vec![first.lease_id.clone(), second.lease_id.clone()];
        wanted.sort();
        assert_eq!(ids, wanted);
        assert!(held.iter().all(|l| l.holder == "test"));

        // KeepAliveSemaphoreLease extends the lease's expiry.
        let mut kept = first.clone();
        let later = SystemTime::now() + Duration::from_secs(600);
        kept.expires = Some(later.into());
        admin
            .rpc()
            .keep_alive_semaphore_lease(kept.clone())
            .await
            .unwrap();
        let held = leases(&admin, "alice").await;
        let extended = held.iter().find(|l| l.lease_id == first.lease_id).unwrap();
        let expires = to_system_time(extended.expires.unwrap()).unwrap();
        assert!(
            expires > SystemTime::now() + Duration::from_secs(500),
            "{expires:?}"
        );

        // CancelSemaphoreLease frees a slot; the cancelled lease is gone.
        admin
            .rpc()
            .cancel_semaphore_lease(second.clone())
            .await
            .unwrap();
        refused(
            admin.rpc().cancel_semaphore_lease(second.clone()).await,
            Code::NotFound,
            "not found",
        );
        refused(
            admin.rpc().keep_alive_semaphore_lease(second.clone()).await,
            Code::NotFound,
            &format!("lease `{}`", second.lease_id),
        );
        let third = acquire(&admin, "alice", 2, minute).await.unwrap();
        assert_eq!(leases(&admin, "alice").await.len(), 2);
        acquire(&admin, "bob", 5, minute).await.unwrap();
        assert_eq!(semaphores(&admin, "", "").await.len(), 2);
        assert_eq!(semaphores(&admin, "", "bob").await.len(), 1);
        assert!(semaphores(&admin, "session", "").await.is_empty());

        // Bad input: refused naming the field, and nothing stored changes.
        let before = semaphores(&admin, "", "").await;
        let mut bad = vec![
            (
                acquire_request("alice", 0, minute),
                "MaxLeases `0` must be at least 1",
            ),
            (acquire_request("a/b", 1, minute), "SemaphoreName `a/b`"),
            (acquire_request("", 1, minute), "SemaphoreName is required"),
        ];
        let mut past = acquire_request("alice", 5, minute);
        past.expires = Some((SystemTime::now() - Duration::from_secs(5)).into());
        bad.push((past, "is not in the future"));
        let mut no_expiry = acquire_request("alice", 5, minute);
        no_expiry.expires = None;
        bad.push((no_expiry, "Expires is required"));
        for (request, needle) in bad {
            refused(
                admin.rpc().acquire_semaphore(request).await,
                Code::InvalidArgument,
                needle,
            );
        }
        let mut no_id = third.clone();
        no_id.lease_id.clear();
        refused(
            admin.rpc().keep_alive_semaphore_lease(no_id.clone()).await,
            Code::InvalidArgument,
            "LeaseID is required",
        );
        refused(
            admin.rpc().cancel_semaphore_lease(no_id).await,
            Code::InvalidArgument,
            "LeaseID is required",
        );
        let mut backwards = third.clone();
        backwards.expires = Some((SystemTime::now() - Duration::from_secs(1)).into());
        refused(
            admin.rpc().keep_alive_semaphore_lease(backwards).await,
            Code::InvalidArgument,
            "is not in the future",
        );
        refused(
            admin.rpc().delete_semaphore(filter("connection", "")).await,
            Code::InvalidArgument,
            "SemaphoreName is required",
        );
        refused(
            admin.rpc().get_semaphores(filter("a b", "")).await,
            Code::InvalidArgument,
            "SemaphoreKind `a b`",
        );
        assert_eq!(semaphores(&admin, "", "").await, before);

        // DeleteSemaphore removes it with its leases.
        admin
            .rpc()
            .delete_semaphore(filter("connection", "alice"))
            .await
            .unwrap();
        assert!(semaphores(&admin, "connection", "alice").await.is_empty());
        refused(
            admin
                .rpc()
                .delete_semaphore(filter("connection", "alice"))
                .await,
            Code::NotFound,
            "semaphore `connection/alice` not found",
        );
        refused(
            admin.rpc().keep_alive_semaphore_lease(kept).await,
            Code::NotFound,
            "not found",
        );
    });

    // pctl semaphores ls / rm.
    let out = server.pctl_ok(&["semaphores", "ls"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("KIND"), "{out}");
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[1].contains("connection") && lines[1].contains("bob") && lines[1].contains("test"),
        "{out}"
    );
    let json = server.pctl_ok(&["semaphores", "ls", "--kind", "connection", "--json"]);
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 1, "{json}");
    let none = server.pctl_ok(&["semaphores", "ls", "--name", "alice"]);
    assert_eq!(none.trim(), "no semaphores");
    let out = server.pctl_ok(&["semaphores", "rm", "connection", "bob"]);
    assert_eq!(out.trim(), "semaphore connection/bob deleted");
    let why = err(server.pctl(&["semaphores", "rm", "connection", "bob"]));
    assert!(
        why.contains("semaphore `connection/bob` not found"),
        "{why}"
    );
    assert_eq!(
        server.pctl_ok(&["semaphores", "ls"]).trim(),
        "no semaphores"
    );
    let help = server.pctl_ok(&["semaphores", "--help"]);
    assert!(help.contains("ls") && help.contains("rm"), "{help}");
    server.stop();
}

/// 64 acquirers spread over `clients`, released at once on a semaphore of 10: exactly 10
/// leases (the ones listed), 54 RESOURCE_EXHAUSTED, nothing else.
async fn sixty_four_acquirers(clients: &[Client]) {
    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let client = clients[i % clients.len()].clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                acquire(&client, "crowd", 10, Duration::from_secs(120)).await
            })
        })
        .collect();
    let (mut granted, mut exhausted) = (Vec::new(), 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(lease) => granted.push(lease.lease_id),
            Err(e) if e.code() == Code::ResourceExhausted => {
                assert!(e.message().contains("too many concurrent"), "{e:?}");
                exhausted += 1;
            }
            Err(e) => panic!("neither a lease nor a refusal: {e:?}"),
        }
    }
    assert_eq!((granted.len(), exhausted), (10, 54));
    let mut listed: Vec<_> = leases(&clients[0], "crowd")
        .await
        .into_iter()
        .map(|l| l.lease_id)
        .collect();
    listed.sort();
    granted.sort();
    assert_eq!(listed, granted);
}

#[test]
fn sixty_four_concurrent_acquirers_get_exactly_ten_leases() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start(tmp.path());
    let rt = rt();
    rt.block_on(async {
        // 16 connections, 4 acquirers on each.
        let mut clients = Vec::new();
        for _ in 0..16 {
            clients.push(server.admin_client().await);
        }
        sixty_four_acquirers(&clients).await;
    });
    server.stop();
}

#[test]
fn two_servers_on_etcd_never_grant_more_than_the_maximum() {
    // Two servers on one etcd: only compare-and-swap in etcd keeps them from both taking
    // the last slots.
    let tmp = tempfile::tempdir().unwrap();
    let etcd = portcullis_tests::etcd::Etcd::start(&tmp.path().join("etcd"));
    let config = format!(
        "{}sweep_interval: 1h\n",
        etcd.storage_yaml("/semaphores-test")
    );
    let servers: Vec<Server> = ["a", "b"]
        .iter()
        .map(|name| {
            let dir = tmp.path().join(name);
            std::fs::create_dir_all(&dir).unwrap();
            Server::start_with_config(&dir, &config)
        })
        .collect();
    let rt = rt();
    rt.block_on(async {
        // 8 connections to each server, 4 acquirers on each connection.
        let mut clients = Vec::new();
        for i in 0..16 {
            clients.push(servers[i % 2].admin_client().await);
        }
        sixty_four_acquirers(&clients).await;
    });
    for server in servers {
        server.stop();
    }
}

#[test]
fn an_expired_lease_stops_counting() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start(tmp.path());
    let rt = rt();
    rt.block_on(async {
        let admin = server.admin_client().await;
        let short = acquire(&admin, "alice", 1, Duration::from_millis(1500))
            .await
            .unwrap();
        let expiry = to_system_time(short.expires.unwrap()).unwrap();
        refused(
            acquire(&admin, "alice", 1, Duration::from_secs(60)).await,
            Code::ResourceExhausted,
            "too many concurrent",
        );
        // Poll until the slot is free again: never before the short lease's expiry.
        let deadline = Instant::now() + Duration::from_secs(15);
        let taken = loop {
            match acquire(&admin, "alice", 1, Duration::from_secs(60)).await {
                Ok(lease) => break lease,
                Err(e) => {
                    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
                    assert!(Instant::now() < deadline, "the lease never expired");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        assert!(SystemTime::now() >= expiry);
        let held = leases(&admin, "alice").await;
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].lease_id, taken.lease_id);
        let mut late = short.clone();
        late.expires = Some((SystemTime::now() + Duration::from_secs(60)).into());
        refused(
            admin.rpc().keep_alive_semaphore_lease(late).await,
            Code::NotFound,
            "it expired, was cancelled or never existed",
        );
    });
    server.stop();
}

#[test]
fn nodes_may_use_semaphores_and_plain_users_may_not() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = start(dir);
    let users = write_file(dir, "alice.yaml", portcullis_tests::ALICE_YAML);
    server.pctl_ok(&["create", s(&users)]);
    let node = server.sign_host_tls(dir, "node-1", "Node");
    let alice = dir.join("alice");
    server.sign_user("alice", "tls", s(&alice));
    let rt = rt();
    rt.block_on(async {
        let node = Client::connect(&server.addr, &node).await.unwrap();
        let lease = acquire(&node, "alice", 2, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(leases(&node, "alice").await.len(), 1);
        node.rpc()
            .keep_alive_semaphore_lease(lease.clone())
            .await
            .unwrap();

        let alice = Client::connect(&server.addr, &TlsFiles::from_prefix(&alice))
            .await
            .unwrap();
        refused(
            acquire(&alice, "alice", 2, Duration::from_secs(60)).await,
            Code::PermissionDenied,
            "AcquireSemaphore",
        );
        refused(
            alice.rpc().get_semaphores(filter("", "")).await,
            Code::PermissionDenied,
            "GetSemaphores",
        );
        refused(
            alice.rpc().cancel_semaphore_lease(lease.clone()).await,
            Code::PermissionDenied,
            "CancelSemaphoreLease",
        );
        refused(
            alice
                .rpc()
                .delete_semaphore(filter("connection", "alice"))
                .await,
            Code::PermissionDenied,
            "DeleteSemaphore",
        );
        // Nothing the refused calls asked for happened.
        assert_eq!(leases(&node, "alice").await.len(), 1);
        node.rpc().cancel_semaphore_lease(lease).await.unwrap();
    });
    server.stop();
}

/// A role with every session limit, and a user `alice` holding it.
const LIMITED_YAML: &str = "\
kind: role
version: v3
metadata:
  name: limited
spec:
  options:
    max_connections: 2
    max_sessions: 3
    client_idle_timeout: 10m
    disconnect_expired_cert: true
  allow:
    logins: [alice]
---
kind: user
version: v2
metadata:
  name: alice
spec:
  roles: [limited]
";

#[test]
fn role_limits_reach_the_certificate_and_the_node_admits_two_connections() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = start(dir);
    let resources = write_file(dir, "limited.yaml", LIMITED_YAML);
    server.pctl_ok(&["create", s(&resources)]);
    let alice = dir.join("alice");
    server.sign_user("alice", "openssh", s(&alice));
    let cert_file = dir.join("alice-cert.pub");

    // The certificate carries the limits (read with ssh-key and with ssh-keygen).
    let text = std::fs::read_to_string(&cert_file).unwrap();
    let cert = ssh_key::Certificate::from_openssh(text.trim()).unwrap();
    assert_eq!(cert.key_id(), "alice");
    let extensions = cert.extensions();
    for (name, value) in [
        ("max-connections@portcullis", "2"),
        ("max-sessions@portcullis", "3"),
        ("client-idle-timeout@portcullis", "10m"),
        ("disconnect-expired-cert@portcullis", "true"),
    ] {
        assert_eq!(
            extensions.get(name).map(String::as_str),
            Some(value),
            "{name}"
        );
    }
    if let Ok(out) = Command::new("ssh-keygen")
        .args(["-L", "-f", s(&cert_file)])
        .output()
    {
        let listing = String::from_utf8_lossy(&out.stdout);
        assert!(listing.contains("max-connections@portcullis"), "{listing}");
    }

    // The example node admits two logins of alice and refuses the third.
    let token = server.pctl_ok(&["tokens", "add", "--type", "node"]);
    let host_ca = write_file(
        dir,
        "host-ca.pem",
        &server.pctl_ok(&["auth", "export", "--type", "tls-host"]),
    );
    let mut node = Command::new(portcullis_tests::bin("node"))
        .args(["--auth-server", &server.addr, "--token", token.trim()])
        .args([
            "--host-ca",
            s(&host_ca),
            "--name",
            "node-1",
            "--out",
            s(dir),
        ])
        .args(["--ttl-secs", "30"])
        .args(["--login", s(&cert_file)].repeat(3))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run examples/node (cargo build --workspace --bins)");
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let stdout = node.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut outcomes = Vec::new();
    while outcomes.len() < 3 {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("the node printed {outcomes:?}, then: {e}"));
        if line.starts_with("admitted ") || line.starts_with("refused ") {
            outcomes.push(line);
        }
    }
    assert!(
        outcomes[0].starts_with("admitted alice lease "),
        "{outcomes:?}"
    );
    assert!(
        outcomes[1].starts_with("admitted alice lease "),
        "{outcomes:?}"
    );
    assert!(
        outcomes[2].starts_with(
            "refused alice: too many concurrent leases on semaphore `connection/alice` (max 2)"
        ),
        "{outcomes:?}"
    );

    // The node holds the two leases (pctl shows them) until it stops, then gives them back.
    let listing = server.pctl_ok(&["semaphores", "ls", "--kind", "connection"]);
    let held: Vec<&str> = listing.lines().filter(|l| l.contains("node-1")).collect();
    assert_eq!(held.len(), 2, "{listing}");
    assert!(held.iter().all(|l| l.contains("alice")), "{listing}");
    ok(Command::new("kill")
        .args(["-TERM", &node.id().to_string()])
        .output()
        .unwrap());
    let status = node.wait().unwrap();
    let rest: Vec<String> = lines.iter().collect();
    assert!(status.success(), "{rest:?}");
    assert_eq!(
        rest.iter().filter(|l| *l == "released alice").count(),
        2,
        "{rest:?}"
    );
    assert_eq!(
        server.pctl_ok(&["semaphores", "ls"]).trim(),
        "no semaphores"
    );
    server.stop();
}
