//! __NAME__: a Portcullis access-request policy in Rust (ABI v1 core module, no SDK: the
//! whole contract of guest-sdk/ABI.md part 1 is in this file).
//!
//! Approves a request that carries a `ticket` annotation; leaves any other to a human.
//! Build with ./build.sh, test with `pctl policy test out/__NAME__.wasm --cases policy.test.yaml`.

use serde_json::{json, Value};

/// ABI §2: the metadata, in the `portcullis.metadata` custom section.
#[link_section = "portcullis.metadata"]
#[used]
static METADATA: [u8; METADATA_JSON.len()] = copy(METADATA_JSON);
const METADATA_JSON: &[u8] = br#"{"abi":1,"name":"__NAME__","version":"0.1.0","hooks":["access_request"],"functions":[],"capabilities":[]}"#;

const fn copy<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = bytes[i];
        i += 1;
    }
    out
}

/// ABI §1: the version marker, never called.
#[no_mangle]
pub extern "C" fn portcullis_abi_v1() {}

/// ABI §1: `len` writable bytes for the input (each evaluation is a fresh instance, so
/// nothing is ever freed).
#[no_mangle]
pub extern "C" fn portcullis_alloc(len: i32) -> i32 {
    let buffer = vec![0u8; len.max(1) as usize].leak();
    buffer.as_mut_ptr() as i32
}

/// ABI §4.3: decides an access request; returns `(ptr << 32) | len` of the output JSON.
#[no_mangle]
pub extern "C" fn portcullis_access_request(ptr: i32, len: i32) -> i64 {
    // SAFETY: the server wrote `len` bytes at `ptr`, a buffer `portcullis_alloc` returned.
    let input = unsafe { std::slice::from_raw_parts(ptr as *const u8, len as usize) };
    let output = match serde_json::from_slice::<Value>(input) {
        Ok(input) => decide(&input),
        Err(e) => json!({"error": format!("input is not JSON: {e}")}),
    };
    let bytes = output.to_string().into_bytes().leak();
    ((bytes.as_ptr() as i64) << 32) | bytes.len() as i64
}

fn decide(input: &Value) -> Value {
    let ticket = input
        .pointer("/request/annotations/ticket/0")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if ticket.is_empty() {
        json!({"verdict": "pending", "reason": "no ticket: a human must review"})
    } else {
        json!({"verdict": "approve", "reason": "the request carries a ticket"})
    }
}
