//! Self-test of the OpenSSH harness (`portcullis_tests::openssh`), independent of Portcullis:
//! CAs and certificates come from `ssh-keygen`, and a throwaway sshd on loopback must accept
//! exactly the certificates OpenSSH should accept.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use portcullis_tests::openssh::{
    cert_authority_line, generate_ed25519_key, ssh_keygen_list, ssh_run, write_private_key,
    CertListing, KnownHosts, Sshd, SshdOptions,
};
use portcullis_tests::run_ok;
use tempfile::TempDir;

/// Key pairs, certificates and CAs made with `ssh-keygen` in one temporary directory.
struct Pki {
    dir: TempDir,
}

impl Pki {
    fn new() -> Pki {
        Pki {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A new Ed25519 key pair `name` / `name.pub`; returns the public key line.
    fn key(&self, name: &str) -> String {
        generate_ed25519_key(&self.path(name), name)
    }

    /// Signs `key`'s public key with CA `ca` (`ssh-keygen -s`), in UTC; returns the
    /// certificate's path. The certificate is written as `<key>.cert` (not `<key>-cert.pub`,
    /// which ssh would load on its own next to the identity).
    fn sign(&self, ca: &str, key: &str, args: &[&str]) -> PathBuf {
        let cert = self.path(&format!("{key}.cert"));
        let input = self.path(&format!("{key}.signing.pub"));
        std::fs::copy(self.path(&format!("{key}.pub")), &input).unwrap();
        run_ok(
            Command::new("ssh-keygen")
                .env("TZ", "UTC")
                .arg("-q")
                .arg("-s")
                .arg(self.path(ca))
                .args(args)
                .arg(&input),
        );
        std::fs::rename(self.path(&format!("{key}.signing-cert.pub")), &cert).unwrap();
        cert
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }
}

/// The usual setup: a user CA, a host CA, an sshd trusting the user CA for user certificates
/// and presenting a host certificate for `host_principals`.
struct Setup {
    pki: Pki,
    user_ca_pub: String,
    host_ca_pub: String,
    sshd: Sshd,
}

fn setup(host_principals: &str) -> Setup {
    let pki = Pki::new();
    let user_ca_pub = pki.key("user_ca");
    let host_ca_pub = pki.key("host_ca");
    pki.key("host");
    let host_cert = pki.sign(
        "host_ca",
        "host",
        &["-h", "-I", "host", "-n", host_principals],
    );
    let sshd = Sshd::start(SshdOptions {
        trusted_user_ca_keys: user_ca_pub.clone(),
        host_key: Some((
            pki.read("host"),
            std::fs::read_to_string(host_cert).unwrap(),
        )),
        ..Default::default()
    });
    Setup {
        pki,
        user_ca_pub,
        host_ca_pub,
        sshd,
    }
}

impl Setup {
    /// `ssh ... root@127.0.0.1 echo ok` with identity `key` and its certificate.
    fn login(&self, key: &str, cert: &Path, known_hosts: KnownHosts) -> Output {
        ssh_run(
            self.sshd.port(),
            "root",
            &self.pki.path(key),
            Some(cert),
            known_hosts,
            "echo ok",
        )
    }

    fn trust_host_ca(&self) -> KnownHosts {
        KnownHosts::Strict(cert_authority_line("*", &self.host_ca_pub))
    }
}

fn assert_logged_in(out: &Output, sshd: &Sshd) {
    assert!(
        // Line by line: the target user's shell rc files may print too.
        out.status.success()
            && String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l == "ok"),
        "login failed ({}): stdout {:?}, stderr {:?}\nsshd log:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        sshd.log()
    );
}

fn assert_refused(out: &Output, sshd: &Sshd, stderr_needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(255),
        "ssh should fail: stdout {:?}, stderr {stderr:?}\nsshd log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        sshd.log()
    );
    assert!(out.stdout.is_empty(), "no command ran");
    assert!(
        stderr.contains(stderr_needle),
        "expected {stderr_needle:?} in ssh's stderr: {stderr}"
    );
    assert!(
        !sshd.log().contains("Accepted publickey"),
        "sshd accepted a login:\n{}",
        sshd.log()
    );
}

#[test]
fn user_cert_logs_in_with_strict_host_ca_and_no_prompt() {
    let s = setup("127.0.0.1");
    s.pki.key("alice");
    let cert = s.pki.sign(
        "user_ca",
        "alice",
        &["-I", "alice", "-n", "root", "-V", "+1h"],
    );

    let out = s.login("alice", &cert, s.trust_host_ca());
    assert_logged_in(&out, &s.sshd);
    assert!(
        out.stderr.is_empty(),
        "no prompt or warning: {:?}",
        out.stderr
    );
    assert!(
        s.sshd
            .wait_for_log("Accepted publickey for root", Duration::from_secs(5)),
        "{}",
        s.sshd.log()
    );
    assert!(
        s.sshd.log().contains("ID alice (serial 0)"),
        "{}",
        s.sshd.log()
    );

    // The listings of both certificates.
    let user = CertListing::parse(&ssh_keygen_list(&cert));
    assert_eq!(user.kind, "user");
    assert_eq!(user.cert_type, "ssh-ed25519-cert-v01@openssh.com");
    assert_eq!(user.key_id, "alice");
    assert_eq!(user.serial, 0);
    assert_eq!(user.principals, ["root"]);
    assert!(
        user.valid.starts_with("from ") && user.valid.contains(" to "),
        "{user:?}"
    );
    assert!(user.critical_options.is_empty(), "{user:?}");
    assert!(
        user.extensions.iter().any(|e| e == "permit-pty"),
        "{user:?}"
    );
    assert!(user.signing_ca.starts_with("ED25519 SHA256:"), "{user:?}");
    let host = CertListing::parse(&ssh_keygen_list(&s.pki.path("host.cert")));
    assert_eq!(host.kind, "host");
    assert_eq!(host.key_id, "host");
    assert_eq!(host.principals, ["127.0.0.1"]);
    assert_eq!(host.valid, "forever");
    assert!(host.extensions.is_empty(), "{host:?}");
    assert!(s.user_ca_pub.starts_with("ssh-ed25519 "));
}

#[test]
fn cert_from_a_foreign_ca_is_refused() {
    let s = setup("127.0.0.1");
    s.pki.key("foreign_ca");
    s.pki.key("mallory");
    let cert = s.pki.sign(
        "foreign_ca",
        "mallory",
        &["-I", "alice", "-n", "root", "-V", "+1h"],
    );
    let out = s.login("mallory", &cert, s.trust_host_ca());
    assert_refused(&out, &s.sshd, "Permission denied");
}

#[test]
fn expired_cert_is_refused() {
    let s = setup("127.0.0.1");
    s.pki.key("old");
    let cert = s.pki.sign(
        "user_ca",
        "old",
        &["-I", "alice", "-n", "root", "-V", "20000101:20000102"],
    );
    let listing = CertListing::parse(&ssh_keygen_list(&cert));
    assert_eq!(
        listing.valid,
        "from 2000-01-01T00:00:00 to 2000-01-02T00:00:00"
    );
    let out = s.login("old", &cert, s.trust_host_ca());
    assert_refused(&out, &s.sshd, "Permission denied");
    assert!(
        s.sshd
            .wait_for_log("Certificate invalid: expired", Duration::from_secs(5)),
        "sshd says why:\n{}",
        s.sshd.log()
    );
}

#[test]
fn strict_known_hosts_with_a_foreign_host_ca_fails_host_verification() {
    let s = setup("127.0.0.1");
    let other_ca = s.pki.key("other_host_ca");
    s.pki.key("alice");
    let cert = s
        .pki
        .sign("user_ca", "alice", &["-I", "alice", "-n", "root"]);
    let out = s.login(
        "alice",
        &cert,
        KnownHosts::Strict(cert_authority_line("*", &other_ca)),
    );
    assert_refused(&out, &s.sshd, "Host key verification failed");
    // The same client with the right host CA gets in.
    assert_logged_in(&s.login("alice", &cert, s.trust_host_ca()), &s.sshd);
}

#[test]
fn host_cert_principals_must_name_the_host_or_its_alias() {
    let s = setup("sshd.test");
    s.pki.key("alice");
    let cert = s
        .pki
        .sign("user_ca", "alice", &["-I", "alice", "-n", "root"]);
    // The client checks the name it connects to, 127.0.0.1, which the certificate lacks.
    let out = s.login("alice", &cert, s.trust_host_ca());
    assert_refused(&out, &s.sshd, "Host key verification failed");
    // With HostKeyAlias the alias is looked up in known_hosts and checked against principals.
    let alias = |pattern: &str, alias: &str| KnownHosts::StrictWithAlias {
        known_hosts: cert_authority_line(pattern, &s.host_ca_pub),
        alias: alias.into(),
    };
    assert_logged_in(
        &s.login("alice", &cert, alias("sshd.test", "sshd.test")),
        &s.sshd,
    );
    let out = s.login("alice", &cert, alias("*", "other.test"));
    assert_eq!(out.status.code(), Some(255));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Host key verification failed"),
        "{out:?}"
    );
}

#[test]
fn authorized_keys_cert_authority_and_authorized_principals() {
    let pki = Pki::new();
    let user_ca = pki.key("user_ca");
    pki.key("bob");
    let bob = pki.sign("user_ca", "bob", &["-I", "bob", "-n", "bob,ops"]);
    let login = |sshd: &Sshd| {
        ssh_run(
            sshd.port(),
            "root",
            &pki.path("bob"),
            Some(&bob),
            KnownHosts::AcceptNew,
            "echo ok",
        )
    };

    // TrustedUserCAKeys alone: no principal is `root`, so no login as root.
    let sshd = Sshd::start(SshdOptions {
        trusted_user_ca_keys: user_ca.clone(),
        ..Default::default()
    });
    assert_refused(&login(&sshd), &sshd, "Permission denied");
    drop(sshd);

    // ... unless the principals file lists one of them.
    let sshd = Sshd::start(SshdOptions {
        trusted_user_ca_keys: user_ca.clone(),
        authorized_principals: Some("ops\n".into()),
        ..Default::default()
    });
    assert_logged_in(&login(&sshd), &sshd);
    drop(sshd);

    // authorized_keys takes `cert-authority` lines, optionally with the principals allowed.
    let sshd = Sshd::start(SshdOptions {
        authorized_keys: Some(format!("cert-authority,principals=\"ops\" {user_ca}")),
        ..Default::default()
    });
    assert_logged_in(&login(&sshd), &sshd);
    drop(sshd);
    let sshd = Sshd::start(SshdOptions {
        authorized_keys: Some(format!("cert-authority,principals=\"dba\" {user_ca}")),
        ..Default::default()
    });
    assert_refused(&login(&sshd), &sshd, "Permission denied");
}

#[test]
fn generated_host_key_with_accept_new_or_a_plain_known_hosts_line() {
    let pki = Pki::new();
    let user_key = pki.key("carol");
    let sshd = Sshd::start(SshdOptions {
        authorized_keys: Some(user_key),
        ..Default::default()
    });
    assert!(sshd.host_public_key().starts_with("ssh-ed25519 "));
    assert!(sshd.dir().join("sshd_config").is_file());
    let run = |known_hosts| {
        ssh_run(
            sshd.port(),
            "root",
            &pki.path("carol"),
            None,
            known_hosts,
            "echo ok",
        )
    };
    assert_logged_in(&run(KnownHosts::AcceptNew), &sshd);
    let line = format!("[127.0.0.1]:{} {}", sshd.port(), sshd.host_public_key());
    assert_logged_in(&run(KnownHosts::Strict(line)), &sshd);
    let wrong = format!("[127.0.0.1]:{} {}", sshd.port(), pki.key("not_the_host"));
    let out = run(KnownHosts::Strict(wrong));
    assert_eq!(out.status.code(), Some(255), "{out:?}");
}

#[test]
fn private_keys_are_written_0600_and_listings_show_critical_options() {
    let pki = Pki::new();
    pki.key("ca");
    pki.key("dave");
    let copy = pki.path("dave_copy");
    std::fs::write(&copy, "old").unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o644)).unwrap();
    write_private_key(&copy, pki.read("dave").trim_end());
    let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), pki.read("dave"));

    let cert = pki.sign(
        "ca",
        "dave",
        &[
            "-I",
            "key \"id\"",
            "-z",
            "42",
            "-O",
            "clear",
            "-O",
            "force-command=/bin/true",
            "-O",
            "permit-pty",
        ],
    );
    let listing = CertListing::parse(&ssh_keygen_list(&cert));
    assert_eq!(listing.key_id, "key \"id\"");
    assert_eq!(listing.serial, 42);
    assert!(listing.principals.is_empty(), "{listing:?}");
    assert_eq!(listing.critical_options, ["force-command /bin/true"]);
    assert_eq!(listing.extensions, ["permit-pty"]);
}
