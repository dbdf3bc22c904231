//! The WebAssembly policy engine of Portcullis.
//!
//! Operators upload policy modules (core Wasm modules of ABI v1, or components of ABI v2:
//! any language, Python and JavaScript included) that decide `where` clauses,
//! run `actions`, provide extra functions and approve access requests. This crate is the only
//! one that touches wasmtime. It implements the host side of the ABI documented in
//! `guest-sdk/ABI.md` (v1):
//!
//! - [`validate`] checks an upload against every rule of ABI.md §1–§2 and [`pack`] appends the
//!   metadata section for languages that cannot emit it;
//! - components (ABI v2, the WIT package in `guest-sdk/wit/`) load through the same
//!   [`Engine::load`]: their imports are checked, WASI is linked with nothing granted, and
//!   their typed results are turned into the JSON outputs of ABI v1;
//! - [`Engine`] compiles a module once (cached in memory and on disk by content digest),
//!   links the host imports of §5 and returns a [`PolicyModule`];
//! - [`PolicyModule::call`] runs one hook in a fresh instance, bounded by fuel, an
//!   epoch-based deadline, a memory cap and an output limit ([`Limits`]); every failure is an
//!   [`EvalError`] and the engine keeps serving;
//! - [`Registry`] holds the current and previous version of each module;
//! - [`run_offline`] backs `pctl policy test`.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod cache;
mod component;
mod engine;
mod error;
mod hook;
mod host;
mod imports;
mod limits;
mod metadata;
mod module;
mod offline;
mod output;
mod pack;
mod registry;
mod shape;
mod validate;

#[cfg(test)]
mod tests;

pub use engine::{is_component, CacheStats, Engine, EngineConfig};
pub use error::{EvalError, PolicyError, Result, UnknownHook};
pub use hook::Hook;
pub use host::{system_now_ms, FixedClockHost, Host, SharedHost, SystemHost, MAX_CALL_DEPTH};
pub use imports::{MAX_LOG_ENTRIES, MAX_LOG_MESSAGE, MAX_LOOKUPS};
pub use limits::{
    Limits, DEFAULT_FUEL, DEFAULT_MEMORY_BYTES, DEFAULT_OUTPUT_BYTES, DEFAULT_TIMEOUT,
};
pub use metadata::{Capability, HookKind, InputMode, Metadata, METADATA_SECTION};
pub use module::{CacheSource, Evaluation, InstanceProbe, Outcome, PolicyModule};
pub use offline::{run_offline, Offline, OfflineReport};
pub use output::{check_output, Decision, Effect, ErrorKind, Level, Verdict};
pub use pack::pack;
pub use registry::{Registry, RegistryHost};
pub use shape::{
    ShapeLimits, DEFAULT_MAX_DATA_BYTES, DEFAULT_MAX_FUNCTIONS, DEFAULT_MAX_FUNCTION_BYTES,
    DEFAULT_MAX_LOCALS, DEFAULT_MAX_TABLE_ELEMENTS,
};
pub use validate::{sha256_hex, validate, ModuleInfo, ValidationLimits, DEFAULT_MAX_MODULE_BYTES};
