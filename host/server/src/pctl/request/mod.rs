//! `pctl request`: access requests (as `tctl request`).

mod create;
mod get;
mod ls;
mod resolve;
mod rm;

use portcullis_api::services::AccessRequestV3;

use super::connect::ConnectArgs;
use crate::access_requests::{spec, state, state_name};
use crate::resources::to_system_time;

/// `pctl request` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum RequestCommand {
    /// List requests (`--user`, `--state pending|approved|denied`).
    Ls(ls::LsArgs),
    /// Print one request in full.
    Get(get::GetArgs),
    /// Ask for roles (`pctl request create --roles dba --reason "ticket 42"`).
    Create(create::CreateArgs),
    /// Approve a pending request, optionally only some of its roles.
    Approve(resolve::ResolveArgs),
    /// Deny a pending request.
    Deny(resolve::ResolveArgs),
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
        RequestCommand::Rm(args) => rm::run(connect, args).await,
    }
}

/// One line: ID, user, roles, state, created, reason.
fn line(request: &AccessRequestV3) -> String {
    let spec = spec(request);
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
        state_name(state(request)),
        spec.request_reason
    )
}
