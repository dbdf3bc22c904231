//! The [`Engine`]: wasmtime configured for policy modules (fuel, epoch deadline, pooling
//! allocator), its epoch ticker, and [`Engine::load`] with the compiled-module caches.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Enabled, InstanceAllocationStrategy, Linker, PoolingAllocationConfig};

use crate::cache::{CodeCache, CodeKind, Compiled};
use crate::component::ComponentEngine;
use crate::error::{PolicyError, Result};
use crate::imports::{linker, CallState};
use crate::limits::Limits;
use crate::module::{EngineHandle, PolicyModule};
use crate::validate::{validate, ValidationLimits};

/// How the engine is built.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Where compiled modules are kept across restarts; `None` keeps them in memory only.
    /// Must be private to the server (it holds native code).
    pub cache_dir: Option<PathBuf>,
    /// Limits of modules loaded without their own.
    pub defaults: Limits,
    /// Upload checks.
    pub validation: ValidationLimits,
    /// Instances that may be alive at once (concurrent evaluations, nested calls included):
    /// the size of the pooling allocator.
    pub max_instances: u32,
    /// The largest memory cap any module may be given (the pool's slot size).
    pub max_memory_bytes: usize,
    /// Granularity of wall-clock deadlines.
    pub epoch_tick: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            cache_dir: None,
            defaults: Limits::default(),
            validation: ValidationLimits::default(),
            max_instances: 256,
            max_memory_bytes: 64 * 1024 * 1024,
            epoch_tick: Duration::from_millis(1),
        }
    }
}

/// Whether `bytes` are a component (ABI v2) rather than a core module (ABI v1), by the
/// binary's header.
pub fn is_component(bytes: &[u8]) -> bool {
    wasmparser::Parser::is_component(bytes)
}

/// Counters of the compiled-module caches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Modules compiled from Wasm.
    pub compiled: u64,
    /// Loads served from the in-memory cache.
    pub memory_hits: u64,
    /// Loads served from the on-disk cache.
    pub disk_hits: u64,
}

struct Ticker {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(engines: Vec<wasmtime::Engine>, tick: Duration) -> std::io::Result<Ticker> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("policy-epoch".to_owned())
            .spawn(move || {
                while !flag.load(Ordering::Acquire) {
                    std::thread::park_timeout(tick);
                    for engine in &engines {
                        engine.increment_epoch();
                    }
                }
            })?;
        Ok(Ticker {
            stop,
            handle: Some(handle),
        })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(handle) = self.handle.take() {
            handle.thread().unpark();
            let _ = handle.join();
        }
    }
}

pub(crate) struct EngineInner {
    pub(crate) engine: wasmtime::Engine,
    linker: Linker<CallState>,
    pub(crate) defaults: Limits,
    validation: ValidationLimits,
    max_memory_bytes: usize,
    pub(crate) epoch_tick: Duration,
    modules: CodeCache,
    components: ComponentEngine,
    _ticker: Ticker,
}

/// The policy engine: compiles, caches and loads modules. Cheap to clone (shared).
///
/// A background thread advances wasmtime's epoch every `epoch_tick`; it stops when the
/// last clone of the engine and the last module loaded by it are dropped.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("defaults", &self.inner.defaults)
            .field("cache_stats", &self.cache_stats())
            .finish_non_exhaustive()
    }
}

fn engine_err(e: impl std::fmt::Display) -> PolicyError {
    PolicyError::Engine {
        reason: e.to_string(),
    }
}

/// How much of each pooled memory (and table) stays mapped between instances.
const KEEP_RESIDENT_BYTES: usize = 256 * 1024;

impl Engine {
    /// Builds the engine and starts its epoch ticker.
    pub fn new(config: EngineConfig) -> Result<Engine> {
        let max_memory_bytes = config.max_memory_bytes.max(config.defaults.memory_bytes);
        let instances = config.max_instances.max(1);
        let mut pool = PoolingAllocationConfig::new();
        pool.total_core_instances(instances)
            .total_memories(instances)
            .total_tables(instances)
            .max_memories_per_module(1)
            .max_tables_per_module(1)
            // Uploads starting a table larger than this are refused at validation.
            .table_elements(
                usize::try_from(config.validation.shape.max_table_elements).unwrap_or(usize::MAX),
            )
            .max_memory_size(max_memory_bytes)
            // Reset small memories and tables with memset instead of giving the pages back to
            // the kernel: the next instance then starts without page faults.
            .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
            .table_keep_resident(KEEP_RESIDENT_BYTES)
            // Scanning for the pages an instance wrote (PAGEMAP_SCAN) costs a system call
            // that, for the small memories of policy modules, takes longer than resetting
            // the whole memory with memset (measured with benches/policy.rs).
            .pagemap_scan(Enabled::No);
        let mut wasm = Config::new();
        wasm.consume_fuel(true)
            .epoch_interruption(true)
            // One module compiles on one thread: an upload never takes every core from the
            // requests being served.
            .parallel_compilation(false)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = wasmtime::Engine::new(&wasm).map_err(engine_err)?;
        let linker = linker(&engine).map_err(engine_err)?;
        let modules = CodeCache::new(&engine, CodeKind::Module, config.cache_dir.as_deref())?;
        let components = ComponentEngine::new(config.cache_dir.as_deref())?;
        let epoch_tick = config.epoch_tick.max(Duration::from_micros(100));
        let ticker = Ticker::start(vec![engine.clone(), components.engine.clone()], epoch_tick)
            .map_err(engine_err)?;
        Ok(Engine {
            inner: Arc::new(EngineInner {
                engine,
                linker,
                defaults: config.defaults,
                validation: config.validation,
                max_memory_bytes,
                epoch_tick,
                modules,
                components,
                _ticker: ticker,
            }),
        })
    }

    /// The limits given to modules loaded without their own.
    pub fn defaults(&self) -> Limits {
        self.inner.defaults
    }

    /// The upload checks in force.
    pub fn validation_limits(&self) -> &ValidationLimits {
        &self.inner.validation
    }

    /// Counters of the compiled-module caches.
    pub fn cache_stats(&self) -> CacheStats {
        let (m, c) = (&self.inner.modules, &self.inner.components.cache);
        let sum = |f: fn(&CodeCache) -> &std::sync::atomic::AtomicU64| {
            f(m).load(Ordering::Relaxed) + f(c).load(Ordering::Relaxed)
        };
        CacheStats {
            compiled: sum(|c| &c.compiled),
            memory_hits: sum(|c| &c.memory_hits),
            disk_hits: sum(|c| &c.disk_hits),
        }
    }

    /// Validates `bytes` (ABI.md §1–§2), compiles them once (or takes the compiled code from
    /// the in-memory or on-disk cache), links the host imports and checks that the module
    /// instantiates (its `start` function, its initial memory against the cap).
    ///
    /// `limits` overrides the engine's defaults for this module.
    pub fn load(&self, bytes: &[u8], limits: Option<Limits>) -> Result<Arc<PolicyModule>> {
        if !bytes.starts_with(b"\0asm") {
            return Err(PolicyError::NotWasm {
                start: bytes.iter().take(8).map(|b| format!("{b:02x}")).collect(),
            });
        }
        if is_component(bytes) {
            return self.load_component(bytes, limits);
        }
        let info = validate(bytes, &self.inner.validation)?;
        let limits = limits.unwrap_or(self.inner.defaults);
        self.check_limits(&limits)?;
        let (code, source) =
            self.inner
                .modules
                .get_or_compile(&self.inner.engine, bytes, &info.sha256)?;
        let Compiled::Module(module) = code else {
            return Err(PolicyError::Compile {
                reason: "the module cache returned a component".to_owned(),
            });
        };
        let pre = self
            .inner
            .linker
            .instantiate_pre(&module)
            .map_err(|e| PolicyError::Compile {
                reason: format!("{e:#}"),
            })?;
        let module = PolicyModule::new(self.handle(), info, limits, pre, source)?;
        Ok(Arc::new(module))
    }

    /// [`Engine::load`] of a component (ABI v2, guest-sdk/ABI.md part 2).
    fn load_component(&self, bytes: &[u8], limits: Option<Limits>) -> Result<Arc<PolicyModule>> {
        let limits = limits.unwrap_or(self.inner.defaults);
        self.check_limits(&limits)?;
        let (info, code, source) = self.inner.components.load(
            bytes,
            &self.inner.validation,
            limits,
            self.inner.epoch_tick,
        )?;
        let module = PolicyModule::component(self.handle(), info, limits, code, source);
        Ok(Arc::new(module))
    }

    fn check_limits(&self, limits: &Limits) -> Result<()> {
        if limits.memory_bytes > self.inner.max_memory_bytes {
            return Err(PolicyError::InvalidLimits {
                reason: format!(
                    "memory cap of {} bytes is above the engine's maximum of {} bytes",
                    limits.memory_bytes, self.inner.max_memory_bytes
                ),
            });
        }
        Ok(())
    }

    fn handle(&self) -> EngineHandle {
        EngineHandle {
            engine: self.inner.engine.clone(),
            epoch_tick: self.inner.epoch_tick,
            _keep_alive: self.inner.clone(),
        }
    }

    /// Drops the compiled code of the module with digest `sha256` from both caches, so that
    /// its next load compiles it again (for an upload refused because compiling it took too
    /// long: a retry must not be accepted from the cache that compilation filled).
    pub fn forget(&self, sha256: &str) {
        self.inner.modules.forget(sha256);
        self.inner.components.cache.forget(sha256);
    }
}
