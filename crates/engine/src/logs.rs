//! Action logs, streamed to the database while the action runs. Lines are batched by one writer
//! task (a transaction per batch, not per line) so a chatty build does not turn into thousands of
//! commits; `flush` waits until everything sent so far is stored, which the driver does before it
//! records an action's end, so a reader who sees the end also sees the whole log.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use pipewright_store::{LogRow, Store};
use tokio::sync::{mpsc, oneshot};

use crate::clock::Clock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
    /// Lines Pipewright itself writes (what it runs, where artifacts came from).
    Pipewright,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
            Stream::Pipewright => "pipewright",
        }
    }
}

enum Message {
    Line(LogRow),
    Flush(oneshot::Sender<()>),
}

/// The engine's one log writer.
#[derive(Clone, Debug)]
pub struct LogSink {
    tx: mpsc::UnboundedSender<Message>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("log message")
    }
}

/// The log of one action execution.
#[derive(Clone, Debug)]
pub struct ActionLog {
    sink: LogSink,
    action_execution_id: Arc<str>,
    seq: Arc<AtomicI64>,
}

/// Lines longer than this are cut; a minified bundle printed to stdout should not become one
/// 50 MB row.
const MAX_LINE: usize = 16 * 1024;

impl LogSink {
    pub fn start(store: Store, clock: Arc<dyn Clock>) -> LogSink {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_batches(store, rx));
        LogSink { tx, clock }
    }

    pub fn action(&self, action_execution_id: &str, first_seq: i64) -> ActionLog {
        ActionLog {
            sink: self.clone(),
            action_execution_id: action_execution_id.into(),
            seq: Arc::new(AtomicI64::new(first_seq)),
        }
    }

    /// Waits until every line sent before this call is stored.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

impl ActionLog {
    pub fn line(&self, stream: Stream, mut line: String) {
        if line.len() > MAX_LINE {
            let mut cut = MAX_LINE;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
            line.push_str(" …[line cut]");
        }
        let row = LogRow {
            action_execution_id: self.action_execution_id.to_string(),
            seq: self.seq.fetch_add(1, Ordering::Relaxed) + 1,
            time_ms: self.sink.clock.now_ms(),
            stream: stream.as_str().to_owned(),
            line,
        };
        // The writer only stops when the engine shuts down; a line sent then has nowhere to go.
        let _ = self.sink.tx.send(Message::Line(row));
    }

    /// A line from Pipewright itself.
    pub fn note(&self, line: impl Into<String>) {
        self.line(Stream::Pipewright, line.into());
    }

    pub async fn flush(&self) {
        self.sink.flush().await;
    }
}

async fn write_batches(store: Store, mut rx: mpsc::UnboundedReceiver<Message>) {
    let mut batch = Vec::new();
    let mut waiting = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        // Gather what arrived meanwhile, and a little more, into one transaction.
        let deadline = tokio::time::Instant::now() + Duration::from_millis(50);
        loop {
            match next.take() {
                Some(Message::Line(row)) => batch.push(row),
                Some(Message::Flush(done)) => {
                    waiting.push(done);
                    break;
                }
                None => {}
            }
            if batch.len() >= 1000 {
                break;
            }
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(message)) => next = Some(message),
                Ok(None) | Err(_) => break,
            }
        }
        if !batch.is_empty() {
            if let Err(error) = write(&store, &batch).await {
                eprintln!(
                    "pipewright: could not store {} log lines: {error}",
                    batch.len()
                );
            }
            batch.clear();
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

async fn write(store: &Store, rows: &[LogRow]) -> pipewright_store::Result<()> {
    let mut tx = store.write().await?;
    pipewright_store::append_logs(&mut tx, rows).await?;
    tx.commit().await?;
    Ok(())
}
