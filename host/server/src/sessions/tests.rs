//! Recording workflows against the in-memory store.

use std::sync::Arc;
use std::time::SystemTime;

use portcullis_api::events::OneOf;
use portcullis_store::{Backend, MemoryBackend};
use serde_json::json;

use super::upload::{part_key, upload_key};
use super::*;

fn recordings() -> (Arc<MemoryBackend>, Recordings) {
    let backend = Arc::new(MemoryBackend::new());
    (backend.clone(), Recordings::new(backend))
}

fn event(index: i64, event_type: &str, fields: serde_json::Value) -> OneOf {
    OneOf {
        r#type: event_type.into(),
        time: Some(portcullis_api::time::to_timestamp(SystemTime::now())),
        user: "alice".into(),
        fields: fields.to_string(),
        index,
        ..OneOf::default()
    }
}

fn start(index: i64) -> OneOf {
    event(
        index,
        "session.start",
        json!({"login": "root", "server_id": "node-1", "server_hostname": "db1"}),
    )
}

fn print(index: i64, text: &str) -> OneOf {
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(text);
    event(index, "print", json!({"data": data}))
}

async fn all_events(recordings: &Recordings, id: &str, page: usize) -> Vec<i64> {
    let session = recordings.get(id).await.unwrap();
    let mut cursor = String::new();
    let mut indexes = Vec::new();
    loop {
        let got = recordings.events(&session, &cursor, page).await.unwrap();
        assert!(got.items.len() <= page);
        indexes.extend(got.items.iter().map(|e| e.index));
        match got.next {
            Some(next) => cursor = next,
            None => return indexes,
        }
    }
}

#[tokio::test]
async fn a_stream_becomes_a_recording_read_back_in_order_across_parts() {
    let (_, recordings) = recordings();
    let now = SystemTime::now();
    let mut writer = StreamWriter::create(&recordings, "s-1", "node-1.example", now)
        .await
        .unwrap();
    assert_eq!(writer.durable_index(), -1);
    assert!(writer.push(&start(0)).unwrap());
    for i in 1..=40 {
        writer.push(&print(i, &"x".repeat(4000))).unwrap();
        if writer.should_flush() {
            writer.flush(now).await.unwrap();
        }
    }
    writer
        .push(&event(
            41,
            "session.end",
            json!({"participants": ["alice", "bob"]}),
        ))
        .unwrap();
    let upload_id = writer.upload_id().to_owned();
    let session = writer.complete("example", now).await.unwrap();
    let spec = session.spec.clone().unwrap();
    assert_eq!(session.kind, KIND_SESSION);
    assert_eq!(spec.events, 42);
    assert_eq!(spec.login, "root");
    assert_eq!(spec.server_id, "node-1");
    assert_eq!(spec.participants, ["alice", "bob"]);
    assert_eq!(spec.emitter, "node-1.example");
    assert_eq!(spec.upload_id, upload_id);
    assert_eq!(recordings.get("s-1").await.unwrap(), session);

    // Several parts (4000-byte events, 64 KiB parts), read back whole in pages of 7.
    let indexes = all_events(&recordings, "s-1", 7).await;
    assert_eq!(indexes, (0..42).collect::<Vec<_>>());
    let listed = recordings.list("", 10).await.unwrap();
    assert_eq!(listed.items, vec![session]);
    // Completed: not active, and not resumable.
    assert!(recordings
        .active("example", "", 10)
        .await
        .unwrap()
        .items
        .is_empty());
    let resumed = StreamWriter::resume(&recordings, "s-1", &upload_id, "node-1.example", now).await;
    assert!(matches!(resumed, Err(SessionError::Completed { .. })));
}

#[tokio::test]
async fn repeats_are_dropped_and_gaps_bad_fields_and_sizes_refused() {
    let (_, mut recordings) = recordings();
    recordings.limits = Limits {
        max_event_bytes: 200,
        max_session_bytes: 1000,
    };
    let now = SystemTime::now();
    let mut writer = StreamWriter::create(&recordings, "s-2", "node", now)
        .await
        .unwrap();
    assert!(writer.push(&start(0)).unwrap());
    assert!(!writer.push(&start(0)).unwrap(), "a repeat is dropped");
    assert!(matches!(
        writer.push(&print(5, "x")),
        Err(SessionError::Gap {
            expected: 1,
            got: 5,
            ..
        })
    ));
    let mut bad = event(1, "print", json!({}));
    bad.fields = "[1]".into();
    assert!(
        matches!(writer.push(&bad), Err(SessionError::Invalid(m)) if m.contains("not a JSON object"))
    );
    bad.fields = "{".into();
    assert!(
        matches!(writer.push(&bad), Err(SessionError::Invalid(m)) if m.contains("not valid JSON"))
    );
    let big = writer.push(&print(1, &"x".repeat(300))).unwrap_err();
    assert!(
        big.to_string().contains("limit of 200 bytes per event"),
        "{big}"
    );
    for i in 1..=7 {
        writer.push(&print(i, &"y".repeat(80))).unwrap();
    }
    let full = writer.push(&print(8, &"y".repeat(80))).unwrap_err();
    assert!(
        matches!(full, SessionError::SessionTooLarge { limit: 1000, .. }),
        "{full}"
    );
}

#[tokio::test]
async fn a_resume_continues_after_the_durable_events_and_adopts_a_stray_part() {
    let (backend, recordings) = recordings();
    let now = SystemTime::now();
    let mut writer = StreamWriter::create(&recordings, "s-3", "node", now)
        .await
        .unwrap();
    writer.push(&start(0)).unwrap();
    writer.push(&print(1, "one")).unwrap();
    assert_eq!(writer.flush(now).await.unwrap(), 1);
    writer.push(&print(2, "lost with the server")).unwrap();
    let upload_id = writer.upload_id().to_owned();
    drop(writer);

    // Another emitter may not take the upload over.
    let other = StreamWriter::resume(&recordings, "s-3", &upload_id, "intruder", now).await;
    assert!(matches!(other, Err(SessionError::NotOwner { .. })));
    assert!(matches!(
        StreamWriter::resume(&recordings, "s-4", &upload_id, "node", now).await,
        Err(SessionError::NoUpload { .. })
    ));

    let mut writer = StreamWriter::resume(&recordings, "s-3", &upload_id, "node", now)
        .await
        .unwrap();
    assert_eq!(writer.durable_index(), 1);
    assert!(!writer.push(&print(1, "one")).unwrap(), "already durable");
    writer.push(&print(2, "two")).unwrap();

    // A part written by a server that stopped before it moved the upload record on.
    let upload = Upload::decode(
        b"k",
        &backend
            .get(&upload_key(&upload_id))
            .await
            .unwrap()
            .unwrap()
            .value,
    )
    .unwrap();
    let stray_event = part::NewEvent::from_api(&print(2, "two")).unwrap();
    let (stray, _, _) = part::encode(upload.parts, &upload.digest, &[stray_event]).unwrap();
    backend
        .create(&part_key(&upload_id, upload.parts), stray, None)
        .await
        .unwrap();
    // The writer above now collides with it: another stream wrote the upload.
    assert!(matches!(
        writer.flush(now).await,
        Err(SessionError::Concurrent(_))
    ));

    let mut writer = StreamWriter::resume(&recordings, "s-3", &upload_id, "node", now)
        .await
        .unwrap();
    assert_eq!(writer.durable_index(), 2, "the stray part is adopted");
    writer.push(&print(3, "three")).unwrap();
    writer.complete("example", now).await.unwrap();
    assert_eq!(all_events(&recordings, "s-3", 100).await, [0, 1, 2, 3]);
}

#[tokio::test]
async fn active_sessions_are_the_open_uploads() {
    let (_, recordings) = recordings();
    let now = SystemTime::now();
    let mut writer = StreamWriter::create(&recordings, "s-5", "node", now)
        .await
        .unwrap();
    writer.push(&start(0)).unwrap();
    writer.flush(now).await.unwrap();
    let active = recordings.active("example", "", 10).await.unwrap().items;
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].kind, KIND_SSH_SESSION);
    let spec = active[0].spec.clone().unwrap();
    assert_eq!(
        (spec.login.as_str(), spec.participants.as_slice()),
        ("root", &["alice".to_owned()][..])
    );
    assert!(matches!(
        recordings.get("s-5").await,
        Err(SessionError::NotFound(_))
    ));
}

#[tokio::test]
async fn an_edited_part_is_reported_as_damage() {
    let (backend, recordings) = recordings();
    let now = SystemTime::now();
    let mut writer = StreamWriter::create(&recordings, "s-6", "node", now)
        .await
        .unwrap();
    writer.push(&start(0)).unwrap();
    writer.push(&print(1, "secret")).unwrap();
    let upload_id = writer.upload_id().to_owned();
    writer.complete("example", now).await.unwrap();
    let key = part_key(&upload_id, 0);
    let value = backend.get(&key).await.unwrap().unwrap().value;
    let edited = String::from_utf8(value)
        .unwrap()
        .replace("c2VjcmV0", "cHVibGlj");
    backend.put(&key, edited.into_bytes(), None).await.unwrap();
    let session = recordings.get("s-6").await.unwrap();
    let damaged = recordings.events(&session, "", 10).await.unwrap_err();
    assert!(
        matches!(damaged, SessionError::Damaged { part: 0, .. }),
        "{damaged}"
    );
}

#[test]
fn session_ids_are_checked() {
    for ok in ["3f2a-11", "a.b_c"] {
        validate_session_id(ok).unwrap();
    }
    for bad in ["", ".hidden", "a/b", &"x".repeat(129)] {
        assert!(validate_session_id(bad).is_err(), "{bad}");
    }
}
