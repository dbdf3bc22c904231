//! Checks of what servers announce: the `ServerV2` itself, the namespace, the expiry a
//! registration or keep-alive asks for (bounded), and the label selector of listings.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use portcullis_api::services::ServerV2;

use super::{PresenceError, ServerKind};
use crate::resources::to_system_time;
use crate::resources::validate::{normalize_header, validate_name, DEFAULT_NAMESPACE};
use crate::resources::ResourceError;

/// Lifetime of a registration or keep-alive that names no expiry: Teleport's server
/// announce TTL (10 minutes).
pub const DEFAULT_TTL: Duration = Duration::from_secs(10 * 60);

/// Longest lifetime a registration or keep-alive may ask for (one hour); later expiries are
/// cut to it, so a server that dies without a word is gone within the hour.
pub const MAX_TTL: Duration = Duration::from_secs(60 * 60);

fn invalid(e: ResourceError) -> PresenceError {
    match e {
        ResourceError::Invalid(message) => PresenceError::Invalid(message),
        other => PresenceError::Resource(other),
    }
}

/// The namespace a request names: empty means `default`; proxies live in `default` only.
pub fn namespace(kind: ServerKind, namespace: &str) -> Result<String, PresenceError> {
    if namespace.is_empty() {
        return Ok(DEFAULT_NAMESPACE.to_owned());
    }
    validate_name("namespace", namespace).map_err(invalid)?;
    if kind.default_namespace_only() && namespace != DEFAULT_NAMESPACE {
        let plural = match kind {
            ServerKind::Kube => "Kubernetes services",
            _ => "proxies",
        };
        return Err(PresenceError::invalid(format!(
            "{plural} live in namespace `{DEFAULT_NAMESPACE}`, not `{namespace}`"
        )));
    }
    Ok(namespace.to_owned())
}

/// Normalises and checks a server announced as `kind`: kind (filled in when empty),
/// version `v2`, a valid name (the host id), the namespace (default `default`), label keys,
/// `spec.addr`/`spec.public_addr` as `HOST:PORT` when given, and the applications or
/// Kubernetes clusters it serves (see [`super::services::check_spec`]).
pub fn normalize_server(kind: ServerKind, server: &mut ServerV2) -> Result<(), PresenceError> {
    normalize_header(
        &mut server.kind,
        &mut server.version,
        &mut server.metadata,
        kind.name(),
        &["v2"],
    )
    .map_err(invalid)?;
    let metadata = server.metadata.get_or_insert_with(Default::default);
    metadata.namespace = namespace(kind, &metadata.namespace)?;
    let what = format!("{} `{}`", kind.name(), metadata.name);
    super::services::check_spec(kind, &what, server.spec.as_ref())?;
    let Some(spec) = &server.spec else {
        return Ok(());
    };
    for (field, addr) in [
        ("spec.addr", &spec.addr),
        ("spec.public_addr", &spec.public_addr),
    ] {
        if !addr.is_empty() && !is_host_port(addr) {
            return Err(PresenceError::invalid(format!(
                "{what}: {field} `{addr}` is not HOST:PORT"
            )));
        }
    }
    if let Some(c) = spec
        .hostname
        .chars()
        .find(|c| c.is_whitespace() || c.is_control())
    {
        return Err(PresenceError::invalid(format!(
            "{what}: spec.hostname `{}` has the character {c:?}",
            spec.hostname
        )));
    }
    if spec.cmd_labels.keys().any(String::is_empty) {
        return Err(PresenceError::invalid(format!(
            "{what}: spec.cmd_labels has an empty key"
        )));
    }
    Ok(())
}

/// Whether `addr` is `HOST:PORT` (a name or address, `[v6]` bracketed, and a port number).
fn is_host_port(addr: &str) -> bool {
    let Some((host, port)) = addr.rsplit_once(':') else {
        return false;
    };
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    !host.is_empty()
        && port.parse::<u16>().is_ok()
        && !host.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// When a registration or keep-alive asking for `requested` (its `field`) expires: the
/// default lifetime when it names none, at most [`MAX_TTL`] from `now`; an expiry already
/// past is refused.
pub fn expiry(
    requested: Option<prost_types::Timestamp>,
    now: SystemTime,
    field: &str,
) -> Result<SystemTime, PresenceError> {
    let requested = match requested {
        None => return Ok(now + DEFAULT_TTL),
        Some(ts) if ts.seconds == 0 && ts.nanos == 0 => return Ok(now + DEFAULT_TTL),
        Some(ts) => ts,
    };
    let at = to_system_time(requested).ok_or_else(|| {
        PresenceError::invalid(format!("{field} `{requested}` is not a valid time"))
    })?;
    if at <= now {
        return Err(PresenceError::invalid(format!(
            "{field} `{}` is in the past",
            humantime::format_rfc3339_millis(at)
        )));
    }
    Ok(at.min(now + MAX_TTL))
}

/// Whether `server` carries every label of `selector` (static labels or the results of
/// command labels). A value `*` matches any value of the key; `*: *` matches every server.
pub fn matches(server: &ServerV2, selector: &BTreeMap<String, String>) -> bool {
    let labels = server.metadata.as_ref().map(|m| &m.labels);
    let commands = server.spec.as_ref().map(|s| &s.cmd_labels);
    selector.iter().all(|(key, wanted)| {
        if key == "*" && wanted == "*" {
            return true;
        }
        let value = labels
            .and_then(|l| l.get(key))
            .or_else(|| commands.and_then(|c| c.get(key)).map(|c| &c.result));
        value.is_some_and(|value| wanted == "*" || wanted == value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_api::services::{CommandLabelV2, Metadata, ServerSpecV2};

    fn server(kind: &str, name: &str, addr: &str) -> ServerV2 {
        ServerV2 {
            kind: kind.into(),
            metadata: Some(Metadata {
                name: name.into(),
                labels: BTreeMap::from([("env".into(), "prod".into())]),
                ..Metadata::default()
            }),
            spec: Some(ServerSpecV2 {
                addr: addr.into(),
                cmd_labels: BTreeMap::from([(
                    "arch".into(),
                    CommandLabelV2 {
                        result: "x86_64".into(),
                        ..CommandLabelV2::default()
                    },
                )]),
                ..ServerSpecV2::default()
            }),
            ..ServerV2::default()
        }
    }

    #[test]
    fn servers_are_normalised_or_refused_naming_the_field() {
        let mut ok = server("", "n1", "127.0.0.1:3022");
        normalize_server(ServerKind::Node, &mut ok).unwrap();
        assert_eq!((ok.kind.as_str(), ok.version.as_str()), ("node", "v2"));
        assert_eq!(ok.metadata.unwrap().namespace, "default");
        let mut v6 = server("node", "n1", "[::1]:3022");
        normalize_server(ServerKind::Node, &mut v6).unwrap();

        let refused =
            |kind, mut s: ServerV2| normalize_server(kind, &mut s).unwrap_err().to_string();
        let e = refused(ServerKind::Node, server("proxy", "n1", ""));
        assert!(
            e.contains("kind `proxy` given where `node` was expected"),
            "{e}"
        );
        let e = refused(ServerKind::Node, server("node", "", ""));
        assert!(e.contains("metadata.name is required"), "{e}");
        let e = refused(ServerKind::Node, server("node", "a/b", ""));
        assert!(e.contains("invalid node name `a/b`"), "{e}");
        let e = refused(ServerKind::Node, server("node", "n1", "nowhere"));
        assert!(e.contains("spec.addr `nowhere` is not HOST:PORT"), "{e}");
        let e = refused(ServerKind::Node, server("node", "n1", "h:99999"));
        assert!(e.contains("spec.addr"), "{e}");
        let mut elsewhere = server("proxy", "p1", "");
        elsewhere.metadata.as_mut().unwrap().namespace = "other".into();
        let e = refused(ServerKind::Proxy, elsewhere);
        assert!(e.contains("proxies live in namespace `default`"), "{e}");
    }

    #[test]
    fn expiries_default_are_bounded_and_never_past() {
        let now = portcullis_clock::now();
        assert_eq!(expiry(None, now, "x").unwrap(), now + DEFAULT_TTL);
        let zero = prost_types::Timestamp::default();
        assert_eq!(expiry(Some(zero), now, "x").unwrap(), now + DEFAULT_TTL);
        let soon = now + Duration::from_secs(2);
        assert_eq!(expiry(Some(soon.into()), now, "x").unwrap(), soon);
        let far = now + Duration::from_secs(86_400);
        assert_eq!(expiry(Some(far.into()), now, "x").unwrap(), now + MAX_TTL);
        let past = now - Duration::from_secs(1);
        let e = expiry(Some(past.into()), now, "metadata.expires").unwrap_err();
        assert!(e.to_string().contains("metadata.expires"), "{e}");
        assert!(e.to_string().contains("in the past"), "{e}");
    }

    #[test]
    fn selectors_need_every_label_with_wildcards() {
        let s = server("node", "n1", "");
        let sel = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert!(matches(&s, &sel(&[])));
        assert!(matches(&s, &sel(&[("env", "prod")])));
        assert!(matches(&s, &sel(&[("env", "prod"), ("arch", "x86_64")])));
        assert!(matches(&s, &sel(&[("env", "*")])));
        assert!(matches(&s, &sel(&[("*", "*")])));
        assert!(!matches(&s, &sel(&[("env", "dev")])));
        assert!(!matches(&s, &sel(&[("env", "prod"), ("team", "*")])));
    }
}
