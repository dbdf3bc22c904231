//! `pctl status`.

use portcullis_api::auth::GetCertAuthoritiesRequest;

use super::connect::ConnectArgs;

/// Options of `pctl status` (none besides the connection options).
#[derive(Debug, clap::Args)]
pub struct StatusArgs {}

/// Prints the cluster name, the server version and each authority's fingerprints.
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
        let certs = spec.active_keys.map(|k| k.tls).unwrap_or_default();
        for pair in certs {
            let pem = String::from_utf8_lossy(&pair.cert);
            let fp = portcullis_ca::fingerprint_pem(&pem)
                .unwrap_or_else(|e| format!("unreadable certificate: {e}"));
            println!("{:<9} {fp}", format!("{} CA:", spec.r#type));
        }
    }
    Ok(())
}
