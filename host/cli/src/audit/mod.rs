//! `pctl audit`: the audit log — list it, add to it, check its hash chains.

mod emit;
mod ls;
mod verify;

use std::time::SystemTime;

use anyhow::Context;

use super::connect::ConnectArgs;

/// How `pctl audit ls` shows the emitter of the auth server's own events.
const SERVER: &str = "(server)";

/// `pctl audit` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// List audit events, oldest first (`pctl audit ls --since 1h --event rule.action`).
    Ls(ls::LsArgs),
    /// Record an event in the audit log as the caller (`pctl audit emit --type app.deploy
    /// --fields '{"app":"web"}'`).
    ///
    /// Needs `create` on `event`. The server records the event with the time it received it
    /// and the caller's identity as its emitter; the time given here is kept in the field
    /// `occurred`. A user may name only itself as the event's user; hosts may name any.
    Emit(emit::EmitArgs),
    /// Check the audit log's hash chains; exits non-zero when an event was altered, removed
    /// or reordered.
    ///
    /// Every server process writes its events into a hash chain of its own: each event
    /// holds the digest of the one before it, and a head record names the chain's newest
    /// event. For each broken chain, the check prints the first event that was altered, that
    /// follows removed events (or whose chain lost its newest ones), or that is out of
    /// order, and then fails; otherwise it prints `audit log intact: N events in M chains`.
    /// Needs `list` and `read` on `event`.
    Verify(verify::VerifyArgs),
}

/// Runs a `pctl audit` subcommand.
pub async fn run(connect: &ConnectArgs, cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Ls(args) => ls::run(connect, args).await,
        AuditCommand::Emit(args) => emit::run(connect, args).await,
        AuditCommand::Verify(args) => verify::run(connect, args).await,
    }
}

/// The `Since` of a request: an RFC 3339 time as given, or now minus a duration.
fn since(text: &str) -> anyhow::Result<String> {
    if humantime::parse_rfc3339_weak(text).is_ok() {
        return Ok(text.to_owned());
    }
    let ago = humantime::parse_duration(text)
        .with_context(|| format!("--since `{text}` is neither a duration nor an RFC 3339 time"))?;
    let at = SystemTime::now()
        .checked_sub(ago)
        .with_context(|| format!("--since `{text}` is too long ago"))?;
    Ok(humantime::format_rfc3339_nanos(at).to_string())
}
