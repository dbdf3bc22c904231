//! Per-caller rate limits of the expensive RPCs (`rate_limits:`): a caller over its quota
//! gets RESOURCE_EXHAUSTED naming the setting, at once, while other callers and its own
//! other calls are served.

use portcullis_api::auth::{CheckPasswordRequest, RegisterUsingTokenRequest, UserCertsRequest};
use portcullis_api::services::{Metadata, PolicyModuleSpecV1, PolicyModuleV1};
use portcullis_api::Client;
use portcullis_ca::ClientKey;
use portcullis_tests::{write_file, Server, ALICE_YAML};
use tonic::Code;

fn exhausted(status: &tonic::Status, setting: &str) {
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains(&format!("rate_limits.{setting}")),
        "{status:?}"
    );
}

fn certs_for(key: &ClientKey, user: &str) -> UserCertsRequest {
    UserCertsRequest {
        public_key: key.public_key_openssh().unwrap().into_bytes(),
        username: user.into(),
        ..UserCertsRequest::default()
    }
}

/// The admin flooding GenerateUserCerts is refused past its quota; its other calls still
/// go through, and another user still gets certificates from its own quota.
#[test]
fn a_caller_flooding_issuance_is_refused_while_others_are_served() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_with_config(tmp.path(), "rate_limits:\n  cert_issuance: 10/1h\n");
    let users = write_file(tmp.path(), "alice.yaml", ALICE_YAML);
    server.pctl_ok(&["create", users.to_str().unwrap()]);
    // Alice's identity is one issuance of the admin's quota.
    let prefix = tmp.path().join("alice");
    server.sign_user("alice", "tls", prefix.to_str().unwrap());
    let alice_files = portcullis_api::TlsFiles::from_prefix(&prefix);
    let key = ClientKey::generate().unwrap();
    portcullis_tests::rt().block_on(async {
        let admin = server.admin_client().await;
        let mut issued = 0;
        let refused = loop {
            match admin
                .rpc()
                .generate_user_certs(certs_for(&key, "alice"))
                .await
            {
                Ok(_) => issued += 1,
                Err(status) => break status,
            }
            assert!(issued < 10, "more than the quota was issued");
        };
        exhausted(&refused, "cert_issuance");
        assert!(refused.message().contains("10 per 1h"), "{refused:?}");
        assert_eq!(issued, 9, "the quota was 10 and alice's identity took one");
        // The admin's other calls are not limited.
        admin.ping().await.unwrap();
        admin.get_roles().await.unwrap();
        // Alice renews her own certificates from her own quota.
        let alice = Client::connect(&server.addr, &alice_files).await.unwrap();
        let certs = alice
            .rpc()
            .generate_user_certs(certs_for(&key, "alice"))
            .await
            .unwrap();
        assert!(!certs.into_inner().tls.is_empty());
    });
    server.stop();
}

/// Joins are counted per source address, as they come without a client certificate.
#[test]
fn joins_past_the_quota_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_with_config(tmp.path(), "rate_limits:\n  joins: 2/1h\n");
    let (token, _) = server.join_token(tmp.path(), "Node");
    let key = ClientKey::generate().unwrap();
    let host_ca = server.pctl_ok(&["auth", "export", "--type", "tls-host"]);
    portcullis_tests::rt().block_on(async {
        let joining = Client::connect_to_join(&server.addr, &host_ca)
            .await
            .unwrap();
        for n in 0..3 {
            let request = RegisterUsingTokenRequest {
                token: token.clone(),
                host_id: format!("node-{n}"),
                node_name: format!("node-{n}"),
                role: "Node".into(),
                public_ssh_key: key.public_key_openssh().unwrap().into_bytes(),
                public_tls_key: key.public_key_pem().unwrap().into_bytes(),
                ..RegisterUsingTokenRequest::default()
            };
            let answer = joining.rpc().register_using_token(request).await;
            match n {
                0 | 1 => assert!(answer.is_ok(), "join {n}: {answer:?}"),
                _ => exhausted(&answer.unwrap_err(), "joins"),
            }
        }
    });
    server.stop();
}

/// Password checks and policy uploads have quotas of their own; a call refused by its
/// quota is not looked at (the bad module below is refused by the limit, not by
/// validation, the second time).
#[test]
fn password_checks_and_policy_uploads_are_limited_separately() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_with_config(
        tmp.path(),
        "rate_limits:\n  password_checks: 2/1h\n  policy_uploads: 1/1h\n",
    );
    let users = write_file(tmp.path(), "alice.yaml", ALICE_YAML);
    server.pctl_ok(&["create", users.to_str().unwrap()]);
    portcullis_tests::rt().block_on(async {
        let admin = server.admin_client().await;
        let check = CheckPasswordRequest {
            user: "nobody".into(),
            password: "not the password".into(),
            otp_code: String::new(),
        };
        for _ in 0..2 {
            let status = admin.rpc().check_password(check.clone()).await.unwrap_err();
            assert_ne!(status.code(), Code::ResourceExhausted, "{status:?}");
        }
        let status = admin.rpc().check_password(check).await.unwrap_err();
        exhausted(&status, "password_checks");

        let module = PolicyModuleV1 {
            metadata: Some(Metadata {
                name: "junk".into(),
                ..Metadata::default()
            }),
            spec: Some(PolicyModuleSpecV1 {
                wasm: b"not wasm".to_vec(),
                ..PolicyModuleSpecV1::default()
            }),
            ..PolicyModuleV1::default()
        };
        let first = admin
            .rpc()
            .upsert_policy_module(module.clone())
            .await
            .unwrap_err();
        assert_eq!(first.code(), Code::InvalidArgument, "{first:?}");
        let second = admin.rpc().upsert_policy_module(module).await.unwrap_err();
        exhausted(&second, "policy_uploads");
        // Issuance was not touched by either.
        let key = ClientKey::generate().unwrap();
        admin
            .rpc()
            .generate_user_certs(certs_for(&key, "alice"))
            .await
            .unwrap();
    });
    server.stop();
}
