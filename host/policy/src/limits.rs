//! Per-call limits (ABI.md §3 "Errors and limits").

use std::time::Duration;

/// Default instruction budget per call.
pub const DEFAULT_FUEL: u64 = 10_000_000;
/// Default wall-clock deadline per call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(100);
/// Default memory cap per instance (16 MiB).
pub const DEFAULT_MEMORY_BYTES: usize = 16 * 1024 * 1024;
/// Default output limit (64 KiB).
pub const DEFAULT_OUTPUT_BYTES: usize = 64 * 1024;

/// What one evaluation may consume. Server-wide defaults, overridable per module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Instruction budget (wasmtime fuel) for the whole call, `portcullis_alloc` included.
    pub fuel: u64,
    /// Wall-clock deadline, enforced with epoch interruption (millisecond ticks).
    pub timeout: Duration,
    /// The most linear memory the instance may have, in bytes.
    pub memory_bytes: usize,
    /// The largest output accepted, in bytes.
    pub output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: DEFAULT_FUEL,
            timeout: DEFAULT_TIMEOUT,
            memory_bytes: DEFAULT_MEMORY_BYTES,
            output_bytes: DEFAULT_OUTPUT_BYTES,
        }
    }
}

impl Limits {
    /// Gives `store` this evaluation's budget: the fuel, and the deadline counted in ticks
    /// of `epoch_tick` (one more than the timeout spans, so a call is never cut short of it).
    pub(crate) fn apply<T>(&self, store: &mut wasmtime::Store<T>, epoch_tick: Duration) {
        // Cannot fail: fuel consumption is enabled on every engine we build.
        let _ = store.set_fuel(self.fuel);
        let tick = epoch_tick.as_nanos().max(1);
        let ticks = self.timeout.as_nanos().div_ceil(tick) + 1;
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
    }
}
