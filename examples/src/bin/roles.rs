//! The API reference's role examples, with the Rust client: connect with
//! `certs/api-admin.{crt,key,cas}`-style files, create a role, list roles, deny the role
//! access to production nodes, and delete it.
//!
//! ```text
//! cargo run -p portcullis-examples --bin roles -- [IDENTITY_PREFIX] [ADDR]
//! ```
//! IDENTITY_PREFIX defaults to `certs/api-admin` (as in the reference); ADDR defaults to
//! 127.0.0.1:3025.

use std::collections::BTreeMap;

use anyhow::Context;
use portcullis_api::services::{Metadata, RoleConditions, RoleSpecV3, RoleV3};
use portcullis_api::wrappers::StringValues;
use portcullis_api::{Client, TlsFiles, DEFAULT_AUTH_ADDR};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let prefix = args.next().unwrap_or_else(|| "certs/api-admin".into());
    let addr = args.next().unwrap_or_else(|| DEFAULT_AUTH_ADDR.into());

    // connectClient: load the TLS files and dial the auth server.
    let client = Client::connect(&addr, &TlsFiles::from_prefix(&prefix))
        .await
        .with_context(|| format!("failed to connect with `{prefix}.crt`"))?;
    let ping = client.ping().await?;
    println!(
        "connected to cluster {} (server {})",
        ping.cluster_name, ping.server_version
    );

    // Create a new role that allows the login `dev`.
    let role = RoleV3 {
        kind: "role".into(),
        version: "v3".into(),
        metadata: Some(Metadata {
            name: "dev".into(),
            ..Default::default()
        }),
        spec: Some(RoleSpecV3 {
            allow: Some(RoleConditions {
                logins: vec!["dev".into()],
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    client.upsert_role(role).await?;

    // Retrieve roles.
    for role in client.get_roles().await? {
        println!(
            "role: {}",
            role.metadata.map(|m| m.name).unwrap_or_default()
        );
    }

    // Update the role to deny access to nodes labelled as production.
    let mut role = client.get_role("dev").await?;
    let spec = role.spec.get_or_insert_with(Default::default);
    let deny = spec.deny.get_or_insert_with(Default::default);
    deny.node_labels = BTreeMap::from([(
        "environment".to_owned(),
        StringValues {
            values: vec!["production".into()],
        },
    )]);
    client.upsert_role(role).await?;
    println!("role dev now denies environment=production nodes");

    // Delete the role.
    client.delete_role("dev").await?;
    println!("role dev deleted");
    Ok(())
}
