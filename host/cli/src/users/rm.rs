//! `pctl users rm NAME`.

use anyhow::Context;

use crate::connect::ConnectArgs;

/// Options of `pctl users rm`.
#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// User name.
    name: String,
}

/// Deletes the user (the server deletes its credentials, web sessions and keys too).
pub async fn run(connect: &ConnectArgs, args: RmArgs) -> anyhow::Result<()> {
    let client = connect.connect().await?;
    client
        .delete_user(&args.name)
        .await
        .with_context(|| format!("cannot delete user `{}`", args.name))?;
    println!("user `{}` has been deleted", args.name);
    Ok(())
}
