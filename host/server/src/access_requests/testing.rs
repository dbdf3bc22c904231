//! What the workflow tests share: a [`State`] over the in-memory store, roles that request
//! and review, identities, and a WAT policy module that always answers one verdict.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use portcullis_api::services::{
    AccessRequestConditions, AccessRequestPolicySpecV1, AccessRequestPolicyV1, AccessRequestV3,
    AccessReviewConditions, AccessReviewThreshold, Metadata, PolicyModuleSpecV1, PolicyModuleV1,
    RoleConditions, RoleSpecV3, RoleV3,
};
use portcullis_ca::Identity;
use portcullis_store::{Backend, MemoryBackend};

use super::{new_request, Actor, Context};
use crate::keyring::Settings;
use crate::modules::Policies;
use crate::state::State;

/// A state over a fresh in-memory store (the directory holds the module cache).
pub struct Fixture {
    /// The state.
    pub state: State,
    _dir: tempfile::TempDir,
}

impl Fixture {
    /// The workflows' context.
    pub fn context(&self) -> Context<'_> {
        Context::from(&self.state)
    }
}

/// A fresh state, with the roles `dba` and `web` stored.
pub async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let backend: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
    let settings = Settings {
        data_dir: dir.path().to_owned(),
        dns_names: Vec::new(),
        ips: Vec::new(),
        algorithms: Default::default(),
        custody: Default::default(),
    };
    let policies = Policies::new(
        dir.path().join("cache"),
        portcullis_policy::Limits::default(),
        portcullis_policy::ValidationLimits::default(),
        backend.clone(),
    )
    .unwrap();
    let state = State::new("test".into(), backend, settings, policies);
    for name in ["dba", "web"] {
        let role = role(name, RoleConditions::default());
        state.roles.create(&role).await.unwrap();
    }
    Fixture { state, _dir: dir }
}

/// A role allowing `allow`.
pub fn role(name: &str, allow: RoleConditions) -> RoleV3 {
    RoleV3 {
        metadata: Some(Metadata {
            name: name.to_owned(),
            ..Metadata::default()
        }),
        spec: Some(RoleSpecV3 {
            options: None,
            allow: Some(allow),
            deny: None,
        }),
        ..RoleV3::default()
    }
}

/// A role that may request `roles`, reviewed `approve`/`deny` times (0: the default).
pub fn requester_role(roles: &[&str], approve: u32, deny: u32) -> RoleV3 {
    let thresholds = if approve == 0 && deny == 0 {
        Vec::new()
    } else {
        vec![AccessReviewThreshold {
            name: format!("{approve}-{deny}"),
            approve,
            deny,
        }]
    };
    let allow = RoleConditions {
        request: Some(AccessRequestConditions {
            roles: strings(roles),
            thresholds,
            ..AccessRequestConditions::default()
        }),
        ..RoleConditions::default()
    };
    role("requester", allow)
}

/// A role that may review requests for `roles`.
pub fn reviewer_role(roles: &[&str]) -> RoleV3 {
    let allow = RoleConditions {
        review_requests: Some(AccessReviewConditions {
            roles: strings(roles),
        }),
        ..RoleConditions::default()
    };
    role("reviewer", allow)
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// An identity named `name` (no traits).
pub fn identity(name: &str) -> Identity {
    Identity::new(name, Vec::new())
}

/// `identity` acting with `roles`.
pub fn actor<'a>(identity: &'a Identity, roles: &'a [RoleV3]) -> Actor<'a> {
    Actor { identity, roles }
}

/// A request of `user` for `roles` as a client sends it (no ID).
pub fn asked(user: &str, roles: &[&str]) -> AccessRequestV3 {
    let now = std::time::SystemTime::now();
    let ttl = super::DEFAULT_PENDING_TTL;
    let mut r = new_request(user, strings(roles), "ticket 42".into(), None, now, ttl).unwrap();
    r.metadata = None;
    r
}

/// Stores the request of `user` for `roles` (as `requester` with `roles_held`) and
/// answers it.
pub async fn created(
    context: &Context<'_>,
    user: &str,
    roles: &[&str],
    roles_held: &[RoleV3],
) -> AccessRequestV3 {
    let who = identity(user);
    let requester = actor(&who, roles_held);
    context
        .create(asked(user, roles), requester, serde_json::Value::Null)
        .await
        .unwrap()
}

/// Uploads a module named `name` whose `access_request` hook always answers `verdict`,
/// and stores a policy `name` naming it, covering every request.
pub async fn always(fixture: &Fixture, name: &str, verdict: &str) {
    let answer = format!(r#"{{"verdict":"{verdict}","reason":"{name} says {verdict}"}}"#);
    let escaped = answer.replace('"', "\\\"");
    let wat = format!(
        r#"(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_alloc") (param $len i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $len)))
    (local.get $p))
  (func (export "portcullis_access_request") (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.const 64) (i64.const 32)) (i64.const {len})))
  (data (i32.const 64) "{escaped}"))"#,
        len = answer.len()
    );
    let meta = format!(
        r#"{{"abi":1,"name":"{name}","version":"1.0.0","hooks":["access_request"],"capabilities":[]}}"#
    );
    let wasm = portcullis_policy::pack(&wat::parse_str(&wat).unwrap(), &meta).unwrap();
    let module = PolicyModuleV1 {
        metadata: Some(Metadata {
            name: name.to_owned(),
            ..Metadata::default()
        }),
        spec: Some(PolicyModuleSpecV1 {
            wasm,
            ..PolicyModuleSpecV1::default()
        }),
        ..PolicyModuleV1::default()
    };
    fixture.state.policies.upsert(module).await.unwrap();
    fixture
        .context()
        .upsert_policy(policy(name, name), "admin")
        .await
        .unwrap();
}

/// A policy `name` naming `module`, covering every request.
pub fn policy(name: &str, module: &str) -> AccessRequestPolicyV1 {
    AccessRequestPolicyV1 {
        metadata: Some(Metadata {
            name: name.to_owned(),
            ..Metadata::default()
        }),
        spec: Some(AccessRequestPolicySpecV1 {
            module: module.to_owned(),
            ..AccessRequestPolicySpecV1::default()
        }),
        ..AccessRequestPolicyV1::default()
    }
}

/// The types of the audit events written so far, in order.
pub async fn events(fixture: &Fixture) -> Vec<String> {
    let query = crate::audit::Query {
        since: None,
        start_after: None,
        limit: 100,
        event: None,
        user: None,
    };
    let (found, _) = fixture.state.audit.search(&query).await.unwrap();
    found.into_iter().map(|e| e.event).collect()
}

/// Stores a request of `carl` for `dba`, reviewed `approve`/`deny` times (0: the default).
pub async fn carl_asks_dba(context: &Context<'_>, approve: u32, deny: u32) -> AccessRequestV3 {
    let roles = [requester_role(&["dba"], approve, deny)];
    created(context, "carl", &["dba"], &roles).await
}
