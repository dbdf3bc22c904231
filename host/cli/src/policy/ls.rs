//! `pctl policy ls`.

use crate::connect::ConnectArgs;

/// Options of `pctl policy ls` (none).
#[derive(Debug, clap::Args)]
pub struct LsArgs {}

/// Prints one line per module.
pub async fn run(connect: &ConnectArgs, _args: LsArgs) -> anyhow::Result<()> {
    let client = connect.connect().await?;
    let modules = client
        .rpc()
        .get_policy_modules(())
        .await?
        .into_inner()
        .policy_modules;
    if modules.is_empty() {
        println!("no policy modules");
    }
    for module in &modules {
        println!("{}", super::summary(module));
    }
    Ok(())
}
