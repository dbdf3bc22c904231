//! Tests of the whole engine with WAT modules: happy paths, hostile modules, upload
//! refusals, caches, the registry and concurrency.

mod cache;
mod compile_limits;
mod happy;
mod hostile;
mod registry;
mod validation;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::{
    pack, Engine, EngineConfig, FixedClockHost, Limits, PolicyModule, SharedHost, SystemHost,
};

/// The well-behaved module of `good.wat`.
pub(crate) const GOOD_WAT: &str = include_str!("good.wat");
pub(crate) const GOOD_META: &str = r#"{"abi":1,"name":"good","version":"1.0.0",
    "hooks":["where","action","access_request","function"],"functions":["echo"],
    "capabilities":["log","time","input"]}"#;

pub(crate) fn good_bytes() -> Vec<u8> {
    module(GOOD_WAT, GOOD_META)
}

/// The start of a module importing `lookup`: one page of memory, the ABI v1 marker and a
/// bump allocator from 4096.
pub(crate) const LOOKUP_PRELUDE: &str = r#"
      (import "portcullis" "lookup" (func $lookup (param i32 i32 i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (global $heap (mut i32) (i32.const 4096))
      (func (export "portcullis_abi_v1"))
      (func (export "portcullis_alloc") (param $len i32) (result i32)
        (local $p i32) (local.set $p (global.get $heap))
        (global.set $heap (i32.add (global.get $heap) (local.get $len))) (local.get $p))
"#;

/// WAT plus metadata, packed.
pub(crate) fn module(wat: &str, meta: &str) -> Vec<u8> {
    pack(&wat::parse_str(wat).unwrap(), meta).unwrap()
}

pub(crate) fn engine() -> Engine {
    engine_with(EngineConfig::default())
}

pub(crate) fn engine_with(config: EngineConfig) -> Engine {
    Engine::new(EngineConfig {
        max_instances: 16,
        ..config
    })
    .unwrap()
}

pub(crate) fn system() -> SharedHost {
    Arc::new(SystemHost)
}

pub(crate) fn clock(ms: i64) -> SharedHost {
    Arc::new(FixedClockHost(ms))
}

pub(crate) fn where_input(name: &str) -> Value {
    json!({"expression": "", "user": {"kind": "user", "metadata": {"name": name}},
           "resource": {}, "verb": "read", "kind": "role"})
}

/// Asserts the good module still evaluates correctly on `engine` (the engine keeps serving).
pub(crate) fn assert_still_serving(engine: &Engine) {
    let good = engine.load(&good_bytes(), None).unwrap();
    assert_good(&good);
}

pub(crate) fn assert_good(good: &PolicyModule) {
    assert!(good.eval_where(where_input("alice"), &system()).unwrap());
    assert!(!good.eval_where(where_input("bob"), &system()).unwrap());
}

/// A valid ABI v1 module whose `where` hook has `body` (imports `log`; the data segment
/// holds `{"result":true}` at 64).
pub(crate) fn hostile(body: &str) -> Vec<u8> {
    hostile_with("", body)
}

pub(crate) fn hostile_with(funcs: &str, body: &str) -> Vec<u8> {
    let wat = format!(
        r#"(module
  (import "portcullis" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_alloc") (param $len i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $len)))
    (local.get $p))
  {funcs}
  (func (export "portcullis_where") (param $ptr i32) (param $len i32) (result i64)
    {body})
  (data (i32.const 64) "{{\"result\":true}}"))"#
    );
    module(
        &wat,
        r#"{"abi":1,"name":"hostile","version":"0","hooks":["where"],"capabilities":["log"]}"#,
    )
}

pub(crate) fn short_timeout() -> Limits {
    Limits {
        fuel: u64::MAX / 2,
        timeout: Duration::from_millis(50),
        ..Limits::default()
    }
}
