//! The user-certificate workflow against the in-memory store: which roles a certificate
//! carries, and which requests are refused.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use portcullis_api::services::{
    AccessRequestV3, RequestState, RoleConditions, RoleV3, UserSpecV2, UserV2,
};
use portcullis_ca::ClientKey;
use portcullis_store::{Backend, MemoryBackend};

use super::user::{issue, UserCertsParams, UserIssuer};
use super::IssueError;
use crate::access_requests::{new_request, resolve, Resolution, DEFAULT_PENDING_TTL};
use crate::keyring::KeyRing;
use crate::resources::{Collection, Resource};

struct World {
    keyring: KeyRing,
    users: Collection<UserV2>,
    roles: Collection<RoleV3>,
    requests: Collection<AccessRequestV3>,
    backend: Arc<dyn Backend>,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new() -> World {
        let backend: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
        let (keyring, dir) = crate::keyring::test_keyring("example").await;
        let world = World {
            keyring,
            users: Collection::new(backend.clone()),
            roles: Collection::new(backend.clone()),
            requests: Collection::new(backend.clone()),
            backend,
            _dir: dir,
        };
        world.roles.create(&role("dev", &["root"])).await.unwrap();
        world
            .roles
            .create(&role("dba", &["postgres"]))
            .await
            .unwrap();
        world.users.create(&user("alice", &["dev"])).await.unwrap();
        world
            .users
            .create(&user("bob", &["dev", "ghost"]))
            .await
            .unwrap();
        world
    }

    fn issuer(&self) -> UserIssuer<'_> {
        UserIssuer {
            keyring: &self.keyring,
            cluster_name: "example",
            users: &self.users,
            roles: &self.roles,
            access_requests: &self.requests,
            backend: &*self.backend,
        }
    }
}

fn role(name: &str, logins: &[&str]) -> RoleV3 {
    let allow = RoleConditions {
        logins: logins.iter().map(|l| (*l).to_owned()).collect(),
        ..Default::default()
    };
    crate::access_requests::testing::role(name, allow)
}

fn user(name: &str, roles: &[&str]) -> UserV2 {
    let mut user = UserV2 {
        spec: Some(UserSpecV2 {
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            ..Default::default()
        }),
        ..Default::default()
    };
    user.metadata_mut().name = name.into();
    user
}

fn params(username: &str) -> UserCertsParams {
    let key = ClientKey::generate().unwrap();
    UserCertsParams {
        username: username.into(),
        public_key: key.public_key_openssh().unwrap().into_bytes(),
        ..Default::default()
    }
}

/// The roles of the TLS certificate `pem`.
fn tls_roles(pem: &str) -> Vec<String> {
    let (_, doc) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
    portcullis_ca::Identity::from_certificate_der(&doc.contents)
        .unwrap()
        .roles
}

#[tokio::test]
async fn a_user_gets_its_roles_and_logins() {
    let world = World::new().await;
    let now = SystemTime::now();
    let certs = issue(&world.issuer(), &params("alice"), now).await.unwrap();
    let ssh = certs.ssh.expect("alice has logins: an SSH certificate");
    assert!(ssh.contains("-cert-v01@openssh.com"), "{ssh}");
    assert_eq!(tls_roles(&certs.tls), ["dev"]);
    assert!(certs.expires > now && certs.expires <= now + super::user::MAX_USER_TTL);
}

#[tokio::test]
async fn bad_requests_are_refused_with_the_reason() {
    let world = World::new().await;
    let now = SystemTime::now();
    let mut routed = params("alice");
    routed.route_to_cluster = "elsewhere".into();
    let mut kube = params("alice");
    kube.kubernetes_cluster = "k8s".into();
    let mut no_key = params("alice");
    no_key.public_key.clear();
    let cases = [
        (params("bob"), "holds role `ghost`, which does not exist"),
        (routed, "unknown cluster `elsewhere` to route to"),
        (
            kube,
            "Kubernetes cluster `k8s` is not served by any registered Kubernetes service",
        ),
        (no_key, "no public key to sign was given"),
        (params("nobody"), "user `nobody` not found"),
    ];
    for (params, needle) in cases {
        let err = issue(&world.issuer(), &params, now).await.unwrap_err();
        assert!(
            err.to_string().contains(needle),
            "`{needle}` missing from: {err}"
        );
    }
}

#[tokio::test]
async fn approved_requests_add_their_roles_until_they_expire() {
    let world = World::new().await;
    let now = SystemTime::now();
    let access_until = now + Duration::from_secs(1800);
    let mut request = new_request(
        "alice",
        vec!["dba".into()],
        "ticket 7".into(),
        Some(access_until),
        now,
        DEFAULT_PENDING_TTL,
    )
    .unwrap();
    world.requests.create(&request).await.unwrap();
    let id = request.name().to_owned();
    let mut asking = params("alice");
    asking.access_requests = vec![id.clone()];

    // Pending: refused.
    let err = issue(&world.issuer(), &asking, now).await.unwrap_err();
    assert!(matches!(err, IssueError::Denied(_)), "{err}");
    assert!(
        err.to_string().contains("is pending, not approved"),
        "{err}"
    );

    // Approved: the role is added and the certificate ends with the access.
    request = world.requests.get(&id).await.unwrap();
    let approve = Resolution {
        state: RequestState::Approved,
        roles: vec![],
        reason: "ok".into(),
        annotations: Default::default(),
    };
    resolve(&mut request, approve).unwrap();
    world.requests.update(&request).await.unwrap();
    let certs = issue(&world.issuer(), &asking, now).await.unwrap();
    assert_eq!(tls_roles(&certs.tls), ["dev", "dba"]);
    assert!(certs.expires <= access_until, "capped by the access expiry");

    // Someone else's request: refused.
    world.users.create(&user("carol", &["dev"])).await.unwrap();
    let mut carol = params("carol");
    carol.access_requests = vec![id];
    let err = issue(&world.issuer(), &carol, now).await.unwrap_err();
    assert!(err.to_string().contains("belongs to another user"), "{err}");
}
