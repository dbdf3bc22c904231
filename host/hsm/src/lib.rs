//! Authority keys kept in a PKCS#11 token (an HSM, or SoftHSM2 for tests and small
//! deployments), so that the store and its backups hold only public keys and key handles.
//!
//! [`Token::open`] loads the token's PKCS#11 library, finds the token by its label and logs
//! in with the user PIN. [`Token::generate`] makes an Ed25519 or ECDSA P-256 key pair in the
//! token, the private half with `CKA_TOKEN`, `CKA_PRIVATE`, `CKA_SENSITIVE` true and
//! `CKA_EXTRACTABLE` false, so it never leaves the token; [`Token::find`] finds it again after
//! a restart by the [`KeyHandle`] the caller stored (token label and `CKA_ID`, written as an
//! RFC 7512 `pkcs11:` URI). A [`TokenKey`] is a [`portcullis_ca::ExternalKey`]: the TLS, SSH
//! and JWT authorities sign through it.
//!
//! Sessions: PKCS#11 sessions may not be used from two threads at once, so signatures take a
//! session from a small pool (opening one more when all are busy) and give it back; the login
//! is held by one session kept open for the token's lifetime (a login applies to every
//! session of the process).
//!
//! A PKCS#11 library may be initialized once per process: libraries are loaded and
//! initialized once per path and shared by every [`Token`] opened from them.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod error;
mod handle;
mod key;
pub mod softhsm;
mod token;

pub use error::{HsmError, Result};
pub use handle::KeyHandle;
pub use key::TokenKey;
pub use token::Token;

#[cfg(test)]
mod tests;
