//! What a module running in the server may ask of it (ABI v1 §5): the clock, read-only
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
) -> SharedHost {
    RegistryHost::new(registry)
        .with_lookup(move |kind, name| match kind {
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
