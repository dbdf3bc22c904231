//! End-to-end: applications against the real binary — application servers register with a
//! lease (`UpsertAppServer`), keep it alive over `SendKeepAlives` (type APP) and vanish once
//! they stop; listings (`GetAppServers`, `pctl apps ls`) show a user only the apps their
//! roles' `app_labels` grant; app sessions (`CreateAppSession`, `pctl auth sign --app`) are
//! refused by `app_labels` or carry a certificate routed to the app and a JWT that verifies
//! against the JWT authority's key.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use portcullis_api::auth::{
    CreateAppSessionRequest, DeleteAllAppServersRequest, DeleteAppServerRequest,
    DeleteAppSessionRequest, GetAppServersRequest, GetAppSessionRequest, GetAppSessionsRequest,
    UpsertAppServerRequest,
};
use portcullis_api::services::keep_alive::KeepAliveType;
use portcullis_api::services::{App, KeepAlive, ServerV2};
use portcullis_api::{Client, TlsFiles};
use portcullis_tests::{identity_from_pem, run_ok, s, write_file, Server};
use tonic::Code;

use crate::presence::{
    eventually, extended, keep_alive_past_first_expiry, one_keep_alive, refused, served, setup,
    KeepAlives, TTL,
};

fn app(name: &str, env: &str) -> App {
    App {
        name: name.into(),
        uri: format!("http://127.0.0.1:80{}", name.len()),
        public_addr: format!("{name}.example.com"),
        static_labels: BTreeMap::from([("env".into(), env.into())]),
        ..App::default()
    }
}

/// An application server `name` serving `apps`, expiring `ttl` from now (if given).
fn app_server(name: &str, apps: Vec<App>, ttl: Option<Duration>) -> ServerV2 {
    let mut server = crate::presence::server_v2("app_server", name, &[], ttl);
    server.spec.get_or_insert_with(Default::default).apps = apps;
    server
}

async fn register(client: &Client, server: ServerV2) -> KeepAlive {
    let request = UpsertAppServerRequest {
        server: Some(server),
    };
    client
        .rpc()
        .upsert_app_server(request)
        .await
        .unwrap()
        .into_inner()
}

/// `(server, [apps])` as `client` sees them.
async fn listed(client: &Client) -> Vec<(String, Vec<String>)> {
    let servers = client
        .rpc()
        .get_app_servers(GetAppServersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .servers;
    servers.iter().map(served).collect()
}

#[test]
fn an_app_server_lives_by_keep_alives_and_vanishes_without() {
    let t = setup("apps-1", "App");
    let (server, admin, host) = (&t.server, &t.admin, &t.host);
    t.rt.block_on(async {
        let lease = register(
            host,
            app_server("apps-1", vec![app("wiki", "dev")], Some(TTL)),
        )
        .await;
        assert_eq!(lease.r#type, i32::from(KeepAliveType::App));
        assert!(lease.lease_id != 0);
        // A host announces only itself, and an app server serves at least one app.
        refused(
            host.rpc()
                .upsert_app_server(UpsertAppServerRequest {
                    server: Some(app_server("apps-2", vec![app("x", "dev")], None)),
                })
                .await,
            Code::PermissionDenied,
            "may only announce itself, not app_server `apps-2`",
        );
        refused(
            admin
                .rpc()
                .upsert_app_server(UpsertAppServerRequest {
                    server: Some(app_server("apps-2", vec![], None)),
                })
                .await,
            Code::InvalidArgument,
            "spec.apps is empty",
        );

        let stream = KeepAlives::open(host);
        keep_alive_past_first_expiry(&stream, &lease).await;
        assert_eq!(
            listed(admin).await,
            [("apps-1".into(), vec!["wiki".into()])]
        );
        let table = server.pctl_ok(&["apps", "ls"]);
        let line = table.lines().find(|l| l.starts_with("wiki")).unwrap();
        for part in [
            "wiki.example.com",
            "http://127.0.0.1:804",
            "env=dev",
            "apps-1",
        ] {
            assert!(line.contains(part), "{part} missing in {table}");
        }

        // It stops: gone within its TTL, and so is its lease.
        stream.finish().await.unwrap();
        let stopped = Instant::now();
        let gone = eventually(TTL + Duration::from_secs(3), || async {
            listed(admin).await.is_empty()
        })
        .await;
        assert!(gone, "still listed: {:?}", listed(admin).await);
        assert!(stopped.elapsed() <= TTL + Duration::from_secs(1));
        refused(
            one_keep_alive(host, extended(&lease, TTL)).await,
            Code::NotFound,
            "app_server `apps-1` in namespace `default` is not registered",
        );

        // Deleting one, then all.
        for name in ["a", "b", "c"] {
            register(admin, app_server(name, vec![app(name, "dev")], None)).await;
        }
        let delete = |name: &str| DeleteAppServerRequest {
            namespace: String::new(),
            name: name.into(),
        };
        admin.rpc().delete_app_server(delete("b")).await.unwrap();
        refused(
            admin.rpc().delete_app_server(delete("b")).await,
            Code::NotFound,
            "app_server `b`",
        );
        assert_eq!(listed(admin).await.len(), 2);
        refused(
            host.rpc().delete_app_server(delete("a")).await,
            Code::PermissionDenied,
            "may not call DeleteAppServer",
        );
        let all = DeleteAllAppServersRequest::default();
        admin.rpc().delete_all_app_servers(all).await.unwrap();
        assert!(listed(admin).await.is_empty());
    });
}

/// The next event of `stream` as (operation, kind, name).
async fn next(
    stream: &mut tonic::Streaming<portcullis_api::auth::Event>,
) -> (portcullis_api::auth::Operation, String, String) {
    use portcullis_api::auth::event::Resource;
    let event = tokio::time::timeout(Duration::from_secs(10), stream.message());
    let event = event.await.unwrap().unwrap().unwrap();
    let (kind, name) = match &event.resource {
        Some(Resource::Server(s)) => (s.kind.clone(), s.metadata.clone().unwrap().name),
        Some(Resource::ResourceHeader(h)) => (h.kind.clone(), h.metadata.clone().unwrap().name),
        other => (format!("{other:?}"), String::new()),
    };
    (event.r#type(), kind, name)
}

#[test]
fn watchers_see_app_servers_and_kube_services_come_and_go() {
    use portcullis_api::auth::{Operation, UpsertKubeServiceRequest, Watch, WatchKind};
    let t = setup("apps-1", "App");
    t.rt.block_on(async {
        let kinds = ["app_server", "kube_service"].map(|kind| WatchKind {
            kind: kind.into(),
            ..WatchKind::default()
        });
        let watch = Watch {
            kinds: kinds.to_vec(),
        };
        let mut stream = t
            .admin
            .rpc()
            .watch_events(watch)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(next(&mut stream).await.0, Operation::Init);
        register(
            &t.host,
            app_server("apps-1", vec![app("wiki", "dev")], None),
        )
        .await;
        let put = (Operation::Put, "app_server".to_owned(), "apps-1".to_owned());
        assert_eq!(next(&mut stream).await, put);
        let kube = crate::presence::server_v2("kube_service", "kube-1", &[], None);
        let request = UpsertKubeServiceRequest { server: Some(kube) };
        t.admin.rpc().upsert_kube_service(request).await.unwrap();
        let put = (
            Operation::Put,
            "kube_service".to_owned(),
            "kube-1".to_owned(),
        );
        assert_eq!(next(&mut stream).await, put);
        let delete = DeleteAppServerRequest {
            namespace: String::new(),
            name: "apps-1".into(),
        };
        t.admin.rpc().delete_app_server(delete).await.unwrap();
        let gone = (
            Operation::Delete,
            "app_server".to_owned(),
            "apps-1".to_owned(),
        );
        assert_eq!(next(&mut stream).await, gone);
    });
}

const APP_ROLES: &str = "kind: role
version: v3
metadata:
  name: dev-apps
spec:
  allow:
    app_labels: {env: dev}
    rules:
    - resources: [app_server]
      verbs: [list, read]
---
kind: role
version: v3
metadata:
  name: not-prod
spec:
  allow:
    app_labels: {'*': '*'}
    rules:
    - resources: [app_server]
      verbs: [list, read]
  deny:
    app_labels: {env: prod}
---
kind: user
version: v2
metadata:
  name: dora
spec:
  roles: [dev-apps]
---
kind: user
version: v2
metadata:
  name: nico
spec:
  roles: [not-prod]
";

/// A server with three app servers — `mixed` (grafana: prod, wiki: dev, docs: qa), `prod`
/// (billing: prod), `dev` (notes: dev) — and the users of [`APP_ROLES`].
fn with_apps() -> crate::presence::Setup {
    let t = setup("apps-1", "App");
    t.rt.block_on(async {
        let mixed = vec![
            app("grafana", "prod"),
            app("wiki", "dev"),
            app("docs", "qa"),
        ];
        register(&t.admin, app_server("mixed", mixed, None)).await;
        register(
            &t.admin,
            app_server("prod", vec![app("billing", "prod")], None),
        )
        .await;
        register(&t.admin, app_server("dev", vec![app("notes", "dev")], None)).await;
    });
    let roles = write_file(t.dir.path(), "app-roles.yaml", APP_ROLES);
    t.server.pctl_ok(&["create", s(&roles)]);
    t
}

/// A client of `user`, signed by the admin.
async fn user_client(server: &Server, dir: &std::path::Path, user: &str) -> Client {
    let prefix = dir.join(format!("id-{user}"));
    let files = TlsFiles::from_prefix(&prefix);
    if !files.cert.exists() {
        server.sign_user(user, "tls", s(&prefix));
    }
    Client::connect(&server.addr, &files).await.unwrap()
}

#[test]
fn listings_show_only_apps_that_app_labels_grant() {
    let t = with_apps();
    let listed_as = |user: &str| -> Vec<(String, Vec<String>)> {
        let out = t
            .server
            .pctl_as(t.dir.path(), user, &["apps", "ls", "--json"]);
        let servers: Vec<ServerV2> = serde_json::from_str(&portcullis_tests::ok(out)).unwrap();
        servers.iter().map(served).collect()
    };
    let owned = |pairs: &[(&str, &[&str])]| -> Vec<(String, Vec<String>)> {
        pairs
            .iter()
            .map(|(s, apps)| {
                (
                    (*s).to_owned(),
                    apps.iter().map(|a| (*a).to_owned()).collect(),
                )
            })
            .collect()
    };
    // dora: only `env: dev` apps; the prod-only server is left out.
    assert_eq!(
        listed_as("dora"),
        owned(&[("dev", &["notes"]), ("mixed", &["wiki"])])
    );
    // nico: everything but prod (deny wins).
    assert_eq!(
        listed_as("nico"),
        owned(&[("dev", &["notes"]), ("mixed", &["wiki", "docs"])])
    );
    let table = t.server.pctl_as(t.dir.path(), "dora", &["apps", "ls"]);
    let table = portcullis_tests::ok(table);
    assert!(
        table.contains("notes.example.com") && !table.contains("grafana"),
        "{table}"
    );
    // The admin and hosts see every app.
    let all = owned(&[
        ("dev", &["notes"]),
        ("mixed", &["grafana", "wiki", "docs"]),
        ("prod", &["billing"]),
    ]);
    assert_eq!(t.rt.block_on(listed(&t.admin)), all);
    assert_eq!(t.rt.block_on(listed(&t.host)), all);
}

fn session_request(addr: &str) -> CreateAppSessionRequest {
    CreateAppSessionRequest {
        public_addr: addr.into(),
        ..Default::default()
    }
}

/// Gives `user` a password and signs it in (as the admin, the web front's part); the web
/// session's ID.
async fn signed_in(admin: &Client, user: &str) -> String {
    let password = "correct horse battery staple";
    admin
        .rpc()
        .upsert_password(portcullis_api::auth::UpsertPasswordRequest {
            user: user.into(),
            password: password.into(),
        })
        .await
        .unwrap();
    let session = admin
        .rpc()
        .sign_in(portcullis_api::auth::SignInRequest {
            user: user.into(),
            password: password.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    session.metadata.unwrap().name
}

#[test]
fn app_sessions_follow_app_labels_and_carry_a_routed_cert_and_a_jwt() {
    let t = with_apps();
    let dir = t.dir.path();
    t.rt.block_on(async {
        let dora = user_client(&t.server, dir, "dora").await;
        refused(
            dora.rpc()
                .create_app_session(session_request("grafana.example.com"))
                .await,
            Code::PermissionDenied,
            "`dora` may not access app `grafana`",
        );
        refused(
            dora.rpc()
                .create_app_session(session_request("nope.example.com"))
                .await,
            Code::NotFound,
            "no registered application has the public address `nope.example.com`",
        );
        // Not even the admin creates a session for someone else.
        let mut for_dora = session_request("wiki.example.com");
        for_dora.username = "dora".into();
        refused(
            t.admin.rpc().create_app_session(for_dora).await,
            Code::PermissionDenied,
            "may not create an app session for `dora`",
        );

        // An app session derives from one of the user's open web sessions, if it names one.
        let mut bogus_parent = session_request("wiki.example.com");
        bogus_parent.parent_session = "0123456789abcdef0123456789abcdef".into();
        refused(
            dora.rpc().create_app_session(bogus_parent).await,
            Code::NotFound,
            "parent session: web session `0123456789abcdef0123456789abcdef` of user `dora` not found",
        );
        let mut from_web = session_request("wiki.example.com");
        from_web.parent_session = signed_in(&t.admin, "dora").await;
        let session = dora
            .rpc()
            .create_app_session(from_web)
            .await
            .unwrap()
            .into_inner()
            .session
            .unwrap();
        let id = session.metadata.as_ref().unwrap().name.clone();
        let spec = session.spec.clone().unwrap();
        assert_eq!(spec.user, "dora");
        let identity = identity_from_pem(&spec.tls_cert);
        assert_eq!(identity.username, "dora");
        let route = identity.route_to_app.unwrap();
        assert_eq!(route.public_addr, "wiki.example.com");
        assert_eq!(route.session_id, id);
        // The JWT verifies against the JWT authority's public key, for the app's URI.
        let public = portcullis_tests::jwt_public_key(&t.admin).await;
        let now = SystemTime::now();
        let claims = portcullis_ca::verify_app_token(&spec.bearer_token, &public, now).unwrap();
        assert_eq!(
            (claims.username.as_str(), claims.uri.as_str()),
            ("dora", "http://127.0.0.1:804")
        );

        // Its owner reads it whole; another user may not; the admin sees it without secrets.
        let get = |id: &str| GetAppSessionRequest {
            session_id: id.into(),
        };
        let own = dora
            .rpc()
            .get_app_session(get(&id))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(own.session.unwrap().spec.unwrap().r#priv, spec.r#priv);
        let nico = user_client(&t.server, dir, "nico").await;
        refused(
            nico.rpc().get_app_session(get(&id)).await,
            Code::PermissionDenied,
            "`nico` may not call GetAppSession",
        );
        let listed = nico.rpc().get_app_sessions(GetAppSessionsRequest::default()).await.unwrap().into_inner();
        assert!(listed.sessions.is_empty());
        let by_admin = t
            .admin
            .rpc()
            .get_app_sessions(GetAppSessionsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(by_admin.sessions.len(), 1);
        let seen = by_admin.sessions[0].spec.clone().unwrap();
        assert!(seen.r#priv.is_empty() && seen.bearer_token.is_empty());
        refused(
            nico.rpc()
                .delete_app_session(DeleteAppSessionRequest {
                    session_id: id.clone(),
                })
                .await,
            Code::PermissionDenied,
            "may not call DeleteAppSession",
        );
        dora.rpc()
            .delete_app_session(DeleteAppSessionRequest {
                session_id: id.clone(),
            })
            .await
            .unwrap();
        refused(
            dora.rpc().get_app_session(get(&id)).await,
            Code::NotFound,
            "not found",
        );
    });
}

#[test]
fn pctl_auth_sign_app_writes_the_session_cert_key_and_jwt() {
    let t = with_apps();
    let dir = t.dir.path();
    let out = dir.join("wiki");
    let signed = t.server.pctl_as(
        dir,
        "dora",
        &[
            "auth",
            "sign",
            "--app",
            "wiki",
            "--format",
            "tls",
            "--out",
            s(&out),
        ],
    );
    let stdout = portcullis_tests::ok(signed);
    assert!(stdout.contains("app session "), "{stdout}");
    let (crt, cas) = (dir.join("wiki.crt"), dir.join("wiki.cas"));
    let verified = run_ok(Command::new("openssl").args(["verify", "-CAfile", s(&cas), s(&crt)]));
    assert!(verified.contains(": OK"), "{verified}");
    let text = run_ok(Command::new("openssl").args(["x509", "-noout", "-text", "-in", s(&crt)]));
    assert!(text.contains("1.3.9999.7.9 = wiki.example.com"), "{text}");
    let key = std::fs::read_to_string(dir.join("wiki.key")).unwrap();
    assert!(key.contains("PRIVATE KEY"), "{key}");
    let jwt = std::fs::read_to_string(dir.join("wiki.jwt")).unwrap();
    assert_eq!(jwt.trim().split('.').count(), 3, "{jwt}");

    // An app the roles do not grant is not even found.
    let refused = t.server.pctl_as(
        dir,
        "dora",
        &[
            "auth",
            "sign",
            "--app",
            "grafana",
            "--out",
            s(&dir.join("g")),
        ],
    );
    let why = portcullis_tests::err(refused);
    assert!(why.contains("no application `grafana`"), "{why}");
}

#[test]
fn the_example_node_joins_as_an_app_server_and_keeps_its_app_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start(&dir.join("data"), &[]);
    let (token, host_ca) = server.join_token(dir, "app");
    let started = Instant::now();
    let node = Command::new(portcullis_tests::bin("node"))
        .args(["--auth-server", &server.addr, "--token", &token])
        .args([
            "--host-ca",
            s(&host_ca),
            "--name",
            "apps-7",
            "--labels",
            "env=dev",
        ])
        .args(["--app", "wiki,http://127.0.0.1:8080,wiki.example.com"])
        .args(["--out", s(dir), "--ttl-secs", "3", "--beats", "6"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let listed = || {
        let out = server.pctl_ok(&["apps", "ls"]);
        out.lines()
            .find(|l| l.starts_with("wiki"))
            .map(str::to_owned)
    };
    while listed().is_none() {
        assert!(started.elapsed() < Duration::from_secs(10), "never listed");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Still listed after its first expiry (3 s): the keep-alives extend the lease.
    std::thread::sleep(Duration::from_secs(4).saturating_sub(started.elapsed()));
    let line = listed().expect("listed past the first expiry");
    for part in ["wiki.example.com", "env=dev", "apps-7"] {
        assert!(line.contains(part), "{part} missing in {line}");
    }
    let done = node.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(stdout.contains("stopped after 6 heartbeats"), "{stdout}");
    let pem = std::fs::read(dir.join("apps-7.crt")).unwrap();
    assert_eq!(identity_from_pem(&pem).system_roles, ["App"]);
}
