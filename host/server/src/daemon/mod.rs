//! The `portcullis` daemon command line.

mod data_dir;
mod duties;
mod follow;
mod leader;
mod repair;
mod start;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Portcullis: an auth server for infrastructure access.
#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "Portcullis: an auth server for infrastructure access.",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the auth server (bootstraps a new cluster on first start).
    Start(Box<start::StartArgs>),
    /// Salvage what is intact of a damaged embedded store (the server must be stopped).
    RepairStore(repair::RepairArgs),
}

/// Runs the daemon command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Start(args) => start::run(*args),
        Command::RepairStore(args) => repair::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portcullis: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
