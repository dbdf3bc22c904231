//! Rust SDK for writing Portcullis policy modules that compile to `wasm32-unknown-unknown`.
//!
//! The ABI and the SDK arrive with the Wasm policy engine issue; this crate only reserves
//! the name and the place in the workspace.
#![no_std]
