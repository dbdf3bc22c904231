//! The Portcullis gRPC API: the protobuf messages of the auth server (users,
//! roles, tokens, certificate authorities, access requests, audit events...),
//! the tonic client and server stubs of its `AuthService`, serde support so the
//! same types read and write the YAML/JSON resources operators edit, and a
//! typed client that connects over mutual TLS with the `.crt`/`.key`/`.cas`
//! files that `auth sign --format=tls` produces.
//!
//! The protobuf packages map to modules of the same name: [`wrappers`],
//! [`events`], [`services`] (resources) and [`auth`] (requests, responses and
//! the service).
//!
//! It also holds the vocabulary that the server and its clients (`pctl`, plugins)
//! share, so that neither depends on the other: kind names ([`kinds`]), name
//! validation and normalization ([`validate`]), timestamp conversion ([`time`]),
//! token redaction ([`tokens`]), the YAML document parser of `pctl create`
//! ([`documents`], [`yaml`]) and the check that key and data files are private
//! ([`private`]).

/// Lists of strings and maps of them (labels, traits, annotations).
#[allow(missing_docs, clippy::all, clippy::pedantic, clippy::nursery)]
pub mod wrappers {
    include!(concat!(env!("OUT_DIR"), "/wrappers.rs"));
}

/// Audit events.
#[allow(missing_docs, clippy::all, clippy::pedantic, clippy::nursery)]
pub mod events {
    include!(concat!(env!("OUT_DIR"), "/events.rs"));
}

/// Resources: users, roles, tokens, certificate authorities, servers,
/// access requests and the rest.
#[allow(missing_docs, clippy::all, clippy::pedantic, clippy::nursery)]
pub mod services {
    include!(concat!(env!("OUT_DIR"), "/services.rs"));
}

/// Requests, responses and the `AuthService` client and server.
#[allow(missing_docs, clippy::all, clippy::pedantic, clippy::nursery)]
pub mod auth {
    include!(concat!(env!("OUT_DIR"), "/auth.rs"));
}

pub mod access;
mod client;
pub mod documents;
mod error;
pub mod kinds;
pub mod private;
pub mod serde_helpers;
pub mod time;
mod tls;
pub mod tokens;
pub mod validate;
mod wrappers_serde;
pub mod yaml;

#[cfg(test)]
mod resource_tests;
#[cfg(test)]
mod test_pki;

pub use auth::auth_service_client::AuthServiceClient;
pub use auth::auth_service_server::{AuthService, AuthServiceServer};
pub use client::{for_each_page, Client, Page, SessionRecorder, PAGE_SIZE};
pub use error::{Error, Result};
pub use tls::{load_tls_config, pem_list, TlsFiles};

/// The stream type that server-streaming methods of [`AuthService`] return.
pub type BoxStream<T> = tonic::codegen::BoxStream<T>;

/// Address the auth server listens on by default.
pub const DEFAULT_AUTH_ADDR: &str = "127.0.0.1:3025";

/// The local server's data directory, where `pctl` finds the admin identity by default:
/// `$PORTCULLIS_DATA_DIR`, else `$XDG_DATA_HOME/portcullis`, else
/// `~/.local/share/portcullis`, else `./portcullis-data`.
pub fn default_data_dir() -> std::path::PathBuf {
    use std::path::PathBuf;
    if let Some(dir) = std::env::var_os("PORTCULLIS_DATA_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(dir).join("portcullis");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/share/portcullis"),
        None => PathBuf::from("portcullis-data"),
    }
}

/// DNS name that every auth server certificate carries and that clients
/// verify, whatever address they dial (the cluster-local name of the auth
/// service).
pub const AUTH_SERVER_NAME: &str = "auth.portcullis.cluster.local";
