//! Readiness: whether the server can answer requests (what `/readyz` reports).

use std::time::Duration;

use futures::future::BoxFuture;

use portcullis_api::services::ClusterNameV2;

use crate::resources::kinds::CLUSTER_NAME_RESOURCE;
use crate::resources::Resource;
use crate::state::State;

/// How long the store may take to answer the readiness probe's read.
const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// Something that can tell whether the server is ready to serve.
pub trait Readiness: Send + Sync {
    /// `Ok` when ready, otherwise why not (shown as the `/readyz` answer).
    fn check(&self) -> BoxFuture<'_, Result<(), String>>;
}

/// Ready when the store answers a read within two seconds and the certificate authorities
/// are loaded.
impl Readiness for State {
    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            // The cluster name's record, written on first start.
            let key = format!("{}{CLUSTER_NAME_RESOURCE}", ClusterNameV2::PREFIX);
            match tokio::time::timeout(STORE_TIMEOUT, self.backend.get(key.as_bytes())).await {
                Err(_) => {
                    let seconds = STORE_TIMEOUT.as_secs();
                    return Err(format!("store unreachable: no answer within {seconds}s"));
                }
                Ok(Err(e)) => return Err(format!("store unreachable: {e}")),
                Ok(Ok(_)) => {}
            }
            self.keyring
                .current()
                .map_err(|e| format!("authorities not loaded: {e}"))?;
            Ok(())
        })
    }
}
