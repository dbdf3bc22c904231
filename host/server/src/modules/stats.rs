//! Evaluation counters per module (the metric the server keeps; shown by `pctl policy ls`).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use portcullis_api::services::PolicyModuleStatusV1;

/// Counters of every module by name.
#[derive(Debug, Default)]
pub struct Stats {
    by_module: Mutex<HashMap<String, PolicyModuleStatusV1>>,
}

impl Stats {
    /// Counts one evaluation of `module`, failed with `error` if given.
    pub fn record(&self, module: &str, error: Option<&str>) {
        crate::diag::metrics().evaluation(module, error.is_none());
        let mut all = self
            .by_module
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = all.entry(module.to_owned()).or_default();
        entry.evaluations += 1;
        if let Some(error) = error {
            entry.failures += 1;
            entry.last_error = error.to_owned();
        }
    }

    /// The counters of `module`.
    pub fn get(&self, module: &str) -> PolicyModuleStatusV1 {
        self.by_module
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(module)
            .cloned()
            .unwrap_or_default()
    }

    /// Forgets a deleted module.
    pub fn remove(&self, module: &str) {
        self.by_module
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(module);
    }
}
