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

/// Users printed at once while they stream in: the columns are as wide as the widest
/// cell of the first chunk (later rows may stick out).
const CHUNK: usize = 500;

/// One row: name, roles, lock.
fn row(user: &UserV2) -> (String, String, String) {
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
}

/// Prints a table of users (name, roles, lock) as the server streams them.
pub async fn run(connect: &ConnectArgs, _args: LsArgs) -> anyhow::Result<()> {
    let client = connect.connect().await?;
    let mut stream = client.users_stream(false).await?;
    let mut widths: Option<(usize, usize)> = None;
    let mut rows = Vec::with_capacity(CHUNK);
    loop {
        let user = stream.message().await?;
        let done = user.is_none();
        rows.extend(user.as_ref().map(row));
        if rows.len() < CHUNK && !done {
            continue;
        }
        let (name_width, roles_width) = *widths.get_or_insert_with(|| {
            let name = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(4);
            let roles = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(5);
            println!("{:<name$}  {:<roles$}  LOCKED", "USER", "ROLES");
            (name, roles)
        });
        for (name, roles, locked) in rows.drain(..) {
            println!("{name:<name_width$}  {roles:<roles_width$}  {locked}");
        }
        if done {
            return Ok(());
        }
    }
}
