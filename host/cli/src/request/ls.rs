//! `pctl request ls [--user U] [--state pending|approved|denied] [--json]`.

use portcullis_api::services::{AccessRequestFilter, RequestState};

use crate::connect::ConnectArgs;

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

/// Prints one line per request.
pub async fn run(connect: &ConnectArgs, args: LsArgs) -> anyhow::Result<()> {
    let state = match args.state {
        None => RequestState::None,
        Some(StateArg::Pending) => RequestState::Pending,
        Some(StateArg::Approved) => RequestState::Approved,
        Some(StateArg::Denied) => RequestState::Denied,
    };
    let client = connect.connect().await?;
    let requests = client
        .rpc()
        .get_access_requests(AccessRequestFilter {
            id: String::new(),
            user: args.user.unwrap_or_default(),
            state: state as i32,
        })
        .await?
        .into_inner()
        .access_requests;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&requests)?);
        return Ok(());
    }
    if requests.is_empty() {
        println!("no access requests");
    }
    for request in &requests {
        println!("{}", super::line(request));
    }
    Ok(())
}
