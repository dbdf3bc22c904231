//! Roles that exist without being stored and cannot be created, changed or deleted: `admin`
//! (held by the bootstrap admin identity; a user gets it only if its spec names it) and the
//! system roles of hosts, each with the least privileges its RPCs need.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock};

use portcullis_api::services::{Metadata, RoleConditions, RoleOptions, RoleSpecV3, RoleV3, Rule};
use portcullis_api::wrappers::StringValues;

/// The built-in administrator role.
pub const ADMIN: &str = "admin";

/// The role every authenticated caller holds implicitly: reading the public parts of the
/// cluster's certificate authorities and its name (what a client needs to trust the
/// cluster), as Teleport's implicit rules allow.
pub const IMPLICIT: &str = "default-implicit-role";

/// System roles of hosts (as in host certificates and provisioning tokens), case as issued:
/// every role the reference lists for tokens, plus `Db` and `WindowsDesktop`.
pub const SYSTEM_ROLES: [&str; 14] = [
    "Auth",
    "Web",
    "Node",
    "Proxy",
    "Admin",
    "ProvisionToken",
    "Trusted_cluster",
    "Signup",
    "Nop",
    "RemoteProxy",
    "Kube",
    "App",
    "Db",
    "WindowsDesktop",
];

/// Longest certificate lifetime of the admin role (30 hours), in nanoseconds.
const ADMIN_MAX_SESSION_TTL_NANOS: i64 = 30 * 3600 * 1_000_000_000;

/// A rule naming `verbs` on `resources`, without `where` clause or actions.
pub fn rule(resources: &[&str], verbs: &[&str]) -> Rule {
    Rule {
        resources: resources.iter().map(|s| (*s).to_owned()).collect(),
        verbs: verbs.iter().map(|s| (*s).to_owned()).collect(),
        r#where: String::new(),
        actions: Vec::new(),
    }
}

fn everything() -> BTreeMap<String, StringValues> {
    BTreeMap::from([(
        "*".to_owned(),
        StringValues {
            values: vec!["*".to_owned()],
        },
    )])
}

fn role(name: &str, options: RoleOptions, allow: RoleConditions) -> RoleV3 {
    RoleV3 {
        kind: "role".to_owned(),
        sub_kind: String::new(),
        version: "v3".to_owned(),
        metadata: Some(Metadata {
            name: name.to_owned(),
            namespace: "default".to_owned(),
            description: format!("built-in role `{name}`"),
            ..Metadata::default()
        }),
        spec: Some(RoleSpecV3 {
            options: Some(options),
            allow: Some(allow),
            deny: Some(RoleConditions::default()),
        }),
    }
}

/// `admin`: every verb on every resource, every node, app, cluster and Kubernetes cluster,
/// with the logins of the user's `logins` trait.
pub fn admin() -> RoleV3 {
    role(
        ADMIN,
        RoleOptions {
            forward_agent: true,
            max_session_ttl: ADMIN_MAX_SESSION_TTL_NANOS,
            port_forwarding: Some(true),
            certificate_format: "standard".to_owned(),
            ..RoleOptions::default()
        },
        RoleConditions {
            logins: vec!["{{internal.logins}}".to_owned()],
            namespaces: vec!["*".to_owned()],
            node_labels: everything(),
            app_labels: everything(),
            cluster_labels: everything(),
            kubernetes_labels: everything(),
            rules: vec![rule(&["*"], &["*"])],
            ..RoleConditions::default()
        },
    )
}

/// What every host may read: the cluster's authorities (without secrets), its name, and
/// the roles and users it checks logins against.
fn host_rules() -> Vec<Rule> {
    vec![
        rule(&["cert_authority"], &["readnosecrets", "list"]),
        rule(&["cluster_name"], &["read"]),
        rule(&["role"], &["read", "list"]),
        rule(&["user"], &["readnosecrets", "list"]),
        rule(&["event"], &["create"]),
    ]
}

/// What nodes and proxies may do with semaphores (Teleport's read/write): take, keep and
/// cancel leases limiting their users' connections, list them, remove one.
const SEMAPHORE_VERBS: &[&str] = &["list", "create", "read", "update", "delete"];

/// The rules of system role `name` (spelt exactly as issued, e.g. `Node`), or `None` if it is
/// not one.
///
/// `Auth` and `Admin` may do everything; `Nop` and `ProvisionToken` (an identity that only
/// proves it was provisioned) nothing beyond the implicit role; `Signup` reads the cluster's
/// name and completes invitations (reset password tokens); the others are hosts with
/// [`host_rules`] and what their service needs.
fn system_rules(name: &str) -> Option<Vec<Rule>> {
    let mut rules = host_rules();
    let own = |rules: &mut Vec<Rule>, extra: &[(&[&str], &[&str])]| {
        rules.extend(extra.iter().map(|(r, v)| rule(r, v)));
    };
    match *SYSTEM_ROLES.iter().find(|r| **r == name)? {
        "Auth" | "Admin" => return Some(vec![rule(&["*"], &["*"])]),
        "Nop" | "ProvisionToken" => return Some(Vec::new()),
        "Signup" => {
            return Some(vec![
                rule(&["cluster_name"], &["read"]),
                rule(&["reset_password_token"], &["read", "update"]),
            ])
        }
        "Web" => own(
            &mut rules,
            &[
                (&["password"], &["read"]),
                (
                    &["web_session"],
                    &["create", "read", "list", "update", "delete"],
                ),
                (&["reset_password_token"], &["read", "update"]),
                (&["session"], &["read", "list"]),
                (
                    &["auth_server", "trusted_cluster", "namespace"],
                    &["read", "list"],
                ),
            ],
        ),
        "Node" => own(
            &mut rules,
            &[
                (&["node"], &["create", "update", "read", "list"]),
                (&["session"], &["create", "update", "read", "list"]),
                (&["semaphore"], SEMAPHORE_VERBS),
            ],
        ),
        "Proxy" => own(
            &mut rules,
            &[
                (&["proxy"], &["create", "update", "read", "list"]),
                (
                    &[
                        "node",
                        "app_server",
                        "kube_service",
                        "db_server",
                        "windows_desktop",
                        "auth_server",
                        "remote_cluster",
                        "tunnel_connection",
                    ],
                    &["read", "list"],
                ),
                (&["tunnel_connection"], &["create", "update", "delete"]),
                (&["session"], &["create", "update", "read", "list"]),
                (&["access_request"], &["read", "list"]),
                (&["semaphore"], SEMAPHORE_VERBS),
                // The web front: password checks, sign-ins and web sessions for users,
                // and the reset/invite token flow.
                (&["password"], &["read"]),
                (&["web_session"], &["create", "read", "list", "delete"]),
                (&["reset_password_token"], &["read", "update"]),
            ],
        ),
        "App" => own(
            &mut rules,
            &[
                (&["app_server"], &["create", "update", "read", "list"]),
                (&["jwt"], &["create"]),
            ],
        ),
        "Kube" => own(
            &mut rules,
            &[(&["kube_service"], &["create", "update", "read", "list"])],
        ),
        "Db" => own(
            &mut rules,
            &[(&["db_server"], &["create", "update", "read", "list"])],
        ),
        "WindowsDesktop" => own(
            &mut rules,
            &[(&["windows_desktop"], &["create", "update", "read", "list"])],
        ),
        "RemoteProxy" => own(
            &mut rules,
            &[(&["remote_cluster", "tunnel_connection"], &["read", "list"])],
        ),
        _ => own(
            &mut rules,
            &[(&["trusted_cluster", "remote_cluster"], &["read", "list"])],
        ),
    }
    Some(rules)
}

/// The implicit role of every caller (see [`IMPLICIT`]).
pub fn implicit() -> RoleV3 {
    role(
        IMPLICIT,
        RoleOptions::default(),
        RoleConditions {
            rules: vec![
                rule(&["cert_authority"], &["readnosecrets", "list"]),
                rule(&["cluster_name"], &["read", "list"]),
            ],
            namespaces: vec!["*".to_owned()],
            ..RoleConditions::default()
        },
    )
}

/// The built-in role called `name`: `admin`, the implicit role, or a system role (`Node`,
/// `Proxy`, ...).
pub fn role_named(name: &str) -> Option<RoleV3> {
    if name == ADMIN {
        return Some(admin());
    }
    if name == IMPLICIT {
        return Some(implicit());
    }
    let rules = system_rules(name)?;
    Some(role(
        name,
        RoleOptions::default(),
        RoleConditions {
            rules,
            namespaces: vec!["*".to_owned()],
            ..RoleConditions::default()
        },
    ))
}

/// The built-in role called `name` (see [`role_named`]), built once and shared: what every
/// request's caller holds.
pub fn shared(name: &str) -> Option<Arc<RoleV3>> {
    static ROLES: LazyLock<HashMap<&'static str, Arc<RoleV3>>> = LazyLock::new(|| {
        [ADMIN, IMPLICIT]
            .iter()
            .chain(&SYSTEM_ROLES)
            .filter_map(|name| Some((*name, Arc::new(role_named(name)?))))
            .collect()
    });
    ROLES.get(name).cloned()
}

/// Whether `name` is reserved for a built-in role (stored roles may not use it).
pub fn is_reserved(name: &str) -> bool {
    name == ADMIN || name == IMPLICIT || SYSTEM_ROLES.contains(&name)
}
