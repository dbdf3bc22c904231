//! End-to-end: configuration, and later starts reusing the cluster created by the first.

use std::os::unix::fs::PermissionsExt;

use portcullis_tests::{err, s, write_file, Server};

/// `pctl status` without the line naming the (ephemeral) server address.
fn status(server: &Server) -> String {
    server
        .pctl_ok(&["status"])
        .lines()
        .filter(|l| !l.starts_with("Server:"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn later_starts_reuse_cluster_name_authorities_and_admin_identity() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start(&data, &["--cluster-name", "alpha"]);
    let status = status(&server);
    assert!(status.contains("active  SHA256:"), "{status}");
    let admin_crt = std::fs::read(data.join("admin.crt")).unwrap();
    for name in ["admin.crt", "admin.key", "admin.cas"] {
        let mode = std::fs::metadata(data.join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name} is private");
    }
    server.stop();

    let server = Server::start(&data, &[]);
    assert_eq!(
        self::status(&server),
        status,
        "same cluster and authorities"
    );
    assert_eq!(
        std::fs::read(data.join("admin.crt")).unwrap(),
        admin_crt,
        "admin identity reused"
    );
    server.stop();

    // A different cluster name for the same data is refused with a reason.
    let out = std::process::Command::new(portcullis_tests::bin("portcullis"))
        .args([
            "start",
            "--listen",
            "127.0.0.1:0",
            "--cluster-name",
            "beta",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    let why = err(out);
    assert!(why.contains("cannot be renamed"), "{why}");

    // A lost admin identity is written again, signed by the same authorities.
    std::fs::remove_file(data.join("admin.key")).unwrap();
    let server = Server::start(&data, &[]);
    assert_eq!(self::status(&server), status);
    assert_ne!(
        std::fs::read(data.join("admin.crt")).unwrap(),
        admin_crt,
        "a new admin certificate"
    );
    server.stop();
}

#[test]
fn config_file_is_read_and_flags_override_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let config = write_file(
        tmp.path(),
        "portcullis.yaml",
        &format!(
            "cluster_name: from-file\ndata_dir: {}\nlisten_addr: 127.0.0.1:1\nlog_level: debug\n",
            data.display()
        ),
    );
    // --listen (127.0.0.1:0, given by the harness) overrides the file's unusable port.
    let server = Server::start(&data, &["--config", s(&config)]);
    assert!(server.pctl_ok(&["status"]).contains("Cluster:  from-file"));
    assert!(
        server.log().contains("DEBUG"),
        "log level from the file applies"
    );
    server.stop();

    let bad = write_file(tmp.path(), "bad.yaml", "listen: 127.0.0.1:1\n");
    let out = std::process::Command::new(portcullis_tests::bin("portcullis"))
        .args(["start", "--config", s(&bad)])
        .output()
        .unwrap();
    let why = err(out);
    assert!(
        why.contains("unknown field `listen`") && why.contains("bad.yaml"),
        "{why}"
    );

    let help = std::process::Command::new(portcullis_tests::bin("portcullis"))
        .args(["start", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for option in [
        "--config",
        "--data-dir",
        "--listen",
        "--cluster-name",
        "--log-level",
    ] {
        assert!(help.contains(option), "--help documents {option}");
    }
}
