//! `pctl audit`: the audit log.

mod ls;

use super::connect::ConnectArgs;

/// `pctl audit` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// List audit events, oldest first (`pctl audit ls --since 1h --event rule.action`).
    Ls(ls::LsArgs),
}

/// Runs a `pctl audit` subcommand.
pub async fn run(connect: &ConnectArgs, cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Ls(args) => ls::run(connect, args).await,
    }
}
