//! Password and lockout settings: the `users:` section of the configuration file.

use std::time::Duration;

/// Shortest password accepted by default, in characters.
pub const DEFAULT_MIN_PASSWORD_LENGTH: usize = 12;
/// Failed checks within [`DEFAULT_ATTEMPT_WINDOW`] that lock a user, by default.
pub const DEFAULT_MAX_LOGIN_ATTEMPTS: u32 = 5;
/// How far back failed checks count, by default.
pub const DEFAULT_ATTEMPT_WINDOW: Duration = Duration::from_secs(30 * 60);
/// How long a lock lasts, by default.
pub const DEFAULT_LOCKOUT: Duration = Duration::from_secs(30 * 60);
/// How long a web session lasts, by default.
pub const DEFAULT_WEB_SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Longest password accepted, in bytes (bounds the work of hashing).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// How passwords, lockouts and web sessions behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Shortest password accepted, in characters.
    pub min_password_length: usize,
    /// Failed checks within `attempt_window` that lock the user.
    pub max_login_attempts: u32,
    /// How far back failed checks count.
    pub attempt_window: Duration,
    /// How long a lock lasts.
    pub lockout: Duration,
    /// How long a web session lasts.
    pub web_session_ttl: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            min_password_length: DEFAULT_MIN_PASSWORD_LENGTH,
            max_login_attempts: DEFAULT_MAX_LOGIN_ATTEMPTS,
            attempt_window: DEFAULT_ATTEMPT_WINDOW,
            lockout: DEFAULT_LOCKOUT,
            web_session_ttl: DEFAULT_WEB_SESSION_TTL,
        }
    }
}
