//! Identity confusion over the API: client certificates that must not be taken for what
//! they claim, each refused at the TLS handshake, with the server still serving its own.

use std::process::Command;

use portcullis_api::auth::{RegisterUsingTokenRequest, UserCertsRequest};
use portcullis_api::{Client, TlsFiles};
use portcullis_tests::{role, run_ok, s, stderr, Server};
use tonic::Code;

/// The admin identity of another cluster is refused: its CA is not this cluster's user CA.
#[test]
fn another_clusters_admin_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let ours = Server::start(&tmp.path().join("ours"), &["--cluster-name", "ours"]);
    let theirs = Server::start(&tmp.path().join("theirs"), &["--cluster-name", "theirs"]);
    let their_admin = theirs.admin_files();
    // Trusting our server's CA, so that only the client certificate is in question.
    let files = TlsFiles::new(&their_admin.cert, &their_admin.key, &ours.admin_files().cas);
    let out = ours.pctl_with(&files, &["get", "roles"]);
    assert!(!out.status.success(), "another cluster's admin was served");
    let log = ours.log();
    assert!(log.contains("tls handshake failed"), "{log}");
    ours.pctl_ok(&["get", "roles"]);
    theirs.stop();
    ours.stop();
}

/// A client certificate whose identity was edited after signing (the first `admin` in it
/// made `admio`, same length) no longer verifies and is refused.
#[test]
fn an_edited_identity_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"), &[]);
    let admin = server.admin_files();
    let der_path = tmp.path().join("admin.der");
    run_ok(Command::new("openssl").args([
        "x509",
        "-in",
        s(&admin.cert),
        "-outform",
        "DER",
        "-out",
        s(&der_path),
    ]));
    let mut der = std::fs::read(&der_path).unwrap();
    let at = der
        .windows(5)
        .position(|w| w == b"admin")
        .expect("the admin's name in its certificate");
    der[at + 4] = b'o';
    std::fs::write(&der_path, &der).unwrap();
    let edited = tmp.path().join("edited.crt");
    run_ok(Command::new("openssl").args([
        "x509",
        "-inform",
        "DER",
        "-in",
        s(&der_path),
        "-out",
        s(&edited),
    ]));
    let files = TlsFiles::new(&edited, &admin.key, &admin.cas);
    let out = server.pctl_with(&files, &["get", "roles"]);
    assert!(!out.status.success(), "an edited certificate was served");
    let log = server.log();
    assert!(
        log.contains("tls handshake failed"),
        "{log}\n{}",
        stderr(&out)
    );
    server.pctl_ok(&["get", "roles"]);
    server.stop();
}

/// A host's certificate does not act as a user: a node can neither have the admin's
/// certificates signed nor change roles.
#[test]
fn a_host_certificate_is_not_a_user() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"), &[]);
    portcullis_tests::rt().block_on(async {
        let node = server.host_client(tmp.path(), "node-1", "Node").await;
        let key = portcullis_ca::ClientKey::generate().unwrap();
        let request = UserCertsRequest {
            public_key: key.public_key_openssh().unwrap().into_bytes(),
            username: "admin".into(),
            ..UserCertsRequest::default()
        };
        let status = node.rpc().generate_user_certs(request).await.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
        let status = node.rpc().upsert_role(role("rogue")).await.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    });
    assert!(server.pctl_ok(&["get", "roles"]).find("rogue").is_none());
    server.stop();
}

/// A user's certificate on the connection cannot be used to join as a host, even with a
/// valid token; the token still joins a host that presents no certificate.
#[test]
fn a_user_certificate_cannot_join_as_a_host() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"), &[]);
    let (token, _) = server.join_token(tmp.path(), "Node");
    let key = portcullis_ca::ClientKey::generate().unwrap();
    let request = RegisterUsingTokenRequest {
        token,
        host_id: "node-1".into(),
        node_name: "node-1".into(),
        role: "Node".into(),
        public_ssh_key: key.public_key_openssh().unwrap().into_bytes(),
        public_tls_key: key.public_key_pem().unwrap().into_bytes(),
        ..RegisterUsingTokenRequest::default()
    };
    portcullis_tests::rt().block_on(async {
        let admin = server.admin_client().await;
        let status = admin
            .rpc()
            .register_using_token(request.clone())
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
        assert!(status.message().contains("user certificate"), "{status:?}");
        let host_ca = server.pctl_ok(&["auth", "export", "--type", "tls-host"]);
        let joining = Client::connect_to_join(&server.addr, &host_ca)
            .await
            .unwrap();
        let certs = joining.rpc().register_using_token(request).await.unwrap();
        assert!(!certs.into_inner().tls.is_empty());
    });
    server.stop();
}
