//! Shared measuring loop of the benchmarks in `benches/`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The configuration that turns every per-caller rate limit off (`rate_limits:`).
pub const NO_RATE_LIMITS: &str = "rate_limits:
  cert_issuance: off
  joins: off
  password_checks: off
  policy_uploads: off
";

/// The multi-threaded runtime the benchmarks drive their clients from.
pub fn runtime() -> tokio::runtime::Runtime {
    crate::rt()
}

/// Time per measurement: `BENCH_SECONDS` (default 3).
pub fn seconds() -> Duration {
    let s = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    Duration::from_secs(s)
}

/// The number in the environment variable `name`, or `default` when it is unset or not a
/// number.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Runs `tasks` copies of `op` (given the task index and the iteration) for the measurement
/// time and returns operations per second.
pub async fn measure<F, Fut>(tasks: usize, op: F) -> f64
where
    F: Fn(usize, u64) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + seconds();
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let op = op.clone();
            let done = done.clone();
            tokio::spawn(async move {
                let mut i = 0u64;
                while Instant::now() < deadline {
                    op(t, i).await;
                    i += 1;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for h in handles {
        h.await.expect("bench task");
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

/// The concurrency levels every benchmark measures.
pub const CONCURRENCY: [usize; 3] = [1, 16, 64];

/// One admin client (one connection) per task of the largest concurrency level.
pub async fn admin_clients(server: &crate::Server) -> Arc<Vec<portcullis_api::Client>> {
    let max = CONCURRENCY.iter().copied().max().unwrap_or(1);
    let mut clients = Vec::with_capacity(max);
    for _ in 0..max {
        clients.push(server.admin_client().await);
    }
    Arc::new(clients)
}

/// Latency percentiles (p50, p99) of `op`: 500 warm-up calls, then `samples` timed ones.
pub fn latency<F: FnMut()>(samples: usize, op: F) -> (Duration, Duration) {
    p50_p99(&mut timings(samples, op))
}

/// The times of `samples` calls of `op`, after 500 warm-up calls.
pub fn timings<F: FnMut()>(samples: usize, mut op: F) -> Vec<Duration> {
    for _ in 0..500 {
        op();
    }
    (0..samples)
        .map(|_| {
            let start = Instant::now();
            op();
            start.elapsed()
        })
        .collect()
}

/// The median and 99th percentile of `times` (which it sorts); zero when empty.
pub fn p50_p99(times: &mut [Duration]) -> (Duration, Duration) {
    times.sort();
    let at = |q: f64| {
        times
            .get(((times.len().saturating_sub(1)) as f64 * q) as usize)
            .copied()
            .unwrap_or_default()
    };
    (at(0.50), at(0.99))
}

/// One GenerateUserCerts call for alice's `public_key` (OpenSSH): an SSH and a TLS
/// certificate, both checked to be there.
pub async fn alice_cert_pair(client: &portcullis_api::Client, public_key: Vec<u8>) {
    let certs = client
        .rpc()
        .generate_user_certs(portcullis_api::auth::UserCertsRequest {
            public_key,
            username: "alice".into(),
            ..Default::default()
        })
        .await
        .expect("GenerateUserCerts")
        .into_inner();
    assert!(!certs.ssh.is_empty() && !certs.tls.is_empty());
}

/// The CPU time (user + system) process `pid` used so far, or this process's with `None`:
/// fields 14 and 15 of `/proc/PID/stat`, in clock ticks (10 ms on Linux); `None` where
/// there is no such file.
pub fn process_cpu_time(pid: Option<u32>) -> Option<Duration> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name (field 2) may hold spaces: count from the parenthesis closing it, so
    // that `fields` starts at field 3.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Duration::from_millis((field(14)? + field(15)?) * 10))
}

/// Field `name` (e.g. `"VmRSS:"`, `"VmHWM:"`) of `/proc/PID/status`, in KiB; `None` where
/// there is no such file (not Linux, or the process is gone) or no such field.
pub fn proc_status_kib(pid: u32, name: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(name))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
