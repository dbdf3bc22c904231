//! Role rules' `where` clauses and `actions`, run by the `predicate` module in the registry
//! (the built-in one, or an uploaded replacement).

use std::sync::Arc;

use portcullis_authz::RuleHooks;
use portcullis_policy::{Effect, Registry, SharedHost};
use serde_json::Value;

use super::PREDICATE_MODULE;

/// [`RuleHooks`] over the policy registry.
pub struct WasmRuleHooks {
    registry: Arc<Registry>,
    host: SharedHost,
}

impl WasmRuleHooks {
    /// Hooks evaluating with the modules of `registry`, `host` serving their imports.
    pub fn new(registry: Arc<Registry>, host: SharedHost) -> Self {
        Self { registry, host }
    }

    fn predicate(&self) -> Result<Arc<portcullis_policy::PolicyModule>, String> {
        self.registry
            .get(PREDICATE_MODULE)
            .ok_or_else(|| format!("the `{PREDICATE_MODULE}` policy module is not loaded"))
    }
}

impl RuleHooks for WasmRuleHooks {
    fn eval_where(&self, input: Arc<Value>) -> Result<bool, String> {
        self.predicate()?
            .eval_where(input, &self.host)
            .map_err(|e| e.to_string())
    }

    fn run_action(&self, input: Arc<Value>) -> Result<Vec<String>, String> {
        let effects = self
            .predicate()?
            .eval_action(input, &self.host)
            .map_err(|e| e.to_string())?;
        Ok(effects
            .into_iter()
            .map(|effect| match effect {
                Effect::Log { level, message } => format!("{level}: {message}"),
                Effect::Annotate { key, value } => format!("annotate {key}={value}"),
            })
            .collect())
    }
}
