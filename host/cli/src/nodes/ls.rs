//! `pctl nodes ls [--labels K=V,...] [--namespace NS] [--json]`.

use std::collections::BTreeMap;
use std::time::SystemTime;

use portcullis_api::auth::GetNodesRequest;
use portcullis_api::services::ServerV2;

use crate::connect::ConnectArgs;

/// Options of `pctl nodes ls`.
#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// Only nodes carrying all these labels, comma-separated `KEY=VALUE` (a value `*`
    /// matches any value of the key).
    #[arg(long, value_name = "KEY=VALUE,...", value_delimiter = ',', value_parser = crate::parse_label)]
    labels: Vec<(String, String)>,
    /// Namespace of the nodes.
    #[arg(long, default_value = "default")]
    namespace: String,
    /// Print the nodes as JSON (one array of `ServerV2` resources).
    #[arg(long)]
    json: bool,
}

/// Lists the nodes.
pub async fn run(connect: &ConnectArgs, args: LsArgs) -> anyhow::Result<()> {
    let request = GetNodesRequest {
        namespace: args.namespace,
        labels: args.labels.into_iter().collect(),
    };
    let client = connect.connect().await?;
    let nodes = client.rpc().get_nodes(request).await?.into_inner().servers;
    print(&nodes, args.json, "nodes")
}

/// All labels of a server: static ones and the results of command labels.
fn labels(server: &ServerV2) -> String {
    let statics = server.metadata.as_ref().map(|m| &m.labels);
    let commands = server.spec.as_ref().map(|s| &s.cmd_labels);
    crate::output::labels(
        statics.unwrap_or(&BTreeMap::new()),
        commands.unwrap_or(&BTreeMap::new()),
    )
}

/// When a server's lease expires, with the time left.
fn expiry(server: &ServerV2, now: SystemTime) -> String {
    let Some(at) = server
        .metadata
        .as_ref()
        .and_then(|m| m.expires)
        .and_then(portcullis_api::time::to_system_time)
    else {
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

/// Prints servers as a table (name, hostname, address, labels, expiry) or as JSON; `what`
/// names them when there are none.
pub(crate) fn print(servers: &[ServerV2], json: bool, what: &str) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(servers)?);
        return Ok(());
    }
    if servers.is_empty() {
        println!("no {what}");
        return Ok(());
    }
    let now = SystemTime::now();
    let rows: Vec<Vec<String>> = servers
        .iter()
        .map(|s| {
            let name = s
                .metadata
                .as_ref()
                .map(|m| m.name.clone())
                .unwrap_or_default();
            let spec = s.spec.clone().unwrap_or_default();
            vec![name, spec.hostname, spec.addr, labels(s), expiry(s, now)]
        })
        .collect();
    crate::output::print_table(&["NAME", "HOSTNAME", "ADDRESS", "LABELS", "EXPIRES"], &rows);
    Ok(())
}
