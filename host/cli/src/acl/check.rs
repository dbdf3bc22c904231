//! `pctl acl check --user U --verb V --resource KIND[/NAME] [--namespace NS] [--request-role R]...`.

use std::path::PathBuf;

use portcullis_api::auth::CheckAccessRequest;

use crate::connect::ConnectArgs;

/// Options of `pctl acl check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The user whose access is checked (default: the caller).
    #[arg(long)]
    user: Option<String>,
    /// The verb: list, create, read, readnosecrets, update, delete or rotate.
    #[arg(long)]
    verb: String,
    /// The resource: a kind (`role`) or a kind and a name (`role/dba`).
    #[arg(long)]
    resource: String,
    /// The whole resource as JSON, for where clauses that look beyond its name (`-` reads
    /// standard input).
    #[arg(long, value_name = "FILE")]
    resource_json: Option<PathBuf>,
    /// Also check whether the user may request this role (repeatable).
    #[arg(long = "request-role", value_name = "ROLE")]
    request_roles: Vec<String>,
    /// Also check SSH access to a node with these labels (`KEY=VALUE`, repeatable)...
    #[arg(long = "node-label", value_name = "KEY=VALUE", value_parser = crate::parse_label)]
    node_labels: Vec<(String, String)>,
    /// ...as this login.
    #[arg(long)]
    login: Option<String>,
    /// Also check access to this remote cluster (its labels against `cluster_labels`).
    #[arg(long, value_name = "NAME")]
    cluster: Option<String>,
    /// The namespace the request is in: rules apply only in the namespaces their role's
    /// conditions list (`default` when they list none). Default: the resource's own, else
    /// `default`.
    #[arg(long, value_name = "NAMESPACE")]
    namespace: Option<String>,
    /// Print the answer as JSON.
    #[arg(long)]
    json: bool,
}

/// Asks the server and prints `allowed` or `denied` with the explanation. The exit status
/// is 0 whatever the answer; it is non-zero only when the question could not be answered.
pub async fn run(connect: &ConnectArgs, args: CheckArgs) -> anyhow::Result<()> {
    let (kind, name) = match args.resource.split_once('/') {
        Some((kind, name)) => (kind.to_owned(), name.to_owned()),
        None => (args.resource.clone(), String::new()),
    };
    let resource_json = match &args.resource_json {
        Some(path) => crate::read_input(path)?,
        None => String::new(),
    };
    let client = connect.connect().await?;
    let answer = client
        .rpc()
        .check_access(CheckAccessRequest {
            user: args.user.clone().unwrap_or_default(),
            verb: args.verb.clone(),
            kind,
            name,
            resource_json,
            request_roles: args.request_roles.clone(),
            node_labels: args.node_labels.iter().cloned().collect(),
            login: args.login.clone().unwrap_or_default(),
            cluster: args.cluster.clone().unwrap_or_default(),
            namespace: args.namespace.clone().unwrap_or_default(),
        })
        .await?
        .into_inner();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    println!("{}", if answer.allowed { "allowed" } else { "denied" });
    println!("{}", answer.explanation);
    println!("roles: {}", answer.roles.join(", "));
    for rule in &answer.decided_by {
        println!("decided by: {rule}");
    }
    for w in &answer.wheres {
        if w.error.is_empty() {
            println!("where `{}` of {}: {}", w.expression, w.rule, w.result);
        } else {
            println!(
                "where `{}` of {}: failed: {}",
                w.expression, w.rule, w.error
            );
        }
    }
    if let Some(allowed) = answer.node_allowed {
        let verdict = if allowed { "allowed" } else { "denied" };
        println!("node access: {verdict} ({})", answer.node_reason);
    }
    if let Some(allowed) = answer.cluster_allowed {
        let verdict = if allowed { "allowed" } else { "denied" };
        println!("cluster access: {verdict} ({})", answer.cluster_reason);
    }
    for r in &answer.role_requests {
        let verdict = if r.allowed { "may" } else { "may not" };
        println!("request role `{}`: {verdict} ({})", r.role, r.reason);
    }
    Ok(())
}
