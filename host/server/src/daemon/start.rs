//! `portcullis start`: run the auth server.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use portcullis_store::{Backend, EtcdBackend, RocksBackend};

use crate::config::{FileConfig, Overrides, Storage};

/// Options of `portcullis start`. Flags override the config file, which overrides defaults.
#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// YAML config file (keys: cluster_name, data_dir, listen_addr, public_addrs, log_level,
    /// sweep_interval, rotation_check_interval, storage, diag_addr, ca, policy, tokens,
    /// access_request_ttl; see the README).
    #[arg(long, short = 'c', value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory for the store, the CA keys and the admin identity
    /// [default: $PORTCULLIS_DATA_DIR or ~/.local/share/portcullis].
    #[arg(long, short = 'd', value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Address to listen on, `IP:PORT` [default: 127.0.0.1:3025]. Port 0 picks a free port;
    /// the chosen address is printed on standard output as `listening on IP:PORT`.
    #[arg(long, short = 'l', value_name = "ADDR")]
    listen: Option<String>,
    /// Name of a new cluster [default: portcullis]; must match an existing cluster's name.
    #[arg(long, value_name = "NAME")]
    cluster_name: Option<String>,
    /// Log filter, e.g. `info`, `debug`, `portcullis_server=debug` [default: info].
    #[arg(long, value_name = "FILTER")]
    log_level: Option<String>,
    /// Where the cluster's data lives: `rocksdb` (under the data directory) or `etcd`
    /// [default: rocksdb, or etcd when endpoints are given].
    #[arg(long, value_name = "TYPE", value_parser = ["rocksdb", "etcd"])]
    storage: Option<String>,
    /// etcd client URLs, comma-separated, e.g. `https://10.0.0.1:2379,https://10.0.0.2:2379`
    /// (TLS files go in the config file's `storage.tls`).
    #[arg(long, value_name = "URLS", value_delimiter = ',')]
    etcd_endpoints: Vec<String>,
    /// Key prefix in etcd [default: /portcullis]; servers of one cluster share it.
    #[arg(long, value_name = "PREFIX")]
    etcd_prefix: Option<String>,
    /// Plain-HTTP diagnostics listener (`/healthz`, `/readyz`, `/metrics`), `IP:PORT`
    /// [default: off]. Port 0 picks a free port, printed as `diagnostics on IP:PORT`.
    #[arg(long, value_name = "ADDR")]
    diag_addr: Option<String>,
    /// For fault tests, never in production: the server's clock becomes the system's moved
    /// by the signed number of seconds in FILE (e.g. `7200`), read again whenever the file
    /// changes, so that a test can make it jump forward and back while the server runs
    /// [default: the system's clock].
    #[arg(long, value_name = "FILE")]
    clock_offset_file: Option<PathBuf>,
}

/// Runs the server until SIGINT or SIGTERM.
pub fn run(args: StartArgs) -> anyhow::Result<()> {
    // Before anything is created: the store and everything else under the data directory
    // must never be readable by other users, whatever umask the server was started with.
    super::data_dir::private_umask();
    let file = match &args.config {
        Some(path) => {
            let file = FileConfig::load(path)?;
            if !file.tokens.is_empty() {
                portcullis_api::private::check_private(
                    path,
                    "config file",
                    "holds static provisioning tokens",
                )?;
            }
            file
        }
        None => FileConfig::default(),
    };
    let config = file.resolve(Overrides {
        data_dir: args.data_dir,
        listen_addr: args.listen,
        cluster_name: args.cluster_name,
        log_level: args.log_level,
        storage: crate::config::StorageFlags {
            kind: args.storage,
            endpoints: args.etcd_endpoints,
            prefix: args.etcd_prefix,
        },
        diag_addr: args.diag_addr,
    })?;
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_level)
        .with_context(|| format!("invalid log level `{}`", config.log_level))?;
    // Colours only on a terminal: log files and journald get plain text.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    if let Some(path) = args.clock_offset_file {
        portcullis_clock::follow_offset_file(path.clone())?;
        tracing::warn!(
            file = %path.display(),
            now = %humantime::format_rfc3339_seconds(portcullis_clock::now()),
            "the server's clock follows an offset file (fault tests only)"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: crate::config::Config) -> anyhow::Result<()> {
    super::data_dir::prepare(&config.data_dir)?;
    let backend = open_store(&config).await?;
    // Before bootstrap loads what the caches hold: the follower picks up every later change.
    let feed = backend.subscribe();
    let state = crate::bootstrap::bootstrap(&config, backend.clone())
        .await
        .context("bootstrap failed")?;
    let listener = tokio::net::TcpListener::bind(config.listen_addr)
        .await
        .with_context(|| format!("cannot listen on `{}`", config.listen_addr))?;
    let local = listener.local_addr().context("no local address")?;
    // Names this process in the lease it may hold: where it listens, and a random part.
    let server_id = format!("{local}/{}", uuid::Uuid::new_v4().as_simple());
    let leadership = super::leader::spawn(
        backend.clone(),
        server_id.clone(),
        super::leader::DEFAULT_LEASE_TTL,
    );
    let follower = super::follow::spawn(state.clone(), feed);
    let duties = super::duties::spawn(
        state.clone(),
        config.rotation_check_interval,
        config.sweep_interval,
        leadership.watch(),
    );
    let diag = match config.diag_addr {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on `{addr}` (diag_addr)"))?;
            let local = listener.local_addr().context("no local address")?;
            println!("diagnostics on {local}");
            let readiness: Arc<dyn crate::diag::Readiness> = state.clone();
            Some(tokio::spawn(crate::diag::serve(
                listener,
                readiness,
                state.stopping(),
            )))
        }
        None => None,
    };

    tracing::info!(
        cluster = %state.cluster_name,
        addr = %local,
        server = %server_id,
        data_dir = %config.data_dir.display(),
        "auth server ready"
    );
    println!("listening on {local}");
    let served =
        crate::transport::serve(listener, state.clone(), config.transport, shutdown_signal()).await;
    follower.abort();
    for duty in duties {
        duty.abort();
    }
    leadership.resign().await;
    if let Some(diag) = diag {
        diag.abort();
    }
    served.context("server failed")?;
    tracing::info!("auth server stopped");
    Ok(())
}

/// Opens the configured store, with its operations measured for `/metrics`.
async fn open_store(config: &crate::config::Config) -> anyhow::Result<Arc<dyn Backend>> {
    let backend: Arc<dyn Backend> = match &config.storage {
        Storage::RocksDb => {
            let store_dir = config.data_dir.join("store");
            Arc::new(
                RocksBackend::open(&store_dir).with_context(|| {
                    format!("cannot open the store in `{}`", store_dir.display())
                })?,
            )
        }
        Storage::Etcd(etcd) => {
            let options = etcd.options()?;
            tracing::info!(endpoints = %etcd.endpoints.join(","), prefix = %etcd.prefix, "connecting to etcd");
            Arc::new(
                EtcdBackend::connect(options)
                    .await
                    .context("cannot open the store on etcd")?,
            )
        }
    };
    Ok(Arc::new(crate::diag::MeteredBackend::new(backend)))
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch SIGTERM");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}
