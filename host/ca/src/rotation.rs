//! The certificate authority rotation state machine.
//!
//! A rotation replaces an authority's keys without a moment in which a correctly updated
//! client or server is refused. It walks through phases:
//!
//! | phase            | signs with | trusted          | what participants do                  |
//! |------------------|------------|------------------|---------------------------------------|
//! | `standby`        | current    | current          | nothing is happening                  |
//! | `init`           | old        | old + new        | new keys exist; everyone learns them  |
//! | `update_clients` | new        | new + old        | clients fetch certificates from new   |
//! | `update_servers` | new        | new + old        | servers switch to certificates of new |
//! | `standby`        | new        | new              | the old keys are gone                 |
//! | `rollback`       | old        | old + new        | back to the old keys; new still trusted |
//!
//! Only these moves are allowed: standby -> init -> update_clients -> update_servers ->
//! standby, rollback from init, update_clients or update_servers, and rollback -> standby.
//! In automatic mode the phases after `init` are scheduled at a third, two thirds and the end
//! of the grace period (or at the times of a custom schedule); [`due`] says which move is due.
//!
//! This module only decides: [`plan`] returns the next state and the [`KeyChange`] the caller
//! applies to the stored key sets, in the same compare-and-swap write.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

/// Default grace period of a rotation: how long clients and servers have to update.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(30 * 3600);

/// A rotation phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    /// No rotation is running.
    #[default]
    Standby,
    /// New keys exist and are trusted; the old ones still sign.
    Init,
    /// The new keys sign; clients update their certificates.
    UpdateClients,
    /// Servers switch to certificates signed by the new keys.
    UpdateServers,
    /// The old keys sign again; the new ones stay trusted until standby.
    Rollback,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; 5] = [
        Phase::Standby,
        Phase::Init,
        Phase::UpdateClients,
        Phase::UpdateServers,
        Phase::Rollback,
    ];

    /// The phase's name as stored and typed (`update_clients`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Standby => "standby",
            Phase::Init => "init",
            Phase::UpdateClients => "update_clients",
            Phase::UpdateServers => "update_servers",
            Phase::Rollback => "rollback",
        }
    }

    /// The phase that normally follows this one, if any.
    fn next(self) -> Option<Phase> {
        match self {
            Phase::Standby => Some(Phase::Init),
            Phase::Init => Some(Phase::UpdateClients),
            Phase::UpdateClients => Some(Phase::UpdateServers),
            Phase::UpdateServers | Phase::Rollback => Some(Phase::Standby),
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Phase {
    type Err = RotationError;

    fn from_str(s: &str) -> Result<Self, RotationError> {
        if s.is_empty() {
            return Ok(Phase::Standby);
        }
        Phase::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| RotationError::UnknownPhase(s.to_owned()))
    }
}

/// Whether phases advance by themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Phases advance on a schedule (the default).
    #[default]
    Auto,
    /// Phases advance when an operator asks.
    Manual,
}

impl Mode {
    /// The mode's name (`auto` or `manual`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::Manual => "manual",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = RotationError;

    fn from_str(s: &str) -> Result<Self, RotationError> {
        match s {
            "auto" | "" => Ok(Mode::Auto),
            "manual" => Ok(Mode::Manual),
            other => Err(RotationError::UnknownMode(other.to_owned())),
        }
    }
}

/// When each phase of an automatic rotation starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Start of `update_clients`.
    pub update_clients: SystemTime,
    /// Start of `update_servers`.
    pub update_servers: SystemTime,
    /// Return to `standby`.
    pub standby: SystemTime,
}

impl Schedule {
    /// The default schedule: a third, two thirds and all of `grace` after `start`.
    pub fn from_grace_period(start: SystemTime, grace: Duration) -> Self {
        Self {
            update_clients: start + grace / 3,
            update_servers: start + grace * 2 / 3,
            standby: start + grace,
        }
    }

    fn check(&self, now: SystemTime) -> Result<(), RotationError> {
        if self.update_clients < now {
            return Err(RotationError::BadSchedule(
                "update_clients is in the past".into(),
            ));
        }
        if self.update_servers <= self.update_clients || self.standby <= self.update_servers {
            return Err(RotationError::BadSchedule(
                "the times must increase: update_clients < update_servers < standby".into(),
            ));
        }
        Ok(())
    }

    /// The time the given phase starts, for the phases a schedule names.
    pub fn start_of(&self, phase: Phase) -> Option<SystemTime> {
        match phase {
            Phase::UpdateClients => Some(self.update_clients),
            Phase::UpdateServers => Some(self.update_servers),
            Phase::Standby => Some(self.standby),
            Phase::Init | Phase::Rollback => None,
        }
    }
}

/// The rotation state of one authority.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rotation {
    /// Current phase.
    pub phase: Phase,
    /// Mode of the running (or last) rotation.
    pub mode: Mode,
    /// Identifier of the running (or last) rotation.
    pub id: String,
    /// When the running rotation started.
    pub started: Option<SystemTime>,
    /// Grace period of the running rotation.
    pub grace_period: Duration,
    /// When the last rotation ended.
    pub last_rotated: Option<SystemTime>,
    /// Schedule of an automatic rotation.
    pub schedule: Option<Schedule>,
}

impl Rotation {
    /// Whether a rotation is running (`in_progress`) or not (`standby`).
    pub fn state(&self) -> &'static str {
        if self.phase == Phase::Standby {
            "standby"
        } else {
            "in_progress"
        }
    }
}

/// What an operator asks for.
#[derive(Debug, Clone, Default)]
pub struct RotateRequest {
    /// Automatic or manual.
    pub mode: Mode,
    /// The phase to move to. Starting a rotation may leave it unset (it goes to `init`);
    /// a manual move must name it.
    pub target_phase: Option<Phase>,
    /// Grace period; unset means [`DEFAULT_GRACE_PERIOD`].
    pub grace_period: Option<Duration>,
    /// Custom schedule for an automatic rotation.
    pub schedule: Option<Schedule>,
}

/// How the stored keys change with a move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyChange {
    /// Keys stay as they are.
    None,
    /// Generate new keys and trust them beside the active ones (standby -> init).
    AddNewKeys,
    /// The trusted-only keys become active and the active ones trusted-only
    /// (init -> update_clients, and rollback from update_clients or update_servers).
    Swap,
    /// Forget the trusted-only keys (back to standby).
    DropAdditional,
}

/// A planned move: the next state and what happens to the keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The state after the move.
    pub next: Rotation,
    /// The change to apply to the key sets.
    pub keys: KeyChange,
}

/// Why a rotation request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RotationError {
    /// The phase name is unknown.
    #[error(
        "unknown rotation phase `{0}` (known: standby, init, update_clients, update_servers, rollback)"
    )]
    UnknownPhase(String),
    /// The mode name is unknown.
    #[error("unknown rotation mode `{0}` (known: auto, manual)")]
    UnknownMode(String),
    /// The move is not one of the allowed transitions.
    #[error("cannot move a rotation from {from} to {to}: {hint}")]
    BadTransition {
        /// Current phase.
        from: Phase,
        /// Requested phase.
        to: Phase,
        /// What would be allowed instead.
        hint: String,
    },
    /// A custom schedule is unusable.
    #[error("invalid rotation schedule: {0}")]
    BadSchedule(String),
    /// The grace period is unusable.
    #[error("invalid grace period: {0}")]
    BadGracePeriod(String),
}

fn allowed_from(phase: Phase) -> String {
    match phase {
        Phase::Standby => "from standby a rotation can only start (init)".into(),
        Phase::Init => "from init the next phase is update_clients (or rollback)".into(),
        Phase::UpdateClients => {
            "from update_clients the next phase is update_servers (or rollback)".into()
        }
        Phase::UpdateServers => {
            "from update_servers the next phase is standby (or rollback)".into()
        }
        Phase::Rollback => "from rollback the only way is back to standby".into(),
    }
}

/// Plans the move `request` asks for from `current`. `new_id` identifies the rotation if
/// this move starts one.
pub fn plan(
    current: &Rotation,
    request: &RotateRequest,
    new_id: &str,
    now: SystemTime,
) -> Result<Transition, RotationError> {
    let from = current.phase;
    let to = match request.target_phase {
        Some(to) => to,
        None if from == Phase::Standby => Phase::Init,
        None if request.mode == Mode::Manual => {
            return Err(RotationError::BadTransition {
                from,
                to: from,
                hint: format!("a manual move must name its phase; {}", allowed_from(from)),
            })
        }
        None => {
            return Err(RotationError::BadTransition {
                from,
                to: Phase::Init,
                hint: format!(
                    "a rotation is already in progress (mode {}); {}",
                    current.mode,
                    allowed_from(from)
                ),
            })
        }
    };
    let legal = to == from.next().unwrap_or(Phase::Standby)
        || (to == Phase::Rollback
            && matches!(
                from,
                Phase::Init | Phase::UpdateClients | Phase::UpdateServers
            ));
    if !legal {
        return Err(RotationError::BadTransition {
            from,
            to,
            hint: allowed_from(from),
        });
    }
    let mut next = current.clone();
    next.phase = to;
    let keys = match (from, to) {
        (Phase::Standby, Phase::Init) => {
            let grace = request.grace_period.unwrap_or(DEFAULT_GRACE_PERIOD);
            if grace.is_zero() {
                return Err(RotationError::BadGracePeriod("it must be positive".into()));
            }
            next.mode = request.mode;
            next.id = new_id.to_owned();
            next.started = Some(now);
            next.grace_period = grace;
            next.schedule = match request.mode {
                Mode::Manual => None,
                Mode::Auto => {
                    let schedule = request
                        .schedule
                        .unwrap_or_else(|| Schedule::from_grace_period(now, grace));
                    schedule.check(now)?;
                    Some(schedule)
                }
            };
            KeyChange::AddNewKeys
        }
        (Phase::Init, Phase::UpdateClients) => KeyChange::Swap,
        (Phase::UpdateClients, Phase::UpdateServers) => KeyChange::None,
        (Phase::Init, Phase::Rollback) => KeyChange::None,
        (Phase::UpdateClients | Phase::UpdateServers, Phase::Rollback) => KeyChange::Swap,
        (_, Phase::Standby) => KeyChange::DropAdditional,
        _ => KeyChange::None,
    };
    if from != Phase::Standby && request.mode == Mode::Manual {
        // An operator taking a phase by hand stops the automatic schedule.
        next.mode = Mode::Manual;
        next.schedule = None;
    }
    if to == Phase::Rollback {
        next.mode = Mode::Manual;
        next.schedule = None;
    }
    if to == Phase::Standby {
        next.last_rotated = Some(now);
        next.schedule = None;
    }
    Ok(Transition { next, keys })
}

/// The move an automatic rotation should make at `now`, if one is due. Moves one phase at a
/// time: a server that was down past several scheduled times catches up over several calls.
pub fn due(current: &Rotation, now: SystemTime) -> Option<Phase> {
    if current.mode != Mode::Auto {
        return None;
    }
    let schedule = current.schedule.as_ref()?;
    let next = match current.phase {
        Phase::Init | Phase::UpdateClients | Phase::UpdateServers => current.phase.next()?,
        Phase::Standby | Phase::Rollback => return None,
    };
    let at = schedule.start_of(next)?;
    (at <= now).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
    }

    fn manual(to: Phase) -> RotateRequest {
        RotateRequest {
            mode: Mode::Manual,
            target_phase: Some(to),
            ..Default::default()
        }
    }

    #[test]
    fn a_full_manual_rotation() {
        let mut state = Rotation::default();
        let steps = [
            (Phase::Init, KeyChange::AddNewKeys),
            (Phase::UpdateClients, KeyChange::Swap),
            (Phase::UpdateServers, KeyChange::None),
            (Phase::Standby, KeyChange::DropAdditional),
        ];
        for (i, (phase, keys)) in steps.into_iter().enumerate() {
            let tr = plan(&state, &manual(phase), "r1", t(i as u64)).unwrap();
            assert_eq!(tr.keys, keys, "moving to {phase}");
            assert_eq!(tr.next.phase, phase);
            state = tr.next;
        }
        assert_eq!(state.id, "r1");
        assert_eq!(state.started, Some(t(0)));
        assert_eq!(state.last_rotated, Some(t(3)));
        assert_eq!(state.state(), "standby");
    }

    #[test]
    fn illegal_moves_are_refused_with_the_allowed_ones() {
        let standby = Rotation::default();
        for to in [Phase::UpdateClients, Phase::UpdateServers, Phase::Rollback] {
            let err = plan(&standby, &manual(to), "r", t(0)).unwrap_err();
            assert!(err.to_string().contains("can only start"), "{err}");
        }
        let err = plan(&standby, &manual(Phase::Standby), "r", t(0)).unwrap_err();
        assert!(matches!(err, RotationError::BadTransition { .. }));
        let init = plan(&standby, &manual(Phase::Init), "r", t(0))
            .unwrap()
            .next;
        let err = plan(&init, &manual(Phase::UpdateServers), "r", t(1)).unwrap_err();
        assert!(
            err.to_string().contains("next phase is update_clients"),
            "{err}"
        );
        let err = plan(&init, &manual(Phase::Init), "r", t(1)).unwrap_err();
        assert!(matches!(err, RotationError::BadTransition { .. }));
        // Starting again while one runs.
        let again = RotateRequest::default();
        let err = plan(&init, &again, "r2", t(1)).unwrap_err();
        assert!(err.to_string().contains("already in progress"), "{err}");
        let rollback = plan(&init, &manual(Phase::Rollback), "r", t(1))
            .unwrap()
            .next;
        let err = plan(&rollback, &manual(Phase::UpdateClients), "r", t(2)).unwrap_err();
        assert!(err.to_string().contains("back to standby"), "{err}");
    }

    #[test]
    fn rollback_restores_old_keys_from_every_phase() {
        let mut state = Rotation::default();
        for (phase, expected) in [
            (Phase::Init, KeyChange::None),
            (Phase::UpdateClients, KeyChange::Swap),
            (Phase::UpdateServers, KeyChange::Swap),
        ] {
            state = plan(&state, &manual(phase), "r", t(0)).unwrap().next;
            let tr = plan(&state, &manual(Phase::Rollback), "r", t(1)).unwrap();
            assert_eq!(tr.keys, expected, "rollback from {phase}");
            let back = plan(&tr.next, &manual(Phase::Standby), "r", t(2)).unwrap();
            assert_eq!(back.keys, KeyChange::DropAdditional);
        }
    }

    #[test]
    fn auto_mode_schedules_thirds_of_the_grace_period() {
        let req = RotateRequest {
            mode: Mode::Auto,
            grace_period: Some(Duration::from_secs(30)),
            ..Default::default()
        };
        let tr = plan(&Rotation::default(), &req, "a", t(0)).unwrap();
        let s = tr.next.schedule.unwrap();
        assert_eq!(s.update_clients, t(10));
        assert_eq!(s.update_servers, t(20));
        assert_eq!(s.standby, t(30));
        let mut state = tr.next;
        assert_eq!(due(&state, t(9)), None);
        assert_eq!(due(&state, t(10)), Some(Phase::UpdateClients));
        // Catching up after downtime goes one phase at a time.
        assert_eq!(due(&state, t(100)), Some(Phase::UpdateClients));
        for (at, phase) in [
            (10, Phase::UpdateClients),
            (20, Phase::UpdateServers),
            (30, Phase::Standby),
        ] {
            let step = RotateRequest {
                mode: Mode::Auto,
                target_phase: Some(phase),
                ..Default::default()
            };
            state = plan(&state, &step, "a", t(at)).unwrap().next;
        }
        assert_eq!(state.phase, Phase::Standby);
        assert_eq!(due(&state, t(1000)), None);
    }

    #[test]
    fn default_grace_period_is_thirty_hours() {
        let tr = plan(
            &Rotation::default(),
            &RotateRequest {
                mode: Mode::Auto,
                ..Default::default()
            },
            "a",
            t(0),
        )
        .unwrap();
        assert_eq!(tr.next.grace_period, Duration::from_secs(30 * 3600));
        assert_eq!(tr.next.schedule.unwrap().standby, t(30 * 3600));
    }

    #[test]
    fn custom_schedules_must_increase_and_lie_ahead() {
        let mk = |a, b, c| RotateRequest {
            mode: Mode::Auto,
            schedule: Some(Schedule {
                update_clients: t(a),
                update_servers: t(b),
                standby: t(c),
            }),
            ..Default::default()
        };
        let ok = plan(&Rotation::default(), &mk(5, 50, 70), "a", t(1)).unwrap();
        assert_eq!(ok.next.schedule.unwrap().update_servers, t(50));
        for bad in [mk(0, 50, 70), mk(5, 5, 70), mk(5, 50, 40)] {
            let err = plan(&Rotation::default(), &bad, "a", t(1)).unwrap_err();
            assert!(matches!(err, RotationError::BadSchedule(_)), "{err}");
        }
    }

    #[test]
    fn a_manual_move_stops_the_automatic_schedule() {
        let auto = RotateRequest {
            mode: Mode::Auto,
            ..Default::default()
        };
        let state = plan(&Rotation::default(), &auto, "a", t(0)).unwrap().next;
        let moved = plan(&state, &manual(Phase::UpdateClients), "a", t(1))
            .unwrap()
            .next;
        assert_eq!(moved.mode, Mode::Manual);
        assert_eq!(due(&moved, t(1_000_000)), None);
    }

    #[test]
    fn names_parse() {
        for p in Phase::ALL {
            assert_eq!(p.as_str().parse::<Phase>().unwrap(), p);
        }
        assert!("sideways".parse::<Phase>().is_err());
        assert_eq!("manual".parse::<Mode>().unwrap(), Mode::Manual);
        assert!("sometimes".parse::<Mode>().is_err());
    }
}
