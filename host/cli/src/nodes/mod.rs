//! `pctl nodes`: the nodes announcing themselves to the cluster.

pub(super) mod ls;

use super::connect::ConnectArgs;

/// `pctl nodes` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum NodesCommand {
    /// List the live nodes (whose lease has not lapsed) with their labels:
    /// `pctl nodes ls --labels env=prod`.
    Ls(ls::LsArgs),
}

/// Runs a `pctl nodes` subcommand.
pub async fn run(connect: &ConnectArgs, cmd: NodesCommand) -> anyhow::Result<()> {
    match cmd {
        NodesCommand::Ls(args) => ls::run(connect, args).await,
    }
}
