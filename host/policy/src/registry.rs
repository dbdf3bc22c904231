//! The [`Registry`] of loaded modules (current and previous version of each name), and
//! [`RegistryHost`], a [`Host`] whose `call` import resolves functions through it.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::Value;

use crate::error::{EvalError, PolicyError, Result};
use crate::hook::Hook;
use crate::host::{system_now_ms, Host, SharedHost, MAX_CALL_DEPTH};
use crate::module::PolicyModule;
use crate::output;

#[derive(Debug, Clone)]
struct Slot {
    current: Arc<PolicyModule>,
    previous: Option<Arc<PolicyModule>>,
}

/// Modules by the name they were uploaded under, each with its previous version.
///
/// Reads take a read lock just long enough to clone an `Arc`, so evaluations never wait on
/// each other; an `insert` while others evaluate (hot replace) lets them finish with the
/// module they already hold.
#[derive(Debug, Default)]
pub struct Registry {
    slots: RwLock<BTreeMap<String, Slot>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<String, Slot>> {
        // A panic while holding the lock cannot leave the map inconsistent (every write is a
        // single insert/remove/swap), so a poisoned lock is still usable.
        self.slots.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<String, Slot>> {
        self.slots.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes `module` the current version of `name`; the version it replaces becomes the
    /// previous one and is returned.
    pub fn insert(&self, name: &str, module: Arc<PolicyModule>) -> Option<Arc<PolicyModule>> {
        let mut slots = self.write();
        match slots.get_mut(name) {
            Some(slot) => {
                let old = std::mem::replace(&mut slot.current, module);
                slot.previous = Some(old.clone());
                Some(old)
            }
            None => {
                slots.insert(
                    name.to_owned(),
                    Slot {
                        current: module,
                        previous: None,
                    },
                );
                None
            }
        }
    }

    /// The current version of `name`.
    pub fn get(&self, name: &str) -> Option<Arc<PolicyModule>> {
        self.read().get(name).map(|s| s.current.clone())
    }

    /// The previous version of `name`, if any.
    pub fn previous(&self, name: &str) -> Option<Arc<PolicyModule>> {
        self.read().get(name).and_then(|s| s.previous.clone())
    }

    /// Swaps the current and previous versions of `name` and returns the new current one
    /// (rolling back twice rolls forward again).
    pub fn rollback(&self, name: &str) -> Result<Arc<PolicyModule>> {
        let mut slots = self.write();
        let slot = slots.get_mut(name).ok_or_else(|| PolicyError::NotFound {
            name: name.to_owned(),
        })?;
        let previous = slot
            .previous
            .take()
            .ok_or_else(|| PolicyError::NoPreviousVersion {
                name: name.to_owned(),
            })?;
        let replaced = std::mem::replace(&mut slot.current, previous);
        slot.previous = Some(replaced);
        Ok(slot.current.clone())
    }

    /// Removes `name` (both versions) and returns its current version.
    pub fn remove(&self, name: &str) -> Option<Arc<PolicyModule>> {
        self.write().remove(name).map(|s| s.current)
    }

    /// Names and current versions, sorted by name.
    pub fn list(&self) -> Vec<(String, Arc<PolicyModule>)> {
        self.read()
            .iter()
            .map(|(n, s)| (n.clone(), s.current.clone()))
            .collect()
    }

    /// The module (name and current version) that exports the extra function `fn_name`; the
    /// first by name if several do.
    pub fn find_function(&self, fn_name: &str) -> Option<(String, Arc<PolicyModule>)> {
        let hook = Hook::Function(fn_name.to_owned());
        self.read()
            .iter()
            .find(|(_, s)| s.current.implements(&hook))
            .map(|(n, s)| (n.clone(), s.current.clone()))
    }

    /// Calls the extra function `fn_name` with the callee input `input` at nesting `depth`,
    /// and returns its `result`.
    pub fn call_function(
        &self,
        fn_name: &str,
        input: Value,
        host: &SharedHost,
        depth: u32,
    ) -> Result<Value, EvalError> {
        if depth > MAX_CALL_DEPTH {
            return Err(EvalError::TooDeep {
                max: MAX_CALL_DEPTH,
            });
        }
        let (_, module) = self
            .find_function(fn_name)
            .ok_or_else(|| EvalError::NoSuchFunction(fn_name.to_owned()))?;
        let hook = Hook::Function(fn_name.to_owned());
        let output = module
            .call_at_depth(&hook, Arc::new(input), host, depth)
            .into_evaluation()?
            .output;
        output::function_result(&hook, output)
    }
}

type LookupFn = dyn Fn(&str, &str) -> Option<Value> + Send + Sync;
type ClockFn = dyn Fn() -> i64 + Send + Sync;
type ObserverFn = dyn Fn(&str, Option<&EvalError>) + Send + Sync;

/// A [`Host`] whose `call` import runs extra functions of the modules in a [`Registry`].
/// Resource lookups and the clock are pluggable (defaults: none, the system clock).
#[derive(Clone)]
pub struct RegistryHost {
    registry: Arc<Registry>,
    lookup: Arc<LookupFn>,
    clock: Arc<ClockFn>,
    observer: Arc<ObserverFn>,
}

impl std::fmt::Debug for RegistryHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryHost").finish_non_exhaustive()
    }
}

impl RegistryHost {
    /// A host over `registry` with the system clock and no lookups.
    pub fn new(registry: Arc<Registry>) -> RegistryHost {
        RegistryHost {
            registry,
            lookup: Arc::new(|_, _| None),
            clock: Arc::new(system_now_ms),
            observer: Arc::new(|_, _| {}),
        }
    }

    /// Resolves `lookup` imports with `f(kind, name)` (capabilities are checked before).
    pub fn with_lookup(
        mut self,
        f: impl Fn(&str, &str) -> Option<Value> + Send + Sync + 'static,
    ) -> RegistryHost {
        self.lookup = Arc::new(f);
        self
    }

    /// Uses `f` as the clock.
    pub fn with_clock(mut self, f: impl Fn() -> i64 + Send + Sync + 'static) -> RegistryHost {
        self.clock = Arc::new(f);
        self
    }

    /// Calls `f(module, failure)` after every extra function it runs for a `call` import
    /// (a `where` clause's function, say): the module that exports it, and why it failed.
    pub fn with_observer(
        mut self,
        f: impl Fn(&str, Option<&EvalError>) + Send + Sync + 'static,
    ) -> RegistryHost {
        self.observer = Arc::new(f);
        self
    }

    /// This host as a [`SharedHost`].
    pub fn shared(&self) -> SharedHost {
        Arc::new(self.clone())
    }
}

impl Host for RegistryHost {
    fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    fn lookup(&self, kind: &str, name: &str) -> Option<Value> {
        (self.lookup)(kind, name)
    }

    fn call_function(&self, name: &str, input: Value, depth: u32) -> Result<Value, EvalError> {
        let result = self
            .registry
            .call_function(name, input, &self.shared(), depth);
        if let Some((module, _)) = self.registry.find_function(name) {
            if let Err(e) = &result {
                tracing::warn!(function = name, %module, error = %e, "extra policy function failed");
            }
            (self.observer)(&module, result.as_ref().err());
        }
        result
    }
}
