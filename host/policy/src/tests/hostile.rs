//! Hostile modules: each is a valid ABI v1 module apart from its hostility. Each test checks
//! the specific failure and that the engine keeps serving afterwards.

use std::time::{Duration, Instant};

use serde_json::json;

use super::*;
use crate::{ErrorKind, EvalError, Hook, Limits};

fn eval(
    engine: &crate::Engine,
    bytes: &[u8],
    limits: Option<Limits>,
) -> Result<serde_json::Value, EvalError> {
    let m = engine.load(bytes, limits).unwrap();
    m.call(&Hook::Where, json!({}), &system()).map(|e| e.output)
}

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let engine = engine();
    let r = eval(&engine, &hostile("(loop $l (br $l)) (i64.const 0)"), None);
    assert_eq!(
        r,
        Err(EvalError::OutOfFuel {
            fuel: crate::DEFAULT_FUEL
        })
    );
    assert_still_serving(&engine);
}

#[test]
fn infinite_loop_with_huge_fuel_hits_the_deadline() {
    let engine = engine();
    let start = Instant::now();
    let r = eval(
        &engine,
        &hostile("(loop $l (br $l)) (i64.const 0)"),
        Some(short_timeout()),
    );
    let took = start.elapsed();
    assert_eq!(
        r,
        Err(EvalError::Timeout {
            timeout: Duration::from_millis(50)
        })
    );
    assert!(
        took >= Duration::from_millis(50),
        "deadline fired early: {took:?}"
    );
    assert!(
        took < Duration::from_secs(5),
        "deadline fired late: {took:?}"
    );
    assert_still_serving(&engine);
}

#[test]
fn memory_bomb_hits_the_memory_cap() {
    let engine = engine();
    let bomb = hostile("(loop $l (drop (memory.grow (i32.const 16))) (br $l)) (i64.const 0)");
    let r = eval(&engine, &bomb, None);
    assert!(
        matches!(r, Err(EvalError::MemoryCap { cap, requested }) if cap == crate::DEFAULT_MEMORY_BYTES && requested > cap),
        "{r:?}"
    );
    // A smaller per-module cap applies too.
    let small = Limits {
        memory_bytes: 1 << 20,
        ..Limits::default()
    };
    let r = eval(&engine, &bomb, Some(small));
    assert!(
        matches!(r, Err(EvalError::MemoryCap { cap, .. }) if cap == 1 << 20),
        "{r:?}"
    );
    assert_still_serving(&engine);
}

#[test]
fn initial_memory_above_the_cap_is_refused_at_load() {
    let engine = engine();
    let small = Limits {
        memory_bytes: 1 << 20,
        ..Limits::default()
    };
    let big = good_bytes();
    let good = engine.load(&big, Some(small)).unwrap();
    assert_good(&good);
    let wat = GOOD_WAT.replace(
        "(memory (export \"memory\") 1)",
        "(memory (export \"memory\") 17)",
    );
    let r = engine.load(&module(&wat, GOOD_META), Some(small));
    assert!(
        matches!(r, Err(crate::PolicyError::Instantiate { .. })),
        "{r:?}"
    );
}

#[test]
fn unreachable_traps() {
    let engine = engine();
    let r = eval(&engine, &hostile("unreachable"), None);
    assert!(
        matches!(&r, Err(EvalError::Trap(m)) if m.contains("unreachable")),
        "{r:?}"
    );
    assert_still_serving(&engine);
}

#[test]
fn deep_recursion_overflows_the_stack() {
    let engine = engine();
    let rec = hostile_with(
        "(func $rec (param i32) (result i32) (i32.add (call $rec (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))",
        "(i64.extend_i32_u (call $rec (i32.const 0)))",
    );
    let r = eval(&engine, &rec, None);
    assert_eq!(r, Err(EvalError::StackOverflow));
    assert_still_serving(&engine);
}

#[test]
fn huge_output_is_refused() {
    let engine = engine();
    // ptr 64, len 1,000,000
    let r = eval(&engine, &hostile("(i64.const 0x40000F4240)"), None);
    assert_eq!(
        r,
        Err(EvalError::OutputTooLarge {
            len: 1_000_000,
            limit: crate::DEFAULT_OUTPUT_BYTES
        })
    );
    assert_still_serving(&engine);
}

#[test]
fn output_out_of_bounds_is_refused() {
    let engine = engine();
    // ptr 15 MiB, len 15, memory is 64 KiB.
    let r = eval(&engine, &hostile("(i64.const 0x00F000000000000F)"), None);
    assert_eq!(
        r,
        Err(EvalError::OutputOutOfBounds {
            ptr: 0x00F0_0000,
            len: 15,
            memory: 65536
        })
    );
    // Straddling the end of memory.
    let r = eval(&engine, &hostile("(i64.const 0x0000FFF00000001F)"), None);
    assert!(
        matches!(r, Err(EvalError::OutputOutOfBounds { .. })),
        "{r:?}"
    );
    assert_still_serving(&engine);
}

#[test]
fn invalid_json_output_is_malformed() {
    let engine = engine();
    // `{"result":` (10 bytes of `{"result":true}`)
    let r = eval(&engine, &hostile("(i64.const 0x400000000A)"), None);
    assert!(
        matches!(&r, Err(EvalError::MalformedOutput(m)) if m.contains("not valid JSON")),
        "{r:?}"
    );
    assert_still_serving(&engine);
}

#[test]
fn wrong_schema_is_malformed() {
    let engine = engine();
    // `{"result":true}` answered to an access request.
    let m = engine
        .load(&hostile_with("", "(i64.const 0x400000000F)"), None)
        .unwrap();
    assert!(m.call(&Hook::Where, json!({}), &system()).is_ok());
    let wat = GOOD_WAT.replace("(i64.const 0x1900000006b)", "(i64.const 0x400000000F)");
    assert_ne!(wat, GOOD_WAT);
    let good = engine.load(&module(&wat, GOOD_META), None).unwrap();
    let r = good.eval_access_request(json!({}), &clock(2_000_000));
    assert!(matches!(r, Err(EvalError::MalformedOutput(_))), "{r:?}");
    assert_still_serving(&engine);
}

#[test]
fn import_with_a_bad_pointer_traps() {
    let engine = engine();
    let r = eval(
        &engine,
        &hostile(
            "(call $log (i32.const 1) (i32.const 65530) (i32.const 100)) (i64.const 0x400000000F)",
        ),
        None,
    );
    assert!(
        matches!(&r, Err(EvalError::Trap(m)) if m.contains("outside memory")),
        "{r:?}"
    );
    let r = eval(
        &engine,
        &hostile("(call $log (i32.const 9) (i32.const 64) (i32.const 1)) (i64.const 0x400000000F)"),
        None,
    );
    assert!(
        matches!(&r, Err(EvalError::Trap(m)) if m.contains("log level `9`")),
        "{r:?}"
    );
    assert_still_serving(&engine);
}

#[test]
fn alloc_returning_zero_is_refused() {
    let engine = engine();
    let wat = GOOD_WAT.replace(
        "(local.get $p))\n  (func $eq5",
        "(drop (local.get $p)) (i32.const 0))\n  (func $eq5",
    );
    assert_ne!(wat, GOOD_WAT);
    let m = engine.load(&module(&wat, GOOD_META), None).unwrap();
    let r = m.eval_where(where_input("alice"), &system());
    assert!(matches!(r, Err(EvalError::Alloc { ptr: 0, .. })), "{r:?}");
    assert_still_serving(&engine);
}

#[test]
fn guest_error_is_reported() {
    let engine = engine();
    let m = engine.load(&good_bytes(), None).unwrap();
    let r = m.eval_function("echo", &json!([]), &json!({}), &json!({}), &system());
    assert_eq!(r, Err(EvalError::guest(ErrorKind::Evaluation, "no args")));
    assert_good(&m);
}

#[test]
fn trapping_start_function_is_refused_at_load() {
    let engine = engine();
    let bytes = hostile_with(
        "(func $s unreachable) (start $s)",
        "(i64.const 0x400000000F)",
    );
    let r = engine.load(&bytes, None);
    assert!(
        matches!(&r, Err(crate::PolicyError::Instantiate { reason }) if reason.contains("unreachable")),
        "{r:?}"
    );
    assert_still_serving(&engine);
}
