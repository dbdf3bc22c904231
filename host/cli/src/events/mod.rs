//! `pctl events`: changes to the cluster's resources as they happen.

mod watch;

use super::connect::ConnectArgs;

/// `pctl events` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum EventsCommand {
    /// Print every change to the given kinds as it happens (WatchEvents):
    /// `pctl events watch --kind access_request --filter state=PENDING`.
    Watch(watch::WatchArgs),
}

/// Runs a `pctl events` subcommand.
pub async fn run(connect: &ConnectArgs, cmd: EventsCommand) -> anyhow::Result<()> {
    match cmd {
        EventsCommand::Watch(args) => watch::run(connect, args).await,
    }
}
