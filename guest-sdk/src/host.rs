//! Safe wrappers for the host imports (ABI.md §5).
//!
//! A module may only use the imports its metadata declares as capabilities (`log`, `time`,
//! `input`, `lookup:KIND`, `call`); a function of this module that is never called is not
//! imported. On targets other than wasm32 the imports are stubs: `log` does nothing,
//! `now_ms` is 0 and every lookup finds nothing.
//!
//! In a component (feature `component`, target `wasm32-wasip2`) the same functions call the
//! `host` interface of ABI v2 (ABI.md §10) instead; there is no `input` capability there (a
//! component receives its input as arguments), so [`input_get`] finds nothing and
//! [`input_get_json`] answers [`HostError::NotDeclared`].

use alloc::string::String;
#[cfg(not(all(feature = "component", target_os = "wasi")))]
use alloc::vec;
#[cfg(not(all(feature = "component", target_os = "wasi")))]
use alloc::vec::Vec;
use core::fmt;

use serde_json::Value;

#[cfg(not(all(feature = "component", target_os = "wasi")))]
use crate::abi;
use crate::types::Level;

/// What went wrong talking to the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// `-1`: no such value, resource or function.
    NotFound,
    /// `-2`: the capability for this lookup kind was not declared.
    NotDeclared,
    /// `-3`: the called function failed.
    Failed,
    /// Another negative return code.
    Code(i32),
    /// The value kept changing length between calls (a broken host).
    Unstable,
    /// The host answered with JSON this SDK cannot read.
    InvalidJson(String),
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::NotFound => f.write_str("not found"),
            HostError::NotDeclared => f.write_str("capability not declared"),
            HostError::Failed => f.write_str("the function failed"),
            HostError::Code(code) => write!(f, "unexpected host return code {code}"),
            HostError::Unstable => f.write_str("the host value changed length between reads"),
            HostError::InvalidJson(e) => write!(f, "invalid JSON from the host: {e}"),
        }
    }
}

/// Writes `message` to the server log at `level` (capability `log`). The host truncates
/// messages to 4 KiB.
pub fn log(level: Level, message: &str) {
    backend::log(level, message)
}

#[cfg(not(all(feature = "component", target_os = "wasi")))]
fn v1_log(level: Level, message: &str) {
    abi::host_log(level.as_i32(), message.as_bytes());
}

/// The current time in milliseconds since the Unix epoch, UTC (capability `time`). Fixed
/// for the whole evaluation.
pub fn now_ms() -> i64 {
    backend::now_ms()
}

/// The value at the RFC 6901 JSON Pointer `pointer` in the current call's input (capability
/// `input`), e.g. `input_get("/request/roles/0")`: strings raw (no quotes), other values as
/// compact JSON; `None` when there is no such value.
pub fn input_get(pointer: &str) -> Option<String> {
    backend::input_get(pointer)
}

#[cfg(not(all(feature = "component", target_os = "wasi")))]
fn v1_input_get(pointer: &str) -> Option<String> {
    let bytes = read_growing(|out| abi::host_input_get(pointer.as_bytes(), out)).ok()?;
    Some(into_string(bytes))
}

/// The value at the RFC 6901 JSON Pointer `pointer` in the current call's input (capability
/// `input`), parsed: unlike [`input_get`], a string and a number or `null` are told apart.
/// `Ok(None)` when there is no such value.
pub fn input_get_json(pointer: &str) -> Result<Option<Value>, HostError> {
    backend::input_get_json(pointer)
}

#[cfg(not(all(feature = "component", target_os = "wasi")))]
fn v1_input_get_json(pointer: &str) -> Result<Option<Value>, HostError> {
    read_json(|out| abi::host_input_get_json(pointer.as_bytes(), out))
}

/// Reads the resource `kind`/`name` (without secrets) as JSON (capability `lookup:KIND`).
/// `Ok(None)` when it does not exist.
pub fn lookup(kind: &str, name: &str) -> Result<Option<Value>, HostError> {
    backend::lookup(kind, name)
}

#[cfg(not(all(feature = "component", target_os = "wasi")))]
fn v1_lookup(kind: &str, name: &str) -> Result<Option<Value>, HostError> {
    read_json(|out| abi::host_lookup(kind.as_bytes(), name.as_bytes(), out))
}

/// A JSON value read with the length protocol; `Ok(None)` for `-1` (not found).
#[cfg(not(all(feature = "component", target_os = "wasi")))]
fn read_json(read: impl FnMut(&mut [u8]) -> i32) -> Result<Option<Value>, HostError> {
    match read_growing(read) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| HostError::InvalidJson(alloc::format!("{e}"))),
        Err(HostError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Calls the extra function `name` exported by another uploaded module with `args`
/// (capability `call`) and returns its `result`.
pub fn call(name: &str, args: &[Value]) -> Result<Value, HostError> {
    backend::call(name, args)
}

#[cfg(not(all(feature = "component", target_os = "wasi")))]
fn v1_call(name: &str, args: &[Value]) -> Result<Value, HostError> {
    let args =
        serde_json::to_vec(args).map_err(|e| HostError::InvalidJson(alloc::format!("{e}")))?;
    let bytes = read_growing(|out| abi::host_call(name.as_bytes(), &args, out))?;
    let mut answer: Value = serde_json::from_slice(&bytes)
        .map_err(|e| HostError::InvalidJson(alloc::format!("{e}")))?;
    match answer.get_mut("result") {
        Some(result) => Ok(result.take()),
        None => Err(HostError::InvalidJson(String::from("no `result` field"))),
    }
}

/// ABI v1: the imports of module `portcullis` (§5).
#[cfg(not(all(feature = "component", target_os = "wasi")))]
mod backend {
    pub(super) use super::{
        v1_call as call, v1_input_get as input_get, v1_input_get_json as input_get_json,
        v1_log as log, v1_lookup as lookup,
    };

    pub(super) fn now_ms() -> i64 {
        crate::abi::host_now_ms()
    }
}

/// ABI v2: the `host` interface (§10), through the bindings of the world this build targets
/// (every world imports the same interface).
#[cfg(all(feature = "component", target_os = "wasi"))]
mod backend {
    use alloc::string::{String, ToString};
    use alloc::vec::Vec;

    use serde_json::Value;

    use super::HostError;
    #[cfg(feature = "access-request-component")]
    use crate::component::access_request as world;
    #[cfg(feature = "function-component")]
    use crate::component::functions as world;
    #[cfg(feature = "rule-component")]
    use crate::component::rules as world;
    use crate::types::Level;
    use world::portcullis::policy::host as wit;
    use world::portcullis::policy::types::Level as WitLevel;

    pub(super) fn log(level: Level, message: &str) {
        let level = match level {
            Level::Debug => WitLevel::Debug,
            Level::Info => WitLevel::Info,
            Level::Warn => WitLevel::Warn,
            Level::Error => WitLevel::Error,
        };
        wit::log(level, message);
    }

    pub(super) fn now_ms() -> i64 {
        wit::now_ms()
    }

    /// No `input` capability in ABI v2.
    pub(super) fn input_get(_pointer: &str) -> Option<String> {
        None
    }

    /// No `input` capability in ABI v2.
    pub(super) fn input_get_json(_pointer: &str) -> Result<Option<Value>, HostError> {
        Err(HostError::NotDeclared)
    }

    fn parse(json: &str) -> Result<Value, HostError> {
        serde_json::from_str(json).map_err(|e| HostError::InvalidJson(alloc::format!("{e}")))
    }

    pub(super) fn lookup(kind: &str, name: &str) -> Result<Option<Value>, HostError> {
        match wit::lookup(kind, name) {
            Ok(json) => parse(&json).map(Some),
            Err(wit::LookupError::NotFound) => Ok(None),
            Err(wit::LookupError::NotPermitted) => Err(HostError::NotDeclared),
        }
    }

    pub(super) fn call(name: &str, args: &[Value]) -> Result<Value, HostError> {
        let args: Vec<String> = args.iter().map(Value::to_string).collect();
        match wit::call(name, &args) {
            Ok(json) => parse(&json),
            Err(wit::CallError::NoSuchFunction) => Err(HostError::NotFound),
            Err(wit::CallError::Failed(_)) => Err(HostError::Failed),
        }
    }
}

/// Initial buffer size of the length protocol; values up to this size take one host call.
#[cfg(not(all(feature = "component", target_os = "wasi")))]
const INITIAL_CAPACITY: usize = 256;

/// The length protocol of §5: call `read` with a buffer; if the value is longer than the
/// buffer, call again with a buffer of the value's length.
#[cfg(not(all(feature = "component", target_os = "wasi")))]
fn read_growing(mut read: impl FnMut(&mut [u8]) -> i32) -> Result<Vec<u8>, HostError> {
    let mut buffer = vec![0u8; INITIAL_CAPACITY];
    for _ in 0..3 {
        let code = read(&mut buffer);
        let Ok(len) = usize::try_from(code) else {
            return Err(match code {
                -1 => HostError::NotFound,
                -2 => HostError::NotDeclared,
                -3 => HostError::Failed,
                other => HostError::Code(other),
            });
        };
        if len <= buffer.len() {
            buffer.truncate(len);
            return Ok(buffer);
        }
        buffer.resize(len, 0);
    }
    Err(HostError::Unstable)
}

#[cfg(not(all(feature = "component", target_os = "wasi")))]
fn into_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_growing_retries_with_the_full_length() {
        let value = b"a value longer than the first buffer ".repeat(20);
        let mut calls = 0;
        let bytes = read_growing(|out| {
            calls += 1;
            let n = value.len().min(out.len());
            out[..n].copy_from_slice(&value[..n]);
            value.len() as i32
        })
        .unwrap();
        assert_eq!(bytes, value);
        assert_eq!(calls, 2);
    }

    #[test]
    fn read_growing_maps_codes() {
        assert_eq!(read_growing(|_| -1), Err(HostError::NotFound));
        assert_eq!(read_growing(|_| -2), Err(HostError::NotDeclared));
        assert_eq!(read_growing(|_| -3), Err(HostError::Failed));
        assert_eq!(read_growing(|_| -9), Err(HostError::Code(-9)));
        let mut n = 1000;
        assert_eq!(
            read_growing(|_| {
                n += 1;
                n
            }),
            Err(HostError::Unstable)
        );
        assert_eq!(read_growing(|_| 0), Ok(Vec::new()));
    }

    #[test]
    fn native_stubs_find_nothing() {
        assert_eq!(input_get("/request/roles/0"), None);
        assert_eq!(lookup("role", "dba"), Ok(None));
        assert_eq!(call("f", &[]), Err(HostError::NotFound));
        assert_eq!(now_ms(), 0);
        log(Level::Info, "nothing happens");
    }
}
