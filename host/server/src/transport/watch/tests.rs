use std::sync::Arc;
use std::time::Duration;

use portcullis_api::auth::WatchKind;
use portcullis_api::services::RoleV3;
use portcullis_store::{Backend, MemoryBackend};
use tonic::Code;

use super::*;

fn roles() -> Selection {
    Selection::parse(&[WatchKind {
        kind: "role".into(),
        ..WatchKind::default()
    }])
    .unwrap()
}

async fn put_roles(backend: &dyn Backend, count: usize) {
    for i in 0..count {
        let value = prost::Message::encode_to_vec(&RoleV3::default());
        let key = format!("/roles/r{i}");
        backend.put(key.as_bytes(), value, None).await.unwrap();
    }
}

/// Forwards the role events of `backend` to `tx` until something ends it.
fn watch_roles(backend: &dyn Backend, tx: Sender) -> tokio::task::JoinHandle<()> {
    let stopping = std::future::pending();
    tokio::spawn(forward(stopping, backend.subscribe(), roles(), tx, None))
}

#[tokio::test]
async fn a_lagging_watcher_is_ended_with_aborted_never_skipping() {
    let backend = Arc::new(MemoryBackend::with_feed_capacity(4));
    let (tx, mut rx) = mpsc::channel(1);
    let task = watch_roles(backend.as_ref(), tx);
    // Nobody reads while twenty writes go by: the feed's buffer of four overflows.
    put_roles(backend.as_ref(), 20).await;
    let mut delivered = 0;
    let status = loop {
        match rx.recv().await.unwrap() {
            Ok(event) => {
                assert_eq!(event.r#type(), Operation::Put);
                delivered += 1;
            }
            Err(status) => break status,
        }
    };
    assert!(delivered < 20, "{delivered}");
    assert_eq!(status.code(), Code::Aborted);
    assert!(
        status.message().starts_with("watcher fell ")
            && status.message().ends_with(" events behind; re-watch"),
        "{status:?}"
    );
    assert!(rx.recv().await.is_none(), "the stream ends after the error");
    task.await.unwrap();
}

#[tokio::test]
async fn streams_end_when_the_client_leaves_or_the_server_stops() {
    let backend = Arc::new(MemoryBackend::new());
    let (tx, rx) = mpsc::channel(8);
    let task = watch_roles(backend.as_ref(), tx);
    drop(rx);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (tx, mut rx) = mpsc::channel(8);
    let stopping = async move {
        let _ = stopped.await;
    };
    tokio::spawn(forward(stopping, backend.subscribe(), roles(), tx, None));
    put_roles(backend.as_ref(), 1).await;
    assert!(rx.recv().await.unwrap().is_ok());
    stop.send(()).unwrap();
    let status = rx.recv().await.unwrap().unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(rx.recv().await.is_none());
}

#[tokio::test]
async fn streams_end_when_the_certificate_expires() {
    let backend = Arc::new(MemoryBackend::new());
    let (tx, mut rx) = mpsc::channel(8);
    let soon = SystemTime::now() + Duration::from_millis(200);
    let stopping = std::future::pending();
    tokio::spawn(forward(
        stopping,
        backend.subscribe(),
        roles(),
        tx,
        Some(soon),
    ));
    let status = rx.recv().await.unwrap().unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
}

#[test]
fn secrets_leave_only_when_asked_for() {
    use portcullis_api::services::{Metadata, ProvisionTokenV2, ResourceHeader};
    let token = ProvisionTokenV2 {
        metadata: Some(Metadata {
            name: "0123456789abcdef".into(),
            ..Metadata::default()
        }),
        ..ProvisionTokenV2::default()
    };
    let name = |event: Event| match event.resource {
        Some(EventResource::ProvisionToken(t)) => t.metadata.unwrap().name,
        Some(EventResource::ResourceHeader(h)) => h.metadata.unwrap().name,
        other => panic!("{other:?}"),
    };
    let put = |secrets| Change::Put {
        resource: Box::new(EventResource::ProvisionToken(token.clone())),
        secrets,
    };
    assert_eq!(name(present(put(true))), "0123456789abcdef");
    assert_eq!(name(present(put(false))), "0123************");
    let header = ResourceHeader {
        metadata: token.metadata.clone(),
        ..ResourceHeader::default()
    };
    let delete = Change::Delete {
        kind: WatchedKind::Token,
        header,
        secrets: false,
    };
    let event = present(delete);
    assert_eq!(event.r#type(), Operation::Delete);
    assert_eq!(name(event), "0123************");
}
