//! End-to-end: policy modules against the real binary — upload, validation refusals, hot
//! replace, rollback, restart with the compiled-module cache, and hostile modules contained
//! while the server keeps answering.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use portcullis_tests::policies::access_request_module as module;
use portcullis_tests::{err, s, stderr, write_file, Server};

fn verdict(name: &str, verdict: &str) -> Vec<u8> {
    module(
        name,
        "",
        &format!(r#"{{"verdict":"{verdict}","reason":"{name}"}}"#),
    )
}

const INPUT: &str = r#"{"request":{"id":"r1","user":"alice","roles":["dba"],"state":"PENDING","annotations":{}},"requester":{},"reviews":[],"now":"2026-11-24T10:00:00Z"}"#;

fn save(dir: &Path, name: &str, wasm: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, wasm).unwrap();
    path
}

fn eval(server: &Server, dir: &Path, name: &str) -> Result<String, String> {
    server.eval_access_request(dir, name, INPUT)
}

#[test]
fn upload_replace_rollback_and_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = dir.join("data");
    let server = Server::start(&data, &[]);
    let v1 = save(dir, "v1.wasm", &verdict("first", "approve"));
    let v2 = save(dir, "v2.wasm", &verdict("second", "deny"));

    let out = server.pctl_ok(&["policy", "upload", s(&v1), "--name", "gate"]);
    assert!(out.contains("first"), "{out}");
    let out = eval(&server, dir, "gate").unwrap();
    assert!(out.contains(r#""verdict":"approve""#), "{out}");

    // Hot replace: the next evaluation uses the new version, no restart.
    server.pctl_ok(&["policy", "upload", s(&v2), "--name", "gate"]);
    let out = eval(&server, dir, "gate").unwrap();
    assert!(out.contains(r#""verdict":"deny""#), "{out}");
    let listing = server.pctl_ok(&["policy", "ls"]);
    assert!(
        listing.contains("second") && listing.contains("previous"),
        "{listing}"
    );
    // A core module is ABI 1 (a component, ABI 2: components.rs).
    assert!(listing.contains(" abi 1 "), "{listing}");

    // Rollback puts the first version back.
    server.pctl_ok(&["policy", "rollback", "gate"]);
    let out = eval(&server, dir, "gate").unwrap();
    assert!(out.contains(r#""verdict":"approve""#), "{out}");

    // The bytes come back unchanged.
    let back = dir.join("back.wasm");
    server.pctl_ok(&["policy", "get", "gate", "--out", s(&back)]);
    assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&v1).unwrap());
    let yaml = server.pctl_ok(&["policy", "get", "gate"]);
    assert!(yaml.contains("module_name: first"), "{yaml}");
    server.stop();

    // After a restart the module is in effect again, loaded from the compiled cache.
    let server = Server::start(&data, &["--log-level", "info"]);
    let out = eval(&server, dir, "gate").unwrap();
    assert!(out.contains(r#""verdict":"approve""#), "{out}");
    let log = server.log();
    assert!(log.contains("loaded policy modules"), "{log}");
    assert!(
        log.contains("source=cache hit (disk)") && !log.contains("source=compiled"),
        "no recompilation after a restart:\n{log}"
    );

    server.pctl_ok(&["policy", "rm", "gate"]);
    assert!(eval(&server, dir, "gate")
        .unwrap_err()
        .contains("not found"));
    err(server.pctl(&["policy", "rollback", "gate"]));
}

#[test]
fn bad_modules_are_refused_with_the_reason_and_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start(&dir.join("data"), &[]);
    let good = save(dir, "good.wasm", &verdict("good", "approve"));
    server.pctl_ok(&["policy", "upload", s(&good), "--name", "gate"]);

    let full = verdict("good", "approve");
    let unknown_import = wat::parse_str(
        r#"(module
  (@custom "portcullis.metadata" "{\"abi\":1,\"name\":\"x\",\"version\":\"1\",\"hooks\":[\"where\"],\"functions\":[],\"capabilities\":[]}")
  (import "env" "system" (func $system (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 16))
  (func (export "portcullis_where") (param i32 i32) (result i64) (i64.const 0)))"#,
    )
    .unwrap();
    let wrong_abi = wat::parse_str(
        r#"(module
  (@custom "portcullis.metadata" "{\"abi\":1,\"name\":\"x\",\"version\":\"1\",\"hooks\":[\"where\"],\"functions\":[],\"capabilities\":[]}")
  (memory (export "memory") 1)
  (func (export "portcullis_abi_v7"))
  (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 16))
  (func (export "portcullis_where") (param i32 i32) (result i64) (i64.const 0)))"#,
    )
    .unwrap();
    let no_metadata = wat::parse_str(
        r#"(module
  (memory (export "memory") 1)
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 16))
  (func (export "portcullis_where") (param i32 i32) (result i64) (i64.const 0)))"#,
    )
    .unwrap();
    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("truncated", full[..full.len() / 2].to_vec(), "wasm"),
        ("not-wasm", b"#!/bin/sh\necho hi\n".to_vec(), "wasm"),
        ("unknown-import", unknown_import, "env"),
        ("wrong-abi", wrong_abi, "portcullis_abi_v"),
        ("no-metadata", no_metadata, "portcullis.metadata"),
    ];
    for (name, bytes, needle) in cases {
        let file = save(dir, &format!("{name}.wasm"), &bytes);
        let out = server.pctl(&["policy", "upload", s(&file), "--name", "gate"]);
        assert!(!out.status.success(), "{name} was accepted");
        let why = stderr(&out);
        assert!(
            why.contains(needle),
            "{name}: the reason names `{needle}`: {why}"
        );
    }
    // The stored module is unchanged.
    let out = eval(&server, dir, "gate").unwrap();
    assert!(out.contains(r#""reason":"good""#), "{out}");
    let listing = server.pctl_ok(&["policy", "ls"]);
    assert!(!listing.contains("previous"), "{listing}");
}

#[test]
fn hostile_modules_are_contained_and_the_server_keeps_serving() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start(&dir.join("data"), &[]);
    let ok = r#"{"verdict":"approve","reason":"ok"}"#;
    let hostile: [(&str, Vec<u8>); 6] = [
        ("spin", module("spin", "(loop $l (br $l))", ok)),
        (
            "bomb",
            module(
                "bomb",
                "(loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) unreachable",
                ok,
            ),
        ),
        ("trap", module("trap", "unreachable", ok)),
        ("deep", module("deep", "(drop (call $recurse (i32.const 0)))", ok)),
        // Claims a 16 MiB answer.
        (
            "huge",
            module(
                "huge",
                "(return (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 16777216)))",
                ok,
            ),
        ),
        ("garbage", module("garbage", "", "{not json")),
    ];
    for (name, bytes) in &hostile {
        let file = save(dir, &format!("{name}.wasm"), bytes);
        server.pctl_ok(&[
            "policy",
            "upload",
            s(&file),
            "--name",
            name,
            "--timeout",
            "200ms",
        ]);
    }
    for (name, _) in &hostile {
        // While the hostile module runs, the server answers other requests.
        let addr = server.addr.clone();
        let data = server.data_dir.clone();
        let pinger = std::thread::spawn(move || {
            let started = Instant::now();
            let out = std::process::Command::new(portcullis_tests::bin("pctl"))
                .args(["--auth-server", &addr, "--identity-dir"])
                .arg(&data)
                .arg("status")
                .output()
                .unwrap();
            (out.status.success(), started.elapsed())
        });
        let started = Instant::now();
        let err = eval(&server, dir, name).unwrap_err();
        let took = started.elapsed();
        assert!(err.contains("evaluation of"), "{name}: {err}");
        assert!(
            took < Duration::from_secs(10),
            "{name} was stopped in time ({took:?})"
        );
        let (ok, ping_took) = pinger.join().unwrap();
        assert!(ok, "the server answered while `{name}` ran");
        assert!(ping_took < Duration::from_secs(10));
    }
    // Failures are counted, and a good module still works.
    let listing = server.pctl_ok(&["policy", "ls"]);
    assert!(listing.contains("failures 1"), "{listing}");
    let good = save(dir, "good.wasm", &verdict("good", "approve"));
    server.pctl_ok(&["policy", "upload", s(&good), "--name", "good"]);
    assert!(eval(&server, dir, "good").unwrap().contains("approve"));
}

#[test]
fn the_builtin_predicate_module_evaluates_where_clauses() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start(&dir.join("data"), &[]);
    let check = |team: &str| -> String {
        let input = serde_json::json!({
            "expression": r#"contains(user.spec.traits["team"], "dba") && !equals(user.metadata.name, "mallory")"#,
            "user": {"kind": "user", "version": "v2", "metadata": {"name": "alice"},
                     "spec": {"roles": ["dev"], "traits": {"team": [team]}}},
            "resource": {},
            "verb": "read",
            "kind": "role",
        });
        let file = write_file(dir, "where.json", &input.to_string());
        server.pctl_ok(&[
            "policy",
            "eval",
            "predicate",
            "--hook",
            "where",
            "--input",
            s(&file),
        ])
    };
    assert!(check("dba").contains(r#""result":true"#));
    assert!(check("web").contains(r#""result":false"#));
    // A syntax error is a failed evaluation with the position, never an answer.
    let bad = write_file(
        dir,
        "bad.json",
        r#"{"expression": "contains(user.spec.traits[", "user": {}, "resource": {}}"#,
    );
    let why = err(server.pctl(&[
        "policy",
        "eval",
        "predicate",
        "--hook",
        "where",
        "--input",
        s(&bad),
    ]));
    assert!(why.contains("column"), "{why}");
}

/// The deepest expressions the predicate language accepts evaluate inside the module (its
/// stack is large enough), and one level more is a clear error, never a trap.
#[test]
fn the_builtin_predicate_module_evaluates_the_deepest_expressions() {
    use portcullis_policy::{Engine, EngineConfig, SharedHost, SystemHost};
    use predicate::parser::MAX_DEPTH;

    let engine = Engine::new(EngineConfig::default()).unwrap();
    let module = engine
        .load(portcullis_server::modules::BUILTIN_PREDICATE, None)
        .unwrap();
    let host: SharedHost = std::sync::Arc::new(SystemHost);
    let nested = |n: usize| -> Vec<(&'static str, String)> {
        vec![
            ("parentheses", "(".repeat(n) + "true" + &")".repeat(n)),
            (
                "negations",
                "!".repeat(n) + if n % 2 == 0 { "true" } else { "false" },
            ),
            (
                "calls",
                "contains(".to_owned()
                    + &"set(".repeat(n - 1)
                    + r#""a""#
                    + &")".repeat(n - 1)
                    + r#", "a")"#,
            ),
            (
                "indexes",
                "equals(".to_owned()
                    + &r#"user.spec.traits["#.repeat(n - 1)
                    + r#""x""#
                    + &"]".repeat(n - 1)
                    + r#", "")"#,
            ),
            ("comparisons", "true".to_owned() + &" == true".repeat(n)),
        ]
    };
    let input = |expression: &str| {
        serde_json::json!({"expression": expression, "user": {"spec": {"traits": {}}},
                           "resource": {}, "verb": "read", "kind": "role"})
    };
    for (form, expression) in nested(MAX_DEPTH) {
        let result = module.eval_where(input(&expression), &host);
        assert_eq!(result, Ok(true), "{form} at depth {MAX_DEPTH}");
    }
    for (form, expression) in nested(MAX_DEPTH + 1) {
        let error = module.eval_where(input(&expression), &host).unwrap_err();
        assert!(
            error.to_string().contains("nested too deeply"),
            "{form} at depth {}: {error}",
            MAX_DEPTH + 1
        );
    }
}
