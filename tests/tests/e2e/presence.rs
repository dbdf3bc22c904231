//! End-to-end: presence against the real binary — nodes and proxies register with a lease
//! (`UpsertNode`, `UpsertProxy`), keep it alive over a `SendKeepAlives` stream, and vanish
//! from `GetNodes`/`GetProxies` and `pctl nodes ls` once they stop; label selectors; hosts
//! announce only themselves; bad input is refused and stores nothing.
//!
//! The servers run with an hour-long sweep interval, so a lapsed node vanishing proves the
//! reads hide expired records, not that the sweeper happened to run.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use portcullis_api::auth::GetNodesRequest;
use portcullis_api::services::keep_alive::KeepAliveType;
use portcullis_api::services::{KeepAlive, ServerV2};
use portcullis_api::{Client, TlsFiles};
use portcullis_tests::{err, rt, s, write_file, Server};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

/// A `kind` server called `name` with labels, expiring `ttl` from now (if given).
pub(crate) fn server_v2(
    kind: &str,
    name: &str,
    labels: &[(&str, &str)],
    ttl: Option<Duration>,
) -> ServerV2 {
    let mut server = portcullis_tests::server_v2(kind, name, labels);
    if let Some(metadata) = server.metadata.as_mut() {
        metadata.expires = ttl.map(|ttl| (SystemTime::now() + ttl).into());
    }
    server
}

async fn node_names(client: &Client, labels: &[(&str, &str)]) -> Vec<String> {
    let request = GetNodesRequest {
        namespace: String::new(),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
    };
    let servers = client.rpc().get_nodes(request).await.unwrap().into_inner();
    names(&servers.servers)
}

async fn proxy_names(client: &Client) -> Vec<String> {
    let servers = client.rpc().get_proxies(()).await.unwrap().into_inner();
    names(&servers.servers)
}

pub(crate) fn names(servers: &[ServerV2]) -> Vec<String> {
    servers
        .iter()
        .map(|s| s.metadata.as_ref().unwrap().name.clone())
        .collect()
}

/// A server's name and the names of the apps or Kubernetes clusters it serves.
pub(crate) fn served(server: &ServerV2) -> (String, Vec<String>) {
    let name = server.metadata.as_ref().unwrap().name.clone();
    let spec = server.spec.clone().unwrap_or_default();
    let apps = spec.apps.into_iter().map(|a| a.name);
    let clusters = spec.kubernetes_clusters.into_iter().map(|c| c.name);
    (name, apps.chain(clusters).collect())
}

/// A keep-alive of `lease` extending it to `ttl` from now.
pub(crate) fn extended(lease: &KeepAlive, ttl: Duration) -> KeepAlive {
    let mut keep_alive = lease.clone();
    keep_alive.expires = Some((SystemTime::now() + ttl).into());
    keep_alive
}

/// An open `SendKeepAlives` stream: push keep-alives with `send`, `finish` to close it and
/// get the server's answer.
pub(crate) struct KeepAlives {
    tx: mpsc::Sender<KeepAlive>,
    call: JoinHandle<Result<(), tonic::Status>>,
}

impl KeepAlives {
    pub(crate) fn open(client: &Client) -> KeepAlives {
        let (tx, rx) = mpsc::channel(16);
        let mut rpc = client.rpc();
        let call = tokio::spawn(async move {
            rpc.send_keep_alives(ReceiverStream::new(rx))
                .await
                .map(drop)
        });
        KeepAlives { tx, call }
    }

    /// Sends a keep-alive extending `lease` to `ttl` from now. Returns false once the
    /// server ended the stream.
    pub(crate) async fn send(&self, lease: &KeepAlive, ttl: Duration) -> bool {
        self.tx.send(extended(lease, ttl)).await.is_ok()
    }

    pub(crate) async fn finish(self) -> Result<(), tonic::Status> {
        drop(self.tx);
        tokio::time::timeout(Duration::from_secs(10), self.call)
            .await
            .expect("the stream ends")
            .unwrap()
    }
}

/// Polls `check` every 100 ms until it holds or `limit` passes; returns whether it held.
pub(crate) async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asserts `result` failed with `code` and a message containing `needle`.
#[track_caller]
pub(crate) fn refused<T: std::fmt::Debug>(
    result: Result<T, tonic::Status>,
    code: Code,
    needle: &str,
) {
    let e = result.unwrap_err();
    assert_eq!(e.code(), code, "{e:?}");
    assert!(
        e.message().contains(needle),
        "`{needle}` not in: {}",
        e.message()
    );
}

/// Keeps `lease` alive on `stream` (every 300 ms, `TTL` ahead) until a second past the
/// expiry its registration gave.
pub(crate) async fn keep_alive_past_first_expiry(stream: &KeepAlives, lease: &KeepAlive) {
    let first_expiry = portcullis_api::time::to_system_time(lease.expires.unwrap()).unwrap();
    while SystemTime::now() < first_expiry + Duration::from_secs(1) {
        assert!(stream.send(lease, TTL).await, "the server ended the stream");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

pub(crate) const TTL: Duration = Duration::from_secs(2);

/// What every test starts with: a server that never sweeps (in a temporary directory), the
/// admin client and a client of one host, all on one runtime.
pub(crate) struct Setup {
    pub(crate) rt: tokio::runtime::Runtime,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) server: Server,
    pub(crate) admin: Client,
    pub(crate) host: Client,
}

/// A [`Setup`] whose host is `host` with system role `role`.
pub(crate) fn setup(host: &str, role: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    // A server that never sweeps during a test.
    let server = Server::start_with_config(dir.path(), "sweep_interval: 1h\n");
    let rt = rt();
    let (admin, host) = rt.block_on(async {
        let admin = server.admin_client().await;
        (admin, server.host_client(dir.path(), host, role).await)
    });
    Setup {
        rt,
        dir,
        server,
        admin,
        host,
    }
}

/// Registers `server` through `client` and returns its lease.
async fn register(client: &Client, server: ServerV2) -> KeepAlive {
    let mut rpc = client.rpc();
    let lease = match server.kind.as_str() {
        "proxy" => rpc.upsert_proxy(server).await,
        _ => rpc.upsert_node(server).await,
    };
    lease.unwrap().into_inner()
}

/// Sends `keep_alive` on a new stream of `client`, closes it and returns the answer.
pub(crate) async fn one_keep_alive(
    client: &Client,
    keep_alive: KeepAlive,
) -> Result<(), tonic::Status> {
    let stream = KeepAlives::open(client);
    let _ = stream.tx.send(keep_alive).await;
    stream.finish().await
}

#[test]
fn a_node_that_stops_heartbeating_vanishes() {
    let t = setup("node-1", "Node");
    let (server, admin, node) = (&t.server, &t.admin, &t.host);
    t.rt.block_on(async {
        let labels = [("env", "prod"), ("team", "db")];
        let lease = register(node, server_v2("node", "node-1", &labels, Some(TTL))).await;
        assert_eq!(
            (lease.name.as_str(), lease.namespace.as_str()),
            ("node-1", "default")
        );
        assert_eq!(lease.r#type, i32::from(KeepAliveType::Node));
        assert!(lease.lease_id != 0);
        // A node with the default lease (10 minutes) stays throughout.
        register(admin, server_v2("node", "steady", &[], None)).await;

        // Keep-alives carry node-1 well past its first expiry.
        let stream = KeepAlives::open(node);
        keep_alive_past_first_expiry(&stream, &lease).await;
        assert_eq!(node_names(admin, &[]).await, ["node-1", "steady"]);
        let listing = server.pctl_ok(&["nodes", "ls"]);
        assert!(listing.starts_with("NAME"), "{listing}");
        let line = listing.lines().find(|l| l.starts_with("node-1")).unwrap();
        for part in ["node-1.example", "127.0.0.1:3022", "env=prod,team=db"] {
            assert!(line.contains(part), "{part} missing in {listing}");
        }

        // It stops: the stream ends cleanly, and the node vanishes within its TTL.
        stream.finish().await.unwrap();
        let stopped = Instant::now();
        let gone = eventually(TTL + Duration::from_secs(3), || async {
            node_names(admin, &[]).await == ["steady"]
        })
        .await;
        assert!(gone, "still listed: {:?}", node_names(admin, &[]).await);
        assert!(stopped.elapsed() <= TTL + Duration::from_secs(1));
        let listing = server.pctl_ok(&["nodes", "ls"]);
        assert!(
            !listing.contains("node-1") && listing.contains("steady"),
            "{listing}"
        );

        // Its lease is gone with it.
        refused(
            one_keep_alive(node, extended(&lease, TTL)).await,
            Code::NotFound,
            "node `node-1` in namespace `default` is not registered (or its lease expired); \
             register it again",
        );
    });
}

#[test]
fn label_selectors_filter_nodes() {
    let t = setup("node-1", "Node");
    let (server, admin) = (&t.server, &t.admin);
    t.rt.block_on(async {
        for (name, labels) in [
            ("a", &[("env", "prod"), ("team", "db")][..]),
            ("b", &[("env", "dev")][..]),
            ("c", &[("env", "prod")][..]),
        ] {
            register(admin, server_v2("node", name, labels, None)).await;
        }
        assert_eq!(node_names(admin, &[]).await, ["a", "b", "c"]);
        assert_eq!(node_names(admin, &[("env", "prod")]).await, ["a", "c"]);
        let both = [("env", "prod"), ("team", "db")];
        assert_eq!(node_names(admin, &both).await, ["a"]);
        assert_eq!(node_names(admin, &[("team", "*")]).await, ["a"]);
        assert_eq!(node_names(admin, &[("*", "*")]).await, ["a", "b", "c"]);
        assert!(node_names(admin, &[("env", "qa")]).await.is_empty());

        let listing = server.pctl_ok(&["nodes", "ls", "--labels", "env=prod"]);
        let rows: Vec<&str> = listing.lines().skip(1).collect();
        assert_eq!(rows.len(), 2, "{listing}");
        assert!(
            rows[0].starts_with("a ") && rows[1].starts_with("c "),
            "{listing}"
        );
        let json = server.pctl_ok(&["nodes", "ls", "--labels", "env=prod,team=db", "--json"]);
        let nodes: Vec<ServerV2> = serde_json::from_str(&json).unwrap();
        assert_eq!(names(&nodes), ["a"]);
        assert!(nodes[0].metadata.as_ref().unwrap().expires.is_some());
        let none = server.pctl_ok(&["nodes", "ls", "--labels", "env=qa"]);
        assert_eq!(none.trim(), "no nodes");
        let why = err(server.pctl(&["nodes", "ls", "--labels", "env"]));
        assert!(why.contains("`env` is not KEY=VALUE"), "{why}");
    });
}

/// Roles for [`listings_show_only_what_node_labels_grant`]: both may list nodes; one
/// reaches `env: dev` nodes, the other everything but `env: prod`.
const LABEL_ROLES: &str = "kind: role
version: v3
metadata:
  name: dev-nodes
spec:
  allow:
    node_labels: {env: dev}
    rules:
    - resources: [node]
      verbs: [list, read]
---
kind: role
version: v3
metadata:
  name: not-prod
spec:
  allow:
    node_labels: {'*': '*'}
    rules:
    - resources: [node]
      verbs: [list, read]
  deny:
    node_labels: {env: prod}
---
kind: user
version: v2
metadata:
  name: dora
spec:
  roles: [dev-nodes]
---
kind: user
version: v2
metadata:
  name: nico
spec:
  roles: [not-prod]
";

#[test]
fn listings_show_only_what_node_labels_grant() {
    let t = setup("node-1", "Node");
    let (server, admin) = (&t.server, &t.admin);
    t.rt.block_on(async {
        for (name, labels) in [
            ("a", &[("env", "prod")][..]),
            ("b", &[("env", "dev")][..]),
            ("c", &[("env", "qa")][..]),
        ] {
            register(admin, server_v2("node", name, labels, None)).await;
        }
    });
    let roles = write_file(t.dir.path(), "label-roles.yaml", LABEL_ROLES);
    server.pctl_ok(&["create", s(&roles)]);
    let listed = |user: &str| -> Vec<String> {
        let out = server.pctl_as(t.dir.path(), user, &["nodes", "ls", "--json"]);
        let out = portcullis_tests::ok(out);
        let nodes: Vec<ServerV2> = serde_json::from_str(&out).unwrap();
        names(&nodes)
    };
    assert_eq!(listed("dora"), ["b"]);
    assert_eq!(listed("nico"), ["b", "c"], "deny wins over allow");
    // The admin and hosts (proxies route to any node) see every node.
    assert_eq!(server.pctl_ok(&["nodes", "ls"]).lines().count(), 4);
    let host = t.rt.block_on(node_names(&t.host, &[]));
    assert_eq!(host, ["a", "b", "c"]);
}

#[test]
fn hosts_announce_only_themselves_and_listing_needs_rights() {
    let t = setup("node-1", "Node");
    let (server, admin, node) = (&t.server, &t.admin, &t.host);
    t.rt.block_on(async {
        let other = server_v2("node", "node-2", &[], None);
        refused(
            node.rpc().upsert_node(other).await,
            Code::PermissionDenied,
            "host `node-1` may only announce itself, not node `node-2`",
        );
        assert!(node_names(admin, &[]).await.is_empty());

        // Nor keep another node alive, even knowing its lease.
        let other = register(admin, server_v2("node", "node-2", &[], Some(TTL))).await;
        refused(
            one_keep_alive(node, extended(&other, TTL)).await,
            Code::PermissionDenied,
            "not node `node-2`",
        );

        // A node is no proxy.
        let as_proxy = server_v2("proxy", "node-1", &[], None);
        refused(
            node.rpc().upsert_proxy(as_proxy).await,
            Code::PermissionDenied,
            "may not call UpsertProxy",
        );
        assert!(proxy_names(admin).await.is_empty());

        // A proxy may list nodes (its system role reads them), a user without rules not.
        let proxy = server.host_client(t.dir.path(), "proxy-1", "Proxy").await;
        assert_eq!(node_names(&proxy, &[]).await, ["node-2"]);
        let users = write_file(t.dir.path(), "u.yaml", portcullis_tests::ALICE_YAML);
        server.pctl_ok(&["create", s(&users)]);
        let alice = t.dir.path().join("alice");
        server.sign_user("alice", "tls", s(&alice));
        let files = TlsFiles::from_prefix(&alice);
        let alice_client = Client::connect(&server.addr, &files).await.unwrap();
        refused(
            alice_client
                .rpc()
                .get_nodes(GetNodesRequest::default())
                .await,
            Code::PermissionDenied,
            "`alice` may not call GetNodes",
        );
        let why = err(server.pctl_with(&files, &["nodes", "ls"]));
        assert!(why.contains("may not call GetNodes"), "{why}");
        let own = server_v2("node", "alice-box", &[], None);
        refused(
            alice_client.rpc().upsert_node(own).await,
            Code::PermissionDenied,
            "may not call UpsertNode",
        );
        assert_eq!(node_names(admin, &[]).await, ["node-2"]);
    });
}

#[test]
fn bad_servers_are_refused_naming_the_field_and_store_nothing() {
    let t = setup("node-1", "Node");
    let (admin, node) = (&t.admin, &t.host);
    t.rt.block_on(async {
        let good = || server_v2("node", "node-1", &[], None);
        let mut bad_addr = good();
        bad_addr.spec.as_mut().unwrap().addr = "node-1".into();
        let mut bad_namespace = good();
        bad_namespace.metadata.as_mut().unwrap().namespace = "a/b".into();
        let mut past_expiry = good();
        past_expiry.metadata.as_mut().unwrap().expires =
            Some((SystemTime::now() - Duration::from_secs(5)).into());
        let cases = [
            (
                server_v2("proxy", "node-1", &[], None),
                "kind `proxy` given where `node` was expected",
            ),
            (
                server_v2("node", "", &[], None),
                "metadata.name is required",
            ),
            (
                server_v2("node", "node-1", &[("", "x")], None),
                "metadata.labels has an empty key",
            ),
            (bad_addr, "spec.addr `node-1` is not HOST:PORT"),
            (bad_namespace, "invalid namespace name `a/b`"),
            (past_expiry, "metadata.expires"),
        ];
        for (bad, why) in cases {
            for client in [&admin, &node] {
                let answer = client.rpc().upsert_node(bad.clone()).await;
                refused(answer, Code::InvalidArgument, why);
            }
        }
        assert!(node_names(admin, &[]).await.is_empty());
        refused(
            admin
                .rpc()
                .upsert_proxy(server_v2("node", "p", &[], None))
                .await,
            Code::InvalidArgument,
            "kind `node` given where `proxy` was expected",
        );
        assert!(proxy_names(admin).await.is_empty());
    });
}

#[test]
fn keep_alives_with_a_wrong_lease_end_the_stream() {
    let t = setup("node-1", "Node");
    let (admin, node) = (&t.admin, &t.host);
    t.rt.block_on(async {
        let old = register(node, server_v2("node", "node-1", &[], Some(TTL))).await;
        let current = register(node, server_v2("node", "node-1", &[], Some(TTL))).await;
        assert_ne!(old.lease_id, current.lease_id);
        let expiry = || async {
            let request = GetNodesRequest::default();
            let list = admin.rpc().get_nodes(request).await.unwrap().into_inner();
            list.servers[0].metadata.clone().unwrap().expires
        };
        let before = expiry().await;

        // The lease of the previous registration: refused, and nothing changes.
        let stale = extended(&old, Duration::from_secs(600));
        let needle = format!(
            "lease {} is not the current lease of node `node-1`",
            old.lease_id
        );
        refused(
            one_keep_alive(node, stale).await,
            Code::FailedPrecondition,
            &needle,
        );
        assert_eq!(before, expiry().await);

        // Good keep-alives, then a bad one: the stream ends at the bad one.
        let stream = KeepAlives::open(node);
        stream.send(&current, TTL).await;
        stream.send(&current, TTL).await;
        let mut unknown = current.clone();
        unknown.name = "node-9".into();
        stream.send(&unknown, TTL).await;
        // node-1 may not keep node-9 alive; the admin is told node-9 is not registered.
        refused(
            stream.finish().await,
            Code::PermissionDenied,
            "not node `node-9`",
        );
        refused(
            one_keep_alive(admin, extended(&unknown, TTL)).await,
            Code::NotFound,
            "node `node-9` in namespace `default` is not registered",
        );

        // Missing lease, or an expiry in the past: refused as invalid.
        let mut no_lease = current.clone();
        no_lease.lease_id = 0;
        let answer = one_keep_alive(node, no_lease).await;
        refused(answer, Code::InvalidArgument, "has no LeaseID");
        let mut past = current.clone();
        past.expires = Some((SystemTime::now() - Duration::from_secs(5)).into());
        let answer = one_keep_alive(node, past).await;
        refused(answer, Code::InvalidArgument, "keep-alive Expires");
    });
}

#[test]
fn proxies_register_keep_alive_and_vanish() {
    let t = setup("proxy-1", "Proxy");
    let (server, admin, proxy) = (&t.server, &t.admin, &t.host);
    t.rt.block_on(async {
        refused(
            proxy
                .rpc()
                .upsert_proxy(server_v2("proxy", "proxy-2", &[], None))
                .await,
            Code::PermissionDenied,
            "host `proxy-1` may only announce itself, not proxy `proxy-2`",
        );
        let announced = server_v2("proxy", "proxy-1", &[("region", "eu")], Some(TTL));
        let lease = register(proxy, announced).await;
        assert_eq!(lease.r#type, i32::from(KeepAliveType::Proxy));
        // Proxies are not nodes.
        assert!(node_names(admin, &[]).await.is_empty());

        let stream = KeepAlives::open(proxy);
        keep_alive_past_first_expiry(&stream, &lease).await;
        assert_eq!(proxy_names(admin).await, ["proxy-1"]);
        let listing = server.pctl_ok(&["proxies", "ls"]);
        assert!(
            listing.contains("proxy-1") && listing.contains("region=eu"),
            "{listing}"
        );
        // A proxy's lease does not keep a node of the same name alive.
        let mut as_node = lease.clone();
        as_node.r#type = KeepAliveType::Node.into();
        stream.send(&as_node, TTL).await;
        refused(
            stream.finish().await,
            Code::PermissionDenied,
            "may not call SendKeepAlives",
        );

        let gone = eventually(TTL + Duration::from_secs(3), || async {
            proxy_names(admin).await.is_empty()
        })
        .await;
        assert!(gone, "proxy-1 still listed");
        assert_eq!(server.pctl_ok(&["proxies", "ls"]).trim(), "no proxies");
    });
}
