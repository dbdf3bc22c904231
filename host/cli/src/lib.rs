//! `pctl`: the admin command line of the Portcullis auth server, modelled on `tctl`.
//!
//! It is a client of the gRPC API like any other: it depends on `portcullis-api` (and on
//! the authz, policy and ca crates for what it runs offline: validating documents, testing
//! policy modules, generating keys), never on the server. One file per subcommand.
//!
//! By default it talks to the local auth server (127.0.0.1:3025) with the admin identity that
//! the server wrote into its data directory; `--auth-server`, `--identity-dir` and
//! `--cert/--key/--cas` point it elsewhere.

mod acl;
mod apps;
mod audit;
mod auth;
mod connect;
mod create;
mod events;
mod get;
mod kinds;
mod kube;
mod nodes;
mod output;
mod policy;
mod proxies;
mod request;
mod rm;
mod semaphores;
mod sessions;
mod status;
mod tokens;
mod update;
mod users;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use portcullis_api::documents::{parse_documents, Document, DocumentError};

/// Admin command line of the Portcullis auth server.
#[derive(Debug, Parser)]
#[command(
    name = "pctl",
    version,
    about = "Admin command line of the Portcullis auth server (modelled on tctl).",
    long_about = None
)]
struct Cli {
    #[command(flatten)]
    connect: connect::ConnectArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create resources from a YAML file (several documents separated by `---`).
    Create(create::CreateArgs),
    /// Print resources: `pctl get roles`, `pctl get role/admin`.
    Get(get::GetArgs),
    /// Remove a resource: `pctl rm role/dev`.
    Rm(rm::RmArgs),
    /// Change a resource's labels: `pctl update rc/leaf --set-labels env=prod`.
    Update(update::UpdateArgs),
    /// Manage users.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Show the cluster name, server version and certificate authority fingerprints.
    Status(status::StatusArgs),
    /// Certificate authority operations.
    #[command(subcommand)]
    Auth(auth::AuthCommand),
    /// WebAssembly policy modules.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Access control: explain decisions.
    #[command(subcommand)]
    Acl(acl::AclCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Recorded sessions: list, play back, export.
    #[command(subcommand)]
    Sessions(sessions::SessionsCommand),
    /// Access requests: ask for roles, approve, deny.
    #[command(subcommand)]
    Request(request::RequestCommand),
    /// Provisioning tokens for joining hosts and leaf clusters.
    #[command(subcommand)]
    Tokens(tokens::TokensCommand),
    /// Nodes announcing themselves (presence).
    #[command(subcommand)]
    Nodes(nodes::NodesCommand),
    /// Proxies announcing themselves (presence).
    #[command(subcommand)]
    Proxies(proxies::ProxiesCommand),
    /// Applications served by application servers (presence), as the caller may see them.
    #[command(subcommand)]
    Apps(apps::AppsCommand),
    /// Kubernetes clusters served by Kubernetes services (presence), as the caller may see
    /// them.
    #[command(subcommand)]
    Kube(kube::KubeCommand),
    /// Changes to resources as they happen.
    #[command(subcommand)]
    Events(events::EventsCommand),
    /// Semaphores: leases limiting concurrent use, e.g. a user's connections.
    #[command(subcommand)]
    Semaphores(semaphores::SemaphoresCommand),
}

/// Parses a `KEY=VALUE` label argument.
fn parse_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

/// Reads a text input named on the command line: a file, or standard input for `-`.
fn read_input(path: &std::path::Path) -> anyhow::Result<String> {
    use anyhow::Context;
    if path.as_os_str() == "-" {
        return std::io::read_to_string(std::io::stdin()).context("cannot read standard input");
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))
}

/// Runs `pctl` and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pctl: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Create(args) => create::run(&cli.connect, args).await,
            Command::Get(args) => get::run(&cli.connect, args).await,
            Command::Rm(args) => rm::run(&cli.connect, args).await,
            Command::Users(cmd) => users::run(&cli.connect, cmd).await,
            Command::Status(args) => status::run(&cli.connect, args).await,
            Command::Auth(cmd) => auth::run(&cli.connect, cmd).await,
            Command::Policy(cmd) => policy::run(&cli.connect, cmd).await,
            Command::Acl(cmd) => acl::run(&cli.connect, cmd).await,
            Command::Audit(cmd) => audit::run(&cli.connect, cmd).await,
            Command::Sessions(cmd) => sessions::run(&cli.connect, cmd).await,
            Command::Tokens(cmd) => tokens::run(&cli.connect, cmd).await,
            Command::Request(cmd) => request::run(&cli.connect, cmd).await,
            Command::Update(args) => update::run(&cli.connect, args).await,
            Command::Nodes(cmd) => nodes::run(&cli.connect, cmd).await,
            Command::Proxies(cmd) => proxies::run(&cli.connect, cmd).await,
            Command::Apps(cmd) => apps::run(&cli.connect, cmd).await,
            Command::Kube(cmd) => kube::run(&cli.connect, cmd).await,
            Command::Events(cmd) => events::run(&cli.connect, cmd).await,
            Command::Semaphores(cmd) => semaphores::run(&cli.connect, cmd).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pctl: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
