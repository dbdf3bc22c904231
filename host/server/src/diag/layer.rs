//! A tower layer that counts gRPC requests and times them, by method and status code.

use std::task::{Context, Poll};
use std::time::Instant;

use futures::future::BoxFuture;
use hyper::http::{HeaderMap, Request, Response, StatusCode};
use tower::{Layer, Service};

use super::metrics;

/// Records every request of the service it wraps in `portcullis_rpc_requests_total` and
/// `portcullis_rpc_duration_seconds`: the method is the last segment of the request path
/// (`/pkg.Service/Method`), the code the `grpc-status` response header when present (an
/// error answered trailers-only), otherwise `Ok` for HTTP 200; the duration runs until the
/// response headers. Use with tonic's `Server::builder().layer(RpcMetricsLayer)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RpcMetricsLayer;

impl<S> Layer<S> for RpcMetricsLayer {
    type Service = RpcMetrics<S>;

    fn layer(&self, inner: S) -> RpcMetrics<S> {
        RpcMetrics { inner }
    }
}

/// The service [`RpcMetricsLayer`] wraps around another.
#[derive(Debug, Clone)]
pub struct RpcMetrics<S> {
    inner: S,
}

impl<S, B, R> Service<Request<B>> for RpcMetrics<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<R>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let path = request.uri().path();
        let method = path.rsplit('/').next().unwrap_or(path).to_owned();
        let started = Instant::now();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await;
            let code = match &response {
                Ok(response) => code_name(response.status(), response.headers()),
                Err(_) => "Unknown".to_owned(),
            };
            metrics().rpc(&method, &code, started.elapsed());
            response
        })
    }
}

/// The gRPC status code's name (`Ok`, `NotFound`) of a response with `status` and
/// `headers`: `grpc-status` if present, else the code gRPC clients infer from the HTTP
/// status.
fn code_name(status: StatusCode, headers: &HeaderMap) -> String {
    let code = match headers.get("grpc-status") {
        Some(value) => tonic::Code::from_bytes(value.as_bytes()),
        None => match status {
            StatusCode::OK => tonic::Code::Ok,
            StatusCode::BAD_REQUEST => tonic::Code::Internal,
            StatusCode::UNAUTHORIZED => tonic::Code::Unauthenticated,
            StatusCode::FORBIDDEN => tonic::Code::PermissionDenied,
            StatusCode::NOT_FOUND => tonic::Code::Unimplemented,
            StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT => tonic::Code::Unavailable,
            _ => tonic::Code::Unknown,
        },
    };
    format!("{code:?}")
}
