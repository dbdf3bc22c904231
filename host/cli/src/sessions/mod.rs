//! `pctl sessions`: recorded sessions — list them, play one back, export its events.

mod export;
mod ls;
mod play;

use portcullis_api::auth::GetSessionEventsRequest;
use portcullis_api::events::OneOf;
use portcullis_api::Client;

use super::connect::ConnectArgs;

/// `pctl sessions` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum SessionsCommand {
    /// List recorded sessions you may read (`--active`: the sessions being recorded now).
    Ls(ls::LsArgs),
    /// Replay a recorded session's terminal output with its timing.
    Play(play::PlayArgs),
    /// Print a recorded session's events as JSON lines.
    Export(export::ExportArgs),
}

/// Runs a `pctl sessions` subcommand.
pub async fn run(connect: &ConnectArgs, cmd: SessionsCommand) -> anyhow::Result<()> {
    match cmd {
        SessionsCommand::Ls(args) => ls::run(connect, args).await,
        SessionsCommand::Play(args) => play::run(connect, args).await,
        SessionsCommand::Export(args) => export::run(connect, args).await,
    }
}

/// Calls `each` with every event of session `id`, in order, a page at a time.
async fn for_each_event(
    client: &Client,
    id: &str,
    mut each: impl FnMut(OneOf) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut start_after = String::new();
    loop {
        let page = client
            .rpc()
            .get_session_events(GetSessionEventsRequest {
                session_id: id.to_owned(),
                start_after,
                limit: 0,
            })
            .await?
            .into_inner();
        for event in page.events {
            each(event)?;
        }
        if page.next_start_after.is_empty() {
            return Ok(());
        }
        start_after = page.next_start_after;
    }
}
