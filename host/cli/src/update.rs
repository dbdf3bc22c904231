//! `pctl update rc/NAME --set-labels k=v,...`.

use anyhow::bail;
use portcullis_api::auth::GetRemoteClusterRequest;

use super::connect::ConnectArgs;
use super::kinds::{parse_ref, Kind};

/// Options of `pctl update`.
#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// The resource to update: `rc/NAME` (a remote cluster).
    #[arg(value_name = "KIND/NAME")]
    resource: String,
    /// Replace its labels with these (`env=prod,team=a`); roles' `cluster_labels` match
    /// them.
    #[arg(long, value_delimiter = ',', value_parser = super::parse_label, value_name = "K=V", required = true)]
    set_labels: Vec<(String, String)>,
}

/// Replaces the labels of the resource.
pub async fn run(connect: &ConnectArgs, args: UpdateArgs) -> anyhow::Result<()> {
    let (kind, name) = parse_ref(&args.resource)?;
    let (Kind::RemoteCluster, Some(name)) = (kind, name) else {
        bail!(
            "`pctl update` changes the labels of remote clusters: `pctl update rc/NAME --set-labels k=v`"
        );
    };
    let client = connect.connect().await?;
    let mut cluster = client
        .rpc()
        .get_remote_cluster(GetRemoteClusterRequest { name: name.clone() })
        .await?
        .into_inner();
    cluster.metadata.get_or_insert_with(Default::default).labels =
        args.set_labels.into_iter().collect();
    client.rpc().update_remote_cluster(cluster).await?;
    println!("remote cluster `{name}` has been updated");
    Ok(())
}
