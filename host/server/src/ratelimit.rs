//! Per-caller rate limits of the expensive RPCs: certificate issuance, joins, password checks
//! and policy module uploads. Each kind has its own quota (`rate_limits:` in the
//! configuration), kept per caller: the certificate's user (or host) name, or for joins,
//! which have no caller certificate, the source address. A caller over its quota is refused
//! at once, so one caller flooding an RPC cannot take the server's time from the others.
//!
//! Quotas refill continuously (a cell every `period / count`), and a caller idle for a
//! whole period may make `count` calls at once. They count wall time on the process's
//! monotonic clock, so clock jumps do not lift or tighten them.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// The kinds of calls that are limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    /// GenerateUserCerts, GenerateHostCerts, GenerateAppToken.
    CertIssuance,
    /// RegisterUsingToken (per source address).
    Joins,
    /// CheckPassword, SignIn, UpsertPassword, ChangePasswordWithToken.
    PasswordChecks,
    /// UpsertPolicyModule.
    PolicyUploads,
}

impl Limited {
    /// Every kind, in the order of [`RateLimitConfig`]'s fields.
    pub const ALL: [Limited; 4] = [
        Limited::CertIssuance,
        Limited::Joins,
        Limited::PasswordChecks,
        Limited::PolicyUploads,
    ];

    /// The setting that sets this kind's quota, e.g. `rate_limits.cert_issuance`.
    pub fn setting(self) -> &'static str {
        match self {
            Limited::CertIssuance => "rate_limits.cert_issuance",
            Limited::Joins => "rate_limits.joins",
            Limited::PasswordChecks => "rate_limits.password_checks",
            Limited::PolicyUploads => "rate_limits.policy_uploads",
        }
    }

    /// The position of this kind in [`Limited::ALL`].
    fn index(self) -> usize {
        self as usize
    }
}

/// A quota: at most `count` calls per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Calls allowed per period (and at once, after a period without calls).
    pub count: NonZeroU32,
    /// The period.
    pub period: Duration,
}

impl Rate {
    /// `count` calls per `period`; `None` if either is zero.
    pub fn new(count: u32, period: Duration) -> Option<Rate> {
        let count = NonZeroU32::new(count)?;
        (!period.is_zero()).then_some(Rate { count, period })
    }

    fn quota(self) -> Option<Quota> {
        Quota::with_period(self.period / self.count.get()).map(|q| q.allow_burst(self.count))
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} per {}",
            self.count,
            humantime::format_duration(self.period)
        )
    }
}

/// The quota of each kind; `None` turns a kind's limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Certificates issued per caller.
    pub cert_issuance: Option<Rate>,
    /// Joins per source address.
    pub joins: Option<Rate>,
    /// Password checks per caller.
    pub password_checks: Option<Rate>,
    /// Policy module uploads per caller.
    pub policy_uploads: Option<Rate>,
}

impl RateLimitConfig {
    /// No limits at all.
    pub const OFF: RateLimitConfig = RateLimitConfig {
        cert_issuance: None,
        joins: None,
        password_checks: None,
        policy_uploads: None,
    };

    /// The quota of `kind`.
    pub fn rate(&self, kind: Limited) -> Option<Rate> {
        match kind {
            Limited::CertIssuance => self.cert_issuance,
            Limited::Joins => self.joins,
            Limited::PasswordChecks => self.password_checks,
            Limited::PolicyUploads => self.policy_uploads,
        }
    }

    /// Sets the quota of `kind` (`None`: off).
    pub fn set(&mut self, kind: Limited, rate: Option<Rate>) {
        let slot = match kind {
            Limited::CertIssuance => &mut self.cert_issuance,
            Limited::Joins => &mut self.joins,
            Limited::PasswordChecks => &mut self.password_checks,
            Limited::PolicyUploads => &mut self.policy_uploads,
        };
        *slot = rate;
    }
}

impl Default for RateLimitConfig {
    /// Far above what one user, host or plugin needs, low enough that one caller cannot
    /// keep the server's cores busy: 200 certificates/s, 100 joins/s per address, 20
    /// password checks/s, 60 policy uploads per minute.
    fn default() -> Self {
        let per = |count, secs| Rate::new(count, Duration::from_secs(secs));
        RateLimitConfig {
            cert_issuance: per(200, 1),
            joins: per(100, 1),
            password_checks: per(20, 1),
            policy_uploads: per(60, 60),
        }
    }
}

/// A call refused by its quota.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "rate limit `{setting}` ({rate}) exceeded by `{who}`; retry in {retry_ms} ms",
    setting = kind.setting()
)]
pub struct RateLimited {
    /// What was limited.
    pub kind: Limited,
    /// Its quota.
    pub rate: Rate,
    /// The caller (or address) over it.
    pub who: String,
    /// When the next call would be allowed, in milliseconds from now.
    pub retry_ms: u128,
}

/// Checks after which quotas of callers idle long enough to be full again are forgotten.
const FORGET_EVERY: u64 = 4096;

/// The quotas of every caller.
pub struct RateLimits {
    config: RateLimitConfig,
    limiters: [Option<DefaultKeyedRateLimiter<String>>; 4],
    checks: AtomicU64,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits::new(RateLimitConfig::default())
    }
}

impl RateLimits {
    /// Quotas as `config` says.
    pub fn new(config: RateLimitConfig) -> Self {
        let limiter = |kind| {
            config
                .rate(kind)
                .and_then(Rate::quota)
                .map(DefaultKeyedRateLimiter::keyed)
        };
        RateLimits {
            config,
            limiters: Limited::ALL.map(limiter),
            checks: AtomicU64::new(0),
        }
    }

    /// The quotas in force.
    pub fn config(&self) -> RateLimitConfig {
        self.config
    }

    /// Takes one call of `kind` from `who`'s quota, or says when it may call again.
    pub fn check(&self, kind: Limited, who: &str) -> Result<(), RateLimited> {
        let (Some(limiter), Some(rate)) = (&self.limiters[kind.index()], self.config.rate(kind))
        else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % FORGET_EVERY == FORGET_EVERY - 1 {
            for limiter in self.limiters.iter().flatten() {
                limiter.retain_recent();
            }
        }
        limiter
            .check_key(&who.to_owned())
            .map_err(|not_until| RateLimited {
                kind,
                rate,
                who: who.to_owned(),
                retry_ms: not_until
                    .wait_time_from(DefaultClock::default().now())
                    .as_millis()
                    .max(1),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(kind: Limited, count: u32, period: Duration) -> RateLimits {
        let mut config = RateLimitConfig::OFF;
        config.set(kind, Rate::new(count, period));
        RateLimits::new(config)
    }

    #[test]
    fn a_caller_over_its_quota_is_refused_naming_the_setting() {
        let limits = limits(Limited::CertIssuance, 3, Duration::from_secs(3600));
        for _ in 0..3 {
            limits.check(Limited::CertIssuance, "alice").unwrap();
        }
        let refused = limits.check(Limited::CertIssuance, "alice").unwrap_err();
        assert_eq!(refused.kind, Limited::CertIssuance);
        assert!(refused.retry_ms > 0, "{refused:?}");
        let message = refused.to_string();
        assert!(
            message.contains("rate_limits.cert_issuance")
                && message.contains("3 per 1h")
                && message.contains("`alice`"),
            "{message}"
        );
    }

    #[test]
    fn quotas_are_per_caller_and_per_kind() {
        let limits = limits(Limited::PasswordChecks, 1, Duration::from_secs(3600));
        limits.check(Limited::PasswordChecks, "mallory").unwrap();
        assert!(limits.check(Limited::PasswordChecks, "mallory").is_err());
        // Another caller has its own quota; other kinds are not limited here.
        limits.check(Limited::PasswordChecks, "alice").unwrap();
        for _ in 0..100 {
            limits.check(Limited::CertIssuance, "mallory").unwrap();
        }
    }

    #[test]
    fn a_quota_refills_over_its_period() {
        let limits = limits(Limited::Joins, 2, Duration::from_millis(40));
        limits.check(Limited::Joins, "10.0.0.1").unwrap();
        limits.check(Limited::Joins, "10.0.0.1").unwrap();
        let refused = limits.check(Limited::Joins, "10.0.0.1").unwrap_err();
        assert!(refused.retry_ms <= 20, "{refused:?}");
        std::thread::sleep(Duration::from_millis(refused.retry_ms as u64 + 5));
        limits.check(Limited::Joins, "10.0.0.1").unwrap();
    }

    #[test]
    fn zero_is_not_a_rate() {
        assert_eq!(Rate::new(0, Duration::from_secs(1)), None);
        assert_eq!(Rate::new(1, Duration::ZERO), None);
    }
}
