//! Applying rotation moves to the stored authorities.
//!
//! The state machine ([`portcullis_ca::plan`]) decides; this module reads an authority,
//! applies the planned key change and the new rotation state, and writes it back with
//! compare-and-swap on the revision it read, so two concurrent moves cannot both apply.

use std::time::SystemTime;

use portcullis_api::services::CertAuthorityV2;
use portcullis_ca::{plan, KeyChange, Phase, RotateRequest};
use rand::RngCore;

use super::{keys, proto, KeyRing, KeyringError, CA_TYPES};
use crate::resources::kinds::ca_key;
use crate::resources::Collection;

/// Default time between two checks for due rotation phases (see `daemon::rotations`).
pub const DEFAULT_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// The authority types a rotation request names: one type, or every type for `all` (and for
/// an empty type, as the reference API does).
pub fn types(requested: &str) -> Result<Vec<&'static str>, KeyringError> {
    match requested {
        "" | "all" => Ok(CA_TYPES.to_vec()),
        other => CA_TYPES
            .into_iter()
            .find(|t| *t == other)
            .map(|t| vec![t])
            .ok_or_else(|| KeyringError::UnknownType(other.to_owned())),
    }
}

/// Checks an authority type named by a read (`user`, `host` or `jwt`).
pub fn check_type(ca_type: &str) -> Result<(), KeyringError> {
    if CA_TYPES.contains(&ca_type) {
        return Ok(());
    }
    Err(KeyringError::Invalid(format!(
        "unknown certificate authority type `{ca_type}` (known: {})",
        CA_TYPES.join(", ")
    )))
}

/// A rotation request as RotateCertAuthority gives it: `mode` (`manual`/`auto`), an
/// optional target phase, a grace period in nanoseconds (0 = the default) and an optional
/// schedule of the phases' start times.
pub fn parse_request(
    mode: &str,
    target_phase: &str,
    grace_nanos: i64,
    schedule: Option<portcullis_api::services::RotationSchedule>,
) -> Result<RotateRequest, KeyringError> {
    let mode = mode.parse()?;
    let target_phase = match target_phase {
        "" => None,
        phase => Some(phase.parse::<Phase>()?),
    };
    let grace_period = match grace_nanos {
        0 => None,
        nanos if nanos < 0 => {
            return Err(KeyringError::Invalid(
                "the grace period must be positive".into(),
            ))
        }
        nanos => Some(std::time::Duration::from_nanos(nanos.unsigned_abs())),
    };
    let schedule = match schedule {
        None => None,
        Some(s) => {
            let at = |t: Option<prost_types::Timestamp>, what: &str| {
                t.and_then(crate::resources::to_system_time).ok_or_else(|| {
                    KeyringError::Invalid(format!("the rotation schedule lacks `{what}`"))
                })
            };
            Some(portcullis_ca::Schedule {
                update_clients: at(s.update_clients, "update_clients")?,
                update_servers: at(s.update_servers, "update_servers")?,
                standby: at(s.standby, "standby")?,
            })
        }
    };
    Ok(RotateRequest {
        mode,
        target_phase,
        grace_period,
        schedule,
    })
}

fn new_rotation_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Plans and applies `request` to the authority `ca` (not yet written).
fn apply(
    keyring: &KeyRing,
    ca_type: &str,
    ca: &mut CertAuthorityV2,
    request: &RotateRequest,
    id: &str,
    now: SystemTime,
) -> Result<Phase, KeyringError> {
    let spec = ca.spec.get_or_insert_with(Default::default);
    let current = proto::from_proto(spec.rotation.as_ref());
    let transition = plan(&current, request, id, now)?;
    match transition.keys {
        KeyChange::None => {}
        KeyChange::AddNewKeys => {
            spec.additional_trusted_keys = Some(keys::generate(
                ca_type,
                &keyring.cluster_name,
                keyring.algorithms(),
                keyring.custody(),
                now,
            )?);
        }
        KeyChange::Swap => {
            let additional = spec.additional_trusted_keys.take();
            let Some(additional) = additional else {
                return Err(KeyringError::Broken {
                    ca_type: ca_type.to_owned(),
                    reason: format!(
                        "rotation phase {} has no additional keys to swap in",
                        current.phase
                    ),
                });
            };
            spec.additional_trusted_keys = spec.active_keys.replace(additional);
        }
        KeyChange::DropAdditional => spec.additional_trusted_keys = None,
    }
    spec.rotation = Some(proto::to_proto(&transition.next));
    Ok(transition.next.phase)
}

/// Moves the rotation of every authority `ca_type` names. Every move is planned before any
/// is written, so a request that is illegal for one type changes nothing.
pub async fn rotate(
    keyring: &KeyRing,
    authorities: &Collection<CertAuthorityV2>,
    ca_type: &str,
    request: &RotateRequest,
    now: SystemTime,
) -> Result<Vec<(&'static str, Phase)>, KeyringError> {
    let id = new_rotation_id();
    let mut planned = Vec::new();
    for t in types(ca_type)? {
        let mut ca = authorities.get(&ca_key(t, &keyring.cluster_name)).await?;
        let phase = apply(keyring, t, &mut ca, request, &id, now)?;
        planned.push((t, phase, ca));
    }
    let mut done = Vec::new();
    for (t, phase, ca) in planned {
        authorities.update(&ca).await?;
        tracing::info!(ca = t, %phase, mode = %request.mode, "certificate authority rotation moved");
        done.push((t, phase));
    }
    keyring.reload(authorities).await?;
    Ok(done)
}

/// One check of the background task: makes the moves automatic rotations are due for at
/// `now`, and reloads the key ring once if anything changed — a move made here, or a change
/// made elsewhere since the last load (each authority is read once). Returns how many moves
/// were made.
pub async fn advance_due(
    keyring: &KeyRing,
    authorities: &Collection<CertAuthorityV2>,
    now: SystemTime,
) -> Result<usize, KeyringError> {
    let known = keyring.current()?;
    let mut moved = 0;
    let mut changed = false;
    for t in CA_TYPES {
        let mut ca = authorities.get(&ca_key(t, &keyring.cluster_name)).await?;
        let revision = ca.metadata.as_ref().map(|m| m.id).unwrap_or(0);
        changed |= known.revision(t) != Some(revision);
        let current = proto::from_proto(ca.spec.as_ref().and_then(|s| s.rotation.as_ref()));
        let Some(next) = portcullis_ca::due(&current, now) else {
            continue;
        };
        let request = RotateRequest {
            mode: current.mode,
            target_phase: Some(next),
            ..Default::default()
        };
        apply(keyring, t, &mut ca, &request, &current.id, now)?;
        match authorities.update(&ca).await {
            Ok(_) => {
                tracing::info!(ca = t, phase = %next, "automatic rotation moved");
                moved += 1;
                changed = true;
            }
            // Someone else moved it first (an operator, or another server): load theirs,
            // and look again next time.
            Err(crate::resources::ResourceError::Conflict { .. }) => changed = true,
            Err(e) => return Err(e.into()),
        }
    }
    if changed {
        keyring.reload(authorities).await?;
    }
    Ok(moved)
}
