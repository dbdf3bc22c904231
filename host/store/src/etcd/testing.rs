//! A real one-member etcd (Debian's `etcd-server`, which scripts/setup installs) on loopback
//! for this crate's tests: plain HTTP, its own data directory, stopped on drop. The
//! end-to-end tests start theirs with client TLS (tests/src/etcd.rs).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::{EtcdBackend, EtcdOptions};

const START_TIMEOUT: Duration = Duration::from_secs(30);

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

/// A running etcd member.
pub(crate) struct TestEtcd {
    child: Option<Child>,
    dir: tempfile::TempDir,
    client_port: u16,
    peer_port: u16,
}

impl TestEtcd {
    /// Starts a fresh etcd and waits until it serves clients.
    pub(crate) fn start() -> TestEtcd {
        let mut etcd = TestEtcd {
            child: None,
            dir: tempfile::tempdir().expect("etcd data directory"),
            client_port: free_port(),
            peer_port: free_port(),
        };
        etcd.resume();
        etcd
    }

    /// The client URL.
    pub(crate) fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    /// A backend on this etcd under `prefix`.
    pub(crate) async fn backend(&self, prefix: &str, feed_capacity: usize) -> EtcdBackend {
        let mut options = EtcdOptions::new(vec![self.endpoint()]);
        options.prefix = prefix.as_bytes().to_vec();
        options.feed_capacity = feed_capacity;
        EtcdBackend::connect(options)
            .await
            .expect("connect to the test etcd")
    }

    /// Kills the member (SIGKILL), keeping its data.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the member again on its data and ports.
    pub(crate) fn resume(&mut self) {
        let client = self.endpoint();
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let mut child = Command::new("etcd")
            .args(["--name", "store-test"])
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .args(["--listen-client-urls", &client])
            .args(["--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &format!("store-test={peer}")])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run etcd (scripts/setup installs Debian's etcd-server): {e}")
            });
        let stderr = child.stderr.take().expect("etcd's stderr");
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut log = String::new();
            let mut ready = Some(ready_tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                log.push_str(&line);
                log.push('\n');
                if line.contains("ready to serve client requests") {
                    if let Some(tx) = ready.take() {
                        let _ = tx.send(Ok(()));
                    }
                }
            }
            if let Some(tx) = ready {
                let _ = tx.send(Err(log));
            }
        });
        match ready_rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok(())) => self.child = Some(child),
            Ok(Err(log)) => panic!("etcd exited before serving clients:\n{log}"),
            Err(_) => {
                let _ = child.kill();
                panic!("etcd did not serve clients within {START_TIMEOUT:?}")
            }
        }
    }
}

impl Drop for TestEtcd {
    fn drop(&mut self) {
        self.kill();
    }
}
