//! A loaded [`PolicyModule`] and the calling convention of ABI.md §3.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use wasmtime::{Extern, InstancePre, ModuleExport, Store, Trap};

use crate::component::ComponentCode;
use crate::error::{EvalError, PolicyError, Result};
use crate::hook::Hook;
use crate::host::{SharedHost, SystemHost};
use crate::imports::{CallState, HostTrap, InstanceCounts, LogBuffer, MemoryCapHit, MemoryLimiter};
use crate::limits::Limits;
use crate::metadata::{Capability, HookKind, InputMode};
use crate::output::{self, Decision, Effect, Level};
use crate::validate::ModuleInfo;

/// A successful evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The hook's output, checked against its schema.
    pub output: Value,
    /// Messages the module logged through the `log` import.
    pub logs: Vec<(Level, String)>,
    /// Fuel consumed (allocation, instantiation and the hook).
    pub fuel_used: u64,
    /// Wall-clock time of the whole call.
    pub elapsed: Duration,
}

/// An evaluation that may have failed, with what was observed either way (the logs of a
/// module that later trapped are kept, for the audit log and `pctl policy test`).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The checked output, or why the evaluation failed.
    pub result: Result<Value, EvalError>,
    /// Messages the module logged before it finished or failed.
    pub logs: Vec<(Level, String)>,
    /// Fuel consumed.
    pub fuel_used: u64,
    /// Wall-clock time of the whole call.
    pub elapsed: Duration,
}

impl Outcome {
    /// The [`Evaluation`] if the call succeeded.
    pub fn into_evaluation(self) -> Result<Evaluation, EvalError> {
        let output = self.result?;
        Ok(Evaluation {
            output,
            logs: self.logs,
            fuel_used: self.fuel_used,
            elapsed: self.elapsed,
        })
    }
}

/// What one instantiation costs (see [`PolicyModule::probe_instance`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceProbe {
    /// Wall-clock time of the instantiation alone.
    pub elapsed: Duration,
    /// Linear memory the instance holds once instantiated, over all its memories.
    pub memory_bytes: usize,
}

/// Where a loaded module's compiled code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheSource {
    /// Compiled by this load.
    Compiled,
    /// Found in the engine's in-memory cache.
    Memory,
    /// Deserialized from the on-disk cache.
    Disk,
}

/// What a loaded module keeps of the engine that loaded it: the wasmtime engine its code
/// belongs to, the epoch tick its deadline is counted in, and a handle that keeps the
/// engine (and its epoch ticker) alive as long as the module is.
pub(crate) struct EngineHandle {
    /// The wasmtime engine.
    pub(crate) engine: wasmtime::Engine,
    /// How often the engine's epoch advances.
    pub(crate) epoch_tick: Duration,
    /// The engine's shared state.
    pub(crate) _keep_alive: Arc<dyn Send + Sync>,
}

/// A validated, compiled and pre-linked module. Every call runs in a fresh instance.
pub struct PolicyModule {
    engine: EngineHandle,
    info: Arc<ModuleInfo>,
    limits: Limits,
    code: Code,
    source: CacheSource,
}

/// The compiled code of a module, by ABI.
enum Code {
    /// ABI v1: a core module and the exports of ABI.md §1.
    Core(CoreCode),
    /// ABI v2: a component.
    Component(ComponentCode),
}

struct CoreCode {
    pre: InstancePre<CallState>,
    memory: ModuleExport,
    alloc: ModuleExport,
    hooks: HashMap<Hook, ModuleExport>,
}

impl fmt::Debug for PolicyModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyModule")
            .field("info", &self.info)
            .field("limits", &self.limits)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Maps a wasmtime error to the evaluation failure it stands for.
pub(crate) fn classify(e: &wasmtime::Error, limits: &Limits) -> EvalError {
    if let Some(hit) = e.downcast_ref::<MemoryCapHit>() {
        return EvalError::MemoryCap {
            requested: hit.requested,
            cap: hit.cap,
        };
    }
    if let Some(t) = e.downcast_ref::<HostTrap>() {
        return EvalError::Trap(t.0.clone());
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => EvalError::OutOfFuel { fuel: limits.fuel },
        Some(Trap::Interrupt) => EvalError::Timeout {
            timeout: limits.timeout,
        },
        Some(Trap::StackOverflow) => EvalError::StackOverflow,
        Some(trap) => EvalError::Trap(trap.to_string()),
        None => EvalError::Engine(format!("{e:#}")),
    }
}

fn missing_export(name: &str) -> PolicyError {
    PolicyError::Compile {
        reason: format!("export `{name}` vanished after validation"),
    }
}

impl PolicyModule {
    pub(crate) fn new(
        engine: EngineHandle,
        info: ModuleInfo,
        limits: Limits,
        pre: InstancePre<CallState>,
        source: CacheSource,
    ) -> Result<PolicyModule> {
        let module = pre.module();
        let export = |name: &str| {
            module
                .get_export_index(name)
                .ok_or_else(|| missing_export(name))
        };
        let memory = export("memory")?;
        let alloc = export("portcullis_alloc")?;
        let mut hooks = HashMap::new();
        for kind in &info.metadata.hooks {
            let mut add = |hook: Hook| -> Result<()> {
                let index = export(&hook.export_name())?;
                hooks.insert(hook, index);
                Ok(())
            };
            match kind {
                HookKind::Where => add(Hook::Where)?,
                HookKind::Action => add(Hook::Action)?,
                HookKind::AccessRequest => add(Hook::AccessRequest)?,
                HookKind::Function => {
                    for f in &info.metadata.functions {
                        add(Hook::Function(f.clone()))?;
                    }
                }
            }
        }
        let module = PolicyModule {
            engine,
            info: Arc::new(info),
            limits,
            code: Code::Core(CoreCode {
                pre,
                memory,
                alloc,
                hooks,
            }),
            source,
        };
        module.check_instantiates()?;
        Ok(module)
    }

    /// A loaded component (ABI v2); it was instantiated once when its metadata was read.
    pub(crate) fn component(
        engine: EngineHandle,
        info: ModuleInfo,
        limits: Limits,
        code: ComponentCode,
        source: CacheSource,
    ) -> PolicyModule {
        PolicyModule {
            engine,
            info: Arc::new(info),
            limits,
            code: Code::Component(code),
            source,
        }
    }

    /// What the module is (metadata, digest, ...).
    pub fn info(&self) -> &ModuleInfo {
        &self.info
    }

    /// The limits of its calls.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Where its compiled code came from when it was loaded.
    pub fn cache_source(&self) -> CacheSource {
        self.source
    }

    /// Whether its compiled code came from a cache (no compilation at load).
    pub fn cache_hit(&self) -> bool {
        self.source != CacheSource::Compiled
    }

    /// Whether the module implements `hook`.
    pub fn implements(&self, hook: &Hook) -> bool {
        match &self.code {
            Code::Core(core) => core.hooks.contains_key(hook),
            Code::Component(code) => code.implements(hook, &self.info.metadata),
        }
    }

    fn store(&self, host: SharedHost, input: Option<Arc<Value>>, depth: u32) -> Store<CallState> {
        let now_ms = if self.info.has_capability(&Capability::Time) {
            host.now_ms()
        } else {
            0
        };
        let state = CallState {
            limiter: MemoryLimiter {
                memory_cap: self.limits.memory_bytes,
                table_cap: 10_000,
                counts: InstanceCounts::MODULE,
                allocated: 0,
            },
            info: self.info.clone(),
            host,
            now_ms,
            input,
            memory: None,
            depth,
            logs: LogBuffer::default(),
            lookups: 0,
        };
        let mut store = Store::new(&self.engine.engine, state);
        store.limiter(|s| &mut s.limiter);
        self.limits.apply(&mut store, self.engine.epoch_tick);
        store
    }

    /// Instantiates once at load, so a trapping `start` function or an initial memory above
    /// the cap is refused at upload rather than at every call.
    fn check_instantiates(&self) -> Result<()> {
        let Code::Core(core) = &self.code else {
            return Ok(());
        };
        let host: SharedHost = Arc::new(SystemHost);
        let mut store = self.store(host, None, 0);
        core.pre
            .instantiate(&mut store)
            .map(drop)
            .map_err(|e| PolicyError::Instantiate {
                reason: classify(&e, &self.limits).to_string(),
            })
    }

    /// Instantiates the module once, without calling anything, and says what that took:
    /// the fixed cost every evaluation pays before its hook runs (for benchmarks).
    pub fn probe_instance(&self) -> Result<InstanceProbe, EvalError> {
        let host: SharedHost = Arc::new(SystemHost);
        match &self.code {
            Code::Core(core) => {
                let mut store = self.store(host, None, 0);
                let start = Instant::now();
                core.pre
                    .instantiate(&mut store)
                    .map_err(|e| classify(&e, &self.limits))?;
                Ok(InstanceProbe {
                    elapsed: start.elapsed(),
                    memory_bytes: store.data().limiter.allocated,
                })
            }
            Code::Component(code) => {
                let (elapsed, memory_bytes) =
                    code.probe(&self.info, &host, self.limits, self.engine.epoch_tick)?;
                Ok(InstanceProbe {
                    elapsed,
                    memory_bytes,
                })
            }
        }
    }

    /// Calls `hook` with `input` (ABI.md §3) in a fresh instance.
    ///
    /// Call from a thread that may block (a blocking-pool thread, `block_in_place`), never
    /// from inside an async task: a component's WASI calls run a Tokio runtime of their own.
    ///
    /// The input is shared with the call (no copy) for the `input_get` imports; pass an
    /// owned [`Value`] or an [`Arc`] of one.
    pub fn call(
        &self,
        hook: &Hook,
        input: impl Into<Arc<Value>>,
        host: &SharedHost,
    ) -> Result<Evaluation, EvalError> {
        self.call_at_depth(hook, input.into(), host, 0)
            .into_evaluation()
    }

    /// Like [`call`](Self::call), but keeps the logs and fuel of a failed call, and runs at
    /// nesting `depth` (0 for a top-level evaluation; see [`Host::call_function`]).
    ///
    /// [`Host::call_function`]: crate::Host::call_function
    pub fn call_at_depth(
        &self,
        hook: &Hook,
        input: Arc<Value>,
        host: &SharedHost,
        depth: u32,
    ) -> Outcome {
        let start = Instant::now();
        let core = match &self.code {
            Code::Core(core) => core,
            Code::Component(code) => {
                let run = code.call(
                    &self.info,
                    hook,
                    input,
                    host,
                    depth,
                    self.limits,
                    self.engine.epoch_tick,
                );
                return Outcome {
                    result: run.result,
                    logs: run.logs,
                    fuel_used: run.fuel_used,
                    elapsed: start.elapsed(),
                };
            }
        };
        let Some(export) = core.hooks.get(hook) else {
            return Outcome {
                result: Err(EvalError::HookNotImplemented(hook.to_string())),
                logs: Vec::new(),
                fuel_used: 0,
                elapsed: start.elapsed(),
            };
        };
        let keep_input = self.info.has_capability(&Capability::Input)
            || self.info.has_capability(&Capability::Call);
        // A pulling module reads what it needs with `input_get`: nothing to encode or copy.
        let bytes = match self.info.metadata.input_mode {
            InputMode::Copy => serde_json::to_vec(&*input).map(Some),
            InputMode::Pull => Ok(None),
        };
        let mut store = self.store(host.clone(), keep_input.then_some(input), depth);
        let result = bytes
            .map_err(|e| EvalError::Engine(e.to_string()))
            .and_then(|bytes| self.invoke(core, &mut store, hook, export, bytes.as_deref()));
        let fuel_used = self.limits.fuel - store.get_fuel().unwrap_or(0).min(self.limits.fuel);
        let logs = store.into_data().logs.into_logs();
        let elapsed = start.elapsed();
        if let Err(e) = &result {
            tracing::debug!(module = %self.info.metadata.name, %hook, error = %e, ?elapsed, "policy evaluation failed");
        }
        Outcome {
            result,
            logs,
            fuel_used,
            elapsed,
        }
    }

    fn invoke(
        &self,
        core: &CoreCode,
        store: &mut Store<CallState>,
        hook: &Hook,
        export: &ModuleExport,
        input: Option<&[u8]>,
    ) -> Result<Value, EvalError> {
        let err = |e: wasmtime::Error| classify(&e, &self.limits);

        let instance = core.pre.instantiate(&mut *store).map_err(err)?;
        let Some(Extern::Memory(memory)) = instance.get_module_export(&mut *store, &core.memory)
        else {
            return Err(EvalError::Engine("module has no memory".to_owned()));
        };
        store.data_mut().memory = Some(memory);
        let func = |store: &mut Store<CallState>, index: &ModuleExport| {
            instance
                .get_module_export(store, index)
                .and_then(Extern::into_func)
                .ok_or_else(|| EvalError::Engine("missing function export".to_owned()))
        };
        let hook_fn = func(store, export)?
            .typed::<(i32, i32), i64>(&*store)
            .map_err(err)?;
        let (ptr, len) = match input {
            Some(bytes) => {
                let len = u32::try_from(bytes.len())
                    .map_err(|_| EvalError::Engine("input is larger than 4 GiB".to_owned()))?;
                let alloc = func(store, &core.alloc)?
                    .typed::<i32, i32>(&*store)
                    .map_err(err)?;
                let ptr = alloc.call(&mut *store, len as i32).map_err(err)? as u32;
                let end = u64::from(ptr) + u64::from(len);
                if ptr == 0 || end > memory.data_size(&*store) as u64 {
                    return Err(EvalError::Alloc { len, ptr });
                }
                memory
                    .write(&mut *store, ptr as usize, bytes)
                    .map_err(|_| EvalError::Alloc { len, ptr })?;
                (ptr, len)
            }
            None => (0, 0),
        };

        let packed = hook_fn
            .call(&mut *store, (ptr as i32, len as i32))
            .map_err(err)? as u64;
        let (out_ptr, out_len) = ((packed >> 32) as u32, packed as u32);
        if out_len as usize > self.limits.output_bytes {
            return Err(EvalError::OutputTooLarge {
                len: out_len,
                limit: self.limits.output_bytes,
            });
        }
        let data = memory.data(&*store);
        let start = out_ptr as usize;
        let out = start
            .checked_add(out_len as usize)
            .and_then(|end| data.get(start..end))
            .ok_or(EvalError::OutputOutOfBounds {
                ptr: out_ptr,
                len: out_len,
                memory: data.len(),
            })?;
        output::parse_output(hook, out)
    }

    /// Evaluates a `where` predicate (§4.1).
    pub fn eval_where(
        &self,
        input: impl Into<Arc<Value>>,
        host: &SharedHost,
    ) -> Result<bool, EvalError> {
        let eval = self.call(&Hook::Where, input, host)?;
        output::where_result(&eval.output)
    }

    /// Runs an `action` (§4.2) and returns its effects.
    pub fn eval_action(
        &self,
        input: impl Into<Arc<Value>>,
        host: &SharedHost,
    ) -> Result<Vec<Effect>, EvalError> {
        let eval = self.call(&Hook::Action, input, host)?;
        output::action_effects(eval.output)
    }

    /// Decides an access request (§4.3).
    pub fn eval_access_request(
        &self,
        input: impl Into<Arc<Value>>,
        host: &SharedHost,
    ) -> Result<Decision, EvalError> {
        let eval = self.call(&Hook::AccessRequest, input, host)?;
        output::decision(eval.output)
    }

    /// Calls the extra function `name` (§4.4) with `args` (a JSON array) and returns its
    /// `result`.
    pub fn eval_function(
        &self,
        name: &str,
        args: &Value,
        user: &Value,
        resource: &Value,
        host: &SharedHost,
    ) -> Result<Value, EvalError> {
        let hook = Hook::Function(name.to_owned());
        let input = serde_json::json!({"args": args, "user": user, "resource": resource});
        let eval = self.call(&hook, input, host)?;
        output::function_result(&hook, eval.output)
    }
}
