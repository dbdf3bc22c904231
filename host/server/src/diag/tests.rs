//! The listener's answers, and what the layer, the metered store and the recorders record.
//! The registry is shared by every test of the process, so these look for series of their
//! own and compare counts before and after.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use hyper::header::HeaderValue;
use hyper::http::{Request, Response, StatusCode};
use portcullis_store::{Backend, Error, MemoryBackend, NewItem};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::{Layer, Service};

use super::*;

mod state;

/// The value of the sample `series` (name and labels) in `text`, 0 if absent.
pub(super) fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |rest| {
            rest.split(' ').next().unwrap().parse::<f64>().unwrap()
        })
}

/// A readiness that always answers the same.
struct Fixed(Result<(), String>);

impl Readiness for Fixed {
    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(ready(self.0.clone()))
    }
}

struct Listener {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

async fn listen(readiness: Result<(), String>) -> Listener {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stopped.await;
    };
    let task = tokio::spawn(serve(listener, Arc::new(Fixed(readiness)), shutdown));
    Listener { addr, stop, task }
}

/// Sends one request; answers the status, the head and the body.
async fn call(addr: SocketAddr, method: &str, path: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("{method} {path} HTTP/1.1\r\nHost: diag\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), body.to_owned())
}

#[tokio::test]
async fn the_listener_answers_health_readiness_and_metrics() {
    let listener = listen(Ok(())).await;
    let addr = listener.addr;
    let (status, head, body) = call(addr, "GET", "/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    assert!(head.contains("content-type: text/plain"), "{head}");
    assert_eq!(call(addr, "GET", "/readyz").await.2, "ready");
    let _watcher = metrics().watcher();
    let (status, head, body) = call(addr, "GET", "/metrics").await;
    assert_eq!(status, 200);
    let content_type = format!("content-type: {}", OPENMETRICS_CONTENT_TYPE.to_lowercase());
    assert!(head.contains(&content_type), "{head}");
    assert!(body.contains("# TYPE portcullis_watchers gauge"), "{body}");
    assert!(sample(&body, "portcullis_watchers") >= 1.0, "{body}");
    assert!(body.ends_with("# EOF\n"), "{body}");
    assert_eq!(call(addr, "GET", "/nothing").await.0, 404);
    let (status, head, _) = call(addr, "POST", "/healthz").await;
    assert_eq!(status, 405);
    assert!(head.contains("allow: get"), "{head}");

    listener.stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), listener.task)
        .await
        .expect("the listener stops on shutdown")
        .unwrap();
    assert!(TcpStream::connect(addr).await.is_err(), "still listening");
}

#[tokio::test]
async fn readyz_answers_503_with_the_reason() {
    let listener = listen(Err("store unreachable: test".into())).await;
    let (status, _, body) = call(listener.addr, "GET", "/readyz").await;
    assert_eq!((status, body.as_str()), (503, "store unreachable: test"));
    // Liveness does not depend on readiness.
    assert_eq!(call(listener.addr, "GET", "/healthz").await.0, 200);
    listener.stop.send(()).unwrap();
    listener.task.await.unwrap();
}

fn store_count(text: &str, op: &str, result: &str) -> f64 {
    let series = format!(
        "portcullis_store_operation_duration_seconds_count{{op=\"{op}\",result=\"{result}\"}}"
    );
    sample(text, &series)
}

#[tokio::test]
async fn the_metered_store_records_every_operation() {
    let ops = [
        "get",
        "put",
        "create",
        "create_all",
        "compare_and_swap",
        "delete",
        "delete_if",
        "range",
        "sweep_expired",
    ];
    let before = metrics().encode();
    let store = MeteredBackend::new(Arc::new(MemoryBackend::new()));
    let item = store.put(b"/diag/a", b"1".to_vec(), None).await.unwrap();
    assert_eq!(store.get(b"/diag/a").await.unwrap().unwrap().value, b"1");
    // Answers are not failures.
    let exists = store.create(b"/diag/a", b"2".to_vec(), None).await;
    assert!(matches!(exists, Err(Error::AlreadyExists { .. })));
    let new = NewItem {
        key: b"/diag/b".to_vec(),
        value: b"3".to_vec(),
        expires: None,
    };
    store.create_all(vec![new]).await.unwrap();
    let swapped = store.compare_and_swap(b"/diag/a", item.revision, b"4".to_vec(), None);
    swapped.await.unwrap();
    let stale = store.delete_if(b"/diag/a", item.revision).await;
    assert!(matches!(stale, Err(Error::RevisionMismatch { .. })));
    assert!(matches!(
        store.delete(b"/diag/none").await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        store.range(b"/diag/", None, 0).await.unwrap().items.len(),
        2
    );
    store.sweep_expired().await.unwrap();
    // Passed through: the writes above are seen.
    assert!(store.current_revision() >= 3);

    let after = metrics().encode();
    for op in ops {
        let added = store_count(&after, op, "ok") - store_count(&before, op, "ok");
        assert!(added >= 1.0, "{op}: {after}");
    }
}

#[tokio::test]
async fn store_failures_count_as_errors() {
    let before = store_count(&metrics().encode(), "sweep_expired", "error");
    let failed = metered::timed("sweep_expired", async {
        Err::<(), _>(Error::Task("test".into()))
    });
    assert!(failed.await.is_err());
    let after = store_count(&metrics().encode(), "sweep_expired", "error");
    assert!(after - before >= 1.0);
}

/// A gRPC service stand-in: methods ending in `Denied` fail trailers-only, `NoSuch...`
/// ones are unknown.
#[derive(Clone)]
struct Fake;

impl Service<Request<()>> for Fake {
    type Response = Response<()>;
    type Error = Infallible;
    type Future = Ready<Result<Response<()>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<()>) -> Self::Future {
        let mut response = Response::new(());
        let path = request.uri().path();
        let status = if path.ends_with("Denied") {
            Some("7")
        } else if path.contains("NoSuch") {
            Some("12")
        } else {
            None
        };
        if let Some(status) = status {
            let status = HeaderValue::from_static(status);
            response.headers_mut().insert("grpc-status", status);
        } else if path.ends_with("Gone") {
            *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        }
        ready(Ok(response))
    }
}

#[tokio::test]
async fn the_layer_records_method_and_code() {
    let mut service = RpcMetricsLayer.layer(Fake);
    for path in [
        "/portcullis.Diag/DiagTestAllowed",
        "/portcullis.Diag/DiagTestAllowed",
        "/portcullis.Diag/DiagTestDenied",
        "/portcullis.Diag/DiagTestGone",
        "/portcullis.Diag/DiagTestNoSuchMethod",
    ] {
        let request = Request::builder().uri(path).body(()).unwrap();
        futures::future::poll_fn(|cx| service.poll_ready(cx))
            .await
            .unwrap();
        service.call(request).await.unwrap();
    }
    let text = metrics().encode();
    let requests = |method: &str, code: &str| {
        let series =
            format!("portcullis_rpc_requests_total{{method=\"{method}\",code=\"{code}\"}}");
        sample(&text, &series)
    };
    assert_eq!(requests("DiagTestAllowed", "Ok"), 2.0, "{text}");
    assert_eq!(
        requests("DiagTestDenied", "PermissionDenied"),
        1.0,
        "{text}"
    );
    assert_eq!(requests("DiagTestGone", "Unavailable"), 1.0, "{text}");
    // Unknown methods do not get series of their own.
    assert!(!text.contains("DiagTestNoSuchMethod"), "{text}");
    assert!(requests("other", "Unimplemented") >= 1.0, "{text}");
    let timed = "portcullis_rpc_duration_seconds_count{method=\"DiagTestDenied\",code=\"PermissionDenied\"}";
    assert_eq!(sample(&text, timed), 1.0, "{text}");
}

#[test]
fn method_names_are_bounded() {
    let metrics = Metrics::new();
    metrics.rpc("Not.Plain", "Ok", Duration::ZERO);
    metrics.rpc(&"A".repeat(65), "Ok", Duration::ZERO);
    for i in 0..200 {
        metrics.rpc(&format!("Method{i}"), "Ok", Duration::ZERO);
    }
    let text = metrics.encode();
    assert!(text.contains("method=\"Method0\""));
    assert!(!text.contains("method=\"Method199\""));
    let other = "portcullis_rpc_requests_total{method=\"other\",code=\"Ok\"}";
    assert_eq!(sample(&text, other), 2.0 + 200.0 - 128.0, "{text}");
}

#[test]
fn decisions_evaluations_and_watchers_are_recorded() {
    let metrics = Metrics::new();
    metrics.decision::<()>(Ok(true));
    metrics.decision::<()>(Ok(false));
    metrics.decision::<()>(Ok(false));
    metrics.decision(Err("failed"));
    metrics.evaluation("approver", true);
    metrics.evaluation("approver", false);
    let first = metrics.watcher();
    let second = metrics.watcher();
    drop(first);
    let text = metrics.encode();
    for (series, value) in [
        ("portcullis_decisions_total{result=\"allow\"}", 1.0),
        ("portcullis_decisions_total{result=\"deny\"}", 2.0),
        ("portcullis_decisions_total{result=\"error\"}", 1.0),
        (
            "portcullis_policy_evaluations_total{module=\"approver\",result=\"ok\"}",
            1.0,
        ),
        (
            "portcullis_policy_evaluations_total{module=\"approver\",result=\"failed\"}",
            1.0,
        ),
        ("portcullis_watchers", 1.0),
    ] {
        assert_eq!(sample(&text, series), value, "{series}: {text}");
    }
    drop(second);
    assert_eq!(sample(&metrics.encode(), "portcullis_watchers"), 0.0);
}
