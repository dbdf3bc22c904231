//! End-to-end test support for Portcullis.
//!
//! The end-to-end tests (one test binary, `tests/e2e/`, a module per area) start the real
//! `portcullis` binary on an ephemeral loopback port, drive it with the real `pctl` and the
//! typed client over mutual TLS, and stop or kill it. This library finds the binaries,
//! manages server processes, and holds the helpers the areas share.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use portcullis_api::{Client, TlsFiles};

pub mod bench;
pub mod etcd;
pub mod faults;
pub mod hostile;
pub mod killloop;
pub mod openssh;
pub mod policies;
pub mod relay;
mod stale;

/// The seeds' `rscs.yaml` (API reference: user + role for an access plugin), verbatim.
pub const SEED_RSCS_YAML: &str = include_str!("../fixtures/rscs.yaml");
/// The seeds' `api-admin.yaml` (full API reference: user + role), verbatim.
pub const SEED_API_ADMIN_YAML: &str = include_str!("../fixtures/api-admin.yaml");

/// A role `ops` that allows the login `root`, and a user `alice` holding it.
pub const ALICE_YAML: &str = "\
kind: role
version: v3
metadata:
  name: ops
spec:
  allow:
    logins: [root]
---
kind: user
version: v2
metadata:
  name: alice
spec:
  roles: [ops]
";

/// Roles beside the reference's access-workflow ones (`fixtures/access-workflow.yaml`):
/// `web` (login `www`), and `wide`, which may request any role but `admin`.
pub const WEB_AND_WIDE_YAML: &str = "\
kind: role
version: v3
metadata:
  name: web
spec:
  allow:
    logins: [www]
---
kind: role
version: v3
metadata:
  name: wide
spec:
  allow:
    request:
      roles: ['*']
  deny:
    request:
      roles: ['admin']
";

/// The file `name` in `tests/fixtures/` (the reference's seed resources).
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// The reference's access-workflow roles: `contractor` (may request `dba`), `dba`,
/// `request-admin`.
pub fn access_workflow_fixture() -> PathBuf {
    fixture("access-workflow.yaml")
}

/// Directory holding the workspace's binaries (`portcullis`, `pctl`).
///
/// The binaries are built by `cargo build --workspace --bins` (which `scripts/test` runs
/// before the tests); they are never built from inside a test, so a test run cannot contend
/// with its own cargo for the build lock. `PORTCULLIS_BIN_DIR` points elsewhere (e.g. at
/// copies, when two checkouts share one target directory and so its binaries).
///
/// Panics if `portcullis` or `pctl` is missing, or, unless `PORTCULLIS_BIN_DIR` is set, older
/// than a source it is built from (the inputs cargo's dep-info `NAME.d` beside it lists; without
/// one, every `.rs`, `.proto`, `Cargo.toml` and `Cargo.lock` under the repository's `host/`,
/// `proto/` and `guest-sdk/`, and the workspace's manifest and lock file): the message names
/// the binary and the newer source. The check runs once per test process; every later call
/// fails with the same message.
pub fn bin_dir() -> &'static Path {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = DIR.get_or_init(|| {
        let given = std::env::var_os("PORTCULLIS_BIN_DIR").map(PathBuf::from);
        let dir = given.clone().unwrap_or_else(|| {
            // The test executable lives in <target>/<profile>/deps/.
            let exe = std::env::current_exe().expect("current exe");
            exe.parent()
                .and_then(Path::parent)
                .expect("target profile dir")
                .to_path_buf()
        });
        // Copies on purpose are not compared with the sources.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("tests/ has a parent");
        let root = given.is_none().then_some(root);
        stale::check(&dir, &["portcullis", "pctl"], root).map(|()| dir)
    });
    match found {
        Ok(dir) => dir,
        Err(why) => panic!("{why}"),
    }
}

/// Path of a workspace binary (`portcullis` or `pctl`).
pub fn bin(name: &str) -> PathBuf {
    bin_dir().join(name)
}

/// How long a starting server may take to say where it listens.
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(120);

/// A running `portcullis` server.
pub struct Server {
    child: Child,
    /// The address it listens on.
    pub addr: String,
    /// The address of its plain-HTTP diagnostics listener (`/healthz`, `/readyz`,
    /// `/metrics`), when configured (`diag_addr`): it prints `diagnostics on IP:PORT` before
    /// `listening on IP:PORT`.
    pub diag_addr: Option<String>,
    /// Its data directory.
    pub data_dir: PathBuf,
    stderr_log: PathBuf,
}

impl Server {
    /// Starts a server with `data_dir` on an ephemeral loopback port, plus extra arguments.
    /// The directory is created private (0700) when missing: the server refuses a data
    /// directory that others may enter.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Server {
        Self::start_env(data_dir, extra, &[])
    }

    /// [`Server::start`] with extra environment variables for the server process (e.g.
    /// `SOFTHSM2_CONF` for a server keeping its keys in a SoftHSM2 token).
    pub fn start_env(data_dir: &Path, extra: &[&str], env: &[(&str, &Path)]) -> Server {
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
            .create(data_dir)
            .unwrap();
        let stderr_log = data_dir.with_extension("stderr.log");
        let log = std::fs::File::create(&stderr_log).unwrap();
        let mut child = Command::new(bin("portcullis"))
            .arg("start")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn portcullis");
        // A thread reads stdout to its end, so the server never blocks on a full pipe, and
        // passes the lines on until the address is known.
        let lines = stdout_lines(child.stdout.take().unwrap());
        let deadline = std::time::Instant::now() + SERVER_START_TIMEOUT;
        let mut diag_addr = None;
        let addr = loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(addr) = line.strip_prefix("diagnostics on ") {
                        diag_addr = Some(addr.trim().to_owned());
                    } else if let Some(addr) = line.strip_prefix("listening on ") {
                        break addr.trim().to_owned();
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = child.wait();
                    panic!(
                        "portcullis exited before listening:\n{}",
                        std::fs::read_to_string(&stderr_log).unwrap_or_default()
                    );
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "portcullis did not listen within {SERVER_START_TIMEOUT:?}:\n{}",
                        std::fs::read_to_string(&stderr_log).unwrap_or_default()
                    );
                }
            }
        };
        Server {
            child,
            addr,
            diag_addr,
            data_dir: data_dir.to_owned(),
            stderr_log,
        }
    }

    /// The process id of the server (e.g. to read `/proc/PID/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident set size in bytes (`VmRSS` of `/proc/PID/status`); `None`
    /// where there is no such file (not Linux, or the process is gone).
    pub fn rss_bytes(&self) -> Option<u64> {
        Some(bench::proc_status_kib(self.pid(), "VmRSS:")? * 1024)
    }

    /// The CPU time the server used so far (user + system, see
    /// [`bench::process_cpu_time`]); `None` where it cannot be read.
    pub fn cpu_time(&self) -> Option<Duration> {
        bench::process_cpu_time(Some(self.pid()))
    }

    /// Starts a server with `data_dir` for a benchmark: warnings only, and no per-caller
    /// rate limits (a benchmark is one caller making calls as fast as it can). Its
    /// configuration file is `data_dir` with the extension `yaml`.
    pub fn start_bench(data_dir: &Path) -> Server {
        let config = data_dir.with_extension("yaml");
        std::fs::write(&config, bench::NO_RATE_LIMITS).expect("write the bench config");
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600))
            .expect("chmod the bench config");
        Server::start(data_dir, &["--config", s(&config), "--log-level", "warn"])
    }

    /// Starts a server with data directory `dir/data` and the configuration file
    /// `dir/config.yaml`, written with `config` (YAML) and private to the user, as a config
    /// that may hold static tokens must be.
    pub fn start_with_config(dir: &Path, config: &str) -> Server {
        let config = write_file(dir, "config.yaml", config);
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600))
            .expect("chmod config.yaml");
        Server::start(&dir.join("data"), &["--config", s(&config)])
    }

    /// Runs `pctl` as `user`, with a TLS identity signed by the admin and kept in `dir`
    /// (`id-USER.crt/.key/.cas`, signed on first use).
    pub fn pctl_as(&self, dir: &Path, user: &str, args: &[&str]) -> Output {
        let prefix = dir.join(format!("id-{user}"));
        let files = TlsFiles::from_prefix(&prefix);
        if !files.cert.exists() {
            self.sign_user(user, "tls", s(&prefix));
        }
        self.pctl_with(&files, args)
    }

    /// Runs `pctl` against this server with the TLS identity in `files` (`--cert`, `--key`,
    /// `--cas`).
    pub fn pctl_with(&self, files: &TlsFiles, args: &[&str]) -> Output {
        Command::new(bin("pctl"))
            .args(["--auth-server", &self.addr])
            .args(["--cert", s(&files.cert), "--key", s(&files.key)])
            .args(["--cas", s(&files.cas)])
            .args(args)
            .output()
            .expect("run pctl")
    }

    /// Runs `pctl request create --roles ROLES` as `user` (see [`Server::pctl_as`]) and
    /// returns the new request's ID.
    pub fn request_roles(&self, dir: &Path, user: &str, roles: &str) -> String {
        let out = self.pctl_as(dir, user, &["request", "create", "--roles", roles]);
        ok(out).trim().to_owned()
    }

    /// The admin identity files the server wrote.
    pub fn admin_files(&self) -> TlsFiles {
        TlsFiles::in_dir(&self.data_dir, "admin")
    }

    /// Signs a TLS identity for host `name` with system role `role` with `pctl auth sign`,
    /// kept in `dir` (`host-NAME.crt/.key/.cas`).
    pub fn sign_host_tls(&self, dir: &Path, name: &str, role: &str) -> TlsFiles {
        let prefix = dir.join(format!("host-{name}"));
        self.pctl_ok(&[
            "auth",
            "sign",
            "--host",
            name,
            "--role",
            role,
            "--format",
            "tls",
            "--out",
            s(&prefix),
        ]);
        TlsFiles::from_prefix(&prefix)
    }

    /// Signs a TLS identity for host `name` with system role `role` (see
    /// [`Server::sign_host_tls`]) and connects with it.
    pub async fn host_client(&self, dir: &Path, name: &str, role: &str) -> Client {
        let files = self.sign_host_tls(dir, name, role);
        Client::connect(&self.addr, &files).await.unwrap()
    }

    /// A client connected as the admin identity.
    pub async fn admin_client(&self) -> Client {
        Client::connect(&self.addr, &self.admin_files())
            .await
            .expect("admin client connects")
    }

    /// The phase of the `ca` authority's rotation as this server reports it to its admin
    /// (`standby` when none is set).
    pub async fn ca_phase(&self, ca: &str) -> String {
        let client = self.admin_client().await;
        let ca = client
            .rpc()
            .get_cert_authority(portcullis_api::auth::GetCertAuthorityRequest {
                r#type: ca.into(),
                domain_name: String::new(),
                with_secrets: false,
            })
            .await
            .expect("GetCertAuthority")
            .into_inner();
        let phase = ca
            .spec
            .and_then(|spec| spec.rotation)
            .unwrap_or_default()
            .phase;
        if phase.is_empty() {
            "standby".into()
        } else {
            phase
        }
    }

    /// `pctl policy eval NAME --hook access_request` through this server, with `input`
    /// (JSON) written to `dir/input.json`: its output, or its error.
    pub fn eval_access_request(
        &self,
        dir: &Path,
        name: &str,
        input: &str,
    ) -> Result<String, String> {
        let input = write_file(dir, "input.json", input);
        let out = self.pctl(&[
            "policy",
            "eval",
            name,
            "--hook",
            "access_request",
            "--input",
            s(&input),
        ]);
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(stderr(&out))
        }
    }

    /// Runs `pctl` against this server with the admin identity.
    pub fn pctl(&self, args: &[&str]) -> Output {
        Command::new(bin("pctl"))
            .args(["--auth-server", &self.addr])
            .arg("--identity-dir")
            .arg(&self.data_dir)
            .args(args)
            .output()
            .expect("run pctl")
    }

    /// What a host needs to join with a provisioning token: a new token for the system
    /// roles `roles` (`pctl tokens add --type ROLES`) and the host CA certificates, written
    /// to `dir/host-ca.pem`.
    pub fn join_token(&self, dir: &Path, roles: &str) -> (String, PathBuf) {
        let token = self.pctl_ok(&["tokens", "add", "--type", roles]);
        let ca = self.pctl_ok(&["auth", "export", "--type", "tls-host"]);
        (token.trim().to_owned(), write_file(dir, "host-ca.pem", &ca))
    }

    /// Runs `pctl` and panics unless it succeeds; returns its standard output.
    pub fn pctl_ok(&self, args: &[&str]) -> String {
        let out = self.pctl(args);
        assert!(
            out.status.success(),
            "pctl {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs `pctl auth sign --user USER --format FORMAT --out OUT` and panics unless it
    /// succeeds; returns its standard output.
    pub fn sign_user(&self, user: &str, format: &str, out: &str) -> String {
        self.pctl_ok(&[
            "auth", "sign", "--user", user, "--format", format, "--out", out,
        ])
    }

    /// Kills the server with SIGKILL (no chance to clean up).
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Stops the server with SIGTERM and waits for it to exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What the server wrote to standard error so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer: its status code and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code, e.g. 200.
    pub status: u16,
    /// The body (chunked transfer decoded), as text.
    pub body: String,
}

/// How long [`http_get`] waits to connect, and for each read and write.
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// `GET path` over plain HTTP/1.1 from `addr` (`IP:PORT`), e.g. a server's diagnostics
/// listener ([`Server::diag_addr`]); `Connection: close`, the answer read to its end.
pub fn http_get(addr: &str, path: &str) -> std::io::Result<HttpResponse> {
    use std::io::{Error, Read, Write};
    let socket: std::net::SocketAddr = addr.parse().map_err(Error::other)?;
    let mut stream = std::net::TcpStream::connect_timeout(&socket, HTTP_TIMEOUT)?;
    stream.set_read_timeout(Some(HTTP_TIMEOUT))?;
    stream.set_write_timeout(Some(HTTP_TIMEOUT))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let bad = |why: &str| Error::other(format!("{why} in the answer of {addr}{path}"));
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of the header"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut head_lines = head.lines();
    let status = head_lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let chunked = head_lines.any(|line| {
        let line = line.to_ascii_lowercase();
        line.starts_with("transfer-encoding:") && line.contains("chunked")
    });
    if chunked {
        let mut decoded = Vec::new();
        let mut rest = &body[..];
        loop {
            let end = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| bad("a truncated chunk"))?;
            let size = String::from_utf8_lossy(&rest[..end]);
            let size = size.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size, 16).map_err(|_| bad("a bad chunk size"))?;
            rest = &rest[end + 2..];
            if size == 0 {
                break;
            }
            let chunk = rest.get(..size).ok_or_else(|| bad("a truncated chunk"))?;
            decoded.extend_from_slice(chunk);
            rest = rest.get(size + 2..).unwrap_or_default();
        }
        body = decoded;
    }
    Ok(HttpResponse {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Writes `text` into a new file under `dir` and returns its path.
pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A path as `&str` (test paths are UTF-8), for command arguments.
pub fn s(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

/// The standard error of a command, whether it succeeded or not.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The standard output of a command that must have succeeded (else panics with its
/// standard error).
pub fn ok(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The standard error of a command that must have failed (else panics with its output).
pub fn err(out: std::process::Output) -> String {
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The multi-threaded runtime (I/O and time enabled) the tests drive the typed client from.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The identity (user, roles, traits, expiry, ...) a PEM client certificate carries; only
/// its first certificate is read.
pub fn identity_from_pem(pem: &[u8]) -> portcullis_ca::Identity {
    let (_, doc) = x509_parser::pem::parse_x509_pem(pem).expect("a PEM certificate");
    portcullis_ca::Identity::from_certificate_der(&doc.contents).expect("a Portcullis identity")
}

/// The public key (PEM) of the active JWT key of the cluster `client` talks to, which app
/// tokens verify against.
pub async fn jwt_public_key(client: &portcullis_api::Client) -> String {
    let ca = client
        .rpc()
        .get_cert_authority(portcullis_api::auth::GetCertAuthorityRequest {
            r#type: "jwt".into(),
            domain_name: String::new(),
            with_secrets: false,
        })
        .await
        .expect("GetCertAuthority jwt")
        .into_inner();
    let keys = ca.spec.and_then(|s| s.active_keys).unwrap_or_default();
    let pair = keys.jwt.first().expect("an active JWT key");
    assert!(
        pair.private_key.is_empty(),
        "no private key without secrets"
    );
    String::from_utf8(pair.public_key.clone()).expect("a PEM public key")
}

/// A minimal valid role named `name`.
pub fn role(name: &str) -> portcullis_api::services::RoleV3 {
    portcullis_api::services::RoleV3 {
        kind: "role".into(),
        version: "v3".into(),
        metadata: Some(portcullis_api::services::Metadata {
            name: name.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Runs a command, panics with its standard error unless it succeeds, and returns its
/// standard output.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A `kind` server (`node`, `proxy`) called `name` with static labels, listening on
/// 127.0.0.1:3022 as host `NAME.example`.
pub fn server_v2(
    kind: &str,
    name: &str,
    labels: &[(&str, &str)],
) -> portcullis_api::services::ServerV2 {
    portcullis_api::services::ServerV2 {
        kind: kind.into(),
        version: "v2".into(),
        metadata: Some(portcullis_api::services::Metadata {
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Default::default()
        }),
        spec: Some(portcullis_api::services::ServerSpecV2 {
            addr: "127.0.0.1:3022".into(),
            hostname: format!("{name}.example"),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Reads `stdout` to its end on a thread (so the child never blocks on a full pipe) and
/// passes its lines on, for as long as the receiver is kept.
pub fn stdout_lines(stdout: std::process::ChildStdout) -> std::sync::mpsc::Receiver<String> {
    let (lines_tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // Fails once nobody listens any more: then the lines are only drained.
            let _ = lines_tx.send(line);
        }
    });
    lines
}
