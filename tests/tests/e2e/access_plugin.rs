//! The example access plugin (examples/src/bin/access_plugin) against the real binary, as
//! the reference's `access-plugin` user (`wanda` may request `web`, which the plugin does not
//! pre-approve): it approves dba requests made before and after it
//! started, leaves other requests pending, records what it did in its plugin data, stops
//! cleanly on SIGTERM, and, started again to deny the others, denies what was left pending
//! except what another instance has claimed.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use portcullis_api::services::{PluginDataFilter, PluginDataUpdateParams};
use portcullis_tests::{
    access_workflow_fixture, rt, s, write_file, Server, SEED_RSCS_YAML, WEB_AND_WIDE_YAML,
};

/// Starts the plugin with `extra` arguments, logging to `log`.
fn start_plugin(server: &Server, dir: &Path, log: &str, extra: &[&str]) -> Child {
    Command::new(portcullis_tests::bin("access_plugin"))
        .args(["--auth-server", &server.addr])
        .args([
            "--identity",
            s(&dir.join("plugin")),
            "--approve-role",
            "dba",
        ])
        .args(extra)
        .stdout(std::fs::File::create(dir.join(log)).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run examples/access_plugin (cargo build --workspace --bins)")
}

/// Stops the plugin with SIGTERM; it must exit successfully.
fn stop_plugin(mut plugin: Child) {
    let pid = plugin.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let status = plugin.wait().unwrap();
    assert!(status.success(), "the plugin exits cleanly: {status:?}");
}

/// The state of request `id`, as `pctl request get` prints it.
fn state_of(server: &Server, id: &str) -> String {
    let json = server.pctl_ok(&["request", "get", id, "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value[0]["spec"]["state"].as_str().unwrap_or("").to_owned()
}

/// Waits until request `id` is in `state` (e.g. `APPROVED`).
fn wait_for_state(server: &Server, id: &str, state: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while state_of(server, id) != state {
        assert!(
            Instant::now() < deadline,
            "request {id} is {}, not {state}",
            state_of(server, id)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_access_plugin_approves_by_its_rule_and_records_what_it_did() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start(&dir.join("data"), &[]);
    for (name, yaml) in [
        ("rscs.yaml", SEED_RSCS_YAML),
        ("roles.yaml", WEB_AND_WIDE_YAML),
    ] {
        server.pctl_ok(&["create", s(&write_file(dir, name, yaml))]);
    }
    server.pctl_ok(&["create", s(&access_workflow_fixture())]);
    server.pctl_ok(&["users", "add", "carl", "--roles", "contractor"]);
    server.pctl_ok(&["users", "add", "wanda", "--roles", "wide"]);
    server.sign_user("access-plugin", "tls", s(&dir.join("plugin")));

    // A request made before the plugin starts is handled once it watches.
    let before = server.request_roles(dir, "carl", "dba");
    let plugin = start_plugin(&server, dir, "plugin-1.log", &[]);
    wait_for_state(&server, &before, "APPROVED");
    // Requests made while it runs: web is not pre-approved and stays pending; the plugin
    // handles requests in order, so once the later dba request is approved, it has decided.
    let web = server.request_roles(dir, "wanda", "web");
    let dba = server.request_roles(dir, "carl", "dba");
    wait_for_state(&server, &dba, "APPROVED");
    assert_eq!(state_of(&server, &web), "PENDING");
    stop_plugin(plugin);
    let log = std::fs::read_to_string(dir.join("plugin-1.log")).unwrap();
    assert!(
        log.contains(&format!("approved {dba} (carl asks for dba)"))
            && log.contains(&format!("left {web} (wanda asks for web) to a human"))
            && log.ends_with("stopping\n"),
        "{log}"
    );
    assert_eq!(log.matches(&before).count(), 1, "handled once: {log}");

    // What it did is in its plugin data, and the audit log names it as the delegator.
    let rt = rt();
    let admin = rt.block_on(server.admin_client());
    let status_of = |id: &str| {
        let filter = PluginDataFilter {
            kind: "access_request".into(),
            resource: id.into(),
            plugin: "access-plugin".into(),
        };
        let data = rt.block_on(admin.rpc().get_plugin_data(filter));
        let data = data.unwrap().into_inner().plugin_data;
        data.first()
            .and_then(|d| d.spec.as_ref())
            .and_then(|spec| spec.entries.get("access-plugin"))
            .and_then(|entry| entry.data.get("status").cloned())
            .unwrap_or_default()
    };
    assert_eq!(status_of(&before), "approved");
    assert_eq!(status_of(&dba), "approved");
    assert_eq!(status_of(&web), "", "nothing recorded for what it left");
    let audit = server.pctl_ok(&["audit", "ls", "--event", "access_request.update"]);
    assert!(audit.contains("access-plugin"), "{audit}");

    // Another instance has claimed a second web request: the plugin started again to deny
    // the others denies the first one (pending since before it started) and leaves that.
    let claimed = server.request_roles(dir, "wanda", "web");
    let claim = PluginDataUpdateParams {
        kind: "access_request".into(),
        resource: claimed.clone(),
        plugin: "access-plugin".into(),
        set: [("status".to_owned(), "claimed".to_owned())].into(),
        expect: Default::default(),
    };
    rt.block_on(admin.rpc().update_plugin_data(claim)).unwrap();
    let plugin = start_plugin(&server, dir, "plugin-2.log", &["--deny-others"]);
    wait_for_state(&server, &web, "DENIED");
    let late = server.request_roles(dir, "carl", "dba");
    wait_for_state(&server, &late, "APPROVED");
    stop_plugin(plugin);
    assert_eq!(state_of(&server, &claimed), "PENDING");
    assert_eq!(status_of(&web), "denied");
    let log = std::fs::read_to_string(dir.join("plugin-2.log")).unwrap();
    assert!(
        log.contains(&format!("skipped {claimed}")) && !log.contains(&dba),
        "{log}"
    );
    server.stop();
}
