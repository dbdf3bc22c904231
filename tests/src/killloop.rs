//! The `kill -9` loop: a mixed workload against the real server (role upserts from several
//! clients; user creation, provisioning tokens, CA rotation through its phases, access
//! requests created and approved, and policy module uploads through `pctl`) is killed with
//! SIGKILL at a random moment; the server is restarted on the same data directory, and
//! every write that was acknowledged before the kill must be there, and the authorities
//! consistent: the user CA in the rotation phase last acknowledged (or the one in flight
//! at the kill), a user certificate issued and verified by openssl against the advertised
//! CA, and a host identity signed and accepted.
//!
//! [`KillLoop::round`] is one kill; the e2e test `faults::` runs a few, and
//! `scripts/killloop` runs many and prints [`Summary`].

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use portcullis_api::{
    auth::GetCertAuthoritiesRequest,
    services::{AccessRequestFilter, RequestState},
    Client,
};
use rand::Rng;

use crate::{ok, role, s, stderr, write_file, Server};

/// The user CA's manual rotation phases, in order.
const PHASES: [&str; 4] = ["init", "update_clients", "update_servers", "standby"];

/// Every write acknowledged so far, over all rounds.
#[derive(Debug, Default)]
pub struct Ledger {
    roles: Vec<String>,
    users: Vec<String>,
    tokens: Vec<String>,
    /// Access requests whose approval was acknowledged.
    approved: Vec<String>,
    modules: Vec<String>,
    /// The user CA's rotation phase last acknowledged.
    phase: String,
    /// A rotation move sent but not acknowledged when the server was killed.
    moving_to: Option<String>,
    /// A `pctl` command that failed while the server was up (a bug, not the kill).
    failures: Vec<String>,
}

impl Ledger {
    /// How many acknowledged writes it holds.
    pub fn len(&self) -> usize {
        self.roles.len()
            + self.users.len()
            + self.tokens.len()
            + self.approved.len()
            + self.modules.len()
            + 1
    }

    /// Whether it holds nothing (never: the rotation phase counts).
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// What one round found.
#[derive(Debug)]
pub struct Round {
    /// Acknowledged writes checked after the restart (all rounds so far).
    pub checked: usize,
    /// Acknowledged writes made in this round.
    pub acked: usize,
    /// Acknowledged writes missing after the restart, named.
    pub lost: Vec<String>,
    /// From the start of the new server process to its listening.
    pub restart: Duration,
}

/// Rounds added up, as `scripts/killloop` prints them.
#[derive(Debug, Default)]
pub struct Summary {
    /// Rounds run.
    pub rounds: usize,
    /// Acknowledged writes made.
    pub acked: usize,
    /// Acknowledged-write checks made (each write is checked again in every later round).
    pub checked: usize,
    /// Acknowledged writes lost.
    pub lost: usize,
    /// Restart times.
    pub restarts: Vec<Duration>,
}

impl Summary {
    /// Adds a round.
    pub fn add(&mut self, round: &Round) {
        self.rounds += 1;
        self.acked += round.acked;
        self.checked += round.checked;
        self.lost += round.lost.len();
        self.restarts.push(round.restart);
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut sorted = self.restarts.clone();
        sorted.sort();
        let p50 = sorted.get(sorted.len() / 2).copied().unwrap_or_default();
        let max = sorted.last().copied().unwrap_or_default();
        write!(
            f,
            "kill -9 rounds: {}, acknowledged writes: {} (checked {} times in all), lost: {}, \
             restart p50 {} ms, max {} ms",
            self.rounds,
            self.acked,
            self.checked,
            self.lost,
            p50.as_millis(),
            max.as_millis()
        )
    }
}

/// A server under the loop, and what it acknowledged.
pub struct KillLoop {
    dir: PathBuf,
    data: PathBuf,
    server: Option<Server>,
    ledger: Arc<Mutex<Ledger>>,
    rounds: usize,
    rt: tokio::runtime::Runtime,
}

impl KillLoop {
    /// Starts a server with its data in `dir/data`, with the users and roles the workload
    /// needs: `carl` (a contractor, who may request `dba`) and the module used by uploads.
    pub fn start(dir: &Path) -> KillLoop {
        let data = dir.join("data");
        let server = Server::start_bench(&data);
        server.pctl_ok(&["create", s(&crate::access_workflow_fixture())]);
        server.pctl_ok(&["users", "add", "carl", "--roles", "contractor"]);
        let module = crate::policies::access_request_module("m", "", r#"{"verdict":"none"}"#);
        std::fs::write(dir.join("m.wasm"), module).unwrap();
        let ledger = Ledger {
            phase: "standby".into(),
            ..Ledger::default()
        };
        KillLoop {
            dir: dir.to_path_buf(),
            data,
            server: Some(server),
            ledger: Arc::new(Mutex::new(ledger)),
            rounds: 0,
            rt: crate::rt(),
        }
    }

    /// One round: runs the workload, kills the server after a random 0.3 to 2 s, restarts
    /// it, and checks everything acknowledged so far.
    pub fn round(&mut self) -> Round {
        self.rounds += 1;
        let round = self.rounds;
        let server = self.server.take().expect("a running server");
        let before = self.ledger.lock().unwrap().len();
        let killed = Arc::new(AtomicBool::new(false));

        let writers: Vec<_> = (0..3)
            .map(|w| {
                let (addr, files) = (server.addr.clone(), server.admin_files());
                let (ledger, killed) = (self.ledger.clone(), killed.clone());
                self.rt.spawn(async move {
                    let Ok(mut client) = Client::connect(&addr, &files).await else {
                        return;
                    };
                    for i in 0.. {
                        let name = format!("r{round}-{w}-{i}");
                        match client.upsert_role(role(&name)).await {
                            Ok(()) => ledger.lock().unwrap().roles.push(name),
                            // A rotation retired the key of the admin certificate this
                            // client holds: the server wrote a new one; connect with it.
                            Err(e) if e.code() == Some(tonic::Code::Unauthenticated) => {
                                match Client::connect(&addr, &files).await {
                                    Ok(fresh) => client = fresh,
                                    Err(_) => return,
                                }
                            }
                            Err(e) if !killed.load(Ordering::SeqCst) => {
                                ledger.lock().unwrap().failures.push(format!("{name}: {e}"));
                                return;
                            }
                            Err(_) => return,
                        }
                    }
                })
            })
            .collect();
        let pctl = {
            let (ledger, killed) = (self.ledger.clone(), killed.clone());
            let work = Workload {
                addr: server.addr.clone(),
                data: self.data.clone(),
                dir: self.dir.clone(),
                round,
            };
            std::thread::spawn(move || work.run(&ledger, &killed))
        };

        let wait = rand::rng().random_range(300..2000);
        std::thread::sleep(Duration::from_millis(wait));
        killed.store(true, Ordering::SeqCst);
        server.kill9();
        pctl.join().unwrap();
        self.rt.block_on(async {
            for writer in writers {
                writer.await.unwrap();
            }
        });
        let acked = self.ledger.lock().unwrap().len() - before;

        let started = Instant::now();
        let server = Server::start_bench(&self.data);
        let restart = started.elapsed();
        let lost = self.rt.block_on(self.check(&server));
        let checked = self.ledger.lock().unwrap().len();
        self.server = Some(server);
        Round {
            checked,
            acked,
            lost,
            restart,
        }
    }

    /// Everything acknowledged that the restarted server does not have, named; panics on
    /// inconsistent authorities or a command that failed while the server was up.
    async fn check(&self, server: &Server) -> Vec<String> {
        let client = server.admin_client().await;
        let ledger = self.ledger.lock().unwrap().clone_for_check();
        assert!(
            ledger.failures.is_empty(),
            "writes failed while the server was up: {:?}",
            ledger.failures
        );
        let mut lost = Vec::new();
        let mut roles = std::collections::HashSet::new();
        let mut after = String::new();
        loop {
            let page = client.roles_page(after, 1000).await.unwrap();
            roles.extend(
                page.items
                    .into_iter()
                    .filter_map(|r| r.metadata.map(|m| m.name)),
            );
            match page.next {
                Some(next) => after = next,
                None => break,
            }
        }
        lost.extend(
            ledger
                .roles
                .iter()
                .filter(|n| !roles.contains(*n))
                .map(|n| format!("role {n}")),
        );
        let users: std::collections::HashSet<String> = client
            .get_users(false)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|u| u.metadata.map(|m| m.name))
            .collect();
        lost.extend(
            ledger
                .users
                .iter()
                .filter(|n| !users.contains(*n))
                .map(|n| format!("user {n}")),
        );
        let tokens = server.pctl_ok(&["tokens", "ls", "--with-secrets"]);
        lost.extend(
            ledger
                .tokens
                .iter()
                .filter(|t| !tokens.contains(t.as_str()))
                .map(|t| format!("token {t}")),
        );
        let modules = server.pctl_ok(&["policy", "ls"]);
        lost.extend(
            ledger
                .modules
                .iter()
                .filter(|m| !modules.contains(m.as_str()))
                .map(|m| format!("module {m}")),
        );
        for id in &ledger.approved {
            let found = client
                .rpc()
                .get_access_requests(AccessRequestFilter {
                    id: id.clone(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .access_requests;
            let approved = found
                .iter()
                .any(|r| r.spec.as_ref().map(|s| s.state) == Some(RequestState::Approved as i32));
            if !approved {
                lost.push(format!("approval of request {id}"));
            }
        }
        let phase = self.check_authorities(server, &client).await;
        let mut ledger = self.ledger.lock().unwrap();
        let allowed = [Some(&ledger.phase), ledger.moving_to.as_ref()];
        if !allowed.contains(&Some(&phase)) {
            lost.push(format!(
                "user CA rotation phase `{}` (found `{phase}`)",
                ledger.phase
            ));
        }
        ledger.phase = phase;
        ledger.moving_to = None;
        lost
    }

    /// Checks that the user authority the server advertises agrees with its rotation
    /// phase, that a user certificate can be issued and verifies against it, and that a
    /// host can be signed and connect. Returns the phase.
    async fn check_authorities(&self, server: &Server, client: &Client) -> String {
        let list = client
            .rpc()
            .get_cert_authorities(GetCertAuthoritiesRequest {
                r#type: "user".into(),
                with_secrets: false,
            })
            .await
            .unwrap()
            .into_inner()
            .cert_authorities;
        assert_eq!(list.len(), 1, "one user authority: {list:?}");
        let spec = list[0].spec.clone().unwrap();
        let phase = spec
            .rotation
            .map(|r| r.phase)
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "standby".into());
        assert!(spec.active_keys.is_some(), "active keys in phase {phase}");
        assert_eq!(
            spec.additional_trusted_keys.is_some(),
            phase != "standby",
            "additional trusted keys exactly while rotating (phase {phase})"
        );

        let dir = self.dir.join(format!("check-{}", self.rounds));
        std::fs::create_dir_all(&dir).unwrap();
        let prefix = dir.join("carl");
        server.sign_user("carl", "tls", s(&prefix));
        let cas = write_file(
            &dir,
            "user-ca.pem",
            &server.pctl_ok(&["auth", "export", "--type", "tls-user"]),
        );
        let crt = prefix.with_extension("crt");
        let verified =
            crate::run_ok(Command::new("openssl").args(["verify", "-CAfile", s(&cas), s(&crt)]));
        assert!(verified.contains(": OK"), "{verified}");
        let carl = Client::connect(
            &server.addr,
            &portcullis_api::TlsFiles::from_prefix(&prefix),
        )
        .await
        .unwrap();
        carl.ping().await.unwrap();
        let node = server.host_client(&dir, "node-1", "Node").await;
        node.ping().await.unwrap();
        phase
    }
}

impl Ledger {
    fn clone_for_check(&self) -> Ledger {
        Ledger {
            roles: self.roles.clone(),
            users: self.users.clone(),
            tokens: self.tokens.clone(),
            approved: self.approved.clone(),
            modules: self.modules.clone(),
            phase: self.phase.clone(),
            moving_to: self.moving_to.clone(),
            failures: self.failures.clone(),
        }
    }
}

/// The `pctl` half of the workload, on a thread of its own.
struct Workload {
    addr: String,
    data: PathBuf,
    dir: PathBuf,
    round: usize,
}

impl Workload {
    fn pctl(&self, args: &[&str]) -> std::process::Output {
        Command::new(crate::bin("pctl"))
            .args(["--auth-server", &self.addr])
            .arg("--identity-dir")
            .arg(&self.data)
            .args(args)
            .output()
            .expect("run pctl")
    }

    /// Runs `pctl` commands in turn until one fails after the kill. A command that fails
    /// before the kill is recorded in the ledger as a failure.
    fn run(&self, ledger: &Mutex<Ledger>, killed: &AtomicBool) {
        let round = self.round;
        let module = self.dir.join("m.wasm");
        // carl's identity, signed afresh each round (a rotation may have retired the old).
        let carl = self.dir.join(format!("carl-{round}"));
        for i in 0.. {
            let step = match i % 5 {
                0 => {
                    let name = format!("u{round}-{i}");
                    let out = self.pctl(&["users", "add", &name, "--roles", "contractor"]);
                    out.status.success().then(|| {
                        ledger.lock().unwrap().users.push(name);
                    });
                    out
                }
                1 => {
                    let out = self.pctl(&["tokens", "add", "--type", "node"]);
                    if out.status.success() {
                        let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                        ledger.lock().unwrap().tokens.push(token);
                    }
                    out
                }
                2 => {
                    let next = {
                        let mut ledger = ledger.lock().unwrap();
                        let at = PHASES.iter().position(|p| *p == ledger.phase);
                        let next = PHASES[at.map_or(0, |at| (at + 1) % PHASES.len())];
                        ledger.moving_to = Some(next.to_owned());
                        next
                    };
                    let out = self.pctl(&[
                        "auth", "rotate", "--type", "user", "--manual", "--phase", next,
                    ]);
                    if out.status.success() {
                        let mut ledger = ledger.lock().unwrap();
                        ledger.phase = next.to_owned();
                        ledger.moving_to = None;
                    }
                    // carl's certificate may be signed by a retired key now.
                    let _ = std::fs::remove_file(carl.with_extension("crt"));
                    out
                }
                3 => self.request_and_approve(&carl, ledger),
                _ => {
                    let name = format!("m{round}-{i}");
                    let out = self.pctl(&["policy", "upload", s(&module), "--name", &name]);
                    if out.status.success() {
                        ledger.lock().unwrap().modules.push(name);
                    }
                    out
                }
            };
            if !step.status.success() {
                if !killed.load(Ordering::SeqCst) {
                    ledger
                        .lock()
                        .unwrap()
                        .failures
                        .push(format!("step {i} of round {round}: {}", stderr(&step)));
                }
                return;
            }
        }
    }

    /// carl requests `dba` and the admin approves; the approval is the acknowledged write.
    fn request_and_approve(&self, carl: &Path, ledger: &Mutex<Ledger>) -> std::process::Output {
        let files = portcullis_api::TlsFiles::from_prefix(carl);
        if !files.cert.exists() {
            let out = self.pctl(&[
                "auth",
                "sign",
                "--user",
                "carl",
                "--format",
                "tls",
                "--overwrite",
                "--out",
                s(carl),
            ]);
            if !out.status.success() {
                return out;
            }
        }
        let created = Command::new(crate::bin("pctl"))
            .args(["--auth-server", &self.addr])
            .args(["--cert", s(&files.cert), "--key", s(&files.key)])
            .args(["--cas", s(&files.cas)])
            .args(["request", "create", "--roles", "dba"])
            .output()
            .expect("run pctl");
        if !created.status.success() {
            return created;
        }
        let id = ok(created).trim().to_owned();
        let out = self.pctl(&["request", "approve", &id]);
        if out.status.success() {
            ledger.lock().unwrap().approved.push(id);
        }
        out
    }
}
