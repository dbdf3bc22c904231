//! Benchmark: role-based access decisions with 10 and with 1,000 roles in the cluster, with
//! and without a `where` clause, beside the same rules evaluated by regorus (Rego) in the
//! same run.
//!
//! A decision is what the server does for an RPC: read the caller's three roles from the
//! store (RocksDB), then decide with Cedar over those roles (compiled policy sets are cached
//! per role set), running `where` clauses in the Wasm `predicate` module. The Rego side gets
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
use portcullis_server::policy::rules::WasmRuleHooks;
use portcullis_server::resources::Collection;
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

fn time<F: FnMut()>(op: F) -> (Duration, Duration) {
    portcullis_tests::bench::latency(SAMPLES, op)
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// p50 and p99 of (Cedar + Wasm, regorus) for `roles_in_cluster` roles.
fn run(roles_in_cluster: usize, with_where: bool) -> [(Duration, Duration); 2] {
    let tmp = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let backend = Arc::new(RocksBackend::open(tmp.path()).unwrap());
    let store: Collection<RoleV3> = Collection::new(backend);
    let all: Vec<RoleV3> = (0..roles_in_cluster).map(role).collect();
    rt.block_on(async {
        for r in &all {
            store.create(r).await.unwrap();
        }
    });

    let engine = Engine::new(EngineConfig::default()).unwrap();
    let registry = Arc::new(Registry::new());
    registry.insert(
        "predicate",
        engine
            .load(portcullis_server::policy::BUILTIN_PREDICATE, None)
            .unwrap(),
    );
    let hooks = WasmRuleHooks::new(registry.clone(), RegistryHost::new(registry).shared());
    let authorizer = Authorizer::new().unwrap();
    let user = json!({"kind": "user", "metadata": {"name": "alice"},
                      "spec": {"roles": CALLER_ROLES, "traits": {"team": ["dba"]}}});
    let resource = json!({"kind": "role", "metadata": {"name": "x"}});
    let kind = if with_where { "role" } else { "kind1" };

    let cedar = time(|| {
        let roles = rt.block_on(async {
            let mut roles = Vec::with_capacity(CALLER_ROLES.len());
            for name in CALLER_ROLES {
                roles.push(store.find(name).await.unwrap().unwrap());
            }
            roles
        });
        let request = Request {
            user: "alice",
            verb: "read",
            kind,
            user_resource: &user,
            resource: &resource,
        };
        let decision = authorizer.decide(&roles, &request, &hooks).unwrap();
        assert!(decision.allowed);
    });

    let mut rego = regorus::Engine::new();
    rego.add_policy("portcullis.rego".into(), REGO.into())
        .unwrap();
    rego.add_data(regorus::Value::from_json_str(&rego_data(&all).to_string()).unwrap())
        .unwrap();
    let input = regorus::Value::from_json_str(
        &json!({"roles": CALLER_ROLES, "verb": "read", "kind": kind, "user": user}).to_string(),
    )
    .unwrap();
    let opa = time(|| {
        rego.set_input(input.clone());
        let allow = rego.eval_rule("data.portcullis.allow".into()).unwrap();
        assert_eq!(allow, regorus::Value::from(true));
    });
    [cedar, opa]
}

fn main() {
    println!(
        "{:<34} {:>10} {:>10} {:>12} {:>12}",
        "decision (read, caller has 3 roles)", "p50 us", "p99 us", "rego p50 us", "rego p99 us"
    );
    for with_where in [false, true] {
        let mut p50 = Vec::new();
        for n in [10, 1000] {
            let [(c50, c99), (r50, r99)] = run(n, with_where);
            let label = format!(
                "{n} roles, {}",
                if with_where {
                    "where clause"
                } else {
                    "no where"
                }
            );
            println!(
                "{label:<34} {:>10.2} {:>10.2} {:>12.2} {:>12.2}",
                us(c50),
                us(c99),
                us(r50),
                us(r99)
            );
            p50.push((c50, r50));
        }
        println!(
            "{:<34} {:>10.2} {:>10} {:>12.2}",
            "  ratio p50 1,000 / 10 roles",
            p50[1].0.as_secs_f64() / p50[0].0.as_secs_f64(),
            "",
            p50[1].1.as_secs_f64() / p50[0].1.as_secs_f64()
        );
    }
}
