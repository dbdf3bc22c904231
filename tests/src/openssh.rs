//! Real OpenSSH interoperability: a throwaway `sshd` on loopback, the real `ssh` client, and
//! `ssh-keygen -L` listings.
//!
//! End-to-end tests use this to check that certificates issued by Portcullis are accepted (and
//! refused) by unmodified OpenSSH. Everything runs on `127.0.0.1`; each [`Sshd`] gets its own
//! ephemeral port and temporary directory (config, host key, pid file, log) and is killed when
//! dropped. The tests never rely on a system-wide sshd or on the system's `/etc/ssh` files.
//!
//! Requirements: `openssh-server` and `openssh-client` installed (`scripts/setup` does it), the
//! privilege separation user `sshd` (created by the package) and the privilege separation
//! directory `/run/sshd` ([`Sshd::start`] creates it when missing, which needs root). Logging
//! in as `root` needs the tests to run as root (sshd cannot switch users otherwise) and root's
//! password field must not be locked with `!` (with `UsePAM no`, sshd refuses locked accounts;
//! `*`, as in Debian images, is fine).

use std::fmt::Write as _;
use std::io::{Read, Write as _};
use std::net::TcpListener;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long [`Sshd::start`] waits for sshd to listen before giving up.
pub const SSHD_START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`ssh_run`] lets one `ssh` invocation run before killing it and panicking.
pub const SSH_RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// The privilege separation directory sshd insists on.
const PRIVSEP_DIR: &str = "/run/sshd";

/// What a test [`Sshd`] trusts and presents. `Default` gives an sshd with a generated host key
/// that trusts nobody.
#[derive(Clone, Debug, Default)]
pub struct SshdOptions {
    /// Contents of the `TrustedUserCAKeys` file: plain public keys, one per line (e.g.
    /// `ssh-ed25519 AAAA... comment`), *without* a `cert-authority` marker. Empty: the
    /// directive is left out. A user certificate signed by one of these keys is accepted when
    /// one of its principals is the target user name, or, with `authorized_principals`, is
    /// listed there.
    pub trusted_user_ca_keys: String,
    /// Contents of the `AuthorizedKeysFile` used for every user (the target user, e.g. root):
    /// plain keys and/or `cert-authority[,principals="..."] ssh-ed25519 AAAA...` lines.
    /// `None`: `AuthorizedKeysFile none`, so nobody's `~/.ssh/authorized_keys` is consulted.
    pub authorized_keys: Option<String>,
    /// Contents of the `AuthorizedPrincipalsFile` (one principal a line) that applies to
    /// certificates trusted through `trusted_user_ca_keys`: a certificate is then accepted
    /// when one of its principals is listed here, instead of when one equals the user name.
    /// `None`: the directive is left out.
    pub authorized_principals: Option<String>,
    /// `(private key in OpenSSH format, host certificate line)` for `HostKey` and
    /// `HostCertificate`. An empty certificate string presents the bare key. `None`: sshd
    /// presents a fresh Ed25519 key generated with `ssh-keygen`, without a certificate.
    pub host_key: Option<(String, String)>,
    /// Extra `sshd_config` lines. They go *before* the harness's own settings, so (sshd
    /// keeping the first value it reads) they override them. No `Match` blocks.
    pub extra_config: String,
}

/// A running `sshd -D -e` on `127.0.0.1`, killed (with its temporary directory removed) on
/// drop.
pub struct Sshd {
    child: Child,
    port: u16,
    log_path: PathBuf,
    host_public_key: String,
    dir: TempDir,
}

impl Sshd {
    /// Starts sshd with `opts` on a free ephemeral loopback port and waits until it listens.
    ///
    /// Panics with sshd's log when the configuration is invalid, when sshd exits early or when
    /// it does not listen within [`SSHD_START_TIMEOUT`].
    pub fn start(opts: SshdOptions) -> Sshd {
        let sshd = sshd_path();
        let privsep_note = ensure_privsep_dir();
        let dir = tempfile::Builder::new()
            .prefix("portcullis-sshd-")
            .tempdir()
            .expect("sshd temp dir");
        let d = dir.path();

        let host_key = d.join("ssh_host_key");
        let host_public_key = match &opts.host_key {
            Some((private, cert)) => {
                write_private_key(&host_key, private);
                let public = run_checked(
                    Command::new("ssh-keygen")
                        .arg("-y")
                        .arg("-f")
                        .arg(&host_key),
                );
                if !cert.trim().is_empty() {
                    std::fs::write(d.join("ssh_host_key-cert.pub"), with_newline(cert)).unwrap();
                }
                public.trim().to_owned()
            }
            None => generate_ed25519_key(&host_key, "portcullis-test-sshd"),
        };

        let mut config = String::new();
        if !opts.extra_config.is_empty() {
            config.push_str(&with_newline(&opts.extra_config));
        }
        let _ = writeln!(config, "HostKey {}", host_key.display());
        if d.join("ssh_host_key-cert.pub").exists() {
            let _ = writeln!(
                config,
                "HostCertificate {}",
                d.join("ssh_host_key-cert.pub").display()
            );
        }
        if !opts.trusted_user_ca_keys.trim().is_empty() {
            let path = d.join("trusted_user_ca_keys");
            std::fs::write(&path, with_newline(&opts.trusted_user_ca_keys)).unwrap();
            let _ = writeln!(config, "TrustedUserCAKeys {}", path.display());
        }
        match &opts.authorized_keys {
            Some(keys) => {
                let path = d.join("authorized_keys");
                std::fs::write(&path, with_newline(keys)).unwrap();
                let _ = writeln!(config, "AuthorizedKeysFile {}", path.display());
            }
            None => config.push_str("AuthorizedKeysFile none\n"),
        }
        if let Some(principals) = &opts.authorized_principals {
            let path = d.join("authorized_principals");
            std::fs::write(&path, with_newline(principals)).unwrap();
            let _ = writeln!(config, "AuthorizedPrincipalsFile {}", path.display());
        }
        let _ = writeln!(config, "PidFile {}", d.join("sshd.pid").display());
        config.push_str(concat!(
            "ListenAddress 127.0.0.1\n",
            "PermitRootLogin yes\n",
            "PubkeyAuthentication yes\n",
            "PasswordAuthentication no\n",
            "KbdInteractiveAuthentication no\n",
            "HostbasedAuthentication no\n",
            "UsePAM no\n",
            "StrictModes no\n",
            "UseDNS no\n",
            "PrintMotd no\n",
            "PrintLastLog no\n",
            "X11Forwarding no\n",
            "LogLevel VERBOSE\n",
            "LoginGraceTime 30\n",
            "MaxStartups 64\n",
        ));

        let config_path = d.join("sshd_config");
        let log_path = d.join("sshd.log");
        // Another process may grab the port between our probe and sshd's bind: retry.
        for attempt in 1..=5 {
            let port = free_port();
            let mut full = config.clone();
            let _ = writeln!(full, "Port {port}");
            std::fs::write(&config_path, &full).unwrap();
            if attempt == 1 {
                // OpenSSH >= 9.8 would otherwise shut 127.0.0.1 out after a few refusals.
                let penalties = match PER_SOURCE_PENALTIES.get() {
                    Some(known) => *known,
                    None => sshd_test(&sshd, &config_path, &["-o", "PerSourcePenalties=no"])
                        .status
                        .success(),
                };
                if penalties {
                    config.push_str("PerSourcePenalties no\n");
                    full.push_str("PerSourcePenalties no\n");
                    std::fs::write(&config_path, &full).unwrap();
                }
                let check = sshd_test(&sshd, &config_path, &[]);
                assert!(
                    check.status.success(),
                    "sshd rejects its test configuration{privsep_note}:\n{}\n--- sshd_config ---\n{full}",
                    String::from_utf8_lossy(&check.stderr)
                );
                // The configuration is valid, so the probe above failed (if it did) only
                // because this sshd does not know the option.
                let _ = PER_SOURCE_PENALTIES.set(penalties);
            }

            let log = std::fs::File::create(&log_path).unwrap();
            let mut child = Command::new(&sshd)
                .args(["-D", "-e", "-f"])
                .arg(&config_path)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot spawn {}: {e}", sshd.display()));
            match wait_listening(&mut child, port, &log_path) {
                Ok(()) => {
                    return Sshd {
                        child,
                        port,
                        log_path,
                        host_public_key,
                        dir,
                    }
                }
                Err(status) => {
                    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    if log.contains("Address already in use") && attempt < 5 {
                        continue;
                    }
                    panic!("sshd exited ({status}) before listening{privsep_note}:\n{log}");
                }
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// The loopback port sshd listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Everything sshd logged so far (`LogLevel VERBOSE`: connections, accepted certificates
    /// with their key ID and CA, certificate refusals such as `Certificate invalid: expired`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Waits up to `timeout` for `needle` to appear in [`Sshd::log`]; returns whether it did.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log().contains(needle) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The public half of the host key sshd presents (`ssh-ed25519 AAAA...`), e.g. for a
    /// plain `[127.0.0.1]:PORT <key>` known_hosts line.
    pub fn host_public_key(&self) -> &str {
        &self.host_public_key
    }

    /// sshd's temporary directory (config `sshd_config`, host key, `sshd.log`, pid file).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Path of the `sshd` binary: sshd re-executes itself for every connection, so it must be an
/// absolute path. Panics when `openssh-server` is not installed.
pub fn sshd_path() -> PathBuf {
    let default = Path::new("/usr/sbin/sshd");
    if default.is_file() {
        return default.to_owned();
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("sshd"))
            .find(|p| p.is_file())
    });
    match found {
        Some(path) if path.is_absolute() => path,
        _ => panic!("sshd not found: install openssh-server (scripts/setup does)"),
    }
}

/// Creates the privilege separation directory when missing. Returns a note for panic messages
/// when that failed (e.g. not root).
fn ensure_privsep_dir() -> String {
    let dir = Path::new(PRIVSEP_DIR);
    if dir.is_dir() {
        return String::new();
    }
    let made = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)));
    match made {
        Ok(()) => String::new(),
        Err(e) => format!(" (could not create {PRIVSEP_DIR}: {e})"),
    }
}

/// Whether this sshd knows `PerSourcePenalties` (OpenSSH 9.8 and later), once known.
static PER_SOURCE_PENALTIES: OnceLock<bool> = OnceLock::new();

/// `sshd -t -f config EXTRA...`: checks a configuration (and the host keys it names).
fn sshd_test(sshd: &Path, config: &Path, extra: &[&str]) -> Output {
    Command::new(sshd)
        .arg("-t")
        .arg("-f")
        .arg(config)
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", sshd.display()))
}

/// Waits until sshd logs that it listens on `port`. `Err` when it exited first; kills it and
/// panics with its log on timeout.
fn wait_listening(child: &mut Child, port: u16, log_path: &Path) -> Result<(), ExitStatus> {
    let needle = format!("Server listening on 127.0.0.1 port {port}.");
    let deadline = Instant::now() + SSHD_START_TIMEOUT;
    loop {
        let log = std::fs::read_to_string(log_path).unwrap_or_default();
        if log.contains(&needle) {
            return Ok(());
        }
        if let Some(status) = child.try_wait().unwrap() {
            return Err(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("sshd did not listen on 127.0.0.1:{port} within {SSHD_START_TIMEOUT:?}:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A loopback port that was free a moment ago and that no other caller in this test process
/// has been given: the kernel may hand the same ephemeral port to two probes in a row once the
/// first probe's listener is closed, and two etcd members given one port refuse to start.
pub(crate) fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("probe a free loopback port")
            .port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

fn with_newline(text: &str) -> String {
    if text.ends_with('\n') {
        text.to_owned()
    } else {
        format!("{text}\n")
    }
}

/// Runs a command, panicking with its stderr unless it succeeds; returns stdout.
fn run_checked(cmd: &mut Command) -> String {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes a private key file with mode 0600 (ssh and sshd refuse keys others can read),
/// adding a final newline when missing. Replaces an existing file.
pub fn write_private_key(path: &Path, contents: &str) {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    // `mode` only applies to new files.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .unwrap();
    file.write_all(with_newline(contents).as_bytes()).unwrap();
}

/// Generates an unencrypted Ed25519 key pair with `ssh-keygen` at `path` (private, mode 0600)
/// and `path.pub`; returns the public key line. `path` must not exist yet.
pub fn generate_ed25519_key(path: &Path, comment: &str) -> String {
    run_checked(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
            .arg(path),
    );
    let mut public_path = path.as_os_str().to_owned();
    public_path.push(".pub");
    let public = std::fs::read_to_string(&public_path).unwrap();
    public.trim().to_owned()
}

/// A known_hosts line trusting `ca_public_key` for host certificates of hosts matching
/// `host_pattern`: `@cert-authority PATTERN KEY`.
pub fn cert_authority_line(host_pattern: &str, ca_public_key: &str) -> String {
    format!("@cert-authority {host_pattern} {}", ca_public_key.trim())
}

/// How [`ssh_run`] checks the server's host key.
///
/// The client connects to `127.0.0.1` on a non-default port, so it looks the host up in
/// known_hosts as `[127.0.0.1]:PORT`, and a host *certificate* must list the principal
/// `127.0.0.1` (the port plays no part there). With `@cert-authority *` any name matches the
/// pattern, but the principal rule still holds. With a host key alias, both the known_hosts
/// lookup and the certificate's principals use the alias instead.
#[derive(Clone, Debug)]
pub enum KnownHosts {
    /// `StrictHostKeyChecking=no` with known_hosts `/dev/null`: any host key is accepted and
    /// nothing is remembered.
    AcceptNew,
    /// `StrictHostKeyChecking=yes` with these known_hosts contents (e.g. a
    /// [`cert_authority_line`]); a host key they do not vouch for fails the connection with
    /// `Host key verification failed.`
    Strict(String),
    /// Like [`KnownHosts::Strict`], with `HostKeyAlias=alias`: the host is looked up, and its
    /// certificate's principals checked, under `alias` rather than `127.0.0.1`.
    StrictWithAlias {
        /// known_hosts contents.
        known_hosts: String,
        /// The `HostKeyAlias`.
        alias: String,
    },
}

/// Runs the real `ssh` client non-interactively against `127.0.0.1:port` as `user`,
/// authenticating only with `identity_key_path` (mode 0600, see [`write_private_key`]) and,
/// when given, `certificate_path`, and runs `command` there. Returns the client's output;
/// exit status 255 means ssh itself failed (refused login, host verification...), and the
/// reason is on its stderr (`LogLevel=ERROR`).
///
/// No config files, agent or system known_hosts are used. Note that ssh also loads
/// `<identity>-cert.pub` next to the identity when that file exists. Panics if ssh runs longer
/// than [`SSH_RUN_TIMEOUT`]. `command` must not start with `-`.
pub fn ssh_run(
    port: u16,
    user: &str,
    identity_key_path: &Path,
    certificate_path: Option<&Path>,
    known_hosts: KnownHosts,
    command: &str,
) -> Output {
    let tmp = tempfile::Builder::new()
        .prefix("portcullis-ssh-")
        .tempdir()
        .expect("ssh temp dir");
    let mut cmd = Command::new("ssh");
    cmd.args(["-F", "/dev/null", "-T", "-p", &port.to_string(), "-l", user])
        .args(["-o", "BatchMode=yes"])
        .args(["-o", "IdentitiesOnly=yes"])
        .args(["-o", "IdentityAgent=none"])
        .args(["-o", "PreferredAuthentications=publickey"])
        .arg("-o")
        .arg(option("IdentityFile", identity_key_path))
        .args(["-o", "GlobalKnownHostsFile=/dev/null"])
        .args(["-o", "UpdateHostKeys=no"])
        .args(["-o", "CheckHostIP=no"])
        .args(["-o", "ConnectTimeout=10"])
        .args(["-o", "ConnectionAttempts=1"])
        .args(["-o", "ServerAliveInterval=5"])
        .args(["-o", "LogLevel=ERROR"]);
    if let Some(cert) = certificate_path {
        cmd.arg("-o").arg(option("CertificateFile", cert));
    }
    let strict = |cmd: &mut Command, contents: &str| {
        let file = tmp.path().join("known_hosts");
        std::fs::write(&file, with_newline(contents)).unwrap();
        cmd.args(["-o", "StrictHostKeyChecking=yes"])
            .arg("-o")
            .arg(option("UserKnownHostsFile", &file));
    };
    match &known_hosts {
        KnownHosts::AcceptNew => {
            cmd.args(["-o", "StrictHostKeyChecking=no"])
                .args(["-o", "UserKnownHostsFile=/dev/null"]);
        }
        KnownHosts::Strict(contents) => strict(&mut cmd, contents),
        KnownHosts::StrictWithAlias { known_hosts, alias } => {
            strict(&mut cmd, known_hosts);
            cmd.arg("-o").arg(format!("HostKeyAlias={alias}"));
        }
    }
    cmd.arg("127.0.0.1").arg(command);
    cmd.env_remove("SSH_AUTH_SOCK");
    output_within(&mut cmd, SSH_RUN_TIMEOUT)
}

/// `-o NAME=PATH`'s value; ssh options split on whitespace, so paths are quoted.
fn option(name: &str, path: &Path) -> String {
    format!("{name}=\"{}\"", path.display())
}

/// Like `Command::output` with stdin closed, but kills the process and panics after `timeout`.
fn output_within(cmd: &mut Command, timeout: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = stderr.join().unwrap_or_default();
            panic!(
                "{cmd:?} did not finish within {timeout:?}; stderr:\n{}",
                String::from_utf8_lossy(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// Runs `ssh-keygen -L -f cert_path` (with `TZ=UTC`, so the validity times are UTC) and
/// returns its listing; panics with ssh-keygen's stderr on failure. Parse it with
/// [`CertListing::parse`].
pub fn ssh_keygen_list(cert_path: &Path) -> String {
    run_checked(
        Command::new("ssh-keygen")
            .env("TZ", "UTC")
            .arg("-L")
            .arg("-f")
            .arg(cert_path),
    )
}

/// The fields of an `ssh-keygen -L` certificate listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertListing {
    /// Certificate key type, e.g. `ssh-ed25519-cert-v01@openssh.com`.
    pub cert_type: String,
    /// `user` or `host`.
    pub kind: String,
    /// The key ID, without the quotes ssh-keygen prints around it.
    pub key_id: String,
    /// The serial number.
    pub serial: u64,
    /// The validity window as printed: `from 2000-01-01T00:00:00 to 2000-01-02T00:00:00`,
    /// `forever`, `after ...` or `before ...` (UTC with [`ssh_keygen_list`]).
    pub valid: String,
    /// The `Signing CA` line, e.g. `ED25519 SHA256:... (using ssh-ed25519)`.
    pub signing_ca: String,
    /// The principals, in order (empty: valid for any principal).
    pub principals: Vec<String>,
    /// The critical options as printed, e.g. `force-command /bin/true`.
    pub critical_options: Vec<String>,
    /// The extensions, e.g. `permit-pty`.
    pub extensions: Vec<String>,
}

impl CertListing {
    /// Parses the output of `ssh-keygen -L` for one certificate; panics on anything that
    /// does not look like one (with the listing in the message).
    pub fn parse(listing: &str) -> CertListing {
        let mut out = CertListing::default();
        let mut seen_type = false;
        // The list being collected (its header) and the indentation of its header line.
        let mut list: Option<(String, usize)> = None;
        for line in listing.lines() {
            let indent = line.len() - line.trim_start().len();
            let text = line.trim();
            if text.is_empty() {
                continue;
            }
            if let Some((header, header_indent)) = &list {
                if indent > *header_indent {
                    let items = match header.as_str() {
                        "Principals" => &mut out.principals,
                        "Critical Options" => &mut out.critical_options,
                        _ => &mut out.extensions,
                    };
                    items.push(text.to_owned());
                    continue;
                }
                list = None;
            }
            let Some((key, value)) = text.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match key {
                "Type" => {
                    let mut words = value.split_whitespace();
                    out.cert_type = words.next().unwrap_or_default().to_owned();
                    out.kind = words.next().unwrap_or_default().to_owned();
                    seen_type = true;
                }
                "Key ID" => {
                    let v = value.strip_prefix('"').unwrap_or(value);
                    out.key_id = v.strip_suffix('"').unwrap_or(v).to_owned();
                }
                "Serial" => {
                    out.serial = value
                        .parse()
                        .unwrap_or_else(|e| panic!("bad serial {value:?} ({e}) in:\n{listing}"));
                }
                "Valid" => out.valid = value.to_owned(),
                "Signing CA" => out.signing_ca = value.to_owned(),
                // Items follow on deeper-indented lines; otherwise the value is `(none)`.
                "Principals" | "Critical Options" | "Extensions" if value.is_empty() => {
                    list = Some((key.to_owned(), indent));
                }
                _ => {}
            }
        }
        assert!(
            seen_type,
            "not an ssh-keygen -L certificate listing:\n{listing}"
        );
        out
    }
}
