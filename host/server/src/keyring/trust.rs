//! The listener's trust, which the key ring keeps: the rustls server configuration (the
//! server's certificate, and the certificate authorities client certificates must chain to)
//! and the identifiers of the CA keys a caller's certificate may be signed by. The key ring
//! replaces both as authorities rotate; the transport reads them on every connection and
//! request.

use std::collections::HashSet;
use std::sync::{Arc, PoisonError, RwLock};

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

/// Errors building the TLS configuration.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM document held nothing usable.
    #[error("invalid {what}: {reason}")]
    Pem {
        /// Which document.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("tls configuration: {0}")]
    Rustls(String),
}

/// The listener's current configuration and trusted CA keys.
#[derive(Default)]
pub struct TlsState {
    config: RwLock<Option<Arc<ServerConfig>>>,
    trusted: RwLock<HashSet<Vec<u8>>>,
}

impl std::fmt::Debug for TlsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsState")
            .field(
                "trusted_keys",
                &self.trusted.read().map(|t| t.len()).unwrap_or(0),
            )
            .finish_non_exhaustive()
    }
}

impl TlsState {
    /// Replaces the configuration and the trusted CA key identifiers.
    pub fn install(&self, config: Arc<ServerConfig>, trusted: HashSet<Vec<u8>>) {
        *self.trusted.write().unwrap_or_else(PoisonError::into_inner) = trusted;
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = Some(config);
    }

    /// The configuration new connections use.
    pub fn config(&self) -> Option<Arc<ServerConfig>> {
        self.config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether a CA key identifier is trusted.
    pub fn trusts(&self, key_id: &[u8]) -> bool {
        self.trusted
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(key_id)
    }
}

/// The crypto provider used by the server (ring).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The server's clock ([`portcullis_clock::now`]) for rustls.
#[derive(Debug)]
struct ServerClock;

impl rustls::time_provider::TimeProvider for ServerClock {
    fn current_time(&self) -> Option<rustls::pki_types::UnixTime> {
        let since = portcullis_clock::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        Some(rustls::pki_types::UnixTime::since_unix_epoch(since))
    }
}

/// Parses every certificate in a PEM document.
pub fn certs_from_pem(
    pem: &str,
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    use rustls::pki_types::pem::PemObject;
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            what,
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            what,
            reason: "no certificate found".into(),
        });
    }
    Ok(certs)
}

/// Builds the server's rustls configuration: its own certificate and key, and client
/// certificates verified against `client_cas` (PEM certificates) when presented.
pub fn server_config(
    cert_pem: &str,
    key_pem: &str,
    client_cas: &[&str],
) -> Result<Arc<ServerConfig>, TlsError> {
    use rustls::pki_types::pem::PemObject;
    let chain = certs_from_pem(cert_pem, "server certificate")?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| TlsError::Pem {
        what: "server key",
        reason: e.to_string(),
    })?;
    let mut roots = RootCertStore::empty();
    for pem in client_cas {
        for cert in certs_from_pem(pem, "certificate authority")? {
            roots
                .add(cert)
                .map_err(|e| TlsError::Rustls(format!("bad certificate authority: {e}")))?;
        }
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .allow_unauthenticated()
        .build()
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    // Certificate windows are checked on the server's clock, as they are issued.
    let mut config = ServerConfig::builder_with_details(provider(), Arc::new(ServerClock))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Rustls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}
