//! The example approval policy, written in Rust, C, Zig and AssemblyScript (core modules,
//! ABI v1) and in Python and JavaScript (components, ABI v2) and built from source here, gives the same answers to every case of the shared conformance suite
//! (`policies/conformance/cases.json`) under the server's engine — and under `pctl policy
//! test`, which runs the same engine offline.

use std::process::Command;
use std::sync::Arc;

use portcullis_policy::{Engine, EngineConfig, FixedClockHost, SharedHost, Verdict};
use portcullis_tests::policies::{build_example, conformance_cases, Lang};
use portcullis_tests::{err, run_ok, stderr};

fn decision_name(decision: &Verdict) -> &'static str {
    match decision {
        Verdict::Approve => "approve",
        Verdict::Deny => "deny",
        Verdict::Pending => "pending",
    }
}

fn check_language(lang: Lang) {
    let wasm = std::fs::read(build_example(lang)).unwrap();
    let engine = Engine::new(EngineConfig::default()).unwrap();
    let module = engine
        .load(&wasm, None)
        .unwrap_or_else(|e| panic!("{lang:?}: {e}"));
    assert_eq!(module.info().metadata.name, "approve-dba");
    let cases = conformance_cases();
    let cases = cases.as_array().unwrap();
    assert!(cases.len() >= 10, "the suite has its cases");
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let host: SharedHost = Arc::new(FixedClockHost(case["now_ms"].as_i64().unwrap()));
        let verdict = module
            .eval_access_request(case["input"].clone(), &host)
            .unwrap_or_else(|e| panic!("{lang:?} `{name}`: {e}"));
        let expected = &case["expected"];
        assert_eq!(
            decision_name(&verdict.verdict),
            expected["verdict"],
            "{lang:?} `{name}`"
        );
        assert_eq!(
            verdict.reason.as_str(),
            expected["reason"].as_str().unwrap_or_default(),
            "{lang:?} `{name}`"
        );
        let annotations = serde_json::to_value(&verdict.annotations).unwrap();
        let wanted = expected
            .get("annotations")
            .cloned()
            .unwrap_or_else(|| serde_json::json!({}));
        assert_eq!(annotations, wanted, "{lang:?} `{name}`");
    }
}

#[test]
fn rust_module_passes_the_conformance_suite() {
    check_language(Lang::Rust);
}

#[test]
fn c_module_passes_the_conformance_suite() {
    check_language(Lang::C);
}

#[test]
fn zig_module_passes_the_conformance_suite() {
    check_language(Lang::Zig);
}

#[test]
fn assemblyscript_module_passes_the_conformance_suite() {
    check_language(Lang::AssemblyScript);
}

#[test]
fn python_component_passes_the_conformance_suite() {
    check_language(Lang::Python);
}

#[test]
fn javascript_component_passes_the_conformance_suite() {
    check_language(Lang::JavaScript);
}

#[test]
fn rust_component_passes_the_conformance_suite() {
    check_language(Lang::RustComponent);
}

#[test]
fn pctl_policy_test_runs_a_module_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = build_example(Lang::C);
    let cases = conformance_cases();
    let case = &cases[0];
    let input = tmp.path().join("input.json");
    std::fs::write(&input, case["input"].to_string()).unwrap();
    // 2026-11-24 is a Tuesday; 10:00 UTC is within working hours.
    let stdout = run_ok(
        Command::new(portcullis_tests::bin("pctl"))
            .args(["policy", "test"])
            .arg(&wasm)
            .args([
                "--hook",
                "access_request",
                "--now",
                "2026-11-24T10:00:00Z",
                "--input",
            ])
            .arg(&input),
    );
    assert!(stdout.contains("\"verdict\": \"approve\""), "{stdout}");
    assert!(stdout.contains("fuel used:"), "{stdout}");

    // A hook the module does not implement is a failure with the reason.
    let out = Command::new(portcullis_tests::bin("pctl"))
        .args(["policy", "test"])
        .arg(&wasm)
        .args(["--hook", "where", "--input"])
        .arg(&input)
        .output()
        .unwrap();
    let why = err(out);
    assert!(why.contains("where"), "{why}");
}

/// `policies/conformance/approve_dba.test.yaml` holds the cases of `cases.json`, and every
/// language's module passes it under `pctl policy test --cases`.
#[test]
fn pctl_policy_test_runs_the_conformance_cases_for_every_language() {
    let root = portcullis_tests::policies::repo_root();
    let file = root.join("policies/conformance/approve_dba.test.yaml");
    let yaml: serde_json::Value =
        serde_norway::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let cases = conformance_cases();
    let listed = yaml["cases"].as_array().unwrap();
    assert_eq!(listed.len(), cases.as_array().unwrap().len(), "in step");
    for (case, listed) in cases.as_array().unwrap().iter().zip(listed) {
        assert_eq!(listed["name"], case["name"]);
        assert_eq!(listed["input"], case["input"], "{}", case["name"]);
        assert_eq!(listed["expect"]["verdict"], case["expected"]["verdict"]);
        assert_eq!(listed["expect"]["reason"], case["expected"]["reason"]);
    }
    let total = listed.len();
    for lang in Lang::ALL {
        let wasm = build_example(lang);
        let stdout = run_ok(
            Command::new(portcullis_tests::bin("pctl"))
                .args(["policy", "test"])
                .arg(&wasm)
                .arg("--cases")
                .arg(&file),
        );
        assert!(
            stdout.contains(&format!("{total} passed, 0 failed")),
            "{lang:?}: {stdout}"
        );
    }
}

/// A failing case says which field differs, shows the module's logs, and fails the run;
/// `--now` takes any RFC 3339 offset and times before 1970; a bare `--hook function` says
/// what it lacks.
#[test]
fn pctl_policy_test_reports_failing_cases_and_reads_any_rfc3339_time() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = build_example(Lang::Python);
    let input = conformance_cases()[0]["input"].clone();
    let cases = portcullis_tests::write_file(
        tmp.path(),
        "cases.yaml",
        &format!(
            "hook: access_request\ncases:\n  - name: wrong on purpose\n    now: 2026-11-24T12:00:00+02:00\n    input: {input}\n    expect: {{verdict: deny}}\n  - name: right\n    now: 2026-11-24T12:00:00+02:00\n    input: {input}\n    expect: {{verdict: approve}}\n"
        ),
    );
    let out = Command::new(portcullis_tests::bin("pctl"))
        .args(["policy", "test"])
        .arg(&wasm)
        .arg("--cases")
        .arg(&cases)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("FAIL  wrong on purpose: verdict is \"approve\", expected \"deny\""),
        "{stdout}"
    );
    assert!(stdout.contains("PASS  right"), "{stdout}");
    assert!(stdout.contains("1 passed, 1 failed"), "{stdout}");

    let input_file = portcullis_tests::write_file(tmp.path(), "in.json", &input.to_string());
    let run = |now: &str| {
        Command::new(portcullis_tests::bin("pctl"))
            .args(["policy", "test"])
            .arg(&wasm)
            .args(["--hook", "access_request", "--now", now, "--input"])
            .arg(&input_file)
            .output()
            .unwrap()
    };
    let stdout = |now: &str| {
        let out = run(now);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{now}: {text}{}", stderr(&out));
        text
    };
    // 12:00 in +02:00 is 10:00 UTC on a Tuesday: working hours.
    let approved = stdout("2026-11-24T12:00:00+02:00");
    assert!(approved.contains("\"verdict\": \"approve\""), "{approved}");
    // 20:00 on Wednesday 31 December 1969 is outside working hours: read, and decided.
    let pending = stdout("1969-12-31T20:00:00Z");
    assert!(pending.contains("outside working hours"), "{pending}");
    let why = err(Command::new(portcullis_tests::bin("pctl"))
        .args(["policy", "test"])
        .arg(&wasm)
        .args(["--hook", "function", "--input"])
        .arg(&input_file)
        .output()
        .unwrap());
    assert!(why.contains("function:NAME"), "{why}");
}

/// `pctl policy new NAME --lang L` writes a project that builds with its own build.sh and
/// passes its own test file, in each of the six languages. (The npm-based languages borrow
/// the examples' node_modules, of the same pinned versions, instead of downloading them.)
#[test]
fn every_scaffold_builds_and_passes_its_own_test() {
    let tmp = tempfile::tempdir().unwrap();
    let root = portcullis_tests::policies::repo_root();
    let pctl = portcullis_tests::bin("pctl");
    for (lang, node_modules) in [
        ("c", None),
        ("zig", None),
        ("rust", None),
        ("assemblyscript", Some("assemblyscript")),
        ("python", None),
        ("javascript", Some("javascript")),
    ] {
        let name = format!("gate-{lang}");
        let dir = tmp.path().join(&name);
        run_ok(
            Command::new(&pctl)
                .args(["policy", "new", &name, "--lang", lang, "--dir"])
                .arg(&dir),
        );
        if let Some(example) = node_modules {
            std::os::unix::fs::symlink(
                root.join("policies/examples")
                    .join(example)
                    .join("node_modules"),
                dir.join("node_modules"),
            )
            .unwrap();
        }
        let built = run_ok(
            Command::new("bash")
                .arg(dir.join("build.sh"))
                .env("PCTL", &pctl)
                // The Rust scaffold's own target directory, inside the temporary one.
                .env_remove("CARGO_TARGET_DIR"),
        );
        let wasm = built.trim().lines().last().unwrap().to_owned();
        assert!(
            wasm.ends_with(&format!("out/{name}.wasm")),
            "{lang}: {built}"
        );
        let stdout = run_ok(
            Command::new(&pctl)
                .args(["policy", "test", &wasm, "--cases"])
                .arg(dir.join("policy.test.yaml")),
        );
        assert!(stdout.contains("3 passed, 0 failed"), "{lang}: {stdout}");
    }
    // A second `new` into a project refuses, and writes nothing.
    let out = Command::new(&pctl)
        .args(["policy", "new", "gate-c", "--lang", "c", "--dir"])
        .arg(tmp.path().join("gate-c"))
        .output()
        .unwrap();
    assert!(err(out).contains("not empty"));
}
