//! CreateAuditStream: a node or proxy streams a session's events. The first message
//! creates or resumes an upload and is answered at once with its UploadID; events become
//! durable part by part (when a part is full, or [`FLUSH_INTERVAL`] after the first event
//! waiting), and each write is acknowledged with the last durable index. A connection that
//! breaks keeps what arrived: the client resumes with the UploadID and sends again from the
//! acknowledged index.

use std::sync::Arc;

use portcullis_api::auth::audit_stream_request::Request as Message;
use portcullis_api::auth::AuditStreamRequest;
use portcullis_api::events::StreamStatus;
use portcullis_api::BoxStream;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tonic::{Request, Status, Streaming};

use super::authorize;
use crate::rbac::Target;
use crate::sessions::{StreamWriter, FLUSH_INTERVAL};
use crate::state::State;

/// Audit event: a session recording was completed (fields `session_id`, `upload_id`,
/// `events`, `bytes`, `digest`).
pub const SESSION_UPLOAD: &str = "session.upload";

type Out = mpsc::Sender<Result<StreamStatus, Status>>;

pub(super) async fn create(
    state: &Arc<State>,
    request: Request<Streaming<AuditStreamRequest>>,
) -> Result<BoxStream<StreamStatus>, Status> {
    let caller = authorize(state, &request, "CreateAuditStream", Target::default()).await?;
    let emitter = caller.username.clone();
    let inbound = request.into_inner();
    let (out, rx) = mpsc::channel(16);
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(status) = serve(&state, &emitter, inbound, &out).await {
            tracing::debug!(%emitter, error = %status.message(), "audit stream ended with an error");
            // The client may be gone already.
            let _ = out.send(Err(status)).await;
        }
    });
    Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
}

async fn status(out: &Out, writer: &StreamWriter<'_>) {
    let status = StreamStatus {
        upload_id: writer.upload_id().to_owned(),
        last_event_index: writer.durable_index(),
    };
    // A client that went away resumes later and learns the index then.
    let _ = out.send(Ok(status)).await;
}

async fn serve(
    state: &State,
    emitter: &str,
    mut inbound: Streaming<AuditStreamRequest>,
    out: &Out,
) -> Result<(), Status> {
    let first = inbound
        .message()
        .await?
        .and_then(|m| m.request)
        .ok_or_else(|| {
            Status::failed_precondition(
                "the audit stream ended before CreateStream or ResumeStream",
            )
        })?;
    let recordings = &state.sessions;
    let mut writer = match first {
        Message::CreateStream(create) => {
            StreamWriter::create(
                recordings,
                &create.session_id,
                emitter,
                portcullis_clock::now(),
            )
            .await?
        }
        Message::ResumeStream(resume) => {
            StreamWriter::resume(
                recordings,
                &resume.session_id,
                &resume.upload_id,
                emitter,
                portcullis_clock::now(),
            )
            .await?
        }
        _ => {
            return Err(Status::failed_precondition(
                "an audit stream must start with CreateStream or ResumeStream",
            ))
        }
    };
    tracing::debug!(session = writer.session_id(), upload = writer.upload_id(), %emitter, "audit stream open");
    status(out, &writer).await;
    let stopping = state.stopping();
    tokio::pin!(stopping);
    let mut deadline: Option<Instant> = None;
    loop {
        let flush_due = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            message = inbound.message() => {
                let message = match message {
                    Ok(Some(message)) => message,
                    // The client closed its side, or the connection broke: what arrived is
                    // kept; the upload stays open for a resume.
                    Ok(None) | Err(_) => {
                        writer.flush(portcullis_clock::now()).await?;
                        return Ok(());
                    }
                };
                match message.request {
                    Some(Message::Event(event)) => {
                        let taken = match writer.push(&event) {
                            Ok(taken) => taken,
                            Err(e) => {
                                // Keep what came before the bad event, and say so.
                                writer.flush(portcullis_clock::now()).await?;
                                status(out, &writer).await;
                                return Err(e.into());
                            }
                        };
                        if writer.should_flush() {
                            writer.flush(portcullis_clock::now()).await?;
                            deadline = None;
                            status(out, &writer).await;
                        } else if taken && deadline.is_none() {
                            deadline = Some(Instant::now() + FLUSH_INTERVAL);
                        }
                    }
                    Some(Message::FlushAndCloseStream(_)) => {
                        writer.flush(portcullis_clock::now()).await?;
                        status(out, &writer).await;
                        return Ok(());
                    }
                    Some(Message::CompleteStream(_)) => {
                        let session = writer.complete(&state.cluster_name, portcullis_clock::now()).await?;
                        let spec = session.spec.unwrap_or_default();
                        let fields = json!({
                            "session_id": spec.session_id,
                            "upload_id": spec.upload_id,
                            "events": spec.events,
                            "bytes": spec.bytes,
                            "digest": spec.digest,
                        });
                        state.audit.emit(SESSION_UPLOAD, emitter, fields).await;
                        let done = StreamStatus {
                            upload_id: spec.upload_id,
                            last_event_index: i64::try_from(spec.events).unwrap_or(i64::MAX) - 1,
                        };
                        let _ = out.send(Ok(done)).await;
                        return Ok(());
                    }
                    Some(Message::CreateStream(_) | Message::ResumeStream(_)) => {
                        writer.flush(portcullis_clock::now()).await?;
                        return Err(Status::failed_precondition(
                            "CreateStream and ResumeStream may only be the first message of an audit stream",
                        ));
                    }
                    None => {
                        writer.flush(portcullis_clock::now()).await?;
                        return Err(Status::invalid_argument("an audit stream message is empty"));
                    }
                }
            }
            () = flush_due => {
                writer.flush(portcullis_clock::now()).await?;
                deadline = None;
                status(out, &writer).await;
            }
            () = &mut stopping => {
                writer.flush(portcullis_clock::now()).await?;
                status(out, &writer).await;
                return Err(Status::unavailable("the server is stopping; resume the stream with its UploadID"));
            }
        }
    }
}
