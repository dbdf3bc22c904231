//! Evaluation of parsed expressions against a hook input.
//!
//! Values are booleans, strings and lists of strings. Paths read the input JSON: a JSON
//! string is a string, an array of strings a list, `true`/`false` a boolean, a number its
//! decimal text, a missing key or `null` the *empty value* (an empty string and an empty list
//! at once); objects can only be indexed (or passed whole to extra functions). Wherever a
//! list is expected a string counts as a one-element list.

use alloc::borrow::Cow;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::parser::{Expr, ExprKind, Segment};

/// Extra functions: the ones a `where` expression calls that are not built in.
pub trait Functions {
    /// Calls function `name` with JSON `args`: `Ok(Some(result))`, `Ok(None)` if no such
    /// function exists, or `Err(reason)` if it failed.
    fn call(&self, name: &str, args: &[Value]) -> core::result::Result<Option<Value>, String>;
}

/// No extra functions: every unknown function is an error.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFunctions;

impl Functions for NoFunctions {
    fn call(&self, _name: &str, _args: &[Value]) -> core::result::Result<Option<Value>, String> {
        Ok(None)
    }
}

/// The built-in functions.
pub const BUILTINS: [&str; 9] = [
    "equals",
    "contains",
    "contains_any",
    "contains_all",
    "set",
    "has_prefix",
    "is_subset",
    "all_end_with",
    "all_equal",
];

/// A value during evaluation; borrows from the input and the expression where it can.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    /// A boolean.
    Bool(bool),
    /// A string.
    Str(Cow<'a, str>),
    /// A list of strings.
    List(Vec<Cow<'a, str>>),
    /// A missing value: equal to `""` and to an empty list.
    Empty,
    /// Any other JSON (objects, numbers in lists, ...): only for equality and extra functions.
    Json(Cow<'a, Value>),
}

impl Val<'_> {
    /// How the value's type reads in error messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Val::Bool(_) => "a boolean",
            Val::Str(_) => "a string",
            Val::List(_) => "a list",
            Val::Empty => "an empty value",
            Val::Json(json) => match json.as_ref() {
                Value::Object(_) => "an object",
                Value::Array(_) => "a list of non-strings",
                Value::Number(_) => "a number",
                _ => "a JSON value",
            },
        }
    }

    /// The value as JSON (arguments of extra functions); the empty value is `null`.
    pub fn to_json(&self) -> Value {
        match self {
            Val::Bool(b) => Value::Bool(*b),
            Val::Str(s) => Value::String(s.to_string()),
            Val::List(items) => {
                Value::Array(items.iter().map(|s| Value::String(s.to_string())).collect())
            }
            Val::Empty => Value::Null,
            Val::Json(json) => json.as_ref().clone(),
        }
    }

    /// The value as text, Go's `%v` style: lists as `[a b]`, the empty value as nothing.
    pub fn display(&self) -> String {
        match self {
            Val::Bool(b) => b.to_string(),
            Val::Str(s) => s.to_string(),
            Val::List(items) => {
                let mut text = String::from("[");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        text.push(' ');
                    }
                    text.push_str(item);
                }
                text.push(']');
                text
            }
            Val::Empty => String::new(),
            Val::Json(json) => json.to_string(),
        }
    }
}

/// Equality of `==`, `!=` and `equals`: same type and contents (lists in order); the empty
/// value equals `""` and `[]`; values of different types are not equal.
pub fn equal(a: &Val<'_>, b: &Val<'_>) -> bool {
    match (a, b) {
        (Val::Bool(a), Val::Bool(b)) => a == b,
        (Val::Str(a), Val::Str(b)) => a == b,
        (Val::List(a), Val::List(b)) => a == b,
        (Val::Empty, Val::Empty) => true,
        (Val::Empty, Val::Str(s)) | (Val::Str(s), Val::Empty) => s.is_empty(),
        (Val::Empty, Val::List(l)) | (Val::List(l), Val::Empty) => l.is_empty(),
        (Val::Json(a), Val::Json(b)) => a == b,
        // Numbers of the input read as their text; a number literal equals that text.
        (Val::Json(n), Val::Str(s)) | (Val::Str(s), Val::Json(n)) if n.is_number() => {
            let text = n.to_string();
            text == *s
        }
        _ => false,
    }
}

/// An input read piece by piece instead of parsed whole: in the module, the host's
/// `input_get_json` import (ABI §5), so a clause reads only the values it names.
pub trait LazyInput {
    /// The value at the RFC 6901 `pointer`: `Ok(None)` if there is no such value, `Err`
    /// with the reason if it could not be read.
    fn get(&self, pointer: &str) -> core::result::Result<Option<Value>, String>;
}

impl LazyInput for Value {
    fn get(&self, pointer: &str) -> core::result::Result<Option<Value>, String> {
        Ok(self.pointer(pointer).cloned())
    }
}

/// Where path identifiers are read from.
#[derive(Clone, Copy)]
enum Input<'a> {
    /// A parsed input.
    Json(&'a Value),
    /// An input read through [`LazyInput`].
    Lazy(&'a dyn LazyInput),
}

/// Escapes one RFC 6901 reference token.
fn pointer_token(out: &mut String, token: &str) {
    out.push('/');
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

/// Evaluates expressions against one hook input.
pub struct Evaluator<'a> {
    input: Input<'a>,
    functions: &'a dyn Functions,
}

impl<'a> Evaluator<'a> {
    /// An evaluator over `input` (the ABI §4.1 object), calling `functions` for functions
    /// that are not built in.
    pub fn new(input: &'a Value, functions: &'a dyn Functions) -> Self {
        Evaluator {
            input: Input::Json(input),
            functions,
        }
    }

    /// An evaluator that reads only the fields the expression names from `input`.
    pub fn lazy(input: &'a dyn LazyInput, functions: &'a dyn Functions) -> Self {
        Evaluator {
            input: Input::Lazy(input),
            functions,
        }
    }

    /// Evaluates `expr`, which must be a boolean.
    pub fn eval_bool(&self, expr: &'a Expr) -> Result<bool> {
        match self.eval(expr)? {
            Val::Bool(b) => Ok(b),
            other => Err(type_error(
                alloc::format!(
                    "the expression must be a boolean, found {}",
                    other.describe()
                ),
                expr.column,
            )),
        }
    }

    /// Evaluates `expr` to a value.
    pub fn eval(&self, expr: &'a Expr) -> Result<Val<'a>> {
        match &expr.kind {
            ExprKind::Str(s) => Ok(Val::Str(Cow::Borrowed(s))),
            ExprKind::Num(text) => serde_json::from_str::<serde_json::Number>(text)
                .map(|n| Val::Json(Cow::Owned(Value::Number(n))))
                .map_err(|_| type_error(alloc::format!("`{text}` is not a number"), expr.column)),
            ExprKind::Bool(b) => Ok(Val::Bool(*b)),
            ExprKind::Path { root, segments } => self.path(root, segments, expr.column),
            ExprKind::Call { name, args } => self.call(name, args, expr.column),
            ExprKind::Not(operand) => Ok(Val::Bool(!self.operand(operand, "!")?)),
            ExprKind::And(operands) => {
                for operand in operands {
                    if !self.operand(operand, "&&")? {
                        return Ok(Val::Bool(false));
                    }
                }
                Ok(Val::Bool(true))
            }
            ExprKind::Or(operands) => {
                for operand in operands {
                    if self.operand(operand, "||")? {
                        return Ok(Val::Bool(true));
                    }
                }
                Ok(Val::Bool(false))
            }
            ExprKind::Equals {
                left,
                right,
                negated,
            } => {
                let left = self.eval(left)?;
                let right = self.eval(right)?;
                Ok(Val::Bool(equal(&left, &right) != *negated))
            }
        }
    }

    /// An operand of a logical operator: must be a boolean.
    fn operand(&self, expr: &'a Expr, operator: &str) -> Result<bool> {
        match self.eval(expr)? {
            Val::Bool(b) => Ok(b),
            other => Err(type_error(
                alloc::format!("`{operator}` needs booleans, found {}", other.describe()),
                expr.column,
            )),
        }
    }

    fn path(&self, root: &str, segments: &'a [Segment], column: usize) -> Result<Val<'a>> {
        let input = match self.input {
            Input::Json(input) => input,
            Input::Lazy(lazy) => return self.lazy_path(lazy, root, segments, column),
        };
        let mut current = input.get(root);
        for segment in segments {
            current = match segment {
                Segment::Field(name) => current.and_then(|value| value.get(name.as_str())),
                Segment::Index(index) => {
                    let key = self.eval(index)?;
                    let key = into_str(key, index.column, "an index")?;
                    current.and_then(|value| value.get(key.as_ref()))
                }
            };
        }
        Ok(from_json(current))
    }

    /// A path read through [`LazyInput`]: only the value it names is fetched, never the
    /// whole input.
    fn lazy_path(
        &self,
        lazy: &dyn LazyInput,
        root: &str,
        segments: &'a [Segment],
        column: usize,
    ) -> Result<Val<'a>> {
        let mut keys: Vec<Cow<'a, str>> = Vec::with_capacity(segments.len());
        for segment in segments {
            keys.push(match segment {
                Segment::Field(name) => Cow::Borrowed(name.as_str()),
                Segment::Index(index) => into_str(self.eval(index)?, index.column, "an index")?,
            });
        }
        let mut pointer = String::new();
        pointer_token(&mut pointer, root);
        // Paths index objects only, but a JSON Pointer token made of digits would also
        // index an array: such (rare) paths read their root and walk it like a parsed input.
        let numeric =
            |key: &Cow<'_, str>| !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit());
        let walk = keys.iter().any(numeric);
        if !walk {
            for key in &keys {
                pointer_token(&mut pointer, key);
            }
        }
        let value = lazy.get(&pointer).map_err(|reason| {
            Error::new(
                ErrorKind::Function,
                alloc::format!("cannot read `{pointer}` from the input: {reason}"),
                column,
            )
        })?;
        if !walk {
            return Ok(value.map(from_owned_json).unwrap_or(Val::Empty));
        }
        let mut current = value;
        for key in &keys {
            current = match current {
                Some(Value::Object(mut map)) => map.remove(key.as_ref()),
                _ => None,
            };
        }
        Ok(current.map(from_owned_json).unwrap_or(Val::Empty))
    }

    fn call(&self, name: &str, args: &'a [Expr], column: usize) -> Result<Val<'a>> {
        if !BUILTINS.contains(&name) {
            return self.external(name, args, column);
        }
        let values = args
            .iter()
            .map(|arg| self.eval(arg))
            .collect::<Result<Vec<_>>>()?;
        let mut args = values.into_iter().zip(args.iter().map(|arg| arg.column));
        let count = args.len();
        let arity = |expected: usize| {
            if count == expected {
                Ok(())
            } else {
                Err(type_error(
                    alloc::format!("`{name}` takes {expected} arguments, found {count}"),
                    column,
                ))
            }
        };
        let result = match name {
            "equals" => {
                arity(2)?;
                let (a, b) = two(&mut args);
                equal(&a.0, &b.0)
            }
            "contains" => {
                arity(2)?;
                let (list, item) = two(&mut args);
                let list = into_list(list)?;
                let item = into_str(item.0, item.1, "the item")?;
                list.contains(&item)
            }
            "contains_any" => {
                arity(2)?;
                let (list, items) = two(&mut args);
                let list = into_list(list)?;
                into_list(items)?.iter().any(|item| list.contains(item))
            }
            "contains_all" => {
                arity(2)?;
                let (list, items) = two(&mut args);
                let list = into_list(list)?;
                let items = into_list(items)?;
                // As in Teleport: false when either list is empty.
                !list.is_empty()
                    && !items.is_empty()
                    && items.iter().all(|item| list.contains(item))
            }
            "set" => {
                let mut set: Vec<Cow<'a, str>> = Vec::new();
                for arg in args {
                    for item in into_list(arg)? {
                        if !set.contains(&item) {
                            set.push(item);
                        }
                    }
                }
                return Ok(Val::List(set));
            }
            "has_prefix" => {
                arity(2)?;
                let (text, prefix) = two(&mut args);
                let text = into_str(text.0, text.1, "the text")?;
                let prefix = into_str(prefix.0, prefix.1, "the prefix")?;
                text.starts_with(prefix.as_ref())
            }
            "is_subset" => {
                if count == 0 {
                    return Err(type_error(
                        "`is_subset` takes at least 1 argument, found 0",
                        column,
                    ));
                }
                let mut args = args;
                let subset = args.next().map(into_list).transpose()?.unwrap_or_default();
                let mut superset = Vec::new();
                for arg in args {
                    superset.extend(into_list(arg)?);
                }
                subset.iter().all(|item| superset.contains(item))
            }
            "all_end_with" => {
                arity(2)?;
                let (list, suffix) = two(&mut args);
                let list = into_list(list)?;
                let suffix = into_str(suffix.0, suffix.1, "the suffix")?;
                list.iter().all(|item| item.ends_with(suffix.as_ref()))
            }
            "all_equal" => {
                arity(2)?;
                let (list, value) = two(&mut args);
                let list = into_list(list)?;
                let value = into_str(value.0, value.1, "the value")?;
                list.iter().all(|item| *item == value)
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::Function,
                    alloc::format!("unknown function `{name}`"),
                    column,
                ))
            }
        };
        Ok(Val::Bool(result))
    }

    /// A function that is not built in: forwarded to [`Functions`].
    fn external(&self, name: &str, args: &'a [Expr], column: usize) -> Result<Val<'a>> {
        let args = args
            .iter()
            .map(|arg| self.eval(arg).map(|value| value.to_json()))
            .collect::<Result<Vec<_>>>()?;
        match self.functions.call(name, &args) {
            Ok(Some(result)) => Ok(from_owned_json(result)),
            Ok(None) => Err(Error::new(
                ErrorKind::Function,
                alloc::format!("unknown function `{name}`"),
                column,
            )),
            Err(reason) => Err(Error::new(
                ErrorKind::Function,
                alloc::format!("function `{name}` failed: {reason}"),
                column,
            )),
        }
    }
}

fn type_error(message: impl Into<String>, column: usize) -> Error {
    Error::new(ErrorKind::Type, message, column)
}

/// The next two arguments (the caller checked the arity).
fn two<'a>(
    args: &mut impl Iterator<Item = (Val<'a>, usize)>,
) -> ((Val<'a>, usize), (Val<'a>, usize)) {
    let a = args.next().unwrap_or((Val::Empty, 0));
    let b = args.next().unwrap_or((Val::Empty, 0));
    (a, b)
}

/// A value where a string is expected: strings, and the empty value as `""`.
fn into_str<'a>(value: Val<'a>, column: usize, what: &str) -> Result<Cow<'a, str>> {
    match value {
        Val::Str(s) => Ok(s),
        Val::Empty => Ok(Cow::Borrowed("")),
        other => Err(type_error(
            alloc::format!("{what} must be a string, found {}", other.describe()),
            column,
        )),
    }
}

/// A value where a list is expected: lists, a string as a one-element list, the empty value
/// as an empty list.
fn into_list((value, column): (Val<'_>, usize)) -> Result<Vec<Cow<'_, str>>> {
    match value {
        Val::List(items) => Ok(items),
        Val::Str(s) => Ok(alloc::vec![s]),
        Val::Empty => Ok(Vec::new()),
        other => Err(type_error(
            alloc::format!("expected a list of strings, found {}", other.describe()),
            column,
        )),
    }
}

/// The value of a path in the input.
fn from_json(value: Option<&Value>) -> Val<'_> {
    match value {
        None | Some(Value::Null) => Val::Empty,
        Some(Value::Bool(b)) => Val::Bool(*b),
        Some(Value::String(s)) => Val::Str(Cow::Borrowed(s)),
        Some(Value::Number(n)) => Val::Str(Cow::Owned(n.to_string())),
        Some(json @ Value::Array(items)) => {
            let strings: Option<Vec<Cow<'_, str>>> = items
                .iter()
                .map(|item| item.as_str().map(Cow::Borrowed))
                .collect();
            strings.map_or(Val::Json(Cow::Borrowed(json)), Val::List)
        }
        Some(json @ Value::Object(_)) => Val::Json(Cow::Borrowed(json)),
    }
}

/// The value of an extra function's result or of a lazily read field (the same rules as
/// [`from_json`]: numbers read as their text).
fn from_owned_json<'a>(value: Value) -> Val<'a> {
    match value {
        Value::Null => Val::Empty,
        Value::Bool(b) => Val::Bool(b),
        Value::Number(n) => Val::Str(Cow::Owned(n.to_string())),
        Value::String(s) => Val::Str(Cow::Owned(s)),
        Value::Array(items) if items.iter().all(Value::is_string) => Val::List(
            items
                .into_iter()
                .map(|item| match item {
                    Value::String(s) => Cow::Owned(s),
                    other => Cow::Owned(other.to_string()),
                })
                .collect(),
        ),
        other => Val::Json(Cow::Owned(other)),
    }
}
