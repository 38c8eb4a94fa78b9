//! Action logs, streamed to the database while the action runs. Lines go into one shared buffer;
//! a writer task stores what has gathered every 50 ms (a transaction per batch, not per line, so a
//! chatty build does not turn into thousands of commits). When the driver records actions' ends it
//! takes the buffer into the same transaction, so whoever sees an action's end also sees its whole
//! log.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pipewright_store::{LogRow, SqliteConnection, Store};
use tokio::sync::Notify;

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

/// How often buffered lines are stored, at most; a reader following a log sees lines this late.
const WRITE_EVERY: Duration = Duration::from_millis(50);
/// A buffer this full is stored at once instead of waiting for the next tick.
const EAGER_LINES: usize = 2000;

#[derive(Debug, Default)]
struct Buffer {
    lines: Mutex<Vec<LogRow>>,
    full: Notify,
}

/// The engine's one log buffer and its writer.
#[derive(Clone, Debug)]
pub struct LogSink {
    buffer: Arc<Buffer>,
    clock: Arc<dyn Clock>,
}

/// The log of one action (or rule) execution.
#[derive(Clone, Debug)]
pub struct ActionLog {
    sink: LogSink,
    action_execution_id: Arc<str>,
    seq: Arc<AtomicI64>,
    /// Values no line may show (a build's secrets), shared by every clone of this log.
    masked: Arc<Mutex<Vec<String>>>,
}

/// Lines longer than this are cut; a minified bundle printed to stdout should not become one
/// 50 MB row.
const MAX_LINE: usize = 16 * 1024;

impl LogSink {
    pub fn start(store: Store, clock: Arc<dyn Clock>) -> LogSink {
        let buffer = Arc::new(Buffer::default());
        tokio::spawn(write_batches(store, buffer.clone()));
        LogSink { buffer, clock }
    }

    pub fn action(&self, action_execution_id: &str, first_seq: i64) -> ActionLog {
        ActionLog {
            sink: self.clone(),
            action_execution_id: action_execution_id.into(),
            seq: Arc::new(AtomicI64::new(first_seq)),
            masked: Arc::default(),
        }
    }

    fn push(&self, row: LogRow) {
        let Ok(mut lines) = self.buffer.lines.lock() else {
            return;
        };
        lines.push(row);
        if lines.len() >= EAGER_LINES {
            self.buffer.full.notify_one();
        }
    }

    fn take(&self) -> Vec<LogRow> {
        self.buffer
            .lines
            .lock()
            .map(|mut lines| std::mem::take(&mut *lines))
            .unwrap_or_default()
    }

    /// Stores every buffered line now (the engine closing).
    pub async fn flush(&self, store: &Store) -> pipewright_store::Result<()> {
        write(store, &self.take()).await
    }

    /// Stores every buffered line in the caller's transaction.
    pub async fn store_in(&self, conn: &mut SqliteConnection) -> pipewright_store::Result<()> {
        let lines = self.take();
        if let Err(error) = pipewright_store::append_logs(conn, &lines).await {
            // Put them back for the writer, rather than lose them with a failed transaction.
            if let Ok(mut buffer) = self.buffer.lines.lock() {
                buffer.splice(0..0, lines);
            }
            return Err(error);
        }
        Ok(())
    }
}

impl ActionLog {
    /// The log of a part of this action (one build of a batch): lines of its own, under its
    /// own id, masking what this log masks.
    pub fn part(&self, id: &str) -> ActionLog {
        ActionLog {
            sink: self.sink.clone(),
            action_execution_id: id.into(),
            seq: Arc::new(AtomicI64::new(0)),
            masked: self.masked.clone(),
        }
    }
    /// From now on every line shows `value` as `***`, as CodeBuild masks a build's secrets.
    pub fn mask(&self, value: &str) {
        if value.is_empty() {
            return;
        }
        if let Ok(mut masked) = self.masked.lock() {
            masked.push(value.to_owned());
            // The longest first, so a secret that contains another is masked whole.
            masked.sort_by_key(|value| std::cmp::Reverse(value.len()));
        }
    }

    pub fn line(&self, stream: Stream, mut line: String) {
        if let Ok(masked) = self.masked.lock() {
            for value in masked.iter() {
                if line.contains(value.as_str()) {
                    line = line.replace(value.as_str(), "***");
                }
            }
        }
        if line.len() > MAX_LINE {
            let mut cut = MAX_LINE;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
            line.push_str(" …[line cut]");
        }
        self.sink.push(LogRow {
            action_execution_id: self.action_execution_id.to_string(),
            seq: self.seq.fetch_add(1, Ordering::Relaxed) + 1,
            time_ms: self.sink.clock.now_ms(),
            stream: stream.as_str().to_owned(),
            line,
        });
    }

    /// A line from Pipewright itself.
    pub fn note(&self, line: impl Into<String>) {
        self.line(Stream::Pipewright, line.into());
    }
}

/// Stores buffered lines every `WRITE_EVERY`, or at once when the buffer fills.
async fn write_batches(store: Store, buffer: Arc<Buffer>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(WRITE_EVERY) => {}
            () = buffer.full.notified() => {}
        }
        let lines = buffer
            .lines
            .lock()
            .map(|mut lines| std::mem::take(&mut *lines))
            .unwrap_or_default();
        if let Err(error) = write(&store, &lines).await {
            eprintln!(
                "pipewright: could not store {} log lines: {error}",
                lines.len()
            );
        }
    }
}

async fn write(store: &Store, lines: &[LogRow]) -> pipewright_store::Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let mut tx = store.write().await?;
    pipewright_store::append_logs(&mut tx, lines).await?;
    tx.commit().await?;
    Ok(())
}
