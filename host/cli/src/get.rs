//! `pctl get KIND[/NAME]`.

use anyhow::bail;

use super::connect::ConnectArgs;
use super::kinds::{parse_ref, Kind};
use super::output::{render, Format, Printer};
use portcullis_api::{for_each_page, Client, PAGE_SIZE};

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

/// Users printed at once while they stream in.
const USERS_CHUNK: usize = 100;

/// Prints every user as the server streams them, a chunk at a time.
async fn print_users(client: &Client, format: Format) -> anyhow::Result<()> {
    let mut printer = Printer::new(format);
    let mut stream = client.users_stream(false).await?;
    let mut chunk = Vec::with_capacity(USERS_CHUNK);
    while let Some(user) = stream.message().await? {
        chunk.push(user);
        if chunk.len() == USERS_CHUNK {
            printer.print(&chunk)?;
            chunk.clear();
        }
    }
    printer.print(&chunk)?;
    print!("{}", printer.end());
    Ok(())
}

/// Prints every role, a page at a time as the pages arrive.
async fn print_roles(client: &Client, format: Format) -> anyhow::Result<()> {
    let mut printer = Printer::new(format);
    for_each_page(
        |after| client.roles_page(after, PAGE_SIZE),
        |roles| printer.print(&roles),
    )
    .await?;
    print!("{}", printer.end());
    Ok(())
}

/// Prints the requested resources.
pub async fn run(connect: &ConnectArgs, args: GetArgs) -> anyhow::Result<()> {
    let (kind, name) = parse_ref(&args.resource)?;
    let client = connect.connect().await?;
    let text = match (kind, name) {
        (Kind::User, Some(name)) => render(&[client.get_user(&name, false).await?], args.format)?,
        (Kind::User, None) => return print_users(&client, args.format).await,
        (Kind::Role, Some(name)) => render(&[client.get_role(&name).await?], args.format)?,
        (Kind::Role, None) => return print_roles(&client, args.format).await,
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
