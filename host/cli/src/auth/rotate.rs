//! `pctl auth rotate`: start a certificate authority rotation or move it on.

use std::time::Duration;

use anyhow::bail;
use portcullis_api::auth::RotateCertAuthorityRequest;

use crate::connect::ConnectArgs;

/// Options of `pctl auth rotate`.
///
/// Without `--manual` this starts an automatic rotation: new keys now (init), then
/// update_clients, update_servers and standby at a third, two thirds and the end of the
/// grace period. With `--manual --phase P` it moves a rotation to phase P by hand
/// (init, update_clients, update_servers, standby, or rollback).
#[derive(Debug, clap::Args)]
pub struct RotateArgs {
    /// Authority to rotate: user, host, jwt or all.
    #[arg(long = "type", default_value = "all", value_parser = ["user", "host", "jwt", "all"])]
    ca_type: String,
    /// Move phases by hand instead of on a schedule.
    #[arg(long, requires = "phase")]
    manual: bool,
    /// Phase to move to (with --manual).
    #[arg(long, requires = "manual", value_parser = ["init", "update_clients", "update_servers", "standby", "rollback"])]
    phase: Option<String>,
    /// Grace period of the rotation, e.g. `30h` (the default) or `10m`.
    #[arg(long, value_parser = humantime::parse_duration)]
    grace_period: Option<Duration>,
}

/// Sends the rotation request and reports the result.
pub async fn run(connect: &ConnectArgs, args: RotateArgs) -> anyhow::Result<()> {
    let grace_period = match args.grace_period {
        None => 0,
        Some(d) if d.is_zero() => bail!("--grace-period must be longer than zero"),
        Some(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
    };
    let client = connect.connect().await?;
    client
        .rpc()
        .rotate_cert_authority(RotateCertAuthorityRequest {
            r#type: args.ca_type.clone(),
            grace_period,
            target_phase: args.phase.clone().unwrap_or_default(),
            mode: if args.manual { "manual" } else { "auto" }.into(),
            schedule: None,
        })
        .await?;
    match args.phase {
        Some(phase) => println!("{} certificate authority rotation moved to {phase}", args.ca_type),
        None => println!(
            "started an automatic rotation of the {} certificate authority; `pctl status` shows its schedule",
            args.ca_type
        ),
    }
    Ok(())
}
