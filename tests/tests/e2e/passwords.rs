//! Passwords, lockouts, second factors, reset and invite tokens, web sessions and
//! registered user keys, against the real binary: the web front is a host with the Proxy
//! system role, the administrator is `pctl` and the admin identity, a user is a client
//! with its own certificate.

use std::path::Path;
use std::time::{Duration, SystemTime};

use portcullis_api::auth::{
    ChangePasswordWithTokenRequest, CheckPasswordRequest, CreateResetPasswordTokenRequest,
    DeleteUserKeyRequest, GetAuditEventsRequest, GetResetPasswordTokenRequest, GetUserKeysRequest,
    GetWebSessionsRequest, RotateResetPasswordTokenSecretsRequest, SignInRequest,
    UpsertPasswordRequest, UpsertUserKeyRequest, UserKey, WebSessionRequest,
};
use portcullis_api::services::WebSessionV2;
use portcullis_api::{Client, TlsFiles};
use portcullis_tests::{rt, s, write_file, Server};
use tonic::Code;

const PASSWORD: &str = "correct horse battery";

const ROLES: &str = "\
kind: role
version: v3
metadata:
  name: ops
spec:
  allow:
    logins: ['{{internal.logins}}']
";

/// A server with role `ops` and users `alice` and `bob` (created with `pctl users add`);
/// alice's invite token.
fn server_with_alice(dir: &Path) -> (Server, String) {
    let server = Server::start(&dir.join("data"), &[]);
    let roles = write_file(dir, "roles.yaml", ROLES);
    server.pctl_ok(&["create", s(&roles)]);
    let added = server.pctl_ok(&[
        "users", "add", "alice", "--roles", "ops", "--logins", "alice",
    ]);
    assert!(added.contains("user `alice` has been created"), "{added}");
    let token = added
        .lines()
        .find_map(|l| l.strip_prefix("invite token for `alice`: "))
        .unwrap_or_else(|| panic!("no invite token in {added}"))
        .trim()
        .to_owned();
    assert_eq!(token.len(), 32, "{added}");
    assert!(
        added.contains("valid until") && added.contains("ChangePasswordWithToken"),
        "{added}"
    );
    server.pctl_ok(&["users", "add", "bob", "--roles", "ops"]);
    (server, token)
}

/// A client with user `user`'s own certificate.
async fn user_client(server: &Server, dir: &Path, user: &str) -> Client {
    let prefix = dir.join(format!("id-{user}"));
    server.sign_user(user, "tls", s(&prefix));
    Client::connect(&server.addr, &TlsFiles::from_prefix(&prefix))
        .await
        .unwrap()
}

async fn set_password(client: &Client, user: &str, password: &str) -> Result<(), tonic::Status> {
    let request = UpsertPasswordRequest {
        user: user.into(),
        password: password.into(),
    };
    client.rpc().upsert_password(request).await.map(|_| ())
}

async fn check(
    client: &Client,
    user: &str,
    password: &str,
    otp: &str,
) -> Result<(), tonic::Status> {
    let request = CheckPasswordRequest {
        user: user.into(),
        password: password.into(),
        otp_code: otp.into(),
    };
    client.rpc().check_password(request).await.map(|_| ())
}

async fn sign_in(
    client: &Client,
    user: &str,
    password: &str,
    otp: &str,
) -> Result<WebSessionV2, tonic::Status> {
    let request = SignInRequest {
        user: user.into(),
        password: password.into(),
        otp_code: otp.into(),
    };
    client.rpc().sign_in(request).await.map(|r| r.into_inner())
}

async fn sessions(client: &Client, user: &str) -> Result<Vec<WebSessionV2>, tonic::Status> {
    let request = GetWebSessionsRequest {
        user: user.into(),
        ..Default::default()
    };
    let answer = client.rpc().get_web_sessions(request).await?;
    Ok(answer.into_inner().sessions)
}

async fn audit_events(
    admin: &Client,
    event: &str,
    user: &str,
) -> Vec<portcullis_api::auth::AuditEvent> {
    let request = GetAuditEventsRequest {
        event: event.into(),
        user: user.into(),
        limit: 1000,
        ..Default::default()
    };
    admin
        .rpc()
        .get_audit_events(request)
        .await
        .unwrap()
        .into_inner()
        .events
}

async fn keys_of(client: &Client, user: &str) -> Vec<UserKey> {
    let request = GetUserKeysRequest { user: user.into() };
    let answer = client.rpc().get_user_keys(request).await.unwrap();
    answer.into_inner().keys
}

fn totp_code(key: &str, at: SystemTime) -> String {
    let secret = totp_rs::Secret::Encoded(key.into()).to_bytes().unwrap();
    let totp =
        totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, secret, None, "t".into()).unwrap();
    totp.generate(at.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs())
}

#[test]
fn five_bad_passwords_lock_the_user_until_an_admin_unlocks_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (server, _) = server_with_alice(dir);
    rt().block_on(async {
        let admin = server.admin_client().await;
        let proxy = server.host_client(dir, "web", "Proxy").await;
        set_password(&admin, "alice", PASSWORD).await.unwrap();
        check(&proxy, "alice", PASSWORD, "").await.unwrap();

        for attempt in 1..=5 {
            let wrong = check(&proxy, "alice", "not the password", "")
                .await
                .unwrap_err();
            assert_eq!(wrong.code(), Code::PermissionDenied, "{wrong:?}");
            if attempt < 5 {
                assert!(
                    wrong.message().contains("invalid user name, password"),
                    "{wrong:?}"
                );
            }
        }
        let right = check(&proxy, "alice", PASSWORD, "").await.unwrap_err();
        assert_eq!(right.code(), Code::PermissionDenied);
        assert!(
            right.message().contains("`alice` is locked until"),
            "{right:?}"
        );
        let signin = sign_in(&proxy, "alice", PASSWORD, "").await.unwrap_err();
        assert!(signin.message().contains("locked"), "{signin:?}");
        // bob is not affected.
        set_password(&admin, "bob", PASSWORD).await.unwrap();
        check(&proxy, "bob", PASSWORD, "").await.unwrap();

        let alice = admin.get_user("alice", false).await.unwrap();
        let status = alice.spec.unwrap().status.unwrap();
        assert!(
            status.is_locked && status.lock_expires.is_some(),
            "{status:?}"
        );
        let listed = server.pctl_ok(&["users", "ls"]);
        let line = listed.lines().find(|l| l.starts_with("alice")).unwrap();
        assert!(
            listed.starts_with("USER") && listed.contains("LOCKED"),
            "{listed}"
        );
        assert!(line.contains("until 20"), "{listed}");
        let bob_line = listed.lines().find(|l| l.starts_with("bob")).unwrap();
        assert!(bob_line.trim_end().ends_with('-'), "{listed}");

        let locked = audit_events(&admin, "user.locked", "alice").await;
        assert_eq!(locked.len(), 1, "{locked:?}");
        let failures = audit_events(&admin, "user.login", "alice").await;
        let failed = failures
            .iter()
            .filter(|e| e.fields_json.contains("\"success\":false"))
            .count();
        assert!(failed >= 6, "{failures:?}");
        assert!(
            failures.iter().all(|e| !e.fields_json.contains("horse")),
            "passwords are never audited"
        );
        assert!(
            !server.log().contains(PASSWORD),
            "passwords are never logged"
        );

        let out = server.pctl_ok(&["users", "unlock", "alice"]);
        assert!(out.contains("unlocked"), "{out}");
        check(&proxy, "alice", PASSWORD, "").await.unwrap();
        let listed = server.pctl_ok(&["users", "ls"]);
        let line = listed.lines().find(|l| l.starts_with("alice")).unwrap();
        assert!(!line.contains("until"), "{listed}");
        assert_eq!(
            audit_events(&admin, "user.unlocked", "alice").await.len(),
            1
        );

        // A user may not unlock itself, nor check others' passwords.
        let alice = user_client(&server, dir, "alice").await;
        let denied = alice
            .rpc()
            .unlock_user(portcullis_api::auth::UnlockUserRequest {
                name: "alice".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);
        check(&alice, "alice", PASSWORD, "").await.unwrap();
        let other = check(&alice, "bob", PASSWORD, "").await.unwrap_err();
        assert_eq!(other.code(), Code::PermissionDenied, "{other:?}");
        assert!(
            other.message().contains("may not call CheckPassword"),
            "{other:?}"
        );
    });
}

#[test]
fn an_invite_enrols_totp_once_and_codes_are_not_replayed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (server, invite) = server_with_alice(dir);
    rt().block_on(async {
        let proxy = server.host_client(dir, "web", "Proxy").await;
        let token = proxy
            .rpc()
            .get_reset_password_token(GetResetPasswordTokenRequest {
                token_id: invite.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(token.sub_kind, "invite");
        assert_eq!(token.spec.as_ref().unwrap().user, "alice");

        let secrets = proxy
            .rpc()
            .rotate_reset_password_token_secrets(RotateResetPasswordTokenSecretsRequest {
                token_id: invite.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        let spec = secrets.spec.unwrap();
        assert!(
            spec.otp_auth_url.starts_with("otpauth://totp/"),
            "{}",
            spec.otp_auth_url
        );
        assert!(spec.otp_auth_url.contains("alice") && spec.otp_auth_url.contains(&spec.otp_key));
        let png = &spec.qr_code_png;
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
        assert_eq!(&png[12..16], b"IHDR");
        let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
        assert!(width >= 21 && width == height, "{width}x{height}");
        use base64::Engine as _;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&spec.qr_code)
            .unwrap();
        assert_eq!(&decoded, png);

        // Password rules, checked before the token is used.
        let change = |password: &str, otp: &str| ChangePasswordWithTokenRequest {
            token_id: invite.clone(),
            password: password.into(),
            otp_code: otp.into(),
        };
        let now = SystemTime::now();
        let code = totp_code(&spec.otp_key, now);
        let short = proxy
            .rpc()
            .change_password_with_token(change("short", &code))
            .await
            .unwrap_err();
        assert_eq!(short.code(), Code::InvalidArgument);
        assert!(short.message().contains("too short"), "{short:?}");
        let named = proxy
            .rpc()
            .change_password_with_token(change("alice-has-a-password", &code))
            .await
            .unwrap_err();
        assert!(named.message().contains("user name `alice`"), "{named:?}");
        let no_code = proxy
            .rpc()
            .change_password_with_token(change(PASSWORD, ""))
            .await
            .unwrap_err();
        assert!(
            no_code.message().contains("TOTP code is required"),
            "{no_code:?}"
        );

        proxy
            .rpc()
            .change_password_with_token(change(PASSWORD, &code))
            .await
            .unwrap();
        let twice = proxy
            .rpc()
            .change_password_with_token(change(PASSWORD, &code))
            .await
            .unwrap_err();
        assert_eq!(twice.code(), Code::NotFound, "{twice:?}");
        assert!(twice.message().contains("already used"), "{twice:?}");
        let gone = proxy
            .rpc()
            .get_reset_password_token(GetResetPasswordTokenRequest {
                token_id: invite.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(gone.code(), Code::NotFound);

        // The second factor is needed, and each code counts once (the enrolment's too).
        let no_otp = sign_in(&proxy, "alice", PASSWORD, "").await.unwrap_err();
        assert!(
            no_otp.message().contains("TOTP code is required"),
            "{no_otp:?}"
        );
        let replayed = sign_in(&proxy, "alice", PASSWORD, &code).await.unwrap_err();
        assert!(replayed.message().contains("already used"), "{replayed:?}");
        let next = totp_code(&spec.otp_key, now + Duration::from_secs(30));
        let session = sign_in(&proxy, "alice", PASSWORD, &next).await.unwrap();
        assert_eq!(session.spec.unwrap().user, "alice");
        let again = sign_in(&proxy, "alice", PASSWORD, &next).await.unwrap_err();
        assert!(again.message().contains("already used"), "{again:?}");

        // Tokens: at most 48 hours, for users that exist, made by administrators.
        let admin = server.admin_client().await;
        let request = |name: &str, ttl: Duration| CreateResetPasswordTokenRequest {
            name: name.into(),
            r#type: "reset".into(),
            ttl: i64::try_from(ttl.as_nanos()).unwrap(),
        };
        let long = admin
            .rpc()
            .create_reset_password_token(request("alice", Duration::from_secs(49 * 3600)))
            .await
            .unwrap_err();
        assert_eq!(long.code(), Code::InvalidArgument);
        assert!(
            long.message().contains("longer than the maximum of 2days"),
            "{long:?}"
        );
        let nobody = admin
            .rpc()
            .create_reset_password_token(request("carol", Duration::from_secs(3600)))
            .await
            .unwrap_err();
        assert_eq!(nobody.code(), Code::NotFound, "{nobody:?}");
        let by_proxy = proxy
            .rpc()
            .create_reset_password_token(request("alice", Duration::from_secs(3600)))
            .await
            .unwrap_err();
        assert_eq!(by_proxy.code(), Code::PermissionDenied, "{by_proxy:?}");

        // `pctl users reset` cuts the old password off and prints a token that sets a new one.
        let out = server.pctl_ok(&["users", "reset", "alice", "--ttl", "1h"]);
        let reset = out
            .lines()
            .find_map(|l| l.strip_prefix("reset token for `alice`: "))
            .unwrap()
            .trim()
            .to_owned();
        let later = totp_code(&spec.otp_key, now + Duration::from_secs(60));
        let old = check(&proxy, "alice", PASSWORD, &later).await.unwrap_err();
        assert_eq!(old.code(), Code::PermissionDenied, "{old:?}");
        let fresh = ChangePasswordWithTokenRequest {
            token_id: reset,
            password: "another long password".into(),
            otp_code: String::new(),
        };
        proxy.rpc().change_password_with_token(fresh).await.unwrap();
        check(&proxy, "alice", "another long password", "")
            .await
            .unwrap();
    });
}

#[test]
fn web_sessions_are_listed_read_and_ended_without_their_bearer_token() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (server, _) = server_with_alice(dir);
    rt().block_on(async {
        let admin = server.admin_client().await;
        let proxy = server.host_client(dir, "web", "Proxy").await;
        let short = set_password(&admin, "alice", "short").await.unwrap_err();
        assert_eq!(short.code(), Code::InvalidArgument);
        assert!(short.message().contains("too short"), "{short:?}");
        let named = set_password(&admin, "alice", "my name is alice!")
            .await
            .unwrap_err();
        assert!(
            named.message().contains("may not contain the user name"),
            "{named:?}"
        );
        let nobody = check(&proxy, "alice", "", "").await.unwrap_err();
        assert_eq!(nobody.code(), Code::PermissionDenied, "no password set yet");
        set_password(&admin, "alice", PASSWORD).await.unwrap();

        let first = sign_in(&proxy, "alice", PASSWORD, "").await.unwrap();
        let bearer = first.spec.as_ref().unwrap().bearer_token.clone();
        assert_eq!(bearer.len(), 64, "{first:?}");
        let first_id = first.metadata.as_ref().unwrap().name.clone();
        let spec = first.spec.as_ref().unwrap();
        assert_eq!(spec.roles, ["ops"]);
        assert!(spec.expires.is_some() && spec.login_time.is_some());
        let second = sign_in(&proxy, "alice", PASSWORD, "").await.unwrap();
        let wrong = sign_in(&proxy, "alice", "wrong password!", "")
            .await
            .unwrap_err();
        assert_eq!(wrong.code(), Code::PermissionDenied);

        let got = proxy
            .rpc()
            .get_web_session(WebSessionRequest {
                user: "alice".into(),
                session_id: first_id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        let got_spec = got.spec.unwrap();
        assert!(got_spec.bearer_token.is_empty() && got_spec.bearer_token_hash.is_empty());
        assert_eq!(got_spec.user, "alice");

        // alice sees her own sessions; bob may not.
        let alice = user_client(&server, dir, "alice").await;
        let listed = sessions(&alice, "alice").await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed
            .iter()
            .all(|s| s.spec.as_ref().unwrap().bearer_token.is_empty()));
        let bob = user_client(&server, dir, "bob").await;
        let denied = sessions(&bob, "alice").await.unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);
        let bob_signs_in = sign_in(&bob, "alice", PASSWORD, "").await.unwrap_err();
        assert_eq!(
            bob_signs_in.code(),
            Code::PermissionDenied,
            "only the web front signs in"
        );

        let end = WebSessionRequest {
            user: "alice".into(),
            session_id: first_id.clone(),
        };
        alice.rpc().delete_web_session(end.clone()).await.unwrap();
        let ended = proxy.rpc().get_web_session(end.clone()).await.unwrap_err();
        assert_eq!(ended.code(), Code::NotFound);
        assert_eq!(sessions(&proxy, "alice").await.unwrap().len(), 1);

        // Changing the password (alice herself may) ends every session.
        set_password(&alice, "alice", "a brand new passphrase")
            .await
            .unwrap();
        assert!(sessions(&proxy, "alice").await.unwrap().is_empty());
        let second_id = second.metadata.unwrap().name;
        let gone = WebSessionRequest {
            user: "alice".into(),
            session_id: second_id,
        };
        assert_eq!(
            proxy.rpc().get_web_session(gone).await.unwrap_err().code(),
            Code::NotFound
        );
        let by_bob = set_password(&bob, "alice", "bob sets alice's password")
            .await
            .unwrap_err();
        assert_eq!(by_bob.code(), Code::PermissionDenied);

        // Reading users never shows credentials, even with secrets.
        let with_secrets = admin.get_user("alice", true).await.unwrap();
        assert_eq!(with_secrets.spec.unwrap().local_auth, None);

        // Deleting the user deletes its sessions.
        sign_in(&proxy, "alice", "a brand new passphrase", "")
            .await
            .unwrap();
        server.pctl_ok(&["users", "rm", "alice"]);
        assert!(sessions(&admin, "alice").await.unwrap().is_empty());
        let unknown = check(&proxy, "alice", "a brand new passphrase", "")
            .await
            .unwrap_err();
        assert_eq!(unknown.code(), Code::PermissionDenied);
    });
}

#[test]
fn user_keys_are_signed_listed_and_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (server, _) = server_with_alice(dir);
    let key = portcullis_ca::ClientKey::generate().unwrap();
    let line = key.public_key_openssh().unwrap();
    rt().block_on(async {
        let alice = user_client(&server, dir, "alice").await;
        let request = UpsertUserKeyRequest {
            user: "alice".into(),
            key: Some(UserKey {
                id: String::new(),
                value: line.clone().into_bytes(),
                expires: None,
            }),
            ttl: i64::try_from(Duration::from_secs(3600).as_nanos()).unwrap(),
        };
        let answer = alice
            .rpc()
            .upsert_user_key(request.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.id.len(), 64, "{answer:?}");
        let cert =
            ssh_key::Certificate::from_openssh(std::str::from_utf8(&answer.cert).unwrap()).unwrap();
        assert_eq!(cert.key_id(), "alice");
        assert_eq!(cert.valid_principals(), ["alice"]);
        assert_eq!(cert.cert_type(), ssh_key::certificate::CertType::User);
        let signed = ssh_key::PublicKey::from_openssh(&line).unwrap();
        assert_eq!(cert.public_key(), signed.key_data());
        let lifetime = cert.valid_before() - cert.valid_after();
        assert!((3500..=3700).contains(&lifetime), "{lifetime}");
        assert!(String::from_utf8_lossy(&answer.tls_cert).contains("BEGIN CERTIFICATE"));

        let bob = user_client(&server, dir, "bob").await;
        let denied = bob
            .rpc()
            .upsert_user_key(request.clone())
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);
        let mut too_long = request.clone();
        too_long.ttl = i64::try_from(Duration::from_secs(31 * 3600).as_nanos()).unwrap();
        let refused = alice.rpc().upsert_user_key(too_long).await.unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
        let mut garbage = request.clone();
        garbage.key.as_mut().unwrap().value = b"not a key".to_vec();
        let refused = alice.rpc().upsert_user_key(garbage).await.unwrap_err();
        assert!(
            refused.message().contains("authorized_keys line"),
            "{refused:?}"
        );

        let listed = keys_of(&alice, "alice").await;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, answer.id);
        assert_eq!(listed[0].value, line.trim().as_bytes());
        let shown = server.pctl_ok(&["users", "keys", "ls", "alice"]);
        assert!(shown.contains(&answer.id), "{shown}");

        let key_file = write_file(dir, "extra.pub", &line);
        let added = server.pctl(&[
            "users",
            "keys",
            "add",
            "alice",
            s(&key_file),
            "--id",
            "laptop",
        ]);
        assert!(
            added.status.success(),
            "{}",
            String::from_utf8_lossy(&added.stderr)
        );
        assert!(String::from_utf8_lossy(&added.stdout).contains("-cert-v01@openssh.com"));
        server.pctl_ok(&["users", "keys", "rm", "alice", "laptop"]);

        let delete = DeleteUserKeyRequest {
            user: "alice".into(),
            id: answer.id.clone(),
        };
        alice.rpc().delete_user_key(delete.clone()).await.unwrap();
        let again = alice.rpc().delete_user_key(delete).await.unwrap_err();
        assert_eq!(again.code(), Code::NotFound);
        let listed = keys_of(&alice, "alice").await;
        assert!(listed.is_empty());
    });
}
