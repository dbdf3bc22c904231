//! An access plugin: it watches access requests (WatchEvents) and resolves the pending
//! ones by a simple rule — approve a request whose roles are all pre-approved, and deny the
//! others or leave them to a human — as the reference's `access-plugin` user (list, read
//! and update on `access_request`).
//!
//! For every request it decides, it first claims it in its plugin data (UpdatePluginData,
//! `status=claimed` expecting no status), so that two instances never both handle one;
//! then resolves it (SetAccessRequestState, with itself as the delegator) and records the
//! outcome (`status=approved|denied|failed`). Once the watch is established it also looks
//! at the requests already pending (GetAccessRequests); a request is looked at once per
//! process. If the watch falls behind or the server restarts, it watches again and looks
//! at the pending requests again. It stops cleanly on SIGTERM or ctrl-c.
//!
//! ```text
//! pctl create rscs.yaml                                  # the access-plugin user and role
//! pctl auth sign --user access-plugin --format tls --out access-plugin
//! cargo run -p portcullis-examples --bin access_plugin -- \
//!     --identity access-plugin --approve-role dba [--deny-others] [--auth-server ADDR]
//! ```

mod plugin;
mod rule;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use portcullis_api::auth::event::Resource;
use portcullis_api::auth::{Operation, WatchKind};
use portcullis_api::services::{AccessRequestFilter, RequestState};
use portcullis_api::{Client, TlsFiles, DEFAULT_AUTH_ADDR};
use tokio::signal::unix::{signal, SignalKind};
use tonic::Code;

use plugin::Plugin;
use rule::Rule;

/// Resolves pending access requests by a rule.
#[derive(Debug, Parser)]
struct Args {
    /// The auth server, `host:port`.
    #[arg(long, default_value = DEFAULT_AUTH_ADDR)]
    auth_server: String,
    /// The plugin's identity: PREFIX.crt, PREFIX.key, PREFIX.cas (`pctl auth sign
    /// --format tls --out PREFIX`).
    #[arg(long, value_name = "PREFIX")]
    identity: PathBuf,
    /// Approve requests whose roles are all among these (repeat, or separate with commas).
    #[arg(long, value_name = "ROLE", value_delimiter = ',')]
    approve_role: Vec<String>,
    /// Deny the other requests (by default they are left pending for a human).
    #[arg(long)]
    deny_others: bool,
    /// The plugin's name: the key of its plugin data, and the delegator of its decisions.
    #[arg(long, default_value = "access-plugin")]
    name: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = Client::connect(&args.auth_server, &TlsFiles::from_prefix(&args.identity))
        .await
        .context("cannot connect")?;
    let mut plugin = Plugin {
        client,
        rule: Rule {
            approve: args.approve_role,
            deny_others: args.deny_others,
        },
        name: args.name,
        seen: HashSet::new(),
    };
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    tokio::select! {
        result = run(&mut plugin) => result,
        _ = tokio::signal::ctrl_c() => stop(),
        _ = term.recv() => stop(),
    }
}

fn stop() -> anyhow::Result<()> {
    println!("stopping");
    Ok(())
}

/// Watches and handles requests until an error that watching again cannot mend.
async fn run(plugin: &mut Plugin) -> anyhow::Result<()> {
    loop {
        let pending = WatchKind {
            kind: "access_request".to_owned(),
            filter: [("state".to_owned(), "PENDING".to_owned())].into(),
            ..WatchKind::default()
        };
        let mut events = plugin
            .client
            .watch_events(vec![pending])
            .await
            .context("cannot watch access requests")?;
        println!(
            "watching pending access requests (approving: {})",
            plugin.rule.approve.join(", ")
        );
        // Established: what was pending before is listed now, what comes later arrives.
        let filter = AccessRequestFilter {
            state: RequestState::Pending.into(),
            ..AccessRequestFilter::default()
        };
        // A page at a time: a cluster may hold more requests than one answer carries.
        let mut after = String::new();
        loop {
            let page = plugin
                .client
                .access_requests_page(filter.clone(), after, portcullis_api::PAGE_SIZE)
                .await?;
            for request in &page.items {
                plugin.handle(request).await;
            }
            match page.next {
                Some(next) => after = next,
                None => break,
            }
        }
        let status = loop {
            match events.message().await {
                Ok(Some(event)) => {
                    if let (Operation::Put, Some(Resource::AccessRequest(request))) =
                        (event.r#type(), &event.resource)
                    {
                        plugin.handle(request).await;
                    }
                }
                Ok(None) => bail!("the server ended the watch"),
                Err(status) => break status,
            }
        };
        match status.code() {
            // Fell behind, or the server is restarting: watch again, look again.
            Code::Aborted | Code::Unavailable => {
                eprintln!("watch ended ({}); watching again", status.message());
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            _ => bail!("the watch failed: {}", status.message()),
        }
    }
}
