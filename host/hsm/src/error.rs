//! Errors of the token access.

use std::path::PathBuf;

/// What went wrong with the token.
#[derive(Debug, thiserror::Error)]
pub enum HsmError {
    /// The PKCS#11 library could not be loaded or initialized.
    #[error("cannot load the PKCS#11 module `{path}`: {reason}")]
    Module {
        /// The library.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// No token carries the label.
    #[error("no PKCS#11 token labelled `{label}` in `{module}` (tokens present: {present})")]
    NoToken {
        /// The label looked for.
        label: String,
        /// The library.
        module: PathBuf,
        /// The labels found, comma-separated, or `none`.
        present: String,
    },
    /// The token refused the PIN.
    #[error("the PKCS#11 token `{label}` refused the PIN (wrong PIN, or the PIN is locked)")]
    WrongPin {
        /// The token's label.
        label: String,
    },
    /// A key named by a handle is not in the token.
    #[error("the key `{handle}` is not in the PKCS#11 token `{label}`")]
    NoKey {
        /// The handle, as a `pkcs11:` URI.
        handle: String,
        /// The token's label.
        label: String,
    },
    /// A stored key handle cannot be read.
    #[error("invalid PKCS#11 key handle `{handle}`: {reason}")]
    Handle {
        /// The handle as stored.
        handle: String,
        /// Why it was refused.
        reason: String,
    },
    /// The token holds a key of a kind this crate does not use.
    #[error("the key `{handle}` in the PKCS#11 token is not an Ed25519 or P-256 key: {reason}")]
    KeyKind {
        /// The handle, as a `pkcs11:` URI.
        handle: String,
        /// What was found.
        reason: String,
    },
    /// A PKCS#11 call failed.
    #[error("PKCS#11 token `{label}`: {what} failed: {source}")]
    Call {
        /// The token's label.
        label: String,
        /// The operation, e.g. `signing`.
        what: &'static str,
        /// The library's error.
        source: cryptoki::error::Error,
    },
}

/// Result type of this crate.
pub type Result<T, E = HsmError> = std::result::Result<T, E>;
