//! A TCP relay on loopback between a client and a server, whose connections a test can cut
//! at once (as a network failure would), while it keeps accepting new ones.

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A running relay; it stops when dropped.
#[derive(Debug)]
pub struct Relay {
    /// The address clients connect to.
    pub addr: String,
    cuts: watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// Relays connections made to a new loopback port to `target`.
    pub async fn start(target: &str) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the relay");
        let addr = listener.local_addr().expect("relay address").to_string();
        let (cuts, _) = watch::channel(0u64);
        let subscribe = cuts.clone();
        let target = target.to_owned();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mut cut = subscribe.subscribe();
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let (mut client, mut server) = (client, server);
                    tokio::select! {
                        _ = copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                    // Dropping both ends resets the connection for both sides.
                });
            }
        });
        Relay { addr, cuts, task }
    }

    /// Breaks every connection open now.
    pub fn cut(&self) {
        self.cuts.send_modify(|n| *n += 1);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}
