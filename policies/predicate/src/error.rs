//! Errors of the predicate language: what went wrong and at which column.

use alloc::string::String;
use core::fmt;

use portcullis_guest::GuestError;

/// The class of an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The expression does not parse.
    Syntax,
    /// A value has the wrong type, or a function the wrong number of arguments.
    Type,
    /// An unknown function or action, or an extra function that failed.
    Function,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Syntax => "syntax error",
            ErrorKind::Type => "type error",
            ErrorKind::Function => "function error",
        })
    }
}

/// An error in an expression, displayed as `KIND: MESSAGE at column N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The class of error.
    pub kind: ErrorKind,
    /// What went wrong (lowercase; names from the expression in backticks).
    pub message: String,
    /// 1-based column, in characters, of the offending part of the expression.
    pub column: usize,
}

impl Error {
    /// A new error.
    pub fn new(kind: ErrorKind, message: impl Into<String>, column: usize) -> Self {
        Error {
            kind,
            message: message.into(),
            column,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} at column {}",
            self.kind, self.message, self.column
        )
    }
}

impl core::error::Error for Error {}

/// The hooks' error output (ABI §3): the message as [`Error`] displays it, with the kind
/// `syntax` for [`ErrorKind::Syntax`] (the expression does not parse, whatever the input)
/// and `evaluation` otherwise.
impl From<Error> for GuestError {
    fn from(e: Error) -> Self {
        let kind = match e.kind {
            ErrorKind::Syntax => portcullis_guest::ErrorKind::Syntax,
            ErrorKind::Type | ErrorKind::Function => portcullis_guest::ErrorKind::Evaluation,
        };
        GuestError::new(kind, alloc::format!("{e}"))
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
