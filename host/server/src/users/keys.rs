//! Registered user keys (the early Auth Server's authorized keys): OpenSSH public keys a
//! user registers for a while, each signed by the user certificate authority when
//! registered. Stored at `/user_keys/USER/ID` with the store's expiry at the certificate's
//! expiry; the ID is the SHA-256 (hex) of the key unless the caller names one.

use std::sync::Arc;
use std::time::SystemTime;

use portcullis_api::auth::UserKey;
use portcullis_api::time::to_timestamp;
use portcullis_store::{Backend, Error as StoreError};
use prost::Message;
use sha2::{Digest, Sha256};

use super::error::{Result, UserError};
use crate::issuance::user::{self, UserCerts, UserIssuer, DEFAULT_USER_TTL, MAX_USER_TTL};
use crate::resources::validate::{requested_ttl, validate_name};
use crate::resources::ResourceError;

/// Store key prefix of registered keys: `/user_keys/USER/ID`.
pub const PREFIX: &str = "/user_keys/";

fn key(user: &str, id: &str) -> Vec<u8> {
    format!("{PREFIX}{user}/{id}").into_bytes()
}

/// The default ID of an `authorized_keys` line: SHA-256 (hex) of its type and key fields.
fn default_id(line: &str) -> String {
    let fields: Vec<&str> = line.split_whitespace().take(2).collect();
    hex::encode(Sha256::digest(fields.join(" ").as_bytes()))
}

/// Registers `key` for `user` (replacing a key with the same ID) and signs it; the key
/// lives as long as its certificate (`ttl_nanos`: 12 hours for 0, at most 30).
pub async fn upsert(
    issuer: &UserIssuer<'_>,
    backend: &Arc<dyn Backend>,
    name: &str,
    mut key_to_add: UserKey,
    ttl_nanos: i64,
    now: SystemTime,
) -> Result<(UserKey, UserCerts)> {
    validate_name("user", name)?;
    let ttl = requested_ttl("key TTL", ttl_nanos, DEFAULT_USER_TTL, MAX_USER_TTL)?;
    let line = std::str::from_utf8(&key_to_add.value)
        .map_err(|_| {
            UserError::Invalid("the key is not UTF-8 text (an authorized_keys line)".into())
        })?
        .trim()
        .to_owned();
    if !line.starts_with("ssh-") && !line.starts_with("ecdsa-") {
        return Err(UserError::Invalid(
            "the key must be one OpenSSH authorized_keys line (e.g. `ssh-ed25519 AAAA... comment`)"
                .into(),
        ));
    }
    if key_to_add.id.is_empty() {
        key_to_add.id = default_id(&line);
    }
    validate_name("user key", &key_to_add.id)?;
    let params = user::UserCertsParams {
        username: name.to_owned(),
        public_key: line.clone().into_bytes(),
        expires: Some(now + ttl),
        ..user::UserCertsParams::default()
    };
    let certs = user::issue(issuer, &params, now).await?;
    key_to_add.value = line.into_bytes();
    key_to_add.expires = Some(to_timestamp(certs.expires));
    backend
        .put(
            &key(name, &key_to_add.id),
            key_to_add.encode_to_vec(),
            Some(certs.expires),
        )
        .await?;
    Ok((key_to_add, certs))
}

/// The keys registered for `user`, by ID.
pub async fn list(backend: &Arc<dyn Backend>, name: &str) -> Result<Vec<UserKey>> {
    validate_name("user", name)?;
    let prefix = format!("{PREFIX}{name}/");
    let mut out = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = backend
            .range(prefix.as_bytes(), after.as_deref(), 500)
            .await?;
        for item in &page.items {
            let key =
                UserKey::decode(item.value.as_slice()).map_err(|e| ResourceError::Corrupt {
                    kind: "user_key",
                    key: String::from_utf8_lossy(&item.key).into_owned(),
                    reason: e.to_string(),
                })?;
            out.push(key);
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(out),
        }
    }
}

/// Removes the key `id` of `user`.
pub async fn delete(backend: &Arc<dyn Backend>, name: &str, id: &str) -> Result<()> {
    validate_name("user", name)?;
    validate_name("user key", id)?;
    match backend.delete(&key(name, id)).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound { .. }) => Err(ResourceError::NotFound {
            kind: "user_key",
            name: format!("{name}/{id}"),
        }
        .into()),
        Err(e) => Err(e.into()),
    }
}

/// Removes every key of `user`.
pub async fn delete_all(backend: &Arc<dyn Backend>, name: &str) -> Result<()> {
    for registered in list(backend, name).await? {
        match backend.delete(&key(name, &registered.id)).await {
            Ok(_) | Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
