//! `portcullis repair-store`: salvage what is intact of a damaged embedded store.

use std::path::PathBuf;

use anyhow::Context;
use portcullis_store::RocksBackend;

/// Options of `portcullis repair-store`.
#[derive(Debug, clap::Args)]
pub struct RepairArgs {
    /// The data directory of the stopped server whose store (`DIR/store`) is damaged.
    #[arg(long, short = 'd', value_name = "DIR")]
    data_dir: PathBuf,
}

/// Runs RocksDB's repair on `DATA_DIR/store`: it rebuilds the MANIFEST from the data
/// files that are intact. Writes held only by damaged files are lost; restoring a backup
/// is the way to lose nothing.
pub fn run(args: RepairArgs) -> anyhow::Result<()> {
    let store = args.data_dir.join("store");
    if !store.is_dir() {
        anyhow::bail!("there is no store in `{}`", store.display());
    }
    RocksBackend::repair(&store)
        .with_context(|| format!("cannot repair the store in `{}`", store.display()))?;
    println!(
        "repaired the store in `{}`: start the server and check that what you expect is there",
        store.display()
    );
    Ok(())
}
