//! Offline evaluation for `pctl policy test FILE.wasm --hook where --input ctx.json`: the same
//! checks, engine and limits as the server, without a server.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::engine::{Engine, EngineConfig};
use crate::error::{EvalError, Result};
use crate::hook::Hook;
use crate::host::{FixedClockHost, SharedHost, SystemHost};
use crate::limits::Limits;
use crate::module::PolicyModule;
use crate::output::Level;
use crate::validate::ModuleInfo;

/// What one offline evaluation did.
#[derive(Debug, Clone, PartialEq)]
pub struct OfflineReport {
    /// What the module is.
    pub info: ModuleInfo,
    /// The limits it ran with.
    pub limits: Limits,
    /// The checked output, or why the evaluation failed (a failure is a deny in the server).
    pub output: std::result::Result<Value, EvalError>,
    /// What it logged (kept when it failed).
    pub logs: Vec<(Level, String)>,
    /// Fuel consumed.
    pub fuel_used: u64,
    /// Wall-clock time of the call.
    pub elapsed: Duration,
}

/// A module loaded for offline evaluations (`pctl policy test`): the server's checks,
/// engine and limits, without a server. There are no resources to look up and no other
/// modules' functions to call.
pub struct Offline {
    module: Arc<PolicyModule>,
    limits: Limits,
    _engine: Engine,
}

impl Offline {
    /// Validates and loads `bytes` with `limits` (default: the server defaults), keeping
    /// compiled code in `cache_dir` when given (a large component then compiles once).
    /// A module the server would refuse at upload is an `Err`.
    pub fn load(
        bytes: &[u8],
        limits: Option<Limits>,
        cache_dir: Option<PathBuf>,
    ) -> Result<Offline> {
        let limits = limits.unwrap_or_default();
        let engine = Engine::new(EngineConfig {
            cache_dir,
            defaults: limits,
            max_instances: 8,
            max_memory_bytes: limits.memory_bytes,
            ..EngineConfig::default()
        })?;
        let module = engine.load(bytes, None)?;
        Ok(Offline {
            module,
            limits,
            _engine: engine,
        })
    }

    /// What the module is.
    pub fn info(&self) -> &ModuleInfo {
        self.module.info()
    }

    /// Calls `hook` with `input` once; `now_ms` fixes the clock the module sees (default:
    /// the real clock). A failed evaluation is a report whose `output` is the error.
    pub fn run(&self, hook: &Hook, input: &Value, now_ms: Option<i64>) -> OfflineReport {
        let host: SharedHost = match now_ms {
            Some(ms) => Arc::new(FixedClockHost(ms)),
            None => Arc::new(SystemHost),
        };
        let outcome = self
            .module
            .call_at_depth(hook, Arc::new(input.clone()), &host, 0);
        OfflineReport {
            info: self.module.info().clone(),
            limits: self.limits,
            output: outcome.result,
            logs: outcome.logs,
            fuel_used: outcome.fuel_used,
            elapsed: outcome.elapsed,
        }
    }
}

/// Validates and loads `bytes`, then calls `hook` with `input` once.
///
/// `limits` defaults to the server defaults; `now_ms` fixes the clock the module sees
/// (default: the real clock). A module refused at upload is an `Err`; a failed evaluation
/// is an `Ok` report whose `output` is the error.
pub fn run_offline(
    bytes: &[u8],
    hook: &Hook,
    input: &Value,
    limits: Option<Limits>,
    now_ms: Option<i64>,
) -> Result<OfflineReport> {
    Ok(Offline::load(bytes, limits, None)?.run(hook, input, now_ms))
}
