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

mod client;
mod error;
pub mod private;
pub mod serde_helpers;
mod tls;
mod wrappers_serde;

#[cfg(test)]
mod resource_tests;
#[cfg(test)]
mod test_pki;

pub use auth::auth_service_client::AuthServiceClient;
pub use auth::auth_service_server::{AuthService, AuthServiceServer};
pub use client::Client;
pub use error::{Error, Result};
pub use tls::{load_tls_config, TlsFiles};

/// The stream type that server-streaming methods of [`AuthService`] return.
pub type BoxStream<T> = tonic::codegen::BoxStream<T>;

/// Address the auth server listens on by default.
pub const DEFAULT_AUTH_ADDR: &str = "127.0.0.1:3025";

/// DNS name that every auth server certificate carries and that clients
/// verify, whatever address they dial (the cluster-local name of the auth
/// service).
pub const AUTH_SERVER_NAME: &str = "auth.portcullis.cluster.local";
