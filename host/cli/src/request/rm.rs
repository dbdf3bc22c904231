//! `pctl request rm ID`.

use portcullis_api::auth::RequestId;

use crate::connect::ConnectArgs;

/// Options of `pctl request rm`.
#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// The request ID.
    id: String,
}

/// Deletes the request.
pub async fn run(connect: &ConnectArgs, args: RmArgs) -> anyhow::Result<()> {
    let client = connect.connect().await?;
    client
        .rpc()
        .delete_access_request(RequestId {
            id: args.id.clone(),
        })
        .await?;
    println!("access request `{}` has been deleted", args.id);
    Ok(())
}
