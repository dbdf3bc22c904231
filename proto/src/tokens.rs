//! Provisioning tokens as client and server both speak of them.

use std::time::Duration;

/// Lifetime of a generated token when none is asked for.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(30 * 60);

/// What a listing shows of a token value it may not reveal: a few leading characters.
pub fn redact(value: &str) -> String {
    let shown: String = value.chars().take((value.len() / 4).min(4)).collect();
    format!(
        "{shown}{}",
        "*".repeat(value.chars().count() - shown.chars().count())
    )
}
