//! `pctl audit ls [--since 1h|TIME] [--event TYPE] [--user NAME] [--limit N] [--json]`.

use portcullis_api::auth::{AuditEvent, GetAuditEventsRequest};

use crate::connect::ConnectArgs;

/// Options of `pctl audit ls`.
#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// Only events since this long ago (`30m`, `2h`, `7days`) or since this RFC 3339 time
    /// (default: the last 24 hours).
    #[arg(long, value_name = "AGO|TIME")]
    since: Option<String>,
    /// Only events of this type (`rule.action`, `rule.where_failed`, or a type hosts and
    /// users emit, like `session.start`).
    #[arg(long, value_name = "TYPE")]
    event: Option<String>,
    /// Only events caused by this user, or about it.
    #[arg(long)]
    user: Option<String>,
    /// At most this many events (1 to 1000).
    #[arg(long, default_value_t = 100)]
    limit: u32,
    /// Print the events as JSON (one array).
    #[arg(long)]
    json: bool,
}

fn line(event: &AuditEvent) -> String {
    let emitter = match event.emitter.as_str() {
        "" => super::SERVER,
        emitter => emitter,
    };
    format!(
        "{}  {:<18} {:<16} {:<16} {}",
        event.time, event.event, event.user, emitter, event.fields_json
    )
}

/// Prints the events, one per line (time, type, user, emitter, details; the emitter is
/// `(server)` for the auth server's own events).
pub async fn run(connect: &ConnectArgs, args: LsArgs) -> anyhow::Result<()> {
    let request = GetAuditEventsRequest {
        since: args
            .since
            .as_deref()
            .map(super::since)
            .transpose()?
            .unwrap_or_default(),
        start_after: String::new(),
        limit: args.limit,
        event: args.event.unwrap_or_default(),
        user: args.user.unwrap_or_default(),
    };
    let client = connect.connect().await?;
    let events = client
        .rpc()
        .get_audit_events(request)
        .await?
        .into_inner()
        .events;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&events)?);
        return Ok(());
    }
    if events.is_empty() {
        println!("no audit events");
    }
    for event in &events {
        println!("{}", line(event));
    }
    Ok(())
}
