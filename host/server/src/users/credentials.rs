//! The stored credentials of a user, at `/user_secrets/NAME`, apart from the user resource
//! so that no read of users can return them: the argon2id hash of the password, the TOTP
//! secret and the last time step used, and the recent failed checks counting towards a
//! lockout. Every change is a compare-and-swap of the record.

use std::sync::Arc;

use portcullis_store::{Backend, Error as StoreError};
use prost::Message;

use super::error::{Result, UserError};
use crate::resources::ResourceError;

/// Store key prefix of credentials.
pub const PREFIX: &str = "/user_secrets/";

/// How many times a contended update is retried before giving up.
const MAX_RETRIES: usize = 64;

/// A user's credentials as stored.
#[derive(Clone, PartialEq, Message)]
pub struct Credentials {
    /// The password hash (PHC string, argon2id); empty when no password is set.
    #[prost(string, tag = "1")]
    pub password_hash: String,
    /// The TOTP secret, base32; empty when the user has no second factor.
    #[prost(string, tag = "2")]
    pub totp_key: String,
    /// The last TOTP time step accepted (a code is accepted once).
    #[prost(int64, tag = "3")]
    pub last_totp_step: i64,
    /// Failed checks (Unix seconds) that still count towards a lockout.
    #[prost(int64, repeated, tag = "4")]
    pub failures: Vec<i64>,
}

fn key(user: &str) -> Vec<u8> {
    format!("{PREFIX}{user}").into_bytes()
}

fn decode(user: &str, value: &[u8]) -> Result<Credentials> {
    Credentials::decode(value).map_err(|e| {
        UserError::Resource(ResourceError::Corrupt {
            kind: "user_secrets",
            key: format!("{PREFIX}{user}"),
            reason: e.to_string(),
        })
    })
}

/// The credentials of `user` (empty when none were ever set).
pub async fn read(backend: &Arc<dyn Backend>, user: &str) -> Result<Credentials> {
    match backend.get(&key(user)).await? {
        Some(item) => decode(user, &item.value),
        None => Ok(Credentials::default()),
    }
}

/// Applies `change` to the credentials of `user` and writes them if it returns `true`,
/// with compare-and-swap (`change` runs again on a concurrent write). Returns the
/// credentials as they now are.
pub async fn modify(
    backend: &Arc<dyn Backend>,
    user: &str,
    mut change: impl FnMut(&mut Credentials) -> bool,
) -> Result<Credentials> {
    let key = key(user);
    for _ in 0..MAX_RETRIES {
        let (mut value, revision) = match backend.get(&key).await? {
            Some(item) => (decode(user, &item.value)?, Some(item.revision)),
            None => (Credentials::default(), None),
        };
        if !change(&mut value) {
            return Ok(value);
        }
        let bytes = value.encode_to_vec();
        let written = match revision {
            Some(revision) => backend.compare_and_swap(&key, revision, bytes, None).await,
            None => backend.create(&key, bytes, None).await,
        };
        match written {
            Ok(_) => return Ok(value),
            Err(
                StoreError::RevisionMismatch { .. }
                | StoreError::AlreadyExists { .. }
                | StoreError::NotFound { .. },
            ) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(UserError::Internal(format!(
        "the credentials of `{user}` kept changing concurrently; try again"
    )))
}

/// Deletes the credentials of `user`, if any.
pub async fn delete(backend: &Arc<dyn Backend>, user: &str) -> Result<()> {
    match backend.delete(&key(user)).await {
        Ok(_) | Err(StoreError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
