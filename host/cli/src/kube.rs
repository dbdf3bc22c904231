//! `pctl kube ls [--json]`: the Kubernetes clusters that live Kubernetes services announce,
//! one row per cluster. A user sees only the clusters their roles' `kubernetes_labels` grant.

use portcullis_api::auth::GetKubeServicesRequest;

use super::connect::ConnectArgs;

/// `pctl kube` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum KubeCommand {
    /// List the Kubernetes clusters of the live Kubernetes services: name, labels and the
    /// service (host) serving it.
    Ls {
        /// Print the Kubernetes services as JSON (one array of `ServerV2` resources).
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `pctl kube` subcommand.
pub async fn run(connect: &ConnectArgs, cmd: KubeCommand) -> anyhow::Result<()> {
    let KubeCommand::Ls { json } = cmd;
    let client = connect.connect().await?;
    let request = GetKubeServicesRequest {};
    let servers = client
        .rpc()
        .get_kube_services(request)
        .await?
        .into_inner()
        .servers;
    let header = ["NAME", "LABELS", "HOST"];
    crate::output::print_served(&servers, json, "Kubernetes clusters", &header, |server| {
        let host = server
            .metadata
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default();
        let clusters = server.spec.iter().flat_map(|s| &s.kubernetes_clusters);
        clusters
            .map(|c| {
                let labels = crate::output::labels(&c.static_labels, &c.dynamic_labels);
                vec![c.name.clone(), labels, host.clone()]
            })
            .collect()
    })
}
