//! Cedar's answers for one compiled role set, remembered exactly.
//!
//! The policies of a role set constrain only the action, the resource kind and the context
//! (`namespace` and the rules whose `where` clause held, `where_true`); never the principal.
//! Cedar's answer is therefore a function of the verb, the kind, the namespace and that set
//! of rules, and of the role set's revisions, which key the compiled set this memo belongs
//! to. A new revision of any role compiles a new set with an empty memo, so nothing here is
//! ever stale. The `where` clauses themselves are still evaluated on every decision: only
//! what Cedar concludes from their answers is remembered.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

/// Answers kept per compiled role set before its memo is cleared.
pub const MAX_OUTCOMES_PER_ROLE_SET: usize = 1024;

/// What Cedar answered.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) allowed: bool,
    /// The deciding rules, as indices into the compiled set's rules, ordered by rule and
    /// without repeats.
    pub(crate) deciding: Vec<usize>,
}

/// The memo of one compiled role set.
#[derive(Debug, Default)]
pub(crate) struct Outcomes {
    map: Mutex<HashMap<String, Arc<Outcome>>>,
}

/// The key of one question: verb, kind, namespace and the rules whose clause held. Names
/// cannot contain NUL, so the fields cannot run into each other.
pub(crate) fn key(verb: &str, kind: &str, namespace: &str, holding: &[usize]) -> String {
    let mut key = String::with_capacity(verb.len() + kind.len() + namespace.len() + 8);
    for part in [verb, kind, namespace] {
        key.push_str(part);
        key.push('\0');
    }
    for index in holding {
        // Writing to a String cannot fail.
        let _ = write!(key, "{index},");
    }
    key
}

impl Outcomes {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Outcome>>> {
        // A panic while holding the lock cannot leave the map inconsistent.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn get(&self, key: &str) -> Option<Arc<Outcome>> {
        self.lock().get(key).cloned()
    }

    pub(crate) fn insert(&self, key: String, outcome: Arc<Outcome>) {
        let mut map = self.lock();
        if map.len() >= MAX_OUTCOMES_PER_ROLE_SET {
            map.clear();
        }
        map.insert(key, outcome);
    }
}
