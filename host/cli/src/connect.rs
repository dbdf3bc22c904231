//! Where `pctl` connects and with which identity.

use std::path::PathBuf;

use anyhow::Context;
use portcullis_api::{Client, TlsFiles};

/// Connection options shared by every subcommand.
#[derive(Debug, clap::Args)]
pub struct ConnectArgs {
    /// Auth server address.
    #[arg(long, global = true, env = "PCTL_AUTH_SERVER", default_value = portcullis_api::DEFAULT_AUTH_ADDR, value_name = "ADDR")]
    pub auth_server: String,
    /// Directory holding the identity files NAME.crt, NAME.key and NAME.cas
    /// [default: the local server's data directory].
    #[arg(long, global = true, env = "PCTL_IDENTITY_DIR", value_name = "DIR")]
    pub identity_dir: Option<PathBuf>,
    /// Name of the identity files in the identity directory.
    #[arg(
        long,
        global = true,
        env = "PCTL_IDENTITY",
        default_value = "admin",
        value_name = "NAME"
    )]
    pub identity: String,
    /// Client certificate (PEM); overrides the identity directory. Needs --key and --cas.
    #[arg(long, global = true, requires_all = ["key", "cas"], value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// Client private key (PEM).
    #[arg(long, global = true, requires_all = ["cert", "cas"], value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// CA certificates to trust the auth server with (PEM).
    #[arg(long, global = true, requires_all = ["cert", "key"], value_name = "FILE")]
    pub cas: Option<PathBuf>,
    /// Identity file written by `pctl auth sign --format file`; overrides the others.
    #[arg(long, short = 'i', global = true, env = "PCTL_IDENTITY_FILE", conflicts_with_all = ["cert", "key", "cas"], value_name = "FILE")]
    pub identity_file: Option<PathBuf>,
}

impl ConnectArgs {
    /// The identity files to use.
    pub fn files(&self) -> TlsFiles {
        if let Some(file) = &self.identity_file {
            return TlsFiles::identity_file(file);
        }
        match (&self.cert, &self.key, &self.cas) {
            (Some(cert), Some(key), Some(cas)) => TlsFiles::new(cert, key, cas),
            _ => {
                let dir = self
                    .identity_dir
                    .clone()
                    .unwrap_or_else(portcullis_api::default_data_dir);
                TlsFiles::in_dir(dir, &self.identity)
            }
        }
    }

    /// Connects to the auth server, after checking that the private key (or identity
    /// file) is private to the caller: a key others can read is refused, as OpenSSH does.
    pub async fn connect(&self) -> anyhow::Result<Client> {
        let files = self.files();
        let what = if self.identity_file.is_some() {
            "identity file"
        } else {
            "private key file"
        };
        match portcullis_api::private::check_private(&files.key, what, "holds a private key") {
            // A missing file is reported by the client with the others.
            Err(portcullis_api::private::PrivacyError::Inspect { .. }) | Ok(()) => {}
            Err(e) => return Err(e.into()),
        }
        Client::connect(&self.auth_server, &files)
            .await
            .with_context(|| format!("cannot reach the auth server at `{}`", self.auth_server))
    }
}
