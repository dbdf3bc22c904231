//! `pctl policy rm NAME`.

use portcullis_api::auth::PolicyModuleName;

use crate::connect::ConnectArgs;

/// Options of `pctl policy rm`.
#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// Module name.
    name: String,
}

/// Deletes the module.
pub async fn run(connect: &ConnectArgs, args: RmArgs) -> anyhow::Result<()> {
    let client = connect.connect().await?;
    client
        .rpc()
        .delete_policy_module(PolicyModuleName {
            name: args.name.clone(),
        })
        .await?;
    println!("policy module {} has been deleted", args.name);
    Ok(())
}
