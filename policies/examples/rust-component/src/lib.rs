//! approve-dba as an ABI v2 component (world `access-request-policy` of
//! guest-sdk/wit/policy.wit), built with the guest SDK's `component!` for wasm32-wasip2.
//!
//! The decision is the one of `policies/examples/rust` (ABI v1, `module!`), compiled from the
//! same file: one source, one SDK, both ABIs. Only the input differs: a component receives
//! the request as a typed argument, so it reads the roles and the ticket from it instead of
//! pulling them with `input_get`.

extern crate alloc;

#[path = "../../rust/src/policy.rs"]
mod policy;

use portcullis_guest::{host, AccessRequestInput, Decision};

portcullis_guest::component! {
    name: "approve-dba",
    version: "1.0.0",
    hooks: { access_request: review },
    functions: {},
    capabilities: [time],
}

/// The `access_request` hook.
fn review(input: AccessRequestInput) -> Result<Decision, String> {
    let ticket = input
        .request
        .annotations
        .get("ticket")
        .and_then(|values| values.first())
        .map(String::as_str);
    Ok(policy::decide(&input.request.roles, ticket, host::now_ms()))
}
