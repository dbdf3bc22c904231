//! `approve-dba`: the example approval policy shared by every guest language (see
//! `policies/conformance/README.md`), written with the Rust guest SDK.
//!
//! Only `dba` may be requested; a request with a `ticket` annotation made during working
//! hours (Monday–Friday, 08:00–18:00 UTC) is approved, any other `dba` request is left to a
//! human. Like the other languages' versions it does not parse its input: it reads the
//! values it needs with the `input_get` import and the time with `now_ms`. The decision
//! itself is in `src/policy.rs`, which `policies/examples/rust-component` builds into an ABI
//! v2 component with the same SDK.
#![cfg_attr(target_arch = "wasm32", no_std)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

use portcullis_guest::{host, Decision, RawInput};

mod policy;
pub use policy::{decide, working_hours, ROLE};

portcullis_guest::module! {
    name: "approve-dba",
    version: "1.0.0",
    hooks: {
        access_request: access_request,
    },
    functions: {},
    capabilities: [time, input],
}

/// The `access_request` hook: reads roles, ticket and time from the host and decides.
fn access_request(_input: RawInput) -> Result<Decision, String> {
    let roles = requested_roles();
    let ticket = host::input_get("/request/annotations/ticket/0");
    Ok(decide(&roles, ticket.as_deref(), host::now_ms()))
}

/// `/request/roles/0`, `/request/roles/1`, ... until there is no such value.
fn requested_roles() -> Vec<String> {
    let mut roles = Vec::new();
    let mut path = String::new();
    for index in 0..u32::MAX {
        path.clear();
        path.push_str("/request/roles/");
        push_decimal(&mut path, index);
        match host::input_get(&path) {
            Some(role) => roles.push(role),
            None => break,
        }
    }
    roles
}

/// Appends `n` in decimal (without pulling in `core::fmt`).
fn push_decimal(out: &mut String, n: u32) {
    if n >= 10 {
        push_decimal(out, n / 10);
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal() {
        let mut s = String::new();
        for n in [0, 7, 10, 4_294_967_295] {
            push_decimal(&mut s, n);
            s.push(' ');
        }
        assert_eq!(s, "0 7 10 4294967295 ");
    }
}
