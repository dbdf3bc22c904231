//! `pctl tokens add --type node,proxy [--ttl 1h] [--value V] [--labels k=v,...]`.

use std::time::{Duration, SystemTime};

use anyhow::Context;
use portcullis_api::auth::GenerateTokenRequest;

use crate::connect::ConnectArgs;

/// Options of `pctl tokens add`.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The system roles a host joining with the token may take: node, proxy, app, kube,
    /// db, windowsdesktop, auth, trusted_cluster (comma-separated).
    #[arg(
        long = "type",
        value_delimiter = ',',
        required = true,
        value_name = "ROLES"
    )]
    roles: Vec<String>,
    /// How long the token is valid (default 30m, at most 48h).
    #[arg(long, value_parser = humantime::parse_duration)]
    ttl: Option<Duration>,
    /// The token value (default: 16 random bytes, hex); at least 8 characters.
    #[arg(long)]
    value: Option<String>,
    /// Labels a leaf cluster joining with the token inherits (`env=prod`, comma-separated).
    #[arg(long, value_delimiter = ',', value_parser = crate::parse_label, value_name = "K=V")]
    labels: Vec<(String, String)>,
}

/// Creates the token and prints it with what it allows and until when.
pub async fn run(connect: &ConnectArgs, args: AddArgs) -> anyhow::Result<()> {
    let ttl = args
        .ttl
        .unwrap_or(portcullis_api::tokens::DEFAULT_TOKEN_TTL);
    let ttl_nanos = i64::try_from(ttl.as_nanos()).context("--ttl is too long")?;
    let client = connect.connect().await?;
    let token = client
        .rpc()
        .generate_token(GenerateTokenRequest {
            token: args.value.unwrap_or_default(),
            roles: args.roles.clone(),
            ttl: ttl_nanos,
            labels: args.labels.into_iter().collect(),
        })
        .await?
        .into_inner()
        .token;
    let expires = humantime::format_rfc3339_seconds(SystemTime::now() + ttl);
    println!("{token}");
    eprintln!(
        "The token allows joining as {} until {expires} ({}). Hosts present it to \
         RegisterUsingToken; they verify the server with the host CA \
         (`pctl auth export --type tls-host`).",
        args.roles.join(", "),
        humantime::format_duration(ttl)
    );
    Ok(())
}
