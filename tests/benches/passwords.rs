//! Benchmark: password checks/s (CheckPassword) and sign-ins/s (SignIn: a check plus a web
//! session written) through the real server, against the baseline of raw argon2id hashes/s
//! with the server's parameters (19 MiB, 2 passes, 1 lane) measured in the same run on one
//! thread of this process. A check is one hash by design, so the ratio says what the RPC,
//! the store reads and writes and the audit events add to it; with several tasks the
//! server's blocking pool spreads hashes over the cores.
//!
//! Run on demand (not in CI): `cargo bench -p portcullis-tests --bench passwords --profile dev`
//! (`BENCH_SECONDS=N` changes the time per measurement, default 3). The server and the
//! bench share the machine's cores.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use portcullis_api::auth::{CheckPasswordRequest, SignInRequest, UpsertPasswordRequest};
use portcullis_api::services::{Metadata, UserSpecV2, UserV2};
use portcullis_tests::bench::{admin_clients, measure, seconds};
use portcullis_tests::Server;

const PASSWORD: &str = "correct horse battery staple";

/// Raw argon2id hashes/s on one thread, with the server's parameters.
fn raw_hashes_per_second() -> f64 {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
    let start = Instant::now();
    let mut done = 0u64;
    while start.elapsed() < seconds() {
        argon.hash_password(PASSWORD.as_bytes(), &salt).unwrap();
        done += 1;
    }
    done as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let rt = portcullis_tests::bench::runtime();
    let tmp = tempfile::tempdir().expect("tempdir");
    let raw = raw_hashes_per_second();
    println!("raw argon2id hashes/s (1 thread): {raw:.1}");
    rt.block_on(async {
        let server = Server::start_bench(&tmp.path().join("server"));
        let clients = admin_clients(&server).await;
        let user = UserV2 {
            metadata: Some(Metadata {
                name: "bench".into(),
                ..Default::default()
            }),
            spec: Some(UserSpecV2 {
                roles: vec!["admin".into()],
                ..Default::default()
            }),
            ..Default::default()
        };
        clients[0].create_user(user).await.unwrap();
        let set = UpsertPasswordRequest {
            user: "bench".into(),
            password: PASSWORD.into(),
        };
        clients[0].rpc().upsert_password(set).await.unwrap();
        for tasks in [1, 2, 4] {
            let c = clients.clone();
            let checks = measure(tasks, move |t, _| {
                let c = c.clone();
                async move {
                    let request = CheckPasswordRequest {
                        user: "bench".into(),
                        password: PASSWORD.into(),
                        otp_code: String::new(),
                    };
                    c[t].rpc().check_password(request).await.expect("CheckPassword");
                }
            })
            .await;
            let c = clients.clone();
            let sign_ins = measure(tasks, move |t, _| {
                let c = c.clone();
                async move {
                    let request = SignInRequest {
                        user: "bench".into(),
                        password: PASSWORD.into(),
                        otp_code: String::new(),
                    };
                    c[t].rpc().sign_in(request).await.expect("SignIn");
                }
            })
            .await;
            println!(
                "{tasks} task(s): checks/s {checks:.1} (x{:.2} of raw hashes/s), sign-ins/s {sign_ins:.1} (x{:.2})",
                checks / raw,
                sign_ins / raw
            );
        }
    });
}
