//! The Portcullis auth server, binary `portcullis`.
//!
//! Layered from the wire down: [`transport`] holds the tonic service, mutual TLS and the
//! caller's identity (taken from the client certificate), and thin handlers that decode a
//! request, [`rbac::authorize`] it, make one call into a domain and encode the answer; its
//! `status` module is the one place where errors become gRPC statuses. Each domain
//! ([`access_requests`], [`app_sessions`], [`roles`], [`users`], [`web_sessions`], [`tokens`], [`presence`], [`semaphores`],
//! [`issuance`], [`keyring`], [`remote_clusters`], [`watch`], [`audit`], [`modules`]) owns its
//! workflow and its error type and knows nothing of tonic. [`config`], [`bootstrap`] and
//! [`daemon`] start it all. The admin command line `pctl` is the `portcullis-cli` crate, a
//! client of the API like any other.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod access_requests;
pub mod app_sessions;
pub mod audit;
pub mod bootstrap;
pub mod config;
pub mod daemon;
pub mod diag;
pub mod issuance;
pub mod keyring;
pub mod modules;
pub mod presence;
pub mod ratelimit;
pub mod rbac;
pub mod remote_clusters;
pub mod resources;
pub mod roles;
pub mod semaphores;
pub mod sessions;
pub mod state;
pub mod tokens;
pub mod transport;
pub mod users;
pub mod watch;
pub mod web_sessions;
