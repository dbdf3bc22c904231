//! `predicate`: the `where`/`actions` standard library of Portcullis, a policy module that
//! implements the Teleport predicate language.
//!
//! ```text
//! contains(user.spec.traits["team"], "dba") && !equals(resource.metadata.name, "admin")
//! log("info", "%v read %v", user.metadata.name, resource.metadata.name)
//! ```
//!
//! - functions: `equals(a, b)`, `contains(list, item)`, `contains_any(list, items)`,
//!   `contains_all(list, items)` (false when either is empty, as in Teleport), `set(...)`
//!   (a list of its arguments, flattened and without duplicates), `has_prefix(s, prefix)`,
//!   `is_subset(list, items...)` (every element of `list` is among the rest),
//!   `all_end_with(list, suffix)`, `all_equal(list, value)`; any other function is an extra
//!   function of an uploaded module, called through the host (`call` import, ABI §5);
//! - operators `||`, `&&`, `==`/`!=`, `!` (loosest to tightest, as in Go), parentheses;
//! - literals: `"double-quoted"` strings with escapes (`\" \\ \/ \' \n \t \r \0 \uXXXX`),
//!   `` `raw` `` strings, `true`, `false`;
//! - identifiers: `user.*`, `resource.*` (JSON field names of the input's `user` and
//!   `resource` objects), `verb`, `kind`; map indexing `user.spec.traits["team"]`. A missing
//!   key is the empty value (empty string and empty list), never an error. See [`eval`] for
//!   the value rules.
//! - actions: `log(level, format, args...)` with Go-style `%v` placeholders, and
//!   `annotate(key, value)`.
//!
//! Errors are `syntax error: ... at column N`, `type error: ... at column N` or
//! `function error: ... at column N` (1-based, in characters). The hooks report syntax
//! errors with the error kind `syntax` (ABI §3), the others as evaluation failures.
//!
//! The language is plain `no_std` + `alloc` code ([`parser`], [`eval`], [`action`]) that
//! does not depend on the Wasm runtime: [`evaluate`] and [`run_action`] work natively too
//! (for tests and as a baseline for benchmarks); the module exports `portcullis_where` and
//! `portcullis_action` on top of them.
#![cfg_attr(target_arch = "wasm32", no_std)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

extern crate alloc;

pub mod action;
pub mod error;
pub mod eval;
pub mod lexer;
pub mod parser;

#[cfg(test)]
mod tests;

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use portcullis_guest::host::{self, HostError};
use portcullis_guest::{Effect, GuestError, RawInput, Value};

pub use error::{Error, ErrorKind, Result};
pub use eval::{Functions, LazyInput, NoFunctions};
pub use parser::parse;

use eval::Evaluator;

portcullis_guest::module! {
    name: "predicate",
    version: "1.0.0",
    hooks: {
        where: where_hook,
        action: action_hook,
    },
    functions: {},
    capabilities: [call, input],
    input_mode: pull,
}

/// Extra functions served by the host through the `call` import (ABI §5). Natively there
/// is no host, so every extra function is unknown.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostFunctions;

impl Functions for HostFunctions {
    fn call(&self, name: &str, args: &[Value]) -> core::result::Result<Option<Value>, String> {
        match host::call(name, args) {
            Ok(result) => Ok(Some(result)),
            Err(HostError::NotFound) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Evaluates the `where` `expression` against `input` (the ABI §4.1 object: `user`,
/// `resource`, `verb`, `kind`; its `expression` field is ignored). Extra functions go to
/// the host ([`HostFunctions`]).
pub fn evaluate(expression: &str, input: &Value) -> Result<bool> {
    evaluate_with(expression, input, &HostFunctions)
}

/// [`evaluate`] with the given extra functions.
pub fn evaluate_with(expression: &str, input: &Value, functions: &dyn Functions) -> Result<bool> {
    let expr = parse(expression)?;
    Evaluator::new(input, functions).eval_bool(&expr)
}

/// [`evaluate_with`] over an input read piece by piece: only the fields the expression
/// names are fetched (in the module, through the host's `input_get_json`), never the whole input.
pub fn evaluate_lazy(
    expression: &str,
    input: &dyn LazyInput,
    functions: &dyn Functions,
) -> Result<bool> {
    let expr = parse(expression)?;
    Evaluator::lazy(input, functions).eval_bool(&expr)
}

/// [`run_action_with`] over an input read piece by piece.
pub fn run_action_lazy(
    expression: &str,
    input: &dyn LazyInput,
    functions: &dyn Functions,
) -> Result<Vec<Effect>> {
    let expr = parse(expression)?;
    let effect = action::run(&Evaluator::lazy(input, functions), &expr)?;
    Ok(alloc::vec![effect])
}

/// The hook input as the host holds it, read through the `input_get_json` import.
struct HostInput;

impl LazyInput for HostInput {
    fn get(&self, pointer: &str) -> core::result::Result<Option<Value>, String> {
        host::input_get_json(pointer).map_err(|e| e.to_string())
    }
}

/// Runs one entry of a rule's `actions` (e.g. `log("info", "%v", user.metadata.name)`)
/// against `input` and returns its effects.
pub fn run_action(expression: &str, input: &Value) -> Result<Vec<Effect>> {
    run_action_with(expression, input, &HostFunctions)
}

/// [`run_action`] with the given extra functions.
pub fn run_action_with(
    expression: &str,
    input: &Value,
    functions: &dyn Functions,
) -> Result<Vec<Effect>> {
    let expr = parse(expression)?;
    let effect = action::run(&Evaluator::new(input, functions), &expr)?;
    Ok(alloc::vec![effect])
}

fn expression() -> core::result::Result<String, GuestError> {
    host::input_get("/expression")
        .ok_or_else(|| GuestError::evaluation("invalid input: no `expression` string"))
}

/// The `where` hook: reads the expression and then only the fields it names. A syntax
/// error is reported with the kind `syntax` (ABI §3), so the server can refuse the role.
fn where_hook(_input: RawInput) -> core::result::Result<bool, GuestError> {
    Ok(evaluate_lazy(&expression()?, &HostInput, &HostFunctions)?)
}

/// The `action` hook.
fn action_hook(_input: RawInput) -> core::result::Result<Vec<Effect>, GuestError> {
    Ok(run_action_lazy(&expression()?, &HostInput, &HostFunctions)?)
}
