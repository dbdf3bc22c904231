//! The native signing core of Portcullis.
//!
//! This crate owns certificate authorities and everything that signs: TLS certificate
//! authorities (rcgen), server and client certificates, and the encoding of a caller's
//! identity (user, roles, logins, traits, expiry) into and out of a client certificate.
//! It is pure: no network, no storage, no clock other than the one passed in. SSH
//! authorities sign user and host certificates (ssh-key); JWT keys and CA rotation arrive
//! with the rest of the certificate authority issue.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod error;
mod identity;
mod ssh;
mod tls;

pub use error::{Error, Result};
pub use identity::{Identity, IDENTITY_EXTENSION_OID};
pub use ssh::{HostCertRequest, Permissions, SshAlgorithm, SshAuthority, UserCertRequest};
pub use tls::{fingerprint_pem, IssuedCert, TlsAuthority, SERVER_CERT_TTL};
