use std::collections::BTreeMap;
use std::time::SystemTime;

use portcullis_api::services::{AccessRequestV3, RoleV3};
use portcullis_store::{Backend, MemoryBackend};

use super::*;
use crate::access_requests::{new_request, DEFAULT_PENDING_TTL};
use crate::resources::{Collection, Resource};

fn kind(kind: &str, filter: &[(&str, &str)]) -> WatchKind {
    WatchKind {
        kind: kind.into(),
        filter: filter
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
        ..WatchKind::default()
    }
}

fn request(user: &str) -> AccessRequestV3 {
    let now = SystemTime::now();
    new_request(
        user,
        vec!["dba".into()],
        String::new(),
        None,
        now,
        DEFAULT_PENDING_TTL,
    )
    .unwrap()
}

fn role(name: &str) -> RoleV3 {
    let mut role = RoleV3::default();
    role.metadata_mut().name = name.into();
    role
}

#[test]
fn keys_map_back_to_kinds_and_names() {
    let name = |kind: WatchedKind, key: &str| kind.key_name(key.as_bytes());
    let ca = name(WatchedKind::CertAuthority, "/authorities/host/example").unwrap();
    assert_eq!(
        (ca.name.as_str(), ca.sub_kind.as_str()),
        ("example", "host")
    );
    let node = name(WatchedKind::Node, "/nodes/default/n1").unwrap();
    assert_eq!(
        (node.name.as_str(), node.namespace.as_str()),
        ("n1", "default")
    );
    let app = name(WatchedKind::AppServer, "/app_servers/default/apps-1").unwrap();
    assert_eq!(
        (app.name.as_str(), app.namespace.as_str()),
        ("apps-1", "default")
    );
    let kube = name(WatchedKind::KubeService, "/kube_services/kube-1").unwrap();
    assert_eq!(kube.name, "kube-1");
    assert_eq!(name(WatchedKind::KubeService, "/kube_services/a/b"), None);
    assert_eq!(name(WatchedKind::Role, "/roles/dba").unwrap().name, "dba");
    let policy = name(
        WatchedKind::AccessRequestPolicy,
        "/access_request_policies/p1",
    );
    assert_eq!(policy.unwrap().name, "p1");
    assert_eq!(
        name(WatchedKind::AccessRequest, "/access_request_policies/p1"),
        None
    );
    assert_eq!(name(WatchedKind::Role, "/roles/"), None);
    assert_eq!(name(WatchedKind::Role, "/users/dba"), None);
    assert_eq!(name(WatchedKind::User, "/users/a/b"), None);
    assert_eq!(name(WatchedKind::CertAuthority, "/authorities/host"), None);
    // Every kind's prefix is its own: no key belongs to two kinds.
    for a in WatchedKind::ALL {
        for b in WatchedKind::ALL.into_iter().filter(|b| *b != a) {
            assert!(!a.prefix().starts_with(b.prefix()), "{a:?} {b:?}");
        }
        assert_eq!(WatchedKind::parse(a.name()), Ok(a));
    }
    assert_eq!(
        WatchedKind::parse("provision_token"),
        Ok(WatchedKind::Token)
    );
}

#[test]
fn bad_watches_are_refused_with_what_is_wrong() {
    let err = |kinds: &[WatchKind]| Selection::parse(kinds).unwrap_err().to_string();
    assert!(err(&[]).contains("at least one kind"));
    let e = err(&[kind("role", &[]), kind("policy_module", &[])]);
    assert!(
        e.contains("`policy_module` cannot be watched") && e.contains("access_request"),
        "{e}"
    );
    let e = err(&[kind("access_request", &[("owner", "x")])]);
    assert!(
        e.contains("unknown filter key `owner`") && e.contains("id, user, state"),
        "{e}"
    );
    let e = err(&[kind("access_request", &[("state", "maybe")])]);
    assert!(e.contains("`maybe` is not one of PENDING"), "{e}");
    let e = err(&[kind("role", &[("state", "PENDING")])]);
    assert!(
        e.contains("kind `role` takes no filter (given: state)"),
        "{e}"
    );
    let ok = Selection::parse(&[kind(
        "access_request",
        &[("state", "pending"), ("user", "carl")],
    )])
    .unwrap();
    let selector = &ok.selectors()[0];
    assert_eq!(selector.only_user(), Some("carl"));
    assert_eq!(
        selector.filter.as_ref().unwrap().state,
        portcullis_api::services::RequestState::Pending
    );
}

#[tokio::test]
async fn puts_and_deletes_of_the_watched_kinds_in_order() {
    let backend: std::sync::Arc<dyn Backend> = std::sync::Arc::new(MemoryBackend::new());
    let roles = Collection::<RoleV3>::new(backend.clone());
    let mut feed = backend.subscribe();
    let mut selection = Selection::parse(&[kind("role", &[])]).unwrap();
    roles.create(&role("dba")).await.unwrap();
    backend.put(b"/users/x", Vec::new(), None).await.unwrap();
    roles.delete("dba").await.unwrap();
    let mut changes = Vec::new();
    for _ in 0..3 {
        let event = feed.recv().await.unwrap().unwrap();
        changes.extend(selection.select(&event).unwrap());
    }
    assert_eq!(changes.len(), 2, "{changes:?}");
    let Change::Put { resource, .. } = &changes[0] else {
        panic!("{changes:?}")
    };
    let portcullis_api::auth::event::Resource::Role(put) = resource.as_ref() else {
        panic!("{resource:?}")
    };
    assert_eq!(put.name(), "dba");
    assert!(put.metadata.as_ref().unwrap().id > 0, "revision as id");
    let Change::Delete { header, kind, .. } = &changes[1] else {
        panic!("{changes:?}")
    };
    assert_eq!(*kind, WatchedKind::Role);
    assert_eq!(
        (
            header.kind.as_str(),
            header.metadata.as_ref().unwrap().name.as_str()
        ),
        ("role", "dba")
    );
}

#[tokio::test]
async fn filtered_watches_pass_deletions_of_what_they_saw_matching_only() {
    let backend: std::sync::Arc<dyn Backend> = std::sync::Arc::new(MemoryBackend::new());
    let requests = Collection::<AccessRequestV3>::new(backend.clone());
    let before = request("carl");
    requests.create(&before).await.unwrap();
    let mut feed = backend.subscribe();
    let mut selection = Selection::parse(&[kind("access_request", &[("user", "carl")])]).unwrap();
    selection.load_matching(backend.as_ref()).await.unwrap();

    let (mine, theirs) = (request("carl"), request("wanda"));
    requests.create(&mine).await.unwrap();
    requests.create(&theirs).await.unwrap();
    for r in [&before, &mine, &theirs] {
        requests.delete(r.name()).await.unwrap();
    }
    let mut seen = Vec::new();
    for _ in 0..5 {
        let event = feed.recv().await.unwrap().unwrap();
        match selection.select(&event).unwrap() {
            Some(Change::Put { resource, .. }) => {
                let portcullis_api::auth::event::Resource::AccessRequest(r) = *resource else {
                    panic!("{resource:?}")
                };
                seen.push(format!("put {}", r.name()));
            }
            Some(Change::Delete { header, .. }) => {
                seen.push(format!("delete {}", header.metadata.unwrap().name));
            }
            None => {}
        }
    }
    let expected = [
        format!("put {}", mine.name()),
        format!("delete {}", before.name()),
        format!("delete {}", mine.name()),
    ];
    assert_eq!(seen, expected);
}
