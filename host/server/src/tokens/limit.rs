//! Failed joins per source address: after [`MAX_FAILURES`] failures within [`WINDOW`], an
//! address may not try again until the window ends. Only failures count, so many hosts
//! joining from one address (behind NAT, or a fleet being provisioned) are never slowed,
//! while guessing tokens is.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed joins an address may make per window.
pub const MAX_FAILURES: u32 = 10;

/// The window failures are counted in.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Addresses tracked before windows that have ended are forgotten.
const MAX_TRACKED: usize = 65_536;

/// Counts failed joins per address.
#[derive(Debug, Default)]
pub struct FailureLimiter {
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl FailureLimiter {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, (Instant, u32)>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Err(wait)` if `addr` has used up its failures: it may try again after `wait`.
    pub fn check(&self, addr: IpAddr, now: Instant) -> Result<(), Duration> {
        match self.lock().get(&addr) {
            Some((start, count)) if *count >= MAX_FAILURES && now < *start + WINDOW => {
                Err(*start + WINDOW - now)
            }
            _ => Ok(()),
        }
    }

    /// Counts a failed join from `addr`.
    pub fn failed(&self, addr: IpAddr, now: Instant) {
        let mut failures = self.lock();
        if failures.len() >= MAX_TRACKED {
            failures.retain(|_, (start, _)| now < *start + WINDOW);
        }
        let entry = failures.entry(addr).or_insert((now, 0));
        if now >= entry.0 + WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_block_an_address_until_the_window_ends() {
        let limiter = FailureLimiter::default();
        let (a, b): (IpAddr, IpAddr) = ("127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..MAX_FAILURES {
            assert!(limiter.check(a, t0).is_ok());
            limiter.failed(a, t0);
        }
        let wait = limiter.check(a, t0 + Duration::from_secs(1)).unwrap_err();
        assert_eq!(wait, WINDOW - Duration::from_secs(1));
        assert!(
            limiter.check(b, t0).is_ok(),
            "other addresses are not affected"
        );
        assert!(
            limiter.check(a, t0 + WINDOW).is_ok(),
            "a new window starts afresh"
        );
        limiter.failed(a, t0 + WINDOW);
        assert!(limiter.check(a, t0 + WINDOW).is_ok());
    }
}
