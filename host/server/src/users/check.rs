//! Checking and setting passwords.
//!
//! A check reads the user (an unknown user fails like a wrong password, after the same
//! hashing work), refuses a locked user whatever the password, verifies the password and,
//! when the user has a second factor, its TOTP code, whose time step must be newer than the
//! last one accepted. A failure counts towards the lockout ([`super::lockout`]); a success
//! forgets the failures. Both are audited (`user.login`). Signing in is a check that
//! opens a web session ([`crate::web_sessions`]).

use std::time::SystemTime;

use portcullis_api::services::{UserV2, WebSessionV2};
use serde_json::json;

use super::error::{Result, UserError};
use super::{credentials, lockout, password, totp, Accounts, USER_LOGIN, USER_PASSWORD_CHANGE};

/// What a caller presents to prove it is a user.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    /// The user name.
    pub user: &'a str,
    /// The password.
    pub password: &'a str,
    /// The TOTP code (empty when none was given).
    pub otp_code: &'a str,
}

/// Checks `presented` at `now`; `method` (`check_password`, `sign_in`) is audited.
/// Returns the user on success.
pub async fn check_password(
    accounts: &Accounts<'_>,
    presented: Presented<'_>,
    method: &str,
    now: SystemTime,
) -> Result<UserV2> {
    let result = check(accounts, presented, now).await;
    let name = presented.user;
    match &result {
        Ok(_) => {
            let fields = json!({"success": true, "method": method});
            accounts.audit.emit(USER_LOGIN, name, fields).await;
        }
        Err(e) => {
            let fields = json!({"success": false, "method": method, "error": e.to_string()});
            accounts.audit.emit(USER_LOGIN, name, fields).await;
        }
    }
    result
}

async fn check(
    accounts: &Accounts<'_>,
    presented: Presented<'_>,
    now: SystemTime,
) -> Result<UserV2> {
    let name = presented.user;
    let Some(user) = accounts.users.find(name).await? else {
        password::verify("", presented.password).await?;
        return Err(UserError::BadCredentials);
    };
    if let Some(until) = lockout::locked_until(&user, now) {
        return Err(locked(name, until));
    }
    let stored = credentials::read(accounts.backend, name).await?;
    let has_totp = !stored.totp_key.is_empty();
    if has_totp && presented.otp_code.trim().is_empty() {
        return Err(UserError::OtpRequired(name.to_owned()));
    }
    let password_ok = password::verify(&stored.password_hash, presented.password).await?;
    let step = if has_totp {
        totp::matching_step(&stored.totp_key, presented.otp_code, now)?
    } else {
        None
    };
    if !password_ok || (has_totp && step.is_none()) {
        return Err(failure(accounts, name, UserError::BadCredentials, now).await);
    }
    let mut replayed = false;
    credentials::modify(accounts.backend, name, |c| {
        if let Some(step) = step {
            replayed = step <= c.last_totp_step;
            if replayed {
                return false;
            }
            c.last_totp_step = step;
        }
        let had = !c.failures.is_empty();
        c.failures.clear();
        step.is_some() || had
    })
    .await?;
    if replayed {
        return Err(failure(accounts, name, UserError::OtpReplayed, now).await);
    }
    Ok(user)
}

/// Checks `presented` like [`check_password`] (audited as `sign_in`) and opens a web
/// session for the user, lasting the configured time; the answer holds its bearer token.
pub async fn sign_in(
    accounts: &Accounts<'_>,
    presented: Presented<'_>,
    now: SystemTime,
) -> Result<WebSessionV2> {
    let user = check_password(accounts, presented, "sign_in", now).await?;
    let ttl = accounts.settings.web_session_ttl;
    Ok(crate::web_sessions::create(accounts.backend, &user, ttl, now).await?)
}

fn locked(name: &str, until: SystemTime) -> UserError {
    UserError::Locked {
        user: name.to_owned(),
        until: lockout::rfc3339(until),
    }
}

/// Counts a failure; the error to answer (a lock when this failure locked the user).
async fn failure(
    accounts: &Accounts<'_>,
    name: &str,
    error: UserError,
    now: SystemTime,
) -> UserError {
    match lockout::record_failure(accounts, name, now).await {
        Ok(Some(until)) => locked(name, until),
        Ok(None) => error,
        Err(e) => e,
    }
}

/// Sets the password of user `name` after checking the rules; the user's web sessions
/// end. With `totp`, the user's second factor becomes that secret (base32) and the step
/// given is taken as used. `by` is who asked, for the audit log.
pub async fn set_password(
    accounts: &Accounts<'_>,
    name: &str,
    new_password: &str,
    totp: Option<(&str, i64)>,
    by: &str,
) -> Result<()> {
    accounts.users.get(name).await?;
    password::check_rules(accounts.settings, name, new_password)?;
    let hash = password::hash(new_password).await?;
    credentials::modify(accounts.backend, name, |c| {
        c.password_hash = hash.clone();
        c.failures.clear();
        if let Some((key, step)) = totp {
            c.totp_key = key.to_owned();
            c.last_totp_step = step;
        }
        true
    })
    .await?;
    let ended = crate::web_sessions::delete_all(accounts.backend, name).await?;
    let fields = json!({"by": by, "totp": totp.is_some(), "web_sessions_ended": ended});
    accounts
        .audit
        .emit(USER_PASSWORD_CHANGE, name, fields)
        .await;
    Ok(())
}
