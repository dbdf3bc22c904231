//! `pctl sessions export ID`: the recording's events as JSON lines.

use std::io::Write;

use crate::connect::ConnectArgs;

/// Options of `pctl sessions export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The session ID.
    id: String,
}

/// Prints one JSON object per event, in order: index, type, code, time, user, fields.
pub async fn run(connect: &ConnectArgs, args: ExportArgs) -> anyhow::Result<()> {
    let client = connect.connect().await?;
    let mut out = std::io::stdout().lock();
    super::for_each_event(&client, &args.id, |event| {
        let fields: serde_json::Value = if event.fields.is_empty() {
            serde_json::json!({})
        } else {
            serde_json::from_str(&event.fields)?
        };
        let time = event
            .time
            .and_then(portcullis_api::time::to_system_time)
            .map(|t| humantime::format_rfc3339_nanos(t).to_string());
        let line = serde_json::json!({
            "index": event.index,
            "type": event.r#type,
            "code": event.code,
            "time": time,
            "user": event.user,
            "fields": fields,
        });
        writeln!(out, "{line}")?;
        Ok(())
    })
    .await?;
    out.flush()?;
    Ok(())
}
