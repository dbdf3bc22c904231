//! End-to-end: audit ingestion and the tamper-evident audit log against the real binary —
//! a node and users emit events (EmitAuditEvent, `pctl audit emit`), recorded with the
//! server's receive time and the caller as their emitter whatever the message says, and
//! read back with GetAuditEvents and `pctl audit ls`; `pctl audit verify` passes on an
//! intact log, and after the store is edited behind the stopped server's back it names the
//! altered event, then the one that follows a removed event.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use portcullis_api::auth::{AuditEvent, GetAuditEventsRequest};
use portcullis_api::events::OneOf;
use portcullis_api::Client;
use portcullis_store::{Backend, RocksBackend};
use portcullis_tests::{err, identity_from_pem, ok, rt, s, write_file, Server, ALICE_YAML};
use serde_json::{json, Value};

/// A role that may emit events, and `carol`, who holds it.
const EMITTER_YAML: &str = "\
kind: role
version: v3
metadata:
  name: emitter
spec:
  allow:
    rules:
    - resources: [event]
      verbs: [create]
---
kind: user
version: v2
metadata:
  name: carol
spec:
  roles: [emitter]
";

/// Signs a TLS identity for host `name` with system role `role`; returns a client connected
/// with it and the user name its certificate carries.
async fn host_client(server: &Server, dir: &Path, name: &str, role: &str) -> (Client, String) {
    let files = server.sign_host_tls(dir, name, role);
    let identity = identity_from_pem(&std::fs::read(&files.cert).unwrap());
    let client = Client::connect(&server.addr, &files).await.unwrap();
    (client, identity.username)
}

/// The events of type `event` (any time in the last day), oldest first, as the admin.
async fn events_of(server: &Server, event: &str) -> Vec<AuditEvent> {
    let admin = server.admin_client().await;
    let request = GetAuditEventsRequest {
        event: event.into(),
        limit: 1000,
        ..GetAuditEventsRequest::default()
    };
    let page = admin.rpc().get_audit_events(request).await.unwrap();
    page.into_inner().events
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// The receive time in an event's id (`NANOS-CHAIN-SEQ`).
fn id_nanos(event: &AuditEvent) -> u128 {
    event.id.split('-').next().unwrap().parse().unwrap()
}

#[test]
fn hosts_and_users_emit_events_recorded_with_their_identity() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start(&dir.join("data"), &[]);
    server.pctl_ok(&["create", s(&write_file(dir, "alice.yaml", ALICE_YAML))]);
    server.pctl_ok(&["create", s(&write_file(dir, "emitter.yaml", EMITTER_YAML))]);
    let rt = rt();

    // A node reports on alice's session; its claimed time is kept as a claim.
    let (node, node_name) = rt.block_on(host_client(&server, dir, "node-1", "Node"));
    let claimed = UNIX_EPOCH + std::time::Duration::from_secs(1_577_934_245); // 2020-01-02T03:04:05Z
    let before = now_nanos();
    rt.block_on(node.rpc().emit_audit_event(OneOf {
        r#type: "session.start".into(),
        code: "T2000I".into(),
        time: Some(claimed.into()),
        cluster_name: String::new(),
        user: "alice".into(),
        fields: r#"{"sid": "s-1", "login": "root", "emitter": "auth"}"#.into(),
        index: 0,
    }))
    .unwrap();
    let after = now_nanos();
    let events = rt.block_on(events_of(&server, "session.start"));
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event.user, "alice");
    assert_eq!(
        event.emitter, node_name,
        "the emitter is the caller's identity"
    );
    assert_eq!(event.code, "T2000I");
    assert!(
        (before..=after).contains(&id_nanos(event)),
        "recorded at the server's receive time: {event:?}"
    );
    assert!(!event.time.starts_with("2020"), "{event:?}");
    let fields: Value = serde_json::from_str(&event.fields_json).unwrap();
    assert_eq!(fields["occurred"], "2020-01-02T03:04:05.000000000Z");
    assert_eq!(fields["sid"], "s-1");
    assert_eq!(fields["emitter"], "auth", "a field, not the emitter");
    assert!(!event.chain.is_empty());
    assert_eq!(event.digest.len(), 64, "{event:?}");

    let listed = server.pctl_ok(&["audit", "ls", "--event", "session.start"]);
    let line = listed
        .lines()
        .find(|l| l.contains("session.start"))
        .unwrap();
    assert!(
        line.contains("alice") && line.contains(&node_name) && line.contains("\"sid\":\"s-1\""),
        "{listed}"
    );

    // A user allowed `create` on `event` emits for itself, and for nobody else.
    let emit = |user: &str, extra: &[&str]| {
        let mut args = vec!["audit", "emit", "--type", "app.deploy"];
        args.extend_from_slice(extra);
        server.pctl_as(dir, user, &args)
    };
    let out = ok(emit("carol", &["--fields", r#"{"app": "web"}"#]));
    assert_eq!(out.trim(), "emitted app.deploy");
    ok(emit("carol", &["--user", "carol", "--code", "D1"]));
    let why = err(emit("carol", &["--user", "alice"]));
    assert!(
        why.contains("`carol` cannot emit an event on behalf of another user (`alice`)"),
        "{why}"
    );
    // Bad input is refused with the reason.
    let why = err(emit("carol", &["--fields", "[1, 2]"]));
    assert!(why.contains("fields must be a JSON object"), "{why}");
    let big = format!(r#"{{"blob": "{}"}}"#, "x".repeat(70 * 1024));
    let why = err(emit("carol", &["--fields", &big]));
    assert!(why.contains("more than the limit of 65536 bytes"), "{why}");
    // A user without such a rule may not emit at all.
    let why = err(emit("alice", &[]));
    assert!(why.contains("`alice` may not call EmitAuditEvent"), "{why}");

    let deploys = rt.block_on(events_of(&server, "app.deploy"));
    let who: Vec<(&str, &str, &str)> = deploys
        .iter()
        .map(|e| (e.user.as_str(), e.emitter.as_str(), e.code.as_str()))
        .collect();
    assert_eq!(who, [("carol", "carol", ""), ("carol", "carol", "D1")]);
    assert_eq!(
        serde_json::from_str::<Value>(&deploys[0].fields_json).unwrap()["app"],
        "web"
    );
    let listed = server.pctl_ok(&["audit", "ls", "--user", "carol"]);
    assert_eq!(
        listed.lines().filter(|l| l.contains("app.deploy")).count(),
        2,
        "{listed}"
    );

    let verified = server.pctl_ok(&["audit", "verify"]);
    assert!(
        verified.starts_with("audit log intact: ") && verified.trim_end().ends_with(" in 1 chains"),
        "{verified}"
    );
    server.stop();
}

/// Opens the stopped server's store, runs `edit` on it, and closes it again.
fn edit_store<F>(data: &Path, edit: F)
where
    F: AsyncFnOnce(&RocksBackend),
{
    let store = RocksBackend::open(&data.join("store")).unwrap();
    rt().block_on(edit(&store));
}

fn key(id: &str) -> Vec<u8> {
    format!("/audit/{id}").into_bytes()
}

/// `pctl audit verify` as the admin, expected to fail: its output lines (one per problem).
fn broken(server: &Server, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["audit", "verify"];
    args.extend_from_slice(extra);
    let out = server.pctl(&args);
    assert!(!out.status.success(), "verify passed a tampered log");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the audit log is not intact"), "{stderr}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn verify_names_an_event_altered_or_removed_behind_the_servers_back() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = dir.join("data");
    let server = Server::start(&data, &[]);
    let rt = rt();
    let (node, _) = rt.block_on(host_client(&server, dir, "node-1", "Node"));
    for n in 0..5 {
        let event = OneOf {
            r#type: "test.tamper".into(),
            user: "alice".into(),
            fields: json!({ "n": n }).to_string(),
            ..OneOf::default()
        };
        rt.block_on(node.rpc().emit_audit_event(event)).unwrap();
    }
    let events = rt.block_on(events_of(&server, "test.tamper"));
    let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids.len(), 5);
    assert!(server
        .pctl_ok(&["audit", "verify"])
        .starts_with("audit log intact: "));
    server.stop();

    // Alter event 2's content, leaving its digest as it was.
    let mut original = None;
    edit_store(&data, async |store| {
        let item = store.get(&key(&ids[2])).await.unwrap().unwrap();
        original = Some((item.value.clone(), item.expires));
        let mut envelope: Value = serde_json::from_slice(&item.value).unwrap();
        let mut body: Value = serde_json::from_str(envelope["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["fields"]["n"], 2);
        body["fields"]["n"] = json!(99);
        envelope["body"] = json!(body.to_string());
        let value = serde_json::to_vec(&envelope).unwrap();
        store.put(&key(&ids[2]), value, item.expires).await.unwrap();
    });
    let server = Server::start(&data, &[]);
    let listed = server.pctl_ok(&["audit", "ls", "--event", "test.tamper"]);
    assert!(
        listed.contains(r#"{"n":99}"#),
        "searches show what is stored: {listed}"
    );
    let problems = broken(&server, &[]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with(&format!("{}  chain {}: altered", ids[2], events[2].chain)),
        "{problems:?}"
    );
    server.stop();

    // Put it back, and remove event 3 instead: event 4 follows a gap.
    edit_store(&data, async |store| {
        let (value, expires) = original.unwrap();
        store.put(&key(&ids[2]), value, expires).await.unwrap();
        store.delete(&key(&ids[3])).await.unwrap();
    });
    let server = Server::start(&data, &[]);
    let problems = broken(&server, &[]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with(&format!("{}  chain {}: removed", ids[4], events[4].chain)),
        "{problems:?}"
    );
    // From event 4 on, what is left is intact (its chain's head record names it).
    let since = server.pctl_ok(&["audit", "ls", "--event", "test.tamper", "--json"]);
    let listed: Vec<Value> = serde_json::from_str(&since).unwrap();
    let time_of_4 = listed
        .iter()
        .find(|e| e["id"] == ids[4].as_str())
        .map(|e| e["time"].as_str().unwrap().to_owned())
        .unwrap();
    let verified = server.pctl_ok(&["audit", "verify", "--since", &time_of_4]);
    assert!(verified.starts_with("audit log intact: "), "{verified}");
    server.stop();
}
