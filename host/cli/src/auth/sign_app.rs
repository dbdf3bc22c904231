//! `pctl auth sign --app NAME`: an application session for the identity `pctl` runs as.
//!
//! As `tsh app login` does, it creates an app session (`CreateAppSession`) for the caller
//! itself — the server refuses sessions for anyone else — for the application called NAME
//! among those `pctl apps ls` shows the caller. What the session holds is written like a
//! TLS identity: the session's certificate (its subject routes to the app: session id,
//! public address, cluster) and private key, the CA certificates, and the JWT the
//! application verifies (`PATH.jwt`).

use anyhow::bail;
use portcullis_api::auth::{CreateAppSessionRequest, GetAppServersRequest};
use portcullis_api::Client;

use super::sign::Signed;

/// Creates an app session of the caller for the application `name`; returns what it holds
/// and the session's id.
pub(super) async fn session(client: &Client, name: &str) -> anyhow::Result<(Signed, String)> {
    let servers = client
        .rpc()
        .get_app_servers(GetAppServersRequest::default())
        .await?
        .into_inner()
        .servers;
    let Some(app) = servers
        .iter()
        .flat_map(|s| s.spec.iter().flat_map(|spec| &spec.apps))
        .find(|app| app.name == name)
    else {
        bail!(
            "no application `{name}` is registered, or your roles do not grant it (see `pctl \
             apps ls`)"
        );
    };
    let session = client
        .rpc()
        .create_app_session(CreateAppSessionRequest {
            public_addr: app.public_addr.clone(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .session
        .unwrap_or_default();
    let id = session.metadata.map(|m| m.name).unwrap_or_default();
    let spec = session.spec.unwrap_or_default();
    let signed = Signed {
        ssh: None,
        tls: String::from_utf8_lossy(&spec.tls_cert).into_owned(),
        cas: super::sign::client_cas(client).await?,
        key_pem: Some(spec.r#priv),
        jwt: Some(spec.bearer_token),
    };
    Ok((signed, id))
}
