//! Unit tests of application sessions against the in-memory store.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use portcullis_api::services::{
    App, Metadata, RoleConditions, RoleSpecV3, RoleV3, ServerSpecV2, ServerV2,
};
use portcullis_api::wrappers::StringValues;
use portcullis_ca::Identity;
use portcullis_store::MemoryBackend;

use super::*;

struct World {
    backend: Arc<dyn Backend>,
    keyring: KeyRing,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new() -> World {
        let backend: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
        let (keyring, dir) = crate::keyring::test_keyring("example").await;
        let server = ServerV2 {
            kind: "app_server".into(),
            version: "v2".into(),
            metadata: Some(Metadata {
                name: "host-1".into(),
                namespace: "default".into(),
                ..Metadata::default()
            }),
            spec: Some(ServerSpecV2 {
                apps: vec![
                    app("grafana", "grafana.example.com", "prod"),
                    app("wiki", "wiki.example.com", "dev"),
                ],
                ..ServerSpecV2::default()
            }),
            ..ServerV2::default()
        };
        let expires = SystemTime::now() + Duration::from_secs(600);
        Registry::new(&*backend, ServerKind::App)
            .upsert(server, expires)
            .await
            .unwrap();
        World {
            backend,
            keyring,
            _dir: dir,
        }
    }

    /// Opens a web session of `user` (an app session's parent).
    async fn web_session(&self, user: &str, now: SystemTime) -> WebSessionV2 {
        let user = portcullis_api::services::UserV2 {
            metadata: Some(Metadata {
                name: user.into(),
                ..Metadata::default()
            }),
            ..Default::default()
        };
        crate::web_sessions::create(&self.backend, &user, Duration::from_secs(60), now)
            .await
            .unwrap()
    }

    fn sessions(&self) -> AppSessions<'_> {
        AppSessions {
            backend: &self.backend,
            keyring: &self.keyring,
            cluster_name: "example",
        }
    }
}

fn app(name: &str, addr: &str, env: &str) -> App {
    App {
        name: name.into(),
        uri: format!("http://{name}.internal:8080"),
        public_addr: addr.into(),
        static_labels: BTreeMap::from([("env".into(), env.into())]),
        ..App::default()
    }
}

/// A role allowing apps labelled `env: allow` (all for `*`) and denying `env: deny`.
fn role(allow: &str, deny: Option<&str>) -> RoleV3 {
    let env = |value: &str| {
        BTreeMap::from([(
            if value == "*" { "*" } else { "env" }.to_owned(),
            StringValues {
                values: vec![value.to_owned()],
            },
        )])
    };
    RoleV3 {
        metadata: Some(Metadata {
            name: "apps".into(),
            ..Metadata::default()
        }),
        spec: Some(RoleSpecV3 {
            options: None,
            allow: Some(RoleConditions {
                app_labels: env(allow),
                ..RoleConditions::default()
            }),
            deny: Some(RoleConditions {
                app_labels: deny.map(env).unwrap_or_default(),
                ..RoleConditions::default()
            }),
        }),
        ..RoleV3::default()
    }
}

fn alice(now: SystemTime) -> Identity {
    let mut identity = Identity::new("alice", vec!["apps".into()]);
    identity.expires = Some(now + Duration::from_secs(3600));
    identity
}

fn request(addr: &str) -> NewAppSession {
    NewAppSession {
        public_addr: addr.into(),
        ..NewAppSession::default()
    }
}

fn everything() -> crate::resources::PageRequest {
    crate::resources::PageRequest::everything(100)
}

#[tokio::test]
async fn a_granted_app_gets_a_routed_certificate_and_a_token() {
    let world = World::new().await;
    let now = SystemTime::now();
    let roles = [role("dev", None)];
    // Derived from one of Alice's web sessions.
    let web = world.web_session("alice", now).await;
    let mut wanted = request("wiki.example.com");
    wanted.parent_session = web.metadata.unwrap().name;
    let session = world
        .sessions()
        .create(&alice(now), &roles, wanted, now)
        .await
        .unwrap();
    let id = session.metadata.as_ref().unwrap().name.clone();
    assert_eq!(id.len(), 32, "{id}");
    assert_eq!(session.kind, "app_session");
    let spec = session.spec.clone().unwrap();
    assert_eq!(spec.user, "alice");
    assert!(String::from_utf8_lossy(&spec.r#priv).contains("PRIVATE KEY"));
    let (_, pem) = x509_parser::pem::parse_x509_pem(&spec.tls_cert).unwrap();
    let identity = Identity::from_certificate_der(&pem.contents).unwrap();
    let route = identity.route_to_app.unwrap();
    assert_eq!(
        (
            route.session_id,
            route.public_addr.as_str(),
            route.cluster_name.as_str()
        ),
        (id.clone(), "wiki.example.com", "example")
    );
    // The session lasts as long as the caller's certificate, not the 12 h default.
    let expires = crate::resources::to_system_time(spec.expires.unwrap()).unwrap();
    let left = expires.duration_since(now).unwrap();
    assert!(left > Duration::from_secs(3599) && left <= Duration::from_secs(3600));
    assert_eq!(identity.expires.unwrap(), expires);
    let signers = world.keyring.current().unwrap();
    let public = signers.jwt.active.public_key_pem();
    let claims = portcullis_ca::verify_app_token(&spec.bearer_token, &public, now).unwrap();
    assert_eq!(claims.uri, "http://wiki.internal:8080");
    assert_eq!(claims.username, "alice");

    // Read back, listed for its owner only, removed.
    assert_eq!(get(&*world.backend, &id).await.unwrap().spec, session.spec);
    assert_eq!(
        list(&*world.backend, Some("alice"), &everything())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert!(list(&*world.backend, Some("bob"), &everything())
        .await
        .unwrap()
        .items
        .is_empty());
    let seen_by_admin = redacted_for(session.clone(), "admin").spec.unwrap();
    assert!(seen_by_admin.r#priv.is_empty() && seen_by_admin.bearer_token.is_empty());
    assert_eq!(
        redacted_for(session, "alice").spec.unwrap().r#priv,
        spec.r#priv
    );
    delete(&*world.backend, &id).await.unwrap();
    let e = get(&*world.backend, &id).await.unwrap_err();
    assert!(matches!(e, AppSessionError::NotFound(_)), "{e}");
}

#[tokio::test]
async fn refusals_name_the_reason_and_store_nothing() {
    let world = World::new().await;
    let now = SystemTime::now();
    let user = alice(now);
    let mut host = Identity::new("alice", vec![]);
    host.system_roles = vec!["Proxy".into()];
    let mut for_bob = request("wiki.example.com");
    for_bob.username = "bob".into();
    let mut leaf = request("wiki.example.com");
    leaf.cluster_name = "leaf".into();
    let mut bad_parent = request("wiki.example.com");
    bad_parent.parent_session = "a/b".into();
    let mut no_parent = request("wiki.example.com");
    no_parent.parent_session = "0123456789abcdef0123456789abcdef".into();
    // Bob's web session is not Alice's.
    let bobs = world.web_session("bob", now).await;
    let mut others_parent = request("wiki.example.com");
    others_parent.parent_session = bobs.metadata.unwrap().name;
    let everything_but_prod = [role("*", Some("prod"))];
    let cases: Vec<(Identity, NewAppSession, &str)> = vec![
        (
            user.clone(),
            for_bob,
            "may not create an app session for `bob`",
        ),
        (
            host,
            request("wiki.example.com"),
            "a user creates their own",
        ),
        (user.clone(), request(""), "PublicAddr is required"),
        (
            user.clone(),
            request("nope.example.com"),
            "no registered application",
        ),
        (user.clone(), leaf, "cluster `leaf`"),
        (user.clone(), bad_parent, "parent session: "),
        (
            user.clone(),
            no_parent,
            "parent session: web session `0123456789abcdef0123456789abcdef` of user `alice` not found",
        ),
        (user.clone(), others_parent, "parent session: web session"),
        (
            user,
            request("grafana.example.com"),
            "deny.app_labels matches",
        ),
    ];
    for (caller, request, needle) in cases {
        let e = world
            .sessions()
            .create(&caller, &everything_but_prod, request, now)
            .await
            .unwrap_err();
        assert!(e.to_string().contains(needle), "`{needle}` not in: {e}");
    }
    assert!(list(&*world.backend, None, &everything())
        .await
        .unwrap()
        .items
        .is_empty());
}

#[tokio::test]
async fn delete_all_removes_one_users_sessions_or_everyones() {
    let world = World::new().await;
    let now = SystemTime::now();
    let roles = [role("*", None)];
    let mut bob = alice(now);
    bob.username = "bob".into();
    for caller in [alice(now), alice(now), bob] {
        world
            .sessions()
            .create(&caller, &roles, request("wiki.example.com"), now)
            .await
            .unwrap();
    }
    assert_eq!(delete_all(&*world.backend, Some("alice")).await.unwrap(), 2);
    let left = list(&*world.backend, None, &everything())
        .await
        .unwrap()
        .items;
    assert_eq!(left.len(), 1);
    assert_eq!(owner(&left[0]), "bob");
    assert_eq!(delete_all(&*world.backend, None).await.unwrap(), 1);
    let e = delete(&*world.backend, "a/b").await.unwrap_err();
    assert!(matches!(e, AppSessionError::Invalid(_)), "{e}");
}
