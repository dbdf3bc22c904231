//! `pctl request create --roles R[,R] [--reason TEXT] [--annotations K=V,..] [--user U]
//! [--access-ttl 1h]`.

use std::time::{Duration, SystemTime};

use portcullis_api::services::{AccessRequestSpecV3, AccessRequestV3, Metadata};

use crate::connect::ConnectArgs;

/// Options of `pctl request create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The roles asked for (comma-separated).
    #[arg(long, value_delimiter = ',', required = true)]
    roles: Vec<String>,
    /// Why.
    #[arg(long, default_value = "")]
    reason: String,
    /// The user asking (default: the caller; asking for another needs `create` on
    /// `access_request`).
    #[arg(long)]
    user: Option<String>,
    /// Values attached to the request for plugins and access-request policies
    /// (`ticket=OPS-1`, comma-separated; repeated keys collect values).
    #[arg(long, value_delimiter = ',', value_parser = crate::parse_label, value_name = "K=V")]
    annotations: Vec<(String, String)>,
    /// How long the access lasts once approved (default 1h, at most 30h).
    #[arg(long, value_parser = humantime::parse_duration)]
    access_ttl: Option<Duration>,
}

/// Creates the request and prints its ID.
pub async fn run(connect: &ConnectArgs, args: CreateArgs) -> anyhow::Result<()> {
    let id = uuid::Uuid::new_v4().to_string();
    let request = AccessRequestV3 {
        kind: portcullis_api::kinds::KIND_ACCESS_REQUEST.to_owned(),
        version: "v3".to_owned(),
        metadata: Some(Metadata {
            name: id.clone(),
            ..Metadata::default()
        }),
        spec: Some(AccessRequestSpecV3 {
            user: args.user.unwrap_or_default(),
            roles: args.roles,
            request_reason: args.reason,
            system_annotations: super::annotation_map(args.annotations),
            expires: args
                .access_ttl
                .map(|ttl| prost_types::Timestamp::from(SystemTime::now() + ttl)),
            ..AccessRequestSpecV3::default()
        }),
        ..AccessRequestV3::default()
    };
    let client = connect.connect().await?;
    client.rpc().create_access_request(request).await?;
    println!("{id}");
    // Access-request policies may have decided already.
    let created = client
        .rpc()
        .get_access_requests(portcullis_api::services::AccessRequestFilter {
            id: id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .access_requests;
    if let Some(spec) = created.first().and_then(|r| r.spec.as_ref()) {
        if spec.state() != portcullis_api::services::RequestState::Pending {
            eprintln!(
                "{} by {}: {}",
                spec.state().label(),
                spec.resolved_by,
                spec.resolve_reason
            );
        }
    }
    Ok(())
}
