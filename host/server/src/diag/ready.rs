//! Readiness: whether the server can answer requests (what `/readyz` reports).

use std::time::Duration;

use futures::future::BoxFuture;

use crate::state::State;

/// How long the store may take to answer the readiness probe's read.
const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// The key the readiness probe reads (the cluster name, written on first start).
const PROBE_KEY: &[u8] = b"/cluster/cluster-name";

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
            match tokio::time::timeout(STORE_TIMEOUT, self.backend.get(PROBE_KEY)).await {
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
