//! Policy modules as the server keeps them: stored as `policy_module` resources (with the
//! version each replaced, for rollback), compiled by the engine of `portcullis_policy` and
//! kept ready in its registry, so a replacement takes effect at once and a restart finds
//! the compiled code in the cache.

mod follow;
pub mod host;
pub mod rules;
mod stats;

use std::sync::Arc;
use std::time::Duration;

use portcullis_api::auth::EvaluatePolicyResponse;
use portcullis_api::services::{PolicyLimits, PolicyModuleSpecV1, PolicyModuleV1, RoleV3, UserV2};
use portcullis_policy::{CacheSource, Engine, EngineConfig, Hook, Limits, PolicyModule, Registry};

use crate::resources::kinds::KIND_POLICY_MODULE;
use crate::resources::validate::validate_name;
use crate::resources::{Collection, ResourceError};

/// Name of the where/actions standard library in the registry.
pub const PREDICATE_MODULE: &str = "predicate";

/// The built-in `predicate` module (policies/predicate, compiled by this crate's build
/// script). It is in effect unless a module is uploaded under the same name.
pub const BUILTIN_PREDICATE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/predicate.wasm"));

/// Why a policy module operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PolicyServiceError {
    /// The module or request is not acceptable; nothing was stored.
    #[error("{0}")]
    Invalid(String),
    /// There is no previous version to roll back to.
    #[error("{0}")]
    NoPrevious(String),
    /// Stored data could not be read or written.
    #[error(transparent)]
    Resource(#[from] ResourceError),
    /// The module did not pass the upload checks or did not compile; nothing was stored.
    #[error(transparent)]
    Refused(portcullis_policy::PolicyError),
    /// Compiling the module took longer than `policy.compile_timeout` (a core module) or
    /// `policy.component_compile_timeout` (a component); nothing was stored.
    #[error(
        "compiling the module took longer than {} ({}); nothing was stored",
        .0, humantime::format_duration(*.1)
    )]
    CompileTimeout(&'static str, Duration),
    /// The engine failed for a reason that is not the module's fault.
    #[error("policy engine: {0}")]
    Engine(portcullis_policy::PolicyError),
    /// A compilation or evaluation task of the blocking pool failed (panicked or was
    /// cancelled).
    #[error("{what} task failed: {source}")]
    Task {
        /// `compilation` or `evaluation`.
        what: &'static str,
        /// Why.
        source: tokio::task::JoinError,
    },
}

/// Why an access-request policy module gave no decision (the request then stays pending and
/// the policy's verdict is `error`, with this as its reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    /// No module of that name is loaded.
    #[error("policy module `{0}` is not loaded")]
    NotLoaded(String),
    /// The module does not implement the hook.
    #[error("policy module `{0}` does not declare the access_request hook")]
    NoHook(String),
    /// The blocking task running the evaluation failed.
    #[error("evaluation task failed: {0}")]
    Task(String),
    /// The evaluation failed (trap, fuel, deadline, bad output, an error the module
    /// reported): fail closed.
    #[error(transparent)]
    Eval(portcullis_policy::EvalError),
}

/// The engine, the registry of loaded modules, and the stored modules.
pub struct Policies {
    engine: Engine,
    registry: Arc<Registry>,
    modules: Collection<PolicyModuleV1>,
    users: Collection<UserV2>,
    roles: Collection<RoleV3>,
    stats: Arc<stats::Stats>,
    /// A fixed time modules see instead of the system clock (`policy.clock`).
    clock: Option<std::time::SystemTime>,
    /// Held by the one compilation running (one thread: the other cores stay with the
    /// requests being served).
    compiling: Arc<tokio::sync::Semaphore>,
    /// How long a compilation (waiting for its turn included) may take: a core module's,
    /// a component's.
    compile_timeout: Duration,
    component_compile_timeout: Duration,
}

/// How long compiling an upload may take when `policy.compile_timeout` is unset.
pub const DEFAULT_COMPILE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long compiling a component may take when `policy.component_compile_timeout` is
/// unset: a Python component (a whole interpreter, about 18 MiB) compiles in about 13 s on
/// one core of the test machine.
pub const DEFAULT_COMPONENT_COMPILE_TIMEOUT: Duration = Duration::from_secs(120);

/// A module's own limits (zero fields take the server's defaults), or `None` for the
/// defaults altogether.
fn limits_from_proto(limits: Option<&PolicyLimits>, defaults: Limits) -> Option<Limits> {
    let l = limits?;
    let size = |v: u64, d: usize| {
        if v == 0 {
            d
        } else {
            usize::try_from(v).unwrap_or(usize::MAX)
        }
    };
    Some(Limits {
        fuel: if l.fuel == 0 { defaults.fuel } else { l.fuel },
        timeout: match u64::try_from(l.timeout) {
            Ok(nanos) if nanos > 0 => Duration::from_nanos(nanos),
            _ => defaults.timeout,
        },
        memory_bytes: size(l.memory_bytes, defaults.memory_bytes),
        output_bytes: size(l.output_bytes, defaults.output_bytes),
    })
}

/// A copy without module bytes (for answers and listings).
pub fn without_wasm(mut module: PolicyModuleV1) -> PolicyModuleV1 {
    if let Some(spec) = module.spec.as_mut() {
        strip_wasm(spec);
        if let Some(previous) = spec.previous.as_mut() {
            strip_wasm(previous);
        }
    }
    module
}

/// Clears the bytes, first reading the ABI version from them for a module stored before the
/// spec recorded it.
fn strip_wasm(spec: &mut PolicyModuleSpecV1) {
    if spec.abi == 0 && !spec.wasm.is_empty() {
        spec.abi = if portcullis_policy::is_component(&spec.wasm) {
            2
        } else {
            1
        };
    }
    spec.wasm.clear();
}

impl Policies {
    /// An engine caching compiled modules under `cache_dir`, over the stored `modules`.
    pub fn new(
        cache_dir: std::path::PathBuf,
        defaults: Limits,
        validation: portcullis_policy::ValidationLimits,
        backend: Arc<dyn portcullis_store::Backend>,
    ) -> Result<Self, PolicyServiceError> {
        let engine = Engine::new(EngineConfig {
            cache_dir: Some(cache_dir),
            defaults,
            validation,
            ..EngineConfig::default()
        })
        .map_err(PolicyServiceError::Engine)?;
        Ok(Self {
            engine,
            registry: Arc::new(Registry::new()),
            modules: Collection::new(backend.clone()),
            users: Collection::new(backend.clone()),
            roles: Collection::new(backend),
            stats: Arc::default(),
            clock: None,
            compiling: Arc::new(tokio::sync::Semaphore::new(1)),
            compile_timeout: DEFAULT_COMPILE_TIMEOUT,
            component_compile_timeout: DEFAULT_COMPONENT_COMPILE_TIMEOUT,
        })
    }

    /// Refuses uploads whose compilation takes longer than `module` (a core module) or
    /// `component` (a component).
    pub fn with_compile_timeout(mut self, module: Duration, component: Duration) -> Self {
        self.compile_timeout = module;
        self.component_compile_timeout = component;
        self
    }

    /// Makes modules see `at` as the time instead of the system clock (for staging and
    /// tests: an operator checks a time-dependent policy at a chosen moment).
    pub fn with_fixed_clock(mut self, at: Option<std::time::SystemTime>) -> Self {
        self.clock = at;
        self
    }

    /// The time modules see.
    pub fn now(&self) -> std::time::SystemTime {
        self.clock.unwrap_or_else(portcullis_clock::now)
    }

    /// The server's host imports for an evaluation (look-ups block on the store: call from
    /// a blocking thread).
    fn host(&self) -> portcullis_policy::SharedHost {
        self.host_counting(Some(self.stats.clone()))
    }

    /// [`Policies::host`], counting extra functions' evaluations in `stats` if given.
    fn host_counting(&self, stats: Option<Arc<stats::Stats>>) -> portcullis_policy::SharedHost {
        host::server_host(
            self.registry.clone(),
            self.users.clone(),
            self.roles.clone(),
            tokio::runtime::Handle::current(),
            self.clock,
            stats,
        )
    }

    /// The registry of loaded modules (what evaluations use).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// What role rules' `where` clauses and actions run with: the registry's `predicate`
    /// module, with the server's host imports. Call from a thread that may block (look-ups
    /// read the store).
    pub fn rule_hooks(&self) -> rules::WasmRuleHooks {
        rules::WasmRuleHooks::new(self.registry.clone(), self.host())
    }

    /// The hooks a role's clauses are checked with when it is stored: as
    /// [`Policies::rule_hooks`], but the extra functions they run are not counted as
    /// evaluations of their modules (the check runs them on an empty user and resource).
    pub fn check_hooks(&self) -> rules::WasmRuleHooks {
        rules::WasmRuleHooks::new(self.registry.clone(), self.host_counting(None))
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compiles an upload: as [`Policies::compile`], refused once it has taken longer
    /// than the compile timeout (waiting for its turn included).
    async fn compile_upload(
        &self,
        wasm: Vec<u8>,
        limits: Option<Limits>,
    ) -> Result<Arc<PolicyModule>, PolicyServiceError> {
        let digest = portcullis_policy::sha256_hex(&wasm);
        let (setting, timeout) = if portcullis_policy::is_component(&wasm) {
            (
                "policy.component_compile_timeout",
                self.component_compile_timeout,
            )
        } else {
            ("policy.compile_timeout", self.compile_timeout)
        };
        match tokio::time::timeout(timeout, self.compile(wasm, limits)).await {
            Ok(compiled) => compiled,
            Err(_) => {
                self.forget_when_compiled(digest);
                Err(PolicyServiceError::CompileTimeout(setting, timeout))
            }
        }
    }

    /// The compilation of an upload that gave up goes on on its blocking thread and leaves
    /// its code in the caches, where a retry of the same bytes would find it in no time.
    /// Forgets that code once the compilation is over (its turn is free again), so that a
    /// retry is timed like the first try.
    fn forget_when_compiled(&self, digest: String) {
        let engine = self.engine.clone();
        let turn = self.compiling.clone();
        tokio::spawn(async move {
            let _turn = turn.acquire_owned().await;
            engine.forget(&digest);
            tracing::info!(
                %digest,
                "forgot the compiled code of an upload refused for its compile time"
            );
        });
    }

    /// Validates, compiles (or takes from the cache) and loads `wasm` on a blocking thread,
    /// one module at a time.
    async fn compile(
        &self,
        wasm: Vec<u8>,
        limits: Option<Limits>,
    ) -> Result<Arc<PolicyModule>, PolicyServiceError> {
        let engine = self.engine.clone();
        // Never closed, so this only waits for the compilation before it.
        let turn = self.compiling.clone().acquire_owned().await;
        // The turn is held until the compilation ends, even one whose upload gave up.
        let module = tokio::task::spawn_blocking(move || {
            let _turn = turn;
            engine.load(&wasm, limits)
        })
        .await
        .map_err(|source| PolicyServiceError::Task {
            what: "compilation",
            source,
        })?
        .map_err(PolicyServiceError::Refused)?;
        let source = match module.cache_source() {
            CacheSource::Compiled => "compiled",
            CacheSource::Memory => "cache hit (memory)",
            CacheSource::Disk => "cache hit (disk)",
        };
        tracing::info!(digest = %module.info().sha256, %source, "policy module loaded");
        Ok(module)
    }

    /// Puts the built-in `predicate` module in effect.
    async fn install_builtin(&self) -> Result<(), PolicyServiceError> {
        let module = self.compile(BUILTIN_PREDICATE.to_vec(), None).await?;
        self.registry.insert(PREDICATE_MODULE, module);
        Ok(())
    }

    /// Loads the built-in `predicate` module and every stored module into the registry (at
    /// start); a stored module named `predicate` replaces the built-in one. A stored module
    /// that no longer loads is reported and skipped; the server still starts.
    pub async fn load_stored(&self) -> Result<usize, PolicyServiceError> {
        self.install_builtin().await?;
        let mut loaded = 0;
        for module in self.modules.list().await? {
            let name = module
                .metadata
                .as_ref()
                .map(|m| m.name.clone())
                .unwrap_or_default();
            let Some(spec) = module.spec else { continue };
            let limits = limits_from_proto(spec.limits.as_ref(), self.engine.defaults());
            match self.compile(spec.wasm, limits).await {
                Ok(compiled) => {
                    self.registry.insert(&name, compiled);
                    loaded += 1;
                }
                Err(e) => {
                    tracing::error!(module = %name, error = %e, "stored policy module does not load")
                }
            }
        }
        Ok(loaded)
    }

    /// Validates and compiles `module`, then stores it in place of the module of the same
    /// name (keeping that one as the previous version) and makes it the one in effect.
    /// A module that does not validate is refused and nothing changes.
    pub async fn upsert(
        &self,
        module: PolicyModuleV1,
    ) -> Result<PolicyModuleV1, PolicyServiceError> {
        let name = module
            .metadata
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default();
        validate_name("policy module", &name)?;
        let spec = module.spec.unwrap_or_default();
        if spec.wasm.is_empty() {
            return Err(PolicyServiceError::Invalid(format!(
                "policy module `{name}` has no module bytes (spec.wasm)"
            )));
        }
        let limits = limits_from_proto(spec.limits.as_ref(), self.engine.defaults());
        let compiled = self.compile_upload(spec.wasm.clone(), limits).await?;
        let info = compiled.info().clone();
        let mut new_spec = PolicyModuleSpecV1 {
            size: i64::try_from(spec.wasm.len()).unwrap_or(i64::MAX),
            wasm: spec.wasm,
            digest: info.sha256.clone(),
            module_name: info.metadata.name.clone(),
            module_version: info.metadata.version.clone(),
            hooks: info
                .metadata
                .hooks
                .iter()
                .map(ToString::to_string)
                .collect(),
            functions: info.metadata.functions.iter().cloned().collect(),
            capabilities: info
                .metadata
                .capabilities
                .iter()
                .map(ToString::to_string)
                .collect(),
            limits: spec.limits,
            previous: None,
            abi: info.abi,
        };
        let stored = match self.modules.find(&name).await? {
            None => {
                let resource = resource(&name, new_spec);
                self.modules.create(&resource).await?
            }
            Some(mut current) => {
                let old = current.spec.take().unwrap_or_default();
                new_spec.previous = if old.digest == new_spec.digest {
                    // The same module again: keep what it replaced.
                    old.previous
                } else {
                    Some(Box::new(PolicyModuleSpecV1 {
                        previous: None,
                        ..old
                    }))
                };
                current.spec = Some(new_spec);
                // Compare-and-swap on the revision read above.
                self.modules.update(&current).await?
            }
        };
        self.registry.insert(&name, compiled);
        tracing::info!(module = %name, digest = %info.sha256, version = %info.metadata.version, "policy module uploaded");
        Ok(without_wasm(stored))
    }

    /// Puts back the version the current module replaced.
    pub async fn rollback(&self, name: &str) -> Result<PolicyModuleV1, PolicyServiceError> {
        let mut current = self.modules.get(name).await?;
        let spec = current.spec.take().unwrap_or_default();
        let Some(previous) = spec.previous.clone() else {
            return Err(PolicyServiceError::NoPrevious(format!(
                "policy module `{name}` has no previous version to roll back to"
            )));
        };
        let mut restored = *previous;
        let limits = limits_from_proto(restored.limits.as_ref(), self.engine.defaults());
        let compiled = self.compile(restored.wasm.clone(), limits).await?;
        restored.previous = Some(Box::new(PolicyModuleSpecV1 {
            previous: None,
            ..spec
        }));
        current.spec = Some(restored);
        let stored = self.modules.update(&current).await?;
        self.registry.insert(name, compiled);
        tracing::info!(module = %name, "policy module rolled back");
        Ok(without_wasm(stored))
    }

    /// Deletes a module (and its previous version).
    pub async fn delete(&self, name: &str) -> Result<(), PolicyServiceError> {
        self.modules.delete(name).await?;
        self.registry.remove(name);
        self.stats.remove(name);
        if name == PREDICATE_MODULE {
            self.install_builtin().await?;
        }
        tracing::info!(module = %name, "policy module deleted");
        Ok(())
    }

    /// One stored module.
    pub async fn get(
        &self,
        name: &str,
        with_wasm: bool,
    ) -> Result<PolicyModuleV1, PolicyServiceError> {
        let mut module = self.modules.get(name).await?;
        module.status = Some(self.stats.get(name));
        Ok(if with_wasm {
            module
        } else {
            without_wasm(module)
        })
    }

    /// Every stored module, without bytes.
    pub async fn list(&self) -> Result<Vec<PolicyModuleV1>, PolicyServiceError> {
        Ok(self
            .modules
            .list()
            .await?
            .into_iter()
            .map(|mut m| {
                let name = m
                    .metadata
                    .as_ref()
                    .map(|md| md.name.clone())
                    .unwrap_or_default();
                m.status = Some(self.stats.get(&name));
                without_wasm(m)
            })
            .collect())
    }

    /// Runs `hook` of the loaded module `name` on `input`, on a blocking thread. A failed
    /// evaluation is an answer here (its error is reported), logged and counted.
    pub async fn evaluate(
        &self,
        name: &str,
        hook: &str,
        input: &str,
    ) -> Result<EvaluatePolicyResponse, PolicyServiceError> {
        let hook = hook
            .parse::<Hook>()
            .map_err(|e| PolicyServiceError::Invalid(e.to_string()))?;
        let input: serde_json::Value = serde_json::from_str(input).map_err(|e| {
            PolicyServiceError::Invalid(format!("the input is not valid JSON: {e}"))
        })?;
        let Some(module) = self.registry.get(name) else {
            return Err(ResourceError::NotFound {
                kind: KIND_POLICY_MODULE,
                name: name.to_owned(),
            }
            .into());
        };
        let host = self.host();
        let hook_name = hook.to_string();
        let started = std::time::Instant::now();
        let result = tokio::task::spawn_blocking(move || module.call(&hook, input, &host))
            .await
            .map_err(|source| PolicyServiceError::Task {
                what: "evaluation",
                source,
            })?;
        let elapsed = i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX);
        Ok(match result {
            Ok(evaluation) => {
                self.stats.record(name, None);
                EvaluatePolicyResponse {
                    output: evaluation.output.to_string(),
                    logs: evaluation
                        .logs
                        .iter()
                        .map(|(level, message)| format!("{level}: {message}"))
                        .collect(),
                    fuel_used: evaluation.fuel_used,
                    error: String::new(),
                    elapsed_nanos: elapsed,
                }
            }
            Err(e) => {
                let error = e.to_string();
                tracing::warn!(module = %name, hook = %hook_name, %error, "policy evaluation failed (fail closed)");
                self.stats.record(name, Some(&error));
                EvaluatePolicyResponse {
                    error,
                    elapsed_nanos: elapsed,
                    ..Default::default()
                }
            }
        })
    }
}

impl Policies {
    /// Runs the `access_request` hook (ABI v1 §4.3) of the loaded module `name` on
    /// `input`, on a blocking thread. Answers the decision and the module's version, or why
    /// there is none (not loaded, no such hook, trap, fuel, timeout, bad output); failures
    /// are logged and counted like every evaluation.
    pub async fn decide_access_request(
        &self,
        name: &str,
        input: serde_json::Value,
    ) -> (String, Result<portcullis_policy::Decision, ApprovalError>) {
        let Some(module) = self.registry.get(name) else {
            let error = ApprovalError::NotLoaded(name.to_owned());
            tracing::warn!(module = %name, %error, "access request policy not run");
            return (String::new(), Err(error));
        };
        let version = module.info().metadata.version.clone();
        if !module.implements(&Hook::AccessRequest) {
            let error = ApprovalError::NoHook(name.to_owned());
            tracing::warn!(module = %name, %error, "access request policy not run");
            return (version, Err(error));
        }
        let host = self.host();
        let result = tokio::task::spawn_blocking(move || module.eval_access_request(input, &host))
            .await
            .map_err(|e| ApprovalError::Task(e.to_string()))
            .and_then(|r| r.map_err(ApprovalError::Eval));
        match &result {
            Ok(_) => self.stats.record(name, None),
            Err(error) => {
                tracing::warn!(module = %name, %error, "access request policy failed; the request stays pending");
                self.stats.record(name, Some(&error.to_string()));
            }
        }
        (version, result)
    }
}

fn resource(name: &str, spec: PolicyModuleSpecV1) -> PolicyModuleV1 {
    PolicyModuleV1 {
        kind: KIND_POLICY_MODULE.into(),
        version: "v1".into(),
        metadata: Some(portcullis_api::services::Metadata {
            name: name.to_owned(),
            namespace: crate::resources::validate::DEFAULT_NAMESPACE.to_owned(),
            ..Default::default()
        }),
        spec: Some(spec),
        ..Default::default()
    }
}
