//! Hostile policy module uploads, shared by the e2e tests and `benches/hostile.rs`: modules
//! that attack the compiler or the loader rather than the call. Each is a valid ABI v1
//! module apart from its hostility.

use crate::policies::WAT_PRELUDE;

/// One hostile upload: what it is, its bytes, and a part of the refusal it must get.
pub struct Attack {
    /// Short name, e.g. `many-functions`.
    pub name: &'static str,
    /// The module.
    pub wasm: Vec<u8>,
    /// A part of the message the upload is refused with.
    pub refused_with: &'static str,
}

/// A module with a `where` hook answering `true`, plus `items` (functions, tables, data,
/// a start function) and `body` run first in the hook.
pub fn module_with(name: &str, items: &str, body: &str) -> Vec<u8> {
    let metadata = format!(
        r#"{{\"abi\":1,\"name\":\"{name}\",\"version\":\"1.0.0\",\"hooks\":[\"where\"],\"capabilities\":[]}}"#
    );
    let wat = format!(
        r#"(module
  (@custom "portcullis.metadata" "{metadata}")
  {WAT_PRELUDE}
  {items}
  (data (i32.const 16) "{{\"result\":true}}")
  (func (export "portcullis_where") (param i32 i32) (result i64)
    {body}
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 15))))"#
    );
    wat::parse_str(&wat).unwrap_or_else(|e| panic!("bad hostile module {name}: {e}"))
}

/// A `where` hook whose body is about `bytes` bytes of straight-line code.
pub fn big_function(bytes: usize) -> Vec<u8> {
    // `local.get 0; i32.const 1; i32.add; local.set 0` is 7 bytes.
    let step = "(local.set 0 (i32.add (local.get 0) (i32.const 1)))\n";
    module_with("big-function", "", &step.repeat(bytes / 7))
}

/// `count` small functions beside the hooks.
pub fn many_functions(count: usize) -> Vec<u8> {
    let items: String = (0..count)
        .map(|i| format!("(func (result i32) (i32.const {i}))\n"))
        .collect();
    module_with("many-functions", &items, "")
}

/// One function declaring `count` locals.
pub fn many_locals(count: usize) -> Vec<u8> {
    let items = format!("(func {})", "(local i64)".repeat(count));
    module_with("many-locals", &items, "")
}

/// `bytes` bytes of data segments (memory large enough to hold them).
pub fn huge_data(bytes: usize) -> Vec<u8> {
    // The prelude's one page cannot hold the data: such a module is refused before it
    // is compiled, as data over the limit, and could not instantiate anyway.
    let items = format!("(data (i32.const 8192) \"{}\")", "x".repeat(bytes));
    module_with("huge-data", &items, "")
}

/// A table starting with `elements` elements.
pub fn big_table(elements: u64) -> Vec<u8> {
    module_with("big-table", &format!("(table {elements} funcref)"), "")
}

/// A `start` function that never returns.
pub fn looping_start() -> Vec<u8> {
    module_with(
        "looping-start",
        "(func $s (loop $l (br $l))) (start $s)",
        "",
    )
}

/// Every hostile upload with the refusal it must get under the default limits.
pub fn attacks() -> Vec<Attack> {
    vec![
        Attack {
            name: "big-function",
            wasm: big_function(600 * 1024),
            refused_with: "bytes in the body of defined function",
        },
        Attack {
            name: "many-functions",
            wasm: many_functions(60_000),
            refused_with: "functions defined",
        },
        Attack {
            name: "many-locals",
            wasm: many_locals(20_000),
            refused_with: "locals in defined function",
        },
        Attack {
            name: "huge-data",
            wasm: huge_data(5 * 1024 * 1024),
            refused_with: "bytes in data segments",
        },
        Attack {
            name: "big-table",
            wasm: big_table(1_000_000),
            refused_with: "initial table elements",
        },
        Attack {
            name: "looping-start",
            wasm: looping_start(),
            refused_with: "fuel",
        },
    ]
}
