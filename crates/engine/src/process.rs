//! Running an action's shell: its own process group (so cancelling kills the whole tree, not just
//! the shell), output streamed line by line to the action's log while it runs, a timeout, and an
//! environment marker by which a later process finds and kills it after a crash.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use rustix::process::{Pid, Signal};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::logs::{ActionLog, Stream};

#[derive(Clone, Debug)]
pub struct ProcessSpec {
    pub program: String,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    /// When the process is killed as timed out (by the engine's clock, in ms since the epoch).
    pub deadline_ms: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessEnd {
    Exited(i32),
    /// Killed by a signal it did not get from us.
    Signalled(i32),
    TimedOut,
    Cancelled,
}

/// Identifies a process across pid reuse: the pid and its start time in clock ticks since boot
/// (field 22 of `/proc/PID/stat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessId {
    pub pid: i64,
    pub start: i64,
}

impl ProcessId {
    pub fn of(pid: i64) -> Option<ProcessId> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name (field 2) is in parentheses and may hold spaces; fields after it are
        // plain. Field 22 is the 20th after the closing parenthesis.
        let after = &stat[stat.rfind(')')? + 1..];
        let start = after.split_whitespace().nth(19)?.parse().ok()?;
        Some(ProcessId { pid, start })
    }

    pub fn current() -> ProcessId {
        let pid = i64::from(std::process::id());
        ProcessId::of(pid).unwrap_or(ProcessId { pid, start: 0 })
    }

    /// Whether this very process (not a later one with the same pid) still runs.
    pub fn is_alive(self) -> bool {
        ProcessId::of(self.pid).is_some_and(|now| now.start == self.start)
    }
}

/// This process's PID namespace (`pid:[4026531836]`): pids and /proc speak of processes in it.
pub fn pid_namespace() -> Option<String> {
    std::fs::read_link("/proc/self/ns/pid")
        .ok()
        .map(|link| link.display().to_string())
}

fn kill_group(pid: i64) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        // The group may already be gone; there is nothing to do about an error here.
        let _ = rustix::process::kill_process_group(pid, Signal::KILL);
    }
}

/// Every process an engine starts carries this variable with the engine's id, so that after a
/// crash the next process finds them all (grandchildren that left the process group included)
/// without the dead engine having written down a single pid.
pub const ENGINE_ENV: &str = "PIPEWRIGHT_ENGINE_ID";

/// Every process of an action carries this variable with the action execution's id, so that a
/// stop or a timeout also finds the descendants that left its process group (`setsid`, a daemon).
pub const ACTION_ENV: &str = "PIPEWRIGHT_ACTION_EXECUTION_ID";

/// Kills every process (and its process group) whose environment says it was started by the
/// engine `engine_id`. Returns how many were found.
pub fn kill_processes_of(engine_id: &str) -> usize {
    kill_marked(&format!("{ENGINE_ENV}={engine_id}"))
}

/// Kills every process (and its process group) whose environment holds `marker` (`NAME=VALUE`).
/// It reads every process's environment, a few milliseconds' work, so it is kept for a stop, a
/// timeout, and output still held open after the action's process group was killed.
fn kill_marked(marker: &str) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut killed = 0;
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i64>().ok())
        else {
            continue;
        };
        // Processes that exit meanwhile, or belong to someone else, cannot be read; skip them.
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ
            .split(|b| *b == 0)
            .any(|var| var == marker.as_bytes())
        {
            if let Some(raw) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
                let _ = rustix::process::kill_process(raw, Signal::KILL);
            }
            kill_group(pid);
            killed += 1;
        }
    }
    killed
}

/// Runs the process to its end.
pub async fn run(
    spec: ProcessSpec,
    clock: &dyn crate::clock::Clock,
    log: &ActionLog,
    cancel: CancellationToken,
) -> std::io::Result<ProcessEnd> {
    let mut command = Command::new(&spec.program);
    command
        .args(&spec.args)
        .current_dir(&spec.cwd)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn()?;
    let pid = i64::from(child.id().unwrap_or_default());
    let stdout = child
        .stdout
        .take()
        .map(|out| tokio::spawn(pump(out, log.clone(), Stream::Stdout)));
    let stderr = child
        .stderr
        .take()
        .map(|err| tokio::spawn(pump(err, log.clone(), Stream::Stderr)));
    let deadline = async {
        match spec.deadline_ms {
            Some(deadline) => crate::clock::sleep_until(clock, deadline).await,
            None => std::future::pending().await,
        }
    };
    let end = tokio::select! {
        status = child.wait() => {
            let status = status?;
            use std::os::unix::process::ExitStatusExt;
            match (status.code(), status.signal()) {
                (Some(code), _) => ProcessEnd::Exited(code),
                (None, Some(signal)) => ProcessEnd::Signalled(signal),
                (None, None) => ProcessEnd::Exited(-1),
            }
        }
        () = cancel.cancelled() => ProcessEnd::Cancelled,
        () = deadline => ProcessEnd::TimedOut,
    };
    // Whatever ended the shell, its children (background jobs, a build tool's workers) must not
    // outlive the action.
    kill_group(pid);
    // The driver marks every action's processes; a stop or a timeout also ends those that left
    // the process group.
    let marker = spec
        .env
        .iter()
        .find(|(name, _)| name == ACTION_ENV)
        .map(|(name, value)| format!("{name}={value}"));
    if matches!(end, ProcessEnd::Cancelled | ProcessEnd::TimedOut)
        && let Some(marker) = &marker
    {
        kill_marked(marker);
    }
    let _ = child.wait().await;
    let mut pumps: Vec<_> = [stdout, stderr].into_iter().flatten().collect();
    // Pipes still open after the group was killed are held by a descendant that left it.
    if !all_done(&mut pumps, Duration::from_millis(100)).await {
        if let Some(marker) = &marker {
            kill_marked(marker);
        }
        // One that carries no marker (it cleared its environment) is not worth hanging for.
        if !all_done(&mut pumps, Duration::from_secs(2)).await {
            pumps.iter().for_each(JoinHandle::abort);
            log.note("Output of a process that outlived the action was no longer read");
        }
    }
    Ok(end)
}

/// Whether every pump reached the end of its pipe within `limit`.
async fn all_done(pumps: &mut [JoinHandle<()>], limit: Duration) -> bool {
    tokio::time::timeout(limit, async {
        for pump in pumps.iter_mut().filter(|p| !p.is_finished()) {
            let _ = pump.await;
        }
    })
    .await
    .is_ok()
}

async fn pump(reader: impl AsyncRead + Unpin, log: ActionLog, stream: Stream) {
    let mut lines = BufReader::new(reader).lines();
    loop {
        match lines.next_line().await {
            Ok(Some(line)) => log.line(stream, line),
            Ok(None) => break,
            // A line that is not UTF-8 is replaced by a note rather than ending the log.
            Err(error) if error.kind() == std::io::ErrorKind::InvalidData => log.line(
                stream,
                "<a line of output that is not UTF-8 was skipped>".to_owned(),
            ),
            Err(_) => break,
        }
    }
}
