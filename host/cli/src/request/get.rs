//! `pctl request get ID [--format yaml|json]`.

use anyhow::bail;
use portcullis_api::services::AccessRequestFilter;

use crate::connect::ConnectArgs;
use crate::output::{render, Format};

/// Options of `pctl request get`.
#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// The request ID.
    id: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "yaml")]
    format: Format,
}

/// Prints the request.
pub async fn run(connect: &ConnectArgs, args: GetArgs) -> anyhow::Result<()> {
    let client = connect.connect().await?;
    let requests = client
        .rpc()
        .get_access_requests(AccessRequestFilter {
            id: args.id.clone(),
            ..AccessRequestFilter::default()
        })
        .await?
        .into_inner()
        .access_requests;
    if requests.is_empty() {
        bail!("access request `{}` not found", args.id);
    }
    print!("{}", render(&requests, args.format)?);
    Ok(())
}
