//! Host bindings of the `portcullis:policy@2.0.0` WIT package (guest-sdk/wit/policy.wit),
//! generated for the `policy` world (every hook). Exports are looked up one interface at a
//! time, so a component targeting a smaller world (one hook) loads too.

#![allow(missing_docs)]

wasmtime::component::bindgen!({
    world: "policy",
    path: "../../guest-sdk/wit",
    // Every host import may trap: a capability the metadata does not declare, too many
    // lookups.
    imports: { default: trappable },
});
