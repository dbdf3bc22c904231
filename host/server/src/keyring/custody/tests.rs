//! Tests of the token custody against real SoftHSM2 tokens (one per test, made by the real
//! `softhsm2-util`; see `portcullis_hsm::softhsm::for_tests`), checked with the real
//! `openssl` and `ssh-keygen`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use portcullis_api::services::CaKeySet;
use portcullis_ca::{AppTokenClaims, Identity, Phase, UserCertRequest};
use portcullis_hsm::softhsm;
use prost::Message;

use super::*;
use crate::config::{KeyBackend, Pkcs11Keys};
use crate::keyring::{keys, rotate, Algorithms, KeyRing, Settings, HOST_CA, JWT_CA, USER_CA};
use crate::resources::Collection;

/// The tokens of this test binary, one per test.
const TOKENS: [&str; 4] = [
    "custody-keys",
    "custody-ring",
    "custody-pin",
    "custody-ecdsa",
];

const HOUR: Duration = Duration::from_secs(3600);

/// The pkcs11 backend on token `label`, its PIN in a 0600 file under `dir`.
fn backend(dir: &Path, label: &str) -> KeyBackend {
    let hsm = softhsm::for_tests(&TOKENS).unwrap();
    let pin_file = dir.join(format!("{label}.pin"));
    std::fs::write(&pin_file, format!("{}\n", softhsm::test_pin(label))).unwrap();
    std::fs::set_permissions(&pin_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    KeyBackend::Pkcs11(Pkcs11Keys {
        module: hsm.module.clone(),
        token_label: label.into(),
        pin_file,
    })
}

/// Fails if any private key encoding appears in `bytes`.
fn assert_no_private_key(bytes: &[u8], what: &str) {
    let text = String::from_utf8_lossy(bytes);
    for marker in ["PRIVATE KEY", "openssh-key-v1"] {
        assert!(!text.contains(marker), "{what} holds `{marker}`: {text}");
    }
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?}: {text}");
    text
}

/// `openssl verify` of a client certificate against the CA certificate.
fn openssl_verify(dir: &Path, ca_pem: &str, cert_pem: &str) {
    let ca = dir.join("ca.pem");
    let cert = dir.join("cert.pem");
    std::fs::write(&ca, ca_pem).unwrap();
    std::fs::write(&cert, cert_pem).unwrap();
    let out = run(Command::new("openssl")
        .args(["verify", "-purpose", "sslclient", "-CAfile"])
        .arg(&ca)
        .arg(&cert));
    assert!(out.contains(": OK"), "{out}");
}

/// Signs an SSH user certificate and has `ssh-keygen -L` read it; returns its signing CA line.
fn ssh_cert_checked(dir: &Path, ssh: &portcullis_ca::SshAuthority) -> String {
    let key = dir.join("id");
    let _ = std::fs::remove_file(&key);
    let _ = std::fs::remove_file(key.with_extension("pub"));
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key));
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let cert = ssh
        .sign_user_cert(
            &UserCertRequest {
                public_key: public,
                key_id: "alice".into(),
                principals: vec!["alice".into()],
                ttl: HOUR,
                ..Default::default()
            },
            SystemTime::now(),
        )
        .unwrap();
    let path = dir.join("id-cert.pub");
    std::fs::write(&path, &cert).unwrap();
    let listing = run(Command::new("ssh-keygen").arg("-L").arg("-f").arg(&path));
    let ca_fp = ssh.fingerprint();
    let signed_by = listing
        .lines()
        .find(|l| l.trim_start().starts_with("Signing CA:"))
        .unwrap_or_default();
    assert!(signed_by.contains(&ca_fp), "{listing} lacks the CA {ca_fp}");
    listing
}

#[test]
fn generated_key_sets_hold_handles_and_sign_through_the_token() {
    let tmp = tempfile::tempdir().unwrap();
    let custody = Custody::open(&backend(tmp.path(), "custody-keys")).unwrap();
    let now = SystemTime::now();
    let algorithms = Algorithms::default();
    let user = keys::generate(USER_CA, "example", algorithms, &custody, now).unwrap();
    let jwt = keys::generate(JWT_CA, "example", algorithms, &custody, now).unwrap();
    for set in [&user, &jwt] {
        assert_no_private_key(&set.encode_to_vec(), "a generated key set");
    }
    let tls_pair = &user.tls[0];
    assert_eq!(tls_pair.key_type, PrivateKeyType::Pkcs11 as i32);
    assert!(text(&tls_pair.key).starts_with("pkcs11:token=custody-keys;id=%"));
    assert_eq!(user.ssh[0].private_key_type, PrivateKeyType::Pkcs11 as i32);
    assert_eq!(jwt.jwt[0].private_key_type, PrivateKeyType::Pkcs11 as i32);

    // The signers as the key ring loads them.
    let tls = keys::tls_signer(USER_CA, &user, &custody).unwrap();
    let issued = tls
        .issue_client_cert(&Identity::new("alice", vec!["dev".into()]), None, now, HOUR)
        .unwrap();
    openssl_verify(tmp.path(), tls.cert_pem(), &issued.cert_pem);
    let ssh = keys::ssh_signer(USER_CA, &user, &custody).unwrap();
    assert!(ssh.is_external());
    assert!(ssh
        .public_key_openssh()
        .unwrap()
        .starts_with("ssh-ed25519 "));
    ssh_cert_checked(tmp.path(), &ssh);
    let signer = keys::jwt_signer(&jwt, &custody).unwrap();
    let claims = AppTokenClaims {
        username: "alice".into(),
        uri: "https://app.example".into(),
        ..Default::default()
    };
    let token = signer.sign_app_token(&claims, now, HOUR).unwrap();
    let public = text(&jwt.jwt[0].public_key);
    assert_eq!(
        portcullis_ca::verify_app_token(&token, &public, now).unwrap(),
        claims
    );

    // Without the token, the handles are refused clearly.
    let err = keys::tls_signer(USER_CA, &user, &Custody::Store).unwrap_err();
    assert!(
        err.to_string()
            .contains("is in a PKCS#11 token (`pkcs11:token=custody-keys;id="),
        "{err}"
    );
}

#[test]
fn ecdsa_ssh_authorities_live_in_the_token_too() {
    let tmp = tempfile::tempdir().unwrap();
    let custody = Custody::open(&backend(tmp.path(), "custody-ecdsa")).unwrap();
    let algorithms = Algorithms {
        ssh: portcullis_ca::SshAlgorithm::EcdsaP256,
        ..Default::default()
    };
    let host = keys::generate(HOST_CA, "example", algorithms, &custody, SystemTime::now()).unwrap();
    assert_no_private_key(&host.encode_to_vec(), "a generated key set");
    let ssh = keys::ssh_signer(HOST_CA, &host, &custody).unwrap();
    assert!(ssh
        .public_key_openssh()
        .unwrap()
        .starts_with("ecdsa-sha2-nistp256 "));
    ssh_cert_checked(tmp.path(), &ssh);
}

fn stored_sets(ca: &portcullis_api::services::CertAuthorityV2) -> Vec<CaKeySet> {
    let spec = ca.spec.clone().unwrap_or_default();
    spec.active_keys
        .into_iter()
        .chain(spec.additional_trusted_keys)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_ring_on_the_token_rotates_and_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let keys_backend = backend(tmp.path(), "custody-ring");
    let store: Arc<dyn portcullis_store::Backend> =
        Arc::new(portcullis_store::MemoryBackend::new());
    let authorities = Collection::new(store.clone());
    let settings = |custody: Custody| Settings {
        data_dir: tmp.path().to_owned(),
        dns_names: vec!["localhost".into()],
        ips: vec![],
        algorithms: Algorithms::default(),
        custody,
    };
    let ring = KeyRing::new(
        "example".into(),
        settings(Custody::open(&keys_backend).unwrap()),
    );
    ring.ensure_and_load(&authorities).await.unwrap();
    let alice = Identity::new("alice", vec!["dev".into()]);
    let sign_and_check = |ring: &KeyRing| {
        let snapshot = ring.current().unwrap();
        let issued = snapshot
            .user
            .tls
            .issue_client_cert(&alice, None, SystemTime::now(), HOUR)
            .unwrap();
        openssl_verify(tmp.path(), snapshot.user.tls.cert_pem(), &issued.cert_pem);
        ssh_cert_checked(tmp.path(), &snapshot.user.ssh);
        snapshot.user.tls.key_id()
    };
    let first = sign_and_check(&ring);

    for phase in ["init", "update_clients", "update_servers", "standby"] {
        let request = rotate::parse_request("manual", phase, 0, None).unwrap();
        rotate::rotate(&ring, &authorities, USER_CA, &request, SystemTime::now())
            .await
            .unwrap();
        sign_and_check(&ring);
        for ca_type in [USER_CA, HOST_CA, JWT_CA] {
            let key = crate::resources::kinds::ca_key(ca_type, "example");
            for set in stored_sets(&authorities.get(&key).await.unwrap()) {
                assert_no_private_key(&set.encode_to_vec(), "a stored authority");
            }
        }
    }
    let snapshot = ring.current().unwrap();
    assert_eq!(snapshot.user.rotation.phase, Phase::Standby);
    let rotated = sign_and_check(&ring);
    assert_ne!(
        first, rotated,
        "the rotation replaced the user authority's key"
    );
    // The server's own certificate was signed through the token as well.
    let server_cert = ring
        .server_cert
        .lock()
        .unwrap()
        .as_ref()
        .unwrap()
        .cert_pem
        .clone();
    openssl_verify(
        tmp.path(),
        snapshot.host.server_signer().cert_pem(),
        &server_cert,
    );
    drop((snapshot, ring));

    // A restart: the token is opened again and the stored handles find the keys.
    let ring = KeyRing::new(
        "example".into(),
        settings(Custody::open(&keys_backend).unwrap()),
    );
    ring.ensure_and_load(&authorities).await.unwrap();
    assert_eq!(sign_and_check(&ring), rotated);
}

#[test]
fn an_open_pin_file_and_a_wrong_pin_are_refused_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let KeyBackend::Pkcs11(mut settings) = backend(tmp.path(), "custody-pin") else {
        panic!("pkcs11 expected");
    };
    std::fs::set_permissions(&settings.pin_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = Custody::open(&KeyBackend::Pkcs11(settings.clone())).unwrap_err();
    assert!(err.to_string().contains("PIN file"), "{err}");
    assert!(err.to_string().contains("chmod 600"), "{err}");

    std::fs::write(&settings.pin_file, "not-the-pin\n").unwrap();
    std::fs::set_permissions(&settings.pin_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = Custody::open(&KeyBackend::Pkcs11(settings.clone())).unwrap_err();
    assert!(
        err.to_string()
            .contains("the PKCS#11 token `custody-pin` refused the PIN"),
        "{err}"
    );
    settings.token_label = "absent".into();
    let err = Custody::open(&KeyBackend::Pkcs11(settings)).unwrap_err();
    assert!(
        err.to_string()
            .contains("no PKCS#11 token labelled `absent`"),
        "{err}"
    );
}
