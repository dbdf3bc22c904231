//! `pctl policy rollback NAME`.

use portcullis_api::auth::PolicyModuleName;

use crate::connect::ConnectArgs;

/// Options of `pctl policy rollback`.
#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// Module name.
    name: String,
}

/// Restores the previous version.
pub async fn run(connect: &ConnectArgs, args: RollbackArgs) -> anyhow::Result<()> {
    let client = connect.connect().await?;
    let module = client
        .rpc()
        .rollback_policy_module(PolicyModuleName {
            name: args.name.clone(),
        })
        .await?
        .into_inner();
    println!("policy module rolled back: {}", super::summary(&module));
    Ok(())
}
