//! `pctl auth sign`: issue certificates for a user or a host and write them as an identity.
//!
//! The key pair is generated here and only its public half is sent to the server. Formats:
//! `tls` writes `PATH.crt`, `PATH.key` and `PATH.cas` (what the client crate and `pctl
//! --cert/--key/--cas` read); `openssh` writes `PATH` (private key) and `PATH-cert.pub` (what
//! `ssh -i PATH` reads); `file` writes one identity file `PATH` with the private key, the TLS
//! certificate, the CA certificates and the SSH certificate (what `pctl -i PATH` reads).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context};
use portcullis_api::auth::{HostCertsRequest, UserCertsRequest};
use portcullis_api::{Client, TlsFiles};
use portcullis_ca::ClientKey;

use crate::connect::ConnectArgs;
use portcullis_api::pem_list;
use portcullis_api::private::write_private;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `PATH.crt`, `PATH.key`, `PATH.cas`.
    Tls,
    /// `PATH` and `PATH-cert.pub`.
    Openssh,
    /// One identity file `PATH`.
    File,
}

/// Options of `pctl auth sign`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("subject").required(true).args(["user", "host"])))]
pub struct SignArgs {
    /// User to sign certificates for.
    #[arg(long, value_name = "NAME")]
    user: Option<String>,
    /// Host to sign certificates for: its host id, then any further names or addresses it is
    /// reached by, comma-separated (e.g. `node1,node1.example.com,127.0.0.1`).
    #[arg(long, value_name = "ID[,NAME...]", value_delimiter = ',')]
    host: Option<Vec<String>>,
    /// System role of the host.
    #[arg(long, default_value = "Node", requires = "host")]
    role: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "file")]
    format: Format,
    /// Output path (a prefix for `tls`).
    #[arg(long, short = 'o', value_name = "PATH")]
    out: PathBuf,
    /// Lifetime of the certificates: for a user 12h by default, at most 30h and the roles'
    /// max_session_ttl; for a host a year by default, and at most a year.
    #[arg(long, value_parser = humantime::parse_duration)]
    ttl: Option<Duration>,
    /// Include the roles of this approved access request (repeatable); the certificates
    /// then expire no later than the request's access expiry.
    #[arg(long = "request-id", value_name = "ID", conflicts_with = "host")]
    request_ids: Vec<String>,
    /// Replace existing files instead of refusing.
    #[arg(long)]
    overwrite: bool,
}

/// What the server signed.
struct Signed {
    ssh: Option<String>,
    tls: String,
    cas: Vec<String>,
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Issues and writes the identity.
pub async fn run(connect: &ConnectArgs, args: SignArgs) -> anyhow::Result<()> {
    let key = ClientKey::generate()?;
    let client = connect.connect().await?;
    let (subject, signed) = match (&args.user, &args.host) {
        (Some(user), _) => (
            user.clone(),
            sign_user(&client, &key, user, args.ttl, &args.request_ids).await?,
        ),
        (None, Some(names)) => {
            let Some((host_id, extra)) = names.split_first() else {
                bail!("--host needs a host id");
            };
            let signed = sign_host(&client, &key, host_id, extra, &args.role, args.ttl).await?;
            (host_id.clone(), signed)
        }
        (None, None) => bail!("give --user or --host"),
    };
    let files: Vec<(PathBuf, Vec<u8>)> = match args.format {
        Format::Tls => {
            let paths = TlsFiles::from_prefix(&args.out);
            vec![
                (paths.key, key.private_key_pem()?.as_bytes().to_vec()),
                (paths.cert, signed.tls.into_bytes()),
                (paths.cas, pem_list(&signed.cas).into_bytes()),
            ]
        }
        Format::Openssh => {
            let Some(ssh) = signed.ssh else {
                bail!(
                    "no SSH certificate was issued for `{subject}`: the user has no logins \
                     (give one of its roles `allow.logins`), or use --format tls"
                );
            };
            vec![
                (
                    args.out.clone(),
                    key.private_key_openssh()?.as_bytes().to_vec(),
                ),
                (
                    with_suffix(&args.out, "-cert.pub"),
                    format!("{}\n", ssh.trim_end()).into_bytes(),
                ),
            ]
        }
        Format::File => {
            let mut text = String::new();
            text.push_str(&key.private_key_pem()?);
            text.push_str(signed.tls.trim_end());
            text.push('\n');
            text.push_str(&pem_list(&signed.cas));
            if let Some(ssh) = signed.ssh {
                text.push_str(ssh.trim_end());
                text.push('\n');
            }
            vec![(args.out.clone(), text.into_bytes())]
        }
    };
    if !args.overwrite {
        for (path, _) in &files {
            if path.exists() {
                bail!("`{}` exists; remove it or pass --overwrite", path.display());
            }
        }
    }
    for (path, data) in &files {
        write_private(path, data).with_context(|| format!("cannot write `{}`", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

async fn sign_user(
    client: &Client,
    key: &ClientKey,
    user: &str,
    ttl: Option<Duration>,
    request_ids: &[String],
) -> anyhow::Result<Signed> {
    if let Some(ttl) = ttl {
        if ttl.is_zero() {
            bail!("--ttl must be longer than zero");
        }
    }
    let expires = ttl.map(|ttl| prost_types::Timestamp::from(SystemTime::now() + ttl));
    let certs = client
        .rpc()
        .generate_user_certs(UserCertsRequest {
            public_key: key.public_key_openssh()?.into_bytes(),
            username: user.to_owned(),
            expires,
            access_requests: request_ids.to_vec(),
            ..Default::default()
        })
        .await?
        .into_inner();
    // Host CA certificates first (they verify the auth server), then the user CA ones, so
    // that `openssl verify -CAfile PATH.cas PATH.crt` checks the identity itself. Trusting
    // the user CA for servers adds nothing an attacker can use: it only signs certificates
    // for client authentication, which TLS refuses as server certificates.
    let mut cas = Vec::new();
    for ca_type in [
        portcullis_api::kinds::HOST_CA,
        portcullis_api::kinds::USER_CA,
    ] {
        for set in super::trusted_key_sets(client, ca_type).await? {
            cas.extend(
                set.tls
                    .iter()
                    .map(|pair| String::from_utf8_lossy(&pair.cert).into_owned()),
            );
        }
    }
    Ok(Signed {
        ssh: (!certs.ssh.is_empty()).then(|| String::from_utf8_lossy(&certs.ssh).into_owned()),
        tls: String::from_utf8_lossy(&certs.tls).into_owned(),
        cas,
    })
}

async fn sign_host(
    client: &Client,
    key: &ClientKey,
    host_id: &str,
    extra: &[String],
    role: &str,
    ttl: Option<Duration>,
) -> anyhow::Result<Signed> {
    let ttl = match ttl {
        None => 0,
        Some(ttl) if ttl.is_zero() => bail!("--ttl must be longer than zero"),
        Some(ttl) => i64::try_from(ttl.as_nanos()).context("--ttl is too long")?,
    };
    let certs = client
        .rpc()
        .generate_host_certs(HostCertsRequest {
            host_id: host_id.to_owned(),
            node_name: host_id.to_owned(),
            role: role.to_owned(),
            additional_principals: extra.to_vec(),
            public_tls_key: key.public_key_pem()?.into_bytes(),
            public_ssh_key: key.public_key_openssh()?.into_bytes(),
            ttl,
            ..Default::default()
        })
        .await?
        .into_inner();
    Ok(Signed {
        ssh: Some(String::from_utf8_lossy(&certs.ssh).into_owned()),
        tls: String::from_utf8_lossy(&certs.tls).into_owned(),
        cas: certs
            .tlsca_certs
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect(),
    })
}
