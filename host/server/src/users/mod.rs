//! Users: stored as given after normalization (header filled, name and roles checked), read
//! without their secrets unless the caller may read secrets, and with a lock that has
//! lifted shown as lifted.
//!
//! Credentials live apart from the user resource ([`credentials`]), so no read of users
//! returns them: passwords ([`password`], argon2id), second factors ([`totp`]), checks and
//! the lockout that failed checks lead to ([`check`], [`lockout`]), reset and invite tokens
//! ([`reset_tokens`]) and registered keys ([`keys`]). Deleting a user deletes all of these
//! and its web sessions.

pub mod check;
pub mod credentials;
mod error;
pub mod keys;
pub mod lockout;
pub mod password;
pub mod reset_tokens;
pub mod settings;
pub mod totp;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use portcullis_api::services::{RoleV3, UserV2};
use portcullis_store::Backend;

use crate::audit::AuditLog;
use crate::resources::validate::normalize_user;
use crate::resources::{Collection, Page, PageRequest, PageSize, ResourceError, WithoutSecrets};
use futures::{stream, Stream, TryStreamExt};

pub use error::{Result, UserError};
pub use settings::Settings;

/// Audit event of a password check or sign-in (`success`, `method`, `error`).
pub const USER_LOGIN: &str = "user.login";
/// Audit event of a user locked after too many failed checks.
pub const USER_LOCKED: &str = "user.locked";
/// Audit event of a lock lifted by an administrator.
pub const USER_UNLOCKED: &str = "user.unlocked";
/// Audit event of a password set (directly or with a token).
pub const USER_PASSWORD_CHANGE: &str = "user.password_change";
/// Audit event of a reset or invite token created.
pub const RESET_TOKEN_CREATE: &str = "reset_password_token.create";

/// What the credential workflows read and write.
#[derive(Clone, Copy)]
pub struct Accounts<'a> {
    /// The users.
    pub users: &'a Collection<UserV2>,
    /// The store (credentials, web sessions, tokens, keys).
    pub backend: &'a Arc<dyn Backend>,
    /// The audit log.
    pub audit: &'a AuditLog,
    /// Password, lockout and web session settings.
    pub settings: &'a Settings,
    /// The cluster name (issuer of second factors).
    pub cluster_name: &'a str,
}

/// Deletes user `name` with its credentials, web sessions, registered keys and reset
/// tokens.
pub async fn delete(accounts: &Accounts<'_>, name: &str) -> Result<()> {
    accounts.users.delete(name).await?;
    credentials::delete(accounts.backend, name).await?;
    crate::web_sessions::delete_all(accounts.backend, name).await?;
    keys::delete_all(accounts.backend, name).await?;
    reset_tokens::delete_for_user(accounts.backend, name).await?;
    Ok(())
}

/// The user `name`, with its secrets only if `with_secrets`.
pub async fn get(
    users: &Collection<UserV2>,
    name: &str,
    with_secrets: bool,
) -> Result<UserV2, ResourceError> {
    let user = users.get(name).await?.secrets_if(with_secrets);
    Ok(lockout::as_of(user, portcullis_clock::now()))
}

/// The stored user `name` as policy modules and `where` clauses see it (without secrets),
/// if there is one.
pub async fn policy_view(
    users: &Collection<UserV2>,
    name: &str,
) -> Result<Option<serde_json::Value>, ResourceError> {
    Ok(users.find(name).await?.and_then(policy_view_of))
}

/// `user` as policy modules and `where` clauses see it (without secrets).
pub fn policy_view_of(user: UserV2) -> Option<serde_json::Value> {
    serde_json::to_value(user.without_secrets()).ok()
}

/// The users `request` asks for, by name, with their secrets only if `with_secrets`.
pub async fn list(
    users: &Collection<UserV2>,
    with_secrets: bool,
    request: &PageRequest,
) -> Result<Page<UserV2>, ResourceError> {
    let page = users.page(request).await?;
    let now = portcullis_clock::now();
    Ok(page.map(|u| lockout::as_of(u.secrets_if(with_secrets), now)))
}

/// How many users one store read of [`stream`] fetches.
const STREAM_PAGE: usize = 500;

/// The users `request` asks for (all of them when unpaged: a stream never holds more than
/// a page), by name, read from the store a page at a time as the stream is consumed.
pub fn stream(
    users: Collection<UserV2>,
    with_secrets: bool,
    request: PageRequest,
) -> impl Stream<Item = Result<UserV2, ResourceError>> + Send + 'static {
    let left = match request.size {
        PageSize::Paged(size) => Some(size),
        PageSize::Unpaged { .. } => None,
    };
    let start = (request.start_after, left, false);
    stream::try_unfold(start, move |(after, left, done)| {
        let users = users.clone();
        async move {
            if done || left == Some(0) {
                return Ok::<_, ResourceError>(None);
            }
            let size = left.map_or(STREAM_PAGE, |left| left.min(STREAM_PAGE));
            let request = PageRequest {
                start_after: after,
                size: PageSize::Paged(size),
            };
            let page = list(&users, with_secrets, &request).await?;
            let left = left.map(|left| left.saturating_sub(page.items.len()));
            let done = page.next.is_none();
            Ok(Some((page.items, (page.next, left, done))))
        }
    })
    .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
    .try_flatten()
}

/// Creates `user` (refused if it exists, or if it names a role that does not exist).
pub async fn create(
    users: &Collection<UserV2>,
    roles: &Collection<RoleV3>,
    user: UserV2,
) -> Result<(), ResourceError> {
    users.create(&checked(roles, user).await?).await?;
    Ok(())
}

/// Replaces the existing user `user` names (compare-and-swap when `metadata.id` is set);
/// every role it names must exist.
pub async fn update(
    users: &Collection<UserV2>,
    roles: &Collection<RoleV3>,
    user: UserV2,
) -> Result<(), ResourceError> {
    users.update(&checked(roles, user).await?).await?;
    Ok(())
}

/// `user` normalized, without credentials, naming only roles that exist.
async fn checked(roles: &Collection<RoleV3>, mut user: UserV2) -> Result<UserV2, ResourceError> {
    normalize_user(&mut user)?;
    refuse_secrets(&user)?;
    check_roles(roles, &user).await?;
    Ok(user)
}

/// Refuses a user carrying credentials: they are set through passwords and tokens and kept
/// apart from the user, never stored in it.
fn refuse_secrets(user: &UserV2) -> Result<(), ResourceError> {
    if user.spec.as_ref().is_some_and(|s| s.local_auth.is_some()) {
        let name = user
            .metadata
            .as_ref()
            .map(|m| m.name.as_str())
            .unwrap_or("");
        return Err(ResourceError::invalid(format!(
            "user `{name}` carries local_auth secrets: passwords and second factors are not \
             part of the user resource; set them with UpsertPassword or a reset token \
             (pctl users reset {name})"
        )));
    }
    Ok(())
}

/// Refuses a user naming a role that is neither built in nor stored: its certificates
/// could not be issued.
async fn check_roles(roles: &Collection<RoleV3>, user: &UserV2) -> Result<(), ResourceError> {
    let named = user
        .spec
        .as_ref()
        .map(|s| s.roles.as_slice())
        .unwrap_or(&[]);
    for role in named {
        if portcullis_authz::builtin::role_named(role).is_none()
            && roles.find(role).await?.is_none()
        {
            let name = user
                .metadata
                .as_ref()
                .map(|m| m.name.as_str())
                .unwrap_or("");
            return Err(ResourceError::invalid(format!(
                "user `{name}` names role `{role}`, which does not exist: create the role first"
            )));
        }
    }
    Ok(())
}
