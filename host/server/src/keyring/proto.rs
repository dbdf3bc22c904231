//! Conversions between the stored rotation state and the rotation state machine's.

use std::time::{Duration, SystemTime};

use portcullis_api::services::{Rotation as ProtoRotation, RotationSchedule};
use portcullis_ca::{Mode, Phase, Rotation, Schedule};

use crate::resources::to_system_time;

fn timestamp(t: SystemTime) -> prost_types::Timestamp {
    prost_types::Timestamp::from(t)
}

fn time(ts: Option<prost_types::Timestamp>) -> Option<SystemTime> {
    ts.and_then(to_system_time)
}

/// Reads a stored rotation state. Unknown names read as the defaults (standby, auto), so
/// an authority written by an older version stays usable.
pub fn from_proto(stored: Option<&ProtoRotation>) -> Rotation {
    let Some(r) = stored else {
        return Rotation::default();
    };
    let schedule = r.schedule.as_ref().and_then(|s| {
        Some(Schedule {
            update_clients: time(s.update_clients)?,
            update_servers: time(s.update_servers)?,
            standby: time(s.standby)?,
        })
    });
    Rotation {
        phase: r.phase.parse().unwrap_or(Phase::Standby),
        mode: r.mode.parse().unwrap_or(Mode::Auto),
        id: r.current_id.clone(),
        started: time(r.started),
        grace_period: Duration::from_nanos(u64::try_from(r.grace_period).unwrap_or(0)),
        last_rotated: time(r.last_rotated),
        schedule,
    }
}

/// The stored form of a rotation state.
pub fn to_proto(r: &Rotation) -> ProtoRotation {
    ProtoRotation {
        state: r.state().to_owned(),
        phase: r.phase.as_str().to_owned(),
        mode: r.mode.as_str().to_owned(),
        current_id: r.id.clone(),
        started: r.started.map(timestamp),
        grace_period: i64::try_from(r.grace_period.as_nanos()).unwrap_or(i64::MAX),
        last_rotated: r.last_rotated.map(timestamp),
        schedule: r.schedule.map(|s| RotationSchedule {
            update_clients: Some(timestamp(s.update_clients)),
            update_servers: Some(timestamp(s.update_servers)),
            standby: Some(timestamp(s.standby)),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let r = Rotation {
            phase: Phase::UpdateClients,
            mode: Mode::Auto,
            id: "abc".into(),
            started: Some(start),
            grace_period: Duration::from_secs(90),
            last_rotated: None,
            schedule: Some(Schedule::from_grace_period(start, Duration::from_secs(90))),
        };
        assert_eq!(from_proto(Some(&to_proto(&r))), r);
        assert_eq!(from_proto(None), Rotation::default());
    }
}
