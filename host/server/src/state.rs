//! Shared server state: the store and the typed collections on top of it.

use std::sync::Arc;

use portcullis_api::services::{CertAuthorityV2, RoleV3, UserV2};
use portcullis_store::Backend;

use crate::resources::Collection;

/// Everything a request handler needs.
pub struct State {
    /// Name of this cluster.
    pub cluster_name: String,
    /// The store.
    pub backend: Arc<dyn Backend>,
    /// Users.
    pub users: Collection<UserV2>,
    /// Roles.
    pub roles: Collection<RoleV3>,
    /// Certificate authorities.
    pub authorities: Collection<CertAuthorityV2>,
}

impl State {
    /// State over `backend` for the cluster `cluster_name`.
    pub fn new(cluster_name: String, backend: Arc<dyn Backend>) -> Self {
        Self {
            cluster_name,
            users: Collection::new(backend.clone()),
            roles: Collection::new(backend.clone()),
            authorities: Collection::new(backend.clone()),
            backend,
        }
    }
}
