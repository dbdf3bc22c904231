//! `pctl auth export`: the cluster's public CA keys in the formats OpenSSH and openssl read.

use anyhow::bail;
use portcullis_api::auth::GetCertAuthoritiesRequest;

use super::connect::ConnectArgs;

/// What `pctl auth export` prints.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportType {
    /// User CA as an `authorized_keys` line (`cert-authority ...`) for sshd.
    User,
    /// Host CA as a `known_hosts` line (`@cert-authority * ...`) for ssh.
    Host,
    /// User CA certificate (PEM), to verify client certificates.
    TlsUser,
    /// Host CA certificate (PEM), to verify the auth server (what `.cas` files hold).
    TlsHost,
}

/// `pctl auth` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AuthCommand {
    /// Print the public keys of a certificate authority.
    Export {
        /// Which authority and format.
        #[arg(long = "type", value_enum)]
        kind: ExportType,
    },
}

/// Runs a `pctl auth` subcommand.
pub async fn run(connect: &ConnectArgs, cmd: AuthCommand) -> anyhow::Result<()> {
    let AuthCommand::Export { kind } = cmd;
    let ca_type = match kind {
        ExportType::User | ExportType::TlsUser => "user",
        ExportType::Host | ExportType::TlsHost => "host",
    };
    let client = connect.connect().await?;
    let cas = client
        .rpc()
        .get_cert_authorities(GetCertAuthoritiesRequest {
            r#type: ca_type.into(),
            with_secrets: false,
        })
        .await?
        .into_inner()
        .cert_authorities;
    let mut out = String::new();
    for ca in cas {
        let keys = ca.spec.and_then(|s| s.active_keys).unwrap_or_default();
        match kind {
            ExportType::User | ExportType::Host => {
                for pair in keys.ssh {
                    let public = String::from_utf8_lossy(&pair.public_key);
                    let prefix = match kind {
                        ExportType::User => "cert-authority",
                        _ => "@cert-authority *",
                    };
                    out.push_str(&format!("{prefix} {}\n", public.trim()));
                }
            }
            ExportType::TlsUser | ExportType::TlsHost => {
                for pair in keys.tls {
                    out.push_str(String::from_utf8_lossy(&pair.cert).trim_end());
                    out.push('\n');
                }
            }
        }
    }
    if out.is_empty() {
        bail!("the {ca_type} certificate authority has no keys of that kind");
    }
    print!("{out}");
    Ok(())
}
