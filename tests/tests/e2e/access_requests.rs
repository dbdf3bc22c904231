//! Access requests against the real binary: the reference's contractor / dba /
//! request-admin scenario, partial approval, no re-resolution, filters and rights.

use std::path::Path;

use portcullis_tests::{
    access_workflow_fixture, err, identity_from_pem, ok, rt, s, write_file, Server,
};

/// Roles beside the reference's (tests/fixtures/access-workflow.yaml).
use portcullis_tests::WEB_AND_WIDE_YAML as ROLES;

#[test]
fn contractors_request_dba_and_request_admins_decide() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start(&dir.join("data"), &[]);
    server.pctl_ok(&["create", s(&access_workflow_fixture())]);
    let roles = write_file(dir, "roles.yaml", ROLES);
    server.pctl_ok(&["create", s(&roles)]);
    server.pctl_ok(&["users", "add", "carl", "--roles", "contractor"]);
    server.pctl_ok(&["users", "add", "rita", "--roles", "request-admin"]);
    server.pctl_ok(&["users", "add", "wanda", "--roles", "wide"]);
    let as_user = |user: &str, args: &[&str]| server.pctl_as(dir, user, args);

    // carl may request dba, and nothing else.
    let id = ok(as_user(
        "carl",
        &[
            "request",
            "create",
            "--roles",
            "dba",
            "--reason",
            "ticket 42",
        ],
    ));
    let id = id.trim().to_owned();
    assert_eq!(uuid_version(&id), 4, "{id}");
    let why = err(as_user("carl", &["request", "create", "--roles", "web"]));
    assert!(why.contains("`carl` may not request role `web`"), "{why}");
    let why = err(as_user("carl", &["request", "create", "--roles", "ghost"]));
    assert!(why.contains("role `ghost` does not exist"), "{why}");
    // Wildcards and deny: wanda may request anything but admin.
    ok(as_user(
        "wanda",
        &["request", "create", "--roles", "web,dba"],
    ));
    let why = err(as_user("wanda", &["request", "create", "--roles", "admin"]));
    assert!(why.contains("may not request role `admin`"), "{why}");

    // carl sees his own requests, not others', and cannot approve.
    let mine = ok(as_user("carl", &["request", "ls", "--user", "carl"]));
    assert!(
        mine.contains(&id) && mine.contains("pending") && mine.contains("ticket 42"),
        "{mine}"
    );
    let why = err(as_user("carl", &["request", "ls"]));
    assert!(why.contains("may not call GetAccessRequests"), "{why}");
    let why = err(as_user("carl", &["request", "approve", &id]));
    assert!(why.contains("may not call SetAccessRequestState"), "{why}");

    // rita (request-admin) lists and approves; a resolved request stays resolved.
    let pending = ok(as_user("rita", &["request", "ls", "--state", "pending"]));
    assert_eq!(pending.lines().count(), 2, "{pending}");
    ok(as_user(
        "rita",
        &[
            "request",
            "approve",
            &id,
            "--reason",
            "on call",
            "--annotations",
            "ticket=42",
            "--delegator",
            "pagerduty",
        ],
    ));
    let why = err(as_user("rita", &["request", "deny", &id]));
    assert!(why.contains("already approved"), "{why}");
    let full = ok(as_user(
        "rita",
        &["request", "get", &id, "--format", "json"],
    ));
    assert!(
        full.contains("APPROVED") && full.contains("on call") && full.contains("42"),
        "{full}"
    );
    let approved = ok(as_user("rita", &["request", "ls", "--state", "approved"]));
    assert!(
        approved.contains(&id) && approved.lines().count() == 1,
        "{approved}"
    );

    // carl's certificates with the approved request carry dba and the request id, and
    // expire no later than the access does; someone else's request is refused.
    let carl_sign = |out: &Path, request: &str| {
        let args = [
            "auth",
            "sign",
            "--user",
            "carl",
            "--format",
            "tls",
            "--overwrite",
        ];
        let more = ["--out", s(out), "--request-id", request, "--ttl", "10h"];
        as_user("carl", &[&args[..], &more[..]].concat())
    };
    let with = dir.join("carl-dba");
    ok(carl_sign(&with, &id));
    let identity = identity_from_pem(&std::fs::read(with.with_extension("crt")).unwrap());
    assert!(identity.roles.contains(&"dba".to_owned()), "{identity:?}");
    assert_eq!(identity.active_requests, std::slice::from_ref(&id));
    let left = identity
        .expires
        .unwrap()
        .duration_since(std::time::SystemTime::now())
        .unwrap();
    assert!(left <= std::time::Duration::from_secs(3600), "{left:?}");
    let why = err(as_user(
        "wanda",
        &[
            "auth",
            "sign",
            "--user",
            "wanda",
            "--format",
            "tls",
            "--out",
            s(&dir.join("w")),
            "--request-id",
            &id,
        ],
    ));
    assert!(why.contains("belongs to another user"), "{why}");

    // Partial approval narrows the roles; roles not requested are refused.
    let wide = ok(as_user("rita", &["request", "ls", "--user", "wanda"]));
    let wide_id = wide.split_whitespace().next().unwrap().to_owned();
    let why = err(as_user(
        "rita",
        &["request", "approve", &wide_id, "--roles", "admin"],
    ));
    assert!(why.contains("role `admin` was not requested"), "{why}");
    ok(as_user(
        "rita",
        &["request", "approve", &wide_id, "--roles", "web"],
    ));
    let narrowed = ok(as_user("rita", &["request", "get", &wide_id]));
    assert!(
        narrowed.contains("web") && !narrowed.contains("dba"),
        "{narrowed}"
    );

    // Denial, deletion, audit; pending and denied requests give no certificates.
    let other = ok(as_user("carl", &["request", "create", "--roles", "dba"]));
    let sign = |request: &str| err(carl_sign(&dir.join("x"), request));
    assert!(sign(other.trim()).contains("is pending, not approved"));
    let brief = ok(as_user(
        "carl",
        &["request", "create", "--roles", "dba", "--access-ttl", "2s"],
    ));
    ok(as_user("rita", &["request", "approve", brief.trim()]));
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert!(sign(brief.trim()).contains("does not exist or has expired"));
    ok(as_user(
        "rita",
        &["request", "deny", other.trim(), "--reason", "not now"],
    ));
    ok(as_user("rita", &["request", "rm", other.trim()]));
    let why = err(as_user("rita", &["request", "get", other.trim()]));
    assert!(why.contains("not found"), "{why}");
    let audit = server.pctl_ok(&["audit", "ls", "--event", "access_request.update"]);
    assert!(
        audit.contains("pagerduty") && audit.contains("approved") && audit.contains("denied"),
        "{audit}"
    );
    server.stop();
}

fn uuid_version(id: &str) -> usize {
    // xxxxxxxx-xxxx-Vxxx-...: the version is the first digit of the third group.
    id.split('-')
        .nth(2)
        .and_then(|g| g.chars().next())
        .and_then(|c| c.to_digit(16))
        .unwrap_or(0) as usize
}

#[test]
fn unresolved_requests_expire_after_the_configured_pending_ttl() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start_with_config(dir, "access_request_ttl: 2s\n");
    server.pctl_ok(&["create", s(&access_workflow_fixture())]);
    server.pctl_ok(&["users", "add", "carl", "--roles", "contractor"]);
    let id = ok(server.pctl_as(dir, "carl", &["request", "create", "--roles", "dba"]));
    let listed = server.pctl_ok(&["request", "ls", "--state", "pending"]);
    assert!(listed.contains(id.trim()), "{listed}");
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let why = err(server.pctl(&["request", "get", id.trim()]));
    assert!(why.contains("not found"), "{why}");
    server.stop();
}

#[test]
fn plugins_keep_data_about_requests_with_compare_and_set() {
    use portcullis_api::auth::RequestId;
    use portcullis_api::services::{PluginDataFilter, PluginDataUpdateParams};
    use tonic::Code;

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start(&dir.join("data"), &[]);
    server.pctl_ok(&["create", s(&access_workflow_fixture())]);
    server.pctl_ok(&["users", "add", "carl", "--roles", "contractor"]);
    let id = ok(server.pctl_as(dir, "carl", &["request", "create", "--roles", "dba"]));
    let id = id.trim().to_owned();
    let rt = rt();
    let admin = rt.block_on(server.admin_client());
    let update = |plugin: &str, set: &[(&str, &str)], expect: &[(&str, &str)]| {
        let pairs = |p: &[(&str, &str)]| {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let params = PluginDataUpdateParams {
            kind: "access_request".into(),
            resource: id.clone(),
            plugin: plugin.into(),
            set: pairs(set),
            expect: pairs(expect),
        };
        rt.block_on(admin.rpc().update_plugin_data(params))
    };
    let get = |plugin: &str| {
        let filter = PluginDataFilter {
            kind: "access_request".into(),
            resource: id.clone(),
            plugin: plugin.into(),
        };
        rt.block_on(admin.rpc().get_plugin_data(filter))
            .unwrap()
            .into_inner()
            .plugin_data
    };

    update("slack", &[("channel", "C1")], &[]).unwrap();
    let err = update("slack", &[("channel", "C9")], &[("channel", "C2")]).unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().contains("expected channel=`C2`, found `C1`"),
        "{err}"
    );
    update(
        "slack",
        &[("channel", ""), ("ts", "42")],
        &[("channel", "C1")],
    )
    .unwrap();
    update("jira", &[("issue", "OPS-1")], &[("issue", "")]).unwrap();
    let slack = get("slack");
    let entries = &slack[0].spec.as_ref().unwrap().entries;
    assert_eq!(entries.len(), 1);
    let data: Vec<_> = entries["slack"].data.iter().collect();
    assert_eq!(data, [(&"ts".to_owned(), &"42".to_owned())]);
    assert_eq!(get("")[0].spec.as_ref().unwrap().entries.len(), 2);

    // Bad input is named; the requester itself has no rights on plugin data.
    let mut wrong = PluginDataUpdateParams {
        kind: "role".into(),
        resource: id.clone(),
        plugin: "x".into(),
        ..Default::default()
    };
    let err = rt
        .block_on(admin.rpc().update_plugin_data(wrong.clone()))
        .unwrap_err();
    assert!(err.message().contains("not `role`"), "{err}");
    wrong.kind = "access_request".into();
    wrong.resource = "00000000-0000-4000-8000-000000000000".into();
    let err = rt
        .block_on(admin.rpc().update_plugin_data(wrong))
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err}");
    let carl = dir.join("carl");
    server.sign_user("carl", "tls", s(&carl));
    let carl = rt
        .block_on(portcullis_api::Client::connect(
            &server.addr,
            &portcullis_api::TlsFiles::from_prefix(&carl),
        ))
        .unwrap();
    let filter = PluginDataFilter {
        kind: "access_request".into(),
        resource: id.clone(),
        plugin: String::new(),
    };
    let err = rt.block_on(carl.rpc().get_plugin_data(filter)).unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err}");

    // Deleting the request deletes its plugin data.
    rt.block_on(
        admin
            .rpc()
            .delete_access_request(RequestId { id: id.clone() }),
    )
    .unwrap();
    assert!(get("").is_empty());
    server.stop();
}
