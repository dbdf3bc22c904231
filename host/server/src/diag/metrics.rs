//! The process-wide Prometheus registry and the metric families the server records.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// At most this many distinct RPC method names get series of their own; further ones are
/// counted under [`OTHER`], so that odd request paths cannot grow the registry.
const MAX_METHODS: usize = 128;

/// The method label of an RPC whose name is not kept (see [`MAX_METHODS`]).
const OTHER: &str = "other";

/// The metrics of this process: see [`metrics`].
pub struct Metrics {
    registry: Registry,
    rpc_requests: Family<RpcLabels, Counter>,
    rpc_duration: Family<RpcLabels, Histogram, fn() -> Histogram>,
    decisions: Family<ResultLabel, Counter>,
    evaluations: Family<EvaluationLabels, Counter>,
    store_duration: Family<StoreLabels, Histogram, fn() -> Histogram>,
    watchers: Gauge,
    methods: Mutex<HashSet<String>>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RpcLabels {
    method: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EvaluationLabels {
    module: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabels {
    op: &'static str,
    result: &'static str,
}

/// The process-wide metrics, registered on first use.
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

fn rpc_histogram() -> Histogram {
    // 0.5 ms to about 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

fn store_histogram() -> Histogram {
    // 0.1 ms to about 3.3 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

impl Metrics {
    pub(super) fn new() -> Self {
        let mut registry = Registry::with_prefix("portcullis");
        let rpc_requests = Family::default();
        let rpc_duration = Family::new_with_constructor(rpc_histogram as fn() -> Histogram);
        let decisions = Family::default();
        let evaluations = Family::default();
        let store_duration = Family::new_with_constructor(store_histogram as fn() -> Histogram);
        let watchers = Gauge::default();
        registry.register(
            "rpc_requests",
            "gRPC requests answered, by method and status code",
            rpc_requests.clone(),
        );
        registry.register(
            "rpc_duration_seconds",
            "Time until a gRPC request's response headers, by method and status code",
            rpc_duration.clone(),
        );
        registry.register(
            "decisions",
            "Access decisions over roles (allow, deny, error)",
            decisions.clone(),
        );
        registry.register(
            "policy_evaluations",
            "Policy module evaluations, by module and result (ok, failed)",
            evaluations.clone(),
        );
        registry.register(
            "store_operation_duration_seconds",
            "Latency of store operations, by operation and result (ok, error)",
            store_duration.clone(),
        );
        registry.register("watchers", "Open WatchEvents streams", watchers.clone());
        Self {
            registry,
            rpc_requests,
            rpc_duration,
            decisions,
            evaluations,
            store_duration,
            watchers,
            methods: Mutex::new(HashSet::new()),
        }
    }

    /// Records one answered RPC: its method name (`GetRole`), its status code name (`Ok`,
    /// `PermissionDenied`) and the time until its response headers. A method name that is
    /// not a plain identifier, or new after [`MAX_METHODS`] names, or first seen answered
    /// `Unimplemented` (an unknown path), is recorded as `other`.
    pub fn rpc(&self, method: &str, code: &str, elapsed: Duration) {
        let labels = RpcLabels {
            method: self.method_label(method, code),
            code: code.to_owned(),
        };
        self.rpc_requests.get_or_create(&labels).inc();
        self.rpc_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    fn method_label(&self, method: &str, code: &str) -> String {
        let plain = !method.is_empty()
            && method.len() <= 64
            && method
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !plain {
            return OTHER.to_owned();
        }
        let mut known = self.methods.lock().unwrap_or_else(PoisonError::into_inner);
        if known.contains(method) {
            return method.to_owned();
        }
        if code == "Unimplemented" || known.len() >= MAX_METHODS {
            return OTHER.to_owned();
        }
        known.insert(method.to_owned());
        method.to_owned()
    }

    /// Records one access decision: `Ok(true)` allowed, `Ok(false)` denied, `Err` failed.
    pub fn decision<E>(&self, outcome: Result<bool, E>) {
        let result = match outcome {
            Ok(true) => "allow",
            Ok(false) => "deny",
            Err(_) => "error",
        };
        self.decisions.get_or_create(&ResultLabel { result }).inc();
    }

    /// Records one evaluation of the policy module `module`, successful or failed.
    pub fn evaluation(&self, module: &str, ok: bool) {
        let labels = EvaluationLabels {
            module: module.to_owned(),
            result: if ok { "ok" } else { "failed" },
        };
        self.evaluations.get_or_create(&labels).inc();
    }

    /// Records one store operation `op` (`get`, `put`, ...) that took `elapsed`; `ok` is
    /// false only when the store failed (an answer such as "not found" is ok).
    pub fn store_op(&self, op: &'static str, ok: bool, elapsed: Duration) {
        let labels = StoreLabels {
            op,
            result: if ok { "ok" } else { "error" },
        };
        self.store_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Counts one open WatchEvents stream until the returned guard is dropped.
    pub fn watcher(&self) -> WatcherGuard {
        self.watchers.inc();
        WatcherGuard {
            gauge: self.watchers.clone(),
        }
    }

    /// Every metric in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail; a metric that fails to encode leaves the text
        // as far as it got.
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::warn!(error = %e, "metrics could not be encoded");
        }
        text
    }
}

/// An open WatchEvents stream, counted in `portcullis_watchers` while it lives.
#[derive(Debug)]
pub struct WatcherGuard {
    gauge: Gauge,
}

impl Drop for WatcherGuard {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}
