//! `pctl users ls`.

use std::time::SystemTime;

use portcullis_api::services::UserV2;
use portcullis_api::time::to_system_time;

use crate::connect::ConnectArgs;

/// Options of `pctl users ls`.
#[derive(Debug, clap::Args)]
pub struct LsArgs {}

/// The LOCKED column: `until TIME` while the user is locked out, else `-`.
fn locked(user: &UserV2) -> String {
    let status = user.spec.as_ref().and_then(|s| s.status.clone());
    match status {
        Some(status) if status.is_locked => {
            let until = status.lock_expires.and_then(to_system_time);
            match until {
                Some(at) if at > SystemTime::now() => {
                    format!("until {}", humantime::format_rfc3339_seconds(at))
                }
                Some(_) => "-".into(),
                None => "yes".into(),
            }
        }
        _ => "-".into(),
    }
}

/// Prints a table of users: name, roles, lock.
pub async fn run(connect: &ConnectArgs, _args: LsArgs) -> anyhow::Result<()> {
    let client = connect.connect().await?;
    let users = client.get_users(false).await?;
    let rows: Vec<(String, String, String)> = users
        .iter()
        .map(|user| {
            let name = user
                .metadata
                .as_ref()
                .map(|m| m.name.clone())
                .unwrap_or_default();
            let roles = user
                .spec
                .as_ref()
                .map(|s| s.roles.join(","))
                .unwrap_or_default();
            (name, roles, locked(user))
        })
        .collect();
    let name_width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(4);
    let roles_width = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(5);
    println!("{:<name_width$}  {:<roles_width$}  LOCKED", "USER", "ROLES");
    for (name, roles, locked) in rows {
        println!("{name:<name_width$}  {roles:<roles_width$}  {locked}");
    }
    Ok(())
}
