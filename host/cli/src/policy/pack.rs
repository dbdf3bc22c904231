//! `pctl policy pack IN.wasm --metadata meta.json --out OUT.wasm`.

use std::path::PathBuf;

use anyhow::Context;

/// Options of `pctl policy pack`.
#[derive(Debug, clap::Args)]
pub struct PackArgs {
    /// The compiled module.
    file: PathBuf,
    /// The metadata JSON (guest-sdk/ABI.md §2).
    #[arg(long)]
    metadata: PathBuf,
    /// Where to write the packed module.
    #[arg(long, short = 'o')]
    out: PathBuf,
}

/// Writes the module with its metadata section added or replaced.
pub fn run(args: PackArgs) -> anyhow::Result<()> {
    let wasm = std::fs::read(&args.file)
        .with_context(|| format!("cannot read `{}`", args.file.display()))?;
    let metadata = std::fs::read_to_string(&args.metadata)
        .with_context(|| format!("cannot read `{}`", args.metadata.display()))?;
    let packed = portcullis_policy::pack(&wasm, &metadata)
        .with_context(|| format!("cannot pack `{}`", args.file.display()))?;
    std::fs::write(&args.out, &packed)
        .with_context(|| format!("cannot write `{}`", args.out.display()))?;
    println!("wrote {} ({} bytes)", args.out.display(), packed.len());
    Ok(())
}
