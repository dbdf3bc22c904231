//! Policy module uploads that attack the compiler or the loader: each is refused with
//! INVALID_ARGUMENT naming what was wrong, nothing is stored, and the server keeps serving.
//! (Their effect on other callers' latency is measured by `benches/hostile.rs`.)

use portcullis_api::auth::GetPolicyModuleRequest;
use portcullis_api::services::{Metadata, PolicyModuleSpecV1, PolicyModuleV1};
use portcullis_api::Client;
use portcullis_tests::{hostile, Server};
use tonic::Code;

fn upload(name: &str, wasm: Vec<u8>) -> PolicyModuleV1 {
    PolicyModuleV1 {
        metadata: Some(Metadata {
            name: name.into(),
            ..Metadata::default()
        }),
        spec: Some(PolicyModuleSpecV1 {
            wasm,
            ..PolicyModuleSpecV1::default()
        }),
        ..PolicyModuleV1::default()
    }
}

async fn refused(admin: &Client, name: &str, wasm: Vec<u8>, says: &str) {
    let status = admin
        .rpc()
        .upsert_policy_module(upload(name, wasm))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{name}: {status:?}");
    assert!(status.message().contains(says), "{name}: {status:?}");
    let stored = admin
        .rpc()
        .get_policy_module(GetPolicyModuleRequest {
            name: name.into(),
            ..GetPolicyModuleRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        stored.code(),
        Code::NotFound,
        "{name} was stored: {stored:?}"
    );
    admin.ping().await.unwrap();
}

#[test]
fn uploads_attacking_the_compiler_or_loader_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    // Messages up to the largest module, so that every upload reaches the module checks.
    let server = Server::start_with_config(tmp.path(), "max_message_bytes: 16777216\n");
    portcullis_tests::rt().block_on(async {
        let admin = server.admin_client().await;
        for attack in hostile::attacks() {
            refused(&admin, attack.name, attack.wasm, attack.refused_with).await;
        }
        // A module within every limit is still accepted afterwards.
        let ok = admin
            .rpc()
            .upsert_policy_module(upload("small", hostile::many_functions(10)))
            .await;
        assert!(ok.is_ok(), "{ok:?}");
    });
    server.stop();
}

/// A compilation slower than `policy.compile_timeout` refuses the upload (here a module
/// within the shape limits, with a timeout far too short for it), and a retry of the same
/// bytes is timed again rather than accepted from the code that compilation left behind.
#[test]
fn a_compilation_past_the_timeout_is_refused_and_so_is_its_retry() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_with_config(tmp.path(), "policy:\n  compile_timeout: 20ms\n");
    portcullis_tests::rt().block_on(async {
        let admin = server.admin_client().await;
        let wasm = hostile::big_function(256 * 1024);
        refused(
            &admin,
            "slow",
            wasm.clone(),
            "policy.compile_timeout (20ms)",
        )
        .await;
        // The compilation finishes in the background; then its code is dropped.
        let forgotten = "forgot the compiled code of an upload refused for its compile time";
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !server.log().contains(forgotten) {
            assert!(std::time::Instant::now() < deadline, "{}", server.log());
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        refused(&admin, "slow", wasm, "policy.compile_timeout (20ms)").await;
    });
    server.stop();
}
