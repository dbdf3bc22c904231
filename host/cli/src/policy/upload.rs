//! `pctl policy upload FILE.wasm --name N`.

use std::path::PathBuf;

use anyhow::Context;
use portcullis_api::auth::PolicyModuleUpload;
use portcullis_api::services::{Metadata, PolicyModuleSpecV1, PolicyModuleV1};

use super::limits::LimitArgs;
use crate::connect::ConnectArgs;
use portcullis_api::kinds::KIND_POLICY_MODULE;

/// Options of `pctl policy upload`.
#[derive(Debug, clap::Args)]
pub struct UploadArgs {
    /// The module file (.wasm).
    file: PathBuf,
    /// Name to upload it under (e.g. the name rules refer to).
    #[arg(long)]
    name: String,
    #[command(flatten)]
    limits: LimitArgs,
}

/// The bytes of one upload message: well under the server's default message limit.
const CHUNK_BYTES: usize = 1 << 20;

/// The messages of UploadPolicyModule: the header, then the module in chunks.
fn parts(header: PolicyModuleV1, wasm: Vec<u8>) -> impl futures::Stream<Item = PolicyModuleUpload> {
    let header = PolicyModuleUpload {
        header: Some(header),
        chunk: Vec::new(),
    };
    let chunks: Vec<PolicyModuleUpload> = wasm
        .chunks(CHUNK_BYTES)
        .map(|chunk| PolicyModuleUpload {
            header: None,
            chunk: chunk.to_vec(),
        })
        .collect();
    futures::stream::iter(std::iter::once(header).chain(chunks))
}

/// Uploads the module (in parts, so that a component of tens of MiB passes the message
/// size limit); the server validates it and refuses it with the reason.
pub async fn run(connect: &ConnectArgs, args: UploadArgs) -> anyhow::Result<()> {
    let wasm = std::fs::read(&args.file)
        .with_context(|| format!("cannot read `{}`", args.file.display()))?;
    if wasm.len() > 4 * CHUNK_BYTES {
        eprintln!(
            "uploading {:.1} MiB; the server checks and compiles it before it answers (a \
             first upload of a large component takes a while)",
            wasm.len() as f64 / f64::from(1 << 20)
        );
    }
    let client = connect.connect().await?;
    let module = PolicyModuleV1 {
        kind: KIND_POLICY_MODULE.into(),
        version: "v1".into(),
        metadata: Some(Metadata {
            name: args.name.clone(),
            ..Default::default()
        }),
        spec: Some(PolicyModuleSpecV1 {
            limits: args.limits.to_proto(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let stored = client
        .rpc()
        .upload_policy_module(parts(module, wasm))
        .await
        .with_context(|| format!("cannot upload `{}`", args.file.display()))?
        .into_inner();
    println!("policy module {} uploaded", super::summary(&stored));
    Ok(())
}
