//! `pctl tokens`: provisioning tokens for joining hosts and leaf clusters.

mod add;
mod ls;
mod rm;

use super::connect::ConnectArgs;

/// `pctl tokens` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum TokensCommand {
    /// Create a token (`pctl tokens add --type node,proxy --ttl 1h`).
    Add(add::AddArgs),
    /// List tokens; values are shown only with `--with-secrets`.
    Ls(ls::LsArgs),
    /// Delete a token (`pctl tokens rm TOKEN`).
    Rm(rm::RmArgs),
}

/// Runs a `pctl tokens` subcommand.
pub async fn run(connect: &ConnectArgs, cmd: TokensCommand) -> anyhow::Result<()> {
    match cmd {
        TokensCommand::Add(args) => add::run(connect, args).await,
        TokensCommand::Ls(args) => ls::run(connect, args).await,
        TokensCommand::Rm(args) => rm::run(connect, args).await,
    }
}
