//! What application servers and Kubernetes services serve, and who sees it.
//!
//! An `app_server` announces `spec.apps`, at least one, each with a name (a resource name,
//! unique in the server), a URI (`http://`, `https://` or `tcp://` and an address), a public
//! address (a DNS name, optionally `:PORT`, unique in the server) and labels with non-empty
//! keys. A `kube_service` announces `spec.kube_clusters` (possibly none: a service that only
//! forwards), each with a unique resource name and labels with non-empty keys. Other kinds
//! announce neither.
//!
//! An application's or cluster's labels are its static labels and the results of its command
//! labels (a command label wins over a static one of the same key). A user sees one only if
//! their roles grant those labels (`app_labels`, `kubernetes_labels`; deny wins — the caller
//! passes that decision in as `grants`): [`visible`] leaves a server out when none of its apps
//! or clusters is granted and lists the others with only the granted ones.

use std::collections::{BTreeMap, BTreeSet};

use portcullis_api::services::{App, CommandLabelV2, KubernetesCluster, ServerSpecV2, ServerV2};

use super::{PresenceError, ServerKind};
use crate::resources::validate::validate_name;
use crate::resources::ResourceError;

/// URI schemes an application may be reached by.
const APP_SCHEMES: [&str; 3] = ["http", "https", "tcp"];

fn invalid(what: &str, message: String) -> PresenceError {
    PresenceError::invalid(format!("{what}: {message}"))
}

fn name_error(what: &str, e: ResourceError) -> PresenceError {
    invalid(what, e.to_string())
}

/// Checks the applications or Kubernetes clusters `what` (a server of `kind`) announces.
pub fn check_spec(
    kind: ServerKind,
    what: &str,
    spec: Option<&ServerSpecV2>,
) -> Result<(), PresenceError> {
    let (apps, clusters) = spec.map_or((&[][..], &[][..]), |s| {
        (s.apps.as_slice(), s.kubernetes_clusters.as_slice())
    });
    if kind != ServerKind::App && !apps.is_empty() {
        return Err(invalid(
            what,
            "spec.apps is only for app_server (UpsertAppServer)".into(),
        ));
    }
    if kind != ServerKind::Kube && !clusters.is_empty() {
        return Err(invalid(
            what,
            "spec.kube_clusters is only for kube_service (UpsertKubeService)".into(),
        ));
    }
    match kind {
        ServerKind::App => check_apps(what, apps),
        ServerKind::Kube => check_clusters(what, clusters),
        ServerKind::Node | ServerKind::Proxy => Ok(()),
    }
}

fn check_apps(what: &str, apps: &[App]) -> Result<(), PresenceError> {
    if apps.is_empty() {
        return Err(invalid(
            what,
            "spec.apps is empty: an application server serves at least one application".into(),
        ));
    }
    let (mut names, mut addrs) = (BTreeSet::new(), BTreeSet::new());
    for app in apps {
        validate_name("app", &app.name).map_err(|e| name_error(what, e))?;
        let this = format!("{what}: app `{}`", app.name);
        if !names.insert(app.name.as_str()) {
            return Err(PresenceError::invalid(format!("{this} is listed twice")));
        }
        check_uri(&this, &app.uri)?;
        if !is_public_addr(&app.public_addr) {
            return Err(PresenceError::invalid(format!(
                "{this}: public_addr `{}` is not a DNS name (optionally with :PORT)",
                app.public_addr
            )));
        }
        if !addrs.insert(app.public_addr.as_str()) {
            return Err(PresenceError::invalid(format!(
                "{this}: public_addr `{}` is used by another app of the server",
                app.public_addr
            )));
        }
        check_label_keys(&this, &app.static_labels, &app.dynamic_labels)?;
    }
    Ok(())
}

fn check_clusters(what: &str, clusters: &[KubernetesCluster]) -> Result<(), PresenceError> {
    let mut names = BTreeSet::new();
    for cluster in clusters {
        validate_name("Kubernetes cluster", &cluster.name).map_err(|e| name_error(what, e))?;
        let this = format!("{what}: Kubernetes cluster `{}`", cluster.name);
        if !names.insert(cluster.name.as_str()) {
            return Err(PresenceError::invalid(format!("{this} is listed twice")));
        }
        check_label_keys(&this, &cluster.static_labels, &cluster.dynamic_labels)?;
    }
    Ok(())
}

fn check_uri(what: &str, uri: &str) -> Result<(), PresenceError> {
    let bad = |why: &str| PresenceError::invalid(format!("{what}: uri `{uri}` {why}"));
    if uri.is_empty() {
        return Err(PresenceError::invalid(format!(
            "{what}: uri is required (where the application listens, e.g. http://127.0.0.1:8080)"
        )));
    }
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Err(bad("has no scheme (expected http://, https:// or tcp://)"));
    };
    if !APP_SCHEMES.contains(&scheme) {
        return Err(bad(
            "has an unsupported scheme (expected http, https or tcp)",
        ));
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() {
        return Err(bad("has no host"));
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("has whitespace or control characters"));
    }
    Ok(())
}

/// Whether `addr` is a DNS name (letters, digits, `-`, `.`, not starting or ending with `.`
/// or `-`), optionally followed by `:PORT`.
fn is_public_addr(addr: &str) -> bool {
    let host = match addr.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok() => host,
        Some(_) => return false,
        None => addr,
    };
    !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && !host.starts_with(['.', '-'])
        && !host.ends_with(['.', '-'])
}

fn check_label_keys(
    what: &str,
    labels: &BTreeMap<String, String>,
    commands: &BTreeMap<String, CommandLabelV2>,
) -> Result<(), PresenceError> {
    if labels.keys().any(String::is_empty) {
        return Err(PresenceError::invalid(format!(
            "{what}: labels has an empty key"
        )));
    }
    if commands.keys().any(String::is_empty) {
        return Err(PresenceError::invalid(format!(
            "{what}: commands has an empty key"
        )));
    }
    Ok(())
}

fn combined(
    labels: &BTreeMap<String, String>,
    commands: &BTreeMap<String, CommandLabelV2>,
) -> BTreeMap<String, String> {
    let mut all = labels.clone();
    all.extend(commands.iter().map(|(k, c)| (k.clone(), c.result.clone())));
    all
}

/// An application's labels: static ones and the results of command labels.
pub fn app_labels(app: &App) -> BTreeMap<String, String> {
    combined(&app.static_labels, &app.dynamic_labels)
}

/// A Kubernetes cluster's labels: static ones and the results of command labels.
pub fn cluster_labels(cluster: &KubernetesCluster) -> BTreeMap<String, String> {
    combined(&cluster.static_labels, &cluster.dynamic_labels)
}

/// `server` (an `app_server` or `kube_service`) with only the applications or clusters
/// whose labels `grants`; `None` when it has some and none is granted.
pub fn visible(
    mut server: ServerV2,
    mut grants: impl FnMut(&BTreeMap<String, String>) -> bool,
) -> Option<ServerV2> {
    let Some(spec) = server.spec.as_mut() else {
        return Some(server);
    };
    let before = spec.apps.len() + spec.kubernetes_clusters.len();
    spec.apps.retain(|app| grants(&app_labels(app)));
    spec.kubernetes_clusters
        .retain(|cluster| grants(&cluster_labels(cluster)));
    let after = spec.apps.len() + spec.kubernetes_clusters.len();
    (before == 0 || after > 0).then_some(server)
}

/// The application with public address `public_addr` among `servers`, with its server.
pub fn find_app<'a>(servers: &'a [ServerV2], public_addr: &str) -> Option<(&'a ServerV2, &'a App)> {
    servers.iter().find_map(|server| {
        let app = server
            .spec
            .as_ref()?
            .apps
            .iter()
            .find(|app| app.public_addr == public_addr)?;
        Some((server, app))
    })
}

/// The Kubernetes cluster called `name` among `servers`.
pub fn find_cluster<'a>(servers: &'a [ServerV2], name: &str) -> Option<&'a KubernetesCluster> {
    servers.iter().find_map(|server| {
        server
            .spec
            .as_ref()?
            .kubernetes_clusters
            .iter()
            .find(|cluster| cluster.name == name)
    })
}

#[cfg(test)]
mod tests {
    use portcullis_api::services::Metadata;

    use super::*;

    fn app(name: &str, addr: &str, env: &str) -> App {
        App {
            name: name.into(),
            uri: "http://127.0.0.1:8080".into(),
            public_addr: addr.into(),
            static_labels: BTreeMap::from([("env".into(), env.into())]),
            ..App::default()
        }
    }

    fn app_server(apps: Vec<App>) -> ServerV2 {
        ServerV2 {
            kind: "app_server".into(),
            metadata: Some(Metadata {
                name: "host-1".into(),
                ..Metadata::default()
            }),
            spec: Some(ServerSpecV2 {
                apps,
                ..ServerSpecV2::default()
            }),
            ..ServerV2::default()
        }
    }

    fn refused(kind: ServerKind, spec: ServerSpecV2) -> String {
        check_spec(kind, "app_server `host-1`", Some(&spec))
            .unwrap_err()
            .to_string()
    }

    fn apps(apps: Vec<App>) -> ServerSpecV2 {
        ServerSpecV2 {
            apps,
            ..ServerSpecV2::default()
        }
    }

    #[test]
    fn apps_need_names_uris_and_public_addresses() {
        let good = apps(vec![
            app("grafana", "grafana.example.com", "prod"),
            app("wiki", "wiki.example.com:8443", "dev"),
        ]);
        check_spec(ServerKind::App, "x", Some(&good)).unwrap();

        let e = refused(ServerKind::App, apps(vec![]));
        assert!(e.contains("spec.apps is empty"), "{e}");
        let e = refused(
            ServerKind::App,
            apps(vec![app("a b", "a.example.com", "x")]),
        );
        assert!(e.contains("invalid app name `a b`"), "{e}");
        let twice = vec![
            app("a", "a.example.com", "x"),
            app("a", "b.example.com", "x"),
        ];
        let e = refused(ServerKind::App, apps(twice));
        assert!(e.contains("app `a` is listed twice"), "{e}");
        for (addr, ok) in [
            ("https://a.example.com", false),
            ("a.example.com/x", false),
            ("", false),
            ("a.example.com:99999", false),
            (".example.com", false),
            ("a.example.com:443", true),
            ("localhost", true),
        ] {
            let result = check_spec(ServerKind::App, "x", Some(&apps(vec![app("a", addr, "x")])));
            assert_eq!(result.is_ok(), ok, "{addr}: {result:?}");
        }
        let same = vec![
            app("a", "a.example.com", "x"),
            app("b", "a.example.com", "x"),
        ];
        let e = refused(ServerKind::App, apps(same));
        assert!(e.contains("used by another app"), "{e}");
        for (uri, needle) in [
            ("", "uri is required"),
            ("127.0.0.1:8080", "has no scheme"),
            ("ftp://h", "unsupported scheme"),
            ("http:///x", "has no host"),
            ("http://h/a b", "whitespace"),
        ] {
            let mut bad = app("a", "a.example.com", "x");
            bad.uri = uri.into();
            let e = refused(ServerKind::App, apps(vec![bad]));
            assert!(e.contains(needle), "{uri}: {e}");
        }
        let mut bad = app("a", "a.example.com", "x");
        bad.static_labels.insert(String::new(), "v".into());
        let e = refused(ServerKind::App, apps(vec![bad]));
        assert!(e.contains("app `a`: labels has an empty key"), "{e}");
        // A node or a Kubernetes service serves no apps.
        let e = refused(ServerKind::Kube, apps(vec![app("a", "a.example.com", "x")]));
        assert!(e.contains("spec.apps is only for app_server"), "{e}");
    }

    #[test]
    fn kube_clusters_need_unique_names() {
        let cluster = |name: &str| KubernetesCluster {
            name: name.into(),
            ..KubernetesCluster::default()
        };
        let spec = |clusters| ServerSpecV2 {
            kubernetes_clusters: clusters,
            ..ServerSpecV2::default()
        };
        check_spec(ServerKind::Kube, "x", Some(&spec(vec![]))).unwrap();
        check_spec(ServerKind::Kube, "x", Some(&spec(vec![cluster("prod")]))).unwrap();
        let e = refused(
            ServerKind::Kube,
            spec(vec![cluster("prod"), cluster("prod")]),
        );
        assert!(
            e.contains("Kubernetes cluster `prod` is listed twice"),
            "{e}"
        );
        let e = refused(ServerKind::Kube, spec(vec![cluster("")]));
        assert!(e.contains("Kubernetes cluster has no name"), "{e}");
        let e = refused(ServerKind::Node, spec(vec![cluster("prod")]));
        assert!(e.contains("only for kube_service"), "{e}");
    }

    #[test]
    fn listings_keep_only_granted_apps_and_drop_empty_servers() {
        let server = app_server(vec![
            app("grafana", "grafana.example.com", "prod"),
            app("wiki", "wiki.example.com", "dev"),
        ]);
        let dev_only = |labels: &BTreeMap<String, String>| labels["env"] == "dev";
        let shown = visible(server.clone(), dev_only).unwrap();
        let names: Vec<_> = shown
            .spec
            .unwrap()
            .apps
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(names, ["wiki"]);
        assert!(visible(server.clone(), |_| false).is_none());
        assert_eq!(
            visible(server, |_| true).unwrap().spec.unwrap().apps.len(),
            2
        );
        // Command labels count, and win over static ones.
        let mut commanded = app("a", "a.example.com", "prod");
        commanded.dynamic_labels.insert(
            "env".into(),
            CommandLabelV2 {
                result: "dev".into(),
                ..CommandLabelV2::default()
            },
        );
        assert_eq!(app_labels(&commanded)["env"], "dev");
    }

    #[test]
    fn apps_are_found_by_public_address_and_clusters_by_name() {
        let servers = [app_server(vec![
            app("grafana", "grafana.example.com", "prod"),
            app("wiki", "wiki.example.com", "dev"),
        ])];
        let (server, found) = find_app(&servers, "wiki.example.com").unwrap();
        assert_eq!(
            (
                found.name.as_str(),
                server.metadata.as_ref().unwrap().name.as_str()
            ),
            ("wiki", "host-1")
        );
        assert!(find_app(&servers, "nope.example.com").is_none());
        assert!(find_cluster(&servers, "prod").is_none());
    }
}
