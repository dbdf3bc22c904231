//! End-to-end: Kubernetes against the real binary — Kubernetes services stay registered by
//! announcing themselves again (`UpsertKubeService`) and vanish once they stop; listings
//! (`GetKubeServices`, `pctl kube ls`) show a user only the clusters their roles'
//! `kubernetes_labels` grant; user certificates for a cluster (`pctl auth sign
//! --kube-cluster`) carry the roles' Kubernetes groups and users, trait templates expanded
//! and denied ones left out, read back with `openssl x509 -text`; unknown or ungranted
//! clusters are refused.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use portcullis_api::auth::{
    DeleteAllKubeServicesRequest, DeleteKubeServiceRequest, GetKubeServicesRequest,
    UpsertKubeServiceRequest, UserCertsRequest,
};
use portcullis_api::services::{KubernetesCluster, ServerV2};
use portcullis_api::Client;
use portcullis_ca::ClientKey;
use portcullis_tests::{run_ok, s, write_file};
use tonic::Code;

use crate::presence::{eventually, refused, served, setup, TTL};

fn cluster(name: &str, env: &str) -> KubernetesCluster {
    KubernetesCluster {
        name: name.into(),
        static_labels: BTreeMap::from([("env".into(), env.into())]),
        ..KubernetesCluster::default()
    }
}

/// A Kubernetes service `name` serving `clusters`, expiring `ttl` from now (if given).
fn kube_service(name: &str, clusters: Vec<KubernetesCluster>, ttl: Option<Duration>) -> ServerV2 {
    let mut server = crate::presence::server_v2("kube_service", name, &[], ttl);
    server
        .spec
        .get_or_insert_with(Default::default)
        .kubernetes_clusters = clusters;
    server
}

async fn announce(client: &Client, server: ServerV2) -> Result<(), tonic::Status> {
    let request = UpsertKubeServiceRequest {
        server: Some(server),
    };
    client.rpc().upsert_kube_service(request).await.map(drop)
}

/// `(service, [clusters])` as `client` sees them.
async fn listed(client: &Client) -> Vec<(String, Vec<String>)> {
    let servers = client
        .rpc()
        .get_kube_services(GetKubeServicesRequest {})
        .await
        .unwrap()
        .into_inner()
        .servers;
    servers.iter().map(served).collect()
}

#[test]
fn kube_services_stay_by_announcing_again_and_vanish_without() {
    let t = setup("kube-1", "Kube");
    let (admin, host) = (&t.admin, &t.host);
    t.rt.block_on(async {
        let service = || kube_service("kube-1", vec![cluster("dev-k8s", "dev")], Some(TTL));
        let first = SystemTime::now() + TTL;
        while SystemTime::now() < first + Duration::from_secs(1) {
            announce(host, service()).await.unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        assert_eq!(
            listed(admin).await,
            [("kube-1".into(), vec!["dev-k8s".into()])]
        );
        refused(
            announce(host, kube_service("kube-2", vec![], None)).await,
            Code::PermissionDenied,
            "may only announce itself, not kube_service `kube-2`",
        );
        let twice = vec![cluster("dev-k8s", "dev"), cluster("dev-k8s", "prod")];
        refused(
            announce(admin, kube_service("kube-2", twice, None)).await,
            Code::InvalidArgument,
            "Kubernetes cluster `dev-k8s` is listed twice",
        );

        // It stops announcing: gone within its TTL.
        let stopped = Instant::now();
        let gone = eventually(TTL + Duration::from_secs(3), || async {
            listed(admin).await.is_empty()
        })
        .await;
        assert!(gone, "still listed: {:?}", listed(admin).await);
        assert!(stopped.elapsed() <= TTL + Duration::from_secs(1));

        for name in ["a", "b"] {
            announce(admin, kube_service(name, vec![cluster(name, "dev")], None))
                .await
                .unwrap();
        }
        let delete = DeleteKubeServiceRequest { name: "a".into() };
        admin
            .rpc()
            .delete_kube_service(delete.clone())
            .await
            .unwrap();
        refused(
            admin.rpc().delete_kube_service(delete).await,
            Code::NotFound,
            "kube_service `a`",
        );
        assert_eq!(listed(admin).await.len(), 1);
        let all = DeleteAllKubeServicesRequest {};
        admin.rpc().delete_all_kube_services(all).await.unwrap();
        assert!(listed(admin).await.is_empty());
    });
}

const KUBE_ROLES: &str = "kind: role
version: v3
metadata:
  name: kube-dev
spec:
  allow:
    kubernetes_labels: {env: dev}
    kubernetes_groups: ['{{internal.kubernetes_groups}}', viewers]
    kubernetes_users: ['{{internal.logins}}']
    rules:
    - resources: [kube_service]
      verbs: [list, read]
---
kind: role
version: v3
metadata:
  name: no-ops
spec:
  deny:
    kubernetes_groups: [ops]
---
kind: user
version: v2
metadata:
  name: kim
spec:
  roles: [kube-dev, no-ops]
  traits:
    kubernetes_groups: [devs, ops]
    logins: [kim-k8s]
";

/// A server with two Kubernetes services — `kube-a` (dev-k8s: dev, prod-k8s: prod) and
/// `kube-b` (prod-2: prod) — and the user of [`KUBE_ROLES`].
fn with_clusters() -> crate::presence::Setup {
    let t = setup("kube-1", "Kube");
    t.rt.block_on(async {
        let a = vec![cluster("dev-k8s", "dev"), cluster("prod-k8s", "prod")];
        announce(&t.admin, kube_service("kube-a", a, None))
            .await
            .unwrap();
        let b = vec![cluster("prod-2", "prod")];
        announce(&t.admin, kube_service("kube-b", b, None))
            .await
            .unwrap();
    });
    let roles = write_file(t.dir.path(), "kube-roles.yaml", KUBE_ROLES);
    t.server.pctl_ok(&["create", s(&roles)]);
    t
}

#[test]
fn listings_show_only_clusters_that_kubernetes_labels_grant() {
    let t = with_clusters();
    let out = t
        .server
        .pctl_as(t.dir.path(), "kim", &["kube", "ls", "--json"]);
    let servers: Vec<ServerV2> = serde_json::from_str(&portcullis_tests::ok(out)).unwrap();
    let seen: Vec<_> = servers.iter().map(served).collect();
    assert_eq!(seen, [("kube-a".to_owned(), vec!["dev-k8s".to_owned()])]);
    let table = portcullis_tests::ok(t.server.pctl_as(t.dir.path(), "kim", &["kube", "ls"]));
    let line = table.lines().find(|l| l.starts_with("dev-k8s")).unwrap();
    assert!(
        line.contains("env=dev") && line.contains("kube-a"),
        "{table}"
    );
    assert!(!table.contains("prod"), "{table}");
    // The admin and hosts see every cluster.
    let all = t.server.pctl_ok(&["kube", "ls"]);
    for name in ["dev-k8s", "prod-k8s", "prod-2"] {
        assert!(all.contains(name), "{name} missing in {all}");
    }
    let by_host = t.rt.block_on(listed(&t.host));
    assert_eq!(by_host.len(), 2);
}

#[test]
fn kube_certificates_carry_groups_users_and_the_cluster() {
    let t = with_clusters();
    let dir = t.dir.path();
    let out = dir.join("kim-k8s");
    t.server.pctl_ok(&[
        "auth",
        "sign",
        "--user",
        "kim",
        "--kube-cluster",
        "dev-k8s",
        "--format",
        "tls",
        "--out",
        s(&out),
    ]);
    let crt = dir.join("kim-k8s.crt");
    let text = run_ok(Command::new("openssl").args(["x509", "-noout", "-text", "-in", s(&crt)]));
    for part in [
        "1.3.9999.7.5 = kim-k8s",
        "1.3.9999.7.6 = devs",
        "1.3.9999.7.6 = viewers",
        "1.3.9999.7.7 = dev-k8s",
    ] {
        assert!(text.contains(part), "{part} missing in {text}");
    }
    assert!(
        !text.contains("1.3.9999.7.6 = ops"),
        "denied group in {text}"
    );

    // Unknown and ungranted clusters are refused.
    let request = |cluster: &str| UserCertsRequest {
        public_key: ClientKey::generate()
            .unwrap()
            .public_key_openssh()
            .unwrap()
            .into_bytes(),
        username: "kim".into(),
        kubernetes_cluster: cluster.into(),
        ..Default::default()
    };
    t.rt.block_on(async {
        refused(
            t.admin.rpc().generate_user_certs(request("nowhere")).await,
            Code::NotFound,
            "Kubernetes cluster `nowhere` is not served by any registered Kubernetes service",
        );
        refused(
            t.admin.rpc().generate_user_certs(request("prod-k8s")).await,
            Code::PermissionDenied,
            "Kubernetes cluster `prod-k8s`: denied: no role's allow.kubernetes_labels matches",
        );
    });
    let why = portcullis_tests::err(t.server.pctl(&[
        "auth",
        "sign",
        "--user",
        "kim",
        "--kube-cluster",
        "nowhere",
        "--out",
        s(&dir.join("x")),
    ]));
    assert!(why.contains("`nowhere` is not served"), "{why}");
}
