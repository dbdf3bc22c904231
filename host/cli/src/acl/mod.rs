//! `pctl acl`: access control questions.

mod check;

use super::connect::ConnectArgs;

/// `pctl acl` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AclCommand {
    /// Whether a user may apply a verb to a resource, and which role and rule decided
    /// (`pctl acl check --user alice --verb read --resource role/dba`).
    Check(check::CheckArgs),
}

/// Runs a `pctl acl` subcommand.
pub async fn run(connect: &ConnectArgs, cmd: AclCommand) -> anyhow::Result<()> {
    match cmd {
        AclCommand::Check(args) => check::run(connect, args).await,
    }
}
