//! The data of one component evaluation's store: the Portcullis host interface, gated by
//! the module's capabilities, and a WASI context that grants nothing.
//!
//! WASI preview 2 is linked whole (Python and JavaScript runtimes import most of it), but
//! the context behind it has no preopened directory, no environment variable, no argument,
//! an empty stdin, no network (TCP, UDP and name lookup refused), a wall clock that reads the
//! evaluation's instant (or the epoch without the `time` capability) and a monotonic clock
//! stopped at [`MONOTONIC_NS`]. Standard output and
//! error are kept, bounded, and become the evaluation's logs.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

use super::bindings::portcullis::policy::{host, types};
use crate::error::EvalError;
use crate::host::{SharedHost, MAX_CALL_DEPTH};
use crate::imports::{push_log, HostTrap, LogBuffer, MemoryLimiter, MAX_LOG_MESSAGE, MAX_LOOKUPS};
use crate::metadata::Capability;
use crate::output::Level;
use crate::validate::ModuleInfo;

/// How much of standard output and of standard error one evaluation keeps.
pub(crate) const STDIO_CAPACITY: usize = 16 * 1024;

/// The data of the store of one component evaluation.
pub(crate) struct ComponentState {
    pub limiter: MemoryLimiter,
    pub info: Arc<ModuleInfo>,
    pub host: SharedHost,
    /// The evaluation's instant (0 without the `time` capability).
    pub now_ms: i64,
    /// The call's input, for the `user` and `resource` of nested calls.
    pub input: Option<Arc<Value>>,
    pub depth: u32,
    pub lookups: u32,
    pub logs: LogBuffer,
    pub stdout: MemoryOutputPipe,
    pub stderr: MemoryOutputPipe,
    wasi: WasiCtx,
    table: ResourceTable,
}

/// Where the monotonic clock stands, in nanoseconds: fixed, so that a policy cannot measure
/// time passing, and not zero, which some language runtimes refuse at start-up (Go's aborts
/// with "nanotime returning zero").
pub(crate) const MONOTONIC_NS: u64 = 1_000_000_000;

/// A wall clock stopped at the evaluation's instant.
struct Stopped(Duration);

/// A monotonic clock stopped at [`MONOTONIC_NS`].
struct StoppedMonotonic;

impl HostWallClock for Stopped {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }

    fn now(&self) -> Duration {
        self.0
    }
}

impl HostMonotonicClock for StoppedMonotonic {
    fn resolution(&self) -> u64 {
        1_000_000
    }

    fn now(&self) -> u64 {
        MONOTONIC_NS
    }
}

impl ComponentState {
    pub(crate) fn new(
        limiter: MemoryLimiter,
        info: Arc<ModuleInfo>,
        host: SharedHost,
        input: Option<Arc<Value>>,
        depth: u32,
    ) -> ComponentState {
        let now_ms = if info.has_capability(&Capability::Time) {
            host.now_ms()
        } else {
            0
        };
        let instant = Duration::from_millis(u64::try_from(now_ms).unwrap_or(0));
        let stdout = MemoryOutputPipe::new(STDIO_CAPACITY);
        let stderr = MemoryOutputPipe::new(STDIO_CAPACITY);
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(Stopped(instant))
            .monotonic_clock(StoppedMonotonic)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .build();
        ComponentState {
            limiter,
            info,
            host,
            now_ms,
            input,
            depth,
            lookups: 0,
            logs: LogBuffer::default(),
            stdout,
            stderr,
            wasi,
            table: ResourceTable::new(),
        }
    }

    /// The end of what the component wrote to standard error and output (at most 1 KiB of
    /// each, stderr first), for an error message; empty when it wrote nothing.
    pub(crate) fn output_tail(&self) -> String {
        const TAIL: usize = 1024;
        let mut parts = Vec::new();
        for pipe in [&self.stderr, &self.stdout] {
            let bytes = pipe.contents();
            let text = String::from_utf8_lossy(&bytes);
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            let start = text.len().saturating_sub(TAIL);
            let start = (start..=text.len())
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(text.len());
            let cut = if start > 0 { "…" } else { "" };
            parts.push(format!("{cut}{}", &text[start..]));
        }
        parts.join(" | ")
    }

    /// Moves what the component wrote to standard output (info) and error (warn) into its
    /// logs, one message per line.
    pub(crate) fn drain_stdio(&mut self) {
        for (pipe, level) in [(&self.stdout, Level::Info), (&self.stderr, Level::Warn)] {
            let bytes = pipe.contents();
            let text = String::from_utf8_lossy(&bytes);
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let line = truncate(line);
                push_log(&self.info, &mut self.logs, level, line);
            }
        }
    }

    fn require(&self, capability: Capability, import: &str) -> wasmtime::Result<()> {
        if self.info.has_capability(&capability) {
            return Ok(());
        }
        Err(wasmtime::Error::new(HostTrap(format!(
            "`host.{import}` needs the `{capability}` capability, which the module's metadata \
             does not declare"
        ))))
    }

    /// The `user` or `resource` of the call's input, `{}` when absent.
    fn input_field(&self, key: &str) -> Value {
        self.input
            .as_ref()
            .and_then(|i| i.get(key))
            .cloned()
            .unwrap_or_else(|| Value::Object(Default::default()))
    }
}

fn truncate(message: &str) -> String {
    if message.len() <= MAX_LOG_MESSAGE {
        return message.to_owned();
    }
    let mut cut = MAX_LOG_MESSAGE;
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    message[..cut].to_owned()
}

impl WasiView for ComponentState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for ComponentState {}

impl From<types::Level> for Level {
    fn from(level: types::Level) -> Level {
        match level {
            types::Level::Debug => Level::Debug,
            types::Level::Info => Level::Info,
            types::Level::Warn => Level::Warn,
            types::Level::Error => Level::Error,
        }
    }
}

impl host::Host for ComponentState {
    fn log(&mut self, level: types::Level, message: String) -> wasmtime::Result<()> {
        self.require(Capability::Log, "log")?;
        let message = truncate(&message);
        push_log(&self.info, &mut self.logs, level.into(), message);
        Ok(())
    }

    fn now_ms(&mut self) -> wasmtime::Result<i64> {
        self.require(Capability::Time, "now-ms")?;
        Ok(self.now_ms)
    }

    fn lookup(
        &mut self,
        kind: String,
        name: String,
    ) -> wasmtime::Result<Result<String, host::LookupError>> {
        if !self.info.may_lookup(&kind) {
            return Ok(Err(host::LookupError::NotPermitted));
        }
        if self.lookups >= MAX_LOOKUPS {
            return Err(wasmtime::Error::new(HostTrap(format!(
                "more than {MAX_LOOKUPS} lookups in one call"
            ))));
        }
        self.lookups += 1;
        Ok(match self.host.lookup(&kind, &name) {
            Some(value) => Ok(value.to_string()),
            None => Err(host::LookupError::NotFound),
        })
    }

    fn call(
        &mut self,
        name: String,
        args: Vec<String>,
    ) -> wasmtime::Result<Result<String, host::CallError>> {
        self.require(Capability::Call, "call")?;
        if self.depth >= MAX_CALL_DEPTH {
            return Ok(Err(host::CallError::Failed(format!(
                "calls nest at most {MAX_CALL_DEPTH} deep"
            ))));
        }
        let mut values = Vec::with_capacity(args.len());
        for (i, arg) in args.iter().enumerate() {
            match serde_json::from_str::<Value>(arg) {
                Ok(value) => values.push(value),
                Err(e) => {
                    return Ok(Err(host::CallError::Failed(format!(
                        "argument {i} is not JSON: {e}"
                    ))))
                }
            }
        }
        let input = serde_json::json!({
            "args": values,
            "user": self.input_field("user"),
            "resource": self.input_field("resource"),
        });
        Ok(
            match self.host.call_function(&name, input, self.depth + 1) {
                Ok(result) => Ok(result.to_string()),
                Err(EvalError::NoSuchFunction(_)) => Err(host::CallError::NoSuchFunction),
                Err(e) => Err(host::CallError::Failed(e.to_string())),
            },
        )
    }
}
