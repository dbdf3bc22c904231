//! `pctl policy test FILE.wasm --hook HOOK --input ctx.json`: runs a module offline.

use std::path::PathBuf;

use anyhow::{bail, Context};
use portcullis_policy::Limits;

use super::limits::LimitArgs;

/// Options of `pctl policy test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// The module file (.wasm).
    file: PathBuf,
    /// Hook to call: where, action, access_request, or fn:NAME for an extra function.
    #[arg(long)]
    hook: String,
    /// The hook's input (JSON, as guest-sdk/ABI.md §4 describes); `-` reads standard input.
    #[arg(long)]
    input: PathBuf,
    /// Fix the clock the module sees (RFC 3339, e.g. 2026-11-24T10:00:00Z).
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Runs the module and prints its output, log lines and fuel used. Exits non-zero when the
/// evaluation fails (trap, limit, malformed output, or an error the module reports).
pub fn run(args: TestArgs) -> anyhow::Result<()> {
    let hook: portcullis_policy::Hook = args.hook.parse()?;
    let wasm = std::fs::read(&args.file)
        .with_context(|| format!("cannot read `{}`", args.file.display()))?;
    let text = crate::read_input(&args.input)?;
    let input: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("`{}` is not valid JSON", args.input.display()))?;
    let now_ms = match &args.now {
        None => None,
        Some(t) => {
            let at = humantime::parse_rfc3339(t)
                .with_context(|| format!("--now `{t}` is not an RFC 3339 time"))?;
            let ms = at
                .duration_since(std::time::UNIX_EPOCH)
                .context("--now is before 1970")?
                .as_millis();
            Some(i64::try_from(ms).context("--now is too far in the future")?)
        }
    };
    let defaults = Limits::default();
    let limits = Limits {
        fuel: args.limits.fuel.unwrap_or(defaults.fuel),
        timeout: args.limits.timeout.unwrap_or(defaults.timeout),
        memory_bytes: args
            .limits
            .memory
            .map(|m| usize::try_from(m).unwrap_or(usize::MAX))
            .unwrap_or(defaults.memory_bytes),
        output_bytes: args
            .limits
            .output
            .map(|m| usize::try_from(m).unwrap_or(usize::MAX))
            .unwrap_or(defaults.output_bytes),
    };
    let report = portcullis_policy::run_offline(&wasm, &hook, &input, Some(limits), now_ms)
        .with_context(|| format!("`{}` is not a usable policy module", args.file.display()))?;
    for (level, message) in &report.logs {
        println!("log {level}: {message}");
    }
    println!("fuel used: {}", report.fuel_used);
    println!("elapsed: {:?}", report.elapsed);
    match report.output {
        Ok(output) => {
            println!("output: {}", serde_json::to_string_pretty(&output)?);
            Ok(())
        }
        Err(e) => bail!("evaluation of `{}` failed: {e}", args.file.display()),
    }
}
