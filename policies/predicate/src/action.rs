//! The `actions` language: `log(level, format, args...)` and `annotate(key, value)`.

use alloc::string::String;
use alloc::vec::Vec;

use portcullis_guest::{Effect, Level};

use crate::error::{Error, ErrorKind, Result};
use crate::eval::{Evaluator, Val};
use crate::parser::{Expr, ExprKind};

/// Runs one parsed action.
pub fn run(evaluator: &Evaluator<'_>, expr: &Expr) -> Result<Effect> {
    let ExprKind::Call { name, args } = &expr.kind else {
        return Err(Error::new(
            ErrorKind::Syntax,
            "an action must be a call such as `log(\"info\", \"%v\", user.metadata.name)`",
            expr.column,
        ));
    };
    match name.as_str() {
        "log" => {
            if args.len() < 2 {
                return Err(Error::new(
                    ErrorKind::Type,
                    alloc::format!("`log` takes at least 2 arguments, found {}", args.len()),
                    expr.column,
                ));
            }
            let level = string(evaluator, &args[0], "the level")?;
            let level = parse_level(&level).ok_or_else(|| {
                Error::new(
                    ErrorKind::Type,
                    alloc::format!(
                        "unknown log level `{level}` (expected debug, info, warn or error)"
                    ),
                    args[0].column,
                )
            })?;
            let format = string(evaluator, &args[1], "the format")?;
            let values = args[2..]
                .iter()
                .map(|arg| evaluator.eval(arg))
                .collect::<Result<Vec<_>>>()?;
            Ok(Effect::Log {
                level,
                message: sprintf(&format, &values),
            })
        }
        "annotate" => {
            if args.len() != 2 {
                return Err(Error::new(
                    ErrorKind::Type,
                    alloc::format!("`annotate` takes 2 arguments, found {}", args.len()),
                    expr.column,
                ));
            }
            Ok(Effect::Annotate {
                key: string(evaluator, &args[0], "the key")?,
                value: string(evaluator, &args[1], "the value")?,
            })
        }
        other => Err(Error::new(
            ErrorKind::Function,
            alloc::format!("unknown action `{other}` (expected log or annotate)"),
            expr.column,
        )),
    }
}

fn string(evaluator: &Evaluator<'_>, expr: &Expr, what: &str) -> Result<String> {
    match evaluator.eval(expr)? {
        Val::Str(s) => Ok(s.into_owned()),
        Val::Empty => Ok(String::new()),
        other => Err(Error::new(
            ErrorKind::Type,
            alloc::format!("{what} must be a string, found {}", other.describe()),
            expr.column,
        )),
    }
}

/// Log levels, case-insensitively; `warning` is `warn` (as in Teleport).
fn parse_level(level: &str) -> Option<Level> {
    let level = level.to_ascii_lowercase();
    match level.as_str() {
        "debug" => Some(Level::Debug),
        "info" => Some(Level::Info),
        "warn" | "warning" => Some(Level::Warn),
        "error" => Some(Level::Error),
        _ => None,
    }
}

/// Go-style formatting with `%v` (and `%s`) placeholders; `%%` is a percent sign. Missing
/// arguments show as `%!v(MISSING)`, extra ones are appended as `%!(EXTRA a, b)` and other
/// verbs are kept as written — Go's conventions, so messages never fail.
pub fn sprintf(format: &str, args: &[Val<'_>]) -> String {
    let mut out = String::with_capacity(format.len());
    let mut args = args.iter();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some(verb @ ('v' | 's')) => match args.next() {
                Some(arg) => out.push_str(&arg.display()),
                None => {
                    out.push_str("%!");
                    out.push(verb);
                    out.push_str("(MISSING)");
                }
            },
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push_str("%!(NOVERB)"),
        }
    }
    let extra: Vec<String> = args.map(Val::display).collect();
    if !extra.is_empty() {
        out.push_str("%!(EXTRA ");
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}
