//! Watching AWS pipelines: poll their state, and turn what changed into the same EventBridge-shaped
//! events the local engine stores, so notifications and the monitor do not care where a pipeline
//! lives. Polling is fast while something runs or waits for an approval and slow when all is
//! idle, and backs off when AWS throttles or cannot be reached.
//!
//! A change that comes and goes between two polls shows as where it ended: an action that started
//! and succeeded within one interval gives one SUCCEEDED event.

use std::collections::HashMap;
use std::time::Duration;

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
}

impl Default for Pacing {
    fn default() -> Pacing {
        Pacing {
            busy: Duration::from_secs(3),
            idle: Duration::from_secs(30),
            max_backoff: Duration::from_secs(300),
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
    /// The latest execution and its status.
    latest: Option<(String, String)>,
    /// Whether a first look was taken (it sets the baseline and tells nothing).
    looked: bool,
}

impl Seen {
    /// The events for what changed since the last look, and whether anything runs or waits.
    pub fn look(
        &mut self,
        state: &GetPipelineStateOutput,
        latest: Option<&PipelineExecutionSummary>,
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
        if let Some(summary) = latest {
            busy |= summary.status == "InProgress";
            let now = (
                summary.pipeline_execution_id.clone(),
                summary.status.clone(),
            );
            if self.latest.as_ref() != Some(&now) {
                if let (Some(status), false) = (ExecutionStatus::parse(&now.1), baseline) {
                    let subject = Subject {
                        pipeline: name,
                        version,
                        execution_id: &now.0,
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
                self.latest = Some(now);
            }
        }
        (out, busy)
    }
}

/// Watches the named pipelines (every pipeline of the account and region when `names` is empty)
/// and calls `on_events` with each round's events, until it returns false. A `nudge` starts the
/// next round at once (the user just started or approved something: it should show now).
pub async fn watch(
    backend: &AwsBackend,
    names: &[String],
    pacing: Pacing,
    nudge: Option<&tokio::sync::Notify>,
    mut on_events: impl FnMut(Vec<Value>) -> bool,
) -> Result<()> {
    let mut seen: HashMap<String, Seen> = HashMap::new();
    let mut declarations: HashMap<(String, i64), PipelineDeclaration> = HashMap::new();
    let mut failures = 0u32;
    let mut busy = false;
    loop {
        let round = poll(backend, names, &mut seen, &mut declarations).await;
        // What was seen is told even when a later call of the round failed.
        if !round.events.is_empty() && !on_events(round.events) {
            return Ok(());
        }
        match round.failure {
            None => {
                failures = 0;
                busy = round.busy;
            }
            // Throttled, or AWS out of reach for a moment (or a pipeline deleted meanwhile):
            // the next round waits longer, and tries again.
            Some(_) => failures += 1,
        }
        let wait = tokio::time::sleep(pacing.next(busy, failures));
        match nudge {
            Some(nudge) => {
                tokio::select! {
                    () = wait => {}
                    () = nudge.notified() => {}
                }
            }
            None => wait.await,
        }
    }
}

/// One round: the events of every pipeline looked at, whether anything runs or waits, and the
/// first error (the round goes on past a pipeline that failed).
struct Round {
    events: Vec<Value>,
    busy: bool,
    failure: Option<pipewright_api::Error>,
}

async fn poll(
    backend: &AwsBackend,
    names: &[String],
    seen: &mut HashMap<String, Seen>,
    declarations: &mut HashMap<(String, i64), PipelineDeclaration>,
) -> Round {
    let mut round = Round {
        events: Vec::new(),
        busy: false,
        failure: None,
    };
    let names: Vec<String> = if names.is_empty() {
        match backend.pipeline_names().await {
            Ok(names) => names,
            Err(error) => {
                round.failure = Some(error);
                return round;
            }
        }
    } else {
        names.to_vec()
    };
    for name in names {
        match look(backend, &name, seen, declarations).await {
            Ok((events, busy)) => {
                round.events.extend(events);
                round.busy |= busy;
            }
            Err(error) => {
                round.failure.get_or_insert(error);
            }
        }
    }
    round
}

async fn look(
    backend: &AwsBackend,
    name: &str,
    seen: &mut HashMap<String, Seen>,
    declarations: &mut HashMap<(String, i64), PipelineDeclaration>,
) -> Result<(Vec<Value>, bool)> {
    let state = backend.get_pipeline_state(name).await?;
    let key = (name.to_owned(), state.pipeline_version);
    if !declarations.contains_key(&key) {
        let declaration = backend
            .get_pipeline(name, Some(state.pipeline_version))
            .await?
            .pipeline;
        declarations.insert(key.clone(), declaration);
    }
    let latest = backend
        .list_executions(name, 1)
        .await?
        .pipeline_execution_summaries
        .into_iter()
        .next();
    let now = SystemClock.now_ms();
    Ok(seen.entry(name.to_owned()).or_default().look(
        &state,
        latest.as_ref(),
        &declarations[&key],
        now,
    ))
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

    #[test]
    fn the_first_look_tells_nothing_and_later_ones_tell_what_changed() {
        let declaration: PipelineDeclaration = serde_json::from_value(serde_json::json!({
            "name": "web", "stages": [{"name": "Release", "actions": [{"name": "Approve",
            "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]}]
        }))
        .expect("declaration");
        let mut seen = Seen::default();
        let (events, busy) = seen.look(&state(None), None, &declaration, 0);
        assert!(events.is_empty());
        assert!(!busy);
        let (events, busy) = seen.look(&state(Some("InProgress")), None, &declaration, 1_000);
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
        let (again, _) = seen.look(&state(Some("InProgress")), None, &declaration, 2_000);
        assert!(again.is_empty(), "nothing changed, nothing told");
        let (done, _) = seen.look(&state(Some("Succeeded")), None, &declaration, 3_000);
        assert_eq!(done.len(), 1);
        assert_eq!(done[0]["detail"]["state"], "SUCCEEDED");
    }

    #[test]
    fn polls_fast_while_busy_slow_when_idle_and_backs_off_when_throttled() {
        let pacing = Pacing {
            busy: Duration::from_secs(2),
            idle: Duration::from_secs(30),
            max_backoff: Duration::from_secs(60),
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
