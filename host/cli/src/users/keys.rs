//! `pctl users keys ls|add|rm`: a user's registered public keys.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use portcullis_api::auth::{
    DeleteUserKeyRequest, GetUserKeysRequest, UpsertUserKeyRequest, UserKey,
};
use portcullis_api::time::to_system_time;

use crate::connect::ConnectArgs;

/// `pctl users keys` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// List a user's registered keys: ID, expiry, key.
    Ls {
        /// User name.
        user: String,
    },
    /// Register a public key (an authorized_keys line in a file, `-` for standard input)
    /// and print the SSH certificate the user authority signed for it.
    Add {
        /// User name.
        user: String,
        /// File holding the public key.
        key: PathBuf,
        /// Key ID (default: the key's SHA-256, hex).
        #[arg(long)]
        id: Option<String>,
        /// How long the key and its certificate are valid (default 12h, at most 30h).
        #[arg(long, value_parser = humantime::parse_duration)]
        ttl: Option<Duration>,
    },
    /// Remove a registered key.
    Rm {
        /// User name.
        user: String,
        /// Key ID.
        id: String,
    },
}

/// Runs a `pctl users keys` subcommand.
pub async fn run(connect: &ConnectArgs, cmd: KeysCommand) -> anyhow::Result<()> {
    let client = connect.connect().await?;
    match cmd {
        KeysCommand::Ls { user } => {
            let keys = client
                .rpc()
                .get_user_keys(GetUserKeysRequest { user: user.clone() })
                .await
                .with_context(|| format!("cannot list the keys of `{user}`"))?
                .into_inner()
                .keys;
            println!("ID  EXPIRES  KEY");
            for key in keys {
                let expires = key
                    .expires
                    .and_then(to_system_time)
                    .map(|at| humantime::format_rfc3339_seconds(at).to_string())
                    .unwrap_or_else(|| "never".into());
                let value = String::from_utf8_lossy(&key.value).into_owned();
                println!("{}  {expires}  {value}", key.id);
            }
        }
        KeysCommand::Add { user, key, id, ttl } => {
            let value = crate::read_input(&key)?;
            let ttl = match ttl {
                Some(ttl) => i64::try_from(ttl.as_nanos()).context("--ttl is too long")?,
                None => 0,
            };
            let answer = client
                .rpc()
                .upsert_user_key(UpsertUserKeyRequest {
                    user: user.clone(),
                    key: Some(UserKey {
                        id: id.unwrap_or_default(),
                        value: value.trim().as_bytes().to_vec(),
                        expires: None,
                    }),
                    ttl,
                })
                .await
                .with_context(|| format!("cannot register a key for `{user}`"))?
                .into_inner();
            eprintln!("key `{}` registered for `{user}`", answer.id);
            print!("{}", String::from_utf8_lossy(&answer.cert));
        }
        KeysCommand::Rm { user, id } => {
            client
                .rpc()
                .delete_user_key(DeleteUserKeyRequest {
                    user: user.clone(),
                    id: id.clone(),
                })
                .await
                .with_context(|| format!("cannot remove key `{id}` of `{user}`"))?;
            println!("key `{id}` of `{user}` has been removed");
        }
    }
    Ok(())
}
