//! What hostile callers cost everyone else. A well-behaved client calls GetRole in a loop
//! and its latency is measured, first with the server quiet, then while another client
//! attacks: floods GenerateUserCerts past its rate limit, uploads each hostile module of
//! `portcullis_tests::hostile` over and over, or uploads the largest function the shape
//! limits accept (which compiles). Each phase prints the attacker's calls and answers and
//! the prober's p50 and p99 beside the quiet p99 of the same run.
//!
//! `BENCH_SECONDS` (default 3) is the length of each phase.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis_api::auth::{GetRoleRequest, UserCertsRequest};
use portcullis_api::services::{Metadata, PolicyModuleSpecV1, PolicyModuleV1};
use portcullis_api::Client;
use portcullis_ca::ClientKey;
use portcullis_tests::bench::{p50_p99, runtime, seconds};
use portcullis_tests::{hostile, write_file, Server, ALICE_YAML};

/// What the attacker did in a phase: answers by gRPC code.
type Answers = BTreeMap<String, u64>;

/// An attack: one call, whose answer's code is counted.
type Attack = Arc<dyn Fn(Client) -> futures::future::BoxFuture<'static, String> + Send + Sync>;

fn upload_attack(name: &'static str, wasm: Vec<u8>) -> Attack {
    let wasm = Arc::new(wasm);
    Arc::new(move |client: Client| {
        let module = PolicyModuleV1 {
            metadata: Some(Metadata {
                name: name.into(),
                ..Metadata::default()
            }),
            spec: Some(PolicyModuleSpecV1 {
                wasm: wasm.as_ref().clone(),
                ..PolicyModuleSpecV1::default()
            }),
            ..PolicyModuleV1::default()
        };
        Box::pin(async move { code(client.rpc().upsert_policy_module(module).await) })
    })
}

fn code<T>(answer: Result<T, tonic::Status>) -> String {
    match answer {
        Ok(_) => "Ok".to_owned(),
        Err(status) => format!("{:?}", status.code()),
    }
}

/// Runs `attack` from `tasks` tasks while the prober calls GetRole for one phase; the
/// prober's latencies and the attacker's answers.
async fn phase(
    prober: &Client,
    attacker: &Client,
    attack: Option<Attack>,
    tasks: usize,
) -> (Vec<Duration>, Answers) {
    let stop = Arc::new(AtomicBool::new(false));
    let mut attackers = Vec::new();
    if let Some(attack) = attack {
        for _ in 0..tasks {
            let (stop, attack, client) = (stop.clone(), attack.clone(), attacker.clone());
            attackers.push(tokio::spawn(async move {
                let mut answers = Answers::new();
                while !stop.load(Ordering::Relaxed) {
                    *answers.entry(attack(client.clone()).await).or_default() += 1;
                }
                answers
            }));
        }
    }
    let mut times = Vec::new();
    let deadline = Instant::now() + seconds();
    while Instant::now() < deadline {
        let start = Instant::now();
        prober
            .rpc()
            .get_role(GetRoleRequest { name: "ops".into() })
            .await
            .expect("GetRole");
        times.push(start.elapsed());
    }
    stop.store(true, Ordering::Relaxed);
    let mut answers = Answers::new();
    for task in attackers {
        for (code, n) in task.await.expect("attacker") {
            *answers.entry(code).or_default() += n;
        }
    }
    (times, answers)
}

fn main() {
    let rt = runtime();
    let tmp = tempfile::tempdir().expect("tempdir");
    // Uploads are not rate limited here, and messages may be as large as the largest
    // module, so that each hostile module reaches the module checks as often as the
    // attacker can send it; issuance keeps its default quota.
    let server = Server::start_with_config(
        tmp.path(),
        "log_level: warn\nmax_message_bytes: 16777216\nrate_limits:\n  policy_uploads: off\n",
    );
    let users = write_file(tmp.path(), "alice.yaml", ALICE_YAML);
    server.pctl_ok(&["create", users.to_str().expect("path")]);
    let key = ClientKey::generate().expect("key");
    let public_key = key.public_key_openssh().expect("public key").into_bytes();

    let mut attacks: Vec<(String, Attack, usize)> = vec![(
        "GenerateUserCerts flood (8 tasks, 200/s quota)".into(),
        Arc::new(move |client: Client| {
            let request = UserCertsRequest {
                public_key: public_key.clone(),
                username: "alice".into(),
                ..UserCertsRequest::default()
            };
            Box::pin(async move { code(client.rpc().generate_user_certs(request).await) })
                as futures::future::BoxFuture<'static, String>
        }),
        8,
    )];
    for attack in hostile::attacks() {
        let name = format!("upload {} ({} KiB)", attack.name, attack.wasm.len() / 1024);
        attacks.push((name, upload_attack(attack.name, attack.wasm), 2));
    }
    let largest = hostile::big_function(500 * 1024);
    attacks.push((
        format!(
            "upload the largest function accepted ({} KiB)",
            largest.len() / 1024
        ),
        upload_attack("largest", largest),
        2,
    ));

    rt.block_on(async {
        let prober = server.admin_client().await;
        let attacker = server.admin_client().await;
        let (mut quiet, _) = phase(&prober, &attacker, None, 0).await;
        let (quiet_p50, quiet_p99) = p50_p99(&mut quiet);
        println!(
            "GetRole latency of a well-behaved client while another attacks ({:?} per phase)",
            seconds()
        );
        println!(
            "{:<52} {:>8} {:>30} {:>9} {:>9} {:>7}",
            "phase", "calls", "answers", "p50", "p99", "p99/quiet"
        );
        println!(
            "{:<52} {:>8} {:>30} {:>9.2?} {:>9.2?} {:>7.2}",
            "quiet", "-", "-", quiet_p50, quiet_p99, 1.0
        );
        for (name, attack, tasks) in attacks {
            let (mut times, answers) = phase(&prober, &attacker, Some(attack), tasks).await;
            let (p50, p99) = p50_p99(&mut times);
            let calls: u64 = answers.values().sum();
            let shown = answers
                .iter()
                .map(|(code, n)| format!("{code} {n}"))
                .collect::<Vec<_>>()
                .join(", ");
            println!(
                "{name:<52} {calls:>8} {shown:>30} {p50:>9.2?} {p99:>9.2?} {:>7.2}",
                p99.as_secs_f64() / quiet_p99.as_secs_f64()
            );
        }
    });
    server.stop();
}
