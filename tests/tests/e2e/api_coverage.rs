//! Every RPC of the AuthService answers for real: called by its method path with an empty
//! message (valid for every message type) as the admin, none answers UNIMPLEMENTED. The
//! list of RPCs is read from `auth.proto`, so a new RPC is covered as soon as it is declared.

use std::time::Duration;

use futures::StreamExt;
use portcullis_api::Client;
use portcullis_tests::{rt, Server};
use tonic::client::Grpc;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use tonic_prost::ProstCodec;

/// One RPC of the service: its name and whether requests and answers are streams.
#[derive(Debug)]
struct Rpc {
    name: String,
    client_streaming: bool,
    server_streaming: bool,
}

/// The RPCs `service AuthService` declares in `auth.proto`.
fn declared_rpcs() -> Vec<Rpc> {
    let proto = include_str!("../../../proto/protos/auth.proto");
    let service = proto
        .split("service AuthService {")
        .nth(1)
        .expect("auth.proto declares service AuthService");
    let service = service.split("\n}").next().unwrap_or(service);
    // Drop comments, then read `rpc Name(stream? In) returns (stream? Out)`, which may span
    // lines.
    let code: String = service
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ");
    code.split("rpc ")
        .skip(1)
        .map(|decl| {
            let (name, rest) = decl.split_once('(').expect("rpc NAME(");
            let (input, rest) = rest.split_once(')').expect("rpc NAME(IN)");
            let output = rest.split_once('(').expect("returns (OUT)").1;
            Rpc {
                name: name.trim().to_owned(),
                client_streaming: input.trim_start().starts_with("stream "),
                server_streaming: output.trim_start().starts_with("stream "),
            }
        })
        .collect()
}

/// Calls `rpc` with one empty message; the status it answered (OK when it answered, or
/// when a stream of answers was still open after a while).
async fn call(channel: Channel, rpc: &Rpc) -> Status {
    let mut grpc = Grpc::new(channel);
    if let Err(e) = grpc.ready().await {
        return Status::unavailable(e.to_string());
    }
    let path = PathAndQuery::try_from(format!("/auth.AuthService/{}", rpc.name)).unwrap();
    let codec = ProstCodec::<(), ()>::default();
    let one = || futures::stream::iter(vec![()]);
    let answer = match (rpc.client_streaming, rpc.server_streaming) {
        (false, false) => grpc.unary(Request::new(()), path, codec).await.map(|_| ()),
        (true, false) => grpc
            .client_streaming(Request::new(one()), path, codec)
            .await
            .map(|_| ()),
        (streaming_in, true) => {
            let response = if streaming_in {
                grpc.streaming(Request::new(one()), path, codec).await
            } else {
                grpc.server_streaming(Request::new(()), path, codec).await
            };
            match response {
                Err(status) => Err(status),
                Ok(response) => {
                    let mut answers = response.into_inner();
                    // A stream that stays open (WatchEvents) has answered.
                    match tokio::time::timeout(Duration::from_secs(2), answers.next()).await {
                        Ok(Some(Err(status))) => Err(status),
                        _ => Ok(()),
                    }
                }
            }
        }
    };
    answer.err().unwrap_or_else(|| Status::ok(""))
}

#[test]
fn no_rpc_of_the_service_answers_unimplemented() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"), &[]);
    let rpcs = declared_rpcs();
    assert!(rpcs.len() >= 80, "{rpcs:?}");
    let rt = rt();
    let client = rt
        .block_on(Client::connect(&server.addr, &server.admin_files()))
        .unwrap();
    let mut unimplemented = Vec::new();
    for rpc in &rpcs {
        let status = rt.block_on(call(client.channel(), rpc));
        if status.code() == Code::Unimplemented {
            unimplemented.push(format!("{}: {}", rpc.name, status.message()));
        }
    }
    assert!(
        unimplemented.is_empty(),
        "{} RPCs answer UNIMPLEMENTED:\n{}",
        unimplemented.len(),
        unimplemented.join("\n")
    );
    // The server survived every empty call.
    rt.block_on(client.ping()).unwrap();
    // The seeds' AuthService and the early client's calls are all declared.
    for name in [
        "GenerateUserCerts",
        "CreateResetPasswordToken",
        "RotateResetPasswordTokenSecrets",
        "GetAppServers",
        "CreateAppSession",
        "DeleteAllAppSessions",
        "GetKubeServices",
        "DeleteAllKubeServices",
        "CheckPassword",
        "SignIn",
        "GetWebSession",
        "DeleteWebSession",
        "UpsertUserKey",
    ] {
        assert!(
            rpcs.iter().any(|r| r.name == name),
            "{name} is not declared"
        );
    }
}
