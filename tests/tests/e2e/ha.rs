//! High availability: several auth servers on one etcd cluster (a real three-member etcd on
//! loopback with client TLS, `tests/src/etcd.rs`). Each test starts its own etcd cluster and
//! two servers, A and B, each with its own data directory and so its own admin identity
//! (every one signed by the shared user authority).
//!
//! Here: servers started at once on an empty etcd form one cluster; what is changed through
//! one server is in effect on the other (roles within a second, policy modules, watches in
//! revision order); ids stay unique across servers. `ha_rotation.rs`: authority rotations
//! moved through one server change the other's trust and certificates. `ha_faults.rs`: etcd
//! members or the whole etcd down, the server that runs the cluster duties killed during an
//! automatic rotation, a server killed during writes. `ha_diag.rs`: the diagnostics
//! listener (`/healthz`, `/readyz`, `/metrics`).

#[path = "ha_diag.rs"]
mod diag;
#[path = "ha_faults.rs"]
mod faults;
#[path = "ha_rotation.rs"]
mod rotation;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use portcullis_api::auth::event::Resource;
use portcullis_api::auth::{
    Event, GetAuditEventsRequest, GetCertAuthoritiesRequest, Operation, WatchKind,
};
use portcullis_api::documents::{parse_documents, Document};
use portcullis_api::services::{
    AccessRequestFilter, AccessRequestSpecV3, AccessRequestV3, CaKeySet, Metadata, RoleV3,
};
use portcullis_api::{Client, TlsFiles};
use portcullis_tests::etcd::EtcdCluster;
use portcullis_tests::policies::access_request_module;
use portcullis_tests::{access_workflow_fixture, ok, role, rt, s, stderr, write_file, Server};
use tempfile::TempDir;
use tonic::{Code, Streaming};

/// How long a change made through one server may take to show on the other, an expected
/// event to arrive, or a call to answer.
const WAIT: Duration = Duration::from_secs(15);

/// How often a condition is polled when no event can be awaited.
const POLL: Duration = Duration::from_millis(50);

/// What a server logs (info, standard error) when it takes over the duties that run once
/// per cluster (automatic rotations, the expiry sweep).
const DUTIES: &str = "now runs the cluster duties";

/// A three-member etcd cluster and two auth servers on it, A and B, each in its own
/// directory (`a/`, `b/`: `config.yaml`, `data/`). Fields drop in order: the servers are
/// killed before etcd, and the directory goes last.
struct Ha {
    a: Server,
    b: Server,
    etcd: EtcdCluster,
    tmp: TempDir,
}

impl Ha {
    /// Starts etcd, then A (which makes the cluster), then B (which finds it), both with
    /// [`config`] plus `extra` (YAML lines).
    fn start(extra: &str) -> Ha {
        let tmp = tempfile::tempdir().unwrap();
        let etcd = EtcdCluster::start(&tmp.path().join("etcd"), 3);
        let config = config(&etcd, extra);
        let a = start_server(tmp.path(), "a", &config);
        let b = start_server(tmp.path(), "b", &config);
        Ha { a, b, etcd, tmp }
    }

    /// Like [`Ha::start`], but A and B are started at the same moment from two threads, on
    /// the empty etcd.
    fn start_together(extra: &str) -> Ha {
        let tmp = tempfile::tempdir().unwrap();
        let etcd = EtcdCluster::start(&tmp.path().join("etcd"), 3);
        let config = config(&etcd, extra);
        let root = tmp.path();
        let barrier = Arc::new(Barrier::new(2));
        let (a, b) = std::thread::scope(|scope| {
            let start = |name: &'static str| {
                let (barrier, config) = (barrier.clone(), config.clone());
                scope.spawn(move || {
                    barrier.wait();
                    start_server(root, name, &config)
                })
            };
            let (a, b) = (start("a"), start("b"));
            (a.join(), b.join())
        });
        let (Ok(a), Ok(b)) = (a, b) else {
            panic!("a server did not start (see the panic above)")
        };
        Ha { a, b, etcd, tmp }
    }

    /// The test's directory (etcd's and the servers' directories are under it).
    fn dir(&self) -> &Path {
        self.tmp.path()
    }
}

/// The servers' configuration: the cluster's `storage:` block, a diagnostics listener on an
/// ephemeral loopback port, automatic rotations checked every 200 ms, and `extra`.
fn config(etcd: &EtcdCluster, extra: &str) -> String {
    format!(
        "{}diag_addr: 127.0.0.1:0\nrotation_check_interval: 200ms\n{extra}",
        etcd.storage_yaml()
    )
}

/// Starts a server in `root/name` with `config`.
fn start_server(root: &Path, name: &str, config: &str) -> Server {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    Server::start_with_config(&dir, config)
}

/// A client of `server` with the identity `files`.
async fn connect(server: &Server, files: &TlsFiles) -> Client {
    Client::connect(&server.addr, files)
        .await
        .unwrap_or_else(|e| panic!("connect to {} with {files:?}: {e}", server.addr))
}

/// `fut`, which must finish within `limit` (else panics naming `what`).
async fn within<T>(limit: Duration, what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {limit:?}"))
}

/// Calls `check` every [`POLL`] until it answers `Ok`, for at most `limit`; panics naming
/// `what` with the last `Err` otherwise.
fn eventually<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Result<T, String>) -> T {
    let started = Instant::now();
    loop {
        match check() {
            Ok(done) => return done,
            Err(last) => assert!(
                started.elapsed() < limit,
                "{what}: not within {limit:?}; last: {last}"
            ),
        }
        std::thread::sleep(POLL);
    }
}

/// How many times `server` logged that it took over the cluster duties.
fn duties(server: &Server) -> usize {
    server.log().matches(DUTIES).count()
}

/// Writes `bytes` to `dir/name`.
fn save(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A role kind to watch.
fn kind(name: &str) -> WatchKind {
    WatchKind {
        kind: name.into(),
        ..WatchKind::default()
    }
}

/// The next event of `stream`, within [`WAIT`].
async fn next(stream: &mut Streaming<Event>) -> Event {
    within(WAIT, "the next event", stream.message())
        .await
        .expect("the stream goes on")
        .expect("the stream is open")
}

/// `PUT role/NAME` or `DELETE role/NAME`, and the store revision a put carries.
fn describe(event: &Event) -> (String, Option<i64>) {
    let op = match event.r#type() {
        Operation::Init => "INIT",
        Operation::Put => "PUT",
        Operation::Delete => "DELETE",
    };
    match event.resource.as_ref() {
        Some(Resource::Role(r)) => {
            let metadata = r.metadata.clone().unwrap();
            (format!("{op} role/{}", metadata.name), Some(metadata.id))
        }
        Some(Resource::ResourceHeader(h)) => {
            let name = h.metadata.clone().unwrap().name;
            (format!("{op} {}/{name}", h.kind), None)
        }
        other => panic!("unexpected resource {other:?}"),
    }
}

/// The phase of the `ca` authority's rotation as `server` reports it to its admin.
async fn phase(server: &Server, ca: &str) -> String {
    server.ca_phase(ca).await
}

/// The user `alice` (role `ops`) and TLS identities for her signed through a server.
fn add_alice(server: &Server, dir: &Path) {
    let users = write_file(dir, "alice.yaml", portcullis_tests::ALICE_YAML);
    server.pctl_ok(&["create", "-f", s(&users)]);
}

/// Signs a TLS identity for alice through `server` at `dir/name.{crt,key,cas}` (replacing
/// one there).
fn sign(server: &Server, dir: &Path, name: &str) -> PathBuf {
    let prefix = dir.join(name);
    server.pctl_ok(&[
        "auth",
        "sign",
        "--user",
        "alice",
        "--format",
        "tls",
        "--out",
        s(&prefix),
        "--overwrite",
    ]);
    prefix
}

/// Runs `pctl status` against `server` with the identity at `prefix`; `Err` carries pctl's
/// error.
fn call_as(server: &Server, prefix: &Path) -> Result<(), String> {
    let out = server.pctl_with(&TlsFiles::from_prefix(prefix), &["status"]);
    if out.status.success() {
        Ok(())
    } else {
        Err(stderr(&out))
    }
}

/// Key identifier of the CA key that signed the identity's certificate.
fn signer(prefix: &Path) -> Vec<u8> {
    let pem = std::fs::read(prefix.with_extension("crt")).unwrap();
    let (_, doc) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    portcullis_ca::authority_key_id(&doc.contents)
        .unwrap()
        .unwrap()
}

/// The public parts of the `ca` authorities as a client reads them: name, active and
/// additionally trusted keys.
async fn authorities(
    client: &Client,
    ca: &str,
) -> Vec<(String, Option<CaKeySet>, Option<CaKeySet>)> {
    let list = client
        .rpc()
        .get_cert_authorities(GetCertAuthoritiesRequest {
            r#type: ca.into(),
            with_secrets: false,
        })
        .await
        .unwrap()
        .into_inner()
        .cert_authorities;
    list.into_iter()
        .map(|ca| {
            let spec = ca.spec.unwrap();
            let name = ca.metadata.unwrap().name;
            (name, spec.active_keys, spec.additional_trusted_keys)
        })
        .collect()
}

#[test]
fn servers_started_at_once_on_an_empty_store_form_one_cluster() {
    let ha = Ha::start_together("");
    let rt = rt();
    rt.block_on(async {
        let (a, b) = (ha.a.admin_client().await, ha.b.admin_client().await);
        let (on_a, on_b) = (a.ping().await.unwrap(), b.ping().await.unwrap());
        assert_eq!(on_a.cluster_name, on_b.cluster_name, "one cluster name");
        for ca in ["user", "host", "jwt"] {
            let (through_a, through_b) = (authorities(&a, ca).await, authorities(&b, ca).await);
            assert_eq!(through_a.len(), 1, "one {ca} authority: {through_a:?}");
            assert_eq!(through_a[0].0, on_a.cluster_name);
            assert!(
                through_a[0].1.is_some(),
                "the {ca} authority has keys: {through_a:?}"
            );
            assert_eq!(
                through_a, through_b,
                "A and B serve the same {ca} authority"
            );
        }
        // Each server's admin identity works against the other: calls, writes, reads.
        let crossed = [
            ("A's admin on B", &ha.b, ha.a.admin_files()),
            ("B's admin on A", &ha.a, ha.b.admin_files()),
        ];
        for (who, server, files) in crossed {
            let client = connect(server, &files).await;
            let pong = client.ping().await.unwrap_or_else(|e| panic!("{who}: {e}"));
            assert_eq!(pong.cluster_name, on_a.cluster_name);
            let name = format!("made-by-{}", who.replace(['\'', ' '], "-"));
            client
                .upsert_role(role(&name))
                .await
                .unwrap_or_else(|e| panic!("{who}: {e}"));
            client
                .get_role(&name)
                .await
                .unwrap_or_else(|e| panic!("{who}: {e}"));
        }
    });
    // pctl too, with the other's identity directory's files.
    ok(ha.b.pctl_with(&ha.a.admin_files(), &["status"]));
    ok(ha.a.pctl_with(&ha.b.admin_files(), &["status"]));
    // An identity signed through one server works on the other.
    add_alice(&ha.a, ha.dir());
    let alice = sign(&ha.b, ha.dir(), "alice-by-b");
    call_as(&ha.a, &alice).unwrap();
    ha.a.stop();
    ha.b.stop();
}

/// A role allowing to read and list roles, and the user `rita` holding it.
const READER_YAML: &str = "\
kind: role
version: v3
metadata:
  name: reader
spec:
  allow:
    rules:
    - resources: [role]
      verbs: [list, read]
---
kind: user
version: v2
metadata:
  name: rita
spec:
  roles: [reader]
";

/// The role `reader` of [`READER_YAML`].
fn reader_role() -> RoleV3 {
    let documents = parse_documents(READER_YAML).unwrap();
    match documents.into_iter().next() {
        Some(Document::Role(role)) => *role,
        other => panic!("the first document is the role: {other:?}"),
    }
}

/// Polls GetRole(`reader`) every [`POLL`] as `client` until it is allowed (`allowed`) or
/// refused with PERMISSION_DENIED (`!allowed`); returns how long that took.
async fn time_until(client: &Client, allowed: bool) -> Duration {
    let started = Instant::now();
    loop {
        let answer = within(WAIT, "GetRole", client.get_role("reader")).await;
        let done = match &answer {
            Ok(_) => allowed,
            Err(e) => !allowed && e.code() == Some(Code::PermissionDenied),
        };
        if done {
            return started.elapsed();
        }
        assert!(started.elapsed() < WAIT, "still {answer:?} after {WAIT:?}");
        tokio::time::sleep(POLL).await;
    }
}

#[test]
fn a_role_changed_through_one_server_is_enforced_by_the_other_within_a_second() {
    let ha = Ha::start("");
    let dir = ha.dir();
    let file = write_file(dir, "reader.yaml", READER_YAML);
    ha.a.pctl_ok(&["create", s(&file)]);
    let rita = dir.join("rita");
    ha.a.sign_user("rita", "tls", s(&rita));
    let rt = rt();
    rt.block_on(async {
        let files = TlsFiles::from_prefix(&rita);
        let (rita_on_a, rita_on_b) = (connect(&ha.a, &files).await, connect(&ha.b, &files).await);
        let (admin_a, admin_b) = (ha.a.admin_client().await, ha.b.admin_client().await);
        // B knows the role A stored.
        time_until(&rita_on_b, true).await;

        // Through A the rule goes: B refuses within a second.
        admin_a.upsert_role(role("reader")).await.unwrap();
        let took = time_until(&rita_on_b, false).await;
        assert!(
            took < Duration::from_secs(1),
            "B enforced A's change after {took:?}"
        );
        // Through B it comes back: A allows within a second.
        admin_b.upsert_role(reader_role()).await.unwrap();
        let took = time_until(&rita_on_a, true).await;
        assert!(
            took < Duration::from_secs(1),
            "A enforced B's change after {took:?}"
        );
        // A deletion through B: A refuses within a second.
        admin_b.delete_role("reader").await.unwrap();
        let took = time_until(&rita_on_a, false).await;
        assert!(
            took < Duration::from_secs(1),
            "A enforced B's deletion after {took:?}"
        );
    });
}

/// The input of an access-request policy evaluation.
const POLICY_INPUT: &str = r#"{"request":{"id":"r1","user":"alice","roles":["dba"],"state":"PENDING","annotations":{}},"requester":{},"reviews":[],"now":"2026-11-24T10:00:00Z"}"#;

/// `pctl policy eval NAME --hook access_request` through `server`: its output, or its
/// error.
fn eval(server: &Server, dir: &Path, name: &str) -> Result<String, String> {
    server.eval_access_request(dir, name, POLICY_INPUT)
}

/// Waits until `server` evaluates `name` to an output containing `expected`.
fn evaluates(server: &Server, dir: &Path, name: &str, expected: &str, what: &str) {
    eventually(what, WAIT, || match eval(server, dir, name) {
        Ok(out) if out.contains(expected) => Ok(()),
        other => Err(format!("{other:?}")),
    });
}

#[test]
fn a_policy_module_uploaded_through_one_server_runs_on_the_other() {
    let ha = Ha::start("");
    let dir = ha.dir();
    let verdict = |name: &str, verdict: &str| {
        let answer = format!(r#"{{"verdict":"{verdict}","reason":"{name}"}}"#);
        access_request_module(name, "", &answer)
    };
    let v1 = save(dir, "v1.wasm", &verdict("first", "approve"));
    let v2 = save(dir, "v2.wasm", &verdict("second", "deny"));

    ha.a.pctl_ok(&["policy", "upload", s(&v1), "--name", "gate"]);
    evaluates(
        &ha.b,
        dir,
        "gate",
        r#""verdict":"approve""#,
        "B runs the module uploaded through A",
    );
    // A replacement through A reaches B, without a restart.
    ha.a.pctl_ok(&["policy", "upload", s(&v2), "--name", "gate"]);
    evaluates(
        &ha.b,
        dir,
        "gate",
        r#""verdict":"deny""#,
        "B runs the replacement uploaded through A",
    );
    let listing = ha.b.pctl_ok(&["policy", "ls"]);
    assert!(
        listing.contains("second") && listing.contains("previous"),
        "{listing}"
    );
    // A rollback through B reaches A.
    ha.b.pctl_ok(&["policy", "rollback", "gate"]);
    evaluates(
        &ha.a,
        dir,
        "gate",
        r#""verdict":"approve""#,
        "A runs the version B rolled back to",
    );
    let back = dir.join("back.wasm");
    ha.b.pctl_ok(&["policy", "get", "gate", "--out", s(&back)]);
    assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&v1).unwrap());
    // A removal through A reaches B.
    ha.a.pctl_ok(&["policy", "rm", "gate"]);
    eventually(
        "B forgets the module removed through A",
        WAIT,
        || match eval(&ha.b, dir, "gate") {
            Err(why) if why.contains("not found") => Ok(()),
            other => Err(format!("{other:?}")),
        },
    );
}

/// The next `n` events of `stream`, described (see [`describe`]).
async fn next_n(stream: &mut Streaming<Event>, n: usize) -> Vec<(String, Option<i64>)> {
    let mut seen = Vec::with_capacity(n);
    for _ in 0..n {
        seen.push(describe(&next(stream).await));
    }
    seen
}

/// Asserts that the revisions the puts among `events` carry only grow.
fn in_revision_order(events: &[(String, Option<i64>)]) {
    let revisions: Vec<i64> = events.iter().filter_map(|(_, r)| *r).collect();
    assert!(
        revisions.iter().all(|r| *r > 0) && revisions.windows(2).all(|w| w[0] < w[1]),
        "revisions in order: {events:?}"
    );
}

#[test]
fn a_watch_on_one_server_sees_writes_through_the_other_in_revision_order() {
    let ha = Ha::start("");
    let rt = rt();
    rt.block_on(async {
        let (a, b) = (ha.a.admin_client().await, ha.b.admin_client().await);
        let mut on_b = b.watch_events(vec![kind("role")]).await.unwrap();
        a.upsert_role(role("web")).await.unwrap();
        a.upsert_role(role("dbs")).await.unwrap();
        a.upsert_role(role("web")).await.unwrap();
        a.delete_role("dbs").await.unwrap();
        a.delete_role("web").await.unwrap();
        let seen = next_n(&mut on_b, 5).await;
        let names: Vec<&str> = seen.iter().map(|(d, _)| d.as_str()).collect();
        assert_eq!(
            names,
            [
                "PUT role/web",
                "PUT role/dbs",
                "PUT role/web",
                "DELETE role/dbs",
                "DELETE role/web"
            ]
        );
        in_revision_order(&seen);

        // Writers through both servers at once: a watch on each sees every write, both in
        // the same order, which keeps each writer's order.
        let mut on_a = a.watch_events(vec![kind("role")]).await.unwrap();
        const EACH: usize = 20;
        let writers: Vec<_> = [("a", a.clone()), ("b", b.clone())]
            .into_iter()
            .map(|(tag, client)| {
                tokio::spawn(async move {
                    for i in 0..EACH {
                        client
                            .upsert_role(role(&format!("{tag}-{i}")))
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            within(WAIT * 2, "the writers", writer).await.unwrap();
        }
        let (from_a, from_b) = (
            next_n(&mut on_a, 2 * EACH).await,
            next_n(&mut on_b, 2 * EACH).await,
        );
        assert_eq!(
            from_a, from_b,
            "both servers deliver the same events in the same order"
        );
        in_revision_order(&from_b);
        for tag in ["a", "b"] {
            let theirs: Vec<String> = from_b
                .iter()
                .filter(|(d, _)| d.starts_with(&format!("PUT role/{tag}-")))
                .map(|(d, _)| d.clone())
                .collect();
            let expected: Vec<String> = (0..EACH).map(|i| format!("PUT role/{tag}-{i}")).collect();
            assert_eq!(theirs, expected, "the writes through {tag} in their order");
        }
    });
}

#[test]
fn access_request_and_audit_ids_are_unique_across_servers() {
    const WRITERS: usize = 4;
    const EACH: usize = 25;
    let ha = Ha::start("");
    let dir = ha.dir();
    ha.a.pctl_ok(&["create", s(&access_workflow_fixture())]);
    ha.a.pctl_ok(&["users", "add", "carl", "--roles", "contractor"]);
    let carl = dir.join("carl");
    ha.a.sign_user("carl", "tls", s(&carl));
    let rt = rt();
    rt.block_on(async {
        let files = TlsFiles::from_prefix(&carl);
        let clients = [connect(&ha.a, &files).await, connect(&ha.b, &files).await];
        // Writers through both servers at once, the servers choosing the ids; each request
        // is told apart by its reason.
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let client = clients[w % 2].clone();
                tokio::spawn(async move {
                    let mut acked = Vec::new();
                    for i in 0..EACH {
                        let reason = format!("w{w}-{i}");
                        let request = AccessRequestV3 {
                            kind: "access_request".into(),
                            version: "v3".into(),
                            metadata: Some(Metadata::default()),
                            spec: Some(AccessRequestSpecV3 {
                                roles: vec!["dba".into()],
                                request_reason: reason.clone(),
                                ..AccessRequestSpecV3::default()
                            }),
                            ..AccessRequestV3::default()
                        };
                        client
                            .rpc()
                            .create_access_request(request)
                            .await
                            .unwrap_or_else(|e| panic!("request {reason}: {e:?}"));
                        acked.push(reason);
                    }
                    acked
                })
            })
            .collect();
        let mut acked = Vec::new();
        for writer in writers {
            acked.extend(within(WAIT * 4, "the writers", writer).await.unwrap());
        }
        assert_eq!(acked.len(), WRITERS * EACH);

        // One request per acknowledged creation, every id different.
        let admin_b = ha.b.admin_client().await;
        let requests = admin_b
            .rpc()
            .get_access_requests(AccessRequestFilter::default())
            .await
            .unwrap()
            .into_inner()
            .access_requests;
        let mut ids_by_reason: HashMap<String, Vec<String>> = HashMap::new();
        for request in &requests {
            let reason = request.spec.as_ref().unwrap().request_reason.clone();
            let id = request.metadata.as_ref().unwrap().name.clone();
            ids_by_reason.entry(reason).or_default().push(id);
        }
        let ids: HashSet<&String> = ids_by_reason.values().flatten().collect();
        assert_eq!(ids.len(), requests.len(), "request ids are unique");
        assert_eq!(requests.len(), acked.len(), "one request per creation");
        for reason in &acked {
            let found = ids_by_reason.get(reason).map_or(0, Vec::len);
            assert_eq!(found, 1, "request `{reason}` stored once");
        }

        // One audit event per creation, read through A, every event id different, each
        // naming its request.
        let admin_a = ha.a.admin_client().await;
        let mut events = Vec::new();
        let mut start_after = String::new();
        loop {
            let page = admin_a
                .rpc()
                .get_audit_events(GetAuditEventsRequest {
                    start_after: start_after.clone(),
                    limit: 1000,
                    event: "access_request.create".into(),
                    ..GetAuditEventsRequest::default()
                })
                .await
                .unwrap()
                .into_inner();
            events.extend(page.events);
            if page.next_start_after.is_empty() {
                break;
            }
            assert_ne!(page.next_start_after, start_after, "paging moves on");
            start_after = page.next_start_after;
        }
        let event_ids: HashSet<&String> = events.iter().map(|e| &e.id).collect();
        assert_eq!(event_ids.len(), events.len(), "audit event ids are unique");
        assert_eq!(events.len(), acked.len(), "one audit event per creation");
        let mut events_by_reason: HashMap<String, Vec<String>> = HashMap::new();
        for event in &events {
            let fields: serde_json::Value = serde_json::from_str(&event.fields_json).unwrap();
            let reason = fields["reason"].as_str().unwrap_or_default().to_owned();
            let id = fields["id"].as_str().unwrap_or_default().to_owned();
            events_by_reason.entry(reason).or_default().push(id);
        }
        for reason in &acked {
            assert_eq!(
                events_by_reason.get(reason),
                ids_by_reason.get(reason),
                "the audit event of `{reason}` names its request"
            );
        }
    });
}
