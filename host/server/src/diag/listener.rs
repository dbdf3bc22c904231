//! The diagnostics listener: plain HTTP/1.1 answering `/healthz`, `/readyz` and `/metrics`.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::{metrics, Readiness};

/// The content type of `/metrics`.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

const TEXT: &str = "text/plain; charset=utf-8";

/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long answers in progress may take to finish once the listener stops.
const DRAIN: Duration = Duration::from_secs(1);

/// Serves the diagnostics endpoints on `listener` until `shutdown` resolves:
///
/// - `GET /healthz`: 200 `ok` while the process runs;
/// - `GET /readyz`: 200 `ready`, or 503 with why not (see [`Readiness`]);
/// - `GET /metrics`: 200, every metric in the OpenMetrics text format;
///
/// 404 for other paths and 405 for other methods. Each connection is served by a task of
/// its own; on shutdown the listener stops accepting, lets answers in progress finish for
/// up to a second, and drops the connections.
pub async fn serve(
    listener: TcpListener,
    readiness: Arc<dyn Readiness>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection(stream, readiness.clone(), stopping.clone()));
                }
                Err(error) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(%error, "diagnostics listener cannot accept");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    stop.send_replace(true);
    let drained = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(DRAIN, drained).await;
}

/// Serves one connection until the client closes it or `stopping` turns true.
async fn connection(
    stream: TcpStream,
    readiness: Arc<dyn Readiness>,
    mut stopping: watch::Receiver<bool>,
) {
    let service = service_fn(move |request| {
        let readiness = readiness.clone();
        async move { Ok::<_, Infallible>(respond(readiness.as_ref(), &request).await) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let served = tokio::select! {
        served = connection.as_mut() => served,
        () = stopped(&mut stopping) => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = served {
        tracing::debug!(%error, "diagnostics connection failed");
    }
}

/// Resolves once `stopping` turns true (or its sender is gone).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stopped| *stopped).await;
}

/// The answer to `request`.
async fn respond(readiness: &dyn Readiness, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() != Method::GET {
        let mut response = answer(StatusCode::METHOD_NOT_ALLOWED, TEXT, "method not allowed");
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET"));
        return response;
    }
    match request.uri().path() {
        "/healthz" => answer(StatusCode::OK, TEXT, "ok"),
        "/readyz" => match readiness.check().await {
            Ok(()) => answer(StatusCode::OK, TEXT, "ready"),
            Err(reason) => answer(StatusCode::SERVICE_UNAVAILABLE, TEXT, reason),
        },
        "/metrics" => answer(StatusCode::OK, OPENMETRICS_CONTENT_TYPE, metrics().encode()),
        _ => answer(StatusCode::NOT_FOUND, TEXT, "not found"),
    }
}

fn answer(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
