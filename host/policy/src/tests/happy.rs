//! Happy paths of every hook, the imports, offline runs and concurrency.

use std::sync::Arc;

use serde_json::{json, Value};

use super::*;
use crate::{
    run_offline, Effect, ErrorKind, EvalError, Hook, Host, Level, Registry, RegistryHost, Verdict,
};

#[test]
fn where_uses_input_get_and_log() {
    let engine = engine();
    let good = engine.load(&good_bytes(), None).unwrap();
    assert_eq!(good.info().metadata.name, "good");
    assert_eq!(good.info().sha256.len(), 64);
    let eval = good
        .call(&Hook::Where, where_input("alice"), &system())
        .unwrap();
    assert_eq!(eval.output, json!({"result": true}));
    assert_eq!(eval.logs, vec![(Level::Info, "where called".to_owned())]);
    assert!(eval.fuel_used > 0 && eval.fuel_used < 10_000);
    assert!(!good.eval_where(where_input("alicia"), &system()).unwrap());
    // No such input value: input_get returns -1, so the name is not alice.
    assert!(!good.eval_where(json!({}), &system()).unwrap());
}

#[test]
fn action_effects() {
    let good = engine().load(&good_bytes(), None).unwrap();
    let effects = good.eval_action(where_input("alice"), &system()).unwrap();
    assert_eq!(
        effects,
        vec![
            Effect::Log {
                level: Level::Info,
                message: "hi".to_owned()
            },
            Effect::Annotate {
                key: "k".to_owned(),
                value: "v".to_owned()
            },
        ]
    );
}

#[test]
fn access_request_sees_a_fixed_clock() {
    let good = engine().load(&good_bytes(), None).unwrap();
    let input = json!({"request": {"id": "r1"}, "requester": {}, "reviews": [], "now": ""});
    let v = good
        .eval_access_request(input.clone(), &clock(2_000_000))
        .unwrap();
    assert_eq!(v.verdict, Verdict::Approve);
    assert_eq!(v.reason, "clock ok");
    assert_eq!(v.annotations["policy"], vec!["good".to_owned()]);
    assert_eq!(v.suggested_reviewers, vec!["alice".to_owned()]);
    let v = good.eval_access_request(input.clone(), &clock(5)).unwrap();
    assert_eq!(v.verdict, Verdict::Pending);

    // A clock that moves between two reads within one evaluation is still read once.
    struct Ticking(std::sync::atomic::AtomicI64);
    impl Host for Ticking {
        fn now_ms(&self) -> i64 {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        }
        fn lookup(&self, _: &str, _: &str) -> Option<Value> {
            None
        }
        fn call_function(&self, n: &str, _: Value, _: u32) -> Result<Value, EvalError> {
            Err(EvalError::NoSuchFunction(n.to_owned()))
        }
    }
    let ticking: SharedHost = Arc::new(Ticking(std::sync::atomic::AtomicI64::new(3_000_000)));
    let v = good.eval_access_request(input.clone(), &ticking).unwrap();
    assert_eq!(v.verdict, Verdict::Approve);
}

#[test]
fn extra_function() {
    let good = engine().load(&good_bytes(), None).unwrap();
    let r = good
        .eval_function("echo", &json!(["bob"]), &json!({}), &json!({}), &system())
        .unwrap();
    assert_eq!(r, json!("bob"));
    assert_eq!(
        good.eval_function("echo", &json!([]), &json!({}), &json!({}), &system()),
        Err(EvalError::guest(ErrorKind::Evaluation, "no args"))
    );
    assert_eq!(
        good.eval_function("nope", &json!([]), &json!({}), &json!({}), &system()),
        Err(EvalError::HookNotImplemented("function:nope".to_owned()))
    );
}

#[test]
fn lookup_enforces_capabilities() {
    // where: true when lookup(user) is refused (-2) and lookup(role/dba) finds something
    // whose JSON is 14 bytes long.
    let wat = format!(
        r#"(module {LOOKUP_PRELUDE}
      (func (export "portcullis_where") (param i32 i32) (result i64)
        (if (result i64)
          (i32.and
            (i32.eq (call $lookup (i32.const 16) (i32.const 4) (i32.const 32) (i32.const 5) (i32.const 2048) (i32.const 64)) (i32.const -2))
            (i32.eq (call $lookup (i32.const 24) (i32.const 4) (i32.const 40) (i32.const 3) (i32.const 2048) (i32.const 64)) (i32.const 14)))
          (then (i64.const 0x400000000F))
          (else (i64.const 0x6000000010))))
      (data (i32.const 16) "user") (data (i32.const 24) "role")
      (data (i32.const 32) "alice") (data (i32.const 40) "dba")
      (data (i32.const 64) "{{\"result\":true}}") (data (i32.const 96) "{{\"result\":false}}"))"#
    );
    let bytes = module(
        &wat,
        r#"{"abi":1,"name":"lk","version":"1","hooks":["where"],"capabilities":["lookup:role"]}"#,
    );
    let registry = Arc::new(Registry::new());
    let host = RegistryHost::new(registry)
        .with_lookup(|kind, name| {
            assert_eq!(kind, "role", "an undeclared kind reached the host");
            (name == "dba").then(|| json!({"name": "dba"}))
        })
        .shared();
    let m = engine().load(&bytes, None).unwrap();
    assert!(m.eval_where(json!({}), &host).unwrap());
}

#[test]
fn nested_function_calls_through_the_registry() {
    // where: true when call("echo", ["x"]) writes {"result":"x"} (14 bytes).
    let wat = r#"(module
      (import "portcullis" "call" (func $call (param i32 i32 i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (global $heap (mut i32) (i32.const 4096))
      (func (export "portcullis_abi_v1"))
      (func (export "portcullis_alloc") (param $len i32) (result i32)
        (local $p i32) (local.set $p (global.get $heap))
        (global.set $heap (i32.add (global.get $heap) (local.get $len))) (local.get $p))
      (func (export "portcullis_where") (param i32 i32) (result i64)
        (if (result i64)
          (i32.eq (call $call (i32.const 16) (i32.const 4) (i32.const 32) (i32.const 5) (i32.const 2048) (i32.const 64)) (i32.const 14))
          (then (i64.const 0x400000000F))
          (else (i64.const 0x6000000010))))
      (data (i32.const 16) "echo") (data (i32.const 32) "[\"x\"]")
      (data (i32.const 64) "{\"result\":true}") (data (i32.const 96) "{\"result\":false}"))"#;
    let caller = module(
        wat,
        r#"{"abi":1,"name":"caller","version":"1","hooks":["where"],"capabilities":["call"]}"#,
    );
    let engine = engine();
    let registry = Arc::new(Registry::new());
    registry.insert("good", engine.load(&good_bytes(), None).unwrap());
    let caller = engine.load(&caller, None).unwrap();
    registry.insert("caller", caller.clone());
    assert_eq!(registry.find_function("echo").unwrap().0, "good");
    let host = RegistryHost::new(registry.clone()).shared();
    assert!(caller.eval_where(json!({}), &host).unwrap());
    // Without the callee, call returns -1 and the predicate is false.
    registry.remove("good");
    assert!(!caller.eval_where(json!({}), &host).unwrap());
}

#[test]
fn offline_run_reports_output_logs_and_fuel() {
    let report = run_offline(
        &good_bytes(),
        &Hook::Where,
        &where_input("alice"),
        None,
        Some(0),
    )
    .unwrap();
    assert_eq!(report.output, Ok(json!({"result": true})));
    assert_eq!(report.logs.len(), 1);
    assert!(report.fuel_used > 0);
    assert_eq!(report.info.metadata.name, "good");

    let input = json!({"request": {}});
    let report = run_offline(
        &good_bytes(),
        &Hook::AccessRequest,
        &input,
        None,
        Some(7_000_000),
    )
    .unwrap();
    assert_eq!(report.output.unwrap()["verdict"], "approve");

    // A failing evaluation is a report too, with the logs written before the failure.
    let looping = hostile(
        r#"(call $log (i32.const 2) (i32.const 64) (i32.const 15)) (loop $l (br $l)) (i64.const 0)"#,
    );
    let limits = Limits {
        fuel: 100_000,
        ..Limits::default()
    };
    let report = run_offline(&looping, &Hook::Where, &json!({}), Some(limits), None).unwrap();
    assert_eq!(report.output, Err(EvalError::OutOfFuel { fuel: 100_000 }));
    assert_eq!(
        report.logs,
        vec![(Level::Warn, r#"{"result":true}"#.to_owned())]
    );
    assert!(report.fuel_used >= 99_000);
}

#[test]
fn hook_parses_from_cli_text() {
    assert_eq!("where".parse::<Hook>(), Ok(Hook::Where));
    assert_eq!("access_request".parse::<Hook>(), Ok(Hook::AccessRequest));
    assert_eq!(
        "function:echo".parse::<Hook>(),
        Ok(Hook::Function("echo".into()))
    );
    assert_eq!("fn:echo".parse::<Hook>(), Ok(Hook::Function("echo".into())));
    assert!("fn:Echo".parse::<Hook>().is_err());
    assert_eq!(
        "when".parse::<Hook>().unwrap_err().to_string(),
        "unknown hook `when` (expected where, action, access_request, or function:NAME / fn:NAME for an extra function)"
    );
    // The bare kind, as the metadata spells it, says what is missing.
    for bare in ["function", "fn"] {
        let why = bare.parse::<Hook>().unwrap_err().to_string();
        assert!(
            why.contains("needs the function's name: `function:NAME` (or `fn:NAME`)"),
            "{why}"
        );
    }
}

#[test]
fn concurrent_evaluations_from_four_threads() {
    let engine = engine();
    let good = engine.load(&good_bytes(), None).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let good = good.clone();
            std::thread::spawn(move || {
                for j in 0..200 {
                    let name = if (i + j) % 2 == 0 { "alice" } else { "bob" };
                    assert_eq!(
                        good.eval_where(where_input(name), &system()).unwrap(),
                        name == "alice"
                    );
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn shared_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<crate::Engine>();
    assert_send_sync::<crate::PolicyModule>();
    assert_send_sync::<Registry>();
    assert_send_sync::<RegistryHost>();
}

#[test]
fn default_engine_builds_and_serves() {
    let engine = crate::Engine::new(crate::EngineConfig::default()).unwrap();
    assert_eq!(engine.defaults(), Limits::default());
    assert_still_serving(&engine);
}

#[test]
#[ignore = "timing printout, run with --ignored --nocapture"]
fn call_latency_printout() {
    let good = engine().load(&good_bytes(), None).unwrap();
    let input = where_input("alice");
    let host = system();
    let n = 2000;
    let start = std::time::Instant::now();
    for _ in 0..n {
        assert!(good.eval_where(input.clone(), &host).unwrap());
    }
    println!("where: {:?} per call", start.elapsed() / n);
}

#[test]
fn nested_calls_stop_at_depth_four() {
    // fn rec: calls "rec" and passes its output through; when the call fails (-3, too deep)
    // it answers {"result":"bottom"}.
    let wat = r#"(module
      (import "portcullis" "call" (func $call (param i32 i32 i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (global $heap (mut i32) (i32.const 4096))
      (func (export "portcullis_abi_v1"))
      (func (export "portcullis_alloc") (param $len i32) (result i32)
        (local $p i32) (local.set $p (global.get $heap))
        (global.set $heap (i32.add (global.get $heap) (local.get $len))) (local.get $p))
      (func (export "portcullis_fn_rec") (param i32 i32) (result i64)
        (local $n i32)
        (local.set $n (call $call (i32.const 16) (i32.const 3) (i32.const 32) (i32.const 2) (i32.const 2048) (i32.const 256)))
        (if (result i64) (i32.gt_s (local.get $n) (i32.const 0))
          (then (i64.or (i64.const 0x80000000000) (i64.extend_i32_u (local.get $n))))
          (else (i64.const 0x4000000013))))
      (data (i32.const 16) "rec") (data (i32.const 32) "[]")
      (data (i32.const 64) "{\"result\":\"bottom\"}"))"#;
    let bytes = module(
        wat,
        r#"{"abi":1,"name":"rec","version":"1","hooks":["function"],"functions":["rec"],"capabilities":["call"]}"#,
    );
    #[derive(Clone)]
    struct Counting {
        registry: Arc<Registry>,
        max: Arc<std::sync::atomic::AtomicU32>,
    }
    impl Host for Counting {
        fn now_ms(&self) -> i64 {
            0
        }
        fn lookup(&self, _: &str, _: &str) -> Option<Value> {
            None
        }
        fn call_function(&self, name: &str, input: Value, depth: u32) -> Result<Value, EvalError> {
            self.max
                .fetch_max(depth, std::sync::atomic::Ordering::SeqCst);
            let me: SharedHost = Arc::new(self.clone());
            self.registry.call_function(name, input, &me, depth)
        }
    }
    let registry = Arc::new(Registry::new());
    let m = engine().load(&bytes, None).unwrap();
    registry.insert("rec", m.clone());
    let counting = Counting {
        registry,
        max: Arc::default(),
    };
    let host: SharedHost = Arc::new(counting.clone());
    let r = m
        .eval_function("rec", &json!([]), &json!({}), &json!({}), &host)
        .unwrap();
    assert_eq!(r, json!("bottom"));
    assert_eq!(
        counting.max.load(std::sync::atomic::Ordering::SeqCst),
        crate::MAX_CALL_DEPTH
    );
}

/// Reads `/verb` with `input_get` (raw: 4 bytes) and `input_get_json` (`"read"`: 6 bytes,
/// starting with a quote); traps if it was handed an input or if `portcullis_alloc` is called.
const PULL_WAT: &str = r#"(module
  (import "portcullis" "input_get" (func $get (param i32 i32 i32 i32) (result i32)))
  (import "portcullis" "input_get_json" (func $get_json (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "/verb")
  (data (i32.const 16) "{\"result\":true}")
  (data (i32.const 32) "{\"result\":false}")
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_alloc") (param i32) (result i32) unreachable)
  (func (export "portcullis_where") (param $ptr i32) (param $len i32) (result i64)
    (if (i32.or (local.get $ptr) (local.get $len)) (then unreachable))
    (if (i32.and
          (i32.eq (call $get (i32.const 0) (i32.const 5) (i32.const 100) (i32.const 64)) (i32.const 4))
          (i32.and
            (i32.eq (call $get_json (i32.const 0) (i32.const 5) (i32.const 200) (i32.const 64))
                    (i32.const 6))
            (i32.eq (i32.load8_u (i32.const 200)) (i32.const 34))))
      (then (return (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 15)))))
    (i64.or (i64.shl (i64.const 32) (i64.const 32)) (i64.const 16))))"#;

#[test]
fn pulling_modules_get_no_input_copy_and_read_json_values() {
    let meta = |mode: &str| {
        format!(
            r#"{{"abi":1,"name":"pull","version":"1","hooks":["where"],
                "capabilities":["input"],"input_mode":"{mode}"}}"#
        )
    };
    let pulling = engine()
        .load(&module(PULL_WAT, &meta("pull")), None)
        .unwrap();
    assert_eq!(pulling.info().metadata.input_mode, crate::InputMode::Pull);
    assert!(pulling.eval_where(where_input("alice"), &system()).unwrap());
    // The same code as a copying module is handed its input: `portcullis_alloc` traps.
    let copying = engine()
        .load(&module(PULL_WAT, &meta("copy")), None)
        .unwrap();
    let e = copying
        .eval_where(where_input("alice"), &system())
        .unwrap_err();
    assert!(matches!(e, EvalError::Trap(_)), "{e}");
}
