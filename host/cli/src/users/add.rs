//! `pctl users add NAME --roles R1,R2 [--logins L1,L2] [--ttl 8h]`.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use portcullis_api::services::{Metadata, UserSpecV2, UserV2};
use portcullis_api::validate::normalize_user;
use portcullis_api::wrappers::StringValues;

use super::reset::print_token;
use crate::connect::ConnectArgs;

/// Options of `pctl users add`.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// User name.
    name: String,
    /// Roles of the user, comma-separated; each must exist (or be built in).
    #[arg(long, value_delimiter = ',', required = true)]
    roles: Vec<String>,
    /// System logins the user may use, comma-separated (stored as the `logins` trait).
    #[arg(long, value_delimiter = ',')]
    logins: Vec<String>,
    /// How long the invite token is valid (default 8h, at most 48h).
    #[arg(long, value_parser = humantime::parse_duration)]
    ttl: Option<Duration>,
}

/// Creates the user, then an invite token for it, and prints the token and how to use it.
pub async fn run(connect: &ConnectArgs, args: AddArgs) -> anyhow::Result<()> {
    let AddArgs {
        name,
        roles,
        logins,
        ttl,
    } = args;
    let mut traits = BTreeMap::new();
    if !logins.is_empty() {
        traits.insert("logins".to_owned(), StringValues { values: logins });
    }
    let mut user = UserV2 {
        metadata: Some(Metadata {
            name: name.clone(),
            ..Default::default()
        }),
        spec: Some(UserSpecV2 {
            roles,
            traits,
            ..Default::default()
        }),
        ..Default::default()
    };
    normalize_user(&mut user)?;
    let client = connect.connect().await?;
    client
        .create_user(user)
        .await
        .with_context(|| format!("cannot create user `{name}`"))?;
    println!("user `{name}` has been created");
    print_token(&client, &name, "invite", ttl).await
}
