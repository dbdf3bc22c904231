//! `pctl users`: users, their passwords (reset and invite tokens), lockouts and
//! registered keys.

mod add;
mod keys;
mod ls;
mod reset;
mod rm;
mod unlock;

use super::connect::ConnectArgs;

/// `pctl users` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum UsersCommand {
    /// Create a user and print an invite token with which they set their password
    /// (`pctl users add alice --roles dev --logins alice`).
    Add(add::AddArgs),
    /// List users with their roles and whether they are locked out.
    Ls(ls::LsArgs),
    /// Delete a user, with its credentials, web sessions and keys.
    Rm(rm::RmArgs),
    /// Remove a user's password and second factor and print a reset token with which they
    /// set new ones (`pctl users reset alice`).
    Reset(reset::ResetArgs),
    /// Lift a user's lockout after too many failed password checks.
    Unlock(unlock::UnlockArgs),
    /// A user's registered public keys (authorized keys signed by the user authority).
    #[command(subcommand)]
    Keys(keys::KeysCommand),
}

/// Runs a `pctl users` subcommand.
pub async fn run(connect: &ConnectArgs, cmd: UsersCommand) -> anyhow::Result<()> {
    match cmd {
        UsersCommand::Add(args) => add::run(connect, args).await,
        UsersCommand::Ls(args) => ls::run(connect, args).await,
        UsersCommand::Rm(args) => rm::run(connect, args).await,
        UsersCommand::Reset(args) => reset::run(connect, args).await,
        UsersCommand::Unlock(args) => unlock::run(connect, args).await,
        UsersCommand::Keys(cmd) => keys::run(connect, cmd).await,
    }
}
