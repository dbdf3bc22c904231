//! `pctl tokens ls [--with-secrets] [--json]`.

use portcullis_api::auth::GetTokensRequest;
use portcullis_api::services::ProvisionTokenV2;

use crate::connect::ConnectArgs;
use portcullis_api::time::to_system_time;

/// Options of `pctl tokens ls`.
#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// Show token values (needs `read` on `token`); otherwise they are masked.
    #[arg(long)]
    with_secrets: bool,
    /// Print the tokens as JSON.
    #[arg(long)]
    json: bool,
}

fn line(token: &ProvisionTokenV2) -> String {
    let metadata = token.metadata.clone().unwrap_or_default();
    let roles = token
        .spec
        .as_ref()
        .map(|s| s.roles.join(","))
        .unwrap_or_default();
    let labels: Vec<String> = metadata
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let expires = metadata.expires.and_then(to_system_time).map_or_else(
        || "never".to_owned(),
        |t| humantime::format_rfc3339_seconds(t).to_string(),
    );
    format!(
        "{:<34} {:<24} {:<24} {expires}",
        metadata.name,
        roles,
        labels.join(",")
    )
}

/// Prints one line per token: value, roles, labels, expiry.
pub async fn run(connect: &ConnectArgs, args: LsArgs) -> anyhow::Result<()> {
    let client = connect.connect().await?;
    let tokens = client
        .rpc()
        .get_tokens(GetTokensRequest {
            with_secrets: args.with_secrets,
        })
        .await?
        .into_inner()
        .provision_tokens;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&tokens)?);
        return Ok(());
    }
    if tokens.is_empty() {
        println!("no tokens");
        return Ok(());
    }
    println!("{:<34} {:<24} {:<24} EXPIRES", "TOKEN", "TYPE", "LABELS");
    for token in &tokens {
        println!("{}", line(token));
    }
    Ok(())
}
