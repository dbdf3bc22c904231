//! End-to-end: role-based access control against the real binary — the seeds' roles,
//! deny over allow, `where` clauses in the Wasm `predicate` module (with an uploaded
//! module's extra function, and one that traps), and `pctl acl check` explanations.

use portcullis_tests::policies::WAT_PRELUDE;
use portcullis_tests::{err, fixture, ok, s, stderr, write_file, Server};

/// `pctl acl check` as the admin; returns its output.
fn acl(server: &Server, user: &str, verb: &str, resource: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "acl",
        "check",
        "--user",
        user,
        "--verb",
        verb,
        "--resource",
        resource,
    ];
    args.extend_from_slice(extra);
    server.pctl_ok(&args)
}

fn allowed(out: &str) -> bool {
    match out.lines().next() {
        Some("allowed") => true,
        Some("denied") => false,
        other => panic!("unexpected answer {other:?} in {out}"),
    }
}

const SEED_ROLES: &str = "\
kind: role
version: v3
metadata:
  name: auditor
spec:
  options:
    max_session_ttl: 8h
  allow:
    logins: [auditor]
    rules:
    - resources: [session]
      verbs: [list, read]
  deny:
    node_labels:
      '*': '*'
---
kind: role
version: v3
metadata:
  name: role-reader
spec:
  allow:
    rules:
    - resources: [role]
      verbs: [list, read]
---
kind: role
version: v3
metadata:
  name: no-role-reads
spec:
  deny:
    rules:
    - resources: [role]
      verbs: [read]
---
kind: user
version: v2
metadata:
  name: auditor
spec:
  roles: [auditor]
---
kind: user
version: v2
metadata:
  name: contractor
spec:
  roles: [contractor]
---
kind: user
version: v2
metadata:
  name: both
spec:
  roles: [role-reader, no-role-reads]
";

#[test]
fn the_seed_roles_behave_as_described() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start(&dir.join("data"), &[]);
    server.pctl_ok(&["create", s(&fixture("rscs.yaml"))]);
    server.pctl_ok(&["create", s(&fixture("api-admin.yaml"))]);
    server.pctl_ok(&["create", s(&fixture("access-workflow.yaml"))]);
    let seeds = write_file(dir, "seeds.yaml", SEED_ROLES);
    server.pctl_ok(&["create", s(&seeds)]);

    // access-plugin: list, read and update access requests, nothing else.
    for verb in ["list", "read", "update"] {
        let out = acl(&server, "access-plugin", verb, "access_request", &[]);
        assert!(allowed(&out), "{verb}: {out}");
        assert!(out.contains("role `access-plugin` allow.rules[0]"), "{out}");
    }
    for (verb, resource) in [
        ("delete", "access_request"),
        ("create", "access_request"),
        ("read", "role"),
        ("list", "user"),
        ("create", "token"),
        ("read", "cert_authority"),
    ] {
        let out = acl(&server, "access-plugin", verb, resource, &[]);
        assert!(!allowed(&out), "{verb} {resource}: {out}");
    }
    // ... and the real RPCs agree.
    let why = err(server.pctl_as(dir, "access-plugin", &["get", "roles"]));
    assert!(why.contains("may not call GetRoles"), "{why}");
    // Public CA parts are implicit.
    ok(server.pctl_as(dir, "access-plugin", &["status"]));

    // api-admin manages roles, tokens and CAs, but its deny node_labels '*': '*' denies
    // every node.
    for (verb, resource) in [
        ("create", "role"),
        ("delete", "token"),
        ("update", "cert_authority"),
    ] {
        assert!(
            allowed(&acl(&server, "api-admin", verb, resource, &[])),
            "{verb} {resource}"
        );
    }
    assert!(!allowed(&acl(
        &server,
        "api-admin",
        "rotate",
        "cert_authority",
        &[]
    )));
    let out = acl(
        &server,
        "api-admin",
        "read",
        "role",
        &["--node-label", "env=prod", "--login", "api-admin"],
    );
    assert!(
        out.contains("node access: denied (denied by role `api-admin`: deny.node_labels matches)"),
        "{out}"
    );
    let role_file = write_file(
        dir,
        "extra.yaml",
        "kind: role\nversion: v3\nmetadata:\n  name: extra\n",
    );
    ok(server.pctl_as(dir, "api-admin", &["create", s(&role_file)]));
    let why = stderr(&server.pctl_as(dir, "api-admin", &["get", "users"]));
    assert!(why.contains("may not call GetUsers"), "{why}");

    // auditor reads sessions and is denied nodes, even with its own login.
    assert!(allowed(&acl(&server, "auditor", "list", "session", &[])));
    assert!(allowed(&acl(&server, "auditor", "read", "session", &[])));
    assert!(!allowed(&acl(&server, "auditor", "delete", "session", &[])));
    let out = acl(
        &server,
        "auditor",
        "read",
        "session",
        &["--node-label", "env=dev", "--login", "auditor"],
    );
    assert!(out.contains("node access: denied"), "{out}");

    // contractor may request dba but not other roles.
    let out = acl(
        &server,
        "contractor",
        "read",
        "role",
        &["--request-role", "dba", "--request-role", "admin"],
    );
    assert!(out.contains("request role `dba`: may ("), "{out}");
    assert!(out.contains("request role `admin`: may not ("), "{out}");

    // A deny rule beats an allow rule on another role.
    assert!(allowed(&acl(&server, "both", "list", "role", &[])));
    let out = acl(&server, "both", "read", "role", &[]);
    assert!(!allowed(&out), "{out}");
    assert!(
        out.contains("decided by: role `no-role-reads` deny.rules[0]"),
        "{out}"
    );

    // Built-in roles cannot be overwritten.
    let admin_role = write_file(
        dir,
        "admin.yaml",
        "kind: role\nversion: v3\nmetadata:\n  name: admin\n",
    );
    let why = err(server.pctl(&["create", "-f", s(&admin_role)]));
    assert!(why.contains("built-in role"), "{why}");
    server.stop();
}

/// A module exporting the extra functions `yes` (answers true) and `boom` (traps).
fn functions_module() -> Vec<u8> {
    let wat = format!(
        r#"(module
  (@custom "portcullis.metadata" "{{\"abi\":1,\"name\":\"fns\",\"version\":\"1\",\"hooks\":[\"function\"],\"functions\":[\"yes\",\"boom\"],\"capabilities\":[]}}")
  {WAT_PRELUDE}
  (data (i32.const 16) "{{\"result\":true}}")
  (func (export "portcullis_fn_yes") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 15)))
  (func (export "portcullis_fn_boom") (param i32 i32) (result i64)
    unreachable))"#
    );
    wat::parse_str(wat).unwrap()
}

const WHERE_ROLES: &str = r#"
kind: role
version: v3
metadata:
  name: dba-readers
spec:
  allow:
    rules:
    - resources: [role]
      verbs: [list, read]
      where: contains(user.spec.traits["team"], "dba")
      actions: ['log("info", "%v listed roles", user.metadata.name)']
---
kind: role
version: v3
metadata:
  name: fn-readers
spec:
  allow:
    rules:
    - resources: [user]
      verbs: [list, readnosecrets]
      where: yes()
---
kind: role
version: v3
metadata:
  name: trap-readers
spec:
  allow:
    rules:
    - resources: [role]
      verbs: [list, read]
      where: boom()
---
kind: user
version: v2
metadata:
  name: dana
spec:
  roles: [dba-readers, fn-readers]
  traits:
    team: [dba]
---
kind: user
version: v2
metadata:
  name: walt
spec:
  roles: [dba-readers, trap-readers]
  traits:
    team: [web]
"#;

#[test]
fn where_clauses_run_in_the_wasm_predicate_module() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start(&dir.join("data"), &[]);
    let module = dir.join("fns.wasm");
    std::fs::write(&module, functions_module()).unwrap();
    server.pctl_ok(&["policy", "upload", s(&module), "--name", "fns"]);
    let roles = write_file(dir, "roles.yaml", WHERE_ROLES);
    server.pctl_ok(&["create", s(&roles)]);

    // The trait decides.
    assert!(ok(server.pctl_as(dir, "dana", &["get", "roles"])).contains("dba-readers"));
    let why = err(server.pctl_as(dir, "walt", &["get", "roles"]));
    assert!(
        why.contains(r#"where `contains(user.spec.traits["team"], "dba")` of role `dba-readers` allow.rules[0] is false"#),
        "{why}"
    );
    // The trapping function fails the clause: it does not allow (fail closed).
    assert!(
        why.contains("where `boom()` of role `trap-readers` allow.rules[0] failed"),
        "{why}"
    );

    // An uploaded module's extra function works in a where clause.
    ok(server.pctl_as(dir, "dana", &["get", "users"]));
    let out = acl(&server, "dana", "list", "user", &[]);
    assert!(
        allowed(&out) && out.contains("where `yes()` of role `fn-readers` allow.rules[0]: true"),
        "{out}"
    );

    // The action of the deciding rule reached the server log and the audit log, and so
    // did the where clause that failed.
    let log = server.log();
    assert!(log.contains("dana listed roles"), "{log}");
    let events: Vec<serde_json::Value> =
        serde_json::from_str(&server.pctl_ok(&["audit", "ls", "--json"])).unwrap();
    let find = |event: &str, user: &str, text: &str| {
        events.iter().any(|e| {
            e["event"] == event
                && e["user"] == user
                && e["fields_json"].as_str().unwrap().contains(text)
        })
    };
    assert!(
        find("rule.action", "dana", "dana listed roles"),
        "{events:?}"
    );
    assert!(
        find("rule.where_failed", "walt", r#""expression":"boom()""#),
        "{events:?}"
    );
    let only = server.pctl_ok(&["audit", "ls", "--event", "rule.where_failed"]);
    assert!(
        only.lines().count() >= 1 && only.lines().all(|l| l.contains("rule.where_failed")),
        "{only}"
    );
    let none = server.pctl_ok(&["audit", "ls", "--since", "2099-01-01T00:00:00Z"]);
    assert_eq!(none.trim(), "no audit events");
    // Reading the audit log needs `list` and `read` on `event`.
    let why = err(server.pctl_as(dir, "dana", &["audit", "ls"]));
    assert!(why.contains("may not call GetAuditEvents"), "{why}");
    let why = stderr(&server.pctl(&["audit", "ls", "--since", "yesterday-ish"]));
    assert!(
        why.contains("--since `yesterday-ish` is neither a duration nor an RFC 3339 time"),
        "{why}"
    );

    // A where clause with a syntax error is refused when the role is created.
    let bad = write_file(
        dir,
        "bad.yaml",
        "kind: role\nversion: v3\nmetadata:\n  name: bad\nspec:\n  allow:\n    rules:\n    - resources: [role]\n      verbs: [read]\n      where: 'contains(user.spec.traits[\"team\"]'\n",
    );
    let why = err(server.pctl(&["create", s(&bad)]));
    assert!(why.contains("spec.allow.rules[0].where"), "{why}");
    assert!(why.contains("syntax error"), "{why}");
    server.stop();
}

const NAMESPACED_ROLES: &str = "\
kind: role
version: v3
metadata:
  name: dev-nodes
spec:
  allow:
    namespaces: [dev]
    node_labels:
      '*': '*'
    rules:
    - resources: [node, app_server]
      verbs: [list, read]
---
kind: role
version: v3
metadata:
  name: everywhere-but-prod
spec:
  allow:
    namespaces: ['*']
    rules:
    - resources: [role]
      verbs: [list, read]
  deny:
    namespaces: [prod]
    rules:
    - resources: [role]
      verbs: [read]
---
kind: user
version: v2
metadata:
  name: dana
spec:
  roles: [dev-nodes, everywhere-but-prod]
";

#[test]
fn rules_apply_in_the_namespaces_their_roles_list() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start(&dir.join("data"), &[]);
    let roles = write_file(dir, "namespaced.yaml", NAMESPACED_ROLES);
    server.pctl_ok(&["create", s(&roles)]);

    // dev-nodes lists `dev` only: its rule does not apply in `default`.
    let out = acl(&server, "dana", "list", "node", &[]);
    assert!(!allowed(&out), "{out}");
    assert!(
        out.contains("no rule of the caller's roles allows it"),
        "{out}"
    );
    let out = acl(&server, "dana", "list", "node", &["--namespace", "dev"]);
    assert!(allowed(&out), "{out}");
    assert!(out.contains("in namespace `dev`"), "{out}");
    assert!(out.contains("role `dev-nodes` allow.rules[0]"), "{out}");

    // `*` is every namespace; the deny rule applies in `prod` only.
    for namespace in ["default", "dev", "staging"] {
        let out = acl(&server, "dana", "read", "role", &["--namespace", namespace]);
        assert!(allowed(&out), "{namespace}: {out}");
    }
    let out = acl(&server, "dana", "read", "role", &["--namespace", "prod"]);
    assert!(!allowed(&out), "{out}");
    assert!(
        out.contains("role `everywhere-but-prod` deny.rules[0]"),
        "{out}"
    );
    let why = err(server.pctl(&[
        "acl",
        "check",
        "--verb",
        "read",
        "--resource",
        "role",
        "--namespace",
        "no/such",
    ]));
    assert!(why.contains("namespace"), "{why}");

    // The real RPC agrees: GetNodes in `dev` is allowed, in `default` it is not.
    ok(server.pctl_as(dir, "dana", &["nodes", "ls", "--namespace", "dev"]));
    let why = err(server.pctl_as(dir, "dana", &["nodes", "ls"]));
    assert!(why.contains("may not call GetNodes"), "{why}");
    // Roles without namespaces (the admin's lists `*`) are unaffected.
    ok(server.pctl(&["nodes", "ls", "--namespace", "dev"]));
    // So do the other listings that select a namespace.
    let files = portcullis_api::TlsFiles::from_prefix(dir.join("id-dana"));
    let rt = portcullis_tests::rt();
    let dana = rt
        .block_on(portcullis_api::Client::connect(&server.addr, &files))
        .unwrap();
    let apps_in = |namespace: &str| {
        let request = portcullis_api::auth::GetAppServersRequest {
            namespace: namespace.into(),
            ..Default::default()
        };
        rt.block_on(dana.rpc().get_app_servers(request))
    };
    apps_in("dev").unwrap();
    let why = apps_in("default").unwrap_err();
    assert_eq!(why.code(), tonic::Code::PermissionDenied, "{why}");
    assert!(
        why.message().contains("may not call GetAppServers"),
        "{why}"
    );
}
