//! `portcullis start`: run the auth server.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use portcullis_store::{Backend, RocksBackend};

use crate::config::{FileConfig, Overrides};

/// Options of `portcullis start`. Flags override the config file, which overrides defaults.
#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// YAML config file (keys: cluster_name, data_dir, listen_addr, public_addrs, log_level,
    /// sweep_interval).
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
    })?;
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_level)
        .with_context(|| format!("invalid log level `{}`", config.log_level))?;
    // Colours only on a terminal: log files and journald get plain text.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: crate::config::Config) -> anyhow::Result<()> {
    super::data_dir::prepare(&config.data_dir)?;
    let store_dir = config.data_dir.join("store");
    let backend: Arc<dyn Backend> = Arc::new(
        RocksBackend::open(&store_dir)
            .with_context(|| format!("cannot open the store in `{}`", store_dir.display()))?,
    );
    let state = crate::bootstrap::bootstrap(&config, backend.clone())
        .await
        .context("bootstrap failed")?;
    let sweeper = portcullis_store::spawn_sweeper(backend, config.sweep_interval);
    let rotations = super::rotations::spawn(state.clone(), config.rotation_check_interval);

    let listener = tokio::net::TcpListener::bind(config.listen_addr)
        .await
        .with_context(|| format!("cannot listen on `{}`", config.listen_addr))?;
    let local = listener.local_addr().context("no local address")?;
    tracing::info!(
        cluster = %state.cluster_name,
        addr = %local,
        data_dir = %config.data_dir.display(),
        "auth server ready"
    );
    println!("listening on {local}");
    crate::transport::serve(listener, state, shutdown_signal())
        .await
        .context("server failed")?;
    sweeper.abort();
    rotations.abort();
    tracing::info!("auth server stopped");
    Ok(())
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
