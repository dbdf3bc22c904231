//! `pctl semaphores`: the leases limiting concurrent use (e.g. a user's connections, as
//! nodes take them for the roles' `max_connections`).

mod ls;
mod rm;

use super::connect::ConnectArgs;

/// `pctl semaphores` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum SemaphoresCommand {
    /// List semaphores with their live leases, one line per lease:
    /// `pctl semaphores ls --kind connection --name alice`.
    Ls(ls::LsArgs),
    /// Remove a semaphore with all its leases, freeing every slot at once:
    /// `pctl semaphores rm connection alice`.
    Rm(rm::RmArgs),
}

/// Runs a `pctl semaphores` subcommand.
pub async fn run(connect: &ConnectArgs, cmd: SemaphoresCommand) -> anyhow::Result<()> {
    match cmd {
        SemaphoresCommand::Ls(args) => ls::run(connect, args).await,
        SemaphoresCommand::Rm(args) => rm::run(connect, args).await,
    }
}
