//! Modules that attack the compiler, the loader or the store rather than the call: each is
//! refused at upload (before compilation) or fails closed, and the engine keeps serving.

use serde_json::json;

use super::*;
use crate::{validate, EvalError, PolicyError, RegistryHost, ShapeLimits, ValidationLimits};

fn limits(shape: ShapeLimits) -> ValidationLimits {
    ValidationLimits {
        shape,
        ..ValidationLimits::default()
    }
}

fn over(bytes: &[u8], shape: ShapeLimits, what: &str, value: u64, limit: u64) {
    let err = validate(bytes, &limits(shape)).unwrap_err();
    assert!(
        matches!(&err, PolicyError::OverLimit { what: w, value: v, limit: l }
            if w.contains(what) && *v == value && *l == limit),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("bound the time compiling"),
        "{err}"
    );
}

#[test]
fn too_many_functions_are_refused_before_compiling() {
    let funcs = "(func) ".repeat(6);
    let bytes = hostile_with(&funcs, "(i64.const 0x400000000F)");
    // The module's own three functions plus the six.
    let shape = ShapeLimits {
        max_functions: 8,
        ..ShapeLimits::default()
    };
    over(&bytes, shape, "functions defined", 9, 8);
    assert!(validate(&bytes, &ValidationLimits::default()).is_ok());
}

#[test]
fn a_function_body_too_large_is_refused() {
    let body = format!(
        "{} (i64.const 0x400000000F)",
        "(drop (i32.const 1)) ".repeat(100)
    );
    let bytes = hostile(&body);
    let shape = ShapeLimits {
        max_function_bytes: 128,
        ..ShapeLimits::default()
    };
    let err = validate(&bytes, &limits(shape)).unwrap_err();
    assert!(
        matches!(&err, PolicyError::OverLimit { what, limit: 128, .. } if what.contains("body of defined function 2")),
        "{err:?}"
    );
}

#[test]
fn too_many_locals_are_refused() {
    let bytes = hostile_with(
        "(func (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64))",
        "(i64.const 0x400000000F)",
    );
    let shape = ShapeLimits {
        max_locals: 10,
        ..ShapeLimits::default()
    };
    over(&bytes, shape, "locals in defined function 2", 12, 10);
}

#[test]
fn too_much_data_is_refused() {
    let data = format!("(data (i32.const 2048) \"{}\")", "x".repeat(100));
    let bytes = hostile_with(&data, "(i64.const 0x400000000F)");
    let shape = ShapeLimits {
        max_data_bytes: 64,
        ..ShapeLimits::default()
    };
    // The 100 bytes plus the module's own 15-byte answer.
    over(&bytes, shape, "bytes in data segments", 115, 64);
}

#[test]
fn a_table_beyond_the_pool_is_refused_at_upload() {
    let bytes = hostile_with("(table 20000 funcref)", "(i64.const 0x400000000F)");
    let engine = engine();
    let err = engine.load(&bytes, None).unwrap_err();
    assert!(
        matches!(&err, PolicyError::OverLimit { what, value: 20_000, limit: 10_000 } if what.contains("table")),
        "{err:?}"
    );
    assert_still_serving(&engine);
}

#[test]
fn a_looping_start_function_is_refused_at_load() {
    let engine = engine();
    let bytes = hostile_with(
        "(func $s (loop $l (br $l))) (start $s)",
        "(i64.const 0x400000000F)",
    );
    let err = engine.load(&bytes, Some(short_timeout())).unwrap_err();
    assert!(
        matches!(&err, PolicyError::Instantiate { reason } if reason.contains("deadline")),
        "{err:?}"
    );
    // With the default limits it runs out of fuel first.
    let err = engine.load(&bytes, None).unwrap_err();
    assert!(
        matches!(&err, PolicyError::Instantiate { reason } if reason.contains("fuel")),
        "{err:?}"
    );
    assert_still_serving(&engine);
}

#[test]
fn a_lookup_storm_traps_after_max_lookups() {
    let wat = format!(
        r#"(module {LOOKUP_PRELUDE}
      (func (export "portcullis_where") (param i32 i32) (result i64)
        (loop $again
          (drop (call $lookup (i32.const 16) (i32.const 4) (i32.const 32) (i32.const 3)
            (i32.const 2048) (i32.const 64)))
          (br $again))
        (i64.const 0))
      (data (i32.const 16) "role") (data (i32.const 32) "dba"))"#
    );
    let bytes = module(
        &wat,
        r#"{"abi":1,"name":"storm","version":"1","hooks":["where"],"capabilities":["lookup:role"]}"#,
    );
    let seen = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counted = seen.clone();
    let host = RegistryHost::new(Arc::new(crate::Registry::new()))
        .with_lookup(move |_, _| {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Some(json!({}))
        })
        .shared();
    let engine = engine();
    let m = engine.load(&bytes, None).unwrap();
    let err = m.eval_where(json!({}), &host).unwrap_err();
    assert_eq!(
        err,
        EvalError::Trap(format!(
            "more than {} lookups in one call",
            crate::MAX_LOOKUPS
        ))
    );
    assert_eq!(
        seen.load(std::sync::atomic::Ordering::SeqCst),
        crate::MAX_LOOKUPS
    );
    assert_still_serving(&engine);
}
