//! The Portcullis auth server.
//!
//! This crate holds the gRPC services, the identity of callers (taken from their client
//! certificates), first-start bootstrap, the server configuration and the typed resource
//! layer over the store. It builds the daemon binary, `portcullis`; the admin command line
//! `pctl` is the `portcullis-cli` crate, a client of the API like any other.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod access_requests;
pub mod audit;
pub mod bootstrap;
pub mod config;
pub mod daemon;
pub mod issuance;
pub mod keyring;
pub mod modules;
pub mod presence;
pub mod rbac;
pub mod resources;
pub mod roles;
pub mod state;
pub mod tokens;
pub mod transport;
pub mod watch;
