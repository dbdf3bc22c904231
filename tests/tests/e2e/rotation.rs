//! End-to-end: certificate authority rotation against the real binary — manual, automatic,
//! rollback, and restarts in the middle of a rotation.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use portcullis_api::TlsFiles;
use portcullis_tests::{err, rt, s, stderr, write_file, Server, ALICE_YAML};

/// A server with user `alice`, checking automatic rotations every 100 ms.
fn start(dir: &Path) -> Server {
    let server = Server::start_with_config(dir, "rotation_check_interval: 100ms\n");
    let users = write_file(dir, "alice.yaml", ALICE_YAML);
    server.pctl_ok(&["create", "-f", s(&users)]);
    server
}

/// Starts the server of [`start`] again, on its data and configuration.
fn restart(dir: &Path) -> Server {
    let config = dir.join("config.yaml");
    Server::start(&dir.join("data"), &["--config", s(&config)])
}

/// Signs a TLS identity for alice at `dir/name.{crt,key,cas}`.
fn sign(server: &Server, dir: &Path, name: &str) -> PathBuf {
    let prefix = dir.join(name);
    server.sign_user("alice", "tls", s(&prefix));
    prefix
}

/// Runs `pctl status` with the identity at `prefix`; `Err` carries pctl's error.
fn call_as(server: &Server, prefix: &Path) -> Result<(), String> {
    let out = server.pctl_with(&TlsFiles::from_prefix(prefix), &["status"]);
    if out.status.success() {
        Ok(())
    } else {
        Err(stderr(&out))
    }
}

fn works(server: &Server, prefix: &Path, when: &str) {
    if let Err(e) = call_as(server, prefix) {
        panic!(
            "{} should work {when}: {e}\nserver log:\n{}",
            prefix.display(),
            server.log()
        );
    }
}

fn refused(server: &Server, prefix: &Path, when: &str) {
    assert!(
        call_as(server, prefix).is_err(),
        "{} should be refused {when}",
        prefix.display()
    );
}

/// Like [`refused`], for moves made by the background task: the store shows the new phase
/// a moment before the listener's trust is reloaded, so this waits a little for it.
fn eventually_refused(server: &Server, prefix: &Path, when: &str) {
    let started = Instant::now();
    while call_as(server, prefix).is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{} should be refused {when}",
            prefix.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Key identifier of the CA key that signed the identity's certificate.
fn signer(prefix: &Path) -> Vec<u8> {
    let pem = std::fs::read(format!("{}.crt", prefix.display())).unwrap();
    let (_, doc) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    portcullis_ca::authority_key_id(&doc.contents)
        .unwrap()
        .unwrap()
}

fn rotate(server: &Server, ca: &str, phase: &str) {
    server.pctl_ok(&["auth", "rotate", "--type", ca, "--manual", "--phase", phase]);
}

fn phase(server: &Server, ca: &str) -> String {
    rt().block_on(server.ca_phase(ca))
}

#[test]
fn manual_user_rotation_keeps_old_identities_until_standby() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = start(dir);
    let old = sign(&server, dir, "old");

    // Only the documented order is accepted.
    let why = err(server.pctl(&[
        "auth",
        "rotate",
        "--type",
        "user",
        "--manual",
        "--phase",
        "update_servers",
    ]));
    assert!(why.contains("standby") && why.contains("init"), "{why}");

    rotate(&server, "user", "init");
    assert_eq!(phase(&server, "user"), "init");
    let status = server.pctl_ok(&["status"]);
    assert!(status.contains("phase init, mode manual"), "{status}");
    assert!(
        status.contains("trusted"),
        "the new key is listed as trusted: {status}"
    );
    works(&server, &old, "in init");
    let at_init = sign(&server, dir, "at-init");
    assert_eq!(
        signer(&at_init),
        signer(&old),
        "the old key signs until update_clients"
    );

    rotate(&server, "user", "update_clients");
    let new = sign(&server, dir, "new");
    assert_ne!(
        signer(&new),
        signer(&old),
        "the new key signs from update_clients"
    );
    works(&server, &old, "in update_clients");
    works(&server, &new, "in update_clients");

    // Going backwards is refused.
    err(server.pctl(&[
        "auth", "rotate", "--type", "user", "--manual", "--phase", "init",
    ]));

    rotate(&server, "user", "update_servers");
    works(&server, &old, "in update_servers");
    works(&server, &new, "in update_servers");

    rotate(&server, "user", "standby");
    works(&server, &new, "after standby");
    refused(&server, &old, "after standby");
    refused(&server, &at_init, "after standby");
    // The admin identity was reissued along the way; pctl kept working throughout.
    let status = server.pctl_ok(&["status"]);
    assert!(status.contains("last rotated"), "{status}");
}

#[test]
fn an_open_connection_is_cut_off_when_its_key_is_rotated_out() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = start(dir);
    let old = sign(&server, dir, "old");
    let rt = rt();
    rt.block_on(async {
        let client = portcullis_api::Client::connect(
            &server.addr,
            &portcullis_api::TlsFiles::from_prefix(&old),
        )
        .await
        .unwrap();
        client.ping().await.unwrap();
        for phase in ["init", "update_clients", "update_servers"] {
            rotate(&server, "user", phase);
            client.ping().await.unwrap();
        }
        rotate(&server, "user", "standby");
        let err = client.ping().await.unwrap_err();
        assert!(err.to_string().contains("no longer trusted"), "{err}");
    });
}

#[test]
fn rollback_returns_to_the_old_key_and_trusts_the_new_until_standby() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = start(dir);
    let old = sign(&server, dir, "old");
    rotate(&server, "user", "init");
    rotate(&server, "user", "update_clients");
    let new = sign(&server, dir, "new");
    assert_ne!(signer(&new), signer(&old));

    rotate(&server, "user", "rollback");
    assert_eq!(phase(&server, "user"), "rollback");
    works(&server, &old, "in rollback");
    works(&server, &new, "in rollback (new keys stay trusted)");
    let again = sign(&server, dir, "again");
    assert_eq!(signer(&again), signer(&old), "the old key signs again");
    // From rollback only to standby.
    err(server.pctl(&[
        "auth",
        "rotate",
        "--type",
        "user",
        "--manual",
        "--phase",
        "update_clients",
    ]));

    rotate(&server, "user", "standby");
    works(&server, &old, "after the rollback ended");
    refused(&server, &new, "after the rollback ended");
}

#[test]
fn host_rotation_switches_the_server_certificate_at_update_servers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = start(dir);
    // Trusts only the old host CA.
    let before = sign(&server, dir, "before");
    rotate(&server, "host", "init");
    // Issued in init: its .cas holds the old and the new host CA.
    let during = sign(&server, dir, "during");
    let cas = std::fs::read_to_string(format!("{}.cas", during.display())).unwrap();
    assert_eq!(
        cas.matches("BEGIN CERTIFICATE").count(),
        3,
        "two host CAs and the user CA"
    );
    rotate(&server, "host", "update_clients");
    works(
        &server,
        &before,
        "in update_clients: the server still presents the old certificate",
    );
    works(&server, &during, "in update_clients");
    rotate(&server, "host", "update_servers");
    refused(
        &server,
        &before,
        "once the server presents a certificate from the new host CA",
    );
    works(&server, &during, "in update_servers");
    rotate(&server, "host", "standby");
    works(&server, &during, "after standby");
    server.pctl_ok(&["status"]);
}

/// Polls the user authority's phase until it is back in standby; returns the phases seen.
fn follow_until_standby(server: &Server, limit: Duration) -> Vec<String> {
    let start = Instant::now();
    let mut seen: Vec<String> = Vec::new();
    loop {
        let now = phase(server, "user");
        if seen.last() != Some(&now) {
            seen.push(now.clone());
        }
        if now == "standby" && seen.len() > 1 {
            return seen;
        }
        assert!(
            start.elapsed() < limit,
            "rotation did not finish; phases seen: {seen:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn automatic_rotation_follows_its_schedule() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = start(dir);
    let old = sign(&server, dir, "old");
    server.pctl_ok(&["auth", "rotate", "--type", "user", "--grace-period", "6s"]);
    let status = server.pctl_ok(&["status"]);
    assert!(
        status.contains("mode auto, schedule: update_clients"),
        "{status}"
    );
    let started = Instant::now();
    let seen = follow_until_standby(&server, Duration::from_secs(30));
    assert_eq!(
        seen,
        ["init", "update_clients", "update_servers", "standby"],
        "every phase in order"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "the schedule was honoured"
    );
    eventually_refused(&server, &old, "after the automatic rotation");
    let fresh = sign(&server, dir, "fresh");
    works(&server, &fresh, "after the automatic rotation");
    // Another rotation can start from standby.
    server.pctl_ok(&[
        "auth", "rotate", "--type", "user", "--manual", "--phase", "init",
    ]);
}

#[test]
fn a_restarted_server_resumes_the_rotation_where_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = start(dir);
    let old = sign(&server, dir, "old");
    rotate(&server, "user", "init");
    rotate(&server, "user", "update_clients");
    let new = sign(&server, dir, "new");
    server.stop();

    let server = restart(dir);
    assert_eq!(phase(&server, "user"), "update_clients");
    works(&server, &old, "after a restart in update_clients");
    works(&server, &new, "after a restart in update_clients");
    let again = sign(&server, dir, "again");
    assert_eq!(
        signer(&again),
        signer(&new),
        "still signing with the new key"
    );
    rotate(&server, "user", "update_servers");
    rotate(&server, "user", "standby");
    refused(&server, &old, "after standby");
    works(&server, &new, "after standby");
}

#[test]
fn an_automatic_rotation_catches_up_after_downtime() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = start(dir);
    let old = sign(&server, dir, "old");
    server.pctl_ok(&["auth", "rotate", "--type", "user", "--grace-period", "3s"]);
    assert_eq!(phase(&server, "user"), "init");
    server.kill9();
    // Every scheduled time passes while the server is down.
    std::thread::sleep(Duration::from_millis(3500));
    let server = restart(dir);
    let started = Instant::now();
    while phase(&server, "user") != "standby" {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the rotation did not catch up; log:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eventually_refused(&server, &old, "after the rotation completed");
    let status = server.pctl_ok(&["status"]);
    assert!(status.contains("last rotated"), "{status}");
}
