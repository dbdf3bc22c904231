//! Role rules' `where` clauses and `actions`, run by the `predicate` module in the registry
//! (the built-in one, or an uploaded replacement).
//!
//! Each evaluation runs in [`tokio::task::block_in_place`]: a module's host imports may wait
//! for the store. Only the Wasm call leaves the async worker, so a decision that runs no
//! clause (most of them: Cedar's answer is remembered) never hands the worker's other tasks
//! to another thread.

use std::sync::Arc;

use portcullis_authz::{HookError, RuleHooks};
use portcullis_policy::{Effect, EvalError, Registry, SharedHost};
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

    fn predicate(&self) -> Result<Arc<portcullis_policy::PolicyModule>, HookError> {
        self.registry
            .get(PREDICATE_MODULE)
            .ok_or_else(|| HookError::NotLoaded {
                module: PREDICATE_MODULE.to_owned(),
            })
    }
}

/// A failed evaluation as [`RuleHooks`] report it: the module's syntax errors (ABI.md §3,
/// kind `syntax`) apart from every other failure. An error the predicate reports is about
/// the expression, so it is told as the predicate tells it (no "policy module reported"
/// prefix: the author wrote an expression, not a module); traps and limits keep theirs.
fn hook_error(e: EvalError) -> HookError {
    let reason = match &e {
        EvalError::Guest { message, .. } => message.clone(),
        other => other.to_string(),
    };
    if e.is_syntax() {
        HookError::Syntax { reason }
    } else {
        HookError::Failed { reason }
    }
}

/// Whether `module` is the built-in predicate module (whose language this server can parse
/// natively), not an uploaded replacement.
fn is_builtin_predicate(module: &portcullis_policy::PolicyModule) -> bool {
    static DIGEST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let builtin = DIGEST.get_or_init(|| portcullis_policy::sha256_hex(super::BUILTIN_PREDICATE));
    module.info().sha256 == *builtin
}

impl RuleHooks for WasmRuleHooks {
    fn unknown_functions(&self, expression: &str, action: bool) -> Vec<String> {
        // Only the built-in predicate's language is known here: an uploaded replacement
        // may speak another.
        match self.predicate() {
            Ok(module) if is_builtin_predicate(&module) => {}
            _ => return Vec::new(),
        }
        predicate::parser::extra_functions(expression, action)
            .unwrap_or_default()
            .into_iter()
            .filter(|name| self.registry.find_function(name).is_none())
            .collect()
    }

    fn eval_where(&self, input: Arc<Value>) -> Result<bool, HookError> {
        let predicate = self.predicate()?;
        let result = tokio::task::block_in_place(|| predicate.eval_where(input, &self.host));
        crate::diag::metrics().evaluation(PREDICATE_MODULE, result.is_ok());
        result.map_err(hook_error)
    }

    fn run_action(&self, input: Arc<Value>) -> Result<Vec<String>, HookError> {
        let predicate = self.predicate()?;
        let effects = tokio::task::block_in_place(|| predicate.eval_action(input, &self.host));
        crate::diag::metrics().evaluation(PREDICATE_MODULE, effects.is_ok());
        let effects = effects.map_err(hook_error)?;
        Ok(effects
            .into_iter()
            .map(|effect| match effect {
                Effect::Log { level, message } => format!("{level}: {message}"),
                Effect::Annotate { key, value } => format!("annotate {key}={value}"),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use portcullis_policy::{ErrorKind, EvalError};

    use super::hook_error;

    #[test]
    fn syntax_errors_keep_their_kind_and_text() {
        let syntax = hook_error(EvalError::guest(ErrorKind::Syntax, "syntax error: `(`"));
        assert!(syntax.is_syntax());
        assert_eq!(syntax.to_string(), "syntax error: `(`");
        let failed = hook_error(EvalError::guest(ErrorKind::Evaluation, "type error: x"));
        assert!(!failed.is_syntax());
        assert!(!hook_error(EvalError::StackOverflow).is_syntax());
    }
}
