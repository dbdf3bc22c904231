//! `pctl sessions ls [--active] [--json]`.

use portcullis_api::auth::GetSessionsRequest;
use portcullis_api::services::SessionV1;

use crate::connect::ConnectArgs;

/// Options of `pctl sessions ls`.
#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// List the sessions being recorded now instead of the completed recordings.
    #[arg(long)]
    active: bool,
    /// Print the sessions as JSON (one array).
    #[arg(long)]
    json: bool,
}

fn time(ts: Option<prost_types::Timestamp>) -> String {
    ts.and_then(portcullis_api::time::to_system_time)
        .map(|t| humantime::format_rfc3339_seconds(t).to_string())
        .unwrap_or_else(|| "-".into())
}

fn line(session: &SessionV1) -> String {
    let spec = session.spec.clone().unwrap_or_default();
    let server = if spec.server_hostname.is_empty() {
        spec.server_id.clone()
    } else {
        spec.server_hostname.clone()
    };
    format!(
        "{:<36} {:<20} {:<10} {:<16} {:>7} {:>10}  {}",
        spec.session_id,
        time(spec.started),
        spec.login,
        server,
        spec.events,
        spec.bytes,
        spec.participants.join(",")
    )
}

/// Prints the sessions, one per line, every page.
pub async fn run(connect: &ConnectArgs, args: LsArgs) -> anyhow::Result<()> {
    let client = connect.connect().await?;
    let mut sessions = Vec::new();
    let mut start_after = String::new();
    loop {
        let request = GetSessionsRequest {
            start_after,
            limit: 0,
        };
        let page = if args.active {
            client.rpc().get_active_sessions(request).await?
        } else {
            client.rpc().get_sessions(request).await?
        }
        .into_inner();
        sessions.extend(page.sessions);
        if page.next_start_after.is_empty() {
            break;
        }
        start_after = page.next_start_after;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&sessions)?);
        return Ok(());
    }
    if sessions.is_empty() {
        println!(
            "{}",
            if args.active {
                "no active sessions"
            } else {
                "no recorded sessions"
            }
        );
        return Ok(());
    }
    println!(
        "{:<36} {:<20} {:<10} {:<16} {:>7} {:>10}  PARTICIPANTS",
        "SESSION", "STARTED", "LOGIN", "SERVER", "EVENTS", "BYTES"
    );
    for session in &sessions {
        println!("{}", line(session));
    }
    Ok(())
}
