//! `pctl request`: access requests (as `tctl request`).

mod create;
mod get;
mod ls;
mod resolve;
mod review;
mod rm;

use portcullis_api::services::AccessRequestV3;
use portcullis_api::wrappers::StringValues;

use super::connect::ConnectArgs;

use portcullis_api::time::to_system_time;

/// `pctl request` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum RequestCommand {
    /// List requests (`--user`, `--state pending|approved|denied`).
    Ls(ls::LsArgs),
    /// Print one request in full.
    Get(get::GetArgs),
    /// Ask for roles (`pctl request create --roles dba --reason "migration"
    /// --annotations ticket=OPS-1`).
    Create(create::CreateArgs),
    /// Approve a pending request, optionally only some of its roles.
    Approve(resolve::ResolveArgs),
    /// Deny a pending request.
    Deny(resolve::ResolveArgs),
    /// Review a pending request as yourself (`--approve` or `--deny`); the request's
    /// thresholds and access-request policies decide when it is resolved.
    Review(review::ReviewArgs),
    /// Delete a request.
    Rm(rm::RmArgs),
}

/// Runs a `pctl request` subcommand.
pub async fn run(connect: &ConnectArgs, cmd: RequestCommand) -> anyhow::Result<()> {
    use portcullis_api::services::RequestState;
    match cmd {
        RequestCommand::Ls(args) => ls::run(connect, args).await,
        RequestCommand::Get(args) => get::run(connect, args).await,
        RequestCommand::Create(args) => create::run(connect, args).await,
        RequestCommand::Approve(args) => resolve::run(connect, args, RequestState::Approved).await,
        RequestCommand::Deny(args) => resolve::run(connect, args, RequestState::Denied).await,
        RequestCommand::Review(args) => review::run(connect, args).await,
        RequestCommand::Rm(args) => rm::run(connect, args).await,
    }
}

/// `K=V` pairs as annotations (repeated keys collect values).
fn annotation_map(
    pairs: Vec<(String, String)>,
) -> std::collections::BTreeMap<String, StringValues> {
    let mut values = std::collections::BTreeMap::<String, StringValues>::new();
    for (key, value) in pairs {
        values.entry(key).or_default().values.push(value);
    }
    values
}

/// One line: ID, user, roles, state, created, reason.
fn line(request: &AccessRequestV3) -> String {
    let spec = request.spec.clone().unwrap_or_default();
    let id = request.metadata.as_ref().map_or("", |m| m.name.as_str());
    let created = spec
        .created
        .and_then(to_system_time)
        .map(|t| humantime::format_rfc3339_seconds(t).to_string())
        .unwrap_or_default();
    format!(
        "{id:<36}  {:<14} {:<20} {:<9} {created}  {}",
        spec.user,
        spec.roles.join(","),
        spec.state().label(),
        spec.request_reason
    )
}
