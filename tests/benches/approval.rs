//! Benchmark: access request create -> automatic approval through a Wasm policy, against
//! the real server over mTLS.
//!
//! Two requesters share one server: `carl`'s `dba` requests are covered by an
//! access-request policy running the Rust `approve-dba` example module (which approves a
//! ticketed request during working hours; the server's `policy.clock` is fixed on a
//! Tuesday morning), `cleo`'s by none. Each sample is CreateAccessRequest followed by
//! GetAccessRequests of that ID, checking that carl's request is APPROVED and cleo's still
//! PENDING — what a client does to learn the outcome. The two cases take turns over 10
//! rounds so that noise hits both; the ratio is the cost of the policy on the request path.
//!
//! Run on demand (not in CI): `cargo bench -p portcullis-tests --bench approval --profile dev`
//! (`BENCH_SAMPLES=N` per case, default 2000).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use portcullis_api::services::{
    AccessRequestFilter, AccessRequestSpecV3, AccessRequestV3, RequestState,
};
use portcullis_api::wrappers::StringValues;
use portcullis_tests::bench::{p50_p99, timings};
use portcullis_tests::policies::{build_example, Lang};
use portcullis_tests::{s, write_file, Server};

const ROUNDS: usize = 10;

fn samples() -> usize {
    std::env::var("BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000)
}

fn request(user: &str) -> AccessRequestV3 {
    let mut spec = AccessRequestSpecV3 {
        user: user.to_owned(),
        roles: vec!["dba".to_owned()],
        ..AccessRequestSpecV3::default()
    };
    spec.system_annotations.insert(
        "ticket".to_owned(),
        StringValues {
            values: vec!["OPS-1".to_owned()],
        },
    );
    AccessRequestV3 {
        kind: "access_request".to_owned(),
        version: "v3".to_owned(),
        metadata: Some(portcullis_api::services::Metadata {
            // A client-chosen ID, so the sample knows it without listing.
            name: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        }),
        spec: Some(spec),
        ..AccessRequestV3::default()
    }
}

fn setup(server: &Server, dir: &Path) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    server.pctl_ok(&["create", s(&fixtures.join("access-workflow.yaml"))]);
    server.pctl_ok(&["users", "add", "carl", "--roles", "contractor"]);
    server.pctl_ok(&["users", "add", "cleo", "--roles", "contractor"]);
    let wasm = build_example(Lang::Rust);
    server.pctl_ok(&["policy", "upload", s(&wasm), "--name", "approve-dba"]);
    let policy = write_file(
        dir,
        "arp.yaml",
        "kind: access_request_policy\nversion: v1\nmetadata:\n  name: dba-tickets\nspec:\n  module: approve-dba\n  roles: [dba]\n  users: [carl]\n",
    );
    server.pctl_ok(&["create", s(&policy)]);
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let rt = portcullis_tests::bench::runtime();
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = write_file(
        tmp.path(),
        "config.yaml",
        "policy:\n  clock: 2026-11-24T10:00:00Z\n",
    );
    let server = Server::start(
        &tmp.path().join("data"),
        &["--config", s(&config), "--log-level", "warn"],
    );
    setup(&server, tmp.path());
    let admin = rt.block_on(server.admin_client());

    let once = |user: &str, expect: RequestState| {
        let r = request(user);
        let id = r
            .metadata
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default();
        rt.block_on(async {
            admin.rpc().create_access_request(r).await.expect("create");
            let got = admin
                .rpc()
                .get_access_requests(AccessRequestFilter {
                    id,
                    ..AccessRequestFilter::default()
                })
                .await
                .expect("get")
                .into_inner()
                .access_requests;
            let state = got.first().and_then(|r| r.spec.as_ref()).map(|s| s.state());
            assert_eq!(state, Some(expect), "{user}");
        });
    };

    let per_round = samples() / ROUNDS;
    let (mut policy, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        policy.extend(timings(per_round, || once("carl", RequestState::Approved)));
        plain.extend(timings(per_round, || once("cleo", RequestState::Pending)));
    }
    let (p50, p99) = p50_p99(&mut policy);
    let (b50, b99) = p50_p99(&mut plain);
    println!(
        "create -> state, {} samples per case, over mTLS (ms)",
        policy.len()
    );
    println!("{:<44} {:>8} {:>8}", "case", "p50", "p99");
    println!(
        "{:<44} {:>8.3} {:>8.3}",
        "auto-approved by approve-dba (Rust, Wasm)",
        ms(p50),
        ms(p99)
    );
    println!(
        "{:<44} {:>8.3} {:>8.3}",
        "baseline: no covering policy (stays pending)",
        ms(b50),
        ms(b99)
    );
    println!(
        "ratio policy/baseline: p50 {:.2}, p99 {:.2}",
        p50.as_secs_f64() / b50.as_secs_f64().max(f64::MIN_POSITIVE),
        p99.as_secs_f64() / b99.as_secs_f64().max(f64::MIN_POSITIVE)
    );
    server.stop();
}
