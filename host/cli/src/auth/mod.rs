//! `pctl auth`: certificate authority operations (export, sign, rotate).

mod export;
mod rotate;
mod sign;
mod sign_app;

use portcullis_api::auth::GetCertAuthoritiesRequest;
use portcullis_api::services::CaKeySet;
use portcullis_api::Client;

use super::connect::ConnectArgs;

/// The public key sets of the `ca_type` authorities: each one's active set, then its
/// additional trusted set during a rotation.
async fn trusted_key_sets(client: &Client, ca_type: &str) -> anyhow::Result<Vec<CaKeySet>> {
    let cas = client
        .rpc()
        .get_cert_authorities(GetCertAuthoritiesRequest {
            r#type: ca_type.into(),
            with_secrets: false,
        })
        .await?
        .into_inner()
        .cert_authorities;
    Ok(cas
        .into_iter()
        .filter_map(|ca| ca.spec)
        .flat_map(|spec| {
            spec.active_keys
                .into_iter()
                .chain(spec.additional_trusted_keys)
        })
        .collect())
}

/// `pctl auth` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AuthCommand {
    /// Print the public keys of a certificate authority in the formats OpenSSH, openssl and
    /// JWT verifiers read (every trusted key, including a rotation's new or old one).
    Export(export::ExportArgs),
    /// Issue certificates for a user (optionally for a Kubernetes cluster) or a host, or
    /// create an application session of the caller, and write them as an identity.
    Sign(sign::SignArgs),
    /// Start a certificate authority rotation or move it to another phase.
    Rotate(rotate::RotateArgs),
}

/// Runs a `pctl auth` subcommand.
pub async fn run(connect: &ConnectArgs, cmd: AuthCommand) -> anyhow::Result<()> {
    match cmd {
        AuthCommand::Export(args) => export::run(connect, args).await,
        AuthCommand::Sign(args) => sign::run(connect, args).await,
        AuthCommand::Rotate(args) => rotate::run(connect, args).await,
    }
}
