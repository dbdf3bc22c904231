//! Unit tests of semaphores against the in-memory store: limits, expiry, keep-alives,
//! cancels, listings, deletes, bad input, and concurrent acquirers on one server and on
//! several (separate [`Semaphores`] over one store, racing on compare-and-swap only).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use portcullis_api::services::{AcquireSemaphoreRequest, SemaphoreFilter, SemaphoreLease};
use portcullis_store::{Backend, MemoryBackend};

use super::{key, SemaphoreError, Semaphores};

fn request(name: &str, max: i64, expires: SystemTime) -> AcquireSemaphoreRequest {
    AcquireSemaphoreRequest {
        semaphore_kind: "connection".into(),
        semaphore_name: name.into(),
        max_leases: max,
        expires: Some(expires.into()),
        holder: "node-1".into(),
    }
}

fn filter(kind: &str, name: &str) -> SemaphoreFilter {
    SemaphoreFilter {
        semaphore_kind: kind.into(),
        semaphore_name: name.into(),
    }
}

fn store() -> (Arc<dyn Backend>, Semaphores) {
    let backend: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
    (backend.clone(), Semaphores::new(backend))
}

async fn lease_count(semaphores: &Semaphores, name: &str, now: SystemTime) -> usize {
    let listed = semaphores
        .list(&filter("connection", name), now)
        .await
        .unwrap();
    listed
        .first()
        .map_or(0, |s| s.spec.as_ref().unwrap().leases.len())
}

#[tokio::test]
async fn leases_up_to_the_maximum_then_refusals_and_cancel_frees_a_slot() {
    let (backend, semaphores) = store();
    let now = SystemTime::now();
    let later = now + Duration::from_secs(60);
    let first = semaphores
        .acquire(&request("alice", 2, later), now)
        .await
        .unwrap();
    assert_eq!(
        (first.semaphore_kind.as_str(), first.semaphore_name.as_str()),
        ("connection", "alice")
    );
    assert_eq!(first.expires, Some(later.into()));
    let second = semaphores
        .acquire(&request("alice", 2, later), now)
        .await
        .unwrap();
    assert_ne!(first.lease_id, second.lease_id);

    let revision = backend.current_revision();
    let e = semaphores
        .acquire(&request("alice", 2, later), now)
        .await
        .unwrap_err();
    assert!(
        matches!(e, SemaphoreError::LimitReached { max: 2, .. }),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "too many concurrent leases on semaphore `connection/alice` (max 2)"
    );
    assert_eq!(
        backend.current_revision(),
        revision,
        "a refusal writes nothing"
    );
    // Other semaphores are independent.
    semaphores
        .acquire(&request("bob", 1, later), now)
        .await
        .unwrap();

    let listed = semaphores
        .list(&filter("connection", "alice"), now)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let semaphore = &listed[0];
    assert_eq!(
        (semaphore.kind.as_str(), semaphore.sub_kind.as_str()),
        ("semaphore", "connection")
    );
    let metadata = semaphore.metadata.as_ref().unwrap();
    assert_eq!(metadata.name, "alice");
    assert_eq!(metadata.expires, Some(later.into()));
    let leases = &semaphore.spec.as_ref().unwrap().leases;
    assert_eq!(leases.len(), 2);
    assert!(leases.iter().all(|l| l.holder == "node-1"));

    semaphores.cancel(&first, now).await.unwrap();
    let e = semaphores.cancel(&first, now).await.unwrap_err();
    assert!(matches!(e, SemaphoreError::LeaseNotFound { .. }), "{e}");
    semaphores
        .acquire(&request("alice", 2, later), now)
        .await
        .unwrap();
    assert_eq!(lease_count(&semaphores, "alice", now).await, 2);

    // The last cancel removes the semaphore.
    let bob = semaphores.list(&filter("", "bob"), now).await.unwrap();
    let bob_lease = SemaphoreLease {
        semaphore_kind: "connection".into(),
        semaphore_name: "bob".into(),
        lease_id: bob[0].spec.as_ref().unwrap().leases[0].lease_id.clone(),
        expires: None,
    };
    semaphores.cancel(&bob_lease, now).await.unwrap();
    assert!(backend
        .get(&key("connection", "bob"))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn expired_leases_stop_counting_and_cannot_be_kept_alive() {
    let (backend, semaphores) = store();
    let now = SystemTime::now();
    let short = semaphores
        .acquire(&request("alice", 1, now + Duration::from_secs(5)), now)
        .await
        .unwrap();
    let e = semaphores
        .acquire(&request("alice", 1, now + Duration::from_secs(60)), now)
        .await
        .unwrap_err();
    assert!(matches!(e, SemaphoreError::LimitReached { .. }), "{e}");

    // Six seconds later (as the semaphores see it) the short lease no longer counts, though
    // the record is still in the store.
    let later = now + Duration::from_secs(6);
    assert_eq!(lease_count(&semaphores, "alice", later).await, 0);
    let mut keep = short.clone();
    keep.expires = Some((later + Duration::from_secs(60)).into());
    let e = semaphores.keep_alive(&keep, later).await.unwrap_err();
    assert!(matches!(e, SemaphoreError::LeaseNotFound { .. }), "{e}");
    let e = semaphores.cancel(&short, later).await.unwrap_err();
    assert!(matches!(e, SemaphoreError::LeaseNotFound { .. }), "{e}");
    let taken = semaphores
        .acquire(&request("alice", 1, later + Duration::from_secs(60)), later)
        .await
        .unwrap();
    // The write dropped the expired lease: one lease is stored, the new one.
    let item = backend
        .get(&key("connection", "alice"))
        .await
        .unwrap()
        .unwrap();
    let stored = super::decode(&item).unwrap();
    let ids: Vec<_> = super::leases(&stored).iter().map(|l| &l.lease_id).collect();
    assert_eq!(ids, [&taken.lease_id]);
    assert_eq!(item.expires, Some(later + Duration::from_secs(60)));
}

#[tokio::test]
async fn an_idle_semaphore_disappears_from_the_store() {
    let (backend, semaphores) = store();
    let now = SystemTime::now();
    semaphores
        .acquire(&request("alice", 3, now + Duration::from_millis(200)), now)
        .await
        .unwrap();
    let item = backend.get(&key("connection", "alice")).await.unwrap();
    assert_eq!(
        item.unwrap().expires,
        Some(now + Duration::from_millis(200))
    );
    // The store's own expiry (real time): poll until it passes.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while backend
        .get(&key("connection", "alice"))
        .await
        .unwrap()
        .is_some()
    {
        assert!(std::time::Instant::now() < deadline, "never expired");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(semaphores
        .list(&filter("", ""), SystemTime::now())
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn keep_alives_extend_a_lease_and_the_record() {
    let (backend, semaphores) = store();
    let now = SystemTime::now();
    let lease = semaphores
        .acquire(&request("alice", 2, now + Duration::from_secs(5)), now)
        .await
        .unwrap();
    let other = semaphores
        .acquire(&request("alice", 2, now + Duration::from_secs(10)), now)
        .await
        .unwrap();
    let mut keep = lease.clone();
    keep.expires = Some((now + Duration::from_secs(120)).into());
    let until = semaphores.keep_alive(&keep, now).await.unwrap();
    assert_eq!(until, now + Duration::from_secs(120));
    let item = backend
        .get(&key("connection", "alice"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.expires, Some(now + Duration::from_secs(120)));
    // Past the first expiries, only the extended lease counts.
    let later = now + Duration::from_secs(11);
    let listed = semaphores.list(&filter("", ""), later).await.unwrap();
    let leases = &listed[0].spec.as_ref().unwrap().leases;
    assert_eq!(leases.len(), 1);
    assert_eq!(leases[0].lease_id, lease.lease_id);
    let e = semaphores.cancel(&other, later).await.unwrap_err();
    assert!(matches!(e, SemaphoreError::LeaseNotFound { .. }), "{e}");

    // Unknown lease ids and a keep-alive into the past are refused.
    let mut unknown = keep.clone();
    unknown.lease_id = "nope".into();
    let e = semaphores.keep_alive(&unknown, now).await.unwrap_err();
    assert!(e
        .to_string()
        .contains("lease `nope` of semaphore `connection/alice` not found"));
    let mut past = keep.clone();
    past.expires = Some((now - Duration::from_secs(1)).into());
    let e = semaphores.keep_alive(&past, now).await.unwrap_err();
    assert!(matches!(e, SemaphoreError::Invalid(_)), "{e}");
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let (backend, semaphores) = store();
    let now = SystemTime::now();
    let later = now + Duration::from_secs(60);
    semaphores
        .acquire(&request("alice", 1, later), now)
        .await
        .unwrap();
    let revision = backend.current_revision();
    let cases = [
        (request("", 1, later), "SemaphoreName is required"),
        (request("a/b", 1, later), "SemaphoreName `a/b`"),
        (
            request("alice", 0, later),
            "MaxLeases `0` must be at least 1",
        ),
        (request("alice", -1, later), "MaxLeases `-1`"),
        (
            request("alice", 5000, later),
            "MaxLeases `5000` is more than",
        ),
        (
            request("alice", 1, now - Duration::from_secs(1)),
            "is not in the future",
        ),
        (
            AcquireSemaphoreRequest {
                expires: None,
                ..request("alice", 1, later)
            },
            "Expires is required",
        ),
        (
            AcquireSemaphoreRequest {
                semaphore_kind: String::new(),
                ..request("alice", 1, later)
            },
            "SemaphoreKind is required",
        ),
        (
            AcquireSemaphoreRequest {
                holder: "x\u{0}".into(),
                ..request("alice", 1, later)
            },
            "Holder",
        ),
    ];
    for (bad, wanted) in cases {
        let e = semaphores.acquire(&bad, now).await.unwrap_err();
        assert!(matches!(e, SemaphoreError::Invalid(_)), "{e}");
        assert!(e.to_string().contains(wanted), "{e} lacks {wanted}");
    }
    let no_id = SemaphoreLease {
        semaphore_kind: "connection".into(),
        semaphore_name: "alice".into(),
        lease_id: String::new(),
        expires: Some(later.into()),
    };
    let e = semaphores.keep_alive(&no_id, now).await.unwrap_err();
    assert_eq!(e.to_string(), "LeaseID is required");
    assert!(semaphores.cancel(&no_id, now).await.is_err());
    let e = semaphores
        .delete(&filter("connection", ""))
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "SemaphoreName is required");
    let e = semaphores.list(&filter("a b", ""), now).await.unwrap_err();
    assert!(matches!(e, SemaphoreError::Invalid(_)), "{e}");
    assert_eq!(backend.current_revision(), revision);
    assert_eq!(lease_count(&semaphores, "alice", now).await, 1);
}

#[tokio::test]
async fn listings_filter_and_deletes_remove_a_semaphore() {
    let (_backend, semaphores) = store();
    let now = SystemTime::now();
    let later = now + Duration::from_secs(60);
    for (kind, name) in [
        ("connection", "alice"),
        ("connection", "bob"),
        ("session", "alice"),
    ] {
        let mut req = request(name, 5, later);
        req.semaphore_kind = kind.into();
        semaphores.acquire(&req, now).await.unwrap();
    }
    let names = |list: Vec<portcullis_api::services::SemaphoreV3>| -> Vec<String> {
        list.iter()
            .map(|s| format!("{}/{}", s.sub_kind, s.metadata.as_ref().unwrap().name))
            .collect()
    };
    let all = semaphores.list(&filter("", ""), now).await.unwrap();
    assert_eq!(
        names(all),
        ["connection/alice", "connection/bob", "session/alice"]
    );
    let conn = semaphores
        .list(&filter("connection", ""), now)
        .await
        .unwrap();
    assert_eq!(names(conn), ["connection/alice", "connection/bob"]);
    let alice = semaphores.list(&filter("", "alice"), now).await.unwrap();
    assert_eq!(names(alice), ["connection/alice", "session/alice"]);
    let none = semaphores
        .list(&filter("connection", "carol"), now)
        .await
        .unwrap();
    assert!(none.is_empty());

    semaphores
        .delete(&filter("connection", "alice"))
        .await
        .unwrap();
    let e = semaphores
        .delete(&filter("connection", "alice"))
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "semaphore `connection/alice` not found");
    let all = semaphores.list(&filter("", ""), now).await.unwrap();
    assert_eq!(names(all), ["connection/bob", "session/alice"]);
}

/// 64 acquirers at once on a semaphore of 10: exactly 10 leases, 54 refusals, nothing else.
async fn sixty_four_acquirers(servers: Vec<Arc<Semaphores>>) {
    let now = SystemTime::now();
    let later = now + Duration::from_secs(60);
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let semaphores = servers[i % servers.len()].clone();
            tokio::spawn(async move { semaphores.acquire(&request("alice", 10, later), now).await })
        })
        .collect();
    let (mut granted, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => granted += 1,
            Err(SemaphoreError::LimitReached { .. }) => refused += 1,
            Err(e) => panic!("neither a lease nor a refusal: {e}"),
        }
    }
    assert_eq!((granted, refused), (10, 54));
    assert_eq!(lease_count(&servers[0], "alice", now).await, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_acquirers_on_one_server() {
    let (_backend, semaphores) = store();
    sixty_four_acquirers(vec![Arc::new(semaphores)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_acquirers_on_sixty_four_servers() {
    // No shared local lock: only compare-and-swap keeps the count.
    let backend: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
    let servers = (0..64)
        .map(|_| Arc::new(Semaphores::new(backend.clone())))
        .collect();
    sixty_four_acquirers(servers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn holders_never_exceed_the_maximum_while_leases_churn() {
    const MAX: usize = 3;
    let backend: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
    let holding = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let semaphores = Semaphores::new(backend.clone());
            let holding = holding.clone();
            tokio::spawn(async move {
                let mut granted = 0;
                for _ in 0..40 {
                    let now = SystemTime::now();
                    let req = request("alice", MAX as i64, now + Duration::from_secs(60));
                    match semaphores.acquire(&req, now).await {
                        Ok(lease) => {
                            granted += 1;
                            let held = holding.fetch_add(1, Ordering::SeqCst) + 1;
                            assert!(held <= MAX, "{held} holders of {MAX} leases");
                            tokio::task::yield_now().await;
                            holding.fetch_sub(1, Ordering::SeqCst);
                            semaphores.cancel(&lease, SystemTime::now()).await.unwrap();
                        }
                        Err(SemaphoreError::LimitReached { .. }) => tokio::task::yield_now().await,
                        Err(e) => panic!("neither a lease nor a refusal: {e}"),
                    }
                }
                granted
            })
        })
        .collect();
    let mut granted = 0;
    for task in tasks {
        granted += task.await.unwrap();
    }
    assert!(granted >= MAX, "{granted}");
    let semaphores = Semaphores::new(backend);
    assert_eq!(
        lease_count(&semaphores, "alice", SystemTime::now()).await,
        0
    );
}
