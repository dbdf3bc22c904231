//! The YAML resources of the reference documents load into the generated
//! types, and survive a round trip.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::services::{RoleConditions, RoleV3, UserV2};
use crate::wrappers::StringValues;

/// `rscs.yaml` from the API reference's authentication section.
const RSCS_YAML: &str = r#"kind: user
metadata:
  name: access-plugin
spec:
  roles: ['access-plugin']
version: v2
---
kind: role
metadata:
  name: access-plugin
spec:
  allow:
    rules:
      - resources: ['access_request']
        verbs: ['list','read','update']
    # teleport currently refuses to issue certs for a user with 0 logins,
    # this restriction may be lifted in future versions.
    logins: ['access-plugin']
version: v3
"#;

/// `api-admin.yaml` from the full API reference.
const API_ADMIN_YAML: &str = r#"kind: user
metadata:
  name: api-admin
spec:
  roles: ['api-admin']
version: v2
---
kind: role
metadata:
  name: api-admin
spec:
  # allow section declares a list of resource/verb combinations that are
  # allowed for the users of this role. By default nothing is allowed.
  allow:
    rules:
      # these rules are intentionally overly permissive to allow all crud operations
      # for the api examples, but in practice, you should have as few rules/verbs
      # as possible in a role. Be especially careful with cert_authority, as it
      # is responsible for maintaining your Teleport cluster's security.
      - resources: ['cert_authority']
        verbs: ['create', 'list', 'read', 'update', 'delete']
      - resources: ['role']
        verbs: ['create', 'list', 'read', 'update', 'delete']
      - resources: ['token']
        verbs: ['create', 'list', 'read', 'update', 'delete']
      - resources: ['access_request']
        verbs: ['create', 'list', 'read', 'update', 'delete']
      - resources: ['remote_cluster']
        verbs: ['create', 'list', 'read', 'update', 'delete']
    # teleport currently refuses to issue certs for a user with 0 logins,
    # this restriction may be lifted in future versions.
    logins: ['api-admin']
    request:
      roles: ['*']
  # the deny section uses the identical format as the 'allow' section.
  # the deny rules always override allow rules.
  deny:
    node_labels:
      '*': '*'
version: v3
"#;

/// The auditor role, with the reference's `deny: {}` typo corrected.
const AUDITOR_YAML: &str = r#"kind: role
version: v3
metadata:
  name: auditor
spec:
  options:
    max_session_ttl: 8h
  allow:
    rules:
    - resources: [session]
      verbs: [list, read]
  deny:
    node_labels:
      '*': '*'
"#;

/// The access workflow roles, whose elided sections are YAML nulls.
const WORKFLOW_YAML: &str = r#"kind: role
metadata:
  name: contractor
spec:
  options:
    # ...
  allow:
    request:
      roles: ['dba']
    # ...
  deny:
    # ...
---
kind: role
metadata:
  name: dba
spec:
  options:
    # ...
    # Only allows the contractor to use this role for 1 hour from time of request.
    max_session_ttl: 1h
  allow:
    # ...
  deny:
    # ...
---
kind: role
metadata:
  name: request-admin
spec:
  options:
    # ...
  allow:
    rules:
    - resources: [access_request]
      verbs: [list, read, update, delete]
  deny:
    # ...
"#;

const HOUR: i64 = 3_600_000_000_000;

/// Every document of a multi-document YAML stream, as `T`.
fn docs<T: DeserializeOwned>(yaml: &str) -> Vec<T> {
    serde_norway::Deserializer::from_str(yaml)
        .map(|doc| T::deserialize(doc).unwrap())
        .collect()
}

/// The first and second documents, as a user and a role.
fn user_and_role(yaml: &str) -> (UserV2, RoleV3) {
    let mut stream = serde_norway::Deserializer::from_str(yaml);
    let user = UserV2::deserialize(stream.next().unwrap()).unwrap();
    let role = RoleV3::deserialize(stream.next().unwrap()).unwrap();
    assert!(stream.next().is_none());
    (user, role)
}

fn allow(role: &RoleV3) -> &RoleConditions {
    role.spec.as_ref().unwrap().allow.as_ref().unwrap()
}

fn deny(role: &RoleV3) -> &RoleConditions {
    role.spec.as_ref().unwrap().deny.as_ref().unwrap()
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

/// YAML -> struct -> YAML -> struct gives the same struct.
fn assert_round_trip<T>(value: &T)
where
    T: serde::Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let yaml = serde_norway::to_string(value).unwrap();
    let again: T = serde_norway::from_str(&yaml).unwrap();
    assert_eq!(&again, value, "round trip through:\n{yaml}");
    let json = serde_json::to_string(value).unwrap();
    let again: T = serde_json::from_str(&json).unwrap();
    assert_eq!(&again, value, "round trip through:\n{json}");
}

#[test]
fn rscs_yaml_loads() {
    let (user, role) = user_and_role(RSCS_YAML);
    assert_eq!(user.kind, "user");
    assert_eq!(user.version, "v2");
    assert_eq!(user.metadata.as_ref().unwrap().name, "access-plugin");
    assert_eq!(user.spec.as_ref().unwrap().roles, ["access-plugin"]);

    assert_eq!(role.kind, "role");
    assert_eq!(role.version, "v3");
    assert_eq!(role.metadata.as_ref().unwrap().name, "access-plugin");
    let allow = allow(&role);
    assert_eq!(allow.logins, ["access-plugin"]);
    assert_eq!(allow.rules.len(), 1);
    assert_eq!(allow.rules[0].resources, ["access_request"]);
    assert_eq!(allow.rules[0].verbs, ["list", "read", "update"]);
    assert!(role.spec.as_ref().unwrap().deny.is_none());

    assert_round_trip(&user);
    assert_round_trip(&role);
}

#[test]
fn api_admin_yaml_loads() {
    let (user, role) = user_and_role(API_ADMIN_YAML);
    assert_eq!(user.metadata.as_ref().unwrap().name, "api-admin");
    assert_eq!(user.spec.as_ref().unwrap().roles, ["api-admin"]);

    let allow = allow(&role);
    let kinds: Vec<_> = allow
        .rules
        .iter()
        .map(|r| r.resources[0].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "cert_authority",
            "role",
            "token",
            "access_request",
            "remote_cluster"
        ]
    );
    for rule in &allow.rules {
        assert_eq!(rule.verbs, ["create", "list", "read", "update", "delete"]);
        assert!(rule.r#where.is_empty());
    }
    assert_eq!(allow.logins, ["api-admin"]);
    assert_eq!(allow.request.as_ref().unwrap().roles, ["*"]);
    let deny = deny(&role);
    assert_eq!(deny.node_labels.len(), 1);
    assert_eq!(deny.node_labels["*"], StringValues::from(["*"]));

    assert_round_trip(&user);
    assert_round_trip(&role);
}

#[test]
fn auditor_yaml_loads() {
    let role: RoleV3 = serde_norway::from_str(AUDITOR_YAML).unwrap();
    assert_eq!(role.metadata.as_ref().unwrap().name, "auditor");
    let spec = role.spec.as_ref().unwrap();
    assert_eq!(spec.options.as_ref().unwrap().max_session_ttl, 8 * HOUR);
    assert_eq!(allow(&role).rules[0].resources, ["session"]);
    assert_eq!(allow(&role).rules[0].verbs, ["list", "read"]);
    assert_eq!(deny(&role).node_labels["*"].values, ["*"]);
    assert_round_trip(&role);

    let yaml = serde_norway::to_string(&role).unwrap();
    assert!(yaml.contains("max_session_ttl: 8h\n"), "{yaml}");
    assert!(yaml.contains("node_labels:"), "{yaml}");
}

#[test]
fn workflow_roles_with_empty_sections_load() {
    let roles: Vec<RoleV3> = docs(WORKFLOW_YAML);
    assert_eq!(roles.len(), 3);
    let contractor = &roles[0];
    assert!(contractor.spec.as_ref().unwrap().options.is_none());
    assert!(contractor.spec.as_ref().unwrap().deny.is_none());
    assert_eq!(allow(contractor).request.as_ref().unwrap().roles, ["dba"]);
    let dba = &roles[1];
    let options = dba.spec.as_ref().unwrap().options.as_ref().unwrap();
    assert_eq!(options.max_session_ttl, HOUR);
    assert_eq!(
        allow(&roles[2]).rules[0].verbs,
        ["list", "read", "update", "delete"]
    );
    for role in &roles {
        assert_round_trip(role);
    }
}

#[test]
fn unknown_fields_are_refused_by_name() {
    let yaml = "kind: role\nversion: v3\nmetadata:\n  name: r\nspec:\n  allow:\n    nodelabels:\n      a: b\n";
    let err = serde_norway::from_str::<RoleV3>(yaml)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `nodelabels`"), "{err}");

    let yaml = "kind: user\nversion: v2\nmetadata:\n  name: u\n  nmae: x\n";
    let err = serde_norway::from_str::<UserV2>(yaml)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `nmae`"), "{err}");
}

#[test]
fn teleport_yaml_names_are_used() {
    let yaml = r#"
kind: role
version: v3
metadata:
  name: everything
  description: all the names
  labels: {env: prod}
  expires: 2026-11-21T19:00:00Z
  id: 7
spec:
  options:
    forward_agent: true
    max_session_ttl: 30h
    port_forwarding: false
    cert_format: standard
    client_idle_timeout: 1h30m
    disconnect_expired_cert: no
    enhanced_recording: [command, network]
    permit_x11_forwarding: yes
    max_connections: 3
    max_sessions: 10
  allow:
    logins: ['{{internal.logins}}', root]
    namespaces: [default]
    node_labels: {env: [prod, staging]}
    app_labels: {'*': '*'}
    cluster_labels: {product: A}
    kubernetes_labels: {region: '*'}
    kubernetes_groups: [system:masters]
    kubernetes_users: [alice]
    request:
      roles: [dba]
      claims_to_roles:
        - {claim: groups, value: admins, roles: [dba]}
    rules:
      - resources: [role]
        verbs: [read]
        where: contains(user.spec.traits["groups"], "prod")
        actions: ['log("info", "matched")']
"#;
    let role: RoleV3 = serde_norway::from_str(yaml).unwrap();
    let meta = role.metadata.as_ref().unwrap();
    assert_eq!(meta.labels["env"], "prod");
    assert_eq!(meta.expires.unwrap().seconds, 1_795_287_600);
    assert_eq!(meta.id, 7);
    let options = role.spec.as_ref().unwrap().options.as_ref().unwrap();
    assert!(options.forward_agent);
    assert_eq!(options.max_session_ttl, 30 * HOUR);
    assert_eq!(options.port_forwarding, Some(false));
    assert_eq!(options.certificate_format, "standard");
    assert_eq!(options.client_idle_timeout, HOUR + HOUR / 2);
    assert!(!options.disconnect_expired_cert);
    assert_eq!(options.bpf, ["command", "network"]);
    assert!(options.permit_x11_forwarding);
    assert_eq!((options.max_connections, options.max_sessions), (3, 10));
    let allow = allow(&role);
    assert_eq!(
        allow.node_labels["env"].values,
        strings(&["prod", "staging"])
    );
    assert_eq!(allow.cluster_labels["product"].values, ["A"]);
    assert_eq!(allow.kube_groups, ["system:masters"]);
    assert_eq!(allow.kube_users, ["alice"]);
    assert_eq!(
        allow.request.as_ref().unwrap().claims_to_roles[0].claim,
        "groups"
    );
    assert_eq!(
        allow.rules[0].r#where,
        r#"contains(user.spec.traits["groups"], "prod")"#
    );
    assert_round_trip(&role);

    let out = serde_norway::to_string(&role).unwrap();
    for key in [
        "kubernetes_groups:",
        "kubernetes_users:",
        "cert_format: standard",
        "enhanced_recording:",
        "max_session_ttl: 30h",
        "client_idle_timeout: 1h30m",
        "port_forwarding: false",
        "permit_x11_forwarding: true",
        "expires: 2026-11-21T19:00:00Z",
        "where:",
    ] {
        assert!(out.contains(key), "`{key}` missing from:\n{out}");
    }
    // Unset fields are left out.
    assert!(!out.contains("sub_kind"), "{out}");
    assert!(!out.contains("deny"), "{out}");
}

#[test]
fn user_traits_accept_string_or_list() {
    let yaml = r#"
kind: user
version: v2
metadata: {name: alice}
spec:
  roles: [access]
  traits:
    logins: [root, alice]
    kubernetes_groups: developers
  created_by:
    time: 2026-01-02T03:04:05.123Z
    user: {name: admin}
  local_auth:
    password_hash: aGFzaA==
"#;
    let user: UserV2 = serde_norway::from_str(yaml).unwrap();
    let spec = user.spec.as_ref().unwrap();
    assert_eq!(spec.traits["logins"].values, ["root", "alice"]);
    assert_eq!(spec.traits["kubernetes_groups"].values, ["developers"]);
    let created = spec.created_by.as_ref().unwrap();
    assert_eq!(created.time.unwrap().nanos, 123_000_000);
    assert_eq!(created.user.as_ref().unwrap().name, "admin");
    assert_eq!(spec.local_auth.as_ref().unwrap().password_hash, b"hash");
    assert_round_trip(&user);

    let json = serde_json::to_value(&user).unwrap();
    assert_eq!(
        json["spec"]["traits"]["kubernetes_groups"],
        serde_json::json!(["developers"])
    );
    assert_eq!(
        json["spec"]["created_by"]["time"],
        "2026-01-02T03:04:05.123Z"
    );
    assert_eq!(json["spec"]["local_auth"]["password_hash"], "aGFzaA==");
}

#[test]
fn resources_survive_protobuf_encoding() {
    use prost::Message as _;
    let (_, role) = user_and_role(API_ADMIN_YAML);
    let bytes = role.encode_to_vec();
    assert_eq!(RoleV3::decode(bytes.as_slice()).unwrap(), role);
}
