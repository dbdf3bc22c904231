//! A node joining the cluster: it exchanges a provisioning token for host certificates
//! (RegisterUsingToken, on a connection without a client certificate, verifying the server
//! with the host CA), writes its identity, then announces itself with that identity
//! (UpsertNode) and keeps the announcement alive (SendKeepAlives) until it stops.
//!
//! ```text
//! pctl tokens add --type node                      # on the admin's side
//! pctl auth export --type tls-host > host-ca.pem
//! cargo run -p portcullis-examples --bin node -- \
//!     --token TOKEN --host-ca host-ca.pem --name node-1 --labels env=dev \
//!     [--auth-server 127.0.0.1:3025] [--out DIR] [--ttl-secs 30] [--beats N]
//! ```
//! `--beats N` stops after N keep-alives (the node then vanishes once its TTL lapses);
//! without it the node heartbeats until interrupted (SIGINT or SIGTERM).
//!
//! `--app NAME,URI,PUBLIC_ADDR` makes it an application server instead: it joins with the
//! `App` system role (`pctl tokens add --type app`) and announces an `app_server` serving that
//! one application, labelled with `--labels` (UpsertAppServer), kept alive by keep-alives of
//! type APP.
//!
//! `--login CERT_FILE` (repeatable) admits users by their SSH certificates, taking a
//! `connection` semaphore lease per login within the user's `max-connections@portcullis`,
//! and prints `admitted USER lease ID` or `refused USER: REASON` (see `logins.rs`); the
//! leases are kept alive with the heartbeats and cancelled when the node stops.

mod logins;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context};
use portcullis_api::auth::RegisterUsingTokenRequest;
use portcullis_api::auth::UpsertAppServerRequest;
use portcullis_api::services::{App, KeepAlive, Metadata, ServerSpecV2, ServerV2};
use portcullis_api::{Client, TlsFiles, DEFAULT_AUTH_ADDR};
use portcullis_ca::ClientKey;

/// The command line.
struct Args {
    auth_server: String,
    token: String,
    host_ca: PathBuf,
    name: String,
    labels: BTreeMap<String, String>,
    out: PathBuf,
    ttl: Duration,
    beats: Option<u64>,
    logins: Vec<PathBuf>,
    app: Option<App>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        auth_server: DEFAULT_AUTH_ADDR.to_owned(),
        token: String::new(),
        host_ca: PathBuf::new(),
        name: String::new(),
        labels: BTreeMap::new(),
        out: PathBuf::from("."),
        ttl: Duration::from_secs(30),
        beats: None,
        logins: Vec::new(),
        app: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--auth-server" => args.auth_server = value()?,
            "--token" => args.token = value()?,
            "--host-ca" => args.host_ca = value()?.into(),
            "--name" => args.name = value()?,
            "--out" => args.out = value()?.into(),
            "--ttl-secs" => args.ttl = Duration::from_secs(value()?.parse()?),
            "--beats" => args.beats = Some(value()?.parse()?),
            "--login" => args.logins.push(value()?.into()),
            "--app" => {
                let spec = value()?;
                let parts: Vec<&str> = spec.splitn(3, ',').collect();
                let [name, uri, public_addr] = parts[..] else {
                    bail!("--app `{spec}` is not NAME,URI,PUBLIC_ADDR");
                };
                args.app = Some(App {
                    name: name.to_owned(),
                    uri: uri.to_owned(),
                    public_addr: public_addr.to_owned(),
                    ..App::default()
                });
            }
            "--labels" => {
                for pair in value()?.split(',') {
                    let (k, v) = pair
                        .split_once('=')
                        .with_context(|| format!("label `{pair}` is not KEY=VALUE"))?;
                    args.labels.insert(k.to_owned(), v.to_owned());
                }
            }
            other => bail!("unknown argument `{other}`"),
        }
    }
    if args.token.is_empty() || args.name.is_empty() || args.host_ca.as_os_str().is_empty() {
        bail!("--token, --name and --host-ca are required");
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    // From here on SIGINT and SIGTERM are caught: the heartbeat loop ends on them, and the
    // node gives its leases back before it exits.
    let mut stop = std::pin::pin!(stop_signal()?);
    let host_ca = std::fs::read_to_string(&args.host_ca)
        .with_context(|| format!("cannot read `{}`", args.host_ca.display()))?;

    // Join: a fresh key pair, only its public half leaves this process.
    let key = ClientKey::generate()?;
    let joining = Client::connect_to_join(&args.auth_server, &host_ca).await?;
    let certs = joining
        .rpc()
        .register_using_token(RegisterUsingTokenRequest {
            token: args.token.clone(),
            host_id: args.name.clone(),
            node_name: args.name.clone(),
            role: if args.app.is_some() { "App" } else { "Node" }.to_owned(),
            public_ssh_key: key.public_key_openssh()?.into_bytes(),
            public_tls_key: key.public_key_pem()?.into_bytes(),
            ..RegisterUsingTokenRequest::default()
        })
        .await
        .context("join refused")?
        .into_inner();
    let prefix = args.out.join(&args.name);
    std::fs::write(prefix.with_extension("crt"), &certs.tls)?;
    write_private_key(
        &prefix.with_extension("key"),
        key.private_key_pem()?.as_bytes(),
    )?;
    std::fs::write(prefix.with_extension("cas"), certs.tlsca_certs.concat())?;
    std::fs::write(prefix.with_extension("ssh-cert"), &certs.ssh)?;
    println!(
        "joined as `{}`; identity in {}.crt",
        args.name,
        prefix.display()
    );

    // Announce with the new identity, then keep the announcement alive.
    let client = Client::connect(&args.auth_server, &TlsFiles::from_prefix(&prefix)).await?;
    let expires = || prost_types::Timestamp::from(SystemTime::now() + args.ttl);
    let mut server = ServerV2 {
        kind: "node".to_owned(),
        version: "v2".to_owned(),
        metadata: Some(Metadata {
            name: args.name.clone(),
            namespace: "default".to_owned(),
            labels: args.labels.clone(),
            expires: Some(expires()),
            ..Metadata::default()
        }),
        spec: Some(ServerSpecV2 {
            hostname: args.name.clone(),
            addr: "127.0.0.1:3022".to_owned(),
            ..ServerSpecV2::default()
        }),
        ..ServerV2::default()
    };
    let lease = match &args.app {
        None => client.rpc().upsert_node(server).await?.into_inner(),
        Some(app) => {
            // An application server: the labels are the application's.
            let app = App {
                static_labels: args.labels.clone(),
                ..app.clone()
            };
            server.kind = "app_server".to_owned();
            server.spec.get_or_insert_with(Default::default).apps = vec![app];
            let request = UpsertAppServerRequest {
                server: Some(server),
            };
            client.rpc().upsert_app_server(request).await?.into_inner()
        }
    };
    println!("announced; lease {}", lease.lease_id);

    // Users logging in: one connection lease each, within their limit.
    let mut connections = logins::Connections::new(&args.name, args.ttl);
    if !args.logins.is_empty() {
        let trusted = logins::user_ca_fingerprints(&client).await?;
        for path in &args.logins {
            match logins::read_login(path, &trusted, SystemTime::now()) {
                Ok(login) => connections.admit(&client, login).await,
                Err(e) => println!("refused {}: {e:#}", path.display()),
            }
        }
    }

    let (tx, rx) = tokio::sync::mpsc::channel::<KeepAlive>(4);
    let mut rpc = client.rpc();
    let stream = tokio::spawn(async move {
        rpc.send_keep_alives(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
    });
    let mut sent = 0u64;
    while args.beats.is_none_or(|n| sent < n) {
        tokio::select! {
            () = tokio::time::sleep(args.ttl / 3) => {}
            () = &mut stop => break,
        }
        connections.keep_alive(&client).await;
        let beat = KeepAlive {
            expires: Some(expires()),
            ..lease.clone()
        };
        if tx.send(beat).await.is_err() {
            break;
        }
        sent += 1;
        println!("heartbeat {sent}");
    }
    drop(tx);
    connections.cancel_all(&client).await;
    match stream.await? {
        Ok(_) => println!("stopped after {sent} heartbeats"),
        Err(status) => bail!("keep-alives refused: {}", status.message()),
    }
    Ok(())
}

/// Listens for SIGINT and SIGTERM from now on: the future resolves on the first of them.
fn stop_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    })
}

/// Writes the node's private key readable by its owner only.
fn write_private_key(path: &std::path::Path, pem: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    // An older file keeps its mode on open: make it private before the key goes in.
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    file.write_all(pem)?;
    Ok(())
}
