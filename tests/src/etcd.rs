//! A real etcd (Debian's `etcd-server` and `etcd-client`, which scripts/setup installs) on
//! loopback for the tests of the etcd storage backend and of several auth servers on one
//! cluster: one member ([`Etcd`]) or a cluster of several ([`EtcdCluster`], whose members can
//! be killed and started again), each with its own data directory, and client TLS with client
//! certificates (a throwaway CA signs one server certificate for 127.0.0.1, which every member
//! presents, and a client certificate; etcd refuses clients without one). Peers talk plain
//! HTTP to each other.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};

use crate::openssh::free_port;

/// How long etcd may take to say it serves clients.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The key prefix the auth server uses when none is configured.
pub const DEFAULT_PREFIX: &str = "/portcullis";

/// The client side of an etcd's TLS: PEM files a client presents and trusts.
#[derive(Debug, Clone)]
pub struct EtcdTls {
    /// The CA that signed the server's certificate (and the client's).
    pub ca: PathBuf,
    /// The client certificate.
    pub cert: PathBuf,
    /// Its key.
    pub key: PathBuf,
}

/// A running etcd member; stopped (and waited for) on drop.
pub struct Etcd {
    process: Process,
    /// `https://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The client's TLS files.
    pub tls: EtcdTls,
}

impl Etcd {
    /// Starts etcd with its data and certificates under `dir`; returns once it serves
    /// clients (it says so on its log), or panics with its log.
    pub fn start(dir: &Path) -> Etcd {
        let pki = dir.join("etcd-pki");
        std::fs::create_dir_all(&pki).expect("create the etcd PKI directory");
        let (server, tls) = write_pki(&pki);
        let member = Member::new("portcullis-test", dir.join("etcd-data"));
        let endpoint = member.client_url();
        let initial_cluster = format!("portcullis-test={}", member.peer_url());
        let args = member.args(&initial_cluster, &cluster_token(), &server, &tls);
        let process = Process::spawn(&args);
        let mut etcd = Etcd {
            process,
            endpoint,
            tls,
        };
        etcd.process
            .wait_ready(Instant::now() + START_TIMEOUT, "etcd");
        etcd
    }

    /// The `storage:` block of an auth server's configuration for this etcd, under
    /// `prefix` (see [`storage_yaml`]).
    pub fn storage_yaml(&self, prefix: &str) -> String {
        storage_yaml(std::slice::from_ref(&self.endpoint), &self.tls, prefix)
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        self.process.kill();
    }
}

/// A cluster of etcd members on loopback, sharing one client PKI; every member is stopped
/// (and waited for) on drop. Members keep their data directories and ports when killed, so
/// [`EtcdCluster::restart`] brings back the same member.
pub struct EtcdCluster {
    members: Vec<Member>,
    tls: EtcdTls,
    server: (PathBuf, PathBuf),
    initial_cluster: String,
    token: String,
}

impl EtcdCluster {
    /// Starts a new cluster of `members` members (`m0`, `m1`, ...) with their data and the
    /// certificates under `dir`; returns once every member serves clients, or panics with
    /// the log of one that did not. Members of a new cluster only get ready once a quorum
    /// is up, so every member is started before any is waited for.
    pub fn start(dir: &Path, members: usize) -> EtcdCluster {
        assert!(members >= 1, "an etcd cluster needs at least one member");
        let pki = dir.join("etcd-pki");
        std::fs::create_dir_all(&pki).expect("create the etcd PKI directory");
        let (server, tls) = write_pki(&pki);
        let members: Vec<Member> = (0..members)
            .map(|i| Member::new(&format!("m{i}"), dir.join(format!("etcd-m{i}"))))
            .collect();
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer_url()))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = EtcdCluster {
            members,
            tls,
            server,
            initial_cluster,
            token: cluster_token(),
        };
        cluster.restart_all();
        cluster
    }

    /// The members' client URLs (`https://127.0.0.1:PORT`), in member order, whether they
    /// run or not.
    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(Member::client_url).collect()
    }

    /// The client's TLS files.
    pub fn tls(&self) -> &EtcdTls {
        &self.tls
    }

    /// How many members the cluster has (running or not).
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the cluster has no member (never: [`EtcdCluster::start`] refuses that).
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Whether member `i` runs (was not killed, or was restarted since).
    pub fn is_running(&self, i: usize) -> bool {
        self.members[i].process.is_some()
    }

    /// Kills member `i` with SIGKILL and waits for it; its data stays. Panics if it does
    /// not run.
    pub fn kill(&mut self, i: usize) {
        let mut process = self.members[i]
            .process
            .take()
            .unwrap_or_else(|| panic!("etcd member {i} does not run"));
        process.kill();
    }

    /// Starts member `i` again on its data and ports, and waits until it serves clients
    /// (which needs a quorum: with most members down, use [`EtcdCluster::restart_all`]).
    /// Panics if it runs.
    pub fn restart(&mut self, i: usize) {
        assert!(!self.is_running(i), "etcd member {i} already runs");
        self.spawn(i);
        self.wait(i, Instant::now() + START_TIMEOUT);
    }

    /// Kills every running member with SIGKILL (see [`EtcdCluster::kill`]).
    pub fn kill_all(&mut self) {
        for i in 0..self.members.len() {
            if self.is_running(i) {
                self.kill(i);
            }
        }
    }

    /// Starts every member that does not run, then waits until each serves clients.
    pub fn restart_all(&mut self) {
        let started: Vec<usize> = (0..self.members.len())
            .filter(|&i| !self.is_running(i))
            .collect();
        for &i in &started {
            self.spawn(i);
        }
        let deadline = Instant::now() + START_TIMEOUT;
        for &i in &started {
            self.wait(i, deadline);
        }
    }

    /// The `storage:` block of an auth server's configuration for this cluster: every
    /// member's endpoint, the default prefix, the client TLS files and a 5 s dial timeout.
    pub fn storage_yaml(&self) -> String {
        self.storage_yaml_with_prefix(DEFAULT_PREFIX)
    }

    /// [`EtcdCluster::storage_yaml`] with the key prefix `prefix`.
    pub fn storage_yaml_with_prefix(&self, prefix: &str) -> String {
        storage_yaml(&self.endpoints(), &self.tls, prefix)
    }

    /// Starts an auth server on this cluster (default prefix, log level `warn`), with its
    /// configuration and data under `dir` (created); see [`crate::Server::start_with_config`].
    pub fn auth_server(&self, dir: &Path) -> crate::Server {
        std::fs::create_dir_all(dir).expect("server dir");
        let config = format!("log_level: warn\n{}", self.storage_yaml());
        crate::Server::start_with_config(dir, &config)
    }

    /// Runs `etcdctl` (API v3) with `args` against the running members, with the client
    /// certificate and 3 s dial and 5 s command timeouts.
    pub fn etcdctl(&self, args: &[&str]) -> Output {
        let running: Vec<String> = (0..self.members.len())
            .filter(|&i| self.is_running(i))
            .map(|i| self.members[i].client_url())
            .collect();
        Command::new("etcdctl")
            .env("ETCDCTL_API", "3")
            .args(["--endpoints", &running.join(",")])
            .args(["--dial-timeout", "3s", "--command-timeout", "5s"])
            .arg("--cacert")
            .arg(&self.tls.ca)
            .arg("--cert")
            .arg(&self.tls.cert)
            .arg("--key")
            .arg(&self.tls.key)
            .args(args)
            .output()
            .expect("run etcdctl (scripts/setup installs Debian's etcd-client)")
    }

    /// The index of the member that currently leads the cluster, as the running members
    /// report it (`etcdctl endpoint status`); `None` when none answers or none leads.
    pub fn leader(&self) -> Option<usize> {
        let out = self.etcdctl(&["endpoint", "status", "--write-out", "json"]);
        if !out.status.success() {
            return None;
        }
        let statuses: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        statuses.as_array()?.iter().find_map(|entry| {
            let status = &entry["Status"];
            let member = status["header"]["member_id"].as_u64()?;
            if status["leader"].as_u64()? != member {
                return None;
            }
            let endpoint = entry["Endpoint"].as_str()?;
            self.members.iter().position(|m| m.client_url() == endpoint)
        })
    }

    fn spawn(&mut self, i: usize) {
        let args =
            self.members[i].args(&self.initial_cluster, &self.token, &self.server, &self.tls);
        self.members[i].process = Some(Process::spawn(&args));
    }

    fn wait(&mut self, i: usize, deadline: Instant) {
        let what = format!("etcd member {i}");
        self.members[i]
            .process
            .as_mut()
            .expect("a started member")
            .wait_ready(deadline, &what);
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for member in &mut self.members {
            if let Some(mut process) = member.process.take() {
                process.kill();
            }
        }
    }
}

/// The `storage:` block of an auth server's configuration (YAML, ending with a newline)
/// for etcd at `endpoints` with client TLS `tls`, keys under `prefix`, and a 5 s dial
/// timeout.
pub fn storage_yaml(endpoints: &[String], tls: &EtcdTls, prefix: &str) -> String {
    // JSON strings are YAML strings: quoted, whatever the paths hold.
    let quote = |text: &str| serde_json::Value::from(text).to_string();
    let path = |path: &Path| quote(path.to_str().expect("test paths are UTF-8"));
    let endpoints: Vec<String> = endpoints.iter().map(|e| quote(e)).collect();
    format!(
        "storage:\n  type: etcd\n  endpoints: [{}]\n  prefix: {}\n  tls:\n    ca: {}\n    cert: {}\n    key: {}\n  dial_timeout: 5s\n",
        endpoints.join(", "),
        quote(prefix),
        path(&tls.ca),
        path(&tls.cert),
        path(&tls.key),
    )
}

/// A token no other cluster started by this machine's tests uses.
fn cluster_token() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("portcullis-test-{}-{nanos}-{n}", std::process::id())
}

/// One member: its name, ports and data directory, and its process while it runs.
struct Member {
    name: String,
    client_port: u16,
    peer_port: u16,
    data: PathBuf,
    process: Option<Process>,
}

impl Member {
    fn new(name: &str, data: PathBuf) -> Member {
        Member {
            name: name.to_owned(),
            client_port: free_port(),
            peer_port: free_port(),
            data,
            process: None,
        }
    }

    fn client_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.client_port)
    }

    fn peer_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.peer_port)
    }

    /// etcd's arguments: client TLS with client certificates, plain-HTTP peers. A member
    /// restarted on its data directory ignores the initial cluster settings.
    fn args(
        &self,
        initial_cluster: &str,
        token: &str,
        server: &(PathBuf, PathBuf),
        tls: &EtcdTls,
    ) -> Vec<OsString> {
        let (client, peer) = (self.client_url(), self.peer_url());
        let mut args: Vec<OsString> = [
            "--name",
            self.name.as_str(),
            "--listen-client-urls",
            client.as_str(),
            "--advertise-client-urls",
            client.as_str(),
            "--listen-peer-urls",
            peer.as_str(),
            "--initial-advertise-peer-urls",
            peer.as_str(),
            "--initial-cluster",
            initial_cluster,
            "--initial-cluster-state",
            "new",
            "--initial-cluster-token",
            token,
            "--client-cert-auth",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        for (flag, path) in [
            ("--data-dir", &self.data),
            ("--cert-file", &server.0),
            ("--key-file", &server.1),
            ("--trusted-ca-file", &tls.ca),
        ] {
            args.push(flag.into());
            args.push(path.into());
        }
        args
    }
}

/// A running etcd process, its standard error drained (and kept) by a thread that reports
/// when etcd serves clients.
struct Process {
    child: Child,
    ready: mpsc::Receiver<bool>,
    log: Arc<Mutex<String>>,
}

impl Process {
    fn spawn(args: &[OsString]) -> Process {
        let mut child = Command::new("etcd")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run etcd (scripts/setup installs Debian's etcd-server): {e}")
            });
        let stderr = child.stderr.take().expect("etcd's stderr");
        let (ready_tx, ready) = mpsc::channel();
        let log = Arc::new(Mutex::new(String::new()));
        let kept = log.clone();
        std::thread::spawn(move || {
            let mut ready = Some(ready_tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = kept.lock().unwrap_or_else(|e| e.into_inner());
                log.push_str(&line);
                log.push('\n');
                if line.contains("ready to serve client requests") {
                    if let Some(tx) = ready.take() {
                        let _ = tx.send(true);
                    }
                }
            }
            // The log ended before etcd was ready: it exited.
            if let Some(tx) = ready {
                let _ = tx.send(false);
            }
        });
        Process { child, ready, log }
    }

    /// Waits until etcd says it serves clients; panics with its log if it exits first or
    /// `deadline` passes (killing it then).
    fn wait_ready(&mut self, deadline: Instant, what: &str) {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.ready.recv_timeout(left) {
            Ok(true) => {}
            Ok(false) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = self.child.wait();
                panic!("{what} exited before serving clients:\n{}", self.log());
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                self.kill();
                panic!(
                    "{what} did not serve clients within {START_TIMEOUT:?}:\n{}",
                    self.log()
                );
            }
        }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes a CA, a server certificate for 127.0.0.1 and a client certificate under `dir`;
/// returns the server's (cert, key) paths and the client's files.
fn write_pki(dir: &Path) -> ((PathBuf, PathBuf), EtcdTls) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params
        .distinguished_name
        .push(DnType::CommonName, "etcd test CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().expect("CA key");
    let ca = CertifiedIssuer::self_signed(params, ca_key).expect("self-signed CA");
    let leaf = |name: &str, purpose: ExtendedKeyUsagePurpose| {
        let sans = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
        let mut params = CertificateParams::new(sans).expect("leaf parameters");
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![purpose];
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &ca).expect("sign a leaf");
        let (cert_path, key_path) = (
            dir.join(format!("{name}.crt")),
            dir.join(format!("{name}.key")),
        );
        std::fs::write(&cert_path, cert.pem()).expect("write a certificate");
        portcullis_api::private::write_private(&key_path, key.serialize_pem().as_bytes())
            .expect("write a private key");
        (cert_path, key_path)
    };
    let server = leaf("server", ExtendedKeyUsagePurpose::ServerAuth);
    let (cert, key) = leaf("client", ExtendedKeyUsagePurpose::ClientAuth);
    let ca_path = dir.join("ca.crt");
    std::fs::write(&ca_path, ca.pem()).expect("write the CA certificate");
    let tls = EtcdTls {
        ca: ca_path,
        cert,
        key,
    };
    (server, tls)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `etcdctl endpoint health` against `endpoints`, with or without the client
    /// certificate; whether it succeeded, and what it said.
    fn health(endpoints: &[String], tls: &EtcdTls, with_certificate: bool) -> (bool, String) {
        let mut cmd = Command::new("etcdctl");
        cmd.env("ETCDCTL_API", "3")
            .args(["--endpoints", &endpoints.join(","), "--dial-timeout", "3s"])
            .arg("--cacert")
            .arg(&tls.ca);
        if with_certificate {
            cmd.arg("--cert").arg(&tls.cert);
            cmd.arg("--key").arg(&tls.key);
        }
        let out = cmd.args(["endpoint", "health"]).output().unwrap();
        let said = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), said)
    }

    /// etcd starts with client TLS and answers a client with a certificate, and refuses one
    /// without (so the backend's tests really exercise client certificates).
    #[test]
    fn etcd_serves_only_clients_with_certificates() {
        let tmp = tempfile::tempdir().unwrap();
        let etcd = Etcd::start(tmp.path());
        let endpoints = [etcd.endpoint.clone()];
        let (ok, said) = health(&endpoints, &etcd.tls, true);
        assert!(ok && said.contains("is healthy"), "{said}");
        let (ok, said) = health(&endpoints, &etcd.tls, false);
        assert!(!ok, "{said}");
    }

    /// Three members form one cluster behind client TLS; a killed member keeps its data and
    /// rejoins; with every member down nothing answers, and after restarting them all the
    /// data written before is still there.
    #[test]
    fn an_etcd_cluster_survives_kills_and_restarts() {
        let tmp = tempfile::tempdir().unwrap();
        let mut etcd = EtcdCluster::start(tmp.path(), 3);
        assert_eq!(etcd.len(), 3);
        let endpoints = etcd.endpoints();
        assert_eq!(endpoints.len(), 3);
        assert!(endpoints
            .iter()
            .all(|e| e.starts_with("https://127.0.0.1:")));
        let (ok, said) = health(&endpoints, etcd.tls(), true);
        assert!(ok && said.matches("is healthy").count() == 3, "{said}");
        let (ok, said) = health(&endpoints, etcd.tls(), false);
        assert!(!ok, "{said}");
        let members = crate::ok(etcd.etcdctl(&["member", "list"]));
        assert_eq!(members.lines().count(), 3, "{members}");
        crate::ok(etcd.etcdctl(&["put", "/k", "before"]));
        let leader = etcd.leader().expect("a leader");

        // The leader goes; the others elect a new one and take writes.
        etcd.kill(leader);
        assert!(!etcd.is_running(leader));
        let started = Instant::now();
        let new_leader = loop {
            if let Some(l) = etcd.leader() {
                break l;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "no new leader");
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_ne!(new_leader, leader);
        crate::ok(etcd.etcdctl(&["put", "/k", "during"]));
        etcd.restart(leader);
        assert!(etcd.is_running(leader));
        let (ok, said) = health(&endpoints, etcd.tls(), true);
        assert!(ok, "{said}");

        // Everything down, then up again on the same data.
        etcd.kill_all();
        let (ok, said) = health(&endpoints[..1], etcd.tls(), true);
        assert!(!ok, "{said}");
        etcd.restart_all();
        let value = crate::ok(etcd.etcdctl(&["get", "/k", "--print-value-only"]));
        assert_eq!(value.trim(), "during");

        let yaml = etcd.storage_yaml();
        let parsed: serde_json::Value = serde_norway::from_str(&yaml).unwrap();
        let storage = &parsed["storage"];
        assert_eq!(storage["type"], "etcd");
        assert_eq!(storage["prefix"], DEFAULT_PREFIX);
        assert_eq!(storage["endpoints"].as_array().unwrap().len(), 3);
        assert_eq!(
            storage["tls"]["ca"].as_str().unwrap(),
            etcd.tls().ca.to_str().unwrap()
        );
    }
}
