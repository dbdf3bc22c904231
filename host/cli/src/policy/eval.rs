//! `pctl policy eval NAME --hook HOOK --input ctx.json`: a dry run on the server.

use std::path::PathBuf;

use anyhow::bail;
use portcullis_api::auth::EvaluatePolicyRequest;

use crate::connect::ConnectArgs;

/// Options of `pctl policy eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Name of an uploaded module.
    name: String,
    /// Hook to call: where, action, access_request, or fn:NAME.
    #[arg(long)]
    hook: String,
    /// The hook's input (JSON); `-` reads standard input.
    #[arg(long)]
    input: PathBuf,
}

/// Runs the hook on the server and prints the result; fails when the evaluation fails.
pub async fn run(connect: &ConnectArgs, args: EvalArgs) -> anyhow::Result<()> {
    let input = crate::read_input(&args.input)?;
    let client = connect.connect().await?;
    let response = client
        .rpc()
        .evaluate_policy(EvaluatePolicyRequest {
            name: args.name.clone(),
            hook: args.hook.clone(),
            input,
        })
        .await?
        .into_inner();
    for line in &response.logs {
        println!("log {line}");
    }
    if !response.error.is_empty() {
        bail!("evaluation of `{}` failed: {}", args.name, response.error);
    }
    println!("output: {}", response.output);
    println!("fuel used: {}", response.fuel_used);
    Ok(())
}
