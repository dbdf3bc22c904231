//! End-to-end: the server's clock jumps forward and back while it runs
//! (`portcullis start --clock-offset-file`). Token expiry, leases, rotation schedules and
//! certificate windows move by the jump and by nothing else, and the server keeps serving.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use portcullis_api::auth::event::Resource;
use portcullis_api::auth::{Event, GetNodesRequest, Operation, WatchKind};
use portcullis_api::TlsFiles;
use portcullis_tests::{rt, s, stderr, write_file, Server, ALICE_YAML};
use tonic::{Code, Streaming};

use crate::presence::{names, server_v2};
use crate::tokens::Joiner;

/// Two hours, the size of the jump.
const JUMP: i64 = 2 * 3600;

/// Writes the offset the server follows (a new file renamed over the old one).
fn set_offset(path: &Path, seconds: i64) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, seconds.to_string()).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Runs `pctl auth sign` for alice's TLS identity at `prefix`, valid for an hour from the
/// client's now (`--ttl` sends an absolute expiry), or, with `ttl` false, for the server's
/// default from the server's now.
fn pctl_sign(server: &Server, prefix: &Path, ttl: bool) -> std::process::Output {
    let mut args = vec!["auth", "sign", "--user", "alice", "--format", "tls"];
    if ttl {
        args.extend(["--ttl", "1h"]);
    }
    args.extend(["--out", s(prefix)]);
    server.pctl(&args)
}

/// [`pctl_sign`] at `dir/NAME`, which must succeed.
fn sign_alice(server: &Server, dir: &Path, name: &str, ttl: bool) -> PathBuf {
    let prefix = dir.join(name);
    let out = pctl_sign(server, &prefix, ttl);
    assert!(out.status.success(), "{}", stderr(&out));
    prefix
}

/// Whether `pctl status` works with the identity at `prefix`.
fn accepted(server: &Server, prefix: &Path) -> Result<(), String> {
    let out = server.pctl_with(&TlsFiles::from_prefix(prefix), &["status"]);
    if out.status.success() {
        Ok(())
    } else {
        Err(stderr(&out))
    }
}

/// The validity window of the certificate at `prefix.crt`, in Unix seconds.
fn window(prefix: &Path) -> (i64, i64) {
    let pem = std::fs::read(prefix.with_extension("crt")).unwrap();
    let (_, doc) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    let cert = doc.parse_x509().unwrap();
    let validity = cert.validity();
    (
        validity.not_before.timestamp(),
        validity.not_after.timestamp(),
    )
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Asserts `at` is within a few seconds of `expected` (Unix seconds).
#[track_caller]
fn near(at: i64, expected: i64, what: &str) {
    assert!(
        (at - expected).abs() <= 5,
        "{what}: {at}, expected about {expected}"
    );
}

async fn nodes(server: &Server) -> Vec<String> {
    let client = server.admin_client().await;
    let listed = client
        .rpc()
        .get_nodes(GetNodesRequest::default())
        .await
        .unwrap()
        .into_inner();
    names(&listed.servers)
}

/// Waits for the deletion of node `name` on `watch` (the sweeper's, for a lapsed lease).
async fn swept(watch: &mut Streaming<Event>, name: &str) {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), watch.message())
            .await
            .expect("the lapsed lease is swept")
            .unwrap()
            .expect("the watch goes on");
        let deleted = match (&event.r#type(), &event.resource) {
            (Operation::Delete, Some(Resource::ResourceHeader(h))) => {
                h.metadata.as_ref().map(|m| m.name.as_str()) == Some(name)
            }
            _ => false,
        };
        if deleted {
            return;
        }
    }
}

/// Waits until the `ca` rotation reaches `phase`, or panics after `limit`.
fn wait_phase(server: &Server, ca: &str, phase: &str, limit: Duration) {
    let started = Instant::now();
    loop {
        let now = rt().block_on(server.ca_phase(ca));
        if now == phase {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "{ca} rotation stayed in {now}, expected {phase}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_clock_jump_moves_expiry_leases_schedules_and_windows_by_the_jump_only() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let offset = dir.join("clock-offset");
    set_offset(&offset, 0);
    let config = write_file(
        dir,
        "config.yaml",
        "rotation_check_interval: 100ms\nsweep_interval: 100ms\n",
    );
    std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let server = Server::start(
        &dir.join("data"),
        &["--config", s(&config), "--clock-offset-file", s(&offset)],
    );
    server.pctl_ok(&[
        "create",
        "-f",
        s(&write_file(dir, "alice.yaml", ALICE_YAML)),
    ]);
    let joiner = Joiner::new(&server);
    let rt = rt();
    let admin = rt.block_on(server.admin_client());
    let mut watch = rt
        .block_on(admin.watch_events(vec![WatchKind {
            kind: "node".into(),
            ..WatchKind::default()
        }]))
        .unwrap();

    // Before the jump: a token for an hour, a node leased for ten minutes, alice's
    // certificate for an hour, and an automatic rotation of the JWT authority spread over
    // an hour.
    let early_token = server.pctl_ok(&["tokens", "add", "--type", "node", "--ttl", "1h"]);
    let early_token = early_token.trim().to_owned();
    rt.block_on(async {
        let client = server.admin_client().await;
        let node = server_v2("node", "brief", &[], Some(Duration::from_secs(600)));
        client.rpc().upsert_node(node).await.unwrap();
        assert_eq!(nodes(&server).await, ["brief"]);
    });
    let before = sign_alice(&server, dir, "before", true);
    accepted(&server, &before).unwrap();
    near(
        window(&before).0,
        unix_now() - 60,
        "notBefore before the jump",
    );
    server.pctl_ok(&["auth", "rotate", "--type", "jwt", "--grace-period", "1h"]);
    assert_eq!(rt.block_on(server.ca_phase("jwt")), "init");

    // Two hours forward.
    set_offset(&offset, JUMP);
    let refused = rt
        .block_on(joiner.join(&server, &early_token, "host-1", "Node"))
        .unwrap_err();
    assert!(
        matches!(refused.code(), Code::PermissionDenied | Code::NotFound),
        "{refused:?}"
    );
    rt.block_on(async {
        assert!(
            nodes(&server).await.is_empty(),
            "the ten-minute lease lapsed"
        );
        swept(&mut watch, "brief").await;
    });
    accepted(&server, &before).unwrap_err();
    let log = server.log();
    assert!(
        log.contains("tls handshake failed") && log.contains("certificate expired"),
        "an hour-long certificate expired: {log}"
    );
    // An expiry the client computed an hour from its own now is in the server's past.
    let out = pctl_sign(&server, &dir.join("refused"), true);
    assert!(
        stderr(&out).contains("the requested expiry is in the past"),
        "{}",
        stderr(&out)
    );
    let ahead = sign_alice(&server, dir, "ahead", false);
    accepted(&server, &ahead).unwrap();
    let (not_before, not_after) = window(&ahead);
    near(
        not_before,
        unix_now() + JUMP - 60,
        "notBefore after the jump",
    );
    wait_phase(&server, "jwt", "standby", Duration::from_secs(10));
    let late_token = server.pctl_ok(&["tokens", "add", "--type", "node", "--ttl", "1h"]);
    let late_token = late_token.trim().to_owned();
    // A second automatic rotation starts on the clock as it is now.
    server.pctl_ok(&["auth", "rotate", "--type", "jwt", "--grace-period", "1h"]);

    // Back by two hours.
    set_offset(&offset, 0);
    // A phase never moves back, and the schedule started ahead is not due for two hours:
    // three checks of the rotation later, it has not moved.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rt.block_on(server.ca_phase("jwt")), "init");
    accepted(&server, &ahead).unwrap_err();
    let log = server.log();
    assert!(
        log.contains("not valid before"),
        "a certificate issued ahead is not valid yet: {log}"
    );
    accepted(&server, &before).unwrap();
    let again = sign_alice(&server, dir, "again", false);
    let (again_before, again_after) = window(&again);
    near(
        again_before,
        unix_now() - 60,
        "notBefore after the jump back",
    );
    assert_eq!(
        again_after - again_before,
        not_after - not_before,
        "the same window, two hours earlier"
    );
    accepted(&server, &again).unwrap();
    rt.block_on(async {
        assert!(
            nodes(&server).await.is_empty(),
            "the lapsed lease stays gone"
        );
        // Leases work as before the jump.
        let node = server_v2("node", "fresh", &[], Some(Duration::from_secs(600)));
        admin.rpc().upsert_node(node).await.unwrap();
        assert_eq!(nodes(&server).await, ["fresh"]);
    });
    // A token made ahead lasts until its own expiry, which is still ahead.
    rt.block_on(joiner.join(&server, &late_token, "host-2", "Node"))
        .unwrap();
    server.pctl_ok(&["status"]);
    let log = server.log();
    assert!(!log.contains("panicked"), "{log}");
    assert!(log.contains("clock offset changed"), "{log}");
}
