//! `pctl request ls [--user U] [--state pending|approved|denied] [--json]`.

use portcullis_api::services::{AccessRequestFilter, RequestState};

use portcullis_api::PAGE_SIZE;

use crate::connect::ConnectArgs;
use crate::output::print_pages;

/// A request state on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum StateArg {
    /// Waiting for a decision.
    Pending,
    /// Approved.
    Approved,
    /// Denied.
    Denied,
}

/// Options of `pctl request ls`.
#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// Only requests of this user (a user without rights on `access_request` sees its own).
    #[arg(long)]
    user: Option<String>,
    /// Only requests in this state.
    #[arg(long, value_enum)]
    state: Option<StateArg>,
    /// Print the requests as JSON.
    #[arg(long)]
    json: bool,
}

/// Prints one line per request, a page at a time as the pages arrive.
pub async fn run(connect: &ConnectArgs, args: LsArgs) -> anyhow::Result<()> {
    let state = match args.state {
        None => RequestState::None,
        Some(StateArg::Pending) => RequestState::Pending,
        Some(StateArg::Approved) => RequestState::Approved,
        Some(StateArg::Denied) => RequestState::Denied,
    };
    let filter = AccessRequestFilter {
        user: args.user.unwrap_or_default(),
        state: state as i32,
        ..AccessRequestFilter::default()
    };
    let client = connect.connect().await?;
    print_pages(
        |after| client.access_requests_page(filter.clone(), after, PAGE_SIZE),
        args.json,
        None,
        super::line,
        "no access requests",
    )
    .await
}
