//! The `rate_limits:` section: per-caller quotas of the expensive RPCs, each written
//! `COUNT/PERIOD` (`200/s`, `60/1m`, `5/30s`) or `off`.

use serde::Deserialize;

use super::ConfigError;
use crate::ratelimit::{Limited, Rate, RateLimitConfig};

/// The `rate_limits:` section as written; an unset kind keeps its default.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitsSection {
    /// Certificates issued per caller (default `200/s`).
    pub cert_issuance: Option<String>,
    /// Joins per source address (default `100/s`).
    pub joins: Option<String>,
    /// Password checks per caller (default `20/s`).
    pub password_checks: Option<String>,
    /// Policy module uploads per caller (default `60/1m`).
    pub policy_uploads: Option<String>,
}

/// `COUNT/PERIOD` or `off` (`None`); the period may omit its number (`s` is `1s`).
fn parse_rate(text: &str) -> Result<Option<Rate>, String> {
    let text = text.trim();
    if text == "off" {
        return Ok(None);
    }
    let (count, period) = text
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not COUNT/PERIOD (e.g. `200/s`) or `off`"))?;
    let count: u32 = count
        .trim()
        .parse()
        .map_err(|e| format!("`{count}` in `{text}` is not a count of calls: {e}"))?;
    let period = period.trim();
    let period = if period.starts_with(|c: char| c.is_ascii_digit()) {
        period.to_owned()
    } else {
        format!("1{period}")
    };
    let period = humantime::parse_duration(&period)
        .map_err(|e| format!("`{period}` in `{text}` is not a period: {e}"))?;
    Rate::new(count, period)
        .map(Some)
        .ok_or_else(|| format!("`{text}`: the count and the period must be larger than zero (write `off` for no limit)"))
}

impl RateLimitsSection {
    /// The quotas, defaults filled in.
    pub fn resolve(self) -> Result<RateLimitConfig, ConfigError> {
        let mut config = RateLimitConfig::default();
        let written = [
            (Limited::CertIssuance, self.cert_issuance),
            (Limited::Joins, self.joins),
            (Limited::PasswordChecks, self.password_checks),
            (Limited::PolicyUploads, self.policy_uploads),
        ];
        for (kind, text) in written {
            let Some(text) = text else { continue };
            let rate = parse_rate(&text).map_err(|message| ConfigError::Invalid {
                field: kind.setting(),
                message,
            })?;
            config.set(kind, rate);
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::{FileConfig, Overrides};

    fn resolve(yaml: &str) -> Result<RateLimitConfig, ConfigError> {
        FileConfig::parse(yaml)
            .unwrap()
            .resolve(Overrides::default())
            .map(|c| c.rate_limits)
    }

    #[test]
    fn rates_are_count_per_period_or_off_with_defaults() {
        assert_eq!(resolve("").unwrap(), RateLimitConfig::default());
        let config =
            resolve("rate_limits:\n  cert_issuance: 5/30s\n  joins: off\n  password_checks: 3/m\n")
                .unwrap();
        assert_eq!(config.cert_issuance, Rate::new(5, Duration::from_secs(30)));
        assert_eq!(config.joins, None);
        assert_eq!(
            config.password_checks,
            Rate::new(3, Duration::from_secs(60))
        );
        assert_eq!(
            config.policy_uploads,
            RateLimitConfig::default().policy_uploads
        );
    }

    #[test]
    fn bad_rates_are_named() {
        for (text, says) in [
            ("ten/s", "is not a count"),
            ("5", "COUNT/PERIOD"),
            ("5/fortnight", "is not a period"),
            ("0/s", "larger than zero"),
        ] {
            let err = resolve(&format!("rate_limits:\n  policy_uploads: {text}\n")).unwrap_err();
            let message = err.to_string();
            assert!(
                message.contains("rate_limits.policy_uploads") && message.contains(says),
                "{text}: {message}"
            );
        }
    }
}
