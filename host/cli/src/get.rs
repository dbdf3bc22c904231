//! `pctl get KIND[/NAME]`.

use anyhow::bail;

use super::connect::ConnectArgs;
use super::kinds::{parse_ref, Kind};
use super::output::{render, Format};

/// Options of `pctl get`.
#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// What to print: `users`, `user/alice`, `roles`, `role/admin`, `cert_authority`,
    /// `cert_authority/host` (certificate authorities are shown without private keys),
    /// `rc` (remote clusters), `rc/leaf`, `arp` (access-request policies), `arp/NAME`.
    #[arg(value_name = "KIND[/NAME]")]
    resource: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "yaml")]
    format: Format,
}

/// Prints the requested resources.
pub async fn run(connect: &ConnectArgs, args: GetArgs) -> anyhow::Result<()> {
    let (kind, name) = parse_ref(&args.resource)?;
    let client = connect.connect().await?;
    let text = match (kind, name) {
        (Kind::User, Some(name)) => render(&[client.get_user(&name, false).await?], args.format)?,
        (Kind::User, None) => render(&client.get_users(false).await?, args.format)?,
        (Kind::Role, Some(name)) => render(&[client.get_role(&name).await?], args.format)?,
        (Kind::Role, None) => render(&client.get_roles().await?, args.format)?,
        (Kind::CertAuthority, name) => {
            let ca_type = name.unwrap_or_default();
            let list = client
                .rpc()
                .get_cert_authorities(portcullis_api::auth::GetCertAuthoritiesRequest {
                    r#type: ca_type.clone(),
                    with_secrets: false,
                })
                .await?
                .into_inner()
                .cert_authorities;
            if list.is_empty() {
                bail!("no certificate authority of type `{ca_type}`");
            }
            render(&list, args.format)?
        }
        (Kind::RemoteCluster, Some(name)) => {
            let request = portcullis_api::auth::GetRemoteClusterRequest { name };
            render(
                &[client.rpc().get_remote_cluster(request).await?.into_inner()],
                args.format,
            )?
        }
        (Kind::AccessRequestPolicy, Some(name)) => {
            let request = portcullis_api::auth::AccessRequestPolicyName { name };
            let policy = client.rpc().get_access_request_policy(request).await?;
            render(&[policy.into_inner()], args.format)?
        }
        (Kind::AccessRequestPolicy, None) => {
            let list = client.rpc().get_access_request_policies(()).await?;
            render(&list.into_inner().policies, args.format)?
        }
        (Kind::RemoteCluster, None) => {
            let list = client.rpc().get_remote_clusters(()).await?.into_inner();
            render(&list.remote_clusters, args.format)?
        }
    };
    print!("{text}");
    Ok(())
}
