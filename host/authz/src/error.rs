//! Errors of the authorization crate.

/// Why a set of roles could not be compiled or a request not decided.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthzError {
    /// A role is not valid (see [`crate::validate`]).
    #[error("role `{role}`: {reason}")]
    InvalidRole {
        /// The role's name.
        role: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Cedar refused what this crate generated (a bug, reported rather than hidden).
    #[error("internal authorization error: {0}")]
    Internal(String),
}

/// Why a `where` clause or an action gave no answer ([`crate::RuleHooks`]). A clause that
/// fails denies in a deny rule and does not allow in an allow rule (fail closed).
///
/// It displays as the reason alone, and serializes as that text (audit events record it).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum HookError {
    /// The clause or action is malformed: the evaluator reports a syntax error. It fails
    /// whatever the input, so a role with one is refused when it is stored.
    #[error("{reason}")]
    Syntax {
        /// The evaluator's message (with the position of the error).
        reason: String,
    },
    /// The evaluator is not there: no policy module of that name is loaded.
    #[error("the `{module}` policy module is not loaded")]
    NotLoaded {
        /// The module's name.
        module: String,
    },
    /// The evaluation failed: the evaluator trapped, hit a limit, gave a malformed answer
    /// or reported an error (a value of the wrong type, an unknown function, ...).
    #[error("{reason}")]
    Failed {
        /// What went wrong.
        reason: String,
    },
}

impl HookError {
    /// Whether the clause or action is malformed ([`HookError::Syntax`]) rather than failed
    /// at evaluation.
    pub fn is_syntax(&self) -> bool {
        matches!(self, HookError::Syntax { .. })
    }
}

impl serde::Serialize for HookError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
