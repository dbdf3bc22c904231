//! High availability: the diagnostics listener (plain HTTP/1.1 on `diag_addr`) — liveness,
//! readiness that follows etcd, and the metrics of calls, decisions, policy evaluations,
//! store operations and watchers.

use std::time::Duration;

use portcullis_tests::{http_get, role, rt, write_file, HttpResponse, Server};

use super::{eventually, kind, Ha};

/// The metric families every server exports (OpenMetrics names, without `_total`).
const FAMILIES: [&str; 6] = [
    "portcullis_rpc_requests",
    "portcullis_rpc_duration_seconds",
    "portcullis_decisions",
    "portcullis_policy_evaluations",
    "portcullis_store_operation_duration_seconds",
    "portcullis_watchers",
];

/// `GET path` from `server`'s diagnostics listener.
fn get(server: &Server, path: &str) -> HttpResponse {
    let addr = server
        .diag_addr
        .as_deref()
        .expect("the server printed `diagnostics on IP:PORT`");
    http_get(addr, path).unwrap_or_else(|e| panic!("GET {path} from {addr}: {e}"))
}

/// The samples of `metrics` whose name is `name` (with or without labels).
fn samples<'m>(metrics: &'m str, name: &str) -> Vec<&'m str> {
    metrics
        .lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .collect()
}

/// The value of a sample line.
fn value(sample: &str) -> f64 {
    let text = sample.rsplit(' ').next().unwrap_or_default();
    text.parse()
        .unwrap_or_else(|_| panic!("a sample value: {sample}"))
}

#[test]
fn health_readiness_and_metrics_and_readiness_follows_the_store() {
    let mut ha = Ha::start("");
    for (server, who) in [(&ha.a, "A"), (&ha.b, "B")] {
        let health = get(server, "/healthz");
        assert_eq!((health.status, health.body.trim()), (200, "ok"), "{who}");
        let ready = get(server, "/readyz");
        assert_eq!((ready.status, ready.body.trim()), (200, "ready"), "{who}");
        let nothing = get(server, "/nothing-here");
        assert_eq!(nothing.status, 404, "{who}: {nothing:?}");
    }

    // A call shows in the call counter with its method and code; every family is there,
    // and an open watch counts.
    // A rule with a `where` clause: checking it at upload runs the `predicate` module.
    let dir = tempfile::tempdir().unwrap();
    let rule = write_file(
        dir.path(),
        "where.yaml",
        "kind: role\nversion: v3\nmetadata:\n  name: team-readers\nspec:\n  allow:\n    rules:\n    - resources: [role]\n      verbs: [read]\n      where: contains(user.spec.traits[\"team\"], \"dba\")\n",
    );
    ha.a.pctl_ok(&["create", rule.to_str().unwrap()]);
    let rt = rt();
    let _watch = rt.block_on(async {
        let admin = ha.a.admin_client().await;
        admin.upsert_role(role("web")).await.unwrap();
        admin.get_role("web").await.unwrap();
        admin.watch_events(vec![kind("role")]).await.unwrap()
    });
    let metrics = get(&ha.a, "/metrics");
    assert_eq!(metrics.status, 200);
    let text = metrics.body;
    for family in FAMILIES {
        assert!(text.contains(family), "family {family} in:\n{text}");
    }
    let calls = samples(&text, "portcullis_rpc_requests_total");
    let get_role: Vec<&&str> = calls
        .iter()
        .filter(|s| s.contains(r#"method="GetRole""#))
        .collect();
    assert!(
        !get_role.is_empty() && get_role.iter().all(|s| s.contains("code=")),
        "GetRole counted with its code: {calls:?}"
    );
    assert!(
        get_role.iter().map(|s| value(s)).sum::<f64>() >= 1.0,
        "{get_role:?}"
    );
    assert!(
        samples(&text, "portcullis_store_operation_duration_seconds_count")
            .iter()
            .any(|s| s.contains("op=") && s.contains("result=")),
        "store operations timed by op and result:\n{text}"
    );
    let watchers = samples(&text, "portcullis_watchers");
    assert!(
        watchers.iter().map(|s| value(s)).sum::<f64>() >= 1.0,
        "the open watch counts: {watchers:?}"
    );

    // Without etcd the servers live but are not ready, and say why.
    ha.etcd.kill_all();
    for (server, who) in [(&ha.a, "A"), (&ha.b, "B")] {
        let ready = eventually(
            &format!("{who} is not ready without etcd"),
            Duration::from_secs(30),
            || {
                let ready = get(server, "/readyz");
                match ready.status {
                    503 => Ok(ready),
                    _ => Err(format!("{ready:?}")),
                }
            },
        );
        let why = ready.body.to_lowercase();
        assert!(
            why.contains("etcd") || why.contains("store"),
            "{who} says why: {ready:?}"
        );
        assert_eq!(get(server, "/healthz").status, 200, "{who} lives");
    }
    // With etcd back, ready again by themselves.
    ha.etcd.restart_all();
    for (server, who) in [(&ha.a, "A"), (&ha.b, "B")] {
        eventually(
            &format!("{who} is ready again"),
            Duration::from_secs(60),
            || {
                let ready = get(server, "/readyz");
                match ready.status {
                    200 => Ok(()),
                    _ => Err(format!("{ready:?}")),
                }
            },
        );
    }
}
