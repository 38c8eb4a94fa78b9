//! The execution rules of one pipeline execution, as a state machine that does no IO.
//!
//! The driver feeds it inputs (the stage was entered, an action finished, a stop was asked for)
//! and carries out the effects it returns (persist a status, start or abandon an action, wait
//! for a stage). Keeping the rules here, free of processes, clocks and databases, lets the tests
//! check CodePipeline's semantics input by input.

use pipewright_model::{PipelineDeclaration, RetryMode, Stage, StageFailureResult};

use crate::status::{ActionStatus, ExecutionStatus, StageStatus};

/// What the machine needs to know of a declaration.
#[derive(Clone, Debug)]
pub struct Plan {
    pub stages: Vec<StagePlan>,
}

#[derive(Clone, Debug)]
pub struct StagePlan {
    pub name: String,
    /// Action indexes by run order, lowest run order first; each inner list runs in parallel.
    pub groups: Vec<Vec<usize>>,
    pub actions: Vec<ActionPlan>,
    pub on_failure: OnFailure,
    /// Which kinds of stage condition the stage declares.
    pub before_entry: bool,
    pub on_success: bool,
    pub on_failure_conditions: bool,
}

/// The three moments a stage's conditions are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConditionKind {
    BeforeEntry,
    OnSuccess,
    OnFailure,
}

impl ConditionKind {
    /// As the CodePipeline API spells a condition type.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionKind::BeforeEntry => "BEFORE_ENTRY",
            ConditionKind::OnSuccess => "ON_SUCCESS",
            ConditionKind::OnFailure => "ON_FAILURE",
        }
    }

    /// The result a failed condition engages when it does not name one.
    pub fn default_result(self) -> StageFailureResult {
        match self {
            ConditionKind::BeforeEntry | ConditionKind::OnSuccess => StageFailureResult::Fail,
            ConditionKind::OnFailure => StageFailureResult::Rollback,
        }
    }

    pub fn conditions(self, stage: &Stage) -> &[pipewright_model::Condition] {
        let list = match self {
            ConditionKind::BeforeEntry => stage
                .before_entry
                .as_ref()
                .and_then(|c| c.conditions.as_ref()),
            ConditionKind::OnSuccess => stage
                .on_success
                .as_ref()
                .and_then(|c| c.conditions.as_ref()),
            ConditionKind::OnFailure => stage
                .on_failure
                .as_ref()
                .and_then(|c| c.conditions.as_ref()),
        };
        list.map(Vec::as_slice).unwrap_or_default()
    }
}

#[derive(Clone, Debug)]
pub struct ActionPlan {
    pub name: String,
    /// Manual approvals wait for a person, not a process: a stop abandons them at once.
    pub is_approval: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFailure {
    Fail,
    /// Retry the stage automatically, once, with the given mode.
    Retry {
        all_actions: bool,
    },
    /// Fail the execution and ask for a rollback of the stage.
    Rollback,
}

impl Plan {
    pub fn new(pipeline: &PipelineDeclaration) -> Plan {
        Plan {
            stages: pipeline.stages.iter().map(StagePlan::new).collect(),
        }
    }
}

impl StagePlan {
    fn new(stage: &Stage) -> StagePlan {
        let groups = stage
            .run_order_groups()
            .into_iter()
            .map(|(_, members)| members)
            .collect();
        let actions = stage
            .actions
            .iter()
            .map(|action| ActionPlan {
                name: action.name.clone(),
                is_approval: action.is_manual_approval(),
            })
            .collect();
        let on_failure = match stage.on_failure.as_ref().and_then(|f| f.result.as_ref()) {
            Some(StageFailureResult::Retry) => {
                let mode = stage
                    .on_failure
                    .as_ref()
                    .and_then(|f| f.retry_configuration.as_ref())
                    .and_then(|r| r.retry_mode.as_ref());
                OnFailure::Retry {
                    all_actions: mode == Some(&RetryMode::AllActions),
                }
            }
            Some(StageFailureResult::Rollback) => OnFailure::Rollback,
            _ => OnFailure::Fail,
        };
        StagePlan {
            name: stage.name.clone(),
            groups,
            actions,
            on_failure,
            before_entry: !ConditionKind::BeforeEntry.conditions(stage).is_empty(),
            on_success: !ConditionKind::OnSuccess.conditions(stage).is_empty(),
            on_failure_conditions: !ConditionKind::OnFailure.conditions(stage).is_empty(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopMode {
    /// Let running actions finish, start nothing new.
    Wait,
    /// Abandon running actions now.
    Abandon,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Begin at the first stage.
    Start,
    /// The scheduler let the execution into the stage it waited for.
    StageEntered(usize),
    /// A newer execution took this one's place at a stage (SUPERSEDED mode).
    Superseded {
        by: String,
    },
    ActionFinished {
        stage: usize,
        action: usize,
        status: ActionStatus,
    },
    Stop(StopMode),
    /// Resume a failed or stopped execution at `stage` (RetryStageExecution).
    Retry {
        stage: usize,
        all_actions: bool,
    },
    /// The stage's conditions of one kind were checked: `failed` is the result the first
    /// failed condition engages, None when every condition was met.
    ConditionsChecked {
        stage: usize,
        kind: ConditionKind,
        failed: Option<StageFailureResult>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Ask the scheduler for entry into the stage (locks, transitions, queue).
    WaitForStage(usize),
    /// The execution no longer waits for a stage (it was stopped or superseded while waiting).
    StopWaiting,
    StageStatus {
        stage: usize,
        status: StageStatus,
    },
    RunAction {
        stage: usize,
        action: usize,
    },
    /// Kill the action's processes and record it Abandoned.
    AbandonAction {
        stage: usize,
        action: usize,
    },
    ExecutionStatus {
        status: ExecutionStatus,
        summary: Option<String>,
    },
    /// The stage failed and its declaration asks for a rollback.
    Rollback {
        stage: usize,
    },
    /// Check the stage's conditions of one kind, then report `Input::ConditionsChecked`.
    CheckConditions {
        stage: usize,
        kind: ConditionKind,
    },
    /// Stop checking conditions (the execution was stopped).
    CancelChecks,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Cursor {
    NotStarted,
    Waiting(usize),
    Running { stage: usize, group: usize },
    Checking { stage: usize, kind: ConditionKind },
    Done,
}

#[derive(Clone, Debug, Default)]
struct StageState {
    status: Option<StageStatus>,
    /// None: not run in this attempt.
    actions: Vec<Option<ActionStatus>>,
    auto_retried: bool,
}

#[derive(Clone, Debug)]
pub struct Machine {
    plan: Plan,
    status: ExecutionStatus,
    cursor: Cursor,
    stop: Option<StopMode>,
    stages: Vec<StageState>,
    /// Set by Retry: which actions run again when the stage is entered.
    pending_retry: Option<bool>,
    /// A rollback execution runs this one stage and nothing else.
    only_stage: Option<usize>,
}

impl Machine {
    pub fn new(plan: Plan) -> Machine {
        let stages = plan
            .stages
            .iter()
            .map(|stage| StageState {
                actions: vec![None; stage.actions.len()],
                ..Default::default()
            })
            .collect();
        Machine {
            plan,
            status: ExecutionStatus::InProgress,
            cursor: Cursor::NotStarted,
            stop: None,
            stages,
            pending_retry: None,
            only_stage: None,
        }
    }

    /// A rollback execution: it runs `stage` again (with an earlier execution's artifacts) and
    /// ends when that stage ends.
    pub fn rollback(plan: Plan, stage: usize) -> Machine {
        let mut machine = Machine::new(plan);
        machine.only_stage = Some(stage);
        machine
    }

    /// A machine for an execution that ended Failed or Stopped at `stage`, with the statuses its
    /// actions ended with, ready for an `Input::Retry`.
    pub fn ended_at(
        plan: Plan,
        status: ExecutionStatus,
        stage: usize,
        actions: Vec<Option<ActionStatus>>,
    ) -> Machine {
        let mut machine = Machine::new(plan);
        machine.status = status;
        machine.cursor = Cursor::Done;
        if let Some(state) = machine.stages.get_mut(stage) {
            state.status = Some(StageStatus::Failed);
            for (slot, value) in state.actions.iter_mut().zip(actions) {
                *slot = value;
            }
        }
        machine
    }

    pub fn status(&self) -> ExecutionStatus {
        self.status
    }

    pub fn is_done(&self) -> bool {
        self.cursor == Cursor::Done
    }

    /// Actions that are running now.
    pub fn running(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (s, stage) in self.stages.iter().enumerate() {
            for (a, status) in stage.actions.iter().enumerate() {
                if *status == Some(ActionStatus::InProgress) {
                    out.push((s, a));
                }
            }
        }
        out
    }

    pub fn handle(&mut self, input: Input) -> Vec<Effect> {
        let mut effects = Vec::new();
        match input {
            Input::Start => {
                if self.cursor == Cursor::NotStarted {
                    self.wait_for(self.only_stage.unwrap_or(0), &mut effects);
                }
            }
            Input::StageEntered(stage) => {
                if self.cursor == Cursor::Waiting(stage) {
                    self.enter(stage, &mut effects);
                }
            }
            Input::Superseded { by } => {
                if matches!(self.cursor, Cursor::Waiting(_)) {
                    effects.push(Effect::StopWaiting);
                    self.finish(
                        ExecutionStatus::Superseded,
                        Some(format!("Superseded by execution {by}")),
                        &mut effects,
                    );
                }
            }
            Input::ActionFinished {
                stage,
                action,
                status,
            } => self.action_finished(stage, action, status, &mut effects),
            Input::Stop(mode) => self.stop(mode, &mut effects),
            Input::ConditionsChecked {
                stage,
                kind,
                failed,
            } => {
                if self.cursor == (Cursor::Checking { stage, kind }) {
                    self.conditions_checked(stage, kind, failed, &mut effects);
                }
            }
            Input::Retry { stage, all_actions } => {
                if self.cursor == Cursor::Done
                    && matches!(
                        self.status,
                        ExecutionStatus::Failed | ExecutionStatus::Stopped
                    )
                    && stage < self.stages.len()
                {
                    self.status = ExecutionStatus::InProgress;
                    self.stop = None;
                    self.pending_retry = Some(all_actions);
                    effects.push(Effect::ExecutionStatus {
                        status: ExecutionStatus::InProgress,
                        summary: None,
                    });
                    self.wait_for(stage, &mut effects);
                }
            }
        }
        effects
    }

    fn wait_for(&mut self, stage: usize, effects: &mut Vec<Effect>) {
        if stage >= self.plan.stages.len() {
            self.finish(ExecutionStatus::Succeeded, None, effects);
            return;
        }
        self.cursor = Cursor::Waiting(stage);
        effects.push(Effect::WaitForStage(stage));
    }

    fn enter(&mut self, stage: usize, effects: &mut Vec<Effect>) {
        let state = &mut self.stages[stage];
        match self.pending_retry.take() {
            Some(true) => state.actions.iter_mut().for_each(|a| *a = None),
            Some(false) => state
                .actions
                .iter_mut()
                .filter(|a| !matches!(a, Some(ActionStatus::Succeeded)))
                .for_each(|a| *a = None),
            None => {}
        }
        state.status = Some(StageStatus::InProgress);
        effects.push(Effect::StageStatus {
            stage,
            status: StageStatus::InProgress,
        });
        if self.plan.stages[stage].before_entry {
            self.check(stage, ConditionKind::BeforeEntry, effects);
        } else {
            self.run_group_from(stage, 0, effects);
        }
    }

    fn check(&mut self, stage: usize, kind: ConditionKind, effects: &mut Vec<Effect>) {
        self.cursor = Cursor::Checking { stage, kind };
        effects.push(Effect::CheckConditions { stage, kind });
    }

    fn conditions_checked(
        &mut self,
        stage: usize,
        kind: ConditionKind,
        failed: Option<StageFailureResult>,
        effects: &mut Vec<Effect>,
    ) {
        let name = self.plan.stages[stage].name.clone();
        match (kind, failed) {
            (ConditionKind::BeforeEntry, None) => self.run_group_from(stage, 0, effects),
            (ConditionKind::BeforeEntry, Some(StageFailureResult::Skip)) => {
                self.stages[stage].status = Some(StageStatus::Skipped);
                effects.push(Effect::StageStatus {
                    stage,
                    status: StageStatus::Skipped,
                });
                self.after_stage(stage, effects);
            }
            (ConditionKind::OnSuccess, None) => self.stage_succeeded(stage, effects),
            (ConditionKind::OnFailure, None) => {
                self.end_failed(stage, format!("Stage {name} failed"), false, effects)
            }
            (kind, Some(result)) => {
                let rollback = result == StageFailureResult::Rollback;
                let moment = match kind {
                    ConditionKind::BeforeEntry => "entry",
                    ConditionKind::OnSuccess => "on-success",
                    ConditionKind::OnFailure => "on-failure",
                };
                let summary = format!("Stage {name} failed: an {moment} condition was not met");
                self.end_failed(stage, summary, rollback, effects);
            }
        }
    }

    /// The stage ends Failed and so does the execution, rolling the stage back if asked to
    /// (but never from a rollback execution).
    fn end_failed(
        &mut self,
        stage: usize,
        summary: String,
        rollback: bool,
        effects: &mut Vec<Effect>,
    ) {
        self.stages[stage].status = Some(StageStatus::Failed);
        effects.push(Effect::StageStatus {
            stage,
            status: StageStatus::Failed,
        });
        self.finish(ExecutionStatus::Failed, Some(summary), effects);
        if rollback && self.only_stage.is_none() {
            effects.push(Effect::Rollback { stage });
        }
    }

    fn stage_succeeded(&mut self, stage: usize, effects: &mut Vec<Effect>) {
        self.stages[stage].status = Some(StageStatus::Succeeded);
        effects.push(Effect::StageStatus {
            stage,
            status: StageStatus::Succeeded,
        });
        self.after_stage(stage, effects);
    }

    /// On to the next stage, or the end of a rollback execution.
    fn after_stage(&mut self, stage: usize, effects: &mut Vec<Effect>) {
        if self.only_stage == Some(stage) {
            self.finish(ExecutionStatus::Succeeded, None, effects);
        } else {
            self.wait_for(stage + 1, effects);
        }
    }

    /// Starts the first group at or after `group` that still has actions to run.
    fn run_group_from(&mut self, stage: usize, group: usize, effects: &mut Vec<Effect>) {
        let groups = &self.plan.stages[stage].groups;
        for (g, members) in groups.iter().enumerate().skip(group) {
            let pending: Vec<usize> = members
                .iter()
                .copied()
                .filter(|&a| self.stages[stage].actions[a].is_none())
                .collect();
            if pending.is_empty() {
                continue;
            }
            self.cursor = Cursor::Running { stage, group: g };
            for action in pending {
                self.stages[stage].actions[action] = Some(ActionStatus::InProgress);
                effects.push(Effect::RunAction { stage, action });
            }
            return;
        }
        // Every group is done and nothing failed.
        if self.plan.stages[stage].on_success {
            self.check(stage, ConditionKind::OnSuccess, effects);
        } else {
            self.stage_succeeded(stage, effects);
        }
    }

    fn action_finished(
        &mut self,
        stage: usize,
        action: usize,
        status: ActionStatus,
        effects: &mut Vec<Effect>,
    ) {
        let Some(slot) = self
            .stages
            .get_mut(stage)
            .and_then(|s| s.actions.get_mut(action))
        else {
            return;
        };
        // An abandoned action's process may still report; the abandonment stands.
        if *slot != Some(ActionStatus::InProgress) {
            return;
        }
        *slot = Some(status);
        let Cursor::Running {
            stage: running_stage,
            group,
        } = self.cursor
        else {
            return;
        };
        if running_stage != stage {
            return;
        }
        let members = &self.plan.stages[stage].groups[group];
        let statuses: Vec<Option<ActionStatus>> = members
            .iter()
            .map(|&a| self.stages[stage].actions[a])
            .collect();
        if statuses.contains(&Some(ActionStatus::InProgress)) {
            return;
        }
        // The run-order group has settled.
        if self.stop.is_some() {
            self.settle_stopped(stage, effects);
            return;
        }
        if statuses
            .iter()
            .any(|s| matches!(s, Some(ActionStatus::Failed | ActionStatus::Abandoned)))
        {
            self.stage_failed(stage, effects);
        } else {
            self.run_group_from(stage, group + 1, effects);
        }
    }

    fn stage_failed(&mut self, stage: usize, effects: &mut Vec<Effect>) {
        // With on-failure conditions, they decide between rolling back and failing.
        if self.plan.stages[stage].on_failure_conditions {
            self.check(stage, ConditionKind::OnFailure, effects);
            return;
        }
        if let OnFailure::Retry { all_actions } = self.plan.stages[stage].on_failure
            && !self.stages[stage].auto_retried
        {
            self.stages[stage].auto_retried = true;
            self.pending_retry = Some(all_actions);
            // The execution keeps the stage: it runs the actions again without queueing for it,
            // so no other execution can slip in between the failure and the retry.
            self.enter(stage, effects);
            return;
        }
        let plan = &self.plan.stages[stage];
        let state = &mut self.stages[stage];
        state.status = Some(StageStatus::Failed);
        effects.push(Effect::StageStatus {
            stage,
            status: StageStatus::Failed,
        });
        match plan.on_failure {
            // A rollback that fails does not roll back again.
            OnFailure::Rollback if self.only_stage.is_none() => {
                let name = plan.name.clone();
                self.finish(
                    ExecutionStatus::Failed,
                    Some(format!("Stage {name} failed")),
                    effects,
                );
                effects.push(Effect::Rollback { stage });
            }
            _ => {
                let name = plan.name.clone();
                self.finish(
                    ExecutionStatus::Failed,
                    Some(format!("Stage {name} failed")),
                    effects,
                );
            }
        }
    }

    fn stop(&mut self, mode: StopMode, effects: &mut Vec<Effect>) {
        if self.cursor == Cursor::Done || self.cursor == Cursor::NotStarted {
            return;
        }
        // A second stop may only escalate wait to abandon.
        if self.stop == Some(StopMode::Abandon)
            || (self.stop == Some(StopMode::Wait) && mode == StopMode::Wait)
        {
            return;
        }
        self.stop = Some(mode);
        match self.cursor.clone() {
            Cursor::Waiting(_) => {
                effects.push(Effect::StopWaiting);
                self.finish(ExecutionStatus::Stopped, None, effects);
            }
            Cursor::Running { stage, .. } => {
                if self.status != ExecutionStatus::Stopping {
                    self.status = ExecutionStatus::Stopping;
                    effects.push(Effect::ExecutionStatus {
                        status: ExecutionStatus::Stopping,
                        summary: None,
                    });
                    self.stages[stage].status = Some(StageStatus::Stopping);
                    effects.push(Effect::StageStatus {
                        stage,
                        status: StageStatus::Stopping,
                    });
                }
                for (s, a) in self.running() {
                    if mode == StopMode::Abandon || self.plan.stages[s].actions[a].is_approval {
                        self.stages[s].actions[a] = Some(ActionStatus::Abandoned);
                        effects.push(Effect::AbandonAction {
                            stage: s,
                            action: a,
                        });
                    }
                }
                if self.running().is_empty() {
                    self.settle_stopped(stage, effects);
                }
            }
            Cursor::Checking { stage, .. } => {
                effects.push(Effect::CancelChecks);
                self.settle_stopped(stage, effects);
            }
            Cursor::NotStarted | Cursor::Done => {}
        }
    }

    fn settle_stopped(&mut self, stage: usize, effects: &mut Vec<Effect>) {
        self.stages[stage].status = Some(StageStatus::Stopped);
        effects.push(Effect::StageStatus {
            stage,
            status: StageStatus::Stopped,
        });
        self.finish(ExecutionStatus::Stopped, None, effects);
    }

    fn finish(
        &mut self,
        status: ExecutionStatus,
        summary: Option<String>,
        effects: &mut Vec<Effect>,
    ) {
        self.status = status;
        self.cursor = Cursor::Done;
        effects.push(Effect::ExecutionStatus { status, summary });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ActionStatus::*;

    /// Stages given as lists of (action name, run order).
    fn plan(stages: &[&[(&str, u32)]]) -> Plan {
        Plan {
            stages: stages
                .iter()
                .enumerate()
                .map(|(s, actions)| {
                    let mut orders: Vec<u32> = actions.iter().map(|(_, o)| *o).collect();
                    orders.sort();
                    orders.dedup();
                    let groups = orders
                        .iter()
                        .map(|order| {
                            (0..actions.len())
                                .filter(|&a| actions[a].1 == *order)
                                .collect()
                        })
                        .collect();
                    StagePlan {
                        name: format!("S{s}"),
                        groups,
                        actions: actions
                            .iter()
                            .map(|(name, _)| ActionPlan {
                                name: (*name).into(),
                                is_approval: name.starts_with("approve"),
                            })
                            .collect(),
                        on_failure: OnFailure::Fail,
                        before_entry: false,
                        on_success: false,
                        on_failure_conditions: false,
                    }
                })
                .collect(),
        }
    }

    fn runs(effects: &[Effect]) -> Vec<(usize, usize)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::RunAction { stage, action } => Some((*stage, *action)),
                _ => None,
            })
            .collect()
    }

    fn finished(m: &mut Machine, stage: usize, action: usize, status: ActionStatus) -> Vec<Effect> {
        m.handle(Input::ActionFinished {
            stage,
            action,
            status,
        })
    }

    #[test]
    fn run_orders_run_in_ascending_groups_with_equal_orders_in_parallel() {
        let mut m = Machine::new(plan(&[&[("c", 2), ("a", 1), ("b", 1), ("d", 3)]]));
        assert_eq!(m.handle(Input::Start), [Effect::WaitForStage(0)]);
        let effects = m.handle(Input::StageEntered(0));
        assert_eq!(runs(&effects), [(0, 1), (0, 2)]);
        assert_eq!(runs(&finished(&mut m, 0, 1, Succeeded)), []);
        assert_eq!(runs(&finished(&mut m, 0, 2, Succeeded)), [(0, 0)]);
        assert_eq!(runs(&finished(&mut m, 0, 0, Succeeded)), [(0, 3)]);
        let effects = finished(&mut m, 0, 3, Succeeded);
        assert!(effects.contains(&Effect::StageStatus {
            stage: 0,
            status: StageStatus::Succeeded
        }));
        assert!(effects.contains(&Effect::ExecutionStatus {
            status: ExecutionStatus::Succeeded,
            summary: None
        }));
        assert!(m.is_done());
    }

    #[test]
    fn a_failure_fails_the_stage_only_once_its_group_settles() {
        let mut m = Machine::new(plan(&[&[("a", 1), ("b", 1), ("c", 2)], &[("d", 1)]]));
        m.handle(Input::Start);
        m.handle(Input::StageEntered(0));
        let effects = finished(&mut m, 0, 0, Failed);
        assert!(effects.is_empty(), "b still runs: {effects:?}");
        let effects = finished(&mut m, 0, 1, Succeeded);
        assert!(
            runs(&effects).is_empty(),
            "c must not start after a failure"
        );
        assert!(effects.contains(&Effect::StageStatus {
            stage: 0,
            status: StageStatus::Failed
        }));
        assert_eq!(m.status(), ExecutionStatus::Failed);
        assert!(!effects.contains(&Effect::WaitForStage(1)));
    }

    #[test]
    fn stages_run_in_order_each_after_entry() {
        let mut m = Machine::new(plan(&[&[("a", 1)], &[("b", 1)]]));
        m.handle(Input::Start);
        m.handle(Input::StageEntered(0));
        let effects = finished(&mut m, 0, 0, Succeeded);
        assert_eq!(effects.last(), Some(&Effect::WaitForStage(1)));
        assert!(
            runs(&effects).is_empty(),
            "stage 1 starts only once entered"
        );
        assert_eq!(runs(&m.handle(Input::StageEntered(1))), [(1, 0)]);
    }

    #[test]
    fn stop_and_wait_lets_running_actions_finish_and_starts_nothing_new() {
        let mut m = Machine::new(plan(&[&[("a", 1), ("b", 1), ("c", 2)]]));
        m.handle(Input::Start);
        m.handle(Input::StageEntered(0));
        let effects = m.handle(Input::Stop(StopMode::Wait));
        assert!(effects.contains(&Effect::ExecutionStatus {
            status: ExecutionStatus::Stopping,
            summary: None
        }));
        assert!(
            !effects
                .iter()
                .any(|e| matches!(e, Effect::AbandonAction { .. }))
        );
        finished(&mut m, 0, 0, Succeeded);
        let effects = finished(&mut m, 0, 1, Succeeded);
        assert!(runs(&effects).is_empty());
        assert!(effects.contains(&Effect::StageStatus {
            stage: 0,
            status: StageStatus::Stopped
        }));
        assert_eq!(m.status(), ExecutionStatus::Stopped);
    }

    #[test]
    fn stop_and_abandon_abandons_running_actions_at_once() {
        let mut m = Machine::new(plan(&[&[("a", 1), ("b", 1)]]));
        m.handle(Input::Start);
        m.handle(Input::StageEntered(0));
        finished(&mut m, 0, 0, Succeeded);
        let effects = m.handle(Input::Stop(StopMode::Abandon));
        assert!(effects.contains(&Effect::AbandonAction {
            stage: 0,
            action: 1
        }));
        assert_eq!(m.status(), ExecutionStatus::Stopped);
        // The killed process reports afterwards; nothing changes.
        assert!(finished(&mut m, 0, 1, Failed).is_empty());
    }

    #[test]
    fn stop_and_wait_abandons_waiting_approvals() {
        let mut m = Machine::new(plan(&[&[("approve", 1), ("b", 1)]]));
        m.handle(Input::Start);
        m.handle(Input::StageEntered(0));
        let effects = m.handle(Input::Stop(StopMode::Wait));
        assert!(effects.contains(&Effect::AbandonAction {
            stage: 0,
            action: 0
        }));
        assert!(!effects.contains(&Effect::AbandonAction {
            stage: 0,
            action: 1
        }));
        assert_eq!(m.status(), ExecutionStatus::Stopping);
        finished(&mut m, 0, 1, Succeeded);
        assert_eq!(m.status(), ExecutionStatus::Stopped);
    }

    #[test]
    fn a_stop_while_waiting_for_a_stage_stops_at_once() {
        let mut m = Machine::new(plan(&[&[("a", 1)]]));
        m.handle(Input::Start);
        let effects = m.handle(Input::Stop(StopMode::Wait));
        assert_eq!(effects[0], Effect::StopWaiting);
        assert_eq!(m.status(), ExecutionStatus::Stopped);
    }

    #[test]
    fn retry_of_failed_actions_reruns_only_those_and_the_groups_after() {
        let mut m = Machine::new(plan(&[&[("a", 1), ("b", 1), ("c", 2)]]));
        m.handle(Input::Start);
        m.handle(Input::StageEntered(0));
        finished(&mut m, 0, 0, Succeeded);
        finished(&mut m, 0, 1, Failed);
        assert_eq!(m.status(), ExecutionStatus::Failed);
        let effects = m.handle(Input::Retry {
            stage: 0,
            all_actions: false,
        });
        assert_eq!(effects.last(), Some(&Effect::WaitForStage(0)));
        assert_eq!(runs(&m.handle(Input::StageEntered(0))), [(0, 1)]);
        assert_eq!(runs(&finished(&mut m, 0, 1, Succeeded)), [(0, 2)]);
        finished(&mut m, 0, 2, Succeeded);
        assert_eq!(m.status(), ExecutionStatus::Succeeded);
    }

    #[test]
    fn retry_of_all_actions_reruns_the_whole_stage() {
        let mut m = Machine::ended_at(
            plan(&[&[("a", 1), ("b", 1)]]),
            ExecutionStatus::Failed,
            0,
            vec![Some(Succeeded), Some(Failed)],
        );
        m.handle(Input::Retry {
            stage: 0,
            all_actions: true,
        });
        assert_eq!(runs(&m.handle(Input::StageEntered(0))), [(0, 0), (0, 1)]);
    }

    #[test]
    fn on_failure_retry_retries_once_automatically_keeping_the_stage() {
        let mut p = plan(&[&[("a", 1)]]);
        p.stages[0].on_failure = OnFailure::Retry { all_actions: false };
        let mut m = Machine::new(p);
        m.handle(Input::Start);
        m.handle(Input::StageEntered(0));
        let effects = finished(&mut m, 0, 0, Failed);
        assert_eq!(runs(&effects), [(0, 0)], "the stage runs again at once");
        assert!(
            !effects.contains(&Effect::WaitForStage(0)),
            "without giving up the stage"
        );
        assert!(!effects.contains(&Effect::StageStatus {
            stage: 0,
            status: StageStatus::Failed
        }));
        finished(&mut m, 0, 0, Failed);
        assert_eq!(m.status(), ExecutionStatus::Failed);
    }

    #[test]
    fn on_failure_rollback_fails_and_asks_for_rollback() {
        let mut p = plan(&[&[("a", 1)]]);
        p.stages[0].on_failure = OnFailure::Rollback;
        let mut m = Machine::new(p);
        m.handle(Input::Start);
        m.handle(Input::StageEntered(0));
        let effects = finished(&mut m, 0, 0, Failed);
        assert_eq!(effects.last(), Some(&Effect::Rollback { stage: 0 }));
        assert_eq!(m.status(), ExecutionStatus::Failed);
    }

    #[test]
    fn a_rollback_runs_its_one_stage_and_ends() {
        let mut p = plan(&[&[("a", 1)], &[("b", 1)], &[("c", 1)]]);
        p.stages[1].on_failure = OnFailure::Rollback;
        let mut m = Machine::rollback(p.clone(), 1);
        assert_eq!(m.handle(Input::Start), [Effect::WaitForStage(1)]);
        assert_eq!(runs(&m.handle(Input::StageEntered(1))), [(1, 0)]);
        let effects = finished(&mut m, 1, 0, Succeeded);
        assert!(!effects.contains(&Effect::WaitForStage(2)));
        assert_eq!(m.status(), ExecutionStatus::Succeeded);
        let mut m = Machine::rollback(p, 1);
        m.handle(Input::Start);
        m.handle(Input::StageEntered(1));
        let effects = finished(&mut m, 1, 0, Failed);
        assert!(
            !effects.iter().any(|e| matches!(e, Effect::Rollback { .. })),
            "no rollback of a rollback"
        );
        assert_eq!(m.status(), ExecutionStatus::Failed);
    }

    #[test]
    fn an_entry_condition_that_fails_with_skip_skips_the_stage() {
        let mut p = plan(&[&[("a", 1)], &[("b", 1)]]);
        p.stages[0].before_entry = true;
        let mut m = Machine::new(p);
        m.handle(Input::Start);
        let effects = m.handle(Input::StageEntered(0));
        assert_eq!(
            effects.last(),
            Some(&Effect::CheckConditions {
                stage: 0,
                kind: ConditionKind::BeforeEntry
            })
        );
        assert!(
            runs(&effects).is_empty(),
            "nothing runs before the entry conditions are met"
        );
        let effects = m.handle(Input::ConditionsChecked {
            stage: 0,
            kind: ConditionKind::BeforeEntry,
            failed: Some(StageFailureResult::Skip),
        });
        assert!(effects.contains(&Effect::StageStatus {
            stage: 0,
            status: StageStatus::Skipped
        }));
        assert_eq!(effects.last(), Some(&Effect::WaitForStage(1)));
    }

    #[test]
    fn an_entry_condition_that_is_met_runs_the_stage_and_one_that_fails_fails_it() {
        let mut p = plan(&[&[("a", 1)], &[("b", 1)]]);
        p.stages[0].before_entry = true;
        let mut m = Machine::new(p.clone());
        m.handle(Input::Start);
        m.handle(Input::StageEntered(0));
        let effects = m.handle(Input::ConditionsChecked {
            stage: 0,
            kind: ConditionKind::BeforeEntry,
            failed: None,
        });
        assert_eq!(runs(&effects), [(0, 0)]);
        let mut m = Machine::new(p);
        m.handle(Input::Start);
        m.handle(Input::StageEntered(0));
        let effects = m.handle(Input::ConditionsChecked {
            stage: 0,
            kind: ConditionKind::BeforeEntry,
            failed: Some(StageFailureResult::Fail),
        });
        assert!(effects.contains(&Effect::StageStatus {
            stage: 0,
            status: StageStatus::Failed
        }));
        assert_eq!(m.status(), ExecutionStatus::Failed);
        assert!(!effects.iter().any(|e| matches!(e, Effect::Rollback { .. })));
    }

    #[test]
    fn an_on_success_condition_can_roll_the_stage_back() {
        let mut p = plan(&[&[("a", 1)], &[("b", 1)]]);
        p.stages[0].on_success = true;
        let mut m = Machine::new(p);
        m.handle(Input::Start);
        m.handle(Input::StageEntered(0));
        let effects = finished(&mut m, 0, 0, Succeeded);
        assert_eq!(
            effects,
            [Effect::CheckConditions {
                stage: 0,
                kind: ConditionKind::OnSuccess
            }]
        );
        let effects = m.handle(Input::ConditionsChecked {
            stage: 0,
            kind: ConditionKind::OnSuccess,
            failed: Some(StageFailureResult::Rollback),
        });
        assert_eq!(effects.last(), Some(&Effect::Rollback { stage: 0 }));
        assert_eq!(m.status(), ExecutionStatus::Failed);
    }

    #[test]
    fn on_failure_conditions_decide_between_rollback_and_plain_failure() {
        let mut p = plan(&[&[("a", 1)]]);
        p.stages[0].on_failure_conditions = true;
        p.stages[0].on_failure = OnFailure::Rollback;
        let mut m = Machine::new(p.clone());
        m.handle(Input::Start);
        m.handle(Input::StageEntered(0));
        let effects = finished(&mut m, 0, 0, Failed);
        assert_eq!(
            effects,
            [Effect::CheckConditions {
                stage: 0,
                kind: ConditionKind::OnFailure
            }]
        );
        let effects = m.handle(Input::ConditionsChecked {
            stage: 0,
            kind: ConditionKind::OnFailure,
            failed: None,
        });
        assert!(
            !effects.iter().any(|e| matches!(e, Effect::Rollback { .. })),
            "every condition met: no rollback"
        );
        assert_eq!(m.status(), ExecutionStatus::Failed);
        let mut m = Machine::new(p);
        m.handle(Input::Start);
        m.handle(Input::StageEntered(0));
        finished(&mut m, 0, 0, Failed);
        let effects = m.handle(Input::ConditionsChecked {
            stage: 0,
            kind: ConditionKind::OnFailure,
            failed: Some(StageFailureResult::Rollback),
        });
        assert_eq!(effects.last(), Some(&Effect::Rollback { stage: 0 }));
    }

    #[test]
    fn a_stop_while_conditions_are_checked_stops_at_once() {
        let mut p = plan(&[&[("a", 1)]]);
        p.stages[0].before_entry = true;
        let mut m = Machine::new(p);
        m.handle(Input::Start);
        m.handle(Input::StageEntered(0));
        let effects = m.handle(Input::Stop(StopMode::Wait));
        assert_eq!(effects[0], Effect::CancelChecks);
        assert_eq!(m.status(), ExecutionStatus::Stopped);
    }

    #[test]
    fn superseded_only_while_waiting() {
        let mut m = Machine::new(plan(&[&[("a", 1)], &[("b", 1)]]));
        m.handle(Input::Start);
        m.handle(Input::StageEntered(0));
        assert!(
            m.handle(Input::Superseded { by: "x".into() }).is_empty(),
            "a running stage is never superseded"
        );
        finished(&mut m, 0, 0, Succeeded);
        m.handle(Input::Superseded { by: "x".into() });
        assert_eq!(m.status(), ExecutionStatus::Superseded);
    }
}
