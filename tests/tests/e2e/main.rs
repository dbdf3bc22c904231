//! End-to-end tests of Portcullis, in one test binary: the real `portcullis` and `pctl`
//! (and the example binaries) driven over mutual TLS on loopback, real OpenSSH and openssl
//! checking what they issue, and the example policy modules built from source.
//!
//! One module per area; their helpers shared between areas live in the `portcullis_tests`
//! library (`tests/src`). One binary links the whole stack (RocksDB, wasmtime, Cedar) once
//! instead of once per area. Run one area with a filter, e.g.
//! `cargo test -p portcullis-tests --test e2e -- watch::`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access_plugin;
mod access_requests;
mod access_reviews;
mod api_coverage;
mod apps;
mod audit;
mod bad_input;
mod certificates;
mod clock;
mod components;
mod durability;
mod faults;
mod foundation;
mod ha;
mod hostile_uploads;
mod identity;
mod keys_at_rest;
mod kube;
mod limits;
mod openssh_harness;
mod paging;
mod passwords;
mod policies;
mod policy_conformance;
mod presence;
mod ratelimits;
mod rbac;
mod restart;
mod rotation;
mod semaphores;
mod sessions;
mod tokens;
mod watch;
