//! `pctl sessions play ID [--speed X] [--raw]`: the terminal output again, with its timing.
//!
//! `print` events carry the terminal bytes base64-encoded in `fields.data`; their time
//! (or `fields.ms`, milliseconds since the session started, when present) sets the pace.

use std::io::Write;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context};
use base64::Engine;
use portcullis_api::events::OneOf;

use crate::connect::ConnectArgs;

/// Options of `pctl sessions play`.
#[derive(Debug, clap::Args)]
pub struct PlayArgs {
    /// The session ID.
    id: String,
    /// Play this many times faster (`2`, `0.5`); pauses are never longer than 5 seconds
    /// of playback.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Write the terminal bytes at once, without pauses or the closing line (for a file or
    /// a pipe).
    #[arg(long)]
    raw: bool,
}

/// Longest pause between two outputs, after `--speed`.
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// When the event happened, relative to the session start.
fn offset(
    event: &OneOf,
    fields: &serde_json::Value,
    start: Option<SystemTime>,
) -> Option<Duration> {
    if let Some(ms) = fields.get("ms").and_then(serde_json::Value::as_u64) {
        return Some(Duration::from_millis(ms));
    }
    let at = event.time.and_then(portcullis_api::time::to_system_time)?;
    at.duration_since(start?).ok()
}

/// Writes the `print` events' bytes to standard output, pausing as the session did.
pub async fn run(connect: &ConnectArgs, args: PlayArgs) -> anyhow::Result<()> {
    if !(args.speed.is_finite() && args.speed > 0.0) {
        bail!("--speed `{}` must be a positive number", args.speed);
    }
    let client = connect.connect().await?;
    let mut events = Vec::new();
    super::for_each_event(&client, &args.id, |event| {
        events.push(event);
        Ok(())
    })
    .await?;
    let start = events
        .first()
        .and_then(|e| e.time)
        .and_then(portcullis_api::time::to_system_time);
    let mut out = std::io::stdout().lock();
    let mut played = Duration::ZERO;
    let mut prints = 0usize;
    for event in &events {
        if event.r#type != "print" {
            continue;
        }
        let fields: serde_json::Value = serde_json::from_str(&event.fields)
            .with_context(|| format!("event {} has fields that are not JSON", event.index))?;
        let data = fields
            .get("data")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .with_context(|| format!("event {}: `data` is not base64", event.index))?;
        if !args.raw {
            if let Some(at) = offset(event, &fields, start) {
                let pause = at.saturating_sub(played).div_f64(args.speed).min(MAX_PAUSE);
                if !pause.is_zero() {
                    out.flush()?;
                    tokio::time::sleep(pause).await;
                }
                played = played.max(at);
            }
        }
        out.write_all(&bytes)?;
        prints += 1;
    }
    if !args.raw {
        writeln!(out, "\r\n[end of session {}: {prints} outputs]", args.id)?;
    }
    out.flush()?;
    Ok(())
}
