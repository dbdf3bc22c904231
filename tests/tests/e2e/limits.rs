//! Transport limits: how many connections a server holds open at once.

use std::net::TcpStream;
use std::time::{Duration, Instant};

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
