//! End-to-end: certificate issuance against the real binary, checked with real OpenSSH and
//! openssl.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use portcullis_api::auth::{GenerateAppTokenRequest, UserCertsRequest};
use portcullis_api::{Client, TlsFiles};
use portcullis_ca::{ClientKey, Identity};
use portcullis_tests::openssh::{
    ssh_keygen_list, ssh_run, CertListing, KnownHosts, Sshd, SshdOptions,
};
use portcullis_tests::{err, identity_from_pem, ok, rt, run_ok, s, write_file, Server};

const USERS: &str = "\
kind: role
version: v3
metadata:
  name: ops
spec:
  options:
    max_session_ttl: 20h
  allow:
    logins: [root, '{{internal.logins}}']
---
kind: role
version: v3
metadata:
  name: short
spec:
  options:
    max_session_ttl: 1h
    forward_agent: true
---
kind: role
version: v3
metadata:
  name: nologin
spec:
  allow:
    rules:
    - resources: [role]
      verbs: [list]
---
kind: user
version: v2
metadata:
  name: alice
spec:
  roles: [ops]
  traits:
    logins: [alice]
    team: [dba]
---
kind: user
version: v2
metadata:
  name: bob
spec:
  roles: [ops, short]
---
kind: user
version: v2
metadata:
  name: plugin
spec:
  roles: [nologin]
";

fn start_with_users(dir: &Path) -> Server {
    let server = Server::start(&dir.join("data"), &[]);
    let file = write_file(dir, "users.yaml", USERS);
    server.pctl_ok(&["create", s(&file)]);
    server
}

#[test]
fn openssh_accepts_signed_users_and_hosts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = start_with_users(dir);

    let user_ca = server.pctl_ok(&["auth", "export", "--type", "user"]);
    let user_ca_key = user_ca
        .trim()
        .strip_prefix("cert-authority ")
        .unwrap_or_else(|| panic!("an authorized_keys cert-authority line: {user_ca}"));
    let known_hosts = server.pctl_ok(&["auth", "export", "--type", "host"]);
    assert!(
        known_hosts.starts_with("@cert-authority * "),
        "{known_hosts}"
    );

    let alice = dir.join("alice");
    server.sign_user("alice", "openssh", s(&alice));
    let node = dir.join("node");
    server.pctl_ok(&[
        "auth",
        "sign",
        "--host",
        "node-1,127.0.0.1",
        "--format",
        "openssh",
        "--out",
        s(&node),
    ]);
    let host_private = std::fs::read_to_string(&node).unwrap();
    let host_cert = std::fs::read_to_string(dir.join("node-cert.pub")).unwrap();
    let sshd = Sshd::start(SshdOptions {
        trusted_user_ca_keys: user_ca_key.to_owned(),
        host_key: Some((host_private, host_cert)),
        ..Default::default()
    });

    // A user certificate from `pctl auth sign` logs in, and the host certificate is
    // accepted through the exported @cert-authority line without a prompt.
    let alice_cert = dir.join("alice-cert.pub");
    let out = ssh_run(
        sshd.port(),
        "root",
        &alice,
        Some(&alice_cert),
        KnownHosts::Strict(known_hosts.clone()),
        "echo logged-in",
    );
    assert!(
        out.status.success(),
        "ssh failed: {}\nsshd log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        sshd.log()
    );
    assert!(String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == "logged-in"));

    // The certificate says what it should.
    let listing = CertListing::parse(&ssh_keygen_list(&alice_cert));
    assert_eq!(listing.key_id, "alice");
    let mut principals = listing.principals.clone();
    principals.sort();
    assert_eq!(principals, ["alice", "root"]);
    for ext in [
        "permit-pty",
        "permit-port-forwarding",
        "roles@portcullis",
        "traits@portcullis",
    ] {
        assert!(
            listing.extensions.iter().any(|e| e.starts_with(ext)),
            "{ext} missing from {:?}",
            listing.extensions
        );
    }
    assert!(!listing
        .extensions
        .iter()
        .any(|e| e.starts_with("permit-agent-forwarding")));
    let host_listing = CertListing::parse(&ssh_keygen_list(&dir.join("node-cert.pub")));
    assert_eq!(host_listing.kind, "host", "{host_listing:?}");
    assert_eq!(
        host_listing
            .principals
            .iter()
            .filter(|p| *p == "node-1")
            .count(),
        1
    );
    assert!(host_listing.principals.contains(&"127.0.0.1".to_owned()));
    assert!(host_listing.principals.contains(&"node-1".to_owned()));

    // An expired certificate is refused.
    let expired = dir.join("expired");
    server.pctl_ok(&[
        "auth",
        "sign",
        "--user",
        "alice",
        "--format",
        "openssh",
        "--ttl",
        "1s",
        "--out",
        s(&expired),
    ]);
    std::thread::sleep(Duration::from_millis(2500));
    let out = ssh_run(
        sshd.port(),
        "root",
        &expired,
        Some(&dir.join("expired-cert.pub")),
        KnownHosts::Strict(known_hosts.clone()),
        "true",
    );
    assert!(!out.status.success(), "an expired certificate logged in");

    // A certificate from a foreign CA is refused.
    let foreign_ca = dir.join("foreign_ca");
    run_ok(Command::new("ssh-keygen").args([
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-f",
        s(&foreign_ca),
    ]));
    let foreign = dir.join("foreign");
    run_ok(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f", s(&foreign)]));
    run_ok(Command::new("ssh-keygen").args([
        "-q",
        "-s",
        s(&foreign_ca),
        "-I",
        "alice",
        "-n",
        "root",
        "-V",
        "+1h",
        s(&dir.join("foreign.pub")),
    ]));
    let out = ssh_run(
        sshd.port(),
        "root",
        &foreign,
        Some(&dir.join("foreign-cert.pub")),
        KnownHosts::Strict(known_hosts),
        "true",
    );
    assert!(!out.status.success(), "a foreign certificate logged in");

    // A host certificate from another cluster's host CA fails host verification.
    let other = Server::start(&dir.join("other"), &["--cluster-name", "other"]);
    let other_known = other.pctl_ok(&["auth", "export", "--type", "host"]);
    let out = ssh_run(
        sshd.port(),
        "root",
        &alice,
        Some(&alice_cert),
        KnownHosts::Strict(other_known),
        "true",
    );
    let why = err(out);
    assert!(why.contains("Host key verification failed"), "{why}");
}

#[test]
fn a_user_without_logins_gets_no_ssh_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start_with_users(tmp.path());
    let why = err(server.pctl(&[
        "auth",
        "sign",
        "--user",
        "plugin",
        "--format",
        "openssh",
        "--out",
        s(&tmp.path().join("plugin")),
    ]));
    assert!(why.contains("no logins"), "{why}");
    assert!(!tmp.path().join("plugin").exists(), "nothing half-written");
    // The TLS identity is what such a user needs, and it works.
    let prefix = tmp.path().join("plugin");
    server.sign_user("plugin", "tls", s(&prefix));
    rt().block_on(async {
        let client = Client::connect(&server.addr, &TlsFiles::from_prefix(&prefix))
            .await
            .unwrap();
        client.ping().await.unwrap();
    });
}

#[test]
fn tls_identities_verify_with_openssl_and_work_with_pctl_and_the_client() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = start_with_users(dir);
    let prefix = dir.join("alice");
    server.sign_user("alice", "tls", s(&prefix));
    let crt = dir.join("alice.crt");
    let cas = dir.join("alice.cas");
    let verified = run_ok(Command::new("openssl").args(["verify", "-CAfile", s(&cas), s(&crt)]));
    assert!(verified.contains(": OK"), "{verified}");
    let subject = run_ok(Command::new("openssl").args([
        "x509",
        "-noout",
        "-subject",
        "-nameopt",
        "RFC2253",
        "-in",
        s(&crt),
    ]));
    for part in ["CN=alice", "O=ops", "L=root", "L=alice"] {
        assert!(subject.contains(part), "{part} missing from {subject}");
    }
    // Files are private.
    use std::os::unix::fs::PermissionsExt;
    for ext in ["crt", "key", "cas"] {
        let mode = std::fs::metadata(dir.join(format!("alice.{ext}")))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "alice.{ext} is private");
    }
    // Existing files are not overwritten without --overwrite.
    let why = err(server.pctl(&[
        "auth",
        "sign",
        "--user",
        "alice",
        "--format",
        "tls",
        "--out",
        s(&prefix),
    ]));
    assert!(why.contains("--overwrite"));

    // pctl works with the identity (reads are open to every user).
    ok(server.pctl_with(&TlsFiles::from_prefix(&prefix), &["status"]));

    // The single-file format works with pctl -i and with the client crate.
    let id_file = dir.join("alice.identity");
    server.pctl_ok(&["auth", "sign", "--user", "alice", "--out", s(&id_file)]);
    run_ok(Command::new(portcullis_tests::bin("pctl")).args([
        "--auth-server",
        &server.addr,
        "-i",
        s(&id_file),
        "status",
    ]));
    rt().block_on(async {
        let client = Client::connect(&server.addr, &TlsFiles::identity_file(&id_file))
            .await
            .unwrap();
        assert!(!client.ping().await.unwrap().cluster_name.is_empty());
        // Not the admin: writes are refused.
        let err = client
            .create_role(portcullis_tests::role("x"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("alice"), "{err}");
    });

    // Host TLS identities verify too.
    let host = dir.join("host");
    server.pctl_ok(&[
        "auth",
        "sign",
        "--host",
        "node-1",
        "--format",
        "tls",
        "--out",
        s(&host),
    ]);
    let verified = run_ok(Command::new("openssl").args([
        "verify",
        "-CAfile",
        s(&dir.join("host.cas")),
        s(&dir.join("host.crt")),
    ]));
    assert!(verified.contains(": OK"), "{verified}");
}

fn user_request(key: &ClientKey, user: &str, ttl: Option<Duration>) -> UserCertsRequest {
    UserCertsRequest {
        public_key: key.public_key_openssh().unwrap().into_bytes(),
        username: user.into(),
        expires: ttl.map(|t| (SystemTime::now() + t).into()),
        ..Default::default()
    }
}

fn lifetime(identity: &Identity) -> Duration {
    identity
        .expires
        .unwrap()
        .duration_since(SystemTime::now())
        .unwrap()
}

#[test]
fn generate_user_certs_applies_ttls_roles_and_permissions() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start_with_users(tmp.path());
    rt().block_on(async {
        let admin = server.admin_client().await;
        let key = ClientKey::generate().unwrap();
        let hour = Duration::from_secs(3600);

        // Default 12 h.
        let certs = admin
            .rpc()
            .generate_user_certs(user_request(&key, "alice", None))
            .await
            .unwrap()
            .into_inner();
        let id = identity_from_pem(&certs.tls);
        assert_eq!(id.username, "alice");
        assert_eq!(id.roles, ["ops"]);
        assert_eq!(id.traits["team"], ["dba"]);
        let left = lifetime(&id);
        assert!(left > 11 * hour && left <= 12 * hour, "{left:?}");
        assert!(!certs.ssh.is_empty());
        // Capped by the role's max_session_ttl (20 h) and by 30 h.
        let certs = admin
            .rpc()
            .generate_user_certs(user_request(&key, "alice", Some(100 * hour)))
            .await
            .unwrap()
            .into_inner();
        let left = lifetime(&identity_from_pem(&certs.tls));
        assert!(left > 19 * hour && left <= 20 * hour, "{left:?}");
        // The shortest role wins: bob holds `short` (1 h).
        let certs = admin
            .rpc()
            .generate_user_certs(user_request(&key, "bob", Some(10 * hour)))
            .await
            .unwrap()
            .into_inner();
        let left = lifetime(&identity_from_pem(&certs.tls));
        assert!(
            left <= hour && left > hour - Duration::from_secs(60),
            "{left:?}"
        );

        // Bad input is refused with a reason.
        let mut bad = user_request(&key, "alice", None);
        bad.public_key = b"ssh-ed25519 not-base64!".to_vec();
        let err = admin.rpc().generate_user_certs(bad).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
        assert!(err.message().contains("key"), "{err:?}");
        let err = admin
            .rpc()
            .generate_user_certs(user_request(&key, "nobody", None))
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::NotFound, "{err:?}");
        let mut past = user_request(&key, "alice", None);
        past.expires = Some((SystemTime::now() - hour).into());
        let err = admin.rpc().generate_user_certs(past).await.unwrap_err();
        assert!(err.message().contains("past"), "{err:?}");
        let mut remote = user_request(&key, "alice", None);
        remote.route_to_cluster = "elsewhere".into();
        let err = admin.rpc().generate_user_certs(remote).await.unwrap_err();
        assert!(err.message().contains("elsewhere"), "{err:?}");
        let mut with_request = user_request(&key, "alice", None);
        with_request.access_requests = vec!["r1".into()];
        let err = admin
            .rpc()
            .generate_user_certs(with_request)
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::PermissionDenied, "{err:?}");
        assert!(
            err.message().contains("access request `r1` does not exist"),
            "{err:?}"
        );

        // A PEM public key gets a TLS certificate for that key.
        let mut pem = user_request(&key, "alice", None);
        pem.public_key = key.public_key_pem().unwrap().into_bytes();
        let certs = admin
            .rpc()
            .generate_user_certs(pem)
            .await
            .unwrap()
            .into_inner();
        assert!(!certs.tls.is_empty());

        // A user may sign only for itself.
        let prefix = tmp.path().join("alice");
        server.sign_user("alice", "tls", s(&prefix));
        let alice = Client::connect(&server.addr, &TlsFiles::from_prefix(&prefix))
            .await
            .unwrap();
        let own = alice
            .rpc()
            .generate_user_certs(user_request(&key, "alice", None))
            .await;
        assert!(own.is_ok(), "{own:?}");
        let err = alice
            .rpc()
            .generate_user_certs(user_request(&key, "bob", None))
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::PermissionDenied, "{err:?}");
    });
}

#[test]
fn jwt_authority_signs_app_tokens_and_exports_a_key_set() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"), &[]);
    let jwks: serde_json::Value =
        serde_json::from_str(&server.pctl_ok(&["auth", "export", "--type", "jwt"])).unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{jwks}");
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[0]["crv"], "Ed25519");
    rt().block_on(async {
        let admin = server.admin_client().await;
        let token = admin
            .rpc()
            .generate_app_token(GenerateAppTokenRequest {
                username: "alice".into(),
                roles: vec!["dev".into()],
                uri: "https://grafana.example.com".into(),
                expires: None,
            })
            .await
            .unwrap()
            .into_inner()
            .token;
        let public = portcullis_tests::jwt_public_key(&admin).await;
        let claims = portcullis_ca::verify_app_token(&token, &public, SystemTime::now()).unwrap();
        assert_eq!(claims.username, "alice");
        assert_eq!(claims.roles, ["dev"]);
        assert_eq!(claims.uri, "https://grafana.example.com");
    });
}

#[test]
fn configured_key_algorithms_work_with_openssh() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start_with_config(
        dir,
        "ca:\n  ssh_algorithm: rsa3072\n  jwt_algorithm: rs256\n",
    );
    let users = write_file(dir, "users.yaml", USERS);
    server.pctl_ok(&["create", s(&users)]);

    let user_ca = server.pctl_ok(&["auth", "export", "--type", "user"]);
    let user_ca_key = user_ca.trim().strip_prefix("cert-authority ").unwrap();
    assert!(user_ca_key.starts_with("ssh-rsa "), "{user_ca}");
    let jwks: serde_json::Value =
        serde_json::from_str(&server.pctl_ok(&["auth", "export", "--type", "jwt"])).unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "RSA", "{jwks}");

    let alice = dir.join("alice");
    server.sign_user("alice", "openssh", s(&alice));
    let cert = dir.join("alice-cert.pub");
    let listing = CertListing::parse(&ssh_keygen_list(&cert));
    assert!(listing.signing_ca.starts_with("RSA"), "{listing:?}");
    let sshd = Sshd::start(SshdOptions {
        trusted_user_ca_keys: user_ca_key.to_owned(),
        ..Default::default()
    });
    let out = ssh_run(
        sshd.port(),
        "root",
        &alice,
        Some(&cert),
        KnownHosts::AcceptNew,
        "echo rsa-ok",
    );
    assert!(
        out.status.success(),
        "ssh with an RSA CA failed: {}\nsshd log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        sshd.log()
    );

    // A misspelled algorithm is refused at start with the setting named.
    let bad = write_file(dir, "bad.yaml", "ca:\n  ssh_algorithm: dsa\n");
    let out = Command::new(portcullis_tests::bin("portcullis"))
        .args([
            "start",
            "--data-dir",
            s(&dir.join("bad")),
            "--config",
            s(&bad),
        ])
        .output()
        .unwrap();
    let why = err(out);
    assert!(why.contains("ca.ssh_algorithm"), "{why}");
}

#[test]
fn host_certificates_take_a_ttl_and_users_only_existing_roles() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let server = Server::start(&dir.join("data"), &[]);

    // A host certificate for an hour: both certificates say so.
    let prefix = dir.join("host-h1");
    server.pctl_ok(&[
        "auth",
        "sign",
        "--host",
        "h1",
        "--role",
        "Node",
        "--ttl",
        "1h",
        "--format",
        "tls",
        "--out",
        s(&prefix),
    ]);
    let pem = std::fs::read(TlsFiles::from_prefix(&prefix).cert).unwrap();
    let left = lifetime(&identity_from_pem(&pem));
    assert!(
        left > Duration::from_secs(3300) && left <= Duration::from_secs(3600),
        "{left:?}"
    );
    let ssh = dir.join("host-h1-ssh");
    server.pctl_ok(&[
        "auth",
        "sign",
        "--host",
        "h1",
        "--ttl",
        "30m",
        "--format",
        "openssh",
        "--out",
        s(&ssh),
    ]);
    let cert_text = std::fs::read_to_string(dir.join("host-h1-ssh-cert.pub")).unwrap();
    let cert = ssh_key::Certificate::from_openssh(cert_text.trim()).unwrap();
    assert_eq!(
        cert.valid_before() - cert.valid_after(),
        30 * 60 + 60,
        "{cert_text}"
    );
    let too_long = err(server.pctl(&[
        "auth",
        "sign",
        "--host",
        "h2",
        "--ttl",
        "2years",
        "--format",
        "tls",
        "--out",
        s(&dir.join("host-h2")),
    ]));
    assert!(too_long.contains("longer than the maximum"), "{too_long}");

    // A user naming a role that does not exist is refused, and not written.
    let refused = err(server.pctl(&["users", "add", "dave", "--roles", "admin,nope"]));
    assert!(
        refused.contains("role `nope`, which does not exist"),
        "{refused}"
    );
    let missing = err(server.pctl(&["get", "user/dave"]));
    assert!(missing.contains("not found"), "{missing}");
    server.pctl_ok(&["users", "add", "dave", "--roles", "admin"]);
}
