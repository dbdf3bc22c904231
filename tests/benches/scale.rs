//! Benchmark: a million resources. A data directory is filled in-process through the store
//! crate (RocksDB, `create_all` batches) with BENCH_REQUESTS access requests (default
//! 1,000,000; a tenth of them expire right after the fill) and BENCH_ROLES roles (default a
//! tenth of the requests), then the real server binary runs on it:
//!
//! 1. First start: start-up time until it answers, and the sweeper removing the expired
//!    tenth (its cost per swept item from `/metrics`, the deletions from its debug log).
//! 2. In-process baselines on the same store (server stopped): `range` of one page at the
//!    start, middle and end of the key space, p50.
//! 3. Second start: start-up time, RSS; GetRoles and GetAccessRequests pages of 100 and
//!    1,000 at the same positions (p50 per page, ratio to the store's range), a filtered page
//!    (one user's requests, a bounded scan per call); paging through everything (RSS after);
//!    an access decision (GetRole by a user with roles, p50).
//! 4. An empty server: start-up time and the same access decision.
//!
//! Run on demand (not in CI): `cargo bench -p portcullis-tests --bench scale --profile dev`
//! (`BENCH_REQUESTS=N`, `BENCH_ROLES=N`). The data lives in a temporary directory (a few
//! hundred MB for a million requests), removed at the end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use portcullis_api::auth::GetRolesRequest;
use portcullis_api::services::{AccessRequestFilter, RequestState, RoleV3, UserV2};
use portcullis_api::{Client, TlsFiles};
use portcullis_server::access_requests::{new_request, resolve, Resolution};
use portcullis_store::{Backend, NewItem, RocksBackend};
use portcullis_tests::bench::{env_usize, p50_p99, proc_status_kib};
use portcullis_tests::{http_get, s, Server};

const REQUESTS_PREFIX: &str = "/access_requests/";
const ROLES_PREFIX: &str = "/roles/";
/// Items per `create_all` batch of the fill.
const BATCH: usize = 5000;
/// Users the requests are spread over.
const USERS: usize = 1000;
/// The user with roles whose access decisions are timed.
const BENCH_USER: &str = "bench-user";
/// Page sizes measured.
const SIZES: [usize; 2] = [100, 1000];
/// The page size of the walks through everything.
const WALK_PAGE: u32 = 1000;

/// A stored role as the server would keep it: a login and a rule of its own.
fn bench_role(name: &str) -> RoleV3 {
    let mut role: RoleV3 = portcullis_api::yaml::from_str(&format!(
        "kind: role\nversion: v3\nmetadata:\n  name: {name}\nspec:\n  allow:\n    logins: [{name}]\n    node_labels: {{team: '{name}'}}\n    rules:\n    - resources: [session]\n      verbs: [list, read]\n"
    ))
    .unwrap();
    portcullis_authz::validate::normalize_role(&mut role).unwrap();
    role
}

/// What lets the bench user read roles.
fn reader_role() -> RoleV3 {
    let mut role: RoleV3 = portcullis_api::yaml::from_str(
        "kind: role\nversion: v3\nmetadata:\n  name: reader\nspec:\n  allow:\n    rules:\n    - resources: [role]\n      verbs: [list, read]\n",
    )
    .unwrap();
    portcullis_authz::validate::normalize_role(&mut role).unwrap();
    role
}

fn role_name(i: usize) -> String {
    format!("role-{i:06}")
}

/// The bench user: the reader role and two of the stored ones.
fn bench_user(roles: usize) -> UserV2 {
    let mut user: UserV2 = portcullis_api::yaml::from_str(&format!(
        "kind: user\nversion: v2\nmetadata:\n  name: {BENCH_USER}\nspec:\n  roles: [reader, {}, {}]\n",
        role_name(1),
        role_name(roles / 2)
    ))
    .unwrap();
    portcullis_api::validate::normalize_user(&mut user).unwrap();
    user
}

/// What the fill wrote, sorted: the names of the roles and the IDs of the requests that
/// stay.
struct Filled {
    roles: Vec<String>,
    requests: Vec<String>,
    expiring: usize,
    /// When the last expiring request expires.
    expired_at: SystemTime,
}

async fn write(store: &RocksBackend, batch: &mut Vec<NewItem>) {
    store
        .create_all(std::mem::take(batch))
        .await
        .expect("create_all");
}

/// Fills `store`: `roles` roles, the reader role and the bench user, and `requests`
/// access requests (pending, approved and denied, of `USERS` users) of which every tenth
/// expires a second after it is written.
async fn fill(store: &RocksBackend, roles: usize, requests: usize) -> Filled {
    let started = Instant::now();
    let mut batch = Vec::with_capacity(BATCH);
    let mut role_names = Vec::with_capacity(roles);
    let encode = |key: String, value: Vec<u8>, expires| NewItem {
        key: key.into_bytes(),
        value,
        expires,
    };
    for role in [reader_role()]
        .into_iter()
        .chain((0..roles).map(|i| bench_role(&role_name(i))))
    {
        let name = role.metadata.as_ref().unwrap().name.clone();
        batch.push(encode(
            format!("{ROLES_PREFIX}{name}"),
            prost::Message::encode_to_vec(&role),
            None,
        ));
        role_names.push(name);
        if batch.len() == BATCH {
            write(store, &mut batch).await;
        }
    }
    let user = bench_user(roles);
    batch.push(encode(
        format!("/users/{BENCH_USER}"),
        prost::Message::encode_to_vec(&user),
        None,
    ));
    write(store, &mut batch).await;
    let roles_took = started.elapsed();
    println!(
        "filled {} roles in {:.1} s",
        role_names.len(),
        roles_took.as_secs_f64()
    );

    let started = Instant::now();
    let mut ids = Vec::with_capacity(requests);
    let mut expiring = 0;
    let mut expired_at = SystemTime::now();
    let mut last_progress = Instant::now();
    for i in 0..requests {
        let now = SystemTime::now();
        let user = format!("user-{:03}", i % USERS);
        let mut request = new_request(
            &user,
            vec![role_name(i % roles.max(1))],
            format!("ticket {i}"),
            Some(now + Duration::from_secs(29 * 3600)),
            now,
            Duration::from_secs(24 * 3600),
        )
        .unwrap();
        match i % 10 {
            // Approved and denied ones, as a cluster keeps them.
            1 | 5 => {
                let state = if i % 10 == 1 {
                    RequestState::Approved
                } else {
                    RequestState::Denied
                };
                let resolution = Resolution {
                    state,
                    reason: "bench".into(),
                    ..Resolution::default()
                };
                resolve(&mut request, resolution).unwrap();
            }
            // The tenth that the sweeper removes.
            9 => {
                let at = now + Duration::from_secs(1);
                request.metadata.as_mut().unwrap().expires = Some(at.into());
                expiring += 1;
                expired_at = at;
            }
            _ => {}
        }
        let id = request.metadata.as_ref().unwrap().name.clone();
        let expires = request
            .metadata
            .as_ref()
            .unwrap()
            .expires
            .and_then(portcullis_api::time::to_system_time);
        batch.push(encode(
            format!("{REQUESTS_PREFIX}{id}"),
            prost::Message::encode_to_vec(&request),
            expires,
        ));
        if i % 10 != 9 {
            ids.push(id);
        }
        if batch.len() == BATCH {
            write(store, &mut batch).await;
        }
        if last_progress.elapsed() > Duration::from_secs(5) {
            last_progress = Instant::now();
            println!(
                "  {} of {requests} requests written ({:.0}/s)",
                i + 1,
                (i + 1) as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    write(store, &mut batch).await;
    let took = started.elapsed();
    println!(
        "filled {requests} access requests in {:.1} s ({:.0}/s, batches of {BATCH})",
        took.as_secs_f64(),
        requests as f64 / took.as_secs_f64()
    );
    role_names.sort();
    ids.sort();
    Filled {
        roles: role_names,
        requests: ids,
        expiring,
        expired_at,
    }
}

/// Resident and peak resident memory of process `pid`, in MiB.
fn rss(pid: u32) -> (f64, f64) {
    let mib = |name| proc_status_kib(pid, name).unwrap_or(0) as f64 / 1024.0;
    (mib("VmRSS:"), mib("VmHWM:"))
}

/// Starts a server on `dir` (config `config`) and times it until it answers the admin.
async fn start(dir: &Path, config: &str) -> (Server, Client, Duration) {
    let started = Instant::now();
    let server = Server::start_with_config(dir, config);
    let admin = server.admin_client().await;
    admin.ping().await.expect("ping");
    let took = started.elapsed();
    (server, admin, took)
}

/// The sum and count of the server's `sweep_expired` store operations, from `/metrics`.
fn sweep_metrics(server: &Server) -> (f64, u64) {
    let diag = server.diag_addr.as_deref().expect("diag_addr");
    let body = http_get(diag, "/metrics").unwrap().body;
    let value = |suffix: &str| {
        body.lines()
            .filter(|l| {
                l.starts_with(&format!(
                    "portcullis_store_operation_duration_seconds_{suffix}{{"
                )) && l.contains("op=\"sweep_expired\"")
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    (value("sum"), value("count") as u64)
}

/// How many items the server's sweeper said it deleted (its debug log).
fn swept(server: &Server) -> usize {
    server
        .log()
        .lines()
        .filter(|l| l.contains("deleted expired items"))
        .filter_map(|l| {
            l.split("count=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse::<usize>()
                .ok()
        })
        .sum()
}

/// Where pages of `size` start: the start, the middle and the end of `keys` (the page at
/// the end is the last full one).
fn positions(keys: &[String], size: usize) -> [(&'static str, Option<String>); 3] {
    let end = keys.len().saturating_sub(size + 1);
    [
        ("start", None),
        ("middle", keys.get(keys.len() / 2).cloned()),
        ("end", keys.get(end).cloned()),
    ]
}

/// Samples taken of one page size.
fn samples(size: usize) -> usize {
    if size >= 1000 {
        15
    } else {
        60
    }
}

/// The median time of `samples` runs of `op` after two warm-up runs.
async fn p50<F, Fut>(samples: usize, mut op: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    op().await;
    op().await;
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = Instant::now();
        let items = op().await;
        times.push(started.elapsed());
        assert!(items > 0, "an empty page");
    }
    p50_p99(&mut times).0
}

/// One measured page: (listing, size, position) -> p50.
type Baselines = Vec<((&'static str, usize, &'static str), Duration)>;

async fn store_baselines(store: &RocksBackend, filled: &Filled) -> Baselines {
    let mut out = Vec::new();
    for (listing, prefix, keys) in [
        ("GetRoles", ROLES_PREFIX, &filled.roles),
        ("GetAccessRequests", REQUESTS_PREFIX, &filled.requests),
    ] {
        for size in SIZES {
            for (position, after) in positions(keys, size) {
                let after = after.map(|a| format!("{prefix}{a}").into_bytes());
                let took = p50(samples(size), || async {
                    let page = store
                        .range(prefix.as_bytes(), after.as_deref(), size)
                        .await
                        .unwrap();
                    page.items.len()
                })
                .await;
                out.push(((listing, size, position), took));
            }
        }
    }
    // What one filtered call reads: the scan budget.
    let budget = portcullis_server::resources::paging::SCAN_BUDGET;
    let took = p50(samples(1000), || async {
        let page = store
            .range(REQUESTS_PREFIX.as_bytes(), None, budget)
            .await
            .unwrap();
        page.items.len()
    })
    .await;
    out.push((("filtered", budget, "start"), took));
    out
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Walks a whole listing with pages of `WALK_PAGE`; returns the items and the time.
async fn walk<F, Fut>(mut page: F) -> (usize, Duration)
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = (usize, String)>,
{
    let started = Instant::now();
    let mut total = 0;
    let mut after = String::new();
    loop {
        let (items, next) = page(after).await;
        total += items;
        if next.is_empty() {
            return (total, started.elapsed());
        }
        after = next;
    }
}

async fn roles_page(client: &Client, size: usize, after: String) -> (usize, String) {
    let answer = client
        .rpc()
        .get_roles(GetRolesRequest {
            limit: size as u32,
            start_after: after,
        })
        .await
        .expect("GetRoles")
        .into_inner();
    (answer.roles.len(), answer.next_start_after)
}

async fn requests_page(client: &Client, user: &str, size: usize, after: String) -> (usize, String) {
    let answer = client
        .rpc()
        .get_access_requests(AccessRequestFilter {
            user: user.into(),
            limit: size as u32,
            start_after: after,
            ..AccessRequestFilter::default()
        })
        .await
        .expect("GetAccessRequests")
        .into_inner();
    (answer.access_requests.len(), answer.next_start_after)
}

/// The p50 of GetRole of a stored role by the bench user (signed a certificate in `dir`).
async fn decision(server: &Server, dir: &Path) -> Duration {
    let prefix = dir.join("bench-user");
    server.sign_user(BENCH_USER, "tls", s(&prefix));
    let client = Client::connect(&server.addr, &TlsFiles::from_prefix(&prefix))
        .await
        .unwrap();
    let name = role_name(1);
    for _ in 0..200 {
        client.get_role(&name).await.expect("GetRole as bench-user");
    }
    let mut times = Vec::with_capacity(2000);
    for _ in 0..2000 {
        let started = Instant::now();
        client.get_role(&name).await.unwrap();
        times.push(started.elapsed());
    }
    p50_p99(&mut times).0
}

fn main() {
    let requests = env_usize("BENCH_REQUESTS", 1_000_000);
    let roles = env_usize("BENCH_ROLES", (requests / 10).max(10));
    let rt = portcullis_tests::bench::runtime();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("big");
    let data = dir.join("data");
    std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
        .create(&data)
        .unwrap();
    rt.block_on(async {
        // The fill, in-process.
        let store = RocksBackend::open(&data.join("store")).expect("open store");
        let filled = fill(&store, roles, requests).await;
        drop(store);
        let disk = du(&data.join("store"));
        println!("store on disk: {disk:.0} MiB");

        // 1. First start, and the sweep of the expired tenth.
        let wait = filled
            .expired_at
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        tokio::time::sleep(wait + Duration::from_millis(100)).await;
        let config = "sweep_interval: 1s\ndiag_addr: 127.0.0.1:0\nlog_level: warn,portcullis_store=debug\n";
        let (server, _admin, first_start) = start(&dir, config).await;
        println!(
            "first start (creates the cluster's authorities) until it answers: {}",
            ms(first_start)
        );
        let sweep_started = Instant::now();
        while swept(&server) < filled.expiring {
            assert!(
                sweep_started.elapsed() < Duration::from_secs(600),
                "the sweeper removed {} of {} expired requests in 10 minutes",
                swept(&server),
                filled.expiring
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (sweep_seconds, sweeps) = sweep_metrics(&server);
        println!(
            "sweeper: {} expired requests removed in {:.2} s of sweeping ({sweeps} sweeps), {:.1} µs per item; seen done {:.1} s after the server answered",
            filled.expiring,
            sweep_seconds,
            sweep_seconds * 1e6 / filled.expiring.max(1) as f64,
            sweep_started.elapsed().as_secs_f64()
        );
        server.stop();

        // 2. Baselines in-process, on the same store.
        let store = RocksBackend::open(&data.join("store")).expect("reopen store");
        let baselines = store_baselines(&store, &filled).await;
        drop(store);

        // 3. The server on the million.
        let (server, admin, took) = start(&dir, "log_level: warn\n").await;
        let (rss_start, _) = rss(server.pid());
        println!(
            "start with {} requests and {} roles until it answers: {}; RSS {rss_start:.0} MiB",
            filled.requests.len(),
            filled.roles.len(),
            ms(took)
        );
        println!(
            "\n{:<18} {:>6} {:>8} {:>12} {:>12} {:>8}",
            "listing", "page", "at", "server p50", "store p50", "ratio"
        );
        for ((listing, size, position), store_p50) in &baselines {
            let keys = match *listing {
                "GetRoles" => &filled.roles,
                _ => &filled.requests,
            };
            let after = positions(keys, *size)
                .into_iter()
                .find(|(p, _)| p == position)
                .and_then(|(_, after)| after)
                .unwrap_or_default();
            let server_p50 = match *listing {
                "GetRoles" => {
                    p50(samples(*size), || async {
                        roles_page(&admin, *size, after.clone()).await.0
                    })
                    .await
                }
                "GetAccessRequests" => {
                    p50(samples(*size), || async {
                        requests_page(&admin, "", *size, after.clone()).await.0
                    })
                    .await
                }
                // One user's requests, a page of 100: one call scans at most the budget.
                _ => {
                    p50(samples(1000), || async {
                        requests_page(&admin, "user-007", 100, String::new()).await.0
                    })
                    .await
                }
            };
            let (listing, size, position) = match *listing {
                "filtered" => ("GetAccessRequests", 100, "user=007"),
                other => (other, *size, *position),
            };
            println!(
                "{listing:<18} {size:>6} {position:>8} {:>12} {:>12} {:>8.1}",
                ms(server_p50),
                ms(*store_p50),
                server_p50.as_secs_f64() / store_p50.as_secs_f64()
            );
        }
        println!(
            "(user=007: one user's requests, 100 per page: a call examines up to {} stored requests; its baseline is a store range of that many)",
            portcullis_server::resources::paging::SCAN_BUDGET
        );

        // Paging through everything, twice for the requests: the second walk shows whether
        // the server's memory keeps growing or has settled.
        let pid = server.pid();
        let (count, took) = walk(|after| roles_page(&admin, WALK_PAGE as usize, after)).await;
        println!(
            "\nall {count} roles, {WALK_PAGE} per page: {:.1} s ({:.0}/s); RSS {:.0} MiB",
            took.as_secs_f64(),
            count as f64 / took.as_secs_f64(),
            rss(pid).0
        );
        for round in ["", " again"] {
            let (count, took) =
                walk(|after| requests_page(&admin, "", WALK_PAGE as usize, after)).await;
            println!(
                "all {count} access requests{round}, {WALK_PAGE} per page: {:.1} s ({:.0}/s); RSS {:.0} MiB",
                took.as_secs_f64(),
                count as f64 / took.as_secs_f64(),
                rss(pid).0
            );
        }
        let (count, took) = walk(|after| requests_page(&admin, "user-007", 100, after)).await;
        let (rss_after, peak) = rss(pid);
        println!(
            "user-007's {count} access requests, 100 per page: {:.1} s; RSS {rss_after:.0} MiB (peak {peak:.0} MiB)",
            took.as_secs_f64()
        );
        let unpaged = admin.rpc().get_roles(GetRolesRequest::default()).await;
        println!(
            "unpaged GetRoles: {}",
            match unpaged {
                Ok(answer) => format!("{} roles", answer.into_inner().roles.len()),
                Err(status) => format!("{:?}: {}", status.code(), status.message()),
            }
        );
        let big = decision(&server, &dir).await;
        server.stop();

        // 4. An empty server, the same decision.
        let empty_dir = tmp.path().join("empty");
        std::fs::create_dir_all(&empty_dir).unwrap();
        let (empty, admin, took) = start(&empty_dir, "log_level: warn\n").await;
        let (rss_empty, _) = rss(empty.pid());
        println!("\nempty server start until it answers: {}; RSS {rss_empty:.0} MiB", ms(took));
        admin.upsert_role(reader_role()).await.unwrap();
        for i in [1, roles / 2] {
            admin.upsert_role(bench_role(&role_name(i))).await.unwrap();
        }
        admin.create_user(bench_user(roles)).await.unwrap();
        let small = decision(&empty, &empty_dir).await;
        empty.stop();
        println!(
            "access decision (GetRole by a user with 3 roles), p50: {} with {} roles and {} requests, {} on an empty server (ratio {:.2})",
            ms(big),
            filled.roles.len(),
            filled.requests.len(),
            ms(small),
            big.as_secs_f64() / small.as_secs_f64()
        );
    });
}

/// The size of the files under `dir`, in MiB.
fn du(dir: &Path) -> f64 {
    let mut total = 0u64;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        total += entry.metadata().map(|m| m.len()).unwrap_or(0);
    }
    total as f64 / (1024.0 * 1024.0)
}
