//! `pctl auth sign`: issue certificates for a user or a host and write them as an identity.
//!
//! The key pair is generated here and only its public half is sent to the server. Formats:
//! `tls` writes `PATH.crt`, `PATH.key` and `PATH.cas` (what the client crate and `pctl
//! --cert/--key/--cas` read); `openssh` writes `PATH` (private key) and `PATH-cert.pub` (what
//! `ssh -i PATH` reads); `file` writes one identity file `PATH` with the private key, the TLS
//! certificate, the CA certificates and the SSH certificate (what `pctl -i PATH` reads).
//!
//! `--kube-cluster NAME` (with `--user`) targets a Kubernetes cluster: the server checks that
//! a live Kubernetes service serves it and the user's roles grant it (`kubernetes_labels`),
//! and the TLS certificate names it next to the user's Kubernetes users and groups.
//!
//! `--app NAME` creates an application session of the caller instead (see [`super::sign_app`])
//! and writes its certificate and key in the `tls` or `file` layout, plus `PATH.jwt`, the JWT
//! for the application.

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
#[command(group(clap::ArgGroup::new("subject").required(true).args(["user", "host", "app"])))]
pub struct SignArgs {
    /// User to sign certificates for.
    #[arg(long, value_name = "NAME")]
    user: Option<String>,
    /// Host to sign certificates for: its host id, then any further names or addresses it is
    /// reached by, comma-separated (e.g. `node1,node1.example.com,127.0.0.1`).
    #[arg(long, value_name = "ID[,NAME...]", value_delimiter = ',')]
    host: Option<Vec<String>>,
    /// Create an application session of the identity pctl runs as, for the application
    /// called NAME (see `pctl apps ls`), and write its certificate, key and JWT.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["ttl", "request_ids"])]
    app: Option<String>,
    /// Kubernetes cluster the user certificate targets (it must be served by a registered
    /// Kubernetes service and granted by the user's kubernetes_labels).
    #[arg(long, value_name = "NAME", requires = "user")]
    kube_cluster: Option<String>,
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
pub(super) struct Signed {
    /// SSH certificate.
    pub ssh: Option<String>,
    /// TLS certificate (PEM).
    pub tls: String,
    /// CA certificates to trust (PEM).
    pub cas: Vec<String>,
    /// The private key (PEM) when the server made it (app sessions); else the one generated
    /// here.
    pub key_pem: Option<Vec<u8>>,
    /// A JWT to write to `PATH.jwt` (app sessions).
    pub jwt: Option<String>,
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
    let (subject, signed) = match (&args.user, &args.host, &args.app) {
        (Some(user), _, _) => {
            let kube = args.kube_cluster.clone().unwrap_or_default();
            let signed = sign_user(&client, &key, user, args.ttl, &args.request_ids, kube).await?;
            (user.clone(), signed)
        }
        (None, Some(names), _) => {
            let Some((host_id, extra)) = names.split_first() else {
                bail!("--host needs a host id");
            };
            let signed = sign_host(&client, &key, host_id, extra, &args.role, args.ttl).await?;
            (host_id.clone(), signed)
        }
        (None, None, Some(app)) => {
            if args.format == Format::Openssh {
                bail!("--app writes TLS credentials and a JWT: use --format tls or --format file");
            }
            let (signed, id) = super::sign_app::session(&client, app).await?;
            println!("app session {id} for `{app}`");
            (app.clone(), signed)
        }
        (None, None, None) => bail!("give --user, --host or --app"),
    };
    let key_pem = match signed.key_pem {
        Some(pem) => pem,
        None => key.private_key_pem()?.as_bytes().to_vec(),
    };
    let files: Vec<(PathBuf, Vec<u8>)> = match args.format {
        Format::Tls => {
            let paths = TlsFiles::from_prefix(&args.out);
            vec![
                (paths.key, key_pem),
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
            let mut text = String::from_utf8_lossy(&key_pem).into_owned();
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
    let mut files = files;
    if let Some(jwt) = signed.jwt {
        files.push((
            with_suffix(&args.out, ".jwt"),
            format!("{jwt}\n").into_bytes(),
        ));
    }
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
    kubernetes_cluster: String,
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
            kubernetes_cluster,
            ..Default::default()
        })
        .await?
        .into_inner();
    Ok(Signed {
        ssh: (!certs.ssh.is_empty()).then(|| String::from_utf8_lossy(&certs.ssh).into_owned()),
        tls: String::from_utf8_lossy(&certs.tls).into_owned(),
        cas: client_cas(client).await?,
        key_pem: None,
        jwt: None,
    })
}

/// The CA certificates a user's TLS identity trusts: the host CA ones first (they verify the
/// auth server), then the user CA ones, so that `openssl verify -CAfile PATH.cas PATH.crt`
/// checks the identity itself. Trusting the user CA for servers adds nothing an attacker
/// can use: it only signs certificates for client authentication, which TLS refuses as
/// server certificates.
pub(super) async fn client_cas(client: &Client) -> anyhow::Result<Vec<String>> {
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
    Ok(cas)
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
        key_pem: None,
        jwt: None,
    })
}
