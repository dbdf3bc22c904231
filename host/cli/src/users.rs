//! `pctl users add|ls|rm`.

use std::collections::BTreeMap;

use anyhow::Context;
use portcullis_api::services::{Metadata, UserSpecV2, UserV2};
use portcullis_api::wrappers::StringValues;

use super::connect::ConnectArgs;
use portcullis_api::validate::normalize_user;

/// `pctl users` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum UsersCommand {
    /// Create a user.
    Add {
        /// User name.
        name: String,
        /// Roles of the user, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        roles: Vec<String>,
        /// System logins the user may use, comma-separated (stored as the `logins` trait).
        #[arg(long, value_delimiter = ',')]
        logins: Vec<String>,
    },
    /// List users with their roles.
    Ls,
    /// Delete a user.
    Rm {
        /// User name.
        name: String,
    },
}

/// Runs a `pctl users` subcommand.
pub async fn run(connect: &ConnectArgs, cmd: UsersCommand) -> anyhow::Result<()> {
    match cmd {
        UsersCommand::Add {
            name,
            roles,
            logins,
        } => {
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
        }
        UsersCommand::Ls => {
            let client = connect.connect().await?;
            let users = client.get_users(false).await?;
            let width = users
                .iter()
                .filter_map(|u| u.metadata.as_ref().map(|m| m.name.len()))
                .max()
                .unwrap_or(0)
                .max(4);
            println!("{:<width$}  ROLES", "USER");
            for user in users {
                let name = user.metadata.map(|m| m.name).unwrap_or_default();
                let roles = user.spec.map(|s| s.roles.join(",")).unwrap_or_default();
                println!("{name:<width$}  {roles}");
            }
        }
        UsersCommand::Rm { name } => {
            let client = connect.connect().await?;
            client
                .delete_user(&name)
                .await
                .with_context(|| format!("cannot delete user `{name}`"))?;
            println!("user `{name}` has been deleted");
        }
    }
    Ok(())
}
