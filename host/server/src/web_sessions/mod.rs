//! Web sessions: what signing in with a password opens, for the web front (a proxy) to
//! act for the user until the session expires.
//!
//! A session is a `web_session` resource (services.WebSessionV2) at
//! `/web_sessions/USER/ID` with the store's expiry, so it vanishes when it expires. It
//! records the user's roles at sign-in and the SHA-256 of its bearer token: the token itself
//! (32 random bytes, hex) is returned once, by [`create`], and never stored. Reads
//! ([`get`], [`list`]) never return the token nor its hash. Other domains check a session
//! a caller names with [`get`] (and its token with [`authenticate`]).

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use portcullis_api::services::{Metadata, UserV2, WebSessionSpecV2, WebSessionV2};
use portcullis_api::time::to_timestamp;
use portcullis_store::{Backend, Error as StoreError};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::resources::validate::validate_name;
use crate::resources::{paging, Collection, Page, PageRequest, Resource, ResourceError};

/// The resource kind of web sessions.
pub const KIND_WEB_SESSION: &str = "web_session";

/// Store key prefix of web sessions: `/web_sessions/USER/ID`.
pub const PREFIX: &str = "/web_sessions/";

/// Why a web session could not be opened, read or ended.
#[derive(Debug, thiserror::Error)]
pub enum WebSessionError {
    /// No such session (never opened, ended or expired).
    #[error("web session `{id}` of user `{user}` not found (it ended, expired or never existed)")]
    NotFound {
        /// The user.
        user: String,
        /// The session ID.
        id: String,
    },
    /// The user name or session ID is malformed.
    #[error("{0}")]
    Invalid(String),
    /// The store failed, or a record is corrupt.
    #[error(transparent)]
    Resource(#[from] ResourceError),
}

type Result<T, E = WebSessionError> = std::result::Result<T, E>;

impl Resource for WebSessionV2 {
    const KIND: &'static str = KIND_WEB_SESSION;
    const PREFIX: &'static str = PREFIX;
    fn metadata(&self) -> Option<&Metadata> {
        self.metadata.as_ref()
    }
    fn metadata_mut(&mut self) -> &mut Metadata {
        self.metadata.get_or_insert_with(Default::default)
    }
    /// `USER/ID`.
    fn key_suffix(&self) -> String {
        let user = self.spec.as_ref().map(|s| s.user.as_str()).unwrap_or("");
        format!("{user}/{}", self.name())
    }
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

fn check_names(user: &str, id: &str) -> Result<()> {
    validate_name("user", user).map_err(|e| WebSessionError::Invalid(e.to_string()))?;
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(WebSessionError::Invalid(format!(
            "`{id}` is not a web session ID (32 hexadecimal digits)"
        )));
    }
    Ok(())
}

/// The session without its bearer token and the token's hash.
fn without_bearer(mut session: WebSessionV2) -> WebSessionV2 {
    if let Some(spec) = session.spec.as_mut() {
        spec.bearer_token.clear();
        spec.bearer_token_hash.clear();
    }
    session
}

/// Opens a web session of `user` for `ttl` from `now`; the answer holds the bearer token,
/// which no later read returns.
pub async fn create(
    backend: &Arc<dyn Backend>,
    user: &UserV2,
    ttl: Duration,
    now: SystemTime,
) -> Result<WebSessionV2> {
    let spec = user.spec.clone().unwrap_or_default();
    let name = user.name().to_owned();
    let bearer = random_hex(32);
    let expires = Some(to_timestamp(now + ttl));
    let session = WebSessionV2 {
        kind: KIND_WEB_SESSION.to_owned(),
        version: "v2".to_owned(),
        metadata: Some(Metadata {
            name: random_hex(16),
            expires,
            ..Metadata::default()
        }),
        spec: Some(WebSessionSpecV2 {
            user: name,
            bearer_token_hash: Sha256::digest(bearer.as_bytes()).to_vec(),
            bearer_token_expires: expires,
            expires,
            roles: spec.roles,
            login_time: Some(to_timestamp(now)),
            ..WebSessionSpecV2::default()
        }),
        ..WebSessionV2::default()
    };
    let mut created = Collection::<WebSessionV2>::new(backend.clone())
        .create(&session)
        .await?;
    if let Some(spec) = created.spec.as_mut() {
        spec.bearer_token_hash.clear();
        spec.bearer_token = bearer;
    }
    Ok(created)
}

async fn stored(backend: &Arc<dyn Backend>, user: &str, id: &str) -> Result<WebSessionV2> {
    check_names(user, id)?;
    let sessions = Collection::<WebSessionV2>::new(backend.clone());
    sessions
        .find(&format!("{user}/{id}"))
        .await?
        .ok_or_else(|| WebSessionError::NotFound {
            user: user.to_owned(),
            id: id.to_owned(),
        })
}

/// The web session `id` of `user` (without bearer token).
pub async fn get(backend: &Arc<dyn Backend>, user: &str, id: &str) -> Result<WebSessionV2> {
    stored(backend, user, id).await.map(without_bearer)
}

/// The web session `id` of `user` if `bearer` is its bearer token (compared in constant
/// time); otherwise NotFound, as if there were no such session.
pub async fn authenticate(
    backend: &Arc<dyn Backend>,
    user: &str,
    id: &str,
    bearer: &str,
) -> Result<WebSessionV2> {
    let session = stored(backend, user, id).await?;
    let hash = Sha256::digest(bearer.as_bytes());
    let expected = session
        .spec
        .as_ref()
        .map(|s| s.bearer_token_hash.as_slice())
        .unwrap_or(&[]);
    if bool::from(hash.as_slice().ct_eq(expected)) {
        Ok(without_bearer(session))
    } else {
        Err(WebSessionError::NotFound {
            user: user.to_owned(),
            id: id.to_owned(),
        })
    }
}

/// The web sessions of `user` that `request` asks for, by ID (without bearer tokens).
pub async fn list(
    backend: &Arc<dyn Backend>,
    user: &str,
    request: &PageRequest,
) -> Result<Page<WebSessionV2>> {
    validate_name("user", user).map_err(|e| WebSessionError::Invalid(e.to_string()))?;
    let prefix = format!("{PREFIX}{user}/");
    Ok(
        paging::scan(&**backend, &prefix, KIND_WEB_SESSION, request, |item| {
            Ok::<_, ResourceError>(Some(without_bearer(Collection::<WebSessionV2>::decode(
                item,
            )?)))
        })
        .await?,
    )
}

/// Ends the web session `id` of `user`.
pub async fn delete(backend: &Arc<dyn Backend>, user: &str, id: &str) -> Result<()> {
    check_names(user, id)?;
    let key = format!("{PREFIX}{user}/{id}");
    match backend.delete(key.as_bytes()).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound { .. }) => Err(WebSessionError::NotFound {
            user: user.to_owned(),
            id: id.to_owned(),
        }),
        Err(e) => Err(ResourceError::Store(e).into()),
    }
}

/// Ends every web session of `user`; returns how many there were.
pub async fn delete_all(backend: &Arc<dyn Backend>, user: &str) -> Result<usize> {
    let mut deleted = 0;
    let mut request = PageRequest::first(paging::MAX_PAGE);
    loop {
        let page = list(backend, user, &request).await?;
        for session in &page.items {
            let key = format!("{PREFIX}{user}/{}", session.name());
            match backend.delete(key.as_bytes()).await {
                Ok(_) | Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(ResourceError::Store(e).into()),
            }
            deleted += 1;
        }
        match page.next {
            Some(next) => request.start_after = Some(next),
            None => return Ok(deleted),
        }
    }
}
