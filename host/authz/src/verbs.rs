//! Verbs of role rules, and the wildcard.

/// The verbs a rule may name (besides `*`). `readnosecrets` is implied by `read`: a rule
/// that allows `read` also allows reading without secrets.
pub const VERBS: [&str; 7] = [
    "list",
    "create",
    "read",
    "readnosecrets",
    "update",
    "delete",
    "rotate",
];

/// Every verb, or every resource kind.
pub const WILDCARD: &str = "*";

/// Whether `verb` is a known verb or the wildcard.
pub fn is_verb(verb: &str) -> bool {
    verb == WILDCARD || VERBS.contains(&verb)
}
