//! `pctl status`.

use portcullis_api::auth::GetCertAuthoritiesRequest;
use portcullis_api::services::{CaKeySet, Rotation};

use super::connect::ConnectArgs;

/// Options of `pctl status` (none besides the connection options).
#[derive(Debug, clap::Args)]
pub struct StatusArgs {}

fn rfc3339(ts: Option<prost_types::Timestamp>) -> String {
    ts.and_then(portcullis_api::time::to_system_time)
        .map(|t| humantime::format_rfc3339_seconds(t).to_string())
        .unwrap_or_else(|| "-".into())
}

fn fingerprints(set: &CaKeySet) -> Vec<String> {
    let tls = set.tls.iter().map(|pair| {
        portcullis_ca::fingerprint_pem(&String::from_utf8_lossy(&pair.cert))
            .unwrap_or_else(|e| format!("unreadable certificate: {e}"))
    });
    let jwt = set.jwt.iter().map(|pair| {
        format!(
            "jwt key {}",
            String::from_utf8_lossy(&pair.public_key)
                .lines()
                .nth(1)
                .unwrap_or("?")
        )
    });
    tls.chain(jwt).collect()
}

fn rotation_line(rotation: &Rotation) -> String {
    let state = if rotation.state.is_empty() {
        "standby"
    } else {
        &rotation.state
    };
    let mut line = format!("rotation {state}");
    if state != "standby" {
        line.push_str(&format!(
            ", phase {}, mode {}",
            rotation.phase, rotation.mode
        ));
        if let Some(s) = rotation.schedule {
            line.push_str(&format!(
                ", schedule: update_clients {}, update_servers {}, standby {}",
                rfc3339(s.update_clients),
                rfc3339(s.update_servers),
                rfc3339(s.standby)
            ));
        }
    } else if rotation.last_rotated.is_some() {
        line.push_str(&format!(
            ", last rotated {}",
            rfc3339(rotation.last_rotated)
        ));
    }
    line
}

/// Prints the cluster name, the server version and each authority's keys and rotation.
pub async fn run(connect: &ConnectArgs, _args: StatusArgs) -> anyhow::Result<()> {
    let client = connect.connect().await?;
    let ping = client.ping().await?;
    println!("Cluster:  {}", ping.cluster_name);
    println!("Version:  {}", ping.server_version);
    println!("Server:   {}", connect.auth_server);
    let cas = client
        .rpc()
        .get_cert_authorities(GetCertAuthoritiesRequest::default())
        .await?
        .into_inner()
        .cert_authorities;
    for ca in cas {
        let Some(spec) = ca.spec else { continue };
        let label = format!("{} CA:", spec.r#type);
        println!(
            "{label:<9} {}",
            rotation_line(&spec.rotation.unwrap_or_default())
        );
        for fp in spec.active_keys.iter().flat_map(fingerprints) {
            println!("{:<9}   active  {fp}", "");
        }
        for fp in spec.additional_trusted_keys.iter().flat_map(fingerprints) {
            println!("{:<9}   trusted {fp}", "");
        }
    }
    Ok(())
}
