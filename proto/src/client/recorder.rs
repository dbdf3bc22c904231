//! Recording a session over CreateAuditStream, as a node or proxy does: events are numbered,
//! kept until the server acknowledges them as durable, and sent again after a reconnect,
//! so a broken connection or a restarted server loses nothing and repeats nothing.

use std::collections::VecDeque;

use tokio::sync::{mpsc, watch};

use super::Client;
use crate::auth::audit_stream_request::Request as Message;
use crate::auth::{
    AuditStreamRequest, CompleteStream, CreateStream, FlushAndCloseStream, ResumeStream,
};
use crate::error::{Error, Result};
use crate::events::OneOf;

/// What the server said last on the current stream.
#[derive(Debug, Clone, Default)]
struct Progress {
    upload_id: String,
    /// Last durable index; `None` until the first status.
    acked: Option<i64>,
    /// Set when the stream ended: `Ok` when the server closed it, the error otherwise.
    ended: Option<std::result::Result<(), tonic::Status>>,
}

/// A session being recorded. Create it with [`SessionRecorder::create`], send events with
/// [`SessionRecorder::record`], and finish with [`SessionRecorder::complete`]. When a call
/// fails because the connection broke, call [`SessionRecorder::reconnect`] (with a new
/// client if the server moved) and go on.
#[derive(Debug)]
pub struct SessionRecorder {
    session_id: String,
    upload_id: String,
    next_index: i64,
    acked: i64,
    /// Events sent (or to send) that no status has covered yet, in index order.
    pending: VecDeque<OneOf>,
    requests: mpsc::Sender<AuditStreamRequest>,
    progress: watch::Receiver<Progress>,
}

fn message(request: Message) -> AuditStreamRequest {
    AuditStreamRequest {
        request: Some(request),
    }
}

impl SessionRecorder {
    /// Starts recording session `session_id` (a new upload).
    pub async fn create(client: &Client, session_id: &str) -> Result<Self> {
        let first = Message::CreateStream(CreateStream {
            session_id: session_id.to_owned(),
        });
        let (requests, progress) = open(client, first).await?;
        let mut recorder = SessionRecorder {
            session_id: session_id.to_owned(),
            upload_id: String::new(),
            next_index: 0,
            acked: -1,
            pending: VecDeque::new(),
            requests,
            progress,
        };
        recorder.await_first().await?;
        Ok(recorder)
    }

    /// Takes over upload `upload_id` of session `session_id` with nothing pending (a
    /// recorder that restarted): the next event gets the index after the last durable one.
    pub async fn resume(client: &Client, session_id: &str, upload_id: &str) -> Result<Self> {
        let (requests, progress) = open(client, resume(session_id, upload_id)).await?;
        let mut recorder = SessionRecorder {
            session_id: session_id.to_owned(),
            upload_id: upload_id.to_owned(),
            next_index: 0,
            acked: -1,
            pending: VecDeque::new(),
            requests,
            progress,
        };
        recorder.await_first().await?;
        recorder.next_index = recorder.acked + 1;
        Ok(recorder)
    }

    /// The upload's ID (to resume it).
    pub fn upload_id(&self) -> &str {
        &self.upload_id
    }

    /// The last index the server has made durable (-1: none).
    pub fn acked(&self) -> i64 {
        self.acked
    }

    /// Events sent that are not durable yet.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Sends `event` as the next one (its index is set here); returns the index.
    pub async fn record(&mut self, mut event: OneOf) -> Result<i64> {
        event.index = self.next_index;
        self.next_index += 1;
        self.pending.push_back(event.clone());
        self.absorb()?;
        self.send(Message::Event(event)).await?;
        Ok(self.next_index - 1)
    }

    /// Waits until every event sent so far is durable (the server writes within a fraction
    /// of a second) and returns the last durable index.
    pub async fn sync(&mut self) -> Result<i64> {
        let target = self.next_index - 1;
        while self.acked < target {
            self.progress
                .changed()
                .await
                .map_err(|_| Error::Protocol("the audit stream ended".into()))?;
            self.absorb()?;
        }
        Ok(self.acked)
    }

    /// Opens a new stream on the same upload (through `client`, which may be a new
    /// connection) and sends again every event the server has not made durable.
    pub async fn reconnect(&mut self, client: &Client) -> Result<()> {
        let (requests, progress) = open(client, resume(&self.session_id, &self.upload_id)).await?;
        self.requests = requests;
        self.progress = progress;
        self.acked = -1;
        self.await_first().await?;
        let resend: Vec<OneOf> = self.pending.iter().cloned().collect();
        for event in resend {
            self.send(Message::Event(event)).await?;
        }
        Ok(())
    }

    /// Ends the stream without completing the upload (it can be resumed later); returns
    /// the last durable index.
    pub async fn close(mut self) -> Result<i64> {
        self.send(Message::FlushAndCloseStream(FlushAndCloseStream {}))
            .await?;
        self.await_end().await?;
        Ok(self.acked)
    }

    /// Completes the recording: everything sent becomes the session's recording.
    pub async fn complete(mut self) -> Result<()> {
        self.send(Message::CompleteStream(CompleteStream {}))
            .await?;
        self.await_end().await?;
        if self.acked + 1 != self.next_index {
            return Err(Error::Protocol(format!(
                "the recording ends at index {}, {} events were sent",
                self.acked, self.next_index
            )));
        }
        Ok(())
    }

    async fn send(&mut self, request: Message) -> Result<()> {
        if self.requests.send(message(request)).await.is_err() {
            self.absorb()?;
            return Err(Error::Protocol("the audit stream is closed".into()));
        }
        Ok(())
    }

    /// Takes in what the server said: drops acknowledged events; an ended stream is an
    /// error.
    fn absorb(&mut self) -> Result<()> {
        let progress = self.progress.borrow_and_update().clone();
        if let Some(acked) = progress.acked {
            self.acked = self.acked.max(acked);
            while self.pending.front().is_some_and(|e| e.index <= self.acked) {
                self.pending.pop_front();
            }
        }
        match progress.ended {
            Some(Err(status)) => Err(status.into()),
            Some(Ok(())) => Err(Error::Protocol("the audit stream ended".into())),
            None => Ok(()),
        }
    }

    async fn await_first(&mut self) -> Result<()> {
        loop {
            {
                let progress = self.progress.borrow_and_update();
                if progress.acked.is_some() {
                    self.upload_id = progress.upload_id.clone();
                    break;
                }
                if let Some(Err(status)) = &progress.ended {
                    return Err(status.clone().into());
                }
            }
            self.progress
                .changed()
                .await
                .map_err(|_| Error::Protocol("the audit stream ended before its status".into()))?;
        }
        self.absorb()
    }

    async fn await_end(&mut self) -> Result<()> {
        loop {
            {
                let progress = self.progress.borrow_and_update();
                if let Some(acked) = progress.acked {
                    self.acked = self.acked.max(acked);
                }
                match &progress.ended {
                    Some(Ok(())) => return Ok(()),
                    Some(Err(status)) => return Err(status.clone().into()),
                    None => {}
                }
            }
            self.progress
                .changed()
                .await
                .map_err(|_| Error::Protocol("the audit stream ended".into()))?;
        }
    }
}

fn resume(session_id: &str, upload_id: &str) -> Message {
    Message::ResumeStream(ResumeStream {
        session_id: session_id.to_owned(),
        upload_id: upload_id.to_owned(),
    })
}

/// Opens a stream whose first message is `first`; statuses are read by a task into the
/// returned watch.
async fn open(
    client: &Client,
    first: Message,
) -> Result<(mpsc::Sender<AuditStreamRequest>, watch::Receiver<Progress>)> {
    let (requests, rx) = mpsc::channel(256);
    requests
        .send(message(first))
        .await
        .map_err(|_| Error::Protocol("cannot queue the first message".into()))?;
    let mut statuses = client
        .rpc()
        .create_audit_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await?
        .into_inner();
    let (progress_tx, progress) = watch::channel(Progress::default());
    tokio::spawn(async move {
        loop {
            match statuses.message().await {
                Ok(Some(status)) => progress_tx.send_modify(|p| {
                    p.upload_id = status.upload_id;
                    p.acked = Some(p.acked.unwrap_or(-1).max(status.last_event_index));
                }),
                Ok(None) => {
                    progress_tx.send_modify(|p| p.ended = Some(Ok(())));
                    return;
                }
                Err(status) => {
                    progress_tx.send_modify(|p| p.ended = Some(Err(status)));
                    return;
                }
            }
        }
    });
    Ok((requests, progress))
}
