//! Brute-force protection: failed checks are counted per user (in its credentials) over a
//! sliding window; reaching the limit locks the user for a while. The lock is the user's
//! `Status` (`IsLocked`, `LockExpires`), written with compare-and-swap so that concurrent
//! failures and admin edits are never lost, and shown by every read of the user. An
//! administrator lifts it early with [`unlock`].

use std::time::{Duration, SystemTime};

use portcullis_api::services::{LoginStatus, UserV2};
use portcullis_api::time::{to_system_time, to_timestamp};
use serde_json::json;

use super::credentials;
use super::error::{Result, UserError};
use super::{Accounts, USER_LOCKED, USER_UNLOCKED};
use crate::resources::ResourceError;

/// How many times a contended lock write is retried.
const MAX_RETRIES: usize = 64;

/// When the lock of `user` lifts, if it holds at `now`.
pub fn locked_until(user: &UserV2, now: SystemTime) -> Option<SystemTime> {
    let status = user.spec.as_ref()?.status.as_ref()?;
    if !status.is_locked {
        return None;
    }
    let until = status.lock_expires.and_then(to_system_time)?;
    (until > now).then_some(until)
}

/// `user` as a read at `now` shows it: a lock that has lifted is not shown as held.
pub fn as_of(mut user: UserV2, now: SystemTime) -> UserV2 {
    if locked_until(&user, now).is_none() {
        if let Some(status) = user.spec.as_mut().and_then(|s| s.status.as_mut()) {
            if status.is_locked {
                *status = LoginStatus::default();
            }
        }
    }
    user
}

/// RFC 3339 text of `at`, for messages.
pub fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

fn unix(at: SystemTime) -> i64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// Counts a failed check of `name` at `now`; locks the user when this failure reaches the
/// limit. Returns when the new lock lifts, if this failure locked the user.
pub async fn record_failure(
    accounts: &Accounts<'_>,
    name: &str,
    now: SystemTime,
) -> Result<Option<SystemTime>> {
    let settings = accounts.settings;
    let (at, since) = (unix(now), unix(now) - secs(settings.attempt_window));
    let limit = usize::try_from(settings.max_login_attempts).unwrap_or(usize::MAX);
    let mut locks = false;
    credentials::modify(accounts.backend, name, |c| {
        c.failures.retain(|t| *t > since);
        c.failures.push(at);
        locks = c.failures.len() >= limit;
        if locks {
            c.failures.clear();
        }
        true
    })
    .await?;
    if !locks {
        return Ok(None);
    }
    let until = now + settings.lockout;
    let status = LoginStatus {
        is_locked: true,
        locked_message: format!(
            "{} failed password checks within {}",
            settings.max_login_attempts,
            humantime::format_duration(settings.attempt_window)
        ),
        locked_time: Some(to_timestamp(now)),
        lock_expires: Some(to_timestamp(until)),
    };
    set_status(accounts, name, status).await?;
    let fields = json!({"until": rfc3339(until), "failures": settings.max_login_attempts});
    accounts.audit.emit(USER_LOCKED, name, fields).await;
    Ok(Some(until))
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Forgets the failed checks of `name` (after a successful check), if there are any.
pub async fn clear_failures(accounts: &Accounts<'_>, name: &str) -> Result<()> {
    credentials::modify(accounts.backend, name, |c| {
        let had = !c.failures.is_empty();
        c.failures.clear();
        had
    })
    .await?;
    Ok(())
}

/// Lifts the lock of user `name` (if any) and forgets its failed checks; `by` is who
/// asked, for the audit log.
pub async fn unlock(accounts: &Accounts<'_>, name: &str, by: &str) -> Result<()> {
    let lifted = set_status(accounts, name, LoginStatus::default()).await?;
    clear_failures(accounts, name).await?;
    if lifted {
        let fields = json!({"by": by});
        accounts.audit.emit(USER_UNLOCKED, name, fields).await;
    }
    Ok(())
}

/// Writes the status of user `name` with compare-and-swap, retried on concurrent writes;
/// whether it changed.
async fn set_status(accounts: &Accounts<'_>, name: &str, status: LoginStatus) -> Result<bool> {
    for _ in 0..MAX_RETRIES {
        let mut user = accounts.users.get(name).await?;
        let spec = user.spec.get_or_insert_with(Default::default);
        if spec.status.clone().unwrap_or_default() == status {
            return Ok(false);
        }
        spec.status = Some(status.clone());
        match accounts.users.update(&user).await {
            Ok(_) => return Ok(true),
            Err(ResourceError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(UserError::Internal(format!(
        "user `{name}` kept changing concurrently; try again"
    )))
}
