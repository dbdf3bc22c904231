//! What the server provides to modules through the imports of ABI.md §5: the [`Host`] trait
//! and simple implementations.

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use serde_json::Value;

use crate::error::EvalError;

/// The most deeply extra-function calls may nest (ABI.md §5, `call`).
pub const MAX_CALL_DEPTH: u32 = 4;

/// The server side of the host imports.
///
/// Capabilities are enforced by the engine before the host is asked: `lookup` is only called
/// for kinds the module declared, `call_function` only for modules with the `call`
/// capability.
pub trait Host: Send + Sync {
    /// Current time in milliseconds since the Unix epoch. Called once per evaluation; the
    /// module sees that value for the whole evaluation.
    fn now_ms(&self) -> i64;

    /// Reads resource `kind/name` (without secrets) as JSON, or `None` if it does not exist.
    fn lookup(&self, kind: &str, name: &str) -> Option<Value>;

    /// Runs the extra function `name` of another module and returns its `result` value.
    ///
    /// `input` is the callee's whole input (`{"args": [...], "user": ..., "resource": ...}`,
    /// built by the engine from the caller's input); `depth` is the depth the callee runs
    /// at (1 for a call made by a top-level evaluation). Return
    /// [`EvalError::NoSuchFunction`] when no module exports it. [`RegistryHost`] implements
    /// this with a [`Registry`](crate::Registry).
    ///
    /// [`RegistryHost`]: crate::RegistryHost
    fn call_function(&self, name: &str, input: Value, depth: u32) -> Result<Value, EvalError>;
}

/// A host shared between evaluations (the store of an evaluation must own it).
pub type SharedHost = Arc<dyn Host>;

/// The current wall-clock time in milliseconds since the Unix epoch.
pub fn system_now_ms() -> i64 {
    portcullis_clock::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The default host: the real clock, no resources, no functions.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemHost;

impl Host for SystemHost {
    fn now_ms(&self) -> i64 {
        system_now_ms()
    }

    fn lookup(&self, _kind: &str, _name: &str) -> Option<Value> {
        None
    }

    fn call_function(&self, name: &str, _input: Value, _depth: u32) -> Result<Value, EvalError> {
        Err(EvalError::NoSuchFunction(name.to_owned()))
    }
}

/// A host with a fixed clock and no resources or functions (offline tests).
#[derive(Debug, Clone, Copy)]
pub struct FixedClockHost(pub i64);

impl Host for FixedClockHost {
    fn now_ms(&self) -> i64 {
        self.0
    }

    fn lookup(&self, _kind: &str, _name: &str) -> Option<Value> {
        None
    }

    fn call_function(&self, name: &str, _input: Value, _depth: u32) -> Result<Value, EvalError> {
        Err(EvalError::NoSuchFunction(name.to_owned()))
    }
}
