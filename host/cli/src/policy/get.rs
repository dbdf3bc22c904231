//! `pctl policy get NAME [--out FILE]`.

use std::path::PathBuf;

use anyhow::Context;
use portcullis_api::auth::GetPolicyModuleRequest;

use crate::connect::ConnectArgs;

/// Options of `pctl policy get`.
#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// Module name.
    name: String,
    /// Save the module bytes to this file instead of printing the description.
    #[arg(long, short = 'o')]
    out: Option<PathBuf>,
}

/// Prints the module as YAML (without its bytes), or saves its bytes.
pub async fn run(connect: &ConnectArgs, args: GetArgs) -> anyhow::Result<()> {
    let client = connect.connect().await?;
    let module = client
        .rpc()
        .get_policy_module(GetPolicyModuleRequest {
            name: args.name.clone(),
            with_wasm: args.out.is_some(),
        })
        .await?
        .into_inner();
    match args.out {
        Some(path) => {
            let wasm = module.spec.map(|s| s.wasm).unwrap_or_default();
            std::fs::write(&path, &wasm)
                .with_context(|| format!("cannot write `{}`", path.display()))?;
            println!("wrote {} ({} bytes)", path.display(), wasm.len());
        }
        None => print!("{}", serde_norway::to_string(&module)?),
    }
    Ok(())
}
