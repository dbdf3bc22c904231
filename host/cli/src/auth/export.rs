//! `pctl auth export`: the cluster's public CA keys in the formats OpenSSH, openssl and JWT
//! verifiers read.

use anyhow::{bail, Context};
use portcullis_api::services::CaKeySet;

use crate::connect::ConnectArgs;

/// What `pctl auth export` prints.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportType {
    /// User CA as `authorized_keys` lines (`cert-authority ...`) for sshd.
    User,
    /// Host CA as `known_hosts` lines (`@cert-authority * ...`) for ssh.
    Host,
    /// User CA certificates (PEM), to verify client certificates.
    TlsUser,
    /// Host CA certificates (PEM), to verify the auth server (what `.cas` files hold).
    TlsHost,
    /// JWT signing keys as a JSON Web Key Set, to verify application tokens.
    Jwt,
}

/// Options of `pctl auth export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Which authority and format.
    #[arg(long = "type", value_enum)]
    kind: ExportType,
}

/// Prints the requested public keys.
pub async fn run(connect: &ConnectArgs, args: ExportArgs) -> anyhow::Result<()> {
    let kind = args.kind;
    let ca_type = match kind {
        ExportType::User | ExportType::TlsUser => "user",
        ExportType::Host | ExportType::TlsHost => "host",
        ExportType::Jwt => "jwt",
    };
    let client = connect.connect().await?;
    let sets: Vec<CaKeySet> = super::trusted_key_sets(&client, ca_type).await?;
    let mut out = String::new();
    match kind {
        ExportType::User | ExportType::Host => {
            let prefix = match kind {
                ExportType::User => "cert-authority",
                _ => "@cert-authority *",
            };
            for pair in sets.iter().flat_map(|s| &s.ssh) {
                let public = String::from_utf8_lossy(&pair.public_key);
                out.push_str(&format!("{prefix} {}\n", public.trim()));
            }
        }
        ExportType::TlsUser | ExportType::TlsHost => {
            for pair in sets.iter().flat_map(|s| &s.tls) {
                out.push_str(String::from_utf8_lossy(&pair.cert).trim_end());
                out.push('\n');
            }
        }
        ExportType::Jwt => {
            let pems: Vec<String> = sets
                .iter()
                .flat_map(|s| &s.jwt)
                .map(|p| String::from_utf8_lossy(&p.public_key).into_owned())
                .collect();
            if !pems.is_empty() {
                let refs: Vec<&str> = pems.iter().map(String::as_str).collect();
                let jwks = portcullis_ca::jwks_from_public_pems(&refs)
                    .context("cannot build the JSON Web Key Set")?;
                out = serde_json::to_string_pretty(&jwks)?;
                out.push('\n');
            }
        }
    }
    if out.is_empty() {
        bail!("the {ca_type} certificate authority has no keys of that kind");
    }
    print!("{out}");
    Ok(())
}
