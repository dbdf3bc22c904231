//! `policy_module`, `policy_metadata`, `policy_output`: what an operator uploads (a Wasm
//! module and its metadata section) and what a module answers.

use portcullis_policy::{check_output, validate, Hook, Metadata, ValidationLimits};

/// Validates `data` as an uploaded module (wasmparser, the ABI marker, the metadata
/// section, imports and exports), as the server does before storing it.
pub fn policy_module(data: &[u8]) {
    let _ = validate(data, &ValidationLimits::default());
}

/// Parses `data` as a module's metadata JSON (its metadata custom section).
pub fn policy_metadata(data: &[u8]) {
    let _ = Metadata::parse(data);
}

/// Reads the bytes after the selector byte as a module's output for the hook it picks
/// (`where`, `action`, `access_request` or a function), as the engine does.
pub fn policy_output(data: &[u8]) {
    let (selector, bytes) = crate::split_selector(data);
    let hook = match selector % 4 {
        0 => Hook::Where,
        1 => Hook::Action,
        2 => Hook::AccessRequest,
        _ => Hook::Function("f".to_owned()),
    };
    let _ = check_output(&hook, bytes);
}
