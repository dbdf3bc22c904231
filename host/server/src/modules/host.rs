//! What a module running in the server may ask of it (ABI v1 §5): the clock (the system's,
//! or the fixed `policy.clock` of the configuration), read-only
//! look-ups of users and roles (without secrets), and extra functions of other uploaded
//! modules (through the registry).

use std::sync::Arc;

use portcullis_api::services::{RoleV3, UserV2};
use portcullis_policy::{Registry, RegistryHost, SharedHost};

use crate::resources::Collection;

/// The host imports for evaluations in the server. Look-ups wait for the store, so
/// evaluations must run on blocking threads (they do: see [`super::Policies::evaluate`]).
pub fn server_host(
    registry: Arc<Registry>,
    users: Collection<UserV2>,
    roles: Collection<RoleV3>,
    runtime: tokio::runtime::Handle,
    fixed_clock: Option<std::time::SystemTime>,
) -> SharedHost {
    let mut host = RegistryHost::new(registry);
    if let Some(at) = fixed_clock {
        let ms = at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        host = host.with_clock(move || ms);
    }
    host.with_lookup(move |kind, name| match kind {
        "user" => {
            let mut user = runtime.block_on(users.find(name)).ok()??;
            if let Some(spec) = user.spec.as_mut() {
                spec.local_auth = None;
            }
            serde_json::to_value(user).ok()
        }
        "role" => serde_json::to_value(runtime.block_on(roles.find(name)).ok()??).ok(),
        _ => None,
    })
    .shared()
}
