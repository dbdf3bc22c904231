//! Provisioning tokens and joining hosts, against the real binary.

use std::path::Path;
use std::time::Duration;

use portcullis_api::auth::{
    GetTokenRequest, GetTokensRequest, HostCerts, RegisterUsingTokenRequest,
};
use portcullis_api::services::ProvisionTokenV2;
use portcullis_api::{Client, TlsFiles};
use portcullis_ca::ClientKey;
use portcullis_tests::{err, identity_from_pem, ok, rt, s, stderr, write_file, Server};
use tonic::Code;

/// What a joining host has: the host CA (given out of band) and its new key.
pub(crate) struct Joiner {
    host_ca: String,
    key: ClientKey,
}

impl Joiner {
    pub(crate) fn new(server: &Server) -> Joiner {
        Joiner {
            host_ca: server.pctl_ok(&["auth", "export", "--type", "tls-host"]),
            key: ClientKey::generate().unwrap(),
        }
    }

    pub(crate) async fn join(
        &self,
        server: &Server,
        token: &str,
        host_id: &str,
        role: &str,
    ) -> Result<HostCerts, tonic::Status> {
        self.join_as(server, token, host_id, &format!("{host_id}.example"), role)
            .await
    }

    async fn join_as(
        &self,
        server: &Server,
        token: &str,
        host_id: &str,
        node_name: &str,
        role: &str,
    ) -> Result<HostCerts, tonic::Status> {
        let client = Client::connect_to_join(&server.addr, &self.host_ca)
            .await
            .unwrap();
        let request = RegisterUsingTokenRequest {
            token: token.to_owned(),
            host_id: host_id.to_owned(),
            node_name: node_name.to_owned(),
            role: role.to_owned(),
            public_ssh_key: self.key.public_key_openssh().unwrap().into_bytes(),
            public_tls_key: self.key.public_key_pem().unwrap().into_bytes(),
            ..RegisterUsingTokenRequest::default()
        };
        client
            .rpc()
            .register_using_token(request)
            .await
            .map(|r| r.into_inner())
    }

    /// Writes the identity the certificates make, as `PREFIX.crt/.key/.cas`.
    fn write_identity(&self, certs: &HostCerts, prefix: &Path) -> TlsFiles {
        std::fs::write(prefix.with_extension("crt"), &certs.tls).unwrap();
        std::fs::write(
            prefix.with_extension("key"),
            self.key.private_key_pem().unwrap().as_bytes(),
        )
        .unwrap();
        let cas: Vec<u8> = certs.tlsca_certs.concat();
        std::fs::write(prefix.with_extension("cas"), cas).unwrap();
        TlsFiles::from_prefix(prefix)
    }
}

#[test]
fn tokens_are_added_listed_updated_and_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start_with_config(dir, "tokens: ['node:static-node-token']\n");

    let random = server.pctl_ok(&["tokens", "add", "--type", "node,proxy", "--ttl", "1h"]);
    let random = random.trim();
    assert_eq!(random.len(), 32, "{random}");
    assert!(random.bytes().all(|b| b.is_ascii_hexdigit()));
    let chosen = server.pctl_ok(&[
        "tokens",
        "add",
        "--type",
        "trusted_cluster",
        "--value",
        "this-is-a-secure-token-string",
        "--labels",
        "env=staging",
    ]);
    assert_eq!(chosen.trim(), "this-is-a-secure-token-string");

    // Listings mask values unless secrets are asked for.
    let masked = server.pctl_ok(&["tokens", "ls"]);
    assert!(
        !masked.contains(random) && !masked.contains("this-is-a-secure"),
        "{masked}"
    );
    assert!(
        masked.contains("Node,Proxy") && masked.contains("env=staging"),
        "{masked}"
    );
    assert!(
        masked.contains("static=true") && masked.contains("never"),
        "{masked}"
    );
    let full = server.pctl_ok(&["tokens", "ls", "--with-secrets"]);
    assert!(
        full.contains(random) && full.contains("this-is-a-secure-token-string"),
        "{full}"
    );
    assert!(full.contains("static-node-token"), "{full}");

    let rt = rt();
    let admin = rt.block_on(server.admin_client());
    let token = rt
        .block_on(admin.rpc().get_token(GetTokenRequest {
            token: random.to_owned(),
        }))
        .unwrap()
        .into_inner();
    assert_eq!(token.spec.as_ref().unwrap().roles, ["Node", "Proxy"]);
    let expires = token.metadata.as_ref().unwrap().expires.unwrap();
    let left = expires.seconds
        - std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
    assert!((3500..=3600).contains(&left), "{left}");

    // Bad input is refused with the reason, and nothing is stored.
    for (args, reason) in [
        (
            vec!["--type", "node", "--ttl", "49h"],
            "longer than the maximum of 2days",
        ),
        (vec!["--type", "wizard"], "unknown system role `wizard`"),
        (
            vec!["--type", "node", "--value", "short"],
            "at least 8 characters",
        ),
        (
            vec!["--type", "node", "--value", "this-is-a-secure-token-string"],
            "already exists",
        ),
    ] {
        let why = portcullis_tests::err(server.pctl(&[&["tokens", "add"][..], &args].concat()));
        assert!(why.contains(reason), "{args:?}: {why}");
    }
    let count = || {
        rt.block_on(admin.rpc().get_tokens(GetTokensRequest {
            with_secrets: true,
            ..Default::default()
        }))
        .unwrap()
        .into_inner()
        .provision_tokens
        .len()
    };
    assert_eq!(count(), 3);

    // UpsertToken sets no defaults: expiring a token now makes it unusable at once.
    let mut expired: ProvisionTokenV2 = token.clone();
    expired.metadata.as_mut().unwrap().expires =
        Some(prost_types::Timestamp::from(std::time::SystemTime::now()));
    rt.block_on(admin.rpc().upsert_token(expired)).unwrap();
    let err = rt
        .block_on(admin.rpc().get_token(GetTokenRequest {
            token: random.to_owned(),
        }))
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err}");
    let joiner = Joiner::new(&server);
    let err = rt
        .block_on(joiner.join(&server, random, "host-x", "Node"))
        .unwrap_err();
    assert!(err.message().contains("has expired"), "{err}");

    // Removal; static tokens stay.
    server.pctl_ok(&["tokens", "rm", "this-is-a-secure-token-string"]);
    let why = stderr(&server.pctl(&["tokens", "rm", "this-is-a-secure-token-string"]));
    assert!(why.contains("not found"), "{why}");
    let why = portcullis_tests::err(server.pctl(&["tokens", "rm", "static-node-token"]));
    assert!(why.contains("configuration file"), "{why}");
    assert_eq!(count(), 1);

    // Without a rule on `token`, no listing.
    let prefix = dir.join("nobody");
    let role = write_file(
        dir,
        "plain.yaml",
        "kind: role\nversion: v3\nmetadata:\n  name: plain\nspec:\n  allow:\n    rules:\n    - resources: [session]\n      verbs: [list]\n",
    );
    server.pctl_ok(&["create", s(&role)]);
    server.pctl_ok(&["users", "add", "nobody", "--roles", "plain"]);
    server.sign_user("nobody", "tls", s(&prefix));
    let why = stderr(&server.pctl(&[
        "--cert",
        s(&prefix.with_extension("crt")),
        "--key",
        s(&prefix.with_extension("key")),
        "--cas",
        s(&prefix.with_extension("cas")),
        "tokens",
        "ls",
    ]));
    assert!(why.contains("may not call GetTokens"), "{why}");
    server.stop();
}

#[test]
fn hosts_join_with_a_token_and_failures_say_why() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start(&dir.join("data"), &[]);
    let rt = rt();
    let token = server.pctl_ok(&["tokens", "add", "--type", "node"]);
    let token = token.trim();
    let joiner = Joiner::new(&server);

    // A connection without a certificate can join, and nothing else.
    let anonymous = rt
        .block_on(Client::connect_to_join(&server.addr, &joiner.host_ca))
        .unwrap();
    let err = rt.block_on(anonymous.ping()).unwrap_err().to_string();
    assert!(err.contains("no client certificate"), "{err}");

    let certs = rt
        .block_on(joiner.join(&server, token, "node-1", "node"))
        .unwrap();
    let identity = identity_from_pem(&certs.tls);
    assert!(identity.username.starts_with("node-1"), "{identity:?}");
    assert_eq!(identity.system_roles, ["Node"]);
    let ssh = String::from_utf8(certs.ssh.clone()).unwrap();
    assert!(ssh.contains("-cert-v01@openssh.com"), "{ssh}");

    // The new identity works, with the Node role's rights only.
    let files = joiner.write_identity(&certs, &dir.join("node-1"));
    let node = rt.block_on(Client::connect(&server.addr, &files)).unwrap();
    rt.block_on(node.ping()).unwrap();
    let err = rt
        .block_on(node.rpc().get_tokens(GetTokensRequest::default()))
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err}");

    // Failures say why, and no more.
    let err = rt
        .block_on(joiner.join(&server, token, "node-2", "Proxy"))
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(
        err.message().contains("does not allow joining as `Proxy`"),
        "{err}"
    );
    let err = rt
        .block_on(joiner.join(&server, "no-such-token-at-all", "node-2", "Node"))
        .unwrap_err();
    assert_eq!(err.message(), "the provisioning token is not valid");
    let short = server.pctl_ok(&["tokens", "add", "--type", "node", "--ttl", "1s"]);
    std::thread::sleep(Duration::from_millis(1500));
    let err = rt
        .block_on(joiner.join(&server, short.trim(), "node-2", "Node"))
        .unwrap_err();
    assert_eq!(err.message(), "the provisioning token has expired");

    // Concurrent joins with one token all succeed, each with its own identity.
    let joined: Vec<HostCerts> = rt.block_on(async {
        let ids: Vec<String> = (0..16).map(|i| format!("many-{i}")).collect();
        let joins = ids.iter().map(|id| joiner.join(&server, token, id, "Node"));
        futures::future::join_all(joins)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect()
    });
    let mut names: Vec<String> = joined
        .iter()
        .map(|c| identity_from_pem(&c.tls).username)
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 16);

    // Joins are audit events.
    let events = server.pctl_ok(&["audit", "ls", "--event", "join.success"]);
    assert_eq!(events.lines().count(), 17, "{events}");
    let failures = server.pctl_ok(&["audit", "ls", "--event", "join.failure"]);
    assert!(
        failures.contains("does not allow joining as `Proxy`"),
        "{failures}"
    );
    assert!(
        !failures.contains(token),
        "token values stay out of the audit log"
    );

    // Repeated failures from one address stop further attempts from it, even valid ones.
    let mut code = Code::Ok;
    for i in 0..12 {
        let err = rt
            .block_on(joiner.join(&server, "guess-guess-guess", &format!("g-{i}"), "Node"))
            .unwrap_err();
        code = err.code();
    }
    assert_eq!(code, Code::ResourceExhausted);
    let err = rt
        .block_on(joiner.join(&server, token, "late", "Node"))
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err}");
    assert!(err.message().contains("too many failed joins"), "{err}");
    server.stop();
}

const CLUSTER_ROLES: &str = "\
kind: role
version: v3
metadata:
  name: prod-only
spec:
  allow:
    cluster_labels:
      env: prod
    rules:
    - resources: [remote_cluster]
      verbs: [list, read]
---
kind: role
version: v3
metadata:
  name: staging
spec:
  allow:
    cluster_labels:
      env: ['staging', 'dev']
    rules:
    - resources: [remote_cluster]
      verbs: [list, read]
";

#[test]
fn leaf_clusters_inherit_token_labels_and_roles_decide_who_reaches_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start(&dir.join("data"), &[]);
    let rt = rt();
    let roles = write_file(dir, "roles.yaml", CLUSTER_ROLES);
    server.pctl_ok(&["create", s(&roles)]);
    server.pctl_ok(&["users", "add", "pat", "--roles", "prod-only"]);
    server.pctl_ok(&["users", "add", "sam", "--roles", "staging"]);
    let token = server.pctl_ok(&[
        "tokens",
        "add",
        "--type",
        "trusted_cluster",
        "--labels",
        "env=staging",
    ]);
    let joiner = Joiner::new(&server);
    // A leaf joins (and later joins again) as `leaf-1`.
    let join_leaf = || {
        rt.block_on(joiner.join_as(
            &server,
            token.trim(),
            "leaf-host",
            "leaf-1",
            "Trusted_cluster",
        ))
        .unwrap()
    };
    join_leaf();

    let listed = server.pctl_ok(&["get", "rc"]);
    assert!(
        listed.contains("leaf-1") && listed.contains("staging") && listed.contains("online"),
        "{listed}"
    );
    let reach = |user: &str| {
        server.pctl_ok(&[
            "acl",
            "check",
            "--user",
            user,
            "--verb",
            "read",
            "--resource",
            "role",
            "--cluster",
            "leaf-1",
        ])
    };
    assert!(
        reach("sam").contains("cluster access: allowed (allowed by role `staging`"),
        "{}",
        reach("sam")
    );
    assert!(
        reach("pat").contains("cluster access: denied"),
        "{}",
        reach("pat")
    );
    // Listings hold only the clusters a user's cluster_labels reach.
    let sees = |user: &str| ok(server.pctl_as(dir, user, &["get", "rc"])).contains("leaf-1");
    assert!(sees("sam") && !sees("pat"));
    let hidden = err(server.pctl_as(dir, "pat", &["get", "rc/leaf-1"]));
    assert!(
        hidden.contains("remote_cluster `leaf-1` not found"),
        "{hidden}"
    );

    // Relabelling moves access from one role to the other, and a new join keeps the labels.
    server.pctl_ok(&["update", "rc/leaf-1", "--set-labels", "env=prod"]);
    assert!(server.pctl_ok(&["get", "rc/leaf-1"]).contains("prod"));
    assert!(reach("pat").contains("cluster access: allowed (allowed by role `prod-only`"));
    assert!(reach("sam").contains("cluster access: denied"));
    assert!(sees("pat") && !sees("sam"));
    join_leaf();
    assert!(server.pctl_ok(&["get", "rc/leaf-1"]).contains("prod"));

    // Bad input and unknown clusters are named.
    let why = stderr(&server.pctl(&["update", "rc/nowhere", "--set-labels", "env=prod"]));
    assert!(why.contains("remote_cluster `nowhere` not found"), "{why}");
    let why = stderr(&server.pctl(&["update", "role/prod-only", "--set-labels", "env=prod"]));
    assert!(why.contains("labels of remote clusters"), "{why}");
    let err = rt
        .block_on(joiner.join_as(&server, token.trim(), "h", "bad/name", "Trusted_cluster"))
        .unwrap_err();
    assert!(
        err.message()
            .contains("invalid remote_cluster name `bad/name`"),
        "{err}"
    );

    server.pctl_ok(&["rm", "rc/leaf-1"]);
    let why = stderr(&server.pctl(&["get", "rc/leaf-1"]));
    assert!(why.contains("not found"), "{why}");
    server.stop();
}

/// Polls `pctl nodes ls` until `wanted(output)` or the deadline.
fn wait_for_nodes(server: &Server, wanted: impl Fn(&str) -> bool, what: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let out = server.pctl_ok(&["nodes", "ls"]);
        if wanted(&out) {
            return out;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: {out}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_node_process_joins_heartbeats_and_vanishes_when_it_stops() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start(&dir.join("data"), &[]);
    let (token, host_ca) = server.join_token(dir, "node");
    let started = std::time::Instant::now();
    let node = std::process::Command::new(portcullis_tests::bin("node"))
        .args(["--auth-server", &server.addr, "--token", &token])
        .args([
            "--host-ca",
            s(&host_ca),
            "--name",
            "node-7",
            "--labels",
            "env=dev",
        ])
        .args(["--out", s(dir), "--ttl-secs", "3", "--beats", "6"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();

    let listed = wait_for_nodes(
        &server,
        |out| out.contains("node-7"),
        "the node announces itself",
    );
    assert!(listed.contains("env=dev"), "{listed}");
    // Still listed after its first expiry (3 s): the heartbeats extend the lease.
    let first_expiry = started + Duration::from_secs(4);
    std::thread::sleep(first_expiry.saturating_duration_since(std::time::Instant::now()));
    let out = server.pctl_ok(&["nodes", "ls", "--labels", "env=dev"]);
    assert!(out.contains("node-7"), "{out}");

    let done = node.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(
        stdout.contains("joined as `node-7`") && stdout.contains("stopped after 6 heartbeats"),
        "{stdout}"
    );
    // The identity it wrote is a host identity of the Node role.
    let pem = std::fs::read(dir.join("node-7.crt")).unwrap();
    assert_eq!(identity_from_pem(&pem).system_roles, ["Node"]);

    wait_for_nodes(
        &server,
        |out| !out.contains("node-7"),
        "the node vanishes once it stops",
    );
    server.stop();
}

#[test]
fn every_token_role_of_the_reference_joins_with_its_own_rights() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start(&dir.join("data"), &[]);
    let rt = rt();
    let token = server.pctl_ok(&[
        "tokens",
        "add",
        "--type",
        "web,admin,provisiontoken,signup,nop",
    ]);
    let token = token.trim();
    let listed = server.pctl_ok(&["tokens", "ls"]);
    assert!(
        listed.contains("Web,Admin,ProvisionToken,Signup,Nop"),
        "{listed}"
    );
    let joiner = Joiner::new(&server);
    // Joining as a role the token does not list still fails.
    let err = rt
        .block_on(joiner.join(&server, token, "h-node", "Node"))
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err}");

    // What each may do: (role, may list tokens, may list roles, may list users).
    let rights = [
        ("Web", false, true, true),
        ("Admin", true, true, true),
        ("ProvisionToken", false, false, false),
        ("Signup", false, false, false),
        ("Nop", false, false, false),
    ];
    for (role, tokens, roles, users) in rights {
        let host = format!("h-{}", role.to_lowercase());
        let certs = rt
            .block_on(joiner.join(&server, token, &host, role))
            .unwrap_or_else(|e| panic!("{role}: {e}"));
        assert_eq!(identity_from_pem(&certs.tls).system_roles, [role]);
        let files = joiner.write_identity(&certs, &dir.join(&host));
        let client = rt.block_on(Client::connect(&server.addr, &files)).unwrap();
        // Every identity may ping and read the public CAs (the implicit role).
        rt.block_on(client.ping()).unwrap();
        let rpc = client.rpc();
        let answers = rt.block_on(async {
            let mut rpc_tokens = rpc.clone();
            let mut rpc_roles = rpc.clone();
            let mut rpc_users = rpc.clone();
            (
                rpc_tokens.get_tokens(GetTokensRequest::default()).await,
                rpc_roles
                    .get_roles(portcullis_api::auth::GetRolesRequest::default())
                    .await,
                rpc_users
                    .get_users(portcullis_api::auth::GetUsersRequest::default())
                    .await,
            )
        });
        for (what, wanted, answer) in [
            ("tokens", tokens, answers.0.map(|_| ())),
            ("roles", roles, answers.1.map(|_| ())),
            ("users", users, answers.2.map(|_| ())),
        ] {
            match answer {
                Ok(()) => assert!(wanted, "{role} may not list {what}"),
                Err(e) => {
                    assert!(!wanted, "{role} should list {what}: {e}");
                    assert_eq!(e.code(), Code::PermissionDenied, "{role} {what}: {e}");
                }
            }
        }
    }
    let joins = server.pctl_ok(&["audit", "ls", "--event", "join.success"]);
    for role in ["Web", "Admin", "ProvisionToken", "Signup", "Nop"] {
        assert!(joins.contains(role), "{role}: {joins}");
    }
}
