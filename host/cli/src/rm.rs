//! `pctl rm KIND/NAME`.

use anyhow::bail;

use super::connect::ConnectArgs;
use super::kinds::{parse_ref, Kind};
use portcullis_api::kinds::KIND_ACCESS_REQUEST_POLICY;
use portcullis_api::kinds::{KIND_CERT_AUTHORITY, KIND_REMOTE_CLUSTER, KIND_ROLE, KIND_USER};

/// Options of `pctl rm`.
#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// The resource to remove: `user/NAME`, `role/NAME`, `rc/NAME` (a remote cluster) or
    /// `arp/NAME` (an access-request policy).
    #[arg(value_name = "KIND/NAME")]
    resource: String,
}

/// Removes one resource.
pub async fn run(connect: &ConnectArgs, args: RmArgs) -> anyhow::Result<()> {
    let (kind, name) = parse_ref(&args.resource)?;
    let Some(name) = name else {
        bail!("name the resource to remove: `{}/NAME`", args.resource);
    };
    let client = connect.connect().await?;
    match kind {
        Kind::User => client.delete_user(&name).await?,
        Kind::Role => client.delete_role(&name).await?,
        Kind::CertAuthority => {
            bail!("certificate authorities cannot be removed; rotate them instead")
        }
        Kind::RemoteCluster => {
            let request = portcullis_api::auth::DeleteRemoteClusterRequest { name: name.clone() };
            client.rpc().delete_remote_cluster(request).await?;
        }
        Kind::AccessRequestPolicy => {
            let request = portcullis_api::auth::AccessRequestPolicyName { name: name.clone() };
            client.rpc().delete_access_request_policy(request).await?;
        }
    }
    let word = match kind {
        Kind::User => KIND_USER,
        Kind::Role => KIND_ROLE,
        Kind::CertAuthority => KIND_CERT_AUTHORITY,
        Kind::RemoteCluster => KIND_REMOTE_CLUSTER,
        Kind::AccessRequestPolicy => KIND_ACCESS_REQUEST_POLICY,
    };
    println!("{word} `{name}` has been deleted");
    Ok(())
}
