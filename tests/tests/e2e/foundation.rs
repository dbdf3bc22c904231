//! End-to-end: bootstrap, resources through `pctl`, mTLS refusal, admin-only writes.

use std::time::{Duration, SystemTime};

use portcullis_api::auth::GetCertAuthorityRequest;
use portcullis_api::documents::{parse_documents, Document};
use portcullis_api::{Client, TlsFiles};
use std::process::Command;

use portcullis_tests::{
    err, rt, run_ok, s, write_file, Server, SEED_API_ADMIN_YAML, SEED_RSCS_YAML,
};

/// Clears the server-assigned revision so documents compare on content.
fn without_id(doc: Document) -> Document {
    match doc {
        Document::User(mut u) => {
            let md = u.metadata.as_mut().unwrap();
            assert!(md.id > 0, "server assigns a revision");
            md.id = 0;
            Document::User(u)
        }
        Document::Role(mut r) => {
            let md = r.metadata.as_mut().unwrap();
            assert!(md.id > 0, "server assigns a revision");
            md.id = 0;
            Document::Role(r)
        }
        other => other,
    }
}

#[test]
fn seed_resources_round_trip_through_pctl() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"), &[]);
    for (name, yaml) in [
        ("rscs.yaml", SEED_RSCS_YAML),
        ("api-admin.yaml", SEED_API_ADMIN_YAML),
    ] {
        let file = write_file(tmp.path(), name, yaml);
        let out = server.pctl_ok(&["create", s(&file)]);
        assert!(out.contains("has been created"), "{out}");
        let expected = parse_documents(yaml).unwrap();
        assert_eq!(expected.len(), 2);
        for doc in expected {
            let what = format!("{}/{}", doc.kind(), doc.name());
            let yaml_out = server.pctl_ok(&["get", &what]);
            let mut back = parse_documents(&yaml_out).unwrap();
            assert_eq!(back.len(), 1, "{yaml_out}");
            assert_eq!(without_id(back.remove(0)), doc, "{what} reads back equal");
            let json_out = server.pctl_ok(&["get", &what, "--format", "json"]);
            let json: serde_json::Value = serde_json::from_str(&json_out).unwrap();
            assert_eq!(json[0]["metadata"]["name"], doc.name());
            assert_eq!(json[0]["kind"], doc.kind());
        }
        // Without -f an existing resource is an error; with -f it is overwritten.
        let why = err(server.pctl(&["create", s(&file)]));
        assert!(why.contains("already exists"), "{why}");
        server.pctl_ok(&["create", "-f", s(&file)]);
    }
    let roles = server.pctl_ok(&["get", "roles"]);
    assert_eq!(parse_documents(&roles).unwrap().len(), 2, "{roles}");
    let users = server.pctl_ok(&["users", "ls"]);
    assert!(
        users.contains("access-plugin") && users.contains("api-admin"),
        "{users}"
    );

    for what in [
        "user/access-plugin",
        "role/access-plugin",
        "user/api-admin",
        "role/api-admin",
    ] {
        server.pctl_ok(&["rm", what]);
        let why = err(server.pctl(&["get", what]));
        assert!(why.contains("not found"), "{why}");
    }
    let roles = server.pctl_ok(&["get", "roles"]);
    assert!(parse_documents(&roles).unwrap().is_empty(), "{roles}");
    server.stop();
}

#[test]
fn pctl_users_and_status() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"), &["--cluster-name", "alpha"]);
    // The roles a user names must exist.
    for role in ["dev", "ops"] {
        let yaml = format!("kind: role\nversion: v3\nmetadata:\n  name: {role}\nspec: {{}}\n");
        let file = portcullis_tests::write_file(tmp.path(), &format!("{role}.yaml"), &yaml);
        server.pctl_ok(&["create", portcullis_tests::s(&file)]);
    }
    server.pctl_ok(&[
        "users",
        "add",
        "alice",
        "--roles",
        "dev,ops",
        "--logins",
        "alice,root",
    ]);
    let user = server.pctl_ok(&["get", "user/alice"]);
    let docs = parse_documents(&user).unwrap();
    let Document::User(u) = &docs[0] else {
        panic!("not a user: {user}")
    };
    let spec = u.spec.as_ref().unwrap();
    assert_eq!(spec.roles, ["dev", "ops"]);
    assert_eq!(spec.traits["logins"].values, ["alice", "root"]);
    err(server.pctl(&["users", "add", "alice", "--roles", "dev"]));
    server.pctl_ok(&["users", "rm", "alice"]);
    assert!(!server.pctl_ok(&["users", "ls"]).contains("alice"));

    let status = server.pctl_ok(&["status"]);
    assert!(status.contains("Cluster:  alpha"), "{status}");
    assert!(status.contains(env!("CARGO_PKG_VERSION")), "{status}");
    for ca in ["host", "user", "jwt"] {
        let line = status.lines().find(|l| l.starts_with(&format!("{ca} CA:")));
        assert!(
            line.is_some_and(|l| l.ends_with("rotation standby")),
            "{status}"
        );
    }
    assert_eq!(status.matches("active  SHA256:").count(), 2, "{status}");
    server.stop();
}

/// Makes a CA and a client certificate with the openssl command line.
fn openssl_foreign_identity(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let run = |args: &[&str]| run_ok(Command::new("openssl").args(args).current_dir(dir));
    run(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "evil-ca.key",
        "-out",
        "evil-ca.crt",
        "-subj",
        "/CN=evil ca",
        "-days",
        "2",
    ]);
    run(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "evil.key",
        "-out",
        "evil.csr",
        "-subj",
        "/CN=admin/O=admin",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "evil.csr",
        "-CA",
        "evil-ca.crt",
        "-CAkey",
        "evil-ca.key",
        "-CAcreateserial",
        "-out",
        "evil.crt",
        "-days",
        "1",
    ]);
    (dir.join("evil.crt"), dir.join("evil.key"))
}

/// Connects with `tls` and pings: the first point where a refused handshake shows.
async fn ping_with(
    addr: &str,
    tls: tonic::transport::ClientTlsConfig,
) -> portcullis_api::Result<()> {
    Client::connect_with(addr, tls)
        .await?
        .ping()
        .await
        .map(drop)
}

#[test]
fn connections_without_a_cluster_certificate_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"), &[]);
    let rt = rt();
    let cas = server.data_dir.join("admin.cas");

    // The admin identity works.
    rt.block_on(async { server.admin_client().await.ping().await.unwrap() });

    // No client certificate at all.
    let ca_pem = std::fs::read_to_string(&cas).unwrap();
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(ca_pem))
        .domain_name(portcullis_api::AUTH_SERVER_NAME);
    let anonymous = rt.block_on(ping_with(&server.addr, tls));
    assert!(
        anonymous.is_err(),
        "a connection without a client certificate must fail"
    );

    // A client certificate from another CA (made with openssl).
    let (crt, key) = openssl_foreign_identity(tmp.path());
    let foreign_tls = portcullis_api::load_tls_config(&TlsFiles::new(&crt, &key, &cas)).unwrap();
    let foreign = rt.block_on(ping_with(&server.addr, foreign_tls));
    assert!(
        foreign.is_err(),
        "a certificate from another CA must be refused"
    );
    let out = server.pctl(&[
        "--cert",
        s(&crt),
        "--key",
        s(&key),
        "--cas",
        s(&cas),
        "get",
        "roles",
    ]);
    assert!(
        !out.status.success(),
        "pctl with a foreign certificate must fail"
    );

    // The server keeps serving.
    rt.block_on(async { server.admin_client().await.ping().await.unwrap() });
    server.stop();
}

#[test]
fn callers_get_only_what_their_roles_allow() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"), &[]);
    let rt = rt();
    rt.block_on(async {
        let admin = server.admin_client().await;
        // Secrets leave only to the admin; use them to mint a non-admin identity.
        let ca = admin
            .rpc()
            .get_cert_authority(GetCertAuthorityRequest {
                r#type: "user".into(),
                domain_name: String::new(),
                with_secrets: true,
            })
            .await
            .unwrap()
            .into_inner();
        let pair = &ca.spec.unwrap().active_keys.unwrap().tls[0];
        let user_ca = portcullis_ca::TlsAuthority::from_pem(
            std::str::from_utf8(&pair.cert).unwrap(),
            std::str::from_utf8(&pair.key).unwrap(),
        )
        .unwrap();
        let identity = portcullis_ca::Identity::new("bob", vec!["dev".into()]);
        let issued = user_ca
            .issue_client_cert(&identity, None, SystemTime::now(), Duration::from_secs(600))
            .unwrap();
        let dir = tmp.path();
        let crt = write_file(dir, "bob.crt", &issued.cert_pem);
        let key = write_file(dir, "bob.key", issued.key_pem.as_ref().unwrap());
        let bob = Client::connect(
            &server.addr,
            &TlsFiles::new(crt, key, dir.join("data/admin.cas")),
        )
        .await
        .unwrap();

        // Without roles a caller may ping and read the CAs' public parts (the implicit
        // role), nothing else: no role reads, no secrets, no writes.
        bob.ping().await.unwrap();
        let err = bob.get_roles().await.unwrap_err();
        assert!(err.to_string().contains("may not call GetRoles"), "{err}");
        let public = bob
            .rpc()
            .get_cert_authority(GetCertAuthorityRequest {
                r#type: "user".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            public.spec.unwrap().active_keys.unwrap().tls[0]
                .key
                .is_empty(),
            "no private key without secrets"
        );
        let denied = bob
            .rpc()
            .get_cert_authority(GetCertAuthorityRequest {
                r#type: "user".into(),
                with_secrets: true,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(denied.code(), tonic::Code::PermissionDenied);
        let role = parse_documents(SEED_RSCS_YAML).unwrap().remove(1);
        let Document::Role(role) = role else {
            panic!("second document is the role")
        };
        let err = bob.upsert_role((*role).clone()).await.unwrap_err();
        assert!(
            err.to_string().contains("PermissionDenied") || err.to_string().contains("permission"),
            "{err}"
        );
        assert!(bob.delete_user("admin").await.is_err());
        admin.upsert_role(*role).await.unwrap();
        assert!(bob.delete_role("access-plugin").await.is_err());
        assert_eq!(admin.get_roles().await.unwrap().len(), 1);
    });
    server.stop();
}

#[test]
fn expired_resources_disappear() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_with_config(tmp.path(), "sweep_interval: 1s\n");
    rt().block_on(async {
        let client = server.admin_client().await;
        let expires = SystemTime::now() + Duration::from_secs(2);
        let secs = expires
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let role = portcullis_api::services::RoleV3 {
            metadata: Some(portcullis_api::services::Metadata {
                name: "temp".into(),
                expires: Some(prost_types::Timestamp {
                    seconds: secs,
                    nanos: 0,
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        client.upsert_role(role).await.unwrap();
        let stored = client.get_role("temp").await.unwrap();
        assert_eq!(stored.metadata.unwrap().expires.unwrap().seconds, secs);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let err = client.get_role("temp").await.unwrap_err();
        assert!(err.to_string().contains("not found"), "{err}");
        assert!(client.get_roles().await.unwrap().is_empty());
    });
    server.stop();
}

#[test]
fn auth_export_prints_what_openssh_and_openssl_read() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"), &[]);
    let user = server.pctl_ok(&["auth", "export", "--type", "user"]);
    assert!(
        user.starts_with("cert-authority ssh-ed25519 AAAA"),
        "{user}"
    );
    let host = server.pctl_ok(&["auth", "export", "--type", "host"]);
    assert!(
        host.starts_with("@cert-authority * ssh-ed25519 AAAA"),
        "{host}"
    );
    assert_ne!(
        user.split(' ').nth(2),
        host.split(' ').nth(3),
        "user and host keys differ"
    );
    // ssh-keygen reads the exported key.
    let key = write_file(
        tmp.path(),
        "user_ca.pub",
        user.trim_start_matches("cert-authority "),
    );
    let listed = run_ok(Command::new("ssh-keygen").arg("-l").arg("-f").arg(&key));
    assert!(listed.contains("(ED25519)"), "{listed}");
    // The TLS host CA is what the admin identity trusts the server with, and openssl
    // verifies the admin certificate against the TLS user CA.
    let tls_host = server.pctl_ok(&["auth", "export", "--type", "tls-host"]);
    let cas = std::fs::read_to_string(server.data_dir.join("admin.cas")).unwrap();
    assert_eq!(tls_host.trim(), cas.trim());
    let tls_user = write_file(
        tmp.path(),
        "user_ca.pem",
        &server.pctl_ok(&["auth", "export", "--type", "tls-user"]),
    );
    run_ok(
        Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(&tls_user)
            .arg(server.data_dir.join("admin.crt")),
    );
    // Private SSH keys never leave without the secrets permission.
    let ca = server.pctl_ok(&["get", "cert_authority/user", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&ca).unwrap();
    let ssh = &json[0]["spec"]["active_keys"]["ssh"][0];
    assert!(
        ssh["public_key"].is_string() && ssh.get("private_key").is_none(),
        "{ssh}"
    );
    server.stop();
}
