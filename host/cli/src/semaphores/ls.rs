//! `pctl semaphores ls [--kind KIND] [--name NAME] [--json]`.

use std::time::SystemTime;

use portcullis_api::services::{SemaphoreFilter, SemaphoreV3};
use portcullis_api::time::to_system_time;

use crate::connect::ConnectArgs;

/// Options of `pctl semaphores ls`.
#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// Only semaphores of this kind (e.g. `connection`).
    #[arg(long)]
    kind: Option<String>,
    /// Only semaphores of this name (e.g. the user whose connections they count).
    #[arg(long)]
    name: Option<String>,
    /// Print the semaphores as JSON (one array of `SemaphoreV3` resources).
    #[arg(long)]
    json: bool,
}

/// A lease's expiry with the time left, e.g. `2030-01-02T03:04:05Z (in 59s)`.
fn expiry(expires: Option<prost_types::Timestamp>, now: SystemTime) -> String {
    let Some(at) = expires.and_then(to_system_time) else {
        return "-".to_owned();
    };
    let left = at.duration_since(now).unwrap_or_default();
    let left = std::time::Duration::from_secs(left.as_secs());
    format!(
        "{} (in {})",
        humantime::format_rfc3339_seconds(at),
        humantime::format_duration(left)
    )
}

fn lines(semaphore: &SemaphoreV3, now: SystemTime) -> Vec<String> {
    let name = semaphore.metadata.as_ref().map_or("", |m| m.name.as_str());
    let leases = semaphore.spec.as_ref().map_or(&[][..], |s| &s.leases[..]);
    leases
        .iter()
        .map(|lease| {
            let holder = if lease.holder.is_empty() {
                "-"
            } else {
                &lease.holder
            };
            format!(
                "{:<12} {:<20} {:<36} {:<16} {}",
                semaphore.sub_kind,
                name,
                lease.lease_id,
                holder,
                expiry(lease.expires, now)
            )
        })
        .collect()
}

/// Lists the semaphores, one line per live lease.
pub async fn run(connect: &ConnectArgs, args: LsArgs) -> anyhow::Result<()> {
    let filter = SemaphoreFilter {
        semaphore_kind: args.kind.unwrap_or_default(),
        semaphore_name: args.name.unwrap_or_default(),
    };
    let client = connect.connect().await?;
    let semaphores = client
        .rpc()
        .get_semaphores(filter)
        .await?
        .into_inner()
        .semaphores;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&semaphores)?);
        return Ok(());
    }
    if semaphores.is_empty() {
        println!("no semaphores");
        return Ok(());
    }
    let now = SystemTime::now();
    println!(
        "{:<12} {:<20} {:<36} {:<16} EXPIRES",
        "KIND", "NAME", "LEASE", "HOLDER"
    );
    for semaphore in &semaphores {
        for line in lines(semaphore, now) {
            println!("{line}");
        }
    }
    Ok(())
}
