//! The example approval policy, written in Rust, C, Zig and AssemblyScript and built from
//! source here, gives the same answers to every case of the shared conformance suite
//! (`policies/conformance/cases.json`) under the server's engine — and under `pctl policy
//! test`, which runs the same engine offline.

use std::process::Command;
use std::sync::Arc;

use portcullis_policy::{Engine, EngineConfig, FixedClockHost, SharedHost, Verdict};
use portcullis_tests::policies::{build_example, conformance_cases, Lang};
use portcullis_tests::{err, run_ok};

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
