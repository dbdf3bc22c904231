//! `pctl policy`: upload, inspect, replace, roll back and test WebAssembly policy modules.

mod cases;
mod eval;
mod get;
mod limits;
mod ls;
mod new;
mod pack;
mod rm;
mod rollback;
mod test;
mod upload;

use super::connect::ConnectArgs;

/// `pctl policy` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// Upload a module under a name (replacing the module of that name; the replaced
    /// version is kept for `pctl policy rollback`).
    Upload(upload::UploadArgs),
    /// List the uploaded modules.
    Ls(ls::LsArgs),
    /// Show one module (or save its bytes with --out).
    Get(get::GetArgs),
    /// Delete a module and its previous version.
    Rm(rm::RmArgs),
    /// Put back the version the current module replaced.
    Rollback(rollback::RollbackArgs),
    /// Run a hook of an uploaded module on the server (a dry run).
    Eval(eval::EvalArgs),
    /// Run a module offline (no server) with the server's engine and limits: on one input,
    /// or on the cases of a test file.
    Test(test::TestArgs),
    /// Write a ready policy project (source, build script, sample input, test file) in
    /// rust, c, zig, assemblyscript, python or javascript.
    New(new::NewArgs),
    /// Add or replace a module's `portcullis.metadata` section (for languages that cannot
    /// emit custom sections).
    Pack(pack::PackArgs),
}

/// Runs a `pctl policy` subcommand.
pub async fn run(connect: &ConnectArgs, cmd: PolicyCommand) -> anyhow::Result<()> {
    match cmd {
        PolicyCommand::Upload(args) => upload::run(connect, args).await,
        PolicyCommand::Ls(args) => ls::run(connect, args).await,
        PolicyCommand::Get(args) => get::run(connect, args).await,
        PolicyCommand::Rm(args) => rm::run(connect, args).await,
        PolicyCommand::Rollback(args) => rollback::run(connect, args).await,
        PolicyCommand::Eval(args) => eval::run(connect, args).await,
        // Off the async runtime: a component's WASI calls block on their own runtime.
        PolicyCommand::Test(args) => tokio::task::spawn_blocking(move || test::run(args)).await?,
        PolicyCommand::Pack(args) => pack::run(args),
        PolicyCommand::New(args) => new::run(args),
    }
}

/// One line describing a stored module: name, module name and version, hooks, size, digest.
fn summary(module: &portcullis_api::services::PolicyModuleV1) -> String {
    let name = module
        .metadata
        .as_ref()
        .map(|m| m.name.as_str())
        .unwrap_or("?");
    let Some(spec) = &module.spec else {
        return name.to_owned();
    };
    let digest: String = spec.digest.chars().take(12).collect();
    let previous = spec
        .previous
        .as_ref()
        .map(|p| {
            format!(
                " (previous {} {})",
                p.module_version,
                p.digest.chars().take(12).collect::<String>()
            )
        })
        .unwrap_or_default();
    let status = module.status.clone().unwrap_or_default();
    format!(
        "{name:<20} {} {:<10} abi {} {:<28} {:>9} B  sha256:{digest}  evaluations {} failures {}{previous}",
        spec.module_name,
        spec.module_version,
        spec.abi,
        spec.hooks.join(","),
        spec.size,
        status.evaluations,
        status.failures
    )
}
