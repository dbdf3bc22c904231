//! Faults against the real binary: a full disk (a small tmpfs as the data directory),
//! damaged store files, and `kill -9` in the middle of a mixed workload.

use portcullis_tests::{
    faults::{
        fill, flip_a_byte_in_the_largest_sst, live_manifest, start_refused, store_files,
        truncate_by, Tmpfs,
    },
    killloop::{KillLoop, Summary},
    role, rt, Server,
};

#[test]
fn a_full_disk_refuses_writes_clearly_keeps_reads_and_recovers() {
    let Some(fs) = Tmpfs::mount("16m") else {
        return;
    };
    // The data directory is the tmpfs itself; the server's log goes beside it.
    let server = Server::start(&fs.path, &[]);
    let rt = rt();
    let client = rt.block_on(server.admin_client());
    let mut acked = vec!["ops".to_owned()];
    rt.block_on(client.upsert_role(role("ops"))).unwrap();
    for i in 0..20 {
        let name = format!("before-{i}");
        rt.block_on(client.upsert_role(role(&name))).unwrap();
        acked.push(name);
    }
    let filler = fill(&fs.path);

    let mut i = 0;
    let refused = loop {
        let name = format!("full-{i}");
        match rt.block_on(client.upsert_role(role(&name))) {
            Ok(()) => acked.push(name),
            Err(e) => break e,
        }
        i += 1;
        assert!(i < 10_000, "no write was refused on a full disk");
    };
    let status = refused
        .status()
        .unwrap_or_else(|| panic!("expected a gRPC status, got {refused}"));
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    let message = status.message();
    assert!(message.contains("no space left on device"), "{message}");
    assert!(message.contains("disk full"), "{message}");
    assert!(
        message.contains(&fs.path.display().to_string()),
        "{message}"
    );
    // pctl shows the same message.
    let why = portcullis_tests::err(server.pctl(&["users", "add", "zed", "--roles", "ops"]));
    assert!(why.contains("no space left on device"), "{why}");

    // Reads keep answering, and nothing acknowledged is missing.
    let listed: Vec<String> = rt
        .block_on(client.get_roles())
        .unwrap()
        .into_iter()
        .map(|r| r.metadata.unwrap().name)
        .collect();
    for name in &acked {
        assert!(listed.contains(name), "role {name} readable on a full disk");
    }
    rt.block_on(client.ping()).unwrap();

    // Space freed: writes succeed again, without a restart.
    std::fs::remove_file(filler).unwrap();
    rt.block_on(client.upsert_role(role("after"))).unwrap();
    acked.push("after".into());
    server.pctl_ok(&["users", "add", "zed", "--roles", "ops"]);
    let log = server.log();
    assert!(log.contains("the disk is full"), "{log}");
    assert!(log.contains("takes writes again"), "{log}");
    drop(client);
    server.stop();

    // After a restart every acknowledged write is there.
    let server = Server::start(&fs.path, &[]);
    let client = rt.block_on(server.admin_client());
    let stored: Vec<String> = rt
        .block_on(client.get_roles())
        .unwrap()
        .into_iter()
        .map(|r| r.metadata.unwrap().name)
        .collect();
    let lost: Vec<_> = acked.iter().filter(|n| !stored.contains(n)).collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    rt.block_on(client.get_user("zed", false)).unwrap();
    server.stop();
}

/// A server's data directory with some roles written and the log replayed into data files
/// (by a second start), stopped.
fn stopped_store(dir: &std::path::Path) -> std::path::PathBuf {
    let data = dir.join("data");
    let server = Server::start(&data, &[]);
    let rt = rt();
    let client = rt.block_on(server.admin_client());
    for i in 0..300 {
        rt.block_on(client.upsert_role(role(&format!("r{i}"))))
            .unwrap();
    }
    drop(client);
    server.stop();
    Server::start(&data, &[]).stop();
    data
}

fn assert_refused_naming(data: &std::path::Path, file: &str) {
    let why = start_refused(data);
    assert!(why.contains("is damaged"), "{why}");
    assert!(why.contains(file), "the message names `{file}`: {why}");
    assert!(
        why.contains("restore that directory from a backup"),
        "{why}"
    );
    assert!(why.contains("portcullis repair-store"), "{why}");
}

#[test]
fn a_flipped_byte_in_a_data_file_stops_the_server_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = stopped_store(tmp.path());
    let sst = flip_a_byte_in_the_largest_sst(&data.join("store"));
    assert_refused_naming(&data, &sst.display().to_string());
}

#[test]
fn a_damaged_current_file_stops_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let data = stopped_store(tmp.path());
    let current = data.join("store/CURRENT");
    std::fs::write(&current, "MANIFEST-00\u{1}damaged").unwrap();
    assert_refused_naming(&data, "CURRENT");
    std::fs::remove_file(&current).unwrap();
    assert_refused_naming(&data, "CURRENT");
}

/// Every role of [`stopped_store`] is served by a server started on `data`.
fn all_roles_served(data: &std::path::Path) {
    let server = Server::start(data, &[]);
    let rt = rt();
    let client = rt.block_on(server.admin_client());
    let roles = rt.block_on(client.get_roles()).unwrap();
    for i in 0..300 {
        let name = format!("r{i}");
        assert!(
            roles
                .iter()
                .any(|r| r.metadata.as_ref().unwrap().name == name),
            "role {name} is served; {} roles are:\n{}",
            roles.len(),
            server.log()
        );
    }
    drop(client);
    server.stop();
}

/// A MANIFEST cut in half reads to RocksDB as a torn tail: it would open without the data
/// files the lost records listed (here every role, while the revision survives in another
/// column family). The watermark's record count at that revision gives it away: the server
/// refuses to start naming the MANIFEST, and the repair path salvages the roles.
#[test]
fn a_cut_manifest_stops_the_server_and_repair_salvages_the_store() {
    let tmp = tempfile::tempdir().unwrap();
    let data = stopped_store(tmp.path());
    let manifest = live_manifest(&data.join("store"));
    let len = std::fs::metadata(&manifest).unwrap().len();
    truncate_by(&manifest, len / 2);
    assert_refused_naming(&data, "MANIFEST");
    portcullis_tests::run_ok(
        std::process::Command::new(portcullis_tests::bin("portcullis"))
            .args(["repair-store", "--data-dir"])
            .arg(&data),
    );
    all_roles_served(&data);
}

#[test]
fn a_torn_log_tail_after_kill_9_is_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start(&data, &[]);
    let rt = rt();
    let client = rt.block_on(server.admin_client());
    for i in 0..50 {
        rt.block_on(client.upsert_role(role(&format!("r{i}"))))
            .unwrap();
    }
    drop(client);
    server.kill9();
    // What a kill in the middle of appending the last record leaves.
    let log = store_files(&data.join("store"), ".log")
        .pop()
        .expect("a write-ahead log");
    truncate_by(&log, 40);

    let server = Server::start(&data, &[]);
    let client = rt.block_on(server.admin_client());
    let roles = rt.block_on(client.get_roles()).unwrap();
    // Only the torn last write can be missing.
    for i in 0..49 {
        let name = format!("r{i}");
        assert!(
            roles
                .iter()
                .any(|r| r.metadata.as_ref().unwrap().name == name),
            "role {name} is there"
        );
    }
    server.stop();
}

#[test]
fn kill_9_in_a_mixed_workload_loses_no_acknowledged_write() {
    let tmp = tempfile::tempdir().unwrap();
    let mut looped = KillLoop::start(tmp.path());
    let mut summary = Summary::default();
    for _ in 0..3 {
        let round = looped.round();
        assert!(round.lost.is_empty(), "lost: {:?}", round.lost);
        assert!(round.acked > 0, "the workload made progress");
        summary.add(&round);
    }
    eprintln!("{summary}");
}

/// The long run, for `scripts/killloop`: `KILLLOOP_ROUNDS` rounds (default 50).
#[test]
#[ignore = "long: run by scripts/killloop"]
fn kill_loop() {
    let rounds: usize = std::env::var("KILLLOOP_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(50);
    let tmp = tempfile::tempdir().unwrap();
    let mut looped = KillLoop::start(tmp.path());
    let mut summary = Summary::default();
    let mut lost = Vec::new();
    for n in 1..=rounds {
        let round = looped.round();
        eprintln!(
            "round {n}: {} acknowledged, {} checked, {} lost, restart {} ms",
            round.acked,
            round.checked,
            round.lost.len(),
            round.restart.as_millis()
        );
        summary.add(&round);
        lost.extend(round.lost);
    }
    println!("{summary}");
    assert!(lost.is_empty(), "lost: {lost:?}");
}
