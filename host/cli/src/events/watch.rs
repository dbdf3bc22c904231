//! `pctl events watch --kind KIND[,KIND...] [--name NAME] [--filter K=V,...] [--secrets]
//! [--json] [--count N]`.

use anyhow::bail;
use portcullis_api::auth::event::Resource;
use portcullis_api::auth::{Event, Operation, WatchKind};
use portcullis_api::services::Metadata;

use crate::connect::ConnectArgs;

/// Options of `pctl events watch`.
#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Kinds to watch, e.g. `access_request`, `role`, `user`, `node`, `cert_authority`
    /// (repeat, or separate with commas).
    #[arg(long, required = true, value_delimiter = ',')]
    kind: Vec<String>,
    /// Only the resource with this name.
    #[arg(long)]
    name: Option<String>,
    /// Kind-specific filter, `KEY=VALUE` (access requests: `id`, `user`, `state`).
    #[arg(long, value_name = "KEY=VALUE,...", value_delimiter = ',', value_parser = crate::parse_label)]
    filter: Vec<(String, String)>,
    /// Resources with their secrets (needs `read` rather than `readnosecrets`).
    #[arg(long)]
    secrets: bool,
    /// Print each event as one line of JSON.
    #[arg(long)]
    json: bool,
    /// Stop after this many events (after the watch is established).
    #[arg(long)]
    count: Option<u64>,
}

/// Prints events until interrupted, the server ends the stream, or `--count` is reached.
pub async fn run(connect: &ConnectArgs, args: WatchArgs) -> anyhow::Result<()> {
    let filter: std::collections::BTreeMap<_, _> = args.filter.into_iter().collect();
    let kinds = args
        .kind
        .iter()
        .map(|kind| WatchKind {
            kind: kind.clone(),
            load_secrets: args.secrets,
            name: args.name.clone().unwrap_or_default(),
            filter: filter.clone(),
        })
        .collect();
    let client = connect.connect().await?;
    let mut events = client.watch_events(kinds).await?;
    eprintln!("watching {}", args.kind.join(", "));
    let mut printed = 0;
    while args.count.is_none_or(|n| printed < n) {
        let Some(event) = events.message().await? else {
            bail!("the server ended the watch");
        };
        if args.json {
            println!("{}", serde_json::to_string(&event)?);
        } else {
            println!("{}", line(&event));
        }
        printed += 1;
    }
    Ok(())
}

/// `PUT kind/name` or `DELETE kind/name`.
fn line(event: &Event) -> String {
    let operation = match event.r#type() {
        Operation::Init => "INIT",
        Operation::Put => "PUT",
        Operation::Delete => "DELETE",
    };
    let Some(resource) = &event.resource else {
        return operation.to_owned();
    };
    let (kind, metadata): (&str, &Option<Metadata>) = match resource {
        Resource::ResourceHeader(r) => (&r.kind, &r.metadata),
        Resource::CertAuthority(r) => (&r.kind, &r.metadata),
        Resource::StaticTokens(r) => (&r.kind, &r.metadata),
        Resource::ProvisionToken(r) => (&r.kind, &r.metadata),
        Resource::ClusterName(r) => (&r.kind, &r.metadata),
        Resource::ClusterConfig(r) => (&r.kind, &r.metadata),
        Resource::User(r) => (&r.kind, &r.metadata),
        Resource::Role(r) => (&r.kind, &r.metadata),
        Resource::Namespace(r) => (&r.kind, &r.metadata),
        Resource::Server(r) => (&r.kind, &r.metadata),
        Resource::ReverseTunnel(r) => (&r.kind, &r.metadata),
        Resource::TunnelConnection(r) => (&r.kind, &r.metadata),
        Resource::AccessRequest(r) => (&r.kind, &r.metadata),
        Resource::AppSession(r) => (&r.kind, &r.metadata),
        Resource::RemoteCluster(r) => (&r.kind, &r.metadata),
        Resource::AccessRequestPolicy(r) => (&r.kind, &r.metadata),
    };
    let name = metadata.as_ref().map_or("", |m| m.name.as_str());
    format!("{operation} {kind}/{name}")
}
