//! Fuzz targets of Portcullis: one plain function per parser that reads outside input,
//! `fn(&[u8])`, which calls the real parser and checks what it can of the answer (what
//! decodes re-encodes to the same bytes, a normalised resource normalises to itself). A
//! target must never panic: any input is either read or refused with an error.
//!
//! The coverage-guided fuzzer (AFL++ through cargo-afl, the `host/fuzz/afl` crate, driven
//! by `scripts/fuzz`) calls these functions; the unit tests here replay every committed
//! input under `host/fuzz/corpus/<target>/` and `host/fuzz/regressions/<target>/`, so the
//! normal test suite keeps every crash ever found fixed.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod certs;
mod documents;
mod policy;
mod predicate_lang;
mod resources;
mod store;

#[cfg(test)]
mod replay;
#[cfg(test)]
mod seeds;

/// A fuzz target: its name (the directory of its corpus) and its function.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, by name.
pub const TARGETS: &[Target] = &[
    ("yaml_documents", documents::yaml_documents),
    ("resources", resources::resources),
    ("predicate", predicate_lang::predicate),
    ("policy_module", policy::policy_module),
    ("policy_metadata", policy::policy_metadata),
    ("policy_output", policy::policy_output),
    ("identity", certs::identity),
    ("ssh_pubkey", certs::ssh_pubkey),
    ("store_record", store::store_record),
];

/// The target called `name`.
pub fn target(name: &str) -> Option<fn(&[u8])> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

pub use certs::{identity, ssh_pubkey};
pub use documents::yaml_documents;
pub use policy::{policy_metadata, policy_module, policy_output};
pub use predicate_lang::predicate;
pub use resources::resources;
pub use store::store_record;

/// Splits `data` into a selector byte and the rest (selector 0 for empty input).
fn split_selector(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((first, rest)) => (*first, rest),
        None => (0, data),
    }
}
