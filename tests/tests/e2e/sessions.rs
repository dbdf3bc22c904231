//! End-to-end: session recordings against the real binary — a node streams a session
//! (CreateAuditStream) through the real client's `SessionRecorder`; the recording is listed,
//! exported and played back with `pctl sessions`; rules on `session` with `where` clauses
//! decide who sees what (the seeds' `auditor` role, "own sessions"); a connection cut
//! mid-session and a server killed mid-session lose and repeat nothing; size limits and bad
//! streams are refused.

use std::time::SystemTime;

use base64::Engine;
use portcullis_api::auth::{GetSessionEventsRequest, GetSessionsRequest};
use portcullis_api::events::OneOf;
use portcullis_api::{Client, SessionRecorder, TlsFiles};
use portcullis_tests::relay::Relay;
use portcullis_tests::{err, ok, rt, s, write_file, Server};
use serde_json::{json, Value};
use tonic::Code;

fn event(event_type: &str, user: &str, fields: Value) -> OneOf {
    OneOf {
        r#type: event_type.into(),
        time: Some(SystemTime::now().into()),
        user: user.into(),
        fields: fields.to_string(),
        ..OneOf::default()
    }
}

fn start(user: &str, login: &str) -> OneOf {
    event(
        "session.start",
        user,
        json!({"login": login, "server_id": "node-1", "server_hostname": "db1"}),
    )
}

fn print(user: &str, text: &str, ms: u64) -> OneOf {
    let data = base64::engine::general_purpose::STANDARD.encode(text);
    event("print", user, json!({"data": data, "ms": ms}))
}

/// Records a whole session `id` of `users` (the first one starts it) printing `lines`.
async fn record(node: &Client, id: &str, users: &[&str], lines: &[&str]) {
    let mut recorder = SessionRecorder::create(node, id).await.unwrap();
    recorder.record(start(users[0], "root")).await.unwrap();
    for user in &users[1..] {
        recorder
            .record(event("session.join", user, json!({})))
            .await
            .unwrap();
    }
    for (i, line) in lines.iter().enumerate() {
        recorder
            .record(print(users[0], line, 10 * i as u64))
            .await
            .unwrap();
    }
    recorder
        .record(event("resize", users[0], json!({"size": "80:24"})))
        .await
        .unwrap();
    recorder
        .record(event(
            "session.end",
            users[0],
            json!({"participants": users}),
        ))
        .await
        .unwrap();
    recorder.complete().await.unwrap();
}

/// The sessions being recorded now (one page).
async fn active_sessions(client: &Client) -> Vec<portcullis_api::services::SessionV1> {
    client
        .rpc()
        .get_active_sessions(GetSessionsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .sessions
}

/// The indexes of every event of session `id`, page by page.
async fn indexes(client: &Client, id: &str) -> Vec<i64> {
    let mut all = Vec::new();
    let mut start_after = String::new();
    loop {
        let page = client
            .rpc()
            .get_session_events(GetSessionEventsRequest {
                session_id: id.into(),
                start_after,
                limit: 7,
            })
            .await
            .unwrap()
            .into_inner();
        all.extend(page.events.iter().map(|e| e.index));
        if page.next_start_after.is_empty() {
            return all;
        }
        start_after = page.next_start_after;
    }
}

const AUDITOR_VERBATIM: &str = "kind: role
version: v3
metadata:
  name: auditor
spec:
  options:
    max_session_ttl: 8h
  allow:
    rules:
    - resources: [session]
      verbs: [list, read]
  deny: {}
    node_labels: '*': '*'
";

const AUDITOR: &str = "kind: role
version: v3
metadata:
  name: auditor
spec:
  options:
    max_session_ttl: 8h
  allow:
    logins: [auditor]
    rules:
    - resources: [session]
      verbs: [list, read]
  deny: {node_labels: {'*': '*'}}
";

const OWN_SESSIONS: &str = "kind: role
version: v3
metadata:
  name: own-sessions
spec:
  allow:
    logins: [bob]
    rules:
    - resources: [session, ssh_session]
      verbs: [list, read]
      where: contains(session.participants, user.metadata.name) || contains(ssh_session.participants, user.metadata.name)
";

const USERS: &str = "kind: user
version: v2
metadata:
  name: audra
spec:
  roles: [auditor]
---
kind: user
version: v2
metadata:
  name: bob
spec:
  roles: [own-sessions]
---
kind: user
version: v2
metadata:
  name: carol
spec:
  roles: []
";

fn session_ids(out: &str) -> Vec<String> {
    out.lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn recordings_are_listed_played_and_exported_as_the_rules_on_session_allow() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let server = Server::start(&dir.join("data"), &[]);
    let rt = rt();
    let node = rt.block_on(server.host_client(dir, "node-1", "Node"));
    rt.block_on(record(
        &node,
        "s-alice",
        &["alice"],
        &["hello\r\n", "world\r\n"],
    ));
    rt.block_on(record(
        &node,
        "s-shared",
        &["alice", "bob"],
        &["shared\r\n"],
    ));

    // The admin sees both; the recording holds every event, in order, page by page.
    let listed = server.pctl_ok(&["sessions", "ls"]);
    assert_eq!(session_ids(&listed), ["s-alice", "s-shared"], "{listed}");
    assert!(
        listed.contains("root") && listed.contains("db1"),
        "{listed}"
    );
    let admin = rt.block_on(server.admin_client());
    assert_eq!(
        rt.block_on(indexes(&admin, "s-alice")),
        (0..5).collect::<Vec<_>>()
    );
    let session = rt
        .block_on(
            admin
                .rpc()
                .get_session(portcullis_api::auth::GetSessionRequest {
                    session_id: "s-shared".into(),
                }),
        )
        .unwrap()
        .into_inner();
    let spec = session.spec.unwrap();
    assert_eq!(spec.participants, ["alice", "bob"]);
    assert_eq!(spec.emitter, "node-1.portcullis");
    assert_eq!(spec.digest.len(), 64);

    // Export: one JSON line per event; play: the terminal output with its timing.
    let export = server.pctl_ok(&["sessions", "export", "s-alice"]);
    let lines: Vec<Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["session.start", "print", "print", "resize", "session.end"]
    );
    assert_eq!(lines[0]["fields"]["login"], "root");
    assert_eq!(
        server.pctl_ok(&["sessions", "play", "s-alice", "--raw"]),
        "hello\r\nworld\r\n"
    );
    let played = server.pctl_ok(&["sessions", "play", "s-alice", "--speed", "10"]);
    assert!(
        played.starts_with("hello\r\nworld\r\n") && played.contains("end of session"),
        "{played}"
    );
    let bad_speed = err(server.pctl(&["sessions", "play", "s-alice", "--speed", "0"]));
    assert!(bad_speed.contains("--speed"), "{bad_speed}");
    let missing = err(server.pctl(&["sessions", "export", "s-nope"]));
    assert!(
        missing.contains("no recording of session `s-nope`"),
        "{missing}"
    );

    // The seeds' auditor role, verbatim, is malformed YAML: refused naming the line,
    // nothing written. The corrected one is accepted.
    let verbatim = write_file(dir, "auditor-verbatim.yaml", AUDITOR_VERBATIM);
    let refused = err(server.pctl(&["create", s(&verbatim)]));
    assert!(refused.contains("line 13"), "{refused}");
    let absent = err(server.pctl(&["get", "role/auditor"]));
    assert!(absent.contains("not found"), "{absent}");
    for (name, yaml) in [
        ("auditor.yaml", AUDITOR),
        ("own.yaml", OWN_SESSIONS),
        ("users.yaml", USERS),
    ] {
        server.pctl_ok(&["create", s(&write_file(dir, name, yaml))]);
    }

    // The auditor lists and reads every recording, and may not log in to any node.
    let as_audra = |args: &[&str]| server.pctl_as(dir, "audra", args);
    assert_eq!(
        session_ids(&ok(as_audra(&["sessions", "ls"]))),
        ["s-alice", "s-shared"]
    );
    assert_eq!(
        ok(as_audra(&["sessions", "play", "s-shared", "--raw"])),
        "shared\r\n"
    );
    let node_access = server.pctl_ok(&[
        "acl",
        "check",
        "--user",
        "audra",
        "--verb",
        "read",
        "--resource",
        "session",
        "--node-label",
        "env=prod",
        "--login",
        "auditor",
        "--json",
    ]);
    let answer: Value = serde_json::from_str(&node_access).unwrap();
    assert_eq!(answer["allowed"], true, "{answer}");
    assert_eq!(answer["node_allowed"], false, "{answer}");

    // "Own sessions": bob sees the session he took part in, and nothing else.
    let as_bob = |args: &[&str]| server.pctl_as(dir, "bob", args);
    assert_eq!(session_ids(&ok(as_bob(&["sessions", "ls"]))), ["s-shared"]);
    ok(as_bob(&["sessions", "export", "s-shared"]));
    let denied = err(as_bob(&["sessions", "export", "s-alice"]));
    assert!(denied.contains("may not call GetSessionEvents"), "{denied}");
    // Without rules on `session`: nothing listed, nothing read.
    assert!(ok(server.pctl_as(dir, "carol", &["sessions", "ls"])).contains("no recorded sessions"));
    let denied = err(server.pctl_as(dir, "carol", &["sessions", "play", "s-alice"]));
    assert!(denied.contains("may not call GetSessionEvents"), "{denied}");

    // Active sessions (kind `ssh_session`) are the streams in progress.
    let mut live = rt
        .block_on(SessionRecorder::create(&node, "s-live"))
        .unwrap();
    rt.block_on(live.record(start("bob", "bob"))).unwrap();
    rt.block_on(live.sync()).unwrap();
    let active = server.pctl_ok(&["sessions", "ls", "--active"]);
    assert_eq!(session_ids(&active), ["s-live"], "{active}");
    assert_eq!(
        session_ids(&ok(as_bob(&["sessions", "ls", "--active"]))),
        ["s-live"]
    );
    assert!(ok(as_audra(&["sessions", "ls", "--active"])).contains("no active sessions"));
    assert!(!session_ids(&server.pctl_ok(&["sessions", "ls"])).contains(&"s-live".to_owned()));
    rt.block_on(live.complete()).unwrap();
    assert!(server
        .pctl_ok(&["sessions", "ls", "--active"])
        .contains("no active sessions"));
}

/// Records `count` prints as part of a session through `recorder`, reconnecting through
/// `reconnect` whenever the stream breaks; returns how many reconnects it took.
async fn print_through(
    recorder: &mut SessionRecorder,
    from: usize,
    count: usize,
    reconnect: &Client,
) -> usize {
    let mut reconnects = 0;
    for i in from..from + count {
        if recorder
            .record(print("alice", &format!("line {i}\r\n"), i as u64))
            .await
            .is_err()
        {
            reconnects += 1;
            recorder.reconnect(reconnect).await.unwrap();
        }
    }
    reconnects
}

#[test]
fn a_cut_connection_mid_session_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let server = Server::start(&dir.join("data"), &[]);
    let rt = rt();
    let printed = rt.block_on(async {
        let relay = Relay::start(&server.addr).await;
        let files = server.sign_host_tls(dir, "node-relay", "Node");
        let through_relay = Client::connect(&relay.addr, &files).await.unwrap();
        let mut recorder = SessionRecorder::create(&through_relay, "s-cut")
            .await
            .unwrap();
        recorder.record(start("alice", "root")).await.unwrap();
        print_through(&mut recorder, 0, 20, &through_relay).await;
        recorder.sync().await.unwrap();
        // Some events in flight, then the network fails: the recorder notices at the
        // latest when it waits for them to be durable.
        print_through(&mut recorder, 20, 5, &through_relay).await;
        relay.cut();
        let mut sent = 25;
        while recorder.sync().await.is_ok() {
            assert!(sent < 100, "the cut went unnoticed");
            print_through(&mut recorder, sent, 1, &through_relay).await;
            sent += 1;
        }
        assert!(recorder.pending() > 0, "nothing waits to be sent again");
        recorder.reconnect(&through_relay).await.unwrap();
        print_through(&mut recorder, sent, 30, &through_relay).await;
        recorder.complete().await.unwrap();
        let admin = server.admin_client().await;
        assert_eq!(
            indexes(&admin, "s-cut").await,
            (0..(sent as i64 + 31)).collect::<Vec<_>>()
        );
        sent + 30
    });
    let export = server.pctl_ok(&["sessions", "export", "s-cut"]);
    let texts: Vec<String> = export
        .lines()
        .filter_map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let data = v["fields"]["data"].as_str()?.to_owned();
            Some(
                String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(data)
                        .unwrap(),
                )
                .unwrap(),
            )
        })
        .collect();
    let expected: Vec<String> = (0..printed).map(|i| format!("line {i}\r\n")).collect();
    assert_eq!(texts, expected);
}

#[test]
fn a_server_killed_mid_session_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let data = dir.join("data");
    let server = Server::start(&data, &[]);
    let rt = rt();
    let files = server.sign_host_tls(dir, "node-relay", "Node");
    let (mut recorder, upload) = rt.block_on(async {
        let node = Client::connect(&server.addr, &files).await.unwrap();
        let mut recorder = SessionRecorder::create(&node, "s-restart").await.unwrap();
        recorder.record(start("alice", "root")).await.unwrap();
        print_through(&mut recorder, 0, 30, &node).await;
        recorder.sync().await.unwrap();
        // Sent, but (most likely) not yet durable when the server dies.
        print_through(&mut recorder, 30, 10, &node).await;
        let upload = recorder.upload_id().to_owned();
        (recorder, upload)
    });
    server.kill9();
    let server = Server::start(&data, &[]);
    rt.block_on(async {
        let node = Client::connect(&server.addr, &files).await.unwrap();
        // Still in progress after the restart.
        let admin = server.admin_client().await;
        let active = active_sessions(&admin).await;
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].spec.as_ref().unwrap().upload_id, upload);
        recorder.reconnect(&node).await.unwrap();
        print_through(&mut recorder, 40, 10, &node).await;
        recorder.complete().await.unwrap();
        assert_eq!(
            indexes(&admin, "s-restart").await,
            (0..51).collect::<Vec<_>>()
        );
    });
}

#[test]
fn size_limits_and_bad_streams_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let server = Server::start_with_config(
        dir,
        "sessions:\n  max_event_bytes: 1024\n  max_session_bytes: 4096\n",
    );
    let rt = rt();
    rt.block_on(async {
        let node = server.host_client(dir, "node-1", "Node").await;
        let code = |e: portcullis_api::Error| (e.code(), e.to_string());

        let mut recorder = SessionRecorder::create(&node, "s-big-event").await.unwrap();
        recorder.record(start("alice", "root")).await.unwrap();
        let _ = recorder.record(print("alice", &"x".repeat(2000), 0)).await;
        let (c, text) = code(recorder.sync().await.unwrap_err());
        assert_eq!(c, Some(Code::ResourceExhausted), "{text}");
        assert!(text.contains("limit of 1024 bytes per event"), "{text}");
        // What came before the refused event is kept.
        assert_eq!(recorder.acked(), 0);

        let mut recorder = SessionRecorder::create(&node, "s-big-session")
            .await
            .unwrap();
        let mut failed = None;
        for i in 0..10 {
            if let Err(e) = recorder.record(print("alice", &"y".repeat(600), i)).await {
                failed = Some(e);
                break;
            }
        }
        let failed = match failed {
            Some(e) => e,
            None => recorder.sync().await.unwrap_err(),
        };
        let (c, text) = code(failed);
        assert_eq!(c, Some(Code::ResourceExhausted), "{text}");
        assert!(text.contains("limit of 4096 bytes per recording"), "{text}");

        // Resuming what does not exist, or someone else's upload.
        let missing =
            SessionRecorder::resume(&node, "s-x", &uuid::Uuid::new_v4().to_string()).await;
        assert_eq!(missing.unwrap_err().code(), Some(Code::NotFound));
        let recorder = SessionRecorder::create(&node, "s-owned").await.unwrap();
        let other = server.host_client(dir, "node-2", "Node").await;
        let stolen = SessionRecorder::resume(&other, "s-owned", recorder.upload_id()).await;
        assert_eq!(stolen.unwrap_err().code(), Some(Code::PermissionDenied));
        let bad_id = SessionRecorder::create(&node, "../etc").await.unwrap_err();
        assert_eq!(bad_id.code(), Some(Code::InvalidArgument), "{bad_id}");

        // A user without rules on `session` may not stream.
        let carol = write_file(
            dir,
            "carol.yaml",
            "kind: user\nversion: v2\nmetadata:\n  name: carol\nspec:\n  roles: []\n",
        );
        server.pctl_ok(&["create", s(&carol)]);
        server.sign_user("carol", "tls", s(&dir.join("carol")));
        let carol = Client::connect(&server.addr, &TlsFiles::from_prefix(dir.join("carol")))
            .await
            .unwrap();
        let denied = SessionRecorder::create(&carol, "s-carol")
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Some(Code::PermissionDenied), "{denied}");
    });
}

#[test]
fn with_two_servers_on_etcd_a_stream_resumes_on_the_other_server() {
    let tmp = tempfile::tempdir().unwrap();
    let etcd = portcullis_tests::etcd::Etcd::start(&tmp.path().join("etcd"));
    let config = format!(
        "{}sweep_interval: 1h\n",
        etcd.storage_yaml("/sessions-test")
    );
    let boot = |name: &str| {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        Server::start_with_config(&dir, &config)
    };
    let (a, b) = (boot("a"), boot("b"));
    let files = a.sign_host_tls(tmp.path(), "node-relay", "Node");
    let rt = rt();
    let mut recorder = rt.block_on(async {
        let node = Client::connect(&a.addr, &files).await.unwrap();
        let mut recorder = SessionRecorder::create(&node, "s-ha").await.unwrap();
        recorder.record(start("alice", "root")).await.unwrap();
        print_through(&mut recorder, 0, 20, &node).await;
        recorder.sync().await.unwrap();
        // The other server sees the session in progress.
        let admin_b = b.admin_client().await;
        assert_eq!(active_sessions(&admin_b).await.len(), 1);
        print_through(&mut recorder, 20, 5, &node).await;
        recorder
    });
    // The first server dies mid-session; the node goes on with the second one.
    a.kill9();
    rt.block_on(async {
        let node = Client::connect(&b.addr, &files).await.unwrap();
        recorder.reconnect(&node).await.unwrap();
        print_through(&mut recorder, 25, 10, &node).await;
        recorder.complete().await.unwrap();
        let admin_b = b.admin_client().await;
        assert_eq!(indexes(&admin_b, "s-ha").await, (0..36).collect::<Vec<_>>());
    });
    let played = b.pctl_ok(&["sessions", "play", "s-ha", "--raw"]);
    let expected: String = (0..35).map(|i| format!("line {i}\r\n")).collect();
    assert_eq!(played, expected);
    b.stop();
}
