//! `pctl proxies ls [--json]`: the proxies announcing themselves to the cluster.

use super::connect::ConnectArgs;

/// `pctl proxies` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ProxiesCommand {
    /// List the live proxies (whose lease has not lapsed) with their labels.
    Ls {
        /// Print the proxies as JSON (one array of `ServerV2` resources).
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `pctl proxies` subcommand.
pub async fn run(connect: &ConnectArgs, cmd: ProxiesCommand) -> anyhow::Result<()> {
    match cmd {
        ProxiesCommand::Ls { json } => {
            let client = connect.connect().await?;
            let proxies = client.rpc().get_proxies(()).await?.into_inner().servers;
            super::nodes::ls::print(&proxies, json, "proxies")
        }
    }
}
