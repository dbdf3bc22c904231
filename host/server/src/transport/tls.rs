//! Mutual TLS for the gRPC listener.
//!
//! A client certificate, when presented, must be signed by one of the cluster's certificate
//! authorities. The caller's identity is read from that certificate once, when the
//! handshake completes, and travels with every request on the connection as [`PeerInfo`];
//! a certificate without a Portcullis identity is refused. A connection without a client
//! certificate is accepted only so that a host can join (RegisterUsingToken): every other
//! RPC requires an identity (see `transport::caller`).
//!
//! The configuration is not fixed at start: [`TlsState`] holds the current one and the set
//! of trusted CA key identifiers, and the key ring replaces both as authorities rotate. New
//! connections use the new configuration; requests on open connections are checked against
//! the trusted keys, so a certificate whose CA key was rotated out stops working at once.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use portcullis_ca::Identity;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tonic::transport::server::Connected;

use crate::keyring::trust::TlsState;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Who is on the other end of a connection.
#[derive(Debug, Clone)]
pub struct PeerInfo {
    /// The identity from the client certificate; `None` when the client presented none.
    pub identity: Option<Arc<Identity>>,
    /// The client's address.
    pub remote_addr: Option<SocketAddr>,
    /// Key identifier of the CA key that signed the client certificate.
    pub authority_key_id: Option<Vec<u8>>,
    /// The listener's trust, to check the signing key on every request.
    pub trust: Arc<TlsState>,
}

impl PeerInfo {
    /// Whether the key that signed the caller's certificate is still trusted.
    pub fn signer_trusted(&self) -> bool {
        self.authority_key_id
            .as_deref()
            .is_some_and(|id| self.trust.trusts(id))
    }
}

/// A TLS connection whose client identity has been established.
pub struct AuthenticatedStream {
    inner: TlsStream<TcpStream>,
    info: PeerInfo,
    /// The connection's place among the `max_connections`, given back when it closes.
    _slot: OwnedSemaphorePermit,
}

impl Connected for AuthenticatedStream {
    type ConnectInfo = PeerInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.info.clone()
    }
}

impl AsyncRead for AuthenticatedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for AuthenticatedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Accepts connections on `listener`, performs the TLS handshake of each in its own task and
/// yields the connections whose client certificate carries an identity.
///
/// At most `max_connections` are open at once, counting those still in their handshake (so
/// that clients which never finish it cannot hold more than that many, each for at most
/// the handshake timeout); a connection past the limit is closed as soon as it is accepted.
pub fn incoming(
    listener: TcpListener,
    tls: Arc<TlsState>,
    max_connections: usize,
) -> tokio_stream::wrappers::ReceiverStream<io::Result<AuthenticatedStream>> {
    let (tx, rx) = mpsc::channel(64);
    let slots = Arc::new(Semaphore::new(max_connections));
    tokio::spawn(async move {
        loop {
            let (tcp, addr) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if tx.is_closed() {
                break;
            }
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                tracing::info!(
                    peer = %addr,
                    max_connections,
                    "connection closed: max_connections are open"
                );
                continue;
            };
            let Some(config) = tls.config() else {
                tracing::warn!(peer = %addr, "no TLS configuration yet; connection dropped");
                continue;
            };
            let acceptor = TlsAcceptor::from(config);
            let trust = tls.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let _ = tcp.set_nodelay(true);
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => match peer_identity(&tls) {
                        Ok((identity, authority_key_id)) => {
                            let info = PeerInfo {
                                identity: identity.map(Arc::new),
                                remote_addr: Some(addr),
                                authority_key_id,
                                trust,
                            };
                            let stream = AuthenticatedStream {
                                inner: tls,
                                info,
                                _slot: slot,
                            };
                            let _ = tx.send(Ok(stream)).await;
                        }
                        Err(reason) => {
                            tracing::info!(peer = %addr, %reason, "refused client certificate")
                        }
                    },
                    Ok(Err(e)) => tracing::info!(peer = %addr, error = %e, "tls handshake failed"),
                    Err(_) => tracing::info!(peer = %addr, "tls handshake timed out"),
                }
            });
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

/// The identity of the client certificate and the key id of its issuer; `(None, None)`
/// when the client presented no certificate.
type PeerIdentity = (Option<Identity>, Option<Vec<u8>>);

fn peer_identity(tls: &TlsStream<TcpStream>) -> Result<PeerIdentity, String> {
    let (_, session) = tls.get_ref();
    let Some(cert) = session.peer_certificates().and_then(|c| c.first()) else {
        return Ok((None, None));
    };
    let identity = Identity::from_certificate_der(cert).map_err(|e| e.to_string())?;
    let key_id = portcullis_ca::authority_key_id(cert).map_err(|e| e.to_string())?;
    Ok((Some(identity), key_id))
}
