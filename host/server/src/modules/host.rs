//! What a module running in the server may ask of it (ABI v1 §5): the clock (the system's,
//! or the fixed `policy.clock` of the configuration), read-only
//! look-ups of users and roles (without secrets), and extra functions of other uploaded
//! modules (through the registry).

use std::sync::Arc;

use portcullis_api::services::{RoleV3, UserV2};
use portcullis_policy::{Registry, RegistryHost, SharedHost};

use crate::resources::{Collection, WithoutSecrets};

/// `name` from `collection`, for a look-up inside an evaluation (synchronous code): read at
/// once where the store allows it (RocksDB, memory), else by waiting on `runtime`, which
/// is why evaluations run on blocking threads (see [`super::Policies::evaluate`]).
fn read<T: crate::resources::Resource>(
    runtime: &tokio::runtime::Handle,
    collection: &Collection<T>,
    name: &str,
) -> Option<T> {
    let found = match collection.find_now(name) {
        Some(found) => found,
        None => runtime.block_on(collection.find(name)),
    };
    found.ok()?
}

/// The host imports for evaluations in the server: the clock, and look-ups of users and
/// roles (see [`read`]).
pub fn server_host(
    registry: Arc<Registry>,
    users: Collection<UserV2>,
    roles: Collection<RoleV3>,
    runtime: tokio::runtime::Handle,
    fixed_clock: Option<std::time::SystemTime>,
    stats: Option<Arc<super::stats::Stats>>,
) -> SharedHost {
    let mut host = RegistryHost::new(registry);
    // Extra functions run for `where` clauses count (and fail) against their module.
    if let Some(stats) = stats {
        host = host.with_observer(move |module, failure| {
            let failure = failure.map(ToString::to_string);
            stats.record(module, failure.as_deref());
        });
    }
    if let Some(at) = fixed_clock {
        let ms = at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        host = host.with_clock(move || ms);
    }
    host.with_lookup(move |kind, name| match kind {
        "user" => {
            let user = read(&runtime, &users, name)?;
            serde_json::to_value(user.without_secrets()).ok()
        }
        "role" => serde_json::to_value(read(&runtime, &roles, name)?).ok(),
        _ => None,
    })
    .shared()
}
