//! `pctl policy upload FILE.wasm --name N`.

use std::path::PathBuf;

use anyhow::Context;
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

/// Uploads the module; the server validates it and refuses it with the reason.
pub async fn run(connect: &ConnectArgs, args: UploadArgs) -> anyhow::Result<()> {
    let wasm = std::fs::read(&args.file)
        .with_context(|| format!("cannot read `{}`", args.file.display()))?;
    let client = connect.connect().await?;
    let module = PolicyModuleV1 {
        kind: KIND_POLICY_MODULE.into(),
        version: "v1".into(),
        metadata: Some(Metadata {
            name: args.name.clone(),
            ..Default::default()
        }),
        spec: Some(PolicyModuleSpecV1 {
            wasm,
            limits: args.limits.to_proto(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let stored = client
        .rpc()
        .upsert_policy_module(module)
        .await
        .with_context(|| format!("cannot upload `{}`", args.file.display()))?
        .into_inner();
    println!("policy module {} uploaded", super::summary(&stored));
    Ok(())
}
