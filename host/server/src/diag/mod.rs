//! Diagnostics: health and readiness probes and Prometheus metrics, served on a plain-HTTP
//! listener of their own (`diag_addr`, off by default).
//!
//! [`metrics`] is the one registry of the process, so recording needs no plumbing: the gRPC
//! service is wrapped in [`RpcMetricsLayer`] (requests by method and code), the store in
//! [`MeteredBackend`] (operation latency), and the access decisions, policy evaluations and
//! WatchEvents streams record themselves where they happen. [`serve`] answers `/healthz`,
//! `/readyz` (asking a [`Readiness`], implemented by the server's
//! [`State`](crate::state::State)) and `/metrics`.

mod layer;
mod listener;
mod metered;
mod metrics;
mod ready;

#[cfg(test)]
mod tests;

pub use layer::{RpcMetrics, RpcMetricsLayer};
pub use listener::{serve, OPENMETRICS_CONTENT_TYPE};
pub use metered::MeteredBackend;
pub use metrics::{metrics, Metrics, WatcherGuard};
pub use ready::Readiness;
