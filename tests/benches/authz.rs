//! Benchmark: role-based access decisions with 10 and with 1,000 roles in the cluster, with
//! and without a `where` clause, beside the same rules evaluated by regorus (Rego) in the
//! same run.
//!
//! A decision is what the server does for an RPC: read the caller's three roles (through the
//! server's role cache over RocksDB, exact: it drains the store's feed on every lookup), then
//! decide with Cedar over those roles (compiled policy sets are cached per role set and
//! revisions, Cedar's answers per question within a set), running `where` clauses in the
//! Wasm `predicate` module on every decision. The Rego side gets
//! every role as data (the usual way to feed OPA) and the caller's role names as input; its
//! `where` clause is the same condition written in Rego.
//!
//! Run on demand (not in CI): `cargo bench -p portcullis-tests --bench authz --profile dev`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use portcullis_api::services::{Metadata, RoleConditions, RoleSpecV3, RoleV3, Rule};
use portcullis_authz::{Authorizer, Request};
use portcullis_policy::{Engine, EngineConfig, Registry, RegistryHost};
use portcullis_server::modules::rules::WasmRuleHooks;
use portcullis_server::resources::{Cached, Collection};
use portcullis_store::RocksBackend;
use serde_json::{json, Value};

const SAMPLES: usize = 20_000;
const CALLER_ROLES: [&str; 3] = ["role-0", "role-1", "role-2"];
const WHERE: &str = r#"contains(user.spec.traits["team"], "dba")"#;

fn rule(resources: &[&str], verbs: &[&str], where_clause: &str) -> Rule {
    Rule {
        r#where: where_clause.to_owned(),
        ..portcullis_authz::builtin::rule(resources, verbs)
    }
}

/// Role `role-i`: reads and lists `kind{i % 50}`, reads roles when the user is in the
/// `dba` team, never deletes tokens.
fn role(i: usize) -> RoleV3 {
    let kind = format!("kind{}", i % 50);
    RoleV3 {
        kind: "role".into(),
        version: "v3".into(),
        metadata: Some(Metadata {
            name: format!("role-{i}"),
            ..Metadata::default()
        }),
        spec: Some(RoleSpecV3 {
            options: None,
            allow: Some(RoleConditions {
                rules: vec![
                    rule(&[&kind], &["read", "list"], ""),
                    rule(&["role"], &["read"], WHERE),
                ],
                ..RoleConditions::default()
            }),
            deny: Some(RoleConditions {
                rules: vec![rule(&["token"], &["delete"], "")],
                ..RoleConditions::default()
            }),
        }),
        ..RoleV3::default()
    }
}

const REGO: &str = r#"
package portcullis

default allow := false

verb_matches(rule) if {
	some verb in rule.verbs
	verb in {"*", input.verb}
}

kind_matches(rule) if {
	some kind in rule.resources
	kind in {"*", input.kind}
}

where_holds(rule) if not rule.team

where_holds(rule) if rule.team in input.user.spec.traits.team

matches(rule) if {
	verb_matches(rule)
	kind_matches(rule)
	where_holds(rule)
}

denied if {
	some name in input.roles
	some rule in data.roles[name].deny
	matches(rule)
}

allowed if {
	some name in input.roles
	some rule in data.roles[name].allow
	matches(rule)
}

allow if {
	allowed
	not denied
}
"#;

/// The roles as Rego data: the `where` clause becomes `team: "dba"`.
fn rego_data(roles: &[RoleV3]) -> Value {
    let side = |rules: &[Rule]| -> Vec<Value> {
        rules
            .iter()
            .map(|r| {
                let mut v = json!({"resources": r.resources, "verbs": r.verbs});
                if !r.r#where.is_empty() {
                    v["team"] = json!("dba");
                }
                v
            })
            .collect()
    };
    let mut map = serde_json::Map::new();
    for role in roles {
        let spec = role.spec.as_ref().unwrap();
        map.insert(
            role.metadata.as_ref().unwrap().name.clone(),
            json!({
                "allow": side(&spec.allow.as_ref().unwrap().rules),
                "deny": side(&spec.deny.as_ref().unwrap().rules),
            }),
        );
    }
    json!({ "roles": map })
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Rounds of measurement; the setups of one table row pair take turns each round, so that
/// a slow moment of the machine hits both alike.
const ROUNDS: usize = 10;

/// A cluster with some roles, and the three ways of deciding one request.
struct Setup {
    _dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    store: Cached<RoleV3>,
    hooks: WasmRuleHooks,
    authorizer: Authorizer,
    roles: Vec<Arc<RoleV3>>,
    user: Value,
    resource: Value,
    kind: &'static str,
    rego: regorus::Engine,
    rego_input: regorus::Value,
}

impl Setup {
    fn new(roles_in_cluster: usize, with_where: bool) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let backend = Arc::new(RocksBackend::open(dir.path()).unwrap());
        let roles: Collection<RoleV3> = Collection::new(backend.clone());
        let store: Cached<RoleV3> = Cached::new(backend);
        let all: Vec<RoleV3> = (0..roles_in_cluster).map(role).collect();
        rt.block_on(async {
            for r in &all {
                roles.create(r).await.unwrap();
            }
        });
        let engine = Engine::new(EngineConfig::default()).unwrap();
        let registry = Arc::new(Registry::new());
        registry.insert(
            "predicate",
            engine
                .load(portcullis_server::modules::BUILTIN_PREDICATE, None)
                .unwrap(),
        );
        let hooks = WasmRuleHooks::new(registry.clone(), RegistryHost::new(registry).shared());
        let user = json!({"kind": "user", "metadata": {"name": "alice"},
                          "spec": {"roles": CALLER_ROLES, "traits": {"team": ["dba"]}}});
        let kind = if with_where { "role" } else { "kind1" };
        let mut rego = regorus::Engine::new();
        rego.add_policy("portcullis.rego".into(), REGO.into())
            .unwrap();
        rego.add_data(regorus::Value::from_json_str(&rego_data(&all).to_string()).unwrap())
            .unwrap();
        let rego_input = regorus::Value::from_json_str(
            &json!({"roles": CALLER_ROLES, "verb": "read", "kind": kind, "user": user}).to_string(),
        )
        .unwrap();
        let mut setup = Setup {
            _dir: dir,
            rt,
            store,
            hooks,
            authorizer: Authorizer::new().unwrap(),
            roles: Vec::new(),
            user,
            resource: json!({"kind": "role", "metadata": {"name": "x"}}),
            kind,
            rego,
            rego_input,
        };
        setup.roles = setup.read_roles();
        setup
    }

    /// The caller's roles, from the store.
    fn read_roles(&self) -> Vec<Arc<RoleV3>> {
        self.rt.block_on(async {
            let mut roles = Vec::with_capacity(CALLER_ROLES.len());
            for name in CALLER_ROLES {
                roles.push(self.store.find(name).await.unwrap().unwrap());
            }
            roles
        })
    }

    fn decide(&self, roles: &[Arc<RoleV3>]) {
        let request = Request {
            user: "alice",
            verb: "read",
            kind: self.kind,
            user_resource: &self.user,
            resource: &self.resource,
            namespace: "default",
        };
        let decision = self
            .authorizer
            .decide(roles, &request, &self.hooks)
            .unwrap();
        assert!(decision.allowed);
    }

    /// One sample of each way: (stored, decide, rego).
    fn samples(&mut self, n: usize, into: &mut [Vec<Duration>; 3]) {
        into[0].extend(portcullis_tests::bench::timings(n, || {
            self.decide(&self.read_roles())
        }));
        into[1].extend(portcullis_tests::bench::timings(n, || {
            self.decide(&self.roles)
        }));
        let rego = &mut self.rego;
        let input = &self.rego_input;
        into[2].extend(portcullis_tests::bench::timings(n, || {
            rego.set_input(input.clone());
            let allow = rego.eval_rule("data.portcullis.allow".into()).unwrap();
            assert_eq!(allow, regorus::Value::from(true));
        }));
    }
}

fn main() {
    println!("A decision: read a kind, the caller has 3 roles; times in microseconds.");
    println!("`stored` reads the caller's roles (the server's role cache over RocksDB) then");
    println!("decides (what an RPC does);");
    println!("`decide` is Cedar + Wasm alone; regorus holds every role in memory as data.");
    println!(
        "{:<26} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "", "stored p50", "stored p99", "decide p50", "decide p99", "rego p50", "rego p99"
    );
    for with_where in [false, true] {
        let sizes = [10, 1000];
        let mut setups: Vec<Setup> = sizes.iter().map(|&n| Setup::new(n, with_where)).collect();
        let mut times: Vec<[Vec<Duration>; 3]> = sizes.iter().map(|_| Default::default()).collect();
        for _ in 0..ROUNDS {
            for (setup, times) in setups.iter_mut().zip(&mut times) {
                setup.samples(SAMPLES / ROUNDS, times);
            }
        }
        let mut p50 = Vec::new();
        for (n, times) in sizes.iter().zip(&mut times) {
            let [stored, decide, rego] = times
                .each_mut()
                .map(|t| portcullis_tests::bench::p50_p99(t));
            let label = format!(
                "{n} roles, {}",
                if with_where {
                    "where clause"
                } else {
                    "no where"
                }
            );
            println!(
                "{label:<26} {:>10.2} {:>10.2} {:>10.2} {:>10.2} {:>10.2} {:>10.2}",
                us(stored.0),
                us(stored.1),
                us(decide.0),
                us(decide.1),
                us(rego.0),
                us(rego.1)
            );
            p50.push([stored.0, decide.0, rego.0]);
        }
        let ratio = |i: usize| p50[1][i].as_secs_f64() / p50[0][i].as_secs_f64();
        println!(
            "{:<26} {:>10.2} {:>10} {:>10.2} {:>10} {:>10.2}",
            "  p50 1,000 / 10 roles",
            ratio(0),
            "",
            ratio(1),
            "",
            ratio(2)
        );
        println!(
            "{:<26} {:>10.2} {:>10} {:>10.2}",
            "  p50 ours / rego",
            p50[1][0].as_secs_f64() / p50[1][2].as_secs_f64(),
            "",
            p50[1][1].as_secs_f64() / p50[1][2].as_secs_f64()
        );
    }
}
