//! `pctl users reset NAME [--ttl 8h]`, and the token printing `pctl users add` shares.

use std::time::Duration;

use anyhow::Context;
use portcullis_api::auth::CreateResetPasswordTokenRequest;
use portcullis_api::time::to_system_time;
use portcullis_api::Client;

use crate::connect::ConnectArgs;

/// Options of `pctl users reset`.
#[derive(Debug, clap::Args)]
pub struct ResetArgs {
    /// User name.
    name: String,
    /// How long the reset token is valid (default 8h, at most 48h).
    #[arg(long, value_parser = humantime::parse_duration)]
    ttl: Option<Duration>,
}

/// Creates a reset token (which removes the user's password, second factor and web
/// sessions) and prints it.
pub async fn run(connect: &ConnectArgs, args: ResetArgs) -> anyhow::Result<()> {
    let client = connect.connect().await?;
    print_token(&client, &args.name, "reset", args.ttl).await
}

/// Creates a token of `kind` (`invite` or `reset`) for `name` and prints it with its
/// expiry and how the user sets a password with it.
pub(super) async fn print_token(
    client: &Client,
    name: &str,
    kind: &str,
    ttl: Option<Duration>,
) -> anyhow::Result<()> {
    let ttl = match ttl {
        Some(ttl) => i64::try_from(ttl.as_nanos()).context("--ttl is too long")?,
        None => 0,
    };
    let token = client
        .rpc()
        .create_reset_password_token(CreateResetPasswordTokenRequest {
            name: name.to_owned(),
            r#type: kind.to_owned(),
            ttl,
        })
        .await
        .with_context(|| format!("cannot create a {kind} token for user `{name}`"))?
        .into_inner();
    let metadata = token.metadata.unwrap_or_default();
    let expires = metadata
        .expires
        .and_then(to_system_time)
        .map(|at| humantime::format_rfc3339_seconds(at).to_string())
        .unwrap_or_else(|| "never".into());
    println!("{kind} token for `{name}`: {}", metadata.name);
    println!("valid until {expires}");
    println!(
        "Give it to the user: the web front (any client of ChangePasswordWithToken) sets a \
         password with it once, with a second factor if RotateResetPasswordTokenSecrets \
         enrolled one."
    );
    Ok(())
}
