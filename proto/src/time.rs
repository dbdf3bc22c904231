//! Conversions between protobuf timestamps and system time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A protobuf timestamp as a system time; `None` before the epoch or out of range.
pub fn to_system_time(ts: prost_types::Timestamp) -> Option<SystemTime> {
    let secs = u64::try_from(ts.seconds).ok()?;
    let nanos = u32::try_from(ts.nanos).ok()?;
    UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
}

/// A system time as a protobuf timestamp.
pub fn to_timestamp(at: SystemTime) -> prost_types::Timestamp {
    prost_types::Timestamp::from(at)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn round_trip_and_pre_epoch() {
        let at = UNIX_EPOCH + Duration::new(1_700_000_000, 5);
        assert_eq!(to_system_time(to_timestamp(at)), Some(at));
        let before = prost_types::Timestamp {
            seconds: -1,
            nanos: 0,
        };
        assert_eq!(to_system_time(before), None);
    }
}
