//! Checks of what semaphore requests name: kinds and names (they become parts of a store
//! key), the maximum, the expiry (bounded), holders and lease ids.

use std::time::{Duration, SystemTime};

use super::{Result, SemaphoreError};
use crate::resources::to_system_time;

/// Longest a lease may live from its acquisition or last keep-alive (one hour); later
/// expiries are cut to it, so a holder that dies without cancelling frees its slot within
/// the hour at the latest.
pub const MAX_LEASE_TTL: Duration = Duration::from_secs(60 * 60);

/// Most leases a semaphore may allow: every lease lives in the semaphore's one record, which
/// each acquisition rewrites.
pub const MAX_LEASES: i64 = 4096;

/// Longest kind, name, holder or lease id, in bytes.
const MAX_LEN: usize = 255;

/// Checks a semaphore kind or name (`field` names it in the message): required, at most 255
/// bytes, no `/`, whitespace or control characters, not `.` or `..`.
pub fn part(field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(SemaphoreError::invalid(format!("{field} is required")));
    }
    let bad = |why: String| SemaphoreError::invalid(format!("{field} `{value}` {why}"));
    if value.len() > MAX_LEN {
        return Err(bad(format!("is longer than {MAX_LEN} bytes")));
    }
    if value == "." || value == ".." {
        return Err(bad("is reserved".into()));
    }
    if let Some(c) = value
        .chars()
        .find(|c| *c == '/' || c.is_whitespace() || c.is_control())
    {
        return Err(bad(format!(
            "has the character {c:?}, which is not allowed"
        )));
    }
    Ok(())
}

/// Checks a part of a filter: empty (matches everything) or a valid [`part`].
pub fn filter_part(field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        Ok(())
    } else {
        part(field, value)
    }
}

/// Checks the most leases a request allows: at least 1, at most [`MAX_LEASES`].
pub fn max_leases(max: i64) -> Result<()> {
    if max < 1 {
        return Err(SemaphoreError::invalid(format!(
            "MaxLeases `{max}` must be at least 1"
        )));
    }
    if max > MAX_LEASES {
        return Err(SemaphoreError::invalid(format!(
            "MaxLeases `{max}` is more than the {MAX_LEASES} a semaphore may allow"
        )));
    }
    Ok(())
}

/// Checks a holder (optional): at most 255 bytes, no control characters.
pub fn holder(holder: &str) -> Result<()> {
    if holder.len() > MAX_LEN {
        return Err(SemaphoreError::invalid(format!(
            "Holder `{holder}` is longer than {MAX_LEN} bytes"
        )));
    }
    if let Some(c) = holder.chars().find(|c| c.is_control()) {
        return Err(SemaphoreError::invalid(format!(
            "Holder `{}` has the character {c:?}, which is not allowed",
            holder.escape_debug()
        )));
    }
    Ok(())
}

/// Checks a lease id: required, at most 255 bytes.
pub fn lease_id(id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(SemaphoreError::invalid("LeaseID is required"));
    }
    if id.len() > MAX_LEN {
        return Err(SemaphoreError::invalid(format!(
            "LeaseID `{id}` is longer than {MAX_LEN} bytes"
        )));
    }
    Ok(())
}

/// When a lease asking for `requested` expires: required and in the future, cut to
/// [`MAX_LEASE_TTL`] from `now`.
pub fn expiry(requested: Option<prost_types::Timestamp>, now: SystemTime) -> Result<SystemTime> {
    let requested = match requested {
        Some(ts) if ts.seconds != 0 || ts.nanos != 0 => ts,
        _ => return Err(SemaphoreError::invalid("Expires is required")),
    };
    let at = to_system_time(requested).ok_or_else(|| {
        SemaphoreError::invalid(format!("Expires `{requested}` is not a valid time"))
    })?;
    if at <= now {
        return Err(SemaphoreError::invalid(format!(
            "Expires `{}` is not in the future",
            humantime::format_rfc3339_millis(at)
        )));
    }
    Ok(at.min(now + MAX_LEASE_TTL))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_checked_naming_the_field() {
        part("SemaphoreName", "alice@example.com").unwrap();
        let e = part("SemaphoreKind", "").unwrap_err().to_string();
        assert_eq!(e, "SemaphoreKind is required");
        let e = part("SemaphoreName", "a/b").unwrap_err().to_string();
        assert_eq!(
            e,
            "SemaphoreName `a/b` has the character '/', which is not allowed"
        );
        let e = part("SemaphoreName", "..").unwrap_err().to_string();
        assert!(e.contains("reserved"), "{e}");
        let e = part("SemaphoreName", &"x".repeat(256))
            .unwrap_err()
            .to_string();
        assert!(e.contains("longer than 255 bytes"), "{e}");
        filter_part("SemaphoreKind", "").unwrap();
        assert!(filter_part("SemaphoreKind", "a b").is_err());
    }

    #[test]
    fn maxima_holders_and_lease_ids() {
        max_leases(1).unwrap();
        max_leases(MAX_LEASES).unwrap();
        let e = max_leases(0).unwrap_err().to_string();
        assert_eq!(e, "MaxLeases `0` must be at least 1");
        assert!(max_leases(-3).is_err() && max_leases(MAX_LEASES + 1).is_err());
        holder("").unwrap();
        holder("node-1").unwrap();
        assert!(holder("a\nb").unwrap_err().to_string().contains("\\n"));
        assert!(lease_id("").is_err());
        lease_id("0d5c").unwrap();
    }

    #[test]
    fn expiries_are_required_future_and_bounded() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let ts = |at: SystemTime| Some(prost_types::Timestamp::from(at));
        let soon = now + Duration::from_secs(30);
        assert_eq!(expiry(ts(soon), now).unwrap(), soon);
        let far = now + Duration::from_secs(24 * 3600);
        assert_eq!(expiry(ts(far), now).unwrap(), now + MAX_LEASE_TTL);
        let e = expiry(None, now).unwrap_err().to_string();
        assert_eq!(e, "Expires is required");
        let e = expiry(ts(now), now).unwrap_err().to_string();
        assert!(e.contains("is not in the future"), "{e}");
    }
}
