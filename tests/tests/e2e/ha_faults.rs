//! High availability under faults: one etcd member down (the leader, then a follower), the
//! server that runs the cluster duties killed during an automatic rotation, the whole etcd
//! down and back, and a server killed during writes through both.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portcullis_api::Client;
use portcullis_tests::{http_get, role, rt};
use tonic::Code;

use super::{
    add_alice, call_as, connect, duties, eventually, kind, next, phase, sign, within, Ha, POLL,
    WAIT,
};

/// Writes roles `TAG-aI` through A and `TAG-bI` through B, and reads each through the other
/// server (which may take a moment to see it); every call answers within [`WAIT`].
async fn writes_and_reads_work(a: &Client, b: &Client, tag: &str) {
    for i in 0..5 {
        let (by_a, by_b) = (format!("{tag}-a{i}"), format!("{tag}-b{i}"));
        within(WAIT, "a write through A", a.upsert_role(role(&by_a)))
            .await
            .unwrap_or_else(|e| panic!("write {by_a} through A ({tag}): {e}"));
        within(WAIT, "a write through B", b.upsert_role(role(&by_b)))
            .await
            .unwrap_or_else(|e| panic!("write {by_b} through B ({tag}): {e}"));
        for (reader, who, name) in [(b, "B", &by_a), (a, "A", &by_b)] {
            let started = Instant::now();
            loop {
                let read = within(WAIT, "a read", reader.get_role(name)).await;
                match read {
                    Ok(_) => break,
                    Err(e) if e.code() == Some(Code::NotFound) && started.elapsed() < WAIT => {
                        tokio::time::sleep(POLL).await;
                    }
                    Err(e) => panic!("read {name} through {who} ({tag}): {e}"),
                }
            }
        }
    }
    for (client, who) in [(a, "A"), (b, "B")] {
        let roles = within(WAIT, "a listing", client.get_roles())
            .await
            .unwrap_or_else(|e| panic!("list roles through {who} ({tag}): {e}"));
        let names: HashSet<String> = roles
            .into_iter()
            .map(|r| r.metadata.unwrap().name)
            .collect();
        let missing: Vec<String> = (0..5)
            .flat_map(|i| [format!("{tag}-a{i}"), format!("{tag}-b{i}")])
            .filter(|n| !names.contains(n))
            .collect();
        assert!(
            missing.is_empty(),
            "{who} lists all ({tag}); missing {missing:?}"
        );
    }
}

#[test]
fn one_store_member_down_leaves_both_servers_working() {
    let mut ha = Ha::start("");
    let rt = rt();
    let (a, b) = rt.block_on(async { (ha.a.admin_client().await, ha.b.admin_client().await) });
    rt.block_on(writes_and_reads_work(&a, &b, "before"));

    // The leader goes: the others elect a new one.
    let leader = eventually("etcd has a leader", WAIT, || {
        ha.etcd.leader().ok_or_else(|| "none".to_owned())
    });
    ha.etcd.kill(leader);
    rt.block_on(writes_and_reads_work(&a, &b, "leader-down"));

    // It comes back; a follower goes.
    ha.etcd.restart(leader);
    let follower = (leader + 1) % ha.etcd.len();
    ha.etcd.kill(follower);
    rt.block_on(writes_and_reads_work(&a, &b, "follower-down"));
    ha.etcd.restart(follower);
    rt.block_on(writes_and_reads_work(&a, &b, "all-back"));
}

#[test]
fn the_duties_move_to_the_other_server_when_their_holder_dies_during_an_automatic_rotation() {
    // Bound in this order, dropped in the reverse: the servers go before etcd.
    let Ha { tmp, etcd, a, b } = Ha::start("");
    let dir = tmp.path();
    // One server, and only one, takes the duties.
    let a_holds = eventually("a server runs the cluster duties", WAIT, || {
        match (duties(&a), duties(&b)) {
            (0, 0) => Err("neither says so yet".into()),
            (_, 0) => Ok(true),
            (0, _) => Ok(false),
            _ => panic!(
                "both run the cluster duties:\nA:\n{}\nB:\n{}",
                a.log(),
                b.log()
            ),
        }
    });
    let (holder, survivor) = if a_holds { (a, b) } else { (b, a) };
    add_alice(&survivor, dir);
    let old = sign(&survivor, dir, "old");

    // An automatic rotation, asked for through the other server; the holder moves it on.
    survivor.pctl_ok(&["auth", "rotate", "--type", "user", "--grace-period", "15s"]);
    let rt = rt();
    let started = Instant::now();
    let mut seen: Vec<String> = Vec::new();
    while seen.last().map(String::as_str) != Some("update_clients") {
        let now = rt.block_on(phase(&survivor, "user"));
        if seen.last() != Some(&now) {
            seen.push(now);
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the holder did not move the rotation on; phases seen: {seen:?}\nholder's log:\n{}",
            holder.log()
        );
        std::thread::sleep(POLL);
    }
    assert_eq!(seen, ["init", "update_clients"]);
    assert_eq!(duties(&survivor), 0, "only the holder runs the duties");

    // The holder dies; the survivor takes the duties over and finishes the rotation.
    holder.kill9();
    let killed = Instant::now();
    eventually(
        "the survivor takes the cluster duties over",
        Duration::from_secs(15),
        || match duties(&survivor) {
            0 => Err(survivor.log()),
            _ => Ok(()),
        },
    );
    let took = killed.elapsed();
    assert!(took < Duration::from_secs(12), "taken over after {took:?}");
    loop {
        let now = rt.block_on(phase(&survivor, "user"));
        if seen.last() != Some(&now) {
            seen.push(now);
        }
        if seen.last().map(String::as_str) == Some("standby") {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(60),
            "the survivor did not finish the rotation; phases seen: {seen:?}\nlog:\n{}",
            survivor.log()
        );
        std::thread::sleep(POLL);
    }
    let expected = ["init", "update_clients", "update_servers", "standby"];
    assert!(
        seen.iter().all(|p| expected.contains(&p.as_str()))
            && seen.windows(2).all(|w| {
                let at = |p: &String| expected.iter().position(|e| *e == p.as_str());
                at(&w[0]) < at(&w[1])
            }),
        "phases in order: {seen:?}"
    );
    eventually(
        "the old identity is refused after the rotation",
        WAIT,
        || match call_as(&survivor, &old) {
            Ok(()) => Err("accepted".into()),
            Err(_) => Ok(()),
        },
    );
    let fresh = sign(&survivor, dir, "fresh");
    call_as(&survivor, &fresh).unwrap();
    let status = survivor.pctl_ok(&["status"]);
    assert!(status.contains("last rotated"), "{status}");
    survivor.stop();
    drop(etcd);
}

#[test]
fn with_the_store_down_calls_fail_clearly_and_the_servers_recover_by_themselves() {
    let mut ha = Ha::start("");
    let rt = rt();
    let (a, b) = rt.block_on(async { (ha.a.admin_client().await, ha.b.admin_client().await) });
    let mut watches = rt.block_on(async {
        a.upsert_role(role("before")).await.unwrap();
        let on_a = a.watch_events(vec![kind("role")]).await.unwrap();
        let on_b = b.watch_events(vec![kind("role")]).await.unwrap();
        [("A", on_a), ("B", on_b)]
    });

    ha.etcd.kill_all();
    rt.block_on(async {
        // Calls answer UNAVAILABLE, saying why.
        for (client, who) in [(&a, "A"), (&b, "B")] {
            let answer = within(
                Duration::from_secs(30),
                "a write with etcd down",
                client.upsert_role(role("during")),
            )
            .await;
            let e = answer.expect_err("a write with etcd down fails");
            let status = e
                .status()
                .unwrap_or_else(|| panic!("{who}: not a status: {e}"));
            assert_eq!(status.code(), Code::Unavailable, "{who}: {status:?}");
            let message = status.message().to_lowercase();
            assert!(
                message.contains("etcd") || message.contains("store"),
                "{who} says why: {status:?}"
            );
        }
        // Open watches end with an error status.
        for (who, watch) in &mut watches {
            let end = within(
                Duration::from_secs(30),
                "the end of a watch",
                watch.message(),
            )
            .await;
            let status = end.expect_err("the watch ends with an error status");
            assert_eq!(status.code(), Code::Unavailable, "{who}: {status:?}");
        }
    });
    // The servers still run.
    for (server, who) in [(&ha.a, "A"), (&ha.b, "B")] {
        let diag = server.diag_addr.as_deref().expect("a diagnostics listener");
        let health = http_get(diag, "/healthz").unwrap_or_else(|e| panic!("{who}: {e}"));
        assert_eq!(health.status, 200, "{who} lives: {health:?}");
        std::net::TcpStream::connect(&server.addr).unwrap_or_else(|e| panic!("{who}: {e}"));
    }

    // etcd comes back: both serve again by themselves, and a new watch works.
    ha.etcd.restart_all();
    rt.block_on(async {
        for (client, who) in [(&a, "A"), (&b, "B")] {
            let started = Instant::now();
            let name = format!("after-{who}");
            loop {
                let answer = within(
                    WAIT,
                    "a write after etcd is back",
                    client.upsert_role(role(&name)),
                )
                .await;
                match answer {
                    Ok(()) => break,
                    Err(e) => assert!(
                        started.elapsed() < Duration::from_secs(60),
                        "{who} does not serve again: {e}"
                    ),
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        b.get_role("before").await.unwrap();
        a.get_role("after-B").await.unwrap();
        let mut on_b = within(WAIT, "a new watch", b.watch_events(vec![kind("role")]))
            .await
            .unwrap();
        a.upsert_role(role("watched")).await.unwrap();
        let event = next(&mut on_b).await;
        assert_eq!(super::describe(&event).0, "PUT role/watched");
    });
}

#[test]
fn acknowledged_writes_through_both_servers_survive_kill_9_of_one() {
    const WRITERS: usize = 4;
    // Bound in this order, dropped in the reverse: the servers go before etcd.
    let Ha { tmp, etcd, a, b } = Ha::start("");
    let rt = rt();
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    // Writers 0 and 2 write through A, 1 and 3 through B, until told to stop or refused;
    // each answers the errors it met.
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let server = if w % 2 == 0 { &a } else { &b };
            let client = rt.block_on(connect(server, &server.admin_files()));
            let (acked, stop) = (acked.clone(), stop.clone());
            rt.spawn(async move {
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        return None;
                    }
                    let name = format!("w{w}-{i}");
                    let write = tokio::time::timeout(WAIT, client.upsert_role(role(&name))).await;
                    match write {
                        Ok(Ok(())) => acked.lock().unwrap().push(name),
                        Ok(Err(e)) => return Some(e.to_string()),
                        Err(_) => return Some(format!("{name}: no answer within {WAIT:?}")),
                    }
                }
                None
            })
        })
        .collect();
    let count = || acked.lock().unwrap().len();
    eventually("the writers make progress", Duration::from_secs(60), || {
        if count() >= 200 {
            Ok(())
        } else {
            Err(format!("{} writes", count()))
        }
    });

    a.kill9();
    // The writers through B go on.
    let at_kill = count();
    eventually("writes through B go on", Duration::from_secs(30), || {
        if count() >= at_kill + 50 {
            Ok(())
        } else {
            Err(format!("{} writes since the kill", count() - at_kill))
        }
    });
    stop.store(true, Ordering::Relaxed);
    let errors: Vec<Option<String>> = rt.block_on(async {
        let mut errors = Vec::new();
        for writer in writers {
            errors.push(within(WAIT * 2, "a writer", writer).await.unwrap());
        }
        errors
    });
    for w in (1..WRITERS).step_by(2) {
        assert_eq!(errors[w], None, "writer {w} through B met no error");
    }

    let acked = acked.lock().unwrap().clone();
    let client = rt.block_on(b.admin_client());
    eventually(
        "every acknowledged write is readable through B",
        WAIT,
        || {
            let stored: HashSet<String> = rt
                .block_on(client.get_roles())
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|r| r.metadata.unwrap().name)
                .collect();
            let lost: Vec<&String> = acked.iter().filter(|n| !stored.contains(*n)).collect();
            if lost.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{} of {} acknowledged writes missing, e.g. {:?}",
                    lost.len(),
                    acked.len(),
                    &lost[..lost.len().min(5)]
                ))
            }
        },
    );
    drop(client);
    b.stop();
    drop((etcd, tmp));
}
