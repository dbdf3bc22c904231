//! End-to-end: the authorities' private keys at rest in a PKCS#11 token (`keys.backend:
//! pkcs11`, SoftHSM2 made per test with the real `softhsm2-util`). The real binary issues
//! certificates through the token — checked by the real `openssl verify` and `ssh-keygen` —
//! rotates, restarts, and leaves no private key in its store; the same scan of a store with
//! the default backend finds the keys, so the scan would see them if they were there.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use portcullis_hsm::softhsm::SoftHsm;
use portcullis_tests::{err, run_ok, s, write_file, Server, ALICE_YAML};

/// The token's label and user PIN.
const LABEL: &str = "portcullis";
const PIN: &str = "e2e-user-pin";

/// What marks a private key in PEM (PKCS#8 `PRIVATE KEY`, `EC PRIVATE KEY`, `OPENSSH PRIVATE
/// KEY`) and, in DER, the start of a PKCS#8 `PrivateKeyInfo` of Ed25519 (version 0 and the
/// id-Ed25519 algorithm) and of an EC key (version 0 and id-ecPublicKey).
const MARKERS: [&[u8]; 3] = [
    b"PRIVATE KEY",
    &[
        0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04,
    ],
    &[
        0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    ],
];

/// A SoftHSM2 configuration under `dir/hsm` with one token, and the 0600 PIN file.
fn softhsm(dir: &Path) -> (SoftHsm, PathBuf) {
    let hsm = SoftHsm::create(&dir.join("hsm")).unwrap();
    hsm.init_token(LABEL, PIN).unwrap();
    let pin_file = write_file(dir, "token.pin", &format!("{PIN}\n"));
    std::fs::set_permissions(&pin_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    (hsm, pin_file)
}

fn keys_config(hsm: &SoftHsm, label: &str, pin_file: &Path) -> String {
    format!(
        "keys:\n  backend: pkcs11\n  module: {}\n  token_label: {label}\n  pin_file: {}\n",
        hsm.module.display(),
        pin_file.display()
    )
}

/// Starts (or restarts) the server of `dir` on the token: data in `dir/data`, its
/// configuration in `dir/config.yaml`.
fn start(dir: &Path, hsm: &SoftHsm, pin_file: &Path) -> Server {
    let config = write_file(dir, "config.yaml", &keys_config(hsm, LABEL, pin_file));
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    Server::start_env(
        &dir.join("data"),
        &["--config", s(&config)],
        &[("SOFTHSM2_CONF", &hsm.conf)],
    )
}

/// Signs alice's TLS identity at `dir/NAME.*` and verifies it with `openssl verify` against
/// the exported user CA certificates.
fn tls_verified(server: &Server, dir: &Path, name: &str) {
    let prefix = dir.join(name);
    server.pctl_ok(&[
        "auth",
        "sign",
        "--user",
        "alice",
        "--format",
        "tls",
        "--overwrite",
        "--out",
        s(&prefix),
    ]);
    let cas = write_file(
        dir,
        "user-cas.pem",
        &server.pctl_ok(&["auth", "export", "--type", "tls-user"]),
    );
    let crt = format!("{}.crt", prefix.display());
    let out = run_ok(Command::new("openssl").args([
        "verify",
        "-purpose",
        "sslclient",
        "-CAfile",
        s(&cas),
        &crt,
    ]));
    assert!(out.contains(": OK"), "{out}");
}

/// The SHA-256 fingerprint `ssh-keygen -l` gives an OpenSSH public key line.
fn ssh_fingerprint(dir: &Path, line: &str) -> String {
    let path = write_file(dir, "ca.pub", line);
    let out = run_ok(Command::new("ssh-keygen").args(["-l", "-E", "sha256", "-f", s(&path)]));
    out.split_whitespace().nth(1).unwrap().to_owned()
}

/// Signs alice's SSH certificate and checks with `ssh-keygen -L` that the active user CA
/// key (the first `pctl auth export --type user` line) signed it; returns its fingerprint.
fn ssh_verified(server: &Server, dir: &Path, name: &str) -> String {
    let prefix = dir.join(name);
    server.pctl_ok(&[
        "auth",
        "sign",
        "--user",
        "alice",
        "--format",
        "openssh",
        "--overwrite",
        "--out",
        s(&prefix),
    ]);
    let exported = server.pctl_ok(&["auth", "export", "--type", "user"]);
    let active = exported
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("cert-authority ");
    let fingerprint = ssh_fingerprint(dir, active);
    let listing = run_ok(Command::new("ssh-keygen").args([
        "-L",
        "-f",
        &format!("{}-cert.pub", prefix.display()),
    ]));
    assert!(
        listing.contains(&format!("Signing CA: ED25519 {fingerprint}")),
        "{listing}\nexpected the CA {fingerprint}"
    );
    fingerprint
}

/// Every file under `dir` holding a private-key marker.
fn files_with_private_keys(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        for marker in MARKERS {
            if bytes.windows(marker.len()).any(|w| w == marker) {
                found.push(format!("{} ({marker:02x?})", path.display()));
            }
        }
    }
    found
}

fn rotate(server: &Server, phase: &str) {
    server.pctl_ok(&[
        "auth", "rotate", "--type", "user", "--manual", "--phase", phase,
    ]);
}

#[test]
fn a_token_signs_rotates_restarts_and_keeps_private_keys_out_of_the_store() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (hsm, pin_file) = softhsm(dir);
    let server = start(dir, &hsm, &pin_file);
    server.pctl_ok(&[
        "create",
        "-f",
        s(&write_file(dir, "alice.yaml", ALICE_YAML)),
    ]);
    assert!(
        server
            .log()
            .contains("authority keys are kept in a PKCS#11 token"),
        "{}",
        server.log()
    );

    tls_verified(&server, dir, "first");
    let first_ca = ssh_verified(&server, dir, "first");

    // A rotation of the user authority through its phases: new keys come from the token.
    for phase in ["init", "update_clients", "update_servers", "standby"] {
        rotate(&server, phase);
        tls_verified(&server, dir, phase);
        ssh_verified(&server, dir, phase);
    }
    let rotated_ca = ssh_verified(&server, dir, "rotated");
    assert_ne!(
        first_ca, rotated_ca,
        "the rotation replaced the user CA key"
    );

    // A restart opens the token again and finds the keys by their stored handles.
    server.stop();
    let server = start(dir, &hsm, &pin_file);
    tls_verified(&server, dir, "restarted");
    assert_eq!(ssh_verified(&server, dir, "restarted"), rotated_ca);
    server.stop();

    let on_token = files_with_private_keys(&dir.join("data").join("store"));
    assert!(
        on_token.is_empty(),
        "private keys in the store: {on_token:?}"
    );

    // The same scan of a store with the default backend finds its keys.
    let plain = tmp.path().join("plain");
    Server::start(&plain.join("data"), &[]).stop();
    let in_store = files_with_private_keys(&plain.join("data").join("store"));
    assert!(
        !in_store.is_empty(),
        "the scan finds the private keys a default store holds"
    );
}

#[test]
fn a_wrong_pin_or_label_stops_the_start_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (hsm, pin_file) = softhsm(dir);
    let start_fails = |name: &str, config: &str| {
        let config = write_file(dir, &format!("{name}.yaml"), config);
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
        err(Command::new(portcullis_tests::bin("portcullis"))
            .args(["start", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.join(name))
            .args(["--config", s(&config)])
            .env("SOFTHSM2_CONF", &hsm.conf)
            .output()
            .unwrap())
    };

    let wrong = write_file(dir, "wrong.pin", "not-the-pin\n");
    std::fs::set_permissions(&wrong, std::fs::Permissions::from_mode(0o600)).unwrap();
    let why = start_fails("wrong-pin", &keys_config(&hsm, LABEL, &wrong));
    assert!(
        why.contains("the PKCS#11 token `portcullis` refused the PIN"),
        "{why}"
    );

    let why = start_fails("no-token", &keys_config(&hsm, "elsewhere", &pin_file));
    assert!(
        why.contains("no PKCS#11 token labelled `elsewhere`") && why.contains("`portcullis`"),
        "{why}"
    );

    std::fs::set_permissions(&pin_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let why = start_fails("open-pin", &keys_config(&hsm, LABEL, &pin_file));
    assert!(
        why.contains("PIN file") && why.contains("chmod 600"),
        "{why}"
    );
    std::fs::set_permissions(&pin_file, std::fs::Permissions::from_mode(0o600)).unwrap();

    let rsa = format!(
        "{}ca:\n  ssh_algorithm: rsa3072\n",
        keys_config(&hsm, LABEL, &pin_file)
    );
    let why = start_fails("rsa", &rsa);
    assert!(
        why.contains("rsa3072 SSH keys are not supported with `keys.backend: pkcs11`"),
        "{why}"
    );
}
