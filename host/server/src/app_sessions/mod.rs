//! Application sessions: a user's browser session with one application behind the proxy
//! (`CreateAppSession`, `GetAppSession(s)`, `DeleteAppSession`, `DeleteAllAppSessions`).
//!
//! # Creating one
//!
//! Only the user themself creates their sessions, with a user certificate (an admin does
//! not mint sessions for others, a host not for anyone). The application is the one a live
//! application server announces with that public address, in this cluster (not found
//! otherwise); the caller's roles must grant its labels by `app_labels` (deny wins).
//!
//! The session (`services.WebSessionV2`, kind `app_session`, named by a random 128-bit hex
//! id) carries:
//! - `spec.tls_cert` and `spec.priv`: a TLS client certificate for a fresh key, with the
//!   caller's identity plus the route to the app (session id, public address, cluster name;
//!   see `portcullis_ca::RouteToApp`), and that key (PEM);
//! - `spec.bearer_token`: a JWT of the cluster's JWT authority for the application's URI
//!   (what `GenerateAppToken` signs), which the application verifies;
//! - `spec.expires` (= `bearer_token_expires`, = the store expiry, = the certificate's
//!   notAfter): the caller's certificate expiry, at most the default user certificate
//!   lifetime capped by the roles' `max_session_ttl`. An expired session is gone from every
//!   read.
//!
//! The store record (`/app_sessions/ID`) is an [`AppSessionRecord`]: the session plus the
//! web session it derives from (`ParentSession`, recorded as given) and the application it
//! routes to.
//!
//! # Reading and removing
//!
//! A user reads and removes their own sessions; callers whose roles allow it on
//! `app_session` (admins) those of everyone. The secrets (`priv`, `bearer_token`) are shown
//! to the session's owner only ([`redacted_for`]).

mod error;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use portcullis_api::services::{Metadata, RoleV3, WebSessionSpecV2, WebSessionV2};
use portcullis_authz::access::{check, Target};
use portcullis_ca::{Identity, RouteToApp};
use portcullis_store::{Backend, Error as StoreError, Item};
use rand::Rng;

pub use error::AppSessionError;

use crate::issuance::{app, user, IssueError};
use crate::keyring::KeyRing;
use crate::presence::{services, Registry, ServerKind};
use crate::resources::kinds::{APP_SESSIONS_PREFIX, KIND_APP_SESSION};
use crate::resources::validate::{validate_name, DEFAULT_NAMESPACE};
use crate::resources::{paging, Page, PageRequest, ResourceError};
use crate::web_sessions::WebSessionError;

/// What the store holds for one application session.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AppSessionRecord {
    /// The session as the API returns it.
    #[prost(message, optional, tag = "1")]
    pub session: Option<WebSessionV2>,
    /// The web session it derives from, as the request named it.
    #[prost(string, tag = "2")]
    pub parent_session: String,
    /// The application's public address.
    #[prost(string, tag = "3")]
    pub public_addr: String,
    /// The cluster the application runs in.
    #[prost(string, tag = "4")]
    pub cluster_name: String,
}

/// What `CreateAppSession` asks for.
#[derive(Debug, Clone, Default)]
pub struct NewAppSession {
    /// The user (empty: the caller).
    pub username: String,
    /// The web session it derives from.
    pub parent_session: String,
    /// The application's public address.
    pub public_addr: String,
    /// The cluster of the application (empty: this one).
    pub cluster_name: String,
}

/// What creating a session uses: the store, the signers and this cluster's name.
pub struct AppSessions<'a> {
    /// The store (applications, web sessions and app sessions).
    pub backend: &'a Arc<dyn Backend>,
    /// The authorities signing the certificate and the token.
    pub keyring: &'a KeyRing,
    /// This cluster's name.
    pub cluster_name: &'a str,
}

fn key(id: &str) -> Vec<u8> {
    format!("{APP_SESSIONS_PREFIX}{id}").into_bytes()
}

fn not_found(id: &str) -> AppSessionError {
    AppSessionError::NotFound(format!("app session `{id}` not found (or it has expired)"))
}

fn decode(item: &Item) -> Result<WebSessionV2, AppSessionError> {
    let record: AppSessionRecord =
        prost::Message::decode(item.value.as_slice()).map_err(|e: prost::DecodeError| {
            ResourceError::Corrupt {
                kind: KIND_APP_SESSION,
                key: String::from_utf8_lossy(&item.key).into_owned(),
                reason: e.to_string(),
            }
        })?;
    let mut session = record.session.unwrap_or_default();
    session.metadata.get_or_insert_with(Default::default).id =
        i64::try_from(item.revision).unwrap_or(i64::MAX);
    Ok(session)
}

/// The user owning `session`.
pub fn owner(session: &WebSessionV2) -> &str {
    session.spec.as_ref().map_or("", |s| s.user.as_str())
}

/// `session` as `caller` may see it: whole for its owner, without the private key and the
/// bearer token for anyone else.
pub fn redacted_for(mut session: WebSessionV2, caller: &str) -> WebSessionV2 {
    if owner(&session) != caller {
        if let Some(spec) = session.spec.as_mut() {
            spec.r#priv.clear();
            spec.bearer_token.clear();
        }
    }
    session
}

/// Checks a session id a request names.
pub fn check_id(id: &str) -> Result<(), AppSessionError> {
    validate_name(KIND_APP_SESSION, id).map_err(|e| AppSessionError::Invalid(e.to_string()))
}

impl AppSessions<'_> {
    /// Creates a session of `caller` (holding `roles`) for `request`, at `now`.
    pub async fn create(
        &self,
        caller: &Identity,
        roles: &[RoleV3],
        request: NewAppSession,
        now: SystemTime,
    ) -> Result<WebSessionV2, AppSessionError> {
        let username = if request.username.is_empty() {
            caller.username.clone()
        } else {
            request.username
        };
        if !caller.system_roles.is_empty() || username != caller.username {
            return Err(AppSessionError::Denied(format!(
                "`{}` may not create an app session for `{username}`: a user creates their \
                 own app sessions, with their own certificate",
                caller.username
            )));
        }
        if !request.parent_session.is_empty() {
            // The web session it derives from must be the user's and still open.
            crate::web_sessions::get(self.backend, &username, &request.parent_session)
                .await
                .map_err(|e| match e {
                    WebSessionError::Invalid(reason) => {
                        AppSessionError::Invalid(format!("parent session: {reason}"))
                    }
                    WebSessionError::NotFound { .. } => {
                        AppSessionError::NotFound(format!("parent session: {e}"))
                    }
                    WebSessionError::Resource(e) => AppSessionError::Resource(e),
                })?;
        }
        let cluster_name = match request.cluster_name.as_str() {
            "" => self.cluster_name.to_owned(),
            name if name == self.cluster_name => name.to_owned(),
            other => {
                return Err(AppSessionError::NotFound(format!(
                    "cluster `{other}`: only applications of this cluster (`{}`) are served",
                    self.cluster_name
                )))
            }
        };
        let public_addr = request.public_addr;
        if public_addr.is_empty() {
            return Err(AppSessionError::Invalid(
                "PublicAddr is required (the public address of the application)".into(),
            ));
        }
        let servers = Registry::new(&**self.backend, ServerKind::App)
            .list(DEFAULT_NAMESPACE, &BTreeMap::new())
            .await?;
        let (_, app) = services::find_app(&servers, &public_addr).ok_or_else(|| {
            AppSessionError::NotFound(format!(
                "no registered application has the public address `{public_addr}`"
            ))
        })?;
        let access = check(
            roles,
            &caller.traits,
            Target::App,
            &services::app_labels(app),
            None,
        );
        if !access.allowed {
            return Err(AppSessionError::Denied(format!(
                "`{username}` may not access app `{}` ({public_addr}): {}",
                app.name, access.reason
            )));
        }

        // Whole seconds from the current second, as the certificate's notAfter: every
        // expiry of the session agrees.
        let ttl = Duration::from_secs(lifetime(caller, roles, now)?.as_secs());
        let second = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let expires = SystemTime::UNIX_EPOCH + Duration::from_secs(second) + ttl;
        let id = hex::encode(rand::rng().random::<[u8; 16]>());
        let mut identity = caller.clone();
        identity.expires = None;
        identity.kubernetes_cluster.clear();
        identity.route_to_app = Some(RouteToApp {
            session_id: id.clone(),
            public_addr: public_addr.clone(),
            cluster_name: cluster_name.clone(),
        });
        let signers = self.keyring.current().map_err(IssueError::from)?;
        let issued = signers
            .user
            .tls
            .issue_client_cert(&identity, None, now, ttl)
            .map_err(IssueError::from)?;
        let token = app::issue(
            self.keyring,
            self.cluster_name,
            app::AppTokenParams {
                username: username.clone(),
                roles: caller.roles.clone(),
                uri: app.uri.clone(),
                expires: Some(expires),
            },
            now,
        )?;
        let session = WebSessionV2 {
            kind: KIND_APP_SESSION.to_owned(),
            sub_kind: String::new(),
            version: "v2".to_owned(),
            metadata: Some(Metadata {
                name: id.clone(),
                namespace: DEFAULT_NAMESPACE.to_owned(),
                expires: Some(expires.into()),
                ..Metadata::default()
            }),
            spec: Some(WebSessionSpecV2 {
                user: username,
                r#pub: Vec::new(),
                r#priv: issued
                    .key_pem
                    .map(|k| k.as_bytes().to_vec())
                    .unwrap_or_default(),
                tls_cert: issued.cert_pem.into_bytes(),
                bearer_token: token,
                bearer_token_expires: Some(expires.into()),
                expires: Some(expires.into()),
                roles: caller.roles.clone(),
                login_time: Some(now.into()),
                ..WebSessionSpecV2::default()
            }),
        };
        let record = AppSessionRecord {
            session: Some(session),
            parent_session: request.parent_session,
            public_addr,
            cluster_name,
        };
        let value = prost::Message::encode_to_vec(&record);
        let item = self
            .backend
            .create(&key(&id), value, Some(expires))
            .await
            .map_err(ResourceError::Store)?;
        decode(&item)
    }
}

/// How long a session of `caller` lasts: until its certificate expires, at most the default
/// user certificate lifetime capped by the roles' `max_session_ttl`.
fn lifetime(
    caller: &Identity,
    roles: &[RoleV3],
    now: SystemTime,
) -> Result<Duration, AppSessionError> {
    let mut ttl = user::ttl(roles, None, now)?;
    if let Some(at) = caller.expires {
        ttl = ttl.min(at.duration_since(now).unwrap_or_default());
    }
    if ttl < Duration::from_secs(1) {
        return Err(AppSessionError::Denied(
            "the caller's certificate expires within a second: renew it first".into(),
        ));
    }
    Ok(ttl)
}

/// The live session `id`.
pub async fn get(backend: &dyn Backend, id: &str) -> Result<WebSessionV2, AppSessionError> {
    check_id(id)?;
    let item = backend
        .get(&key(id))
        .await
        .map_err(ResourceError::Store)?
        .ok_or_else(|| not_found(id))?;
    decode(&item)
}

/// The live sessions `request` asks for, of `user` only when given, ordered by id (the
/// filter by user applies as the store is read, see [`crate::resources::paging`]).
pub async fn list(
    backend: &dyn Backend,
    user: Option<&str>,
    request: &PageRequest,
) -> Result<Page<WebSessionV2>, AppSessionError> {
    paging::scan(
        backend,
        APP_SESSIONS_PREFIX,
        KIND_APP_SESSION,
        request,
        |item| {
            let session = decode(item)?;
            Ok(user
                .is_none_or(|user| owner(&session) == user)
                .then_some(session))
        },
    )
    .await
}

/// Removes session `id`.
pub async fn delete(backend: &dyn Backend, id: &str) -> Result<(), AppSessionError> {
    check_id(id)?;
    match backend.delete(&key(id)).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound { .. }) => Err(not_found(id)),
        Err(e) => Err(ResourceError::Store(e).into()),
    }
}

/// Removes every live session, of `user` only when given; returns how many.
pub async fn delete_all(
    backend: &dyn Backend,
    user: Option<&str>,
) -> Result<usize, AppSessionError> {
    let mut deleted = 0;
    let mut request = PageRequest::first(paging::MAX_PAGE);
    loop {
        let page = list(backend, user, &request).await?;
        for session in page.items {
            let id = session.metadata.map(|m| m.name).unwrap_or_default();
            match backend.delete(&key(&id)).await {
                Ok(_) => deleted += 1,
                // Expired or removed meanwhile.
                Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(ResourceError::Store(e).into()),
            }
        }
        match page.next {
            Some(next) => request.start_after = Some(next),
            None => return Ok(deleted),
        }
    }
}
