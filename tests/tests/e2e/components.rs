//! End-to-end: policy components (ABI v2) in the real server — a Python extra function
//! decides a role's `where` clause, and a Python component that reaches for a file, the
//! environment or the network fails closed.

use std::net::TcpListener;

use portcullis_tests::policies::{build_example, build_python_fixture, build_rust_fixture, Lang};
use portcullis_tests::{s, write_file, Server};

/// Tuesday 2026-11-24, 10:00 UTC: 12:00 in +02:00, 19:00 in +09:00.
const TUESDAY_10_UTC: &str = "policy:\n  clock: 2026-11-24T10:00:00Z\n";

const OFFICE_ROLES: &str = r#"
kind: role
version: v3
metadata:
  name: office-hours-readers
spec:
  allow:
    rules:
    - resources: [role]
      verbs: [list, read]
      where: business_hours(user.spec.traits["tz"])
---
kind: user
version: v2
metadata:
  name: berlin
spec:
  roles: [office-hours-readers]
  traits:
    tz: ["+02:00"]
---
kind: user
version: v2
metadata:
  name: tokyo
spec:
  roles: [office-hours-readers]
  traits:
    tz: ["+09:00"]
---
kind: user
version: v2
metadata:
  name: nowhere
spec:
  roles: [office-hours-readers]
  traits:
    tz: ["Europe/Berlin"]
"#;

fn can_list_roles(server: &Server, user: &str) -> bool {
    let out = server.pctl_ok(&[
        "acl",
        "check",
        "--user",
        user,
        "--verb",
        "list",
        "--resource",
        "role",
    ]);
    match out.lines().next() {
        Some("allowed") => true,
        Some("denied") => false,
        other => panic!("unexpected answer {other:?} in {out}"),
    }
}

#[test]
fn a_python_function_decides_a_where_clause() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start_with_config(dir, TUESDAY_10_UTC);
    let approve = build_example(Lang::Python);
    let function = approve.with_file_name("business_hours.wasm");
    server.pctl_ok(&["policy", "upload", s(&function), "--name", "business-hours"]);
    let listed = server.pctl_ok(&["policy", "ls"]);
    assert!(listed.contains("business-hours"), "{listed}");
    assert!(listed.contains("function"), "{listed}");
    // The listing tells a component (ABI 2) from a core module (ABI 1, policies.rs).
    let line = listed
        .lines()
        .find(|l| l.starts_with("business-hours"))
        .unwrap();
    assert!(line.contains(" abi 2 "), "{line}");
    // A clause calling a function no module provides is refused when the role is stored,
    // naming it.
    let typo = write_file(
        dir,
        "typo.yaml",
        &OFFICE_ROLES.replace("business_hours(", "busines_hours("),
    );
    let why = portcullis_tests::err(server.pctl(&["create", "-f", s(&typo)]));
    assert!(
        why.contains("spec.allow.rules[0].where: calls `busines_hours`, which no uploaded policy module provides"),
        "{why}"
    );
    let roles = write_file(dir, "roles.yaml", OFFICE_ROLES);
    server.pctl_ok(&["create", "-f", s(&roles)]);

    assert!(
        can_list_roles(&server, "berlin"),
        "12:00 on a Tuesday in +02:00"
    );
    assert!(!can_list_roles(&server, "tokyo"), "19:00 in +09:00");
    // A zone name is not an offset: the function fails, and the allow rule does not allow.
    assert!(!can_list_roles(&server, "nowhere"));
    // The function's evaluations and its failure count against its module (not the checks
    // run when the role was stored), and the failure is in the server's log.
    let listed = server.pctl_ok(&["policy", "ls"]);
    let line = listed
        .lines()
        .find(|l| l.starts_with("business-hours"))
        .unwrap();
    let count = |what: &str| -> u64 {
        let words: Vec<&str> = line.split_whitespace().collect();
        let at = words.iter().position(|w| *w == what).unwrap();
        words[at + 1].parse().unwrap()
    };
    assert_eq!(count("evaluations"), 3, "{line}");
    assert_eq!(count("failures"), 1, "{line}");
    assert!(server.log().contains("extra policy function failed"));
    server.stop();
}

/// A module over `policy.max_module_bytes` is refused naming the setting, even uploaded in
/// parts, and nothing is stored.
#[test]
fn an_upload_over_the_size_limit_is_refused_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start_with_config(dir, "policy:\n  max_module_bytes: 4194304\n");
    let wasm = build_example(Lang::Python);
    let why = portcullis_tests::err(server.pctl(&["policy", "upload", s(&wasm), "--name", "big"]));
    assert!(
        why.contains("more than 4194304 bytes, the limit set by policy.max_module_bytes"),
        "{why}"
    );
    assert!(!server.pctl_ok(&["policy", "ls"]).contains("big"));
    server.stop();
}

/// A component whose `describe.get` fails is refused, and the refusal ends with what it
/// wrote (here Python's traceback): often the only clue to why a runtime did not start.
#[test]
fn a_component_that_cannot_describe_itself_is_refused_with_what_it_wrote() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start(&dir.join("data"), &[]);
    let wasm = build_python_fixture("broken-describe", "access-request-policy");
    let why =
        portcullis_tests::err(server.pctl(&["policy", "upload", s(&wasm), "--name", "broken"]));
    assert!(why.contains("could not be instantiated"), "{why}");
    assert!(why.contains("it wrote:"), "{why}");
    assert!(
        why.contains("RuntimeError: no metadata on Tuesdays"),
        "{why}"
    );
    assert!(!server.pctl_ok(&["policy", "ls"]).contains("broken"));
    server.stop();
}

fn sandbox_input(reason: &str) -> String {
    serde_json::json!({
        "request": {"id": "r1", "user": "mallory", "roles": ["dba"], "state": "PENDING",
                    "reason": reason, "annotations": {}},
        "requester": {}, "reviews": [], "now": "2026-11-24T10:00:00Z"
    })
    .to_string()
}

/// The same attempts from Python (whose runtime has no socket module: the attempt fails in
/// the interpreter) and from Rust on wasm32-wasip2 (whose std calls WASI's filesystem,
/// environment and sockets: WASI itself refuses).
#[test]
fn a_component_reaching_for_files_environment_or_network_fails_closed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start(&dir.join("data"), &[]);
    let python = build_python_fixture("sandbox", "access-request-policy");
    let rust = build_rust_fixture("sandbox-rust");
    for (name, wasm) in [("sandbox", python), ("sandbox-rust", rust)] {
        server.pctl_ok(&["policy", "upload", s(&wasm), "--name", name]);
        attempt_everything(&server, dir, name);
    }
    // The clocks stand still: the monotonic one at 1 s (not 0, which Go's runtime refuses
    // at start-up), the wall clock at the epoch for a module without the `time` capability.
    let out = server
        .eval_access_request(dir, "sandbox", &sandbox_input("clocks:"))
        .unwrap();
    assert!(out.contains("clocks 1000000000 1000000000 0"), "{out}");
    server.stop();
}

fn attempt_everything(server: &Server, dir: &std::path::Path, module: &str) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let secret = write_file(dir, "secret.txt", "the server's secret");
    let attempts = [
        format!("file:{}", secret.display()),
        "file:/etc/passwd".to_owned(),
        "listdir:/".to_owned(),
        "env:HOME".to_owned(),
        "env:PATH".to_owned(),
        format!("socket:{port}"),
    ];
    for attempt in &attempts {
        let answer = server.eval_access_request(dir, module, &sandbox_input(attempt));
        let why = match answer {
            Ok(out) => panic!("`{attempt}` got through the sandbox: {out}"),
            Err(why) => why,
        };
        assert!(!why.contains("escaped"), "{attempt}: {why}");
        assert!(
            why.contains("failed") || why.contains("trap"),
            "{attempt}: {why}"
        );
    }
    // A connection would have been made during its evaluation, which has returned: the
    // kernel would hold it in the listener's backlog by now.
    assert!(
        listener.accept().is_err(),
        "the component connected to a loopback port"
    );
    // The server keeps serving, and counts the failures against the module.
    let listed = server.pctl_ok(&["policy", "ls"]);
    let line = listed
        .lines()
        .find(|l| l.split_whitespace().next() == Some(module))
        .unwrap();
    assert!(
        line.contains(&format!("failures {}", attempts.len())),
        "{line}"
    );
}

/// A component runs under the same limits as a core module: a memory cap below what its
/// interpreter needs refuses the upload, and a fuel budget too small for an evaluation fails
/// it, closed. (The deadline is the same epoch deadline as a core module's, shown there: a
/// Python evaluation is too close to the 1 ms tick to time it here without flakiness.)
#[test]
fn a_component_runs_under_the_modules_limits() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start_with_config(dir, TUESDAY_10_UTC);
    let wasm = build_example(Lang::Python);
    let why = portcullis_tests::err(server.pctl(&[
        "policy",
        "upload",
        s(&wasm),
        "--name",
        "small",
        "--memory",
        "4194304",
    ]));
    assert!(why.contains("above the cap of 4194304 bytes"), "{why}");
    let input = serde_json::json!({
        "request": {"id": "r1", "user": "carl", "roles": ["dba"], "state": "PENDING",
                    "reason": "", "annotations": {"ticket": ["OPS-1"]}},
        "requester": {}, "reviews": [], "now": "2026-11-24T10:00:00Z"
    })
    .to_string();
    // Enough fuel to load (describe), not to decide (about 280,000 per decision).
    server.pctl_ok(&[
        "policy",
        "upload",
        s(&wasm),
        "--name",
        "frugal",
        "--fuel",
        "250000",
    ]);
    let why = server
        .eval_access_request(dir, "frugal", &input)
        .unwrap_err();
    assert!(why.contains("ran out of fuel (budget 250000)"), "{why}");
    // With the defaults it decides.
    server.pctl_ok(&["policy", "upload", s(&wasm), "--name", "plain"]);
    let out = server.eval_access_request(dir, "plain", &input).unwrap();
    assert!(out.contains("approve"), "{out}");
    server.stop();
}
