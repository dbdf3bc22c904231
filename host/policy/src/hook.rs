//! The hooks a module may implement (ABI.md §4) and how they are named: in the metadata,
//! as exports, and on the command line (`where`, `action`, `access_request`,
//! `function:NAME`).

use std::fmt;
use std::str::FromStr;

use crate::error::UnknownHook;
use crate::metadata::{valid_function_name, HookKind};
use crate::validate::hook_export_name;

/// A hook to call: one of ABI.md §4.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Hook {
    /// `portcullis_where`.
    Where,
    /// `portcullis_action`.
    Action,
    /// `portcullis_access_request`.
    AccessRequest,
    /// `portcullis_fn_<name>`.
    Function(String),
}

impl Hook {
    /// The kind of hook (as in the metadata).
    pub fn kind(&self) -> HookKind {
        match self {
            Hook::Where => HookKind::Where,
            Hook::Action => HookKind::Action,
            Hook::AccessRequest => HookKind::AccessRequest,
            Hook::Function(_) => HookKind::Function,
        }
    }

    /// The export implementing it.
    pub fn export_name(&self) -> String {
        match self {
            Hook::Function(name) => hook_export_name(HookKind::Function, Some(name)),
            other => hook_export_name(other.kind(), None),
        }
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hook::Function(name) => write!(f, "function:{name}"),
            other => f.write_str(other.kind().as_str()),
        }
    }
}

/// `where`, `action`, `access_request` or `function:NAME` (also `fn:NAME`).
impl FromStr for Hook {
    type Err = UnknownHook;

    fn from_str(s: &str) -> std::result::Result<Hook, UnknownHook> {
        match s {
            "where" => Ok(Hook::Where),
            "action" => Ok(Hook::Action),
            "access_request" => Ok(Hook::AccessRequest),
            "function" | "fn" | "function:" | "fn:" => Err(UnknownHook(format!(
                "hook `{s}` needs the function's name: `function:NAME` (or `fn:NAME`), e.g. \
                 `function:business_hours`"
            ))),
            _ => match s
                .strip_prefix("function:")
                .or_else(|| s.strip_prefix("fn:"))
            {
                Some(name) if valid_function_name(name) => Ok(Hook::Function(name.to_owned())),
                Some(name) => Err(UnknownHook(format!(
                    "`{name}` is not a function name ([a-z_][a-z0-9_]*)"
                ))),
                None => Err(UnknownHook(format!(
                    "unknown hook `{s}` (expected where, action, access_request, or \
                     function:NAME / fn:NAME for an extra function)"
                ))),
            },
        }
    }
}
