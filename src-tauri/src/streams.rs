//! Long-lived streams to the window over Tauri Channels: state changes as they are stored, and
//! the log of one action as it is written. A Channel's send does not fail when the page stops
//! listening, so streams end on purpose: a log stream when its action has ended or the view calls
//! `unfollow`, the change stream when the page asks for a new one (a reload).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use pipewright_api::{LogLine, Pipewright, Result};
use serde::Serialize;
use serde_json::Value;
use tauri::State;
use tauri::async_runtime::JoinHandle;
use tauri::ipc::Channel;
use ts_rs::TS;

use crate::Desktop;

/// How often changes made by other processes (the CLI, `pipewright serve`) are looked for.
/// Changes made in this process arrive at once. A look is one indexed query that finds nothing
/// most of the time (well under a millisecond), so 50 ms keeps another process's change within
/// 100 ms of the window for almost nothing.
const OTHER_PROCESSES_POLL: Duration = Duration::from_millis(50);
/// How often a followed log is read while its action runs.
const LOG_POLL: Duration = Duration::from_millis(200);

/// The streams the window has open.
#[derive(Debug, Default)]
pub struct Streams {
    next: AtomicU64,
    logs: Mutex<HashMap<u64, JoinHandle<()>>>,
    /// The page's change stream: the local engine's events, and the AWS connections'.
    changes: Mutex<Vec<JoinHandle<()>>>,
}

/// What the AWS connections' watchers saw, by connection, for the window's change stream.
#[derive(Debug)]
pub struct AwsChanges(pub tokio::sync::broadcast::Sender<(String, Vec<Value>)>);

impl Default for AwsChanges {
    fn default() -> AwsChanges {
        AwsChanges(tokio::sync::broadcast::channel(64).0)
    }
}

/// A stored state change, cut down to what a view needs to know what to refresh.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// Where it happened: `local`, or an AWS connection's name.
    pub connection: String,
    /// The local engine's event number (0 for AWS, which keeps no numbered history).
    pub seq: i64,
    /// The EventBridge detail-type: pipeline, stage or action execution state change.
    pub detail_type: String,
    pub pipeline: String,
    pub execution_id: String,
    pub stage: Option<String>,
    pub action: Option<String>,
    /// The EventBridge state word: STARTED, SUCCEEDED, FAILED, ...
    pub state: String,
}

impl Change {
    fn from_event(connection: &str, seq: i64, event: &Value) -> Change {
        let detail = &event["detail"];
        let text = |value: &Value| value.as_str().map(str::to_owned);
        Change {
            connection: connection.to_owned(),
            seq,
            detail_type: text(&event["detail-type"]).unwrap_or_default(),
            pipeline: text(&detail["pipeline"]).unwrap_or_default(),
            execution_id: text(&detail["execution-id"]).unwrap_or_default(),
            stage: text(&detail["stage"]),
            action: text(&detail["action"]),
            state: text(&detail["state"]).unwrap_or_default(),
        }
    }
}

/// Calls `on_events` with every batch of events stored from now on, until it returns false: at
/// once for events of this process, within `OTHER_PROCESSES_POLL` for the others'.
pub async fn each_event_batch(
    api: &Pipewright,
    mut on_events: impl FnMut(Vec<(i64, Value)>) -> bool,
) -> Result<()> {
    let mut after = api.last_event_seq().await?;
    let mut local = api.engine().event_watch();
    loop {
        // The store busy or gone for a moment gives nothing; the next round tries again.
        let events = api.events_after(after, None).await.unwrap_or_default();
        if let Some((last, _)) = events.last() {
            after = *last;
            if !on_events(events) {
                return Ok(());
            }
        }
        tokio::select! {
            changed = local.changed() => if changed.is_err() { return Ok(()) },
            () = tokio::time::sleep(OTHER_PROCESSES_POLL) => {}
        }
    }
}

/// Streams every state change from now on, in batches: the local engine's as they are stored, the
/// AWS connections' as their watchers see them. The page has one such stream: a new call (the page
/// reloaded) ends the one before.
#[tauri::command]
pub async fn watch_changes(
    desktop: State<'_, Desktop>,
    streams: State<'_, Streams>,
    aws: State<'_, AwsChanges>,
    channel: Channel<Vec<Change>>,
) -> Result<()> {
    let api = desktop.api.clone();
    let local_channel = channel.clone();
    let local = tauri::async_runtime::spawn(async move {
        let _ = each_event_batch(&api, |events| {
            let changes = events
                .iter()
                .map(|(seq, event)| Change::from_event(crate::connections::LOCAL, *seq, event))
                .collect();
            local_channel.send(changes).is_ok()
        })
        .await;
    });
    let mut watched = aws.0.subscribe();
    let remote = tauri::async_runtime::spawn(async move {
        loop {
            match watched.recv().await {
                Ok((connection, events)) => {
                    let changes = events
                        .iter()
                        .map(|event| Change::from_event(&connection, 0, event))
                        .collect();
                    if channel.send(changes).is_err() {
                        return;
                    }
                }
                // Fell behind a burst: later batches still come.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    if let Ok(mut slot) = streams.changes.lock() {
        for before in slot.drain(..) {
            before.abort();
        }
        slot.extend([local, remote]);
    }
    Ok(())
}

/// Streams the log of one action execution: what is stored already, then new lines until the
/// action has ended and its last lines are sent. Returns the stream's id for `unfollow`.
#[tauri::command]
pub fn follow_log(
    desktop: State<'_, Desktop>,
    streams: State<'_, Streams>,
    action_execution_id: String,
    channel: Channel<Vec<LogLine>>,
) -> u64 {
    let api = desktop.api.clone();
    let task = tauri::async_runtime::spawn(async move {
        let mut after = 0;
        loop {
            // Whether it still runs is read before the lines, so no line written before its end
            // is missed.
            let running = api
                .action_execution_status(&action_execution_id)
                .await
                .is_ok_and(|status| status.as_deref() == Some("InProgress"));
            // Every stored line, a page at a time.
            loop {
                let lines = api
                    .logs(&action_execution_id, after)
                    .await
                    .unwrap_or_default();
                let Some(last) = lines.last() else { break };
                after = last.seq;
                if channel.send(lines).is_err() {
                    return;
                }
            }
            if !running {
                return;
            }
            tokio::time::sleep(LOG_POLL).await;
        }
    });
    let id = streams.next.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut logs) = streams.logs.lock() {
        logs.retain(|_, task| !task.inner().is_finished());
        logs.insert(id, task);
    }
    id
}

/// Ends a log stream the view no longer shows.
#[tauri::command]
pub fn unfollow(streams: State<'_, Streams>, id: u64) {
    if let Ok(mut logs) = streams.logs.lock()
        && let Some(task) = logs.remove(&id)
    {
        task.abort();
    }
}
