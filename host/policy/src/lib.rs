//! The WebAssembly policy engine of Portcullis.
//!
//! This is the only crate that will touch wasmtime: module registry, the host side of the
//! policy ABI, per-call limits and the compiled-module cache. It is empty until the Wasm
//! policy engine issue lands.
