//! ABI v2: policy modules as WebAssembly components of the `portcullis:policy@2.0.0` WIT
//! package (guest-sdk/wit/policy.wit), beside the core modules of ABI v1.
//!
//! A component is compiled once per digest (cached like core modules), checked at upload
//! (it imports only the Portcullis host interface and WASI 0.2; it exports `describe` and at
//! least one hook interface; its metadata follows ABI.md §2), and runs every evaluation in a
//! fresh instance of a pre-linked template under the same four limits as a core module.
//! Inputs and outputs are converted from and to the JSON of ABI.md §4 ([`convert`]), so the
//! rest of the server sees one shape whatever the ABI.

mod bindings;
mod convert;
mod state;

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::Store;

use bindings::exports::portcullis::policy::{
    access_request, action, describe, functions, where_clause,
};
use bindings::portcullis::policy::types;
pub(crate) use state::ComponentState;

use crate::cache::{CodeCache, CodeKind, Compiled};
use crate::error::{EvalError, PolicyError, Result};
use crate::hook::Hook;
use crate::host::SharedHost;
use crate::imports::{InstanceCounts, MemoryLimiter};
use crate::limits::Limits;
use crate::metadata::{HookKind, Metadata};
use crate::module::CacheSource;
use crate::output;
use crate::validate::{sha256_hex, ModuleInfo, ValidationLimits};

/// The WIT package every import and export must come from (with WASI).
pub const PACKAGE: &str = "portcullis:policy";
/// Its version.
pub const PACKAGE_VERSION: &str = "2.0.0";

/// What one component evaluation may create: its core instances, memories and tables (a
/// Python or JavaScript component is a dozen core modules).
const COUNTS: InstanceCounts = InstanceCounts {
    instances: 64,
    memories: 16,
    tables: 64,
};

/// The most elements a component's table may grow to.
const TABLE_CAP: usize = 1_000_000;

/// The component side of the engine: a wasmtime engine with the component model, its
/// linker (WASI and the host interface) and its cache.
pub(crate) struct ComponentEngine {
    pub(crate) engine: wasmtime::Engine,
    linker: Linker<ComponentState>,
    pub(crate) cache: CodeCache,
}

impl ComponentEngine {
    /// The engine of components, caching compiled code under `cache_dir/components`.
    pub(crate) fn new(cache_dir: Option<&Path>) -> Result<ComponentEngine> {
        let engine_err = |e: wasmtime::Error| PolicyError::Engine {
            reason: format!("{e:#}"),
        };
        let mut config = wasmtime::Config::new();
        config
            .wasm_component_model(true)
            .consume_fuel(true)
            .epoch_interruption(true)
            .parallel_compilation(false);
        let engine = wasmtime::Engine::new(&config).map_err(engine_err)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(engine_err)?;
        bindings::Policy::add_to_linker::<_, wasmtime::component::HasSelf<_>>(
            &mut linker,
            |state| state,
        )
        .map_err(engine_err)?;
        let dir = cache_dir.map(|d| d.join("components"));
        let cache = CodeCache::new(&engine, CodeKind::Component, dir.as_deref())?;
        Ok(ComponentEngine {
            engine,
            linker,
            cache,
        })
    }

    /// Checks, compiles and pre-links a component, and reads its metadata.
    pub(crate) fn load(
        &self,
        bytes: &[u8],
        validation: &ValidationLimits,
        limits: Limits,
        epoch_tick: std::time::Duration,
    ) -> Result<(ModuleInfo, ComponentCode, CacheSource)> {
        if bytes.len() > validation.max_module_bytes {
            return Err(PolicyError::TooLarge {
                size: bytes.len(),
                limit: validation.max_module_bytes,
            });
        }
        let sha256 = sha256_hex(bytes);
        let (code, source) = self.cache.get_or_compile(&self.engine, bytes, &sha256)?;
        let Compiled::Component(component) = code else {
            return Err(invalid("the cache returned a core module for a component"));
        };
        check_imports(&component, &self.engine)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| invalid(format!("{e:#}")))?;
        let exports = Exports::find(&pre)?;
        let metadata = exports.describe(&pre, limits, epoch_tick)?;
        let info = ModuleInfo {
            abi: 2,
            metadata,
            sha256,
            size: bytes.len(),
            initial_memory_bytes: 0,
            has_start: false,
        };
        Ok((info, ComponentCode { pre, exports }, source))
    }
}

fn invalid(reason: impl Into<String>) -> PolicyError {
    PolicyError::InvalidComponent {
        reason: reason.into(),
    }
}

/// Refuses an import that is neither the Portcullis package nor WASI 0.2.
fn check_imports(component: &Component, engine: &wasmtime::Engine) -> Result<()> {
    for (name, _) in component.component_type().imports(engine) {
        let allowed = name.starts_with(&format!("{PACKAGE}/"))
            && name.ends_with(&format!("@{PACKAGE_VERSION}"))
            || (name.starts_with("wasi:") && name.contains("@0.2."));
        if !allowed {
            return Err(invalid(format!(
                "the component imports `{name}`, which policy components may not use \
                 (allowed: `{PACKAGE}/host@{PACKAGE_VERSION}`, `{PACKAGE}/types@{PACKAGE_VERSION}` \
                 and WASI 0.2 interfaces, which grant no file, network or environment)"
            )));
        }
    }
    Ok(())
}

/// The hook interfaces a component exports.
struct Exports {
    describe: describe::GuestIndices,
    where_clause: Option<where_clause::GuestIndices>,
    action: Option<action::GuestIndices>,
    access_request: Option<access_request::GuestIndices>,
    functions: Option<functions::GuestIndices>,
}

impl Exports {
    fn find(pre: &InstancePre<ComponentState>) -> Result<Exports> {
        let describe = describe::GuestIndices::new(pre).map_err(|_| {
            invalid(format!(
                "the component does not export `{PACKAGE}/describe@{PACKAGE_VERSION}`: build it \
                 for one of the worlds of guest-sdk/wit/policy.wit (e.g. `access-request-policy`)"
            ))
        })?;
        Ok(Exports {
            describe,
            where_clause: where_clause::GuestIndices::new(pre).ok(),
            action: action::GuestIndices::new(pre).ok(),
            access_request: access_request::GuestIndices::new(pre).ok(),
            functions: functions::GuestIndices::new(pre).ok(),
        })
    }

    fn hooks(&self) -> Vec<String> {
        let mut hooks = Vec::new();
        for (present, kind) in [
            (self.where_clause.is_some(), HookKind::Where),
            (self.action.is_some(), HookKind::Action),
            (self.access_request.is_some(), HookKind::AccessRequest),
            (self.functions.is_some(), HookKind::Function),
        ] {
            if present {
                hooks.push(kind.as_str().to_owned());
            }
        }
        hooks
    }

    /// Instantiates once (as every upload is, so that a trapping initialisation or a memory
    /// above the cap is refused now) and reads the metadata.
    fn describe(
        &self,
        pre: &InstancePre<ComponentState>,
        limits: Limits,
        epoch_tick: std::time::Duration,
    ) -> Result<Metadata> {
        let hooks = self.hooks();
        if hooks.is_empty() {
            return Err(invalid(format!(
                "the component exports no hook: it must export at least one of \
                 `{PACKAGE}/where-clause`, `action`, `access-request` or `functions`"
            )));
        }
        let host: SharedHost = Arc::new(crate::host::SystemHost);
        let info = Arc::new(ModuleInfo {
            abi: 2,
            metadata: Metadata::placeholder(),
            sha256: String::new(),
            size: 0,
            initial_memory_bytes: 0,
            has_start: false,
        });
        let mut store = new_store(pre.engine(), info, host, None, 0, limits, epoch_tick);
        // A failure names the trap and ends with what the component wrote (a runtime's
        // own message, a Python traceback): often the only clue to why it did not start.
        let instantiate_err = |e: wasmtime::Error, state: &ComponentState| {
            let mut reason = crate::module::classify(&e, &limits).to_string();
            let output = state.output_tail();
            if !output.is_empty() {
                reason.push_str("; it wrote: ");
                reason.push_str(&output);
            }
            PolicyError::Instantiate { reason }
        };
        let instance = match pre.instantiate(&mut store) {
            Ok(instance) => instance,
            Err(e) => return Err(instantiate_err(e, store.data())),
        };
        let meta = match self
            .describe
            .load(&mut store, &instance)
            .and_then(|guest| guest.call_get(&mut store))
        {
            Ok(meta) => meta,
            Err(e) => return Err(instantiate_err(e, store.data())),
        };
        let capabilities = meta.capabilities.iter().map(capability_name).collect();
        Metadata::from_parts(meta.name, meta.version, hooks, meta.functions, capabilities)
    }
}

fn capability_name(c: &types::Capability) -> String {
    match c {
        types::Capability::Log => "log".to_owned(),
        types::Capability::Time => "time".to_owned(),
        types::Capability::Lookup(kind) => format!("lookup:{kind}"),
        types::Capability::Call => "call".to_owned(),
    }
}

/// A store for one evaluation, with the module's limits.
fn new_store(
    engine: &wasmtime::Engine,
    info: Arc<ModuleInfo>,
    host: SharedHost,
    input: Option<Arc<Value>>,
    depth: u32,
    limits: Limits,
    epoch_tick: std::time::Duration,
) -> Store<ComponentState> {
    let limiter = MemoryLimiter {
        memory_cap: limits.memory_bytes,
        table_cap: TABLE_CAP,
        counts: COUNTS,
        allocated: 0,
    };
    let state = ComponentState::new(limiter, info, host, input, depth);
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    limits.apply(&mut store, epoch_tick);
    store
}

/// A loaded component: its pre-linked template and the indices of its exports.
pub(crate) struct ComponentCode {
    pre: InstancePre<ComponentState>,
    exports: Exports,
}

/// What one component evaluation left: its result, logs and fuel.
pub(crate) struct ComponentRun {
    pub result: std::result::Result<Value, EvalError>,
    pub logs: Vec<(crate::output::Level, String)>,
    pub fuel_used: u64,
}

impl ComponentCode {
    /// Whether the component implements `hook` (an extra function: one its metadata names).
    pub(crate) fn implements(&self, hook: &Hook, metadata: &Metadata) -> bool {
        match hook {
            Hook::Where => self.exports.where_clause.is_some(),
            Hook::Action => self.exports.action.is_some(),
            Hook::AccessRequest => self.exports.access_request.is_some(),
            Hook::Function(name) => {
                self.exports.functions.is_some() && metadata.functions.contains(name)
            }
        }
    }

    /// Instantiates once: how long it took, and the linear memory the instance holds.
    pub(crate) fn probe(
        &self,
        info: &Arc<ModuleInfo>,
        host: &SharedHost,
        limits: Limits,
        epoch_tick: std::time::Duration,
    ) -> std::result::Result<(std::time::Duration, usize), EvalError> {
        let mut store = new_store(
            self.pre.engine(),
            info.clone(),
            host.clone(),
            None,
            0,
            limits,
            epoch_tick,
        );
        let start = std::time::Instant::now();
        self.pre
            .instantiate(&mut store)
            .map_err(|e| crate::module::classify(&e, &limits))?;
        Ok((start.elapsed(), store.data().limiter.allocated))
    }

    /// Runs `hook` on `input` (the JSON of ABI.md §4) in a fresh instance.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn call(
        &self,
        info: &Arc<ModuleInfo>,
        hook: &Hook,
        input: Arc<Value>,
        host: &SharedHost,
        depth: u32,
        limits: Limits,
        epoch_tick: std::time::Duration,
    ) -> ComponentRun {
        let mut store = new_store(
            self.pre.engine(),
            info.clone(),
            host.clone(),
            Some(input.clone()),
            depth,
            limits,
            epoch_tick,
        );
        let result = self
            .invoke(&mut store, hook, &input)
            .map_err(|e| crate::module::classify(&e, &limits))
            .and_then(|output| match output {
                Ok(value) => check(hook, &value, limits),
                Err(reason) => Err(EvalError::MalformedOutput(reason)),
            });
        let fuel_used = limits.fuel - store.get_fuel().unwrap_or(0).min(limits.fuel);
        let mut state = store.into_data();
        state.drain_stdio();
        ComponentRun {
            result,
            logs: state.logs.into_logs(),
            fuel_used,
        }
    }

    fn invoke(
        &self,
        store: &mut Store<ComponentState>,
        hook: &Hook,
        input: &Value,
    ) -> wasmtime::Result<std::result::Result<Value, String>> {
        let instance = self.pre.instantiate(&mut *store)?;
        let missing = || wasmtime::Error::msg(format!("the component does not implement `{hook}`"));
        Ok(match hook {
            Hook::Where => {
                let guest = self.exports.where_clause.as_ref().ok_or_else(missing)?;
                let guest = guest.load(&mut *store, &instance)?;
                let result = guest.call_evaluate(&mut *store, &convert::rule_input(input))?;
                Ok(convert::where_output(result))
            }
            Hook::Action => {
                let guest = self.exports.action.as_ref().ok_or_else(missing)?;
                let guest = guest.load(&mut *store, &instance)?;
                let result = guest.call_run(&mut *store, &convert::rule_input(input))?;
                Ok(convert::action_output(result))
            }
            Hook::AccessRequest => {
                let guest = self.exports.access_request.as_ref().ok_or_else(missing)?;
                let guest = guest.load(&mut *store, &instance)?;
                let result = guest.call_decide(&mut *store, &convert::request_input(input))?;
                Ok(convert::decision_output(result))
            }
            Hook::Function(name) => {
                let guest = self.exports.functions.as_ref().ok_or_else(missing)?;
                let guest = guest.load(&mut *store, &instance)?;
                let result = guest.call_call(&mut *store, &convert::function_input(name, input))?;
                convert::function_output(result)
            }
        })
    }
}

/// The output checks of ABI.md §3 (size, schema) on the converted output.
fn check(hook: &Hook, value: &Value, limits: Limits) -> std::result::Result<Value, EvalError> {
    let bytes = serde_json::to_vec(value).map_err(|e| EvalError::Engine(e.to_string()))?;
    if bytes.len() > limits.output_bytes {
        return Err(EvalError::OutputTooLarge {
            len: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
            limit: limits.output_bytes,
        });
    }
    output::parse_output(hook, &bytes)
}
