//! Role-based access control for Portcullis.
//!
//! Roles (`RoleV3`) are compiled into [Cedar](https://www.cedarpolicy.com) policies: every
//! rule of a role's `allow` side becomes a `permit`, every rule of its `deny` side a `forbid`,
//! so that Cedar's own semantics — any matching `forbid` denies, otherwise any matching
//! `permit` allows, otherwise deny — are exactly the role semantics. [`Authorizer::decide`]
//! answers whether a caller may apply a verb to a resource kind, and [`Decision`] says which
//! role and rule decided.
//!
//! - Only the caller's own roles are compiled (and the compiled set is cached per role set
//!   and role revisions), so a decision's cost does not depend on how many roles the cluster
//!   has.
//! - A rule with a `where` clause matches only if the clause holds. Clauses are evaluated by
//!   the caller of this crate ([`RuleHooks`], in the server the Wasm `predicate` module)
//!   before Cedar decides, deny rules first and each side only until one of its rules
//!   matches: a deny rule whose clause fails to evaluate counts as matching (deny), an allow
//!   rule whose clause fails does not (fail closed). The outcomes reach Cedar through the
//!   request context (`context.where_true`).
//! - A rule becomes one policy per resource kind it names, the kind in the policy's scope
//!   (`resource == Kind::"role"`), which Cedar matches without evaluating a condition.
//! - Cedar's answer depends only on the verb, the kind, the namespace and which rules'
//!   clauses held (never on the principal), so each compiled role set remembers it per
//!   question; clauses are still evaluated on every decision, and a new role revision
//!   compiles a new set.
//! - `actions` of the rules that decided run afterwards, through [`RuleHooks::run_action`].
//! - [`access`] checks node, app, cluster and Kubernetes access (labels and logins), with
//!   label values `*`, globs and `^regex$` ([`labels`]); [`templates`] expands
//!   `{{internal.NAME}}` / `{{external.NAME}}` from user traits.
//! - [`requests`] decides which roles a user may request and whose requests it may review,
//!   and the review thresholds of a requested role.
//! - [`builtin`] holds the roles no one can edit: `admin` and the system roles of hosts.
//! - [`validate`] checks a role before it is stored.

pub mod access;
pub mod builtin;
mod compile;
mod decide;
mod error;
pub mod labels;
mod outcomes;
pub mod requests;
pub mod templates;
pub mod validate;
pub mod verbs;

pub use compile::{RuleRef, Side, DEFAULT_NAMESPACE};
pub use decide::{
    ActionOutcome, Authorizer, Decision, Request, RuleHooks, WhereOutcome, MAX_CACHED_ROLE_SETS,
};
pub use error::{AuthzError, HookError};
pub use outcomes::MAX_OUTCOMES_PER_ROLE_SET;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
