//! Second factors: TOTP (RFC 6238) with SHA-1, 6 digits and 30-second steps, what every
//! authenticator app reads from an otpauth:// URL. A code of the previous or the next step
//! is accepted too (clock skew); the step of each accepted code is remembered so that a
//! code is never accepted twice.

use std::time::SystemTime;

use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

use super::error::{Result, UserError};

/// Seconds per time step.
pub const STEP_SECONDS: u64 = 30;
/// Digits of a code.
pub const DIGITS: usize = 6;
/// Bytes of a new secret (160 bits, as RFC 4226 recommends).
const SECRET_BYTES: usize = 20;

/// A new second factor for a user, as enrolment shows it.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// The secret, base32.
    pub key: String,
    /// The otpauth:// URL of the secret.
    pub url: String,
    /// The URL as a QR code (PNG).
    pub qr_png: Vec<u8>,
}

fn totp(key: &str, issuer: &str, account: &str) -> Result<TOTP> {
    let secret = Secret::Encoded(key.to_owned())
        .to_bytes()
        .map_err(|e| UserError::Internal(format!("a stored TOTP secret is malformed: {e:?}")))?;
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        1,
        STEP_SECONDS,
        secret,
        Some(issuer.to_owned()),
        account.to_owned(),
    )
    .map_err(|e| {
        UserError::Invalid(format!(
            "cannot make a TOTP second factor for `{account}`: {e}"
        ))
    })
}

/// A new random secret for user `account` of cluster `issuer`, with its URL and QR code.
pub fn enrol(issuer: &str, account: &str) -> Result<Enrolment> {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let key = Secret::Raw(bytes.to_vec()).to_encoded().to_string();
    let totp = totp(&key, issuer, account)?;
    let qr_png = totp
        .get_qr_png()
        .map_err(|e| UserError::Internal(format!("cannot draw the TOTP QR code: {e}")))?;
    Ok(Enrolment {
        url: totp.get_url(),
        key,
        qr_png,
    })
}

fn unix(now: SystemTime) -> u64 {
    now.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// The time step of `code` for the base32 secret `key` at `now` (the current step, or the
/// one before or after), or `None` if it matches none.
pub fn matching_step(key: &str, code: &str, now: SystemTime) -> Result<Option<i64>> {
    let totp = totp(key, "check", "check")?;
    let current = unix(now) / STEP_SECONDS;
    let mut found = None;
    for step in [current.saturating_sub(1), current, current + 1] {
        let expected = totp.generate(step * STEP_SECONDS);
        if bool::from(expected.as_bytes().ct_eq(code.trim().as_bytes())) {
            found = i64::try_from(step).ok();
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn enrolment_gives_a_url_a_png_and_codes_that_match_their_step() {
        let enrolment = enrol("example", "alice").unwrap();
        assert!(
            enrolment.url.starts_with("otpauth://totp/example:alice?"),
            "{}",
            enrolment.url
        );
        assert!(enrolment.url.contains(&format!("secret={}", enrolment.key)));
        assert_eq!(&enrolment.qr_png[..8], b"\x89PNG\r\n\x1a\n");
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_015);
        let totp = totp(&enrolment.key, "x", "y").unwrap();
        let step = 1_800_000_015 / 30;
        let code = totp.generate(1_800_000_015);
        assert_eq!(
            matching_step(&enrolment.key, &code, now).unwrap(),
            Some(step)
        );
        let previous = totp.generate(1_800_000_015 - 30);
        assert_eq!(
            matching_step(&enrolment.key, &previous, now).unwrap(),
            Some(step - 1)
        );
        let old = totp.generate(1_800_000_015 - 120);
        assert_eq!(matching_step(&enrolment.key, &old, now).unwrap(), None);
        assert_eq!(matching_step(&enrolment.key, "", now).unwrap(), None);
    }
}
