//! `pctl policy test FILE.wasm`: runs a module offline, on one input (`--hook H --input
//! in.json`) or on the cases of a test file (`--cases FILE.yaml`, see [`super::cases`]).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use portcullis_policy::{Hook, Limits, Offline, OfflineReport};

use super::cases::TestFile;
use super::limits::LimitArgs;

/// Options of `pctl policy test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// The module file (.wasm): a core module (ABI v1) or a component (ABI v2).
    file: PathBuf,
    /// Hook to call: where, action, access_request, or function:NAME (also fn:NAME) for an
    /// extra function.
    #[arg(long, required_unless_present = "cases", conflicts_with = "cases")]
    hook: Option<String>,
    /// The hook's input (JSON, as guest-sdk/ABI.md §4 describes); `-` reads standard input.
    #[arg(long, required_unless_present = "cases", conflicts_with = "cases")]
    input: Option<PathBuf>,
    /// A test file (YAML or JSON) of cases, each an input and what it must give; every case
    /// runs and prints PASS or FAIL with the module's logs.
    #[arg(long, value_name = "FILE")]
    cases: Option<PathBuf>,
    /// Fix the clock the module sees (RFC 3339 with any offset, e.g. 2026-11-24T10:00:00Z or
    /// 2026-11-24T12:00:00+02:00; times before 1970 too).
    #[arg(long, value_name = "TIME", conflicts_with = "cases")]
    now: Option<String>,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Where compiled modules are kept between runs (a large component compiles once).
fn cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("portcullis").join("pctl-compiled"))
}

/// Milliseconds since the Unix epoch of an RFC 3339 time (negative before 1970).
pub(crate) fn parse_now(text: &str) -> anyhow::Result<i64> {
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .with_context(|| {
            format!("`{text}` is not an RFC 3339 time (e.g. 2026-11-24T10:00:00Z or 2026-11-24T12:00:00+02:00)")
        })?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).context("the time is out of range")
}

fn limits(args: &LimitArgs) -> Limits {
    let defaults = Limits::default();
    let bytes = |v: Option<u64>, d: usize| {
        v.map(|m| usize::try_from(m).unwrap_or(usize::MAX))
            .unwrap_or(d)
    };
    Limits {
        fuel: args.fuel.unwrap_or(defaults.fuel),
        timeout: args.timeout.unwrap_or(defaults.timeout),
        memory_bytes: bytes(args.memory, defaults.memory_bytes),
        output_bytes: bytes(args.output, defaults.output_bytes),
    }
}

/// Runs the module and prints its output (or each case's result), log lines and fuel
/// used. Exits non-zero when the evaluation fails, or when any case fails.
pub fn run(args: TestArgs) -> anyhow::Result<()> {
    let wasm = std::fs::read(&args.file)
        .with_context(|| format!("cannot read `{}`", args.file.display()))?;
    let cases = args.cases.as_deref().map(TestFile::read).transpose()?;
    let module = Offline::load(&wasm, Some(limits(&args.limits)), cache_dir())
        .with_context(|| format!("`{}` is not a usable policy module", args.file.display()))?;
    match (cases, args.cases.as_deref()) {
        (Some(file), Some(path)) => run_cases(&module, &file, path),
        _ => run_one(&module, &args),
    }
}

fn run_one(module: &Offline, args: &TestArgs) -> anyhow::Result<()> {
    let hook: Hook = args.hook.as_deref().unwrap_or_default().parse()?;
    let input_path = args.input.as_deref().unwrap_or(Path::new("-"));
    let text = crate::read_input(input_path)?;
    let input: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("`{}` is not valid JSON", input_path.display()))?;
    let now_ms = args
        .now
        .as_deref()
        .map(parse_now)
        .transpose()
        .context("--now")?;
    let report = module.run(&hook, &input, now_ms);
    print_logs(&report, "");
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

fn print_logs(report: &OfflineReport, indent: &str) {
    for (level, message) in &report.logs {
        println!("{indent}log {level}: {message}");
    }
}

fn run_cases(module: &Offline, file: &TestFile, path: &Path) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let (mut passed, mut failed) = (0, 0);
    for case in &file.cases {
        let hook = case
            .hook
            .as_deref()
            .or(file.hook.as_deref())
            .with_context(|| format!("case `{}` names no hook, and the file none", case.name))?;
        let hook: Hook = hook
            .parse()
            .with_context(|| format!("case `{}`", case.name))?;
        let input = case.input(dir)?;
        let now_ms = case
            .now
            .as_deref()
            .map(parse_now)
            .transpose()
            .with_context(|| format!("case `{}`: now", case.name))?;
        let report = module.run(&hook, &input, now_ms);
        let output = report.output.clone().map_err(|e| e.to_string());
        match case.expect.mismatch(&output) {
            None => {
                passed += 1;
                println!("PASS  {} (fuel {})", case.name, report.fuel_used);
            }
            Some(why) => {
                failed += 1;
                println!("FAIL  {}: {why}", case.name);
            }
        }
        print_logs(&report, "      ");
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        bail!("{failed} of {} cases failed", file.cases.len());
    }
    Ok(())
}
