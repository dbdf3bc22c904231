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

/// The role events of `backend`, until something ends them.
fn watch_roles(
    backend: &dyn Backend,
    stopping: impl Future<Output = ()> + Send + 'static,
    expires: Option<SystemTime>,
) -> Pin<Box<dyn Stream<Item = Result<Event, Status>> + Send>> {
    Box::pin(events(stopping, backend.subscribe(), roles(), expires))
}

#[tokio::test]
async fn a_lagging_watcher_is_ended_with_aborted_never_skipping() {
    let backend = Arc::new(MemoryBackend::with_feed_capacity(4));
    let mut stream = watch_roles(backend.as_ref(), std::future::pending(), None);
    // Nobody reads while twenty writes go by: the feed's buffer of four overflows.
    put_roles(backend.as_ref(), 20).await;
    let mut delivered = 0;
    let status = loop {
        match stream.next().await.unwrap() {
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
    assert!(
        stream.next().await.is_none(),
        "the stream ends after the error"
    );
}

#[tokio::test]
async fn a_watcher_that_keeps_up_gets_every_event_in_order() {
    let backend = Arc::new(MemoryBackend::with_feed_capacity(4));
    let mut stream = watch_roles(backend.as_ref(), std::future::pending(), None);
    let reader = tokio::spawn(async move {
        let mut names = Vec::new();
        while names.len() < 50 {
            let event = stream.next().await.unwrap().unwrap();
            let Some(EventResource::Role(role)) = event.resource else {
                panic!("{event:?}");
            };
            names.push(role.metadata.unwrap_or_default().name);
        }
        names
    });
    for i in 0..50 {
        let role = RoleV3 {
            metadata: Some(portcullis_api::services::Metadata {
                name: format!("r{i}"),
                ..Default::default()
            }),
            ..RoleV3::default()
        };
        let key = format!("/roles/r{i}");
        let value = prost::Message::encode_to_vec(&role);
        backend.put(key.as_bytes(), value, None).await.unwrap();
        // Room for the reader: the feed buffers only four.
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let names = reader.await.unwrap();
    let expected: Vec<String> = (0..50).map(|i| format!("r{i}")).collect();
    assert_eq!(names, expected);
}

#[tokio::test]
async fn streams_end_when_the_server_stops() {
    let backend = Arc::new(MemoryBackend::new());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let stopping = async move {
        let _ = stopped.await;
    };
    let mut stream = watch_roles(backend.as_ref(), stopping, None);
    put_roles(backend.as_ref(), 1).await;
    assert!(stream.next().await.unwrap().is_ok());
    stop.send(()).unwrap();
    let status = stream.next().await.unwrap().unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn streams_end_when_the_certificate_expires() {
    let backend = Arc::new(MemoryBackend::new());
    let soon = SystemTime::now() + Duration::from_millis(200);
    let mut stream = watch_roles(backend.as_ref(), std::future::pending(), Some(soon));
    let status = stream.next().await.unwrap().unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(stream.next().await.is_none());
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
