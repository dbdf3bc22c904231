//! WatchEvents against the real binary: INIT first, then every change of the watched kinds
//! in order (deletions explicit or by expiry), names and filters, several kinds on one
//! stream, rights checked when subscribing (own access requests without any rule), secrets
//! only when asked for and allowed, and bad watches refused before anything is subscribed.

use std::path::Path;
use std::time::Duration;

use portcullis_api::auth::event::Resource;
use portcullis_api::auth::{
    Event, GenerateTokenRequest, Operation, RequestId, RequestStateSetter, Watch, WatchKind,
};
use portcullis_api::services::RequestState;
use portcullis_api::{Client, TlsFiles};
use portcullis_tests::{access_workflow_fixture, ok, role, rt, s, stderr, Server};
use tonic::{Code, Streaming};

/// How long an expected event may take.
const WAIT: Duration = Duration::from_secs(15);

/// A server with the access-workflow roles, contractors `carl` and `cora`, started with
/// `config` (YAML).
fn start(dir: &Path, config: &str) -> Server {
    let server = Server::start_with_config(dir, config);
    server.pctl_ok(&["create", s(&access_workflow_fixture())]);
    for user in ["carl", "cora"] {
        server.pctl_ok(&["users", "add", user, "--roles", "contractor"]);
    }
    server
}

/// A client connected as `user` (signed by the admin on first use).
async fn client_as(server: &Server, dir: &Path, user: &str) -> Client {
    let prefix = dir.join(format!("client-{user}"));
    if !prefix.with_extension("crt").exists() {
        server.sign_user(user, "tls", s(&prefix));
    }
    Client::connect(&server.addr, &TlsFiles::from_prefix(&prefix))
        .await
        .unwrap()
}

fn kind(name: &str) -> WatchKind {
    WatchKind {
        kind: name.into(),
        ..WatchKind::default()
    }
}

fn filtered(name: &str, filter: &[(&str, &str)]) -> WatchKind {
    WatchKind {
        filter: filter
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..kind(name)
    }
}

/// The next event, within [`WAIT`].
async fn next(stream: &mut Streaming<Event>) -> Event {
    tokio::time::timeout(WAIT, stream.message())
        .await
        .expect("an event in time")
        .expect("the stream goes on")
        .expect("the stream is open")
}

/// `PUT kind/name` or `DELETE kind/name`.
fn describe(event: &Event) -> String {
    let (kind, name) = match event.resource.as_ref() {
        Some(Resource::ResourceHeader(h)) => (h.kind.clone(), h.metadata.clone().unwrap().name),
        Some(Resource::Role(r)) => ("role".into(), r.metadata.clone().unwrap().name),
        Some(Resource::User(u)) => ("user".into(), u.metadata.clone().unwrap().name),
        Some(Resource::AccessRequest(r)) => {
            let state = r
                .spec
                .as_ref()
                .unwrap()
                .state()
                .as_str_name()
                .to_lowercase();
            let name = r.metadata.clone().unwrap().name;
            (format!("access_request({state})"), name)
        }
        Some(Resource::ProvisionToken(t)) => ("token".into(), t.metadata.clone().unwrap().name),
        Some(Resource::CertAuthority(c)) => {
            ("cert_authority".into(), c.metadata.clone().unwrap().name)
        }
        other => panic!("unexpected resource {other:?}"),
    };
    let op = match event.r#type() {
        Operation::Init => "INIT",
        Operation::Put => "PUT",
        Operation::Delete => "DELETE",
    };
    format!("{op} {kind}/{name}")
}

async fn next_described(stream: &mut Streaming<Event>) -> String {
    describe(&next(stream).await)
}

/// Asserts that the next event is `expected` (as [`describe`] writes it).
async fn expect(stream: &mut Streaming<Event>, expected: String) {
    assert_eq!(next_described(stream).await, expected);
}

async fn delete_request(admin: &Client, id: &str) {
    let id = RequestId { id: id.to_owned() };
    admin.rpc().delete_access_request(id).await.unwrap();
}

#[test]
fn init_comes_first_then_every_change_of_several_kinds_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start(tmp.path(), "{}\n");
    rt().block_on(async {
        let admin = server.admin_client().await;
        let watch = Watch {
            kinds: vec![kind("role"), kind("user")],
        };
        let mut stream = admin.rpc().watch_events(watch).await.unwrap().into_inner();
        let init = next(&mut stream).await;
        assert_eq!(init.r#type(), Operation::Init);
        assert!(init.resource.is_none());

        admin.upsert_role(role("web")).await.unwrap();
        admin.upsert_role(role("web")).await.unwrap();
        server.pctl_ok(&["users", "add", "bob", "--roles", "web"]);
        admin.delete_role("web").await.unwrap();
        admin.delete_user("bob").await.unwrap();
        let mut seen = Vec::new();
        let mut ids = Vec::new();
        for _ in 0..5 {
            let event = next(&mut stream).await;
            if let Some(Resource::Role(r)) = &event.resource {
                ids.push(r.metadata.as_ref().unwrap().id);
            }
            seen.push(describe(&event));
        }
        assert_eq!(
            seen,
            [
                "PUT role/web",
                "PUT role/web",
                "PUT user/bob",
                "DELETE role/web",
                "DELETE user/bob"
            ]
        );
        assert!(ids[0] > 0 && ids[1] > ids[0], "store revisions: {ids:?}");
    });
    server.stop();
}

#[test]
fn expired_requests_are_deleted_with_an_event() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = start(dir, "access_request_ttl: 2s\nsweep_interval: 1s\n");
    rt().block_on(async {
        let admin = server.admin_client().await;
        let mut stream = admin
            .watch_events(vec![kind("access_request")])
            .await
            .unwrap();
        let id = server.request_roles(dir, "carl", "dba");
        expect(&mut stream, format!("PUT access_request(pending)/{id}")).await;
        // Nobody resolves it: the sweeper removes it once its pending TTL is over.
        let gone = next(&mut stream).await;
        assert_eq!(describe(&gone), format!("DELETE access_request/{id}"));
        let Some(Resource::ResourceHeader(header)) = gone.resource else {
            panic!("a deletion carries only a header")
        };
        assert_eq!(header.version, "v3");
    });
    server.stop();
}

#[test]
fn names_and_the_state_filter_are_respected() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = start(dir, "{}\n");
    rt().block_on(async {
        let admin = server.admin_client().await;
        let mut ops = admin
            .watch_events(vec![WatchKind {
                name: "ops".into(),
                ..kind("role")
            }])
            .await
            .unwrap();
        let mut pending = admin
            .watch_events(vec![filtered("access_request", &[("state", "PENDING")])])
            .await
            .unwrap();

        admin.upsert_role(role("web")).await.unwrap();
        admin.upsert_role(role("ops")).await.unwrap();
        admin.delete_role("web").await.unwrap();
        admin.delete_role("ops").await.unwrap();
        assert_eq!(next_described(&mut ops).await, "PUT role/ops");
        assert_eq!(next_described(&mut ops).await, "DELETE role/ops");

        let first = server.request_roles(dir, "carl", "dba");
        expect(&mut pending, format!("PUT access_request(pending)/{first}")).await;
        let approve = RequestStateSetter {
            id: first.clone(),
            state: RequestState::Approved.into(),
            ..RequestStateSetter::default()
        };
        admin.rpc().set_access_request_state(approve).await.unwrap();
        // The approval is not PENDING: the next event is the next pending request.
        let second = server.request_roles(dir, "cora", "dba");
        expect(
            &mut pending,
            format!("PUT access_request(pending)/{second}"),
        )
        .await;
        // A request the watch saw pending is still followed to its deletion.
        delete_request(&admin, &first).await;
        expect(&mut pending, format!("DELETE access_request/{first}")).await;
    });
    server.stop();
}

#[test]
fn secrets_only_with_load_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start(tmp.path(), "{}\n");
    rt().block_on(async {
        let admin = server.admin_client().await;
        let kinds = |secrets: bool| {
            ["token", "cert_authority"]
                .map(|k| WatchKind {
                    load_secrets: secrets,
                    ..kind(k)
                })
                .to_vec()
        };
        let mut plain = admin.watch_events(kinds(false)).await.unwrap();
        let mut secret = admin.watch_events(kinds(true)).await.unwrap();
        let token = admin
            .rpc()
            .generate_token(GenerateTokenRequest {
                roles: vec!["Node".into()],
                ..GenerateTokenRequest::default()
            })
            .await
            .unwrap()
            .into_inner()
            .token;
        server.pctl_ok(&[
            "auth", "rotate", "--type", "user", "--manual", "--phase", "init",
        ]);
        let shown = next_described(&mut plain).await;
        assert!(
            shown.starts_with("PUT token/") && shown.contains('*') && !shown.contains(&token),
            "{shown}"
        );
        assert_eq!(
            next_described(&mut secret).await,
            format!("PUT token/{token}")
        );
        let private_keys = |event: Event| {
            let Some(Resource::CertAuthority(ca)) = event.resource else {
                panic!("{event:?}")
            };
            let keys = ca.spec.unwrap().active_keys.unwrap();
            keys.tls.iter().filter(|k| !k.key.is_empty()).count()
                + keys
                    .ssh
                    .iter()
                    .filter(|k| !k.private_key.is_empty())
                    .count()
        };
        assert_eq!(private_keys(next(&mut plain).await), 0);
        assert!(private_keys(next(&mut secret).await) > 0);
    });
    server.stop();
}

#[test]
fn callers_need_list_and_read_on_every_kind_they_watch() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = start(dir, "{}\n");
    rt().block_on(async {
        let carl = client_as(&server, dir, "carl").await;
        // Every caller may read the authorities' public parts (the implicit role)...
        carl.watch_events(vec![kind("cert_authority")])
            .await
            .unwrap();
        // ...but not roles, nor the authorities' secrets.
        let refused = |kinds: Vec<WatchKind>| {
            let carl = carl.clone();
            async move {
                let status = carl.rpc().watch_events(Watch { kinds }).await.unwrap_err();
                assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
                status.message().to_owned()
            }
        };
        let why = refused(vec![kind("cert_authority"), kind("role")]).await;
        assert!(why.contains("`list` on `role` is denied"), "{why}");
        let secrets = WatchKind {
            load_secrets: true,
            ..kind("cert_authority")
        };
        let why = refused(vec![secrets]).await;
        assert!(
            why.contains("`read` on `cert_authority` is denied"),
            "{why}"
        );
    });
    server.stop();
}

#[test]
fn users_watch_their_own_requests_by_filtering_on_themselves() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = start(dir, "{}\n");
    rt().block_on(async {
        let carl = client_as(&server, dir, "carl").await;
        let status = carl
            .rpc()
            .watch_events(Watch {
                kinds: vec![kind("access_request")],
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        assert!(
            status.message().contains("`access_request`")
                && status.message().contains("filter on user=carl"),
            "{status:?}"
        );
        let theirs = Watch {
            kinds: vec![filtered("access_request", &[("user", "cora")])],
        };
        let status = carl.rpc().watch_events(theirs).await.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);

        let mut mine = carl
            .watch_events(vec![filtered("access_request", &[("user", "carl")])])
            .await
            .unwrap();
        let coras = server.request_roles(dir, "cora", "dba");
        let carls = server.request_roles(dir, "carl", "dba");
        expect(&mut mine, format!("PUT access_request(pending)/{carls}")).await;
        let admin = server.admin_client().await;
        delete_request(&admin, &coras).await;
        delete_request(&admin, &carls).await;
        expect(&mut mine, format!("DELETE access_request/{carls}")).await;
    });
    server.stop();
}

#[test]
fn bad_watches_are_refused_before_anything_is_subscribed() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start(tmp.path(), "{}\n");
    rt().block_on(async {
        let admin = server.admin_client().await;
        let cases = [
            (vec![], "at least one kind"),
            (
                vec![kind("role"), kind("nope")],
                "kind `nope` cannot be watched",
            ),
            (
                vec![kind("policy_module")],
                "kind `policy_module` cannot be watched",
            ),
            (
                vec![filtered("access_request", &[("owner", "carl")])],
                "unknown filter key `owner` for kind `access_request`",
            ),
            (
                vec![filtered("access_request", &[("state", "maybe")])],
                "`maybe` is not one of PENDING, APPROVED or DENIED",
            ),
            (
                vec![filtered("role", &[("state", "PENDING")])],
                "kind `role` takes no filter",
            ),
        ];
        for (kinds, expected) in cases {
            // The call itself fails: no stream was opened, nothing subscribed.
            let status = admin.rpc().watch_events(Watch { kinds }).await.unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
            assert!(status.message().contains(expected), "{status:?}");
        }
    });
    server.stop();
}

#[test]
fn pctl_events_watch_prints_changes_as_they_happen() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let tmp = tempfile::tempdir().unwrap();
    let server = start(tmp.path(), "{}\n");
    let mut watch = Command::new(portcullis_tests::bin("pctl"))
        .args(["--auth-server", &server.addr, "--identity-dir"])
        .arg(&server.data_dir)
        .args(["events", "watch", "--kind", "role,user", "--count", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // It says so on standard error once the watch is established.
    let mut established = String::new();
    let pipe = watch.stderr.take().unwrap();
    BufReader::new(pipe).read_line(&mut established).unwrap();
    assert_eq!(established, "watching role, user\n");
    rt().block_on(async {
        let admin = server.admin_client().await;
        admin.upsert_role(role("web")).await.unwrap();
        admin.delete_role("web").await.unwrap();
        admin.delete_user("carl").await.unwrap();
    });
    let out = watch.wait_with_output().unwrap();
    assert_eq!(ok(out), "PUT role/web\nDELETE role/web\nDELETE user/carl\n");
    let why = stderr(&server.pctl(&["events", "watch", "--kind", "nope"]));
    assert!(why.contains("kind `nope` cannot be watched"), "{why}");
    server.stop();
}

#[test]
fn open_watches_end_when_the_server_stops_and_do_not_hold_it_up() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start(tmp.path(), "{}\n");
    let log = server.data_dir.with_extension("stderr.log");
    let rt = rt();
    let mut stream = rt.block_on(async {
        let admin = server.admin_client().await;
        admin.watch_events(vec![kind("role")]).await.unwrap()
    });
    server.stop();
    let ended = rt.block_on(async { tokio::time::timeout(WAIT, stream.message()).await });
    let status = ended.expect("the stream ends").unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    // The server finished its graceful shutdown rather than being killed.
    let log = std::fs::read_to_string(log).unwrap();
    assert!(log.contains("auth server stopped"), "{log}");
}
