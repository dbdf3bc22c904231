//! Reset and invite tokens: how a user gets (or gets back) a password without an
//! administrator ever knowing it.
//!
//! An administrator creates a token for an existing user (`invite` for a new user,
//! `reset` for one who lost their password); a `reset` token also removes the user's
//! password, second factor and web sessions at once, so the account can only be used
//! again through the token. A token lives 8 hours by default, at most 48, in the store
//! (`/reset_password_tokens/ID`, with the store's expiry); its ID is 128 random bits and
//! is what the user is given. A user has at most one token: a new one replaces the old.
//!
//! With the token, the web front may ask for a TOTP secret ([`rotate_secrets`]: an
//! otpauth:// URL and its QR code), then [`change_password`] sets the password (and the
//! second factor, proven by a code of that secret) once: the token is consumed by a
//! compare-and-delete, so a second use finds nothing.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use portcullis_api::services::{
    Metadata, ResetPasswordTokenSecretsSpecV3, ResetPasswordTokenSecretsV3,
    ResetPasswordTokenSpecV3, ResetPasswordTokenV3,
};
use portcullis_api::time::to_timestamp;
use portcullis_store::{Backend, Error as StoreError};
use serde_json::json;

use super::error::{Result, UserError};
use super::{check, credentials, totp, Accounts, RESET_TOKEN_CREATE};
use crate::resources::validate::requested_ttl;
use crate::resources::{to_system_time, Collection, Resource};

/// RBAC resource kind of reset and invite tokens.
pub const KIND_RESET_PASSWORD_TOKEN: &str = "reset_password_token";
/// Lifetime of a token when none is asked for.
pub const DEFAULT_TTL: Duration = Duration::from_secs(8 * 3600);
/// Longest lifetime of a token.
pub const MAX_TTL: Duration = Duration::from_secs(48 * 3600);
/// Token type for a user who lost their password.
pub const TYPE_RESET: &str = "reset";
/// Token type for a new user.
pub const TYPE_INVITE: &str = "invite";

impl Resource for ResetPasswordTokenV3 {
    const KIND: &'static str = KIND_RESET_PASSWORD_TOKEN;
    const PREFIX: &'static str = "/reset_password_tokens/";
    fn metadata(&self) -> Option<&Metadata> {
        self.metadata.as_ref()
    }
    fn metadata_mut(&mut self) -> &mut Metadata {
        self.metadata.get_or_insert_with(Default::default)
    }
}

impl Resource for ResetPasswordTokenSecretsV3 {
    const KIND: &'static str = "reset_password_token_secrets";
    const PREFIX: &'static str = "/reset_password_token_secrets/";
    fn metadata(&self) -> Option<&Metadata> {
        self.metadata.as_ref()
    }
    fn metadata_mut(&mut self) -> &mut Metadata {
        self.metadata.get_or_insert_with(Default::default)
    }
}

fn tokens(backend: &Arc<dyn Backend>) -> Collection<ResetPasswordTokenV3> {
    Collection::new(backend.clone())
}

fn secrets(backend: &Arc<dyn Backend>) -> Collection<ResetPasswordTokenSecretsV3> {
    Collection::new(backend.clone())
}

/// Creates a token of `kind` (`reset` or `invite`) for user `name`, living `ttl_nanos`
/// ([`DEFAULT_TTL`] for 0, at most [`MAX_TTL`]); `by` is who asked, for the audit log.
pub async fn create(
    accounts: &Accounts<'_>,
    name: &str,
    kind: &str,
    ttl_nanos: i64,
    by: &str,
    now: SystemTime,
) -> Result<ResetPasswordTokenV3> {
    let kind = match kind {
        "" | TYPE_RESET => TYPE_RESET,
        TYPE_INVITE => TYPE_INVITE,
        other => {
            return Err(UserError::Invalid(format!(
                "unknown reset password token type `{other}`: `reset` or `invite`"
            )))
        }
    };
    let ttl = requested_ttl("reset password token TTL", ttl_nanos, DEFAULT_TTL, MAX_TTL)?;
    accounts.users.get(name).await?;
    delete_for_user(accounts.backend, name).await?;
    if kind == TYPE_RESET {
        credentials::modify(accounts.backend, name, |c| {
            let had = !c.password_hash.is_empty() || !c.totp_key.is_empty();
            c.password_hash.clear();
            c.totp_key.clear();
            had
        })
        .await?;
        crate::web_sessions::delete_all(accounts.backend, name).await?;
    }
    let token = ResetPasswordTokenV3 {
        kind: "user_token".to_owned(),
        sub_kind: kind.to_owned(),
        version: "v3".to_owned(),
        metadata: Some(Metadata {
            name: crate::tokens::random_value(),
            expires: Some(to_timestamp(now + ttl)),
            ..Metadata::default()
        }),
        spec: Some(ResetPasswordTokenSpecV3 {
            user: name.to_owned(),
            url: String::new(),
            created: Some(to_timestamp(now)),
        }),
    };
    let created = tokens(accounts.backend).create(&token).await?;
    let fields =
        json!({"type": kind, "by": by, "ttl": humantime::format_duration(ttl).to_string()});
    accounts.audit.emit(RESET_TOKEN_CREATE, name, fields).await;
    Ok(created)
}

/// The live token `id` at `now`.
pub async fn get(
    backend: &Arc<dyn Backend>,
    id: &str,
    now: SystemTime,
) -> Result<ResetPasswordTokenV3> {
    if id.is_empty() || id.contains('/') {
        return Err(UserError::TokenNotFound);
    }
    let token = tokens(backend)
        .find(id)
        .await?
        .ok_or(UserError::TokenNotFound)?;
    let expired = token
        .metadata
        .as_ref()
        .and_then(|m| m.expires)
        .and_then(to_system_time)
        .is_some_and(|at| at <= now);
    if expired {
        return Err(UserError::TokenNotFound);
    }
    Ok(token)
}

fn user_of(token: &ResetPasswordTokenV3) -> &str {
    token.spec.as_ref().map(|s| s.user.as_str()).unwrap_or("")
}

/// Gives token `id` a new TOTP secret (replacing any earlier one): the secret, its
/// otpauth:// URL and QR code (PNG, and base64 in `QRCode`).
pub async fn rotate_secrets(
    accounts: &Accounts<'_>,
    id: &str,
    now: SystemTime,
) -> Result<ResetPasswordTokenSecretsV3> {
    let token = get(accounts.backend, id, now).await?;
    let enrolment = totp::enrol(accounts.cluster_name, user_of(&token))?;
    let expires = token.metadata.as_ref().and_then(|m| m.expires);
    let stored = ResetPasswordTokenSecretsV3 {
        kind: "user_token_secrets".to_owned(),
        version: "v3".to_owned(),
        metadata: Some(Metadata {
            name: id.to_owned(),
            expires,
            ..Metadata::default()
        }),
        spec: Some(ResetPasswordTokenSecretsSpecV3 {
            otp_key: enrolment.key,
            qr_code: base64::engine::general_purpose::STANDARD.encode(&enrolment.qr_png),
            created: Some(to_timestamp(now)),
            otp_auth_url: enrolment.url,
            qr_code_png: enrolment.qr_png,
        }),
        ..ResetPasswordTokenSecretsV3::default()
    };
    Ok(secrets(accounts.backend).upsert(&stored).await?)
}

/// Sets the password of token `id`'s user (and, if the token has secrets, its second
/// factor, which `otp_code` must prove) and consumes the token. The password rules are
/// checked before anything changes; a lock the user was under is lifted.
pub async fn change_password(
    accounts: &Accounts<'_>,
    id: &str,
    new_password: &str,
    otp_code: &str,
    now: SystemTime,
) -> Result<String> {
    let token = get(accounts.backend, id, now).await?;
    let name = user_of(&token).to_owned();
    super::password::check_rules(accounts.settings, &name, new_password)?;
    let enrolled = secrets(accounts.backend).find(id).await?;
    let otp = match enrolled.as_ref().and_then(|s| s.spec.as_ref()) {
        None => None,
        Some(spec) => {
            if otp_code.trim().is_empty() {
                return Err(UserError::OtpRequired(name));
            }
            let step = totp::matching_step(&spec.otp_key, otp_code, now)?
                .ok_or(UserError::BadCredentials)?;
            Some((spec.otp_key.as_str(), step))
        }
    };
    let revision = token.metadata.as_ref().map(|m| m.id).unwrap_or_default();
    let key = format!("{}{id}", ResetPasswordTokenV3::PREFIX);
    match accounts
        .backend
        .delete_if(key.as_bytes(), u64::try_from(revision).unwrap_or_default())
        .await
    {
        Ok(_) => {}
        Err(StoreError::NotFound { .. } | StoreError::RevisionMismatch { .. }) => {
            return Err(UserError::TokenNotFound)
        }
        Err(e) => return Err(e.into()),
    }
    if enrolled.is_some() {
        if let Err(e) = secrets(accounts.backend).delete(id).await {
            // It expires with the token anyway.
            tracing::warn!(error = %e, "cannot delete the secrets of a used reset password token");
        }
    }
    check::set_password(accounts, &name, new_password, otp, "reset_password_token").await?;
    super::lockout::unlock(accounts, &name, "reset_password_token").await?;
    Ok(name)
}

/// Deletes every token (and its secrets) of user `name`.
pub async fn delete_for_user(backend: &Arc<dyn Backend>, name: &str) -> Result<()> {
    for token in tokens(backend).list().await? {
        if user_of(&token) == name {
            let id = token.name().to_owned();
            for key in [
                format!("{}{id}", ResetPasswordTokenV3::PREFIX),
                format!("{}{id}", ResetPasswordTokenSecretsV3::PREFIX),
            ] {
                match backend.delete(key.as_bytes()).await {
                    Ok(_) | Err(StoreError::NotFound { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Ok(())
}
