//! Transport limits: how many connections a server holds open at once, how many calls one
//! connection may have open, and how large a request may be.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use portcullis_api::auth::{GetRoleRequest, WatchKind};
use portcullis_api::Client;
use portcullis_tests::Server;

/// Connections that never start their TLS handshake hold the server's places; a client past
/// `max_connections` is closed before its handshake, and is served again as soon as a
/// place is given back.
#[test]
fn connections_past_max_connections_are_closed_until_one_closes() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_with_config(tmp.path(), "max_connections: 2\n");
    let held: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(&server.addr).unwrap())
        .collect();

    let refused = server.pctl(&["get", "roles"]);
    assert!(
        !refused.status.success(),
        "a third connection was served past max_connections: 2"
    );
    let log = server.log();
    assert!(log.contains("max_connections are open"), "{log}");

    // Closing the idle connections gives their places back (the server sees each one end).
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = server.pctl(&["get", "roles"]);
        if out.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never served again once the idle connections closed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server.stop();
}

/// With one call allowed per connection, a second call on the connection waits for the
/// first (an open WatchEvents stream) to end, and then goes through.
#[test]
fn calls_past_max_streams_per_connection_wait_for_one_to_end() {
    with_admin("max_streams_per_connection: 1\n", async |admin| {
        let watch = admin
            .watch_events(vec![WatchKind {
                kind: "role".into(),
                ..WatchKind::default()
            }])
            .await
            .unwrap();
        let ping = admin.ping();
        tokio::pin!(ping);
        // The only stream of the connection is the watch: the ping cannot start.
        let waited = tokio::time::timeout(Duration::from_millis(500), &mut ping).await;
        assert!(waited.is_err(), "a second call ran beside the watch");
        drop(watch);
        let answered = tokio::time::timeout(Duration::from_secs(10), ping).await;
        answered
            .expect("the ping waited past the watch's end")
            .unwrap();
    });
}

/// A request larger than `max_message_bytes` is refused with OUT_OF_RANGE naming the limit,
/// and nothing of it is stored; a request under it goes through.
#[test]
fn requests_past_max_message_bytes_are_refused() {
    with_admin("max_message_bytes: 65536\n", async |admin| {
        let mut big = portcullis_tests::role("big");
        let metadata = big.metadata.as_mut().unwrap();
        metadata.description = "x".repeat(100_000);
        let status = admin.rpc().upsert_role(big).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::OutOfRange, "{status:?}");
        assert!(status.message().contains("65536"), "{status:?}");
        let missing = admin
            .rpc()
            .get_role(GetRoleRequest { name: "big".into() })
            .await;
        assert_eq!(missing.unwrap_err().code(), tonic::Code::NotFound);
        admin
            .upsert_role(portcullis_tests::role("small"))
            .await
            .unwrap();
    });
}

/// Runs `test` with an admin client of a server started with `config`.
fn with_admin(config: &str, test: impl AsyncFnOnce(Client)) {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_with_config(tmp.path(), config);
    portcullis_tests::rt().block_on(async { test(server.admin_client().await).await });
    server.stop();
}
