//! End-to-end: every acknowledged write survives `kill -9` of the server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use portcullis_tests::{role, rt, Server};

#[test]
fn acknowledged_writes_survive_kill_9() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start(&data, &[]);
    let rt = rt();
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));

    let writers: Vec<_> = (0..8)
        .map(|w| {
            let acked = acked.clone();
            let addr = server.addr.clone();
            let files = server.admin_files();
            rt.spawn(async move {
                let client = portcullis_api::Client::connect(&addr, &files)
                    .await
                    .unwrap();
                for i in 0.. {
                    let name = format!("w{w}-{i}");
                    match client.upsert_role(role(&name)).await {
                        Ok(()) => acked.lock().unwrap().push(name),
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();

    // Let the writers run, then kill the server in the middle of the write loop.
    let started = std::time::Instant::now();
    while acked.lock().unwrap().len() < 300 && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill9();
    rt.block_on(async {
        for w in writers {
            w.await.unwrap();
        }
    });
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 300,
        "the writers made progress ({} writes)",
        acked.len()
    );

    let server = Server::start(&data, &[]);
    let stored: std::collections::HashSet<String> = rt.block_on(async {
        let client = server.admin_client().await;
        client
            .get_roles()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.metadata.unwrap().name)
            .collect()
    });
    let lost: Vec<_> = acked.iter().filter(|n| !stored.contains(*n)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    server.stop();
}
