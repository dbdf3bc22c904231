//! `pctl apps ls [--namespace NS] [--json]`: the applications that live application servers
//! announce, one row per application (a server may serve several). A user sees only the
//! applications their roles' `app_labels` grant.

use portcullis_api::auth::GetAppServersRequest;

use super::connect::ConnectArgs;

/// `pctl apps` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AppsCommand {
    /// List the applications of the live application servers: name, public address, URI,
    /// labels and the server (host) serving it.
    Ls {
        /// Namespace of the application servers.
        #[arg(long, default_value = "default")]
        namespace: String,
        /// Print the application servers as JSON (one array of `ServerV2` resources).
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `pctl apps` subcommand.
pub async fn run(connect: &ConnectArgs, cmd: AppsCommand) -> anyhow::Result<()> {
    let AppsCommand::Ls { namespace, json } = cmd;
    let client = connect.connect().await?;
    let request = GetAppServersRequest {
        namespace,
        skip_validation: false,
    };
    let servers = client
        .rpc()
        .get_app_servers(request)
        .await?
        .into_inner()
        .servers;
    let header = ["NAME", "PUBLIC ADDRESS", "URI", "LABELS", "HOST"];
    crate::output::print_served(&servers, json, "apps", &header, |server| {
        let host = server
            .metadata
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default();
        let apps = server.spec.iter().flat_map(|s| &s.apps);
        apps.map(|app| {
            let labels = crate::output::labels(&app.static_labels, &app.dynamic_labels);
            vec![
                app.name.clone(),
                app.public_addr.clone(),
                app.uri.clone(),
                labels,
                host.clone(),
            ]
        })
        .collect()
    })
}
