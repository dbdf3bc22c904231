//! `pctl tokens rm TOKEN`.

use portcullis_api::auth::DeleteTokenRequest;

use crate::connect::ConnectArgs;

/// Options of `pctl tokens rm`.
#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// The token value.
    token: String,
}

/// Deletes the token (static tokens from the configuration file cannot be deleted).
pub async fn run(connect: &ConnectArgs, args: RmArgs) -> anyhow::Result<()> {
    let client = connect.connect().await?;
    client
        .rpc()
        .delete_token(DeleteTokenRequest {
            token: args.token.clone(),
        })
        .await?;
    println!(
        "token {} deleted",
        portcullis_api::tokens::redact(&args.token)
    );
    Ok(())
}
