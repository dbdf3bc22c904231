//! `pctl audit emit --type TYPE [--code CODE] [--user NAME] [--fields JSON] [--time TIME]`.

use std::time::SystemTime;

use anyhow::Context;
use portcullis_api::events::OneOf;

use crate::connect::ConnectArgs;

/// Options of `pctl audit emit`.
#[derive(Debug, clap::Args)]
pub struct EmitArgs {
    /// The event's type: letters, digits and `.`, `_`, `-`, `:` (`session.start`).
    #[arg(long = "type", value_name = "TYPE")]
    kind: String,
    /// A short code for the kind of event (`T2000I`).
    #[arg(long)]
    code: Option<String>,
    /// The user the event is about (default: the caller, for a user; none, for a host).
    #[arg(long)]
    user: Option<String>,
    /// The event's details, a JSON object (the whole event at most 64 KiB).
    #[arg(long, value_name = "JSON")]
    fields: Option<String>,
    /// When the event happened, RFC 3339 (default: now); kept in the field `occurred`.
    #[arg(long, value_name = "TIME")]
    time: Option<String>,
}

/// Sends the event and prints `emitted TYPE`.
pub async fn run(connect: &ConnectArgs, args: EmitArgs) -> anyhow::Result<()> {
    let time = match &args.time {
        Some(text) => humantime::parse_rfc3339_weak(text)
            .with_context(|| format!("--time `{text}` is not an RFC 3339 time"))?,
        None => SystemTime::now(),
    };
    let event = OneOf {
        r#type: args.kind.clone(),
        code: args.code.unwrap_or_default(),
        time: Some(time.into()),
        cluster_name: String::new(),
        user: args.user.unwrap_or_default(),
        fields: args.fields.unwrap_or_default(),
        index: 0,
    };
    let client = connect.connect().await?;
    client.rpc().emit_audit_event(event).await?;
    println!("emitted {}", args.kind);
    Ok(())
}
