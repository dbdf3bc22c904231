//! Password hashes and rules.
//!
//! Hashes are argon2id (RFC 9106) PHC strings with OWASP's first recommended parameters:
//! 19 MiB of memory, 2 passes, 1 lane, a 16-byte random salt and a 32-byte output. A
//! check verifies with the parameters the stored string names, so raising them later
//! keeps old hashes valid. Hashing runs on the blocking pool: it takes tens of
//! milliseconds of CPU by design.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use zeroize::Zeroizing;

use super::error::{Result, UserError};
use super::settings::{Settings, MAX_PASSWORD_BYTES};

/// Memory cost in KiB (19 MiB).
pub const MEMORY_KIB: u32 = 19 * 1024;
/// Passes over the memory.
pub const ITERATIONS: u32 = 2;
/// Lanes.
pub const PARALLELISM: u32 = 1;

/// A hash of no password, verified against when there is no stored hash so that a check
/// takes as long whether or not the user (or its password) exists.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$ZmFrZWhhc2hmYWtlaGFzaGZha2VoYXNoZmFrZWhhc2g";

fn hasher() -> Result<Argon2<'static>> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|e| UserError::Internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Checks `password` against the rules for user `user`: long enough, not too long, and
/// neither equal to the user name nor containing it (case-insensitive; containing is only
/// checked for names of three characters or more).
pub fn check_rules(settings: &Settings, user: &str, password: &str) -> Result<()> {
    let length = password.chars().count();
    if length < settings.min_password_length {
        return Err(UserError::WeakPassword(format!(
            "the password is too short: {length} characters, at least {} are required",
            settings.min_password_length
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(UserError::WeakPassword(format!(
            "the password is too long: at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    let (lower, name) = (password.to_lowercase(), user.to_lowercase());
    if lower == name || (name.chars().count() >= 3 && lower.contains(&name)) {
        return Err(UserError::WeakPassword(format!(
            "the password may not contain the user name `{user}`"
        )));
    }
    Ok(())
}

/// Hashes `password` (argon2id, random salt) into a PHC string.
pub async fn hash(password: &str) -> Result<String> {
    let password = Zeroizing::new(password.as_bytes().to_vec());
    blocking(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt)
            .map_err(|e| UserError::Internal(format!("password salt: {e}")))?;
        let hash = hasher()?
            .hash_password(&password, &salt)
            .map_err(|e| UserError::Internal(format!("password hashing failed: {e}")))?;
        Ok(hash.to_string())
    })
    .await
}

/// Whether `password` matches the PHC string `stored`; an empty `stored` (no password
/// set) never matches, after the same work as a real check.
pub async fn verify(stored: &str, password: &str) -> Result<bool> {
    let password = Zeroizing::new(password.as_bytes().to_vec());
    let (stored, real) = match stored {
        "" => (DUMMY_HASH.to_owned(), false),
        s => (s.to_owned(), true),
    };
    blocking(move || {
        let parsed = PasswordHash::new(&stored).map_err(|e| {
            UserError::Internal(format!("a stored password hash is malformed: {e}"))
        })?;
        let matches = Argon2::default()
            .verify_password(&password, &parsed)
            .is_ok();
        Ok(real && matches)
    })
    .await
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| UserError::Internal(format!("password hashing task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_name_what_is_wrong() {
        let settings = Settings::default();
        let short = check_rules(&settings, "alice", "short").unwrap_err();
        assert!(
            short
                .to_string()
                .contains("too short: 5 characters, at least 12"),
            "{short}"
        );
        let named = check_rules(&settings, "alice", "my-Alice-password").unwrap_err();
        assert!(named.to_string().contains("user name `alice`"), "{named}");
        let equal = check_rules(
            &Settings {
                min_password_length: 1,
                ..settings.clone()
            },
            "al",
            "AL",
        );
        assert!(equal.is_err());
        let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        assert!(check_rules(&settings, "alice", &long).is_err());
        check_rules(&settings, "al", "correct horse al battery").unwrap();
    }

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify() {
        let first = hash("correct horse battery").await.unwrap();
        let second = hash("correct horse battery").await.unwrap();
        assert!(
            first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{first}"
        );
        assert_ne!(first, second, "salts differ");
        assert!(verify(&first, "correct horse battery").await.unwrap());
        assert!(!verify(&first, "correct horse batterY").await.unwrap());
        assert!(!verify("", "anything at all").await.unwrap());
        assert!(verify("not a hash", "x").await.is_err());
    }
}
