//! `pctl users unlock NAME`.

use anyhow::Context;
use portcullis_api::auth::UnlockUserRequest;

use crate::connect::ConnectArgs;

/// Options of `pctl users unlock`.
#[derive(Debug, clap::Args)]
pub struct UnlockArgs {
    /// User name.
    name: String,
}

/// Lifts the user's lockout and forgets its failed password checks.
pub async fn run(connect: &ConnectArgs, args: UnlockArgs) -> anyhow::Result<()> {
    let client = connect.connect().await?;
    client
        .rpc()
        .unlock_user(UnlockUserRequest {
            name: args.name.clone(),
        })
        .await
        .with_context(|| format!("cannot unlock user `{}`", args.name))?;
    println!("user `{}` has been unlocked", args.name);
    Ok(())
}
