//! Certificate authority reads and rotation. Without the secrets permission only public
//! parts leave the server.

use std::time::{Duration, SystemTime};

use portcullis_api::auth::{
    CertAuthorityList, GetCertAuthoritiesRequest, GetCertAuthorityRequest,
    RotateCertAuthorityRequest,
};
use portcullis_api::services::{CaKeySet, CertAuthorityV2};
use portcullis_ca::{Phase, RotateRequest, Schedule};
use tonic::{Request, Status};

use crate::keyring::{rotate, CA_TYPES};
use crate::rbac::{authorize, Target};
use crate::resources::kinds::ca_key;
use crate::resources::to_system_time;
use crate::resources::validate::validate_name;
use crate::state::State;

fn strip_keys(set: &mut CaKeySet) {
    for pair in &mut set.tls {
        pair.key.clear();
    }
    for pair in &mut set.ssh {
        pair.private_key.clear();
    }
    for pair in &mut set.jwt {
        pair.private_key.clear();
    }
}

/// Removes every private key from an authority.
pub fn strip_secrets(mut ca: CertAuthorityV2) -> CertAuthorityV2 {
    if let Some(spec) = ca.spec.as_mut() {
        spec.signing_keys.clear();
        for pair in &mut spec.tls_key_pairs {
            pair.key.clear();
        }
        for pair in &mut spec.jwt_key_pairs {
            pair.private_key.clear();
        }
        if let Some(set) = spec.active_keys.as_mut() {
            strip_keys(set);
        }
        if let Some(set) = spec.additional_trusted_keys.as_mut() {
            strip_keys(set);
        }
    }
    ca
}

fn check_type(ca_type: &str) -> Result<(), Status> {
    if CA_TYPES.contains(&ca_type) {
        Ok(())
    } else {
        Err(Status::invalid_argument(format!(
            "unknown certificate authority type `{ca_type}` (known: {})",
            CA_TYPES.join(", ")
        )))
    }
}

pub(super) async fn get(
    state: &State,
    request: Request<GetCertAuthorityRequest>,
) -> Result<CertAuthorityV2, Status> {
    let name = format!(
        "{}/{}",
        request.get_ref().r#type,
        request.get_ref().domain_name
    );
    let target = Target::named("cert_authority", &name).secrets(request.get_ref().with_secrets);
    authorize(state, &request, "GetCertAuthority", target).await?;
    let req = request.into_inner();
    check_type(&req.r#type)?;
    let cluster = if req.domain_name.is_empty() {
        state.cluster_name.clone()
    } else {
        validate_name("cluster", &req.domain_name)?;
        req.domain_name
    };
    let ca = state
        .authorities
        .get(&ca_key(&req.r#type, &cluster))
        .await?;
    Ok(if req.with_secrets {
        ca
    } else {
        strip_secrets(ca)
    })
}

pub(super) async fn list(
    state: &State,
    request: Request<GetCertAuthoritiesRequest>,
) -> Result<CertAuthorityList, Status> {
    let target = Target::default().secrets(request.get_ref().with_secrets);
    authorize(state, &request, "GetCertAuthorities", target).await?;
    let req = request.into_inner();
    if !req.r#type.is_empty() {
        check_type(&req.r#type)?;
    }
    let all = state.authorities.list().await?;
    let cert_authorities = all
        .into_iter()
        .filter(|ca| {
            req.r#type.is_empty() || ca.spec.as_ref().is_some_and(|s| s.r#type == req.r#type)
        })
        .map(|ca| {
            if req.with_secrets {
                ca
            } else {
                strip_secrets(ca)
            }
        })
        .collect();
    Ok(CertAuthorityList { cert_authorities })
}

pub(super) async fn rotate(
    state: &State,
    request: Request<RotateCertAuthorityRequest>,
) -> Result<(), Status> {
    let target = Target::named("cert_authority", &request.get_ref().r#type);
    let identity = authorize(state, &request, "RotateCertAuthority", target).await?;
    let req = request.into_inner();
    let bad = |e: portcullis_ca::RotationError| Status::invalid_argument(e.to_string());
    let mode = req.mode.parse().map_err(bad)?;
    let target_phase = match req.target_phase.as_str() {
        "" => None,
        phase => Some(phase.parse::<Phase>().map_err(bad)?),
    };
    let grace_period = match req.grace_period {
        0 => None,
        nanos if nanos < 0 => {
            return Err(Status::invalid_argument(
                "the grace period must be positive",
            ))
        }
        nanos => Some(Duration::from_nanos(nanos.unsigned_abs())),
    };
    let schedule = match req.schedule {
        None => None,
        Some(s) => {
            let at = |t: Option<prost_types::Timestamp>, what: &str| {
                t.and_then(to_system_time).ok_or_else(|| {
                    Status::invalid_argument(format!("the rotation schedule lacks `{what}`"))
                })
            };
            Some(Schedule {
                update_clients: at(s.update_clients, "update_clients")?,
                update_servers: at(s.update_servers, "update_servers")?,
                standby: at(s.standby, "standby")?,
            })
        }
    };
    let request = RotateRequest {
        mode,
        target_phase,
        grace_period,
        schedule,
    };
    let moved = rotate::rotate(
        &state.keyring,
        &state.authorities,
        &req.r#type,
        &request,
        SystemTime::now(),
    )
    .await?;
    for (ca_type, phase) in moved {
        tracing::info!(ca = ca_type, %phase, by = %identity.username, "rotation requested");
    }
    Ok(())
}
