//! Limit flags shared by `upload` and `test`.

use std::time::Duration;

use portcullis_api::services::PolicyLimits;

/// Per-call limits; unset ones take the defaults (server-wide for uploads).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LimitArgs {
    /// Instruction budget per call (wasmtime fuel).
    #[arg(long, value_name = "N")]
    pub fuel: Option<u64>,
    /// Wall-clock deadline per call, e.g. `100ms`.
    #[arg(long, value_parser = humantime::parse_duration, value_name = "D")]
    pub timeout: Option<Duration>,
    /// Largest linear memory, in bytes (e.g. 16777216).
    #[arg(long, value_name = "BYTES")]
    pub memory: Option<u64>,
    /// Largest output document, in bytes.
    #[arg(long, value_name = "BYTES")]
    pub output: Option<u64>,
}

impl LimitArgs {
    /// The limits as sent to the server (zero = default).
    pub fn to_proto(&self) -> Option<PolicyLimits> {
        let any = self.fuel.is_some()
            || self.timeout.is_some()
            || self.memory.is_some()
            || self.output.is_some();
        any.then(|| PolicyLimits {
            fuel: self.fuel.unwrap_or(0),
            timeout: self
                .timeout
                .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
                .unwrap_or(0),
            memory_bytes: self.memory.unwrap_or(0),
            output_bytes: self.output.unwrap_or(0),
        })
    }
}
