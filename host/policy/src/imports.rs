//! The host side of the imports of ABI.md §5 and the per-call store state.
//!
//! Every guest pointer and length is bounds-checked; a bad one traps the guest (it never
//! panics the host).

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::Value;
use wasmtime::{Caller, Extern, Linker, ResourceLimiter};

use crate::error::EvalError;
use crate::host::{SharedHost, MAX_CALL_DEPTH};
use crate::metadata::Capability;
use crate::output::Level;
use crate::validate::ModuleInfo;

/// Log messages are truncated to this many bytes (ABI.md §5).
pub const MAX_LOG_MESSAGE: usize = 4096;
/// At most this many log messages are kept per evaluation; later ones are counted only.
pub const MAX_LOG_ENTRIES: usize = 256;
/// The most `lookup` calls one evaluation may make; the next one traps (a look-up reads
/// the store, so a module looping over look-ups would load it for the whole deadline).
pub const MAX_LOOKUPS: u32 = 256;

/// A trap raised by a host import (bad pointer, bad level, ...).
#[derive(Debug)]
pub(crate) struct HostTrap(pub String);

impl std::fmt::Display for HostTrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HostTrap {}

/// Raised by the limiter when the guest grows its memory beyond the cap.
#[derive(Debug)]
pub(crate) struct MemoryCapHit {
    pub requested: usize,
    pub cap: usize,
}

impl std::fmt::Display for MemoryCapHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "memory of {} bytes is above the cap of {} bytes",
            self.requested, self.cap
        )
    }
}

impl std::error::Error for MemoryCapHit {}

/// Enforces the memory cap of one evaluation: growing beyond it traps the guest with
/// [`MemoryCapHit`] (ABI.md §3 treats it as a failure of the evaluation).
pub(crate) struct MemoryLimiter {
    pub memory_cap: usize,
    pub table_cap: usize,
    /// Core instances, memories and tables one evaluation may create: 1, 1 and 4 for a core
    /// module; a component is made of several core modules.
    pub counts: InstanceCounts,
    /// Bytes of linear memory the evaluation's instances hold, over all their memories.
    pub allocated: usize,
}

/// The most core instances, memories and tables of one evaluation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InstanceCounts {
    pub instances: usize,
    pub memories: usize,
    pub tables: usize,
}

impl InstanceCounts {
    /// A core module: one instance with one memory.
    pub const MODULE: InstanceCounts = InstanceCounts {
        instances: 1,
        memories: 1,
        tables: 4,
    };
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_cap {
            return Err(wasmtime::Error::new(MemoryCapHit {
                requested: desired,
                cap: self.memory_cap,
            }));
        }
        self.allocated += desired.saturating_sub(current);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.table_cap)
    }

    fn instances(&self) -> usize {
        self.counts.instances
    }

    fn memories(&self) -> usize {
        self.counts.memories
    }

    fn tables(&self) -> usize {
        self.counts.tables
    }
}

/// The data of the store of one evaluation.
pub(crate) struct CallState {
    pub limiter: MemoryLimiter,
    pub info: Arc<ModuleInfo>,
    pub host: SharedHost,
    /// `now_ms` for the whole evaluation, read once from the host.
    pub now_ms: i64,
    /// The call's input (kept only when the module may use `input_get` or `call`).
    pub input: Option<Arc<Value>>,
    /// The instance's exported memory, once it is instantiated (saves a look-up by name
    /// on every import call).
    pub memory: Option<wasmtime::Memory>,
    pub depth: u32,
    /// `lookup` calls made so far.
    pub lookups: u32,
    pub logs: LogBuffer,
}

/// The messages one evaluation logged: at most [`MAX_LOG_ENTRIES`], the rest counted.
#[derive(Debug, Default)]
pub(crate) struct LogBuffer {
    pub entries: Vec<(Level, String)>,
    pub dropped: usize,
}

impl LogBuffer {
    /// The messages, with a last one saying how many were dropped, if any.
    pub fn into_logs(self) -> Vec<(Level, String)> {
        let mut logs = self.entries;
        if self.dropped > 0 {
            logs.push((
                Level::Warn,
                format!("{} more log messages were dropped", self.dropped),
            ));
        }
        logs
    }
}

fn trap(msg: impl Into<String>) -> wasmtime::Error {
    wasmtime::Error::new(HostTrap(msg.into()))
}

fn memory(caller: &mut Caller<'_, CallState>) -> wasmtime::Result<wasmtime::Memory> {
    if let Some(memory) = caller.data().memory {
        return Ok(memory);
    }
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => Ok(m),
        _ => Err(trap("module has no exported `memory`")),
    }
}

/// The `len` bytes at `ptr` of guest memory `data`, trapping if out of bounds.
fn guest_bytes<'a>(data: &'a [u8], what: &str, ptr: i32, len: i32) -> wasmtime::Result<&'a [u8]> {
    let (start, len) = (ptr as u32 as usize, len as u32 as usize);
    start
        .checked_add(len)
        .and_then(|end| data.get(start..end))
        .ok_or_else(|| {
            trap(format!(
                "{what} at {start:#x}+{len} lies outside memory of {} bytes",
                data.len()
            ))
        })
}

/// [`guest_bytes`] that must be UTF-8.
fn guest_str<'a>(data: &'a [u8], what: &str, ptr: i32, len: i32) -> wasmtime::Result<&'a str> {
    std::str::from_utf8(guest_bytes(data, what, ptr, len)?)
        .map_err(|_| trap(format!("{what} is not UTF-8")))
}

/// Copies `len` bytes at `ptr` out of guest memory, trapping if out of bounds.
fn read(
    caller: &mut Caller<'_, CallState>,
    what: &str,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<Vec<u8>> {
    let mem = memory(caller)?;
    guest_bytes(mem.data(&*caller), what, ptr, len).map(<[u8]>::to_vec)
}

fn read_str(
    caller: &mut Caller<'_, CallState>,
    what: &str,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<String> {
    let mem = memory(caller)?;
    guest_str(mem.data(&*caller), what, ptr, len).map(str::to_owned)
}

/// The length protocol of ABI.md §5: writes at most `cap` bytes of `value` at `ptr` and
/// returns its full length.
fn write(
    caller: &mut Caller<'_, CallState>,
    value: &[u8],
    ptr: i32,
    cap: i32,
) -> wasmtime::Result<i32> {
    let full = i32::try_from(value.len()).map_err(|_| trap("host value is larger than 2 GiB"))?;
    let mem = memory(caller)?;
    let data = mem.data_mut(&mut *caller);
    let (start, cap) = (ptr as u32 as usize, cap as u32 as usize);
    let memory_len = data.len();
    let out = start
        .checked_add(cap)
        .and_then(|end| data.get_mut(start..end))
        .ok_or_else(|| {
            trap(format!(
                "output buffer at {start:#x}+{cap} lies outside memory of {memory_len} bytes"
            ))
        })?;
    let n = value.len().min(cap);
    out[..n].copy_from_slice(&value[..n]);
    Ok(full)
}

/// The value at the RFC 6901 JSON Pointer `pointer` in `value` (as `Value::pointer`, without
/// allocating for tokens that have no escapes).
fn json_pointer<'v>(value: &'v Value, pointer: &str) -> Option<&'v Value> {
    if pointer.is_empty() {
        return Some(value);
    }
    pointer
        .strip_prefix('/')?
        .split('/')
        .try_fold(value, |current, token| {
            let token = if token.contains('~') {
                Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
            } else {
                Cow::Borrowed(token)
            };
            match current {
                Value::Object(map) => map.get(token.as_ref()),
                // Array indexes are plain decimals: no sign, no leading zero.
                Value::Array(items) if token == "0" || !token.starts_with(['0', '+']) => {
                    token.parse::<usize>().ok().and_then(|i| items.get(i))
                }
                _ => None,
            }
        })
}

/// `input_get` (strings as their raw content, everything else as compact JSON) and
/// `input_get_json` (always JSON): the value at an RFC 6901 pointer of the call's input
/// (ABI.md §5).
fn input_get(
    mut caller: Caller<'_, CallState>,
    always_json: bool,
    (path_ptr, path_len, out_ptr, out_cap): (i32, i32, i32, i32),
) -> wasmtime::Result<i32> {
    let mem = memory(&mut caller)?;
    let input = caller.data().input.clone();
    let path = guest_str(mem.data(&caller), "input path", path_ptr, path_len)?;
    match input.as_deref().and_then(|input| json_pointer(input, path)) {
        None => Ok(-1),
        Some(Value::String(s)) if !always_json => {
            write(&mut caller, s.as_bytes(), out_ptr, out_cap)
        }
        Some(value) => {
            let json = serde_json::to_vec(value).map_err(|e| trap(e.to_string()))?;
            write(&mut caller, &json, out_ptr, out_cap)
        }
    }
}

/// Writes a module's message to the server log and keeps it in `logs`.
pub(crate) fn push_log(info: &ModuleInfo, logs: &mut LogBuffer, level: Level, message: String) {
    let module = info.metadata.name.as_str();
    match level {
        Level::Debug => tracing::debug!(target: "portcullis_policy::guest", module, "{message}"),
        Level::Info => tracing::info!(target: "portcullis_policy::guest", module, "{message}"),
        Level::Warn => tracing::warn!(target: "portcullis_policy::guest", module, "{message}"),
        Level::Error => tracing::error!(target: "portcullis_policy::guest", module, "{message}"),
    }
    if logs.entries.len() < MAX_LOG_ENTRIES {
        logs.entries.push((level, message));
    } else {
        logs.dropped += 1;
    }
}

/// A linker with every ABI v1 import defined; `InstancePre` picks what a module imports.
pub(crate) fn linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<CallState>> {
    let mut linker = Linker::new(engine);
    linker.func_wrap(
        "portcullis",
        "log",
        |mut caller: Caller<'_, CallState>,
         level: i32,
         ptr: i32,
         len: i32|
         -> wasmtime::Result<()> {
            let level = Level::from_i32(level)
                .ok_or_else(|| trap(format!("log level `{level}` is not 0..=3")))?;
            let bytes = read(&mut caller, "log message", ptr, len)?;
            let mut cut = bytes.len().min(MAX_LOG_MESSAGE);
            let message = loop {
                // Cut at a character boundary when the message is valid UTF-8.
                match std::str::from_utf8(&bytes[..cut]) {
                    Ok(s) => break s.to_owned(),
                    Err(e) if e.error_len().is_none() && cut > 0 => cut = e.valid_up_to(),
                    Err(_) => break String::from_utf8_lossy(&bytes[..cut]).into_owned(),
                }
            };
            let state = caller.data_mut();
            push_log(&state.info, &mut state.logs, level, message);
            Ok(())
        },
    )?;
    linker.func_wrap(
        "portcullis",
        "now_ms",
        |caller: Caller<'_, CallState>| -> i64 { caller.data().now_ms },
    )?;
    for (name, always_json) in [("input_get", false), ("input_get_json", true)] {
        linker.func_wrap(
            "portcullis",
            name,
            move |caller: Caller<'_, CallState>, a: i32, b: i32, c: i32, d: i32| {
                input_get(caller, always_json, (a, b, c, d))
            },
        )?;
    }
    linker.func_wrap(
        "portcullis",
        "lookup",
        |mut caller: Caller<'_, CallState>,
         kind_ptr: i32,
         kind_len: i32,
         name_ptr: i32,
         name_len: i32,
         out_ptr: i32,
         out_cap: i32|
         -> wasmtime::Result<i32> {
            let kind = read_str(&mut caller, "lookup kind", kind_ptr, kind_len)?;
            let name = read_str(&mut caller, "lookup name", name_ptr, name_len)?;
            if !caller.data().info.may_lookup(&kind) {
                return Ok(-2);
            }
            if caller.data().lookups >= MAX_LOOKUPS {
                return Err(trap(format!("more than {MAX_LOOKUPS} lookups in one call")));
            }
            caller.data_mut().lookups += 1;
            match caller.data().host.lookup(&kind, &name) {
                Some(value) => write(&mut caller, value.to_string().as_bytes(), out_ptr, out_cap),
                None => Ok(-1),
            }
        },
    )?;
    linker.func_wrap(
        "portcullis",
        "call",
        |mut caller: Caller<'_, CallState>, name_ptr: i32, name_len: i32, args_ptr: i32, args_len: i32, out_ptr: i32, out_cap: i32| -> wasmtime::Result<i32> {
            let name = read_str(&mut caller, "function name", name_ptr, name_len)?;
            let args = read(&mut caller, "function arguments", args_ptr, args_len)?;
            let state = caller.data();
            if !state.info.has_capability(&Capability::Call) || state.depth >= MAX_CALL_DEPTH {
                return Ok(-3);
            }
            let Ok(args @ Value::Array(_)) = serde_json::from_slice::<Value>(&args) else {
                return Ok(-3);
            };
            let field = |key: &str| {
                state
                    .input
                    .as_ref()
                    .and_then(|i| i.get(key))
                    .cloned()
                    .unwrap_or_else(|| Value::Object(Default::default()))
            };
            let input = serde_json::json!({"args": args, "user": field("user"), "resource": field("resource")});
            let host = state.host.clone();
            let depth = state.depth + 1;
            match host.call_function(&name, input, depth) {
                Ok(result) => {
                    let out = serde_json::json!({ "result": result }).to_string();
                    write(&mut caller, out.as_bytes(), out_ptr, out_cap)
                }
                Err(EvalError::NoSuchFunction(_)) => Ok(-1),
                Err(e) => {
                    tracing::debug!(function = %name, error = %e, "nested policy function failed");
                    Ok(-3)
                }
            }
        },
    )?;
    Ok(linker)
}

#[cfg(test)]
mod tests {
    use super::json_pointer;

    #[test]
    fn json_pointer_agrees_with_serde_json() {
        let value = serde_json::json!({
            "a": {"b": ["x", "y"], "c/d": 1, "e~f": 2, "": 3, "0": "zero", "01": "one"},
            "list": [[{"k": true}]],
        });
        for pointer in [
            "",
            "/",
            "/a",
            "/a/b",
            "/a/b/0",
            "/a/b/1",
            "/a/b/2",
            "/a/b/01",
            "/a/b/+1",
            "/a/b/-",
            "/a/c~1d",
            "/a/e~0f",
            "/a/c/d",
            "/a/",
            "/a/0",
            "/a/01",
            "/list/0/0/k",
            "/missing",
            "a",
            "/a/b/0/x",
            "/a/b/18446744073709551616",
        ] {
            assert_eq!(
                json_pointer(&value, pointer),
                value.pointer(pointer),
                "{pointer:?}"
            );
        }
    }
}
