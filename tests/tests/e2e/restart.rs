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

// --- The data directory and secrets on disk are private to the server's user ------------

/// Every file and directory below `dir` (links not followed) with its permission bits.
fn modes_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u32)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        found.push((path.clone(), meta.permissions().mode() & 0o7777));
        if meta.is_dir() {
            found.extend(modes_under(&path));
        }
    }
    found
}

fn chmod(path: &std::path::Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `portcullis start` with these arguments, which must fail; returns its standard error.
fn start_refused(args: &[&str]) -> String {
    portcullis_tests::err(
        std::process::Command::new(portcullis_tests::bin("portcullis"))
            .args(["start", "--listen", "127.0.0.1:0"])
            .args(args)
            .output()
            .unwrap(),
    )
}

fn is_root() -> bool {
    portcullis_api::private::effective_uid() == 0
}

/// Reads `file` as the user `nobody`; the error output when it cannot.
fn read_as_nobody(file: &std::path::Path) -> Result<(), String> {
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            "cat",
        ])
        .arg(file)
        .output()
        .expect("setpriv (util-linux) runs");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn an_open_data_dir_is_refused_and_nothing_the_server_writes_is_readable_by_others() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // As `mkdir` or a package leaves it.
    std::fs::create_dir(&data).unwrap();
    chmod(&data, 0o755);
    let err = start_refused(&["--data-dir", data.to_str().unwrap()]);
    assert!(
        err.contains(&format!(
            "data directory `{}` is accessible by group or others (mode 0755)",
            data.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("run `chmod 700 {}`", data.display())),
        "{err}"
    );
    assert!(
        std::fs::read_dir(&data).unwrap().next().is_none(),
        "nothing written"
    );

    chmod(&data, 0o700);
    let server = Server::start(&data, &[]);
    // Give the server something of each kind to write: a user identity, a compiled module.
    let wasm = tmp.path().join("m.wasm");
    std::fs::write(
        &wasm,
        portcullis_tests::policies::access_request_module("m", "", r#"{"verdict":"none"}"#),
    )
    .unwrap();
    server.pctl_ok(&["policy", "upload", wasm.to_str().unwrap(), "--name", "m"]);
    server.pctl_ok(&[
        "create",
        "-f",
        portcullis_tests::write_file(tmp.path(), "a.yaml", portcullis_tests::ALICE_YAML)
            .to_str()
            .unwrap(),
    ]);

    // pctl refuses a private key or identity file that others can read.
    let ids = tmp.path().join("ids");
    std::fs::create_dir(&ids).unwrap();
    portcullis_tests::ok(server.pctl_as(&ids, "alice", &["status"]));
    let key = ids.join("id-alice.key");
    chmod(&key, 0o644);
    let err = portcullis_tests::err(server.pctl_as(&ids, "alice", &["status"]));
    assert!(
        err.contains(&format!(
            "private key file `{}` is accessible by group or others (mode 0644)",
            key.display()
        )) && err.contains(&format!("run `chmod 600 {}`", key.display())),
        "{err}"
    );
    let identity = ids.join("alice.pem");
    server.sign_user("alice", "file", identity.to_str().unwrap());
    chmod(&identity, 0o640);
    let err = portcullis_tests::err(server.pctl(&[
        "--identity-file",
        identity.to_str().unwrap(),
        "status",
    ]));
    assert!(
        err.contains("identity file") && err.contains("(mode 0640)"),
        "{err}"
    );
    server.stop();

    let found = modes_under(&data);
    for wanted in ["admin.key", "store", "policy-cache"] {
        assert!(
            found.iter().any(|(p, _)| p == &data.join(wanted)),
            "{wanted} is written: {found:?}"
        );
    }
    assert!(
        found
            .iter()
            .any(|(p, _)| p.extension().is_some_and(|e| e == "log")),
        "the store's write-ahead log is there: {found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(p, _)| p.extension().is_some_and(|e| e == "cwasm")),
        "the compiled module is cached: {found:?}"
    );
    let open: Vec<_> = found.iter().filter(|(_, m)| m & 0o077 != 0).collect();
    assert!(open.is_empty(), "open to group or others: {open:?}");

    if is_root() {
        // Let `nobody` through every directory, so that only each file's own mode protects
        // it, and check that this harness can read a file left open.
        for dir in [tmp.path(), data.as_path()]
            .into_iter()
            .map(std::path::Path::to_path_buf)
            .chain(
                found
                    .iter()
                    .filter(|(p, _)| p.is_dir())
                    .map(|(p, _)| p.clone()),
            )
        {
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
            chmod(&dir, mode | 0o001);
        }
        let control = portcullis_tests::write_file(&data, "control", "x");
        chmod(&control, 0o644);
        read_as_nobody(&control).expect("nobody reads a 0644 file");
        std::fs::remove_file(&control).unwrap();
        for (path, _) in found.iter().filter(|(p, _)| p.is_file()) {
            let err = read_as_nobody(path)
                .expect_err(&format!("nobody must not read `{}`", path.display()));
            assert!(
                err.contains("Permission denied"),
                "{}: {err}",
                path.display()
            );
        }
    }
}

#[test]
fn a_store_left_open_by_an_earlier_version_is_tightened_on_start() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    Server::start(&data, &[]).stop();
    // What a version without the umask left: store/ 0755, its files and the identity 0644.
    for (path, _) in modes_under(&data) {
        chmod(&path, if path.is_dir() { 0o755 } else { 0o644 });
    }
    let server = Server::start(&data, &[]);
    server.pctl_ok(&["status"]);
    let log = server.log();
    assert_eq!(
        log.matches("made files and directories under the data directory private")
            .count(),
        1,
        "logged once: {log}"
    );
    server.stop();
    let open: Vec<_> = modes_under(&data)
        .into_iter()
        .filter(|(_, m)| m & 0o077 != 0)
        .collect();
    assert!(open.is_empty(), "still open: {open:?}");
    // A tight store is not reported again.
    let server = Server::start(&data, &[]);
    server.pctl_ok(&["status"]);
    assert!(!server.log().contains("made files and directories"));
    server.stop();
}

#[test]
fn static_tokens_need_a_private_config_and_the_data_dir_its_own_user() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let config = write_file(
        tmp.path(),
        "portcullis.yaml",
        "tokens: ['node:static-node-token']\n",
    );
    chmod(&config, 0o644);
    let err = start_refused(&[
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(
        err.contains(&format!(
            "config file `{}` is accessible by group or others (mode 0644) and holds static provisioning tokens",
            config.display()
        )) && err.contains(&format!("run `chmod 600 {}`", config.display())),
        "{err}"
    );
    assert!(!data.exists(), "nothing written");
    // Without tokens the same file is fine (nothing secret in it).
    let plain = write_file(tmp.path(), "plain.yaml", "log_level: info\n");
    chmod(&plain, 0o644);
    let server = Server::start(&data, &["--config", plain.to_str().unwrap()]);
    server.stop();
    chmod(&config, 0o600);
    let server = Server::start(&data, &["--config", config.to_str().unwrap()]);
    server.pctl_ok(&["status"]);
    server.stop();

    if is_root() {
        std::os::unix::fs::chown(&data, Some(65534), None).unwrap();
        let err = start_refused(&["--data-dir", data.to_str().unwrap()]);
        assert!(
            err.contains(&format!(
                "data directory `{}` is owned by uid 65534, not by uid 0",
                data.display()
            )),
            "{err}"
        );
    }
}
