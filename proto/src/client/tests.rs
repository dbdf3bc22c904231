#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;

use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status};

use super::{endpoint_uri, Client};
use crate::auth::{
    GetRoleRequest, GetRolesRequest, GetRolesResponse, GetUsersRequest, PingRequest, PingResponse,
};
use crate::services::{Metadata, RoleV3, UserV2};
use crate::test_pki::TestCa;
use crate::{AuthService, AuthServiceServer, BoxStream, AUTH_SERVER_NAME};

/// Implements a few RPCs; the rest answer "unimplemented".
struct Mock;

#[tonic::async_trait]
impl AuthService for Mock {
    async fn ping(&self, _: Request<PingRequest>) -> Result<Response<PingResponse>, Status> {
        Ok(Response::new(PingResponse {
            cluster_name: "example.com".into(),
            server_version: "test".into(),
        }))
    }

    async fn get_users(
        &self,
        _: Request<GetUsersRequest>,
    ) -> Result<Response<BoxStream<UserV2>>, Status> {
        let users = ["alice", "bob"].map(|name| {
            Ok(UserV2 {
                metadata: Some(Metadata {
                    name: name.into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
        });
        Ok(Response::new(Box::pin(tokio_stream::iter(users))))
    }

    /// Roles `r0` to `r4` two at a time; an unpaged request is refused as a server with
    /// more roles than it answers at once would.
    async fn get_roles(
        &self,
        request: Request<GetRolesRequest>,
    ) -> Result<Response<GetRolesResponse>, Status> {
        let request = request.into_inner();
        if request.limit != 2 {
            return Err(Status::failed_precondition("page: Limit 2"));
        }
        let first: usize = match request.start_after.as_str() {
            "" => 0,
            after => after[1..].parse::<usize>().unwrap() + 1,
        };
        let names: Vec<usize> = (first..5).take(2).collect();
        let roles = names
            .iter()
            .map(|i| RoleV3 {
                metadata: Some(Metadata {
                    name: format!("r{i}"),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect();
        let last = names.last().copied().unwrap_or(4);
        Ok(Response::new(GetRolesResponse {
            roles,
            next_start_after: if last < 4 {
                format!("r{last}")
            } else {
                String::new()
            },
        }))
    }

    async fn get_role(
        &self,
        request: Request<GetRoleRequest>,
    ) -> Result<Response<crate::services::RoleV3>, Status> {
        let name = request.into_inner().name;
        Err(Status::not_found(format!("role `{name}` is not found")))
    }
}

/// Serves the mock over mutual TLS with a certificate for `dns_names`.
async fn serve(ca: &TestCa, dns_names: &[&str]) -> SocketAddr {
    let leaf = ca.leaf("auth", dns_names, true);
    let tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(leaf.cert, leaf.key))
        .client_ca_root(Certificate::from_pem(ca.pem()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    let server = Server::builder()
        .tls_config(tls)
        .unwrap()
        .add_service(AuthServiceServer::new(Mock))
        .serve_with_incoming(incoming);
    tokio::spawn(server);
    addr
}

#[tokio::test]
async fn calls_over_mutual_tls() {
    let ca = TestCa::new("cluster ca");
    let addr = serve(&ca, &[AUTH_SERVER_NAME]).await;
    let dir = tempfile::tempdir().unwrap();
    let files = ca.write_client(dir.path(), "api-admin");

    let client = Client::connect(&addr.to_string(), &files).await.unwrap();
    let pong = client.ping().await.unwrap();
    assert_eq!(pong.cluster_name, "example.com");

    let users = client.get_users(false).await.unwrap();
    let names: Vec<_> = users
        .iter()
        .map(|u| u.metadata.as_ref().unwrap().name.as_str())
        .collect();
    assert_eq!(names, ["alice", "bob"]);

    let page = client.roles_page(String::new(), 2).await.unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.next.as_deref(), Some("r1"));
    let mut seen = Vec::new();
    crate::for_each_page(
        |after| client.roles_page(after, 2),
        |roles| {
            seen.push(roles.len());
            Ok::<_, crate::Error>(())
        },
    )
    .await
    .unwrap();
    assert_eq!(seen, [2, 2, 1]);

    let err = client.get_role("dev").await.unwrap_err();
    assert_eq!(err.code(), Some(tonic::Code::NotFound));
    assert!(err.to_string().contains("role `dev` is not found"), "{err}");

    let err = client.delete_role("dev").await.unwrap_err();
    assert_eq!(err.code(), Some(tonic::Code::Unimplemented));

    // The generated client is reachable too.
    let mut rpc = client.rpc();
    rpc.ping(PingRequest {}).await.unwrap();
    let https = format!("https://{addr}");
    let again = Client::connect(&https, &files).await.unwrap();
    again.ping().await.unwrap();
}

#[tokio::test]
async fn untrusted_client_certificate_is_refused() {
    let ca = TestCa::new("cluster ca");
    let addr = serve(&ca, &[AUTH_SERVER_NAME]).await;
    let dir = tempfile::tempdir().unwrap();
    let files = TestCa::new("rogue ca").write_client(dir.path(), "mallory");
    std::fs::write(&files.cas, ca.pem()).unwrap();

    let outcome = match Client::connect(&addr.to_string(), &files).await {
        Ok(client) => client.ping().await.map(drop),
        Err(err) => Err(err),
    };
    // With TLS 1.3 the server's refusal (an UnknownCA alert) may only reach
    // the client at its first call, and the exact error depends on timing.
    outcome.expect_err("a certificate from another CA was accepted");
}

#[tokio::test]
async fn server_must_be_the_auth_server() {
    let ca = TestCa::new("cluster ca");
    let addr = serve(&ca, &["node.example.com"]).await;
    let dir = tempfile::tempdir().unwrap();
    let files = ca.write_client(dir.path(), "api-admin");
    let err = Client::connect(&addr.to_string(), &files)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("cannot connect to `{addr}`")),
        "{err}"
    );
}

#[tokio::test]
async fn missing_credentials_fail_before_dialling() {
    let dir = tempfile::tempdir().unwrap();
    let files = crate::TlsFiles::in_dir(dir.path(), "nobody");
    let err = Client::connect("127.0.0.1:1", &files).await.unwrap_err();
    assert!(err.to_string().contains("nobody.crt"), "{err}");
}

#[test]
fn addresses_become_https_uris() {
    for (addr, uri) in [
        ("127.0.0.1:3025", "https://127.0.0.1:3025/"),
        ("auth.example.com", "https://auth.example.com:3025/"),
        (
            "https://auth.example.com:443",
            "https://auth.example.com:443/",
        ),
        ("HTTPS://auth:3080", "https://auth:3080/"),
        ("[::1]", "https://[::1]:3025/"),
        (" 10.0.0.1:4000 ", "https://10.0.0.1:4000/"),
    ] {
        assert_eq!(endpoint_uri(addr).unwrap().to_string(), uri, "{addr}");
    }
    for bad in ["", "http://127.0.0.1:3025", "tcp://x:1", "https://"] {
        let err = endpoint_uri(bad).unwrap_err();
        assert!(
            err.to_string().starts_with("invalid auth server address"),
            "{bad}: {err}"
        );
    }
}
