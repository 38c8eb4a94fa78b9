//! Watching AWS pipelines: poll their state, and turn what changed into the same EventBridge-shaped
//! events the local engine stores, so notifications and the monitor do not care where a pipeline
//! lives. Polling is fast while something runs or waits for an approval and slow when all is
//! idle, and backs off when AWS throttles or cannot be reached.
//!
//! A change that comes and goes between two polls shows as where it ended: an action that started
//! and succeeded within one interval gives one SUCCEEDED event.
//!
//! Each pipeline is paced on its own, so 100 idle pipelines cost one call each per idle interval
//! while a few running ones are looked at every few seconds.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pipewright_api::engine::clock::{Clock, SystemClock};
use pipewright_api::engine::events::{self, Subject};
use pipewright_api::engine::status::{ActionStatus, ExecutionStatus, StageStatus};
use pipewright_api::model::PipelineDeclaration;
use pipewright_api::{Backend, GetPipelineStateOutput, PipelineExecutionSummary, Result};
use serde_json::Value;

use crate::AwsBackend;

/// How often to poll.
#[derive(Clone, Copy, Debug)]
pub struct Pacing {
    /// While an execution runs or an approval waits.
    pub busy: Duration,
    /// While nothing happens.
    pub idle: Duration,
    /// The longest wait after throttling or failed calls.
    pub max_backoff: Duration,
    /// When watching every pipeline: how often to list them again, to see new and deleted ones.
    pub relist: Duration,
}

impl Default for Pacing {
    fn default() -> Pacing {
        Pacing {
            busy: Duration::from_secs(3),
            idle: Duration::from_secs(30),
            max_backoff: Duration::from_secs(300),
            relist: Duration::from_secs(60),
        }
    }
}

impl Pacing {
    /// The wait before the next round: the busy or idle interval, or, after rounds in a row that
    /// AWS throttled or could not be reached, the busy interval doubled for each, whichever is
    /// longer (never longer than `max_backoff`, never shorter than the interval).
    pub fn next(&self, busy: bool, failures_in_a_row: u32) -> Duration {
        let base = if busy { self.busy } else { self.idle };
        if failures_in_a_row == 0 {
            return base;
        }
        let factor = 2u32.saturating_pow(failures_in_a_row.min(16));
        self.busy
            .saturating_mul(factor)
            .min(self.max_backoff)
            .max(base)
    }
}

/// What was last seen of one pipeline.
#[derive(Debug, Default)]
pub struct Seen {
    /// By stage and action: the action execution and its status.
    actions: HashMap<(String, String), (String, String)>,
    /// By stage: the pipeline execution and the stage's status in it.
    stages: HashMap<String, (String, String)>,
    /// The executions last listed (newest first) and their statuses: in PARALLEL and QUEUED mode
    /// several run at once, and the end of each is told.
    executions: Vec<(String, String)>,
    /// Whether a first look was taken (it sets the baseline and tells nothing).
    looked: bool,
}

impl Seen {
    /// The events for what changed since the last look, and whether anything runs or waits.
    pub fn look(
        &mut self,
        state: &GetPipelineStateOutput,
        executions: &[PipelineExecutionSummary],
        declaration: &PipelineDeclaration,
        now_ms: i64,
    ) -> (Vec<Value>, bool) {
        let baseline = !self.looked;
        self.looked = true;
        let time = pipewright_api::engine::clock::rfc3339(now_ms);
        let name = state.pipeline_name.as_str();
        let version = state.pipeline_version;
        let mut out = Vec::new();
        let mut busy = false;
        for stage in &state.stage_states {
            if let Some(execution) = &stage.latest_execution {
                busy |= execution.status == "InProgress";
                let now = (
                    execution.pipeline_execution_id.clone(),
                    execution.status.clone(),
                );
                if self.stages.get(&stage.stage_name) != Some(&now) {
                    if let Some(status) = StageStatus::parse(&now.1)
                        && !baseline
                    {
                        let subject = Subject {
                            pipeline: name,
                            version,
                            execution_id: &now.0,
                        };
                        let detail = events::stage_detail(
                            &subject,
                            &stage.stage_name,
                            events::stage_state(status, false),
                        );
                        out.push(events::envelope(
                            events::STAGE_DETAIL_TYPE,
                            &subject,
                            &time,
                            detail,
                        ));
                    }
                    self.stages.insert(stage.stage_name.clone(), now);
                }
            }
            for action in &stage.action_states {
                let Some(latest_action) = &action.latest_execution else {
                    continue;
                };
                busy |= latest_action.status == "InProgress";
                let key = (stage.stage_name.clone(), action.action_name.clone());
                let now = (
                    latest_action.action_execution_id.clone(),
                    latest_action.status.clone(),
                );
                if self.actions.get(&key) == Some(&now) {
                    continue;
                }
                let declared = declaration
                    .stage(&stage.stage_name)
                    .and_then(|s| s.action(&action.action_name));
                if let (Some(status), Some(declared), false) =
                    (ActionStatus::parse(&now.1), declared, baseline)
                {
                    let execution_id = stage
                        .latest_execution
                        .as_ref()
                        .map(|e| e.pipeline_execution_id.as_str())
                        .unwrap_or_default();
                    let subject = Subject {
                        pipeline: name,
                        version,
                        execution_id,
                    };
                    let detail = events::action_detail(
                        &subject,
                        &stage.stage_name,
                        &action.action_name,
                        events::action_state(status),
                        &declared.action_type_id,
                    );
                    out.push(events::envelope(
                        events::ACTION_DETAIL_TYPE,
                        &subject,
                        &time,
                        detail,
                    ));
                }
                self.actions.insert(key, now);
            }
        }
        let mut listed = Vec::with_capacity(executions.len());
        for summary in executions {
            busy |= matches!(summary.status.as_str(), "InProgress" | "Stopping");
            let id = summary.pipeline_execution_id.clone();
            let before = self.executions.iter().find(|(seen, _)| *seen == id);
            if before.is_none_or(|(_, status)| *status != summary.status)
                && let (Some(status), false) = (ExecutionStatus::parse(&summary.status), baseline)
            {
                let subject = Subject {
                    pipeline: name,
                    version,
                    execution_id: &id,
                };
                let detail =
                    events::pipeline_detail(&subject, events::execution_state(status, false));
                out.push(events::envelope(
                    events::PIPELINE_DETAIL_TYPE,
                    &subject,
                    &time,
                    detail,
                ));
            }
            listed.push((id, summary.status.clone()));
        }
        self.executions = listed;
        (out, busy)
    }

    /// Whether `latest` is the latest execution last seen, in the same status.
    fn latest_is(&self, latest: Option<&PipelineExecutionSummary>) -> bool {
        let latest = latest.map(|l| (l.pipeline_execution_id.clone(), l.status.clone()));
        self.executions.first().cloned() == latest
    }
}

/// How many of a pipeline's newest executions each look lists: in PARALLEL and QUEUED mode
/// several run at once. Always the same number, so that an execution seen once is known the next
/// time (listing fewer while idle would make older ones look new when the pipeline gets busy),
/// and it is one call either way.
const LISTED_EXECUTIONS: i64 = 10;

/// One pipeline under watch: what was seen of it, and when to look again.
#[derive(Debug)]
struct Watched {
    seen: Seen,
    due: Instant,
    busy: bool,
    failures_in_a_row: u32,
}

impl Watched {
    /// `known`: the pipeline was there when watching began, so its first look is the baseline
    /// and tells nothing; a pipeline that appears later is new, and what it shows is news.
    fn new(due: Instant, known: bool) -> Watched {
        Watched {
            seen: Seen {
                looked: !known,
                ..Seen::default()
            },
            due,
            busy: false,
            failures_in_a_row: 0,
        }
    }
}

/// Asks a watcher to look at some pipelines now rather than at their pace: the user just started,
/// stopped or approved something there, and it should show at once. Only those pipelines are
/// looked at, so a nudge costs a call or two, not a round of the whole account.
#[derive(Clone, Debug, Default)]
pub struct Nudge {
    pipelines: Arc<Mutex<BTreeSet<String>>>,
    wake: Arc<tokio::sync::Notify>,
}

impl Nudge {
    pub fn new() -> Nudge {
        Nudge::default()
    }

    /// Look at this pipeline now; one the watcher does not know yet (just created) is added.
    pub fn pipeline(&self, name: &str) {
        if let Ok(mut pipelines) = self.pipelines.lock() {
            pipelines.insert(name.to_owned());
        }
        self.wake.notify_one();
    }

    fn take(&self) -> BTreeSet<String> {
        self.pipelines
            .lock()
            .map(|mut pipelines| std::mem::take(&mut *pipelines))
            .unwrap_or_default()
    }
}

/// Watches the named pipelines (every pipeline of the account and region when `names` is empty,
/// listed again every `relist`; one that appears then is new, and its runs are told) and calls
/// `on_events` with the events of each round, until it returns false. Each pipeline has its own
/// pace: every `busy` interval while it runs or waits for an approval, every `idle` interval
/// otherwise, longer after throttling or failed calls. An idle pipeline costs one call a look
/// (its latest executions); its whole state is read only when they changed. A `nudge` makes the
/// pipelines it names due at once.
pub async fn watch(
    backend: &AwsBackend,
    names: &[String],
    pacing: Pacing,
    nudge: Option<&Nudge>,
    mut on_events: impl FnMut(Vec<Value>) -> bool,
) -> Result<()> {
    let start = Instant::now();
    let mut pipelines: BTreeMap<String, Watched> = names
        .iter()
        .map(|name| (name.clone(), Watched::new(start, true)))
        .collect();
    let mut declarations: HashMap<(String, i64), PipelineDeclaration> = HashMap::new();
    let watch_all = names.is_empty();
    let mut list_due = start;
    let mut list_failures = 0u32;
    let mut listed_before = false;
    loop {
        let now = Instant::now();
        if watch_all && list_due <= now {
            match backend.pipeline_names().await {
                Ok(listed) => {
                    pipelines.retain(|name, _| listed.contains(name));
                    for name in listed {
                        pipelines
                            .entry(name)
                            .or_insert_with(|| Watched::new(now, !listed_before));
                    }
                    listed_before = true;
                    list_failures = 0;
                    list_due = now + pacing.relist;
                }
                // Throttled, or AWS out of reach for a moment: list again later.
                Err(_) => {
                    list_failures += 1;
                    list_due = now + pacing.next(false, list_failures);
                }
            }
        }
        let mut events = Vec::new();
        for (name, watched) in pipelines.iter_mut().filter(|(_, w)| w.due <= now) {
            match look(backend, name, watched, &mut declarations).await {
                Ok(seen) => {
                    events.extend(seen);
                    watched.failures_in_a_row = 0;
                }
                // Throttled, unreachable, or deleted meanwhile: this pipeline waits longer,
                // and is tried again.
                Err(_) => watched.failures_in_a_row += 1,
            }
            watched.due = Instant::now() + pacing.next(watched.busy, watched.failures_in_a_row);
        }
        if !events.is_empty() && !on_events(events) {
            return Ok(());
        }
        let next = pipelines
            .values()
            .map(|w| w.due)
            .chain(watch_all.then_some(list_due))
            .min()
            .unwrap_or_else(|| Instant::now() + pacing.idle);
        let wait = tokio::time::sleep_until(next.into());
        if let Some(nudge) = nudge {
            tokio::select! {
                () = wait => {}
                () = nudge.wake.notified() => {
                    let now = Instant::now();
                    for name in nudge.take() {
                        if watch_all || names.contains(&name) {
                            pipelines.entry(name).or_insert_with(|| Watched::new(now, false)).due = now;
                        }
                    }
                }
            }
        } else {
            wait.await;
        }
    }
}

/// Looks at one pipeline: the events for what changed since the last look.
async fn look(
    backend: &AwsBackend,
    name: &str,
    watched: &mut Watched,
    declarations: &mut HashMap<(String, i64), PipelineDeclaration>,
) -> Result<Vec<Value>> {
    let executions = backend
        .list_executions(name, LISTED_EXECUTIONS)
        .await?
        .pipeline_execution_summaries;
    if !watched.busy && watched.seen.looked && watched.seen.latest_is(executions.first()) {
        return Ok(Vec::new());
    }
    let state = backend.get_pipeline_state(name).await?;
    let key = (name.to_owned(), state.pipeline_version);
    if !declarations.contains_key(&key) {
        let declaration = backend
            .get_pipeline(name, Some(state.pipeline_version))
            .await?
            .pipeline;
        declarations.insert(key.clone(), declaration);
    }
    let now = SystemClock.now_ms();
    let (events, busy) = watched
        .seen
        .look(&state, &executions, &declarations[&key], now);
    watched.busy = busy;
    Ok(events)
}

#[cfg(test)]
mod tests {
    use pipewright_api::{ActionExecutionState, ActionState, StageExecution, StageState};

    use super::*;

    fn state(approval: Option<&str>) -> GetPipelineStateOutput {
        let latest_execution = approval.map(|status| ActionExecutionState {
            action_execution_id: "a1".into(),
            status: status.into(),
            ..Default::default()
        });
        GetPipelineStateOutput {
            pipeline_name: "web".into(),
            pipeline_version: 1,
            stage_states: vec![StageState {
                stage_name: "Release".into(),
                latest_execution: approval.map(|_| StageExecution {
                    pipeline_execution_id: "e1".into(),
                    status: "InProgress".into(),
                    ..Default::default()
                }),
                action_states: vec![ActionState {
                    action_name: "Approve".into(),
                    latest_execution,
                }],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    /// A pipeline of one stage whose one action is a manual approval.
    fn approval_pipeline() -> PipelineDeclaration {
        serde_json::from_value(serde_json::json!({
            "name": "web", "stages": [{"name": "Release", "actions": [{"name": "Approve",
            "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]}]
        }))
        .expect("declaration")
    }

    fn summary(id: &str, status: &str) -> PipelineExecutionSummary {
        PipelineExecutionSummary {
            pipeline_execution_id: id.into(),
            status: status.into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_first_look_tells_nothing_and_later_ones_tell_what_changed() {
        let declaration = approval_pipeline();
        let mut seen = Seen::default();
        let (events, busy) = seen.look(&state(None), &[], &declaration, 0);
        assert!(events.is_empty());
        assert!(!busy);
        let (events, busy) = seen.look(&state(Some("InProgress")), &[], &declaration, 1_000);
        assert!(busy, "an approval that waits keeps the polling fast");
        let states: Vec<(&str, &str)> = events
            .iter()
            .map(|e| {
                (
                    e["detail-type"].as_str().unwrap_or_default(),
                    e["detail"]["state"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            states,
            [
                (events::STAGE_DETAIL_TYPE, "STARTED"),
                (events::ACTION_DETAIL_TYPE, "STARTED")
            ]
        );
        assert_eq!(events[1]["detail"]["type"]["category"], "Approval");
        let (again, _) = seen.look(&state(Some("InProgress")), &[], &declaration, 2_000);
        assert!(again.is_empty(), "nothing changed, nothing told");
        let (done, _) = seen.look(&state(Some("Succeeded")), &[], &declaration, 3_000);
        assert_eq!(done.len(), 1);
        assert_eq!(done[0]["detail"]["state"], "SUCCEEDED");
    }

    #[test]
    fn every_execution_that_runs_at_once_has_its_end_told() {
        let declaration = approval_pipeline();
        let told = |events: Vec<Value>| -> Vec<(String, String)> {
            events
                .iter()
                .map(|e| {
                    let detail = &e["detail"];
                    (
                        detail["execution-id"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        detail["state"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        };
        let mut seen = Seen::default();
        seen.look(&state(None), &[summary("e1", "Succeeded")], &declaration, 0);
        let (started, busy) = seen.look(
            &state(None),
            &[
                summary("e3", "InProgress"),
                summary("e2", "InProgress"),
                summary("e1", "Succeeded"),
            ],
            &declaration,
            1_000,
        );
        assert!(busy);
        assert_eq!(
            told(started),
            [
                ("e3".into(), "STARTED".into()),
                ("e2".into(), "STARTED".into())
            ]
        );
        let (ended, busy) = seen.look(
            &state(None),
            &[
                summary("e3", "InProgress"),
                summary("e2", "Failed"),
                summary("e1", "Succeeded"),
            ],
            &declaration,
            2_000,
        );
        assert!(busy, "e3 still runs");
        assert_eq!(
            told(ended),
            [("e2".into(), "FAILED".into())],
            "the older execution's end is told though it is not the latest"
        );
    }

    #[test]
    fn executions_seen_before_are_not_told_again_and_a_new_pipeline_s_are() {
        let declaration = approval_pipeline();
        let old = [summary("e2", "Failed"), summary("e1", "Succeeded")];
        let mut seen = Seen::default();
        seen.look(&state(None), &old, &declaration, 0);
        let (events, _) = seen.look(
            &state(None),
            &[summary("e3", "InProgress"), old[0].clone(), old[1].clone()],
            &declaration,
            1_000,
        );
        let states: Vec<_> = events
            .iter()
            .map(|e| e["detail"]["execution-id"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(states, ["e3"], "only the new execution is news");

        // A pipeline that appeared after watching began: what it shows at the first look is news.
        let mut new = Seen {
            looked: true,
            ..Seen::default()
        };
        let (events, busy) = new.look(
            &state(None),
            &[summary("e1", "InProgress")],
            &declaration,
            0,
        );
        assert!(busy);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["detail"]["state"], "STARTED");
    }

    #[test]
    fn polls_fast_while_busy_slow_when_idle_and_backs_off_when_throttled() {
        let pacing = Pacing {
            busy: Duration::from_secs(2),
            idle: Duration::from_secs(30),
            max_backoff: Duration::from_secs(60),
            relist: Duration::from_secs(60),
        };
        assert_eq!(pacing.next(true, 0), Duration::from_secs(2));
        assert_eq!(pacing.next(false, 0), Duration::from_secs(30));
        assert_eq!(pacing.next(true, 1), Duration::from_secs(4));
        assert_eq!(
            pacing.next(false, 3),
            Duration::from_secs(30),
            "never faster than idle"
        );
        assert_eq!(pacing.next(false, 5), Duration::from_secs(60));
        assert_eq!(pacing.next(true, 10), Duration::from_secs(60));
        assert_eq!(pacing.next(true, 1_000), Duration::from_secs(60));
    }
}
