//! Application tokens: a JWT signed by the cluster's JWT authority that an application
//! behind the proxy verifies (GenerateAppToken).

use std::time::{Duration, SystemTime};

use portcullis_ca::AppTokenClaims;

use super::{lifetime_until, user::MAX_USER_TTL, IssueError};
use crate::keyring::KeyRing;

/// Lifetime of application tokens when the request names none.
pub const DEFAULT_APP_TOKEN_TTL: Duration = Duration::from_secs(3600);

/// What an application token says.
#[derive(Debug, Clone, Default)]
pub struct AppTokenParams {
    /// The user the token is for.
    pub username: String,
    /// The user's roles.
    pub roles: Vec<String>,
    /// The application's URI (the audience).
    pub uri: String,
    /// When it expires (default: [`DEFAULT_APP_TOKEN_TTL`] from now; at most as long as a
    /// user certificate).
    pub expires: Option<SystemTime>,
}

/// Signs an application token of cluster `cluster_name` with `keyring`'s JWT authority.
pub fn issue(
    keyring: &KeyRing,
    cluster_name: &str,
    params: AppTokenParams,
    now: SystemTime,
) -> Result<String, IssueError> {
    if params.username.is_empty() || params.uri.is_empty() {
        return Err(IssueError::Invalid(
            "an application token needs a user name and the application's URI".into(),
        ));
    }
    let ttl = match params.expires {
        None => DEFAULT_APP_TOKEN_TTL,
        Some(at) => lifetime_until(at, now)?.min(MAX_USER_TTL),
    };
    let claims = AppTokenClaims {
        username: params.username,
        roles: params.roles,
        uri: params.uri,
        issuer: cluster_name.to_owned(),
    };
    let keyring = keyring.current()?;
    let token = keyring
        .jwt
        .active
        .sign_app_token(&claims, now, ttl)
        .map_err(IssueError::Sign)?;
    Ok(token)
}
