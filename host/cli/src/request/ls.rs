//! `pctl request ls [--user U] [--state pending|approved|denied] [--json]`.

use portcullis_api::services::{AccessRequestFilter, RequestState};

use portcullis_api::{for_each_page, PAGE_SIZE};

use crate::connect::ConnectArgs;
use crate::output::{Format, Printer};

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
    let mut json = args.json.then(|| Printer::new(Format::Json));
    let mut printed = 0usize;
    for_each_page(
        |after| client.access_requests_page(filter.clone(), after, PAGE_SIZE),
        |requests| {
            printed += requests.len();
            match json.as_mut() {
                Some(printer) => printer.print(&requests)?,
                None => {
                    let lines: Vec<String> = requests.iter().map(super::line).collect();
                    if !lines.is_empty() {
                        println!("{}", lines.join("\n"));
                    }
                }
            }
            anyhow::Ok(())
        },
    )
    .await?;
    match json {
        Some(printer) => print!("{}", printer.end()),
        None if printed == 0 => println!("no access requests"),
        None => {}
    }
    Ok(())
}
