//! The driver of one execution: feeds the machine, carries out its effects (database rows and
//! events in one transaction each, actions on tokio tasks), and asks the scheduler for stages.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use pipewright_artifacts::Digest;
use pipewright_model::{
    Action, EnvironmentVariableType, PipelineDeclaration, RuleDeclaration, StageFailureResult,
    variables,
};
use pipewright_store::{self as db, ActionEnd, ActionExecutionRow, SqliteConnection};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::engine::Inner;
use crate::events::{self, Subject};
use crate::machine::{ConditionKind, Effect, Input, Machine};
use crate::rules;
use crate::runners::{self, ActionRun, Outcome};
use crate::scheduler::{self, Entry, Waiter};
use crate::settings::LocalSettings;
use crate::status::{ActionStatus, ExecutionStatus, StageStatus};
use crate::{Error, Result};

/// How often an execution waiting for a stage asks again. Releases by this process wake it
/// sooner; releases by another process are seen within this time.
const STAGE_POLL: Duration = Duration::from_millis(200);

/// A write that fails (the database busy past its timeout, a full disk) is tried this often,
/// this far apart, before the driver gives up.
const WRITE_ATTEMPTS: u32 = 5;
const WRITE_RETRY_DELAY: Duration = Duration::from_millis(500);

/// Minutes a manual approval waits when the declaration does not say (7 days, as on AWS).
const DEFAULT_APPROVAL_MINUTES: u32 = 7 * 24 * 60;

/// Everything fixed about one execution.
#[derive(Debug)]
pub(crate) struct ExecutionContext {
    pub id: String,
    pub pipeline: String,
    pub version: i64,
    pub declaration: Arc<PipelineDeclaration>,
    pub settings: Arc<LocalSettings>,
    pub variables: IndexMap<String, String>,
    /// Commits source actions read instead of their branch heads, by action name.
    pub source_revisions: Arc<IndexMap<String, crate::engine::SourceRevision>>,
}

struct Running {
    action_execution_id: String,
    cancel: CancellationToken,
}

struct Finished {
    stage: usize,
    action: usize,
    action_execution_id: String,
    outcome: Outcome,
}

pub(crate) struct Driver {
    inner: Arc<Inner>,
    ctx: Arc<ExecutionContext>,
    machine: Machine,
    running: HashMap<(usize, usize), Running>,
    waiting_for: Option<usize>,
    /// Artifacts produced so far in this execution, by name.
    artifacts: HashMap<String, Digest>,
    /// Output variables by action namespace.
    namespaces: HashMap<String, IndexMap<String, String>>,
    resumed: bool,
    /// Actions the machine asked to start, recorded together before they launch.
    to_start: Vec<(usize, usize)>,
    /// Runs of each action so far in this execution.
    attempts: HashMap<(usize, usize), i64>,
    done_tx: mpsc::UnboundedSender<Finished>,
    done_rx: mpsc::UnboundedReceiver<Finished>,
    /// Results of condition checks, which run on their own task.
    checks_tx: mpsc::UnboundedSender<Input>,
    checks_rx: mpsc::UnboundedReceiver<Input>,
    /// Cancels the condition check under way, if any.
    checking: Option<CancellationToken>,
}

impl Driver {
    pub fn new(
        inner: Arc<Inner>,
        ctx: Arc<ExecutionContext>,
        machine: Machine,
        resumed: bool,
    ) -> Driver {
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let (checks_tx, checks_rx) = mpsc::unbounded_channel();
        Driver {
            inner,
            ctx,
            machine,
            running: HashMap::new(),
            waiting_for: None,
            artifacts: HashMap::new(),
            namespaces: HashMap::new(),
            resumed,
            to_start: Vec::new(),
            attempts: HashMap::new(),
            done_tx,
            done_rx,
            checks_tx,
            checks_rx,
            checking: None,
        }
    }

    /// Loads the artifacts and output variables an earlier run of this execution produced (for
    /// a retry).
    pub async fn load_earlier_outputs(&mut self, source: &str) -> Result<()> {
        let mut conn = self
            .inner
            .store
            .pool()
            .acquire()
            .await
            .map_err(db::Error::from)?;
        for row in db::artifacts(&mut conn, source).await? {
            if let Ok(digest) = row.digest.parse::<Digest>() {
                self.artifacts.insert(row.name, digest);
            }
        }
        for row in db::action_executions(&mut conn, source).await? {
            let index = self
                .ctx
                .declaration
                .stages
                .iter()
                .position(|s| s.name == row.stage)
                .and_then(|s| {
                    self.ctx.declaration.stages[s]
                        .actions
                        .iter()
                        .position(|a| a.name == row.action)
                        .map(|a| (s, a))
                });
            // A retry goes on counting its own attempts; a rollback starts its own count.
            if let Some(index) = index
                && source == self.ctx.id
            {
                *self.attempts.entry(index).or_insert(0) += 1;
            }
            if row.status != "Succeeded" {
                continue;
            }
            let namespace = self
                .ctx
                .declaration
                .stage(&row.stage)
                .and_then(|s| s.action(&row.action))
                .and_then(|a| a.namespace.clone());
            if let (Some(namespace), Some(vars)) = (namespace, row.output_variables.as_deref()) {
                let vars: IndexMap<String, String> = serde_json::from_str(vars).unwrap_or_default();
                self.namespaces.insert(namespace, vars);
            }
        }
        Ok(())
    }

    pub async fn run(mut self, first: Input, mut inbox: mpsc::UnboundedReceiver<Input>) {
        let mut pending = vec![first];
        loop {
            for input in std::mem::take(&mut pending) {
                let effects = self.machine.handle(input);
                for effect in effects {
                    // Actions that start together are recorded in one transaction; any other
                    // effect first flushes them, so effects still take effect in order.
                    if let Effect::RunAction { stage, action } = effect {
                        self.to_start.push((stage, action));
                        continue;
                    }
                    if let Err(error) = self.start_batch().await {
                        self.give_up(&error);
                        return;
                    }
                    let mut attempt = 0;
                    while let Err(error) = self.apply(effect.clone(), &mut pending).await {
                        attempt += 1;
                        if attempt >= WRITE_ATTEMPTS {
                            self.give_up(&error);
                            return;
                        }
                        tokio::time::sleep(WRITE_RETRY_DELAY).await;
                    }
                }
            }
            if let Err(error) = self.start_batch().await {
                self.give_up(&error);
                return;
            }
            if !pending.is_empty() {
                continue;
            }
            if self.machine.is_done() && self.running.is_empty() {
                break;
            }
            let wake = self.inner.stage_released.notified();
            tokio::select! {
                Some(input) = inbox.recv() => pending.push(input),
                Some(input) = self.checks_rx.recv() => {
                    self.checking = None;
                    pending.push(input);
                }
                Some(finished) = self.done_rx.recv() => {
                    // Let actions that end at nearly the same moment join this batch.
                    tokio::task::yield_now().await;
                    let mut batch = vec![finished];
                    while let Ok(more) = self.done_rx.try_recv() {
                        batch.push(more);
                    }
                    match self.actions_finished(batch).await {
                        Ok(inputs) => pending.extend(inputs),
                        Err(error) => {
                            self.give_up(&error);
                            return;
                        }
                    }
                }
                () = tokio::time::sleep(STAGE_POLL), if self.waiting_for.is_some() => self.try_enter(&mut pending).await,
                () = wake, if self.waiting_for.is_some() => self.try_enter(&mut pending).await,
            }
        }
        // Abandoned actions may still be winding down; their results are not needed.
        self.inner.forget(&self.ctx.id).await;
    }

    /// The database refuses this execution's writes: stop its actions and leave it as it is
    /// recorded. It stays owned by this process until the process ends; the next process's
    /// recovery then settles it, and it can be retried.
    fn give_up(&mut self, error: &Error) {
        eprintln!(
            "pipewright: execution {} stops being driven: its state cannot be recorded: {error}",
            self.ctx.id
        );
        for running in self.running.values() {
            running.cancel.cancel();
        }
    }

    /// Where builds' stored values come from: the settings, and AWS's when they ask for it.
    fn value_sources(&self) -> crate::stored_values::ValueSources {
        let settings = &self.ctx.settings;
        crate::stored_values::ValueSources {
            local: settings.stored_values(),
            remote: settings
                .stored_values_from_aws
                .then(|| self.inner.services.remote_values.clone())
                .flatten()
                .map(|remote| (remote, settings.aws.clone())),
        }
    }

    fn subject(&self) -> Subject<'_> {
        Subject {
            pipeline: &self.ctx.pipeline,
            version: self.ctx.version,
            execution_id: &self.ctx.id,
        }
    }

    fn stage_name(&self, stage: usize) -> &str {
        &self.ctx.declaration.stages[stage].name
    }

    fn action_decl(&self, stage: usize, action: usize) -> &Action {
        &self.ctx.declaration.stages[stage].actions[action]
    }

    async fn apply(&mut self, effect: Effect, pending: &mut Vec<Input>) -> Result<()> {
        match effect {
            Effect::WaitForStage(stage) => {
                let mut tx = self.inner.store.write().await?;
                db::wait_for_stage(
                    &mut tx,
                    &self.ctx.id,
                    &self.ctx.pipeline,
                    self.stage_name(stage),
                )
                .await?;
                tx.commit().await.map_err(db::Error::from)?;
                self.waiting_for = Some(stage);
                self.try_enter(pending).await;
            }
            Effect::StopWaiting => {
                let mut tx = self.inner.store.write().await?;
                db::stop_waiting(&mut tx, &self.ctx.id).await?;
                tx.commit().await.map_err(db::Error::from)?;
                self.waiting_for = None;
            }
            Effect::StageStatus { stage, status } => {
                let now = self.inner.clock.now_ms();
                let mut tx = self.inner.store.write().await?;
                if status != StageStatus::InProgress {
                    db::set_stage_status(
                        &mut tx,
                        &self.ctx.id,
                        self.stage_name(stage),
                        status.as_str(),
                        now,
                        status.is_final(),
                    )
                    .await?;
                }
                let state = events::stage_state(status, self.resumed);
                let detail = events::stage_detail(&self.subject(), self.stage_name(stage), state);
                self.inner
                    .emit(&mut tx, events::STAGE_DETAIL_TYPE, &self.subject(), detail)
                    .await?;
                tx.commit().await.map_err(db::Error::from)?;
                self.inner.published();
                if status.is_final() {
                    self.inner.stage_released.notify_waiters();
                }
            }
            Effect::RunAction { stage, action } => self.to_start.push((stage, action)),
            Effect::AbandonAction { stage, action } => {
                if let Some(running) = self.running.remove(&(stage, action)) {
                    running.cancel.cancel();
                    let end = ActionEnd {
                        status: ActionStatus::Abandoned.as_str().to_owned(),
                        summary: Some("Abandoned: the execution was stopped".to_owned()),
                        error_code: Some("Abandoned".to_owned()),
                        ..Default::default()
                    };
                    let now = self.inner.clock.now_ms();
                    let mut tx = self.inner.store.write().await?;
                    self.record_action_end(
                        &mut tx,
                        stage,
                        action,
                        &running.action_execution_id,
                        &end,
                        ActionStatus::Abandoned,
                        now,
                    )
                    .await?;
                    tx.commit().await.map_err(db::Error::from)?;
                    self.inner.published();
                }
            }
            Effect::ExecutionStatus { status, summary } => {
                let now = self.inner.clock.now_ms();
                let mut tx = self.inner.store.write().await?;
                db::set_execution_status(
                    &mut tx,
                    &self.ctx.id,
                    status.as_str(),
                    summary.as_deref(),
                    now,
                    status.is_final(),
                )
                .await?;
                if status.is_final() {
                    // The stop request stays on the row: it is the stopTrigger AWS reports.
                    db::set_execution_owner(&mut tx, &self.ctx.id, None).await?;
                }
                let resumed = self.resumed && status == ExecutionStatus::InProgress;
                let detail = events::pipeline_detail(
                    &self.subject(),
                    events::execution_state(status, resumed),
                );
                self.inner
                    .emit(
                        &mut tx,
                        events::PIPELINE_DETAIL_TYPE,
                        &self.subject(),
                        detail,
                    )
                    .await?;
                tx.commit().await.map_err(db::Error::from)?;
                self.inner.published();
            }
            Effect::CheckConditions { stage, kind } => self.start_checks(stage, kind),
            Effect::CancelChecks => {
                if let Some(checking) = self.checking.take() {
                    checking.cancel();
                }
            }
            Effect::Rollback { stage } => {
                // The engine starts the rollback execution: a driver cannot start another
                // driver from inside its own future.
                let (started, wait) = tokio::sync::oneshot::channel();
                let request = crate::engine::RollbackRequest {
                    pipeline: self.ctx.pipeline.clone(),
                    stage: self.stage_name(stage).to_owned(),
                    failed_execution: self.ctx.id.clone(),
                    started,
                };
                if self.inner.rollbacks.send(request).is_ok() {
                    let _ = wait.await;
                }
            }
        }
        Ok(())
    }

    /// Asks the scheduler whether the execution may enter the stage it waits for.
    async fn try_enter(&mut self, pending: &mut Vec<Input>) {
        let Some(stage) = self.waiting_for else {
            return;
        };
        match self.decide_entry(stage).await {
            Ok(Some(input)) => {
                self.waiting_for = None;
                pending.push(input);
            }
            Ok(None) => {}
            Err(error) => eprintln!("pipewright: execution {}: {error}", self.ctx.id),
        }
    }

    async fn decide_entry(&mut self, stage: usize) -> Result<Option<Input>> {
        let name = self.stage_name(stage).to_owned();
        let pipeline = self.ctx.pipeline.clone();
        let me = self.ctx.id.clone();
        let mut tx = self.inner.store.write().await?;
        let Some(wait) = db::stage_wait(&mut tx, &me).await? else {
            return Ok(None);
        };
        if let Some(by) = wait.superseded_by {
            db::stop_waiting(&mut tx, &me).await?;
            tx.commit().await.map_err(db::Error::from)?;
            return Ok(Some(Input::Superseded { by }));
        }
        let transition_enabled = stage == 0
            || !db::disabled_transitions(&mut tx, &pipeline)
                .await?
                .iter()
                .any(|t| t.stage == name);
        let occupied = db::stage_occupants(&mut tx, &pipeline, &name)
            .await?
            .iter()
            .any(|id| *id != me);
        let mut waiters = Vec::new();
        for row in db::stage_waiters(&mut tx, &pipeline, &name).await? {
            let execution_seq = db::execution(&mut tx, &row.execution_id)
                .await?
                .map(|e| e.seq)
                .unwrap_or(0);
            waiters.push(Waiter {
                execution_id: row.execution_id,
                execution_seq,
                since_seq: row.since_seq,
            });
        }
        let decision = scheduler::decide(
            &self.ctx.declaration.execution_mode(),
            transition_enabled,
            occupied,
            &waiters,
            &me,
        );
        for older in &decision.supersede {
            db::mark_superseded(&mut tx, older, &me).await?;
        }
        let input = match decision.entry {
            Entry::Wait => None,
            Entry::Superseded { by } => {
                db::stop_waiting(&mut tx, &me).await?;
                Some(Input::Superseded { by })
            }
            Entry::Enter => {
                db::stop_waiting(&mut tx, &me).await?;
                let now = self.inner.clock.now_ms();
                let row = db::enter_stage(&mut tx, &me, &pipeline, &name, now).await?;
                self.resumed = row.attempt > 1;
                Some(Input::StageEntered(stage))
            }
        };
        tx.commit().await.map_err(db::Error::from)?;
        if !decision.supersede.is_empty() {
            self.inner.stage_released.notify_waiters();
        }
        Ok(input)
    }

    /// Resolves `#{...}` references for one action.
    fn lookup(&self, namespace: &str, name: &str) -> Option<String> {
        match namespace {
            variables::PIPELINE_NAMESPACE => self.ctx.variables.get(name).cloned(),
            variables::CODEPIPELINE_NAMESPACE if name == "PipelineExecutionId" => {
                Some(self.ctx.id.clone())
            }
            other => self.namespaces.get(other)?.get(name).cloned(),
        }
    }

    /// The action with every variable reference substituted, or the first reference that
    /// cannot be resolved.
    fn substitute(&self, text: &str) -> std::result::Result<String, String> {
        variables::substitute(text, |ns, name| self.lookup(ns, name))
            .map_err(|missing| format!("the variable {} cannot be resolved", missing.text()))
    }

    fn resolve(&self, action: &Action) -> std::result::Result<Action, String> {
        let mut resolved = action.clone();
        let substitute = |text: &str| self.substitute(text);
        if let Some(config) = resolved.configuration.as_mut() {
            for value in config.values_mut() {
                *value = substitute(value)?;
            }
        }
        if let Some(commands) = resolved.commands.as_mut() {
            for command in commands.iter_mut() {
                *command = substitute(command)?;
            }
        }
        if let Some(env) = resolved.environment_variables.as_mut() {
            for variable in env.iter_mut() {
                variable.value = substitute(&variable.value)?;
            }
        }
        Ok(resolved)
    }

    /// Checks a stage's conditions of one kind on a task of their own: rules in order, the first
    /// failed rule failing its condition, the first failed condition deciding the result.
    fn start_checks(&mut self, stage: usize, kind: ConditionKind) {
        let stage_decl = &self.ctx.declaration.stages[stage];
        let mut conditions = Vec::new();
        for (index, condition) in kind.conditions(stage_decl).iter().enumerate() {
            let result = condition.result.clone().unwrap_or(kind.default_result());
            let rules: Vec<PreparedRule> = condition
                .rules
                .iter()
                .flatten()
                .map(|rule| self.prepare_rule(&stage_decl.name, rule))
                .collect();
            conditions.push((index, result, rules));
        }
        let cancel = CancellationToken::new();
        self.checking = Some(cancel.clone());
        let checks = ConditionChecks {
            inner: self.inner.clone(),
            ctx: self.ctx.clone(),
            stage: stage_decl.name.clone(),
            kind,
            cancel,
        };
        let reply = self.checks_tx.clone();
        tokio::spawn(async move {
            let failed = checks.run(conditions).await;
            let _ = reply.send(Input::ConditionsChecked {
                stage,
                kind,
                failed,
            });
        });
    }

    /// A rule with its variables resolved (or the reference that could not be).
    fn prepare_rule(&self, stage: &str, rule: &RuleDeclaration) -> PreparedRule {
        let mut settings = self.ctx.settings.rule(stage, &rule.name).cloned();
        let mut resolved = rule.clone();
        let mut problem = None;
        let texts = resolved
            .configuration
            .iter_mut()
            .flat_map(|c| c.values_mut())
            .chain(resolved.commands.iter_mut().flatten())
            .chain(
                settings
                    .as_mut()
                    .and_then(|s| s.commands.as_mut())
                    .into_iter()
                    .flatten(),
            );
        for text in texts {
            match self.substitute(text) {
                Ok(value) => *text = value,
                Err(message) => problem = problem.or(Some(message)),
            }
        }
        let inputs = rule
            .input_artifacts
            .iter()
            .flatten()
            .map(|i| {
                self.artifacts
                    .get(&i.name)
                    .cloned()
                    .map(|d| (i.name.clone(), d))
                    .ok_or_else(|| {
                        format!(
                            "the input artifact {} was not produced in this execution",
                            i.name
                        )
                    })
            })
            .collect::<std::result::Result<Vec<_>, String>>();
        let inputs = match inputs {
            Ok(inputs) => inputs,
            Err(message) => {
                problem = problem.or(Some(message));
                Vec::new()
            }
        };
        PreparedRule {
            rule: resolved,
            settings,
            inputs,
            problem,
        }
    }

    /// Records every action in `to_start` as started (one transaction) and launches them.
    async fn start_batch(&mut self) -> Result<()> {
        if self.to_start.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.to_start);
        let prepared: Vec<Prepared> = batch
            .into_iter()
            .map(|(stage, action)| self.prepare(stage, action))
            .collect();
        let facts = retry_write(|| self.record_starts(&prepared)).await?;
        for (prepared, build_number) in prepared.into_iter().zip(facts.build_numbers) {
            self.launch(prepared, build_number, &facts.revisions);
        }
        Ok(())
    }

    /// Everything about an action execution that can be known before it runs. Problems found
    /// here (an unresolvable variable, a missing input) fail the action with a message that
    /// names them.
    fn prepare(&mut self, stage: usize, action: usize) -> Prepared {
        let decl = self.action_decl(stage, action).clone();
        let stage_name = self.stage_name(stage).to_owned();
        let now = self.inner.clock.now_ms();
        let id = uuid::Uuid::new_v4().to_string();
        let attempt = self.attempts.entry((stage, action)).or_insert(0);
        *attempt += 1;
        let attempt = *attempt;
        let approval = decl.is_manual_approval().then(|| {
            let minutes = decl.timeout_in_minutes.unwrap_or(DEFAULT_APPROVAL_MINUTES);
            (
                uuid::Uuid::new_v4().to_string(),
                now + i64::from(minutes) * 60_000,
            )
        });
        let mut settings = self.ctx.settings.action(&stage_name, &decl.name).cloned();
        // Commands the local settings run in place of the action see the same variables.
        let mapped = match settings.as_mut().and_then(|s| s.commands.as_mut()) {
            Some(commands) => commands.iter_mut().try_for_each(|command| {
                *command = self.substitute(command)?;
                Ok(())
            }),
            None => Ok(()),
        };
        let resolved = mapped
            .and_then(|()| self.resolve(&decl))
            .and_then(|resolved| {
                let mut present = Vec::new();
                for input in decl.inputs() {
                    let digest = self.artifacts.get(&input.name).cloned().ok_or_else(|| {
                        format!(
                            "the input artifact {} was not produced in this execution",
                            input.name
                        )
                    })?;
                    present.push((input.name.clone(), digest));
                }
                Ok((resolved, present))
            });
        let inputs_json = match &resolved {
            Ok((_, present)) => json!(
                present
                    .iter()
                    .map(|(n, d)| json!({"name": n, "digest": d.to_string()}))
                    .collect::<Vec<_>>()
            ),
            Err(_) => json!(
                decl.inputs()
                    .iter()
                    .map(|i| json!({"name": i.name}))
                    .collect::<Vec<_>>()
            ),
        };
        let place = crate::containers::place_of_action(
            &decl,
            settings.as_ref(),
            &self.ctx.settings.environment,
            self.inner.host_only,
        );
        let resolved_config = resolved
            .as_ref()
            .ok()
            .and_then(|(r, _)| r.configuration.as_ref())
            .map(|c| json!(c).to_string());
        let row = ActionExecutionRow {
            id: id.clone(),
            execution_id: self.ctx.id.clone(),
            pipeline: self.ctx.pipeline.clone(),
            stage: stage_name,
            action: decl.name.clone(),
            run_order: i64::from(decl.run_order()),
            attempt,
            status: ActionStatus::InProgress.as_str().to_owned(),
            simulated: settings.as_ref().is_some_and(|s| s.simulate),
            ran_on: place
                .as_ref()
                .ok()
                .and_then(|p| p.as_ref().map(crate::containers::Place::describe)),
            action_type: serde_json::to_string(&decl.action_type_id).unwrap_or_default(),
            resolved_config,
            input_artifacts: Some(inputs_json.to_string()),
            token: approval.as_ref().map(|(token, _)| token.clone()),
            expires_ms: approval.as_ref().map(|(_, expires)| *expires),
            started_ms: now,
            updated_ms: now,
            ..Default::default()
        };
        Prepared {
            stage,
            action,
            row,
            decl,
            settings,
            approval,
            resolved,
            place,
        }
    }

    /// Records the starts; gives each CodeBuild action its project's next build number, and
    /// what the execution's sources revisions are (for the builds' source variables).
    async fn record_starts(&self, prepared: &[Prepared]) -> Result<StartFacts> {
        let rows: Vec<ActionExecutionRow> = prepared.iter().map(|p| p.row.clone()).collect();
        let events = prepared
            .iter()
            .map(|p| {
                let detail = events::action_detail(
                    &self.subject(),
                    &p.row.stage,
                    &p.decl.name,
                    "STARTED",
                    &p.decl.action_type_id,
                );
                (events::ACTION_DETAIL_TYPE, detail)
            })
            .collect();
        let mut tx = self.inner.store.write().await?;
        db::insert_action_executions(&mut tx, &rows).await?;
        let mut build_numbers = Vec::with_capacity(prepared.len());
        for p in prepared {
            build_numbers.push(match project_of(&p.decl) {
                Some(project) => {
                    Some(db::next_counter(&mut tx, &format!("build-number:{project}")).await?)
                }
                None => None,
            });
        }
        let revisions = if build_numbers.iter().any(Option::is_some) {
            db::revisions(&mut tx, &self.ctx.id)
                .await?
                .into_iter()
                .map(|r| (r.artifact, r.revision_id))
                .collect()
        } else {
            HashMap::new()
        };
        self.inner
            .emit_all(&mut tx, &self.subject(), events)
            .await?;
        tx.commit().await.map_err(db::Error::from)?;
        self.inner.published();
        Ok(StartFacts {
            build_numbers,
            revisions,
        })
    }

    fn launch(
        &mut self,
        prepared: Prepared,
        build_number: Option<i64>,
        revisions: &HashMap<String, String>,
    ) {
        let Prepared {
            stage,
            action,
            row,
            decl,
            settings,
            approval,
            resolved,
            place,
        } = prepared;
        let action_execution_id = row.id;
        let log = self.inner.logs.action(&action_execution_id, 0);
        let cancel = CancellationToken::new();
        self.running.insert(
            (stage, action),
            Running {
                action_execution_id: action_execution_id.clone(),
                cancel: cancel.clone(),
            },
        );
        let done = self.done_tx.clone();
        // What is wrong before anything runs fails the action, with the reason in its log.
        let fail_unstarted = |code: &str, message: String| {
            log.note(message.clone());
            let _ = done.send(Finished {
                stage,
                action,
                action_execution_id: action_execution_id.clone(),
                outcome: Outcome::failed(code, message),
            });
        };
        let (resolved, present) = match resolved {
            Ok(resolved) => resolved,
            Err(message) => return fail_unstarted("InvalidConfiguration", message),
        };
        let place = match place {
            Ok(place) => place.unwrap_or_default(),
            Err(message) => return fail_unstarted("NoBuildEnvironment", message),
        };
        let primary = crate::runners::primary_input(&resolved, &present);
        let mut env = crate::build_variables::BuildVariables {
            pipeline: &self.ctx.pipeline,
            project: project_of(&resolved),
            execution_id: &self.ctx.id,
            action_execution_id: &action_execution_id,
            start_time_ms: self.inner.clock.now_ms(),
            region: resolved
                .region
                .as_deref()
                .or(self.ctx.settings.aws.region.as_deref()),
            build_number,
            source_version: primary.map(|(_, digest)| digest.to_string()),
            resolved_source_version: primary.and_then(|(name, _)| revisions.get(name).cloned()),
        }
        .list();
        // A SECRETS_MANAGER variable's value names the secret, read when the action starts.
        let mut secret_env = Vec::new();
        for variable in resolved.environment_variables() {
            if variable.variable_type.as_ref() == Some(&EnvironmentVariableType::SecretsManager) {
                secret_env.push((variable.name.clone(), variable.value.clone()));
            } else {
                env.push((variable.name.clone(), variable.value.clone()));
            }
        }
        let stored = self.value_sources();
        // Marks every process of the action as this engine's, for crash recovery, and as this
        // action's, for a stop or a timeout.
        env.push((crate::process::ENGINE_ENV.to_owned(), self.inner.id.clone()));
        env.push((
            crate::process::ACTION_ENV.to_owned(),
            action_execution_id.clone(),
        ));
        let run = ActionRun {
            execution_id: self.ctx.id.clone(),
            action_execution_id: action_execution_id.clone(),
            pipeline: self.ctx.pipeline.clone(),
            stage: row.stage,
            timeout: (!decl.is_manual_approval())
                .then_some(decl.timeout_in_minutes)
                .flatten()
                .map(|m| Duration::from_secs(u64::from(m) * 60)),
            action: resolved,
            settings,
            aws: self.ctx.settings.aws.clone(),
            stored,
            secret_env,
            inputs: present,
            // Given a workspace once it holds a slot, so a group of 100 parallel actions does
            // not hold 100 directories while two run.
            workspace: PathBuf::new(),
            env,
            log: log.clone(),
            cancel,
            approval,
            place,
            engine_id: self.inner.id.clone(),
            revision: self.ctx.source_revisions.get(&decl.name).cloned(),
        };
        let inner = self.inner.clone();
        let is_approval = decl.is_manual_approval();
        tokio::spawn(async move {
            // Approvals wait for people, not processors: they take no slot.
            let permit = if is_approval {
                None
            } else {
                inner.slots.clone().acquire_owned().await.ok()
            };
            let mut run = run;
            let outcome = match inner.workspaces.take() {
                Ok(workspace) => {
                    run.workspace = workspace.clone();
                    let outcome = runners::run(&inner.services, run).await;
                    inner.workspaces.give_back(workspace);
                    outcome
                }
                Err(error) => {
                    let message = format!("cannot create a workspace for the action: {error}");
                    run.log.note(message.clone());
                    Outcome::failed("InternalError", message)
                }
            };
            drop(permit);
            let _ = done.send(Finished {
                stage,
                action,
                action_execution_id,
                outcome,
            });
        });
    }

    /// Records the end of every finished action in one transaction and says what the machine
    /// must be told.
    async fn actions_finished(&mut self, batch: Vec<Finished>) -> Result<Vec<Input>> {
        let mut ended = Vec::new();
        for finished in batch {
            // Abandoned actions were recorded when they were abandoned.
            let current = self.running.get(&(finished.stage, finished.action));
            if current.is_none_or(|r| r.action_execution_id != finished.action_execution_id) {
                continue;
            }
            self.running.remove(&(finished.stage, finished.action));
            if finished.outcome.status == ActionStatus::Succeeded {
                for (name, ingested) in &finished.outcome.outputs {
                    self.artifacts.insert(name.clone(), ingested.digest.clone());
                }
                if let Some(namespace) = self
                    .action_decl(finished.stage, finished.action)
                    .namespace
                    .clone()
                {
                    self.namespaces
                        .insert(namespace, finished.outcome.variables.clone());
                }
            }
            ended.push(finished);
        }
        if ended.is_empty() {
            return Ok(Vec::new());
        }
        // The outcomes (and the pins keeping their artifacts from gc) are dropped only once
        // recorded.
        retry_write(|| self.record_ends(&ended)).await?;
        Ok(ended
            .into_iter()
            .map(|f| Input::ActionFinished {
                stage: f.stage,
                action: f.action,
                status: f.outcome.status,
            })
            .collect())
    }

    async fn record_ends(&self, ended: &[Finished]) -> Result<()> {
        let now = self.inner.clock.now_ms();
        let mut stored = Vec::with_capacity(ended.len());
        let mut ends = Vec::with_capacity(ended.len());
        let mut tx = self.inner.store.write().await?;
        for finished in ended {
            let outcome = &finished.outcome;
            if outcome.status == ActionStatus::Succeeded {
                let action_name = &self.action_decl(finished.stage, finished.action).name;
                self.record_outputs(&mut tx, action_name, outcome, now)
                    .await?;
            }
            let end = ActionEnd {
                status: outcome.status.as_str().to_owned(),
                summary: outcome.summary.clone(),
                error_code: outcome.error_code.clone(),
                output_artifacts: Some(Value::Array(
                    outcome
                        .outputs
                        .iter()
                        .map(|(name, i)| json!({"name": name, "digest": i.digest.to_string(), "files": i.files, "bytes": i.bytes}))
                        .collect(),
                )),
                output_variables: Some(json!(outcome.variables)),
                external_url: outcome.external_url.clone(),
            };
            if !outcome.reports.is_empty() {
                let reports: Vec<(String, String)> = outcome
                    .reports
                    .iter()
                    .map(|r| (r.name.clone(), serde_json::to_string(r).unwrap_or_default()))
                    .collect();
                db::add_reports(&mut tx, &finished.action_execution_id, &reports).await?;
            }
            ends.push((finished.action_execution_id.as_str(), end));
            let decl = self.action_decl(finished.stage, finished.action);
            let state = events::action_state(outcome.status);
            let stage = self.stage_name(finished.stage);
            let detail = events::action_detail(
                &self.subject(),
                stage,
                &decl.name,
                state,
                &decl.action_type_id,
            );
            stored.push((events::ACTION_DETAIL_TYPE, detail));
        }
        // Whoever sees an action's end must also see its whole log: the buffered lines go in
        // the same transaction.
        self.inner.logs.store_in(&mut tx).await?;
        let ends: Vec<(&str, &ActionEnd)> = ends.iter().map(|(id, end)| (*id, end)).collect();
        db::finish_action_executions(&mut tx, &ends, now).await?;
        self.inner
            .emit_all(&mut tx, &self.subject(), stored)
            .await?;
        tx.commit().await.map_err(db::Error::from)?;
        self.inner.published();
        Ok(())
    }

    async fn record_outputs(
        &self,
        conn: &mut SqliteConnection,
        action: &str,
        outcome: &Outcome,
        now: i64,
    ) -> Result<()> {
        for (name, ingested) in &outcome.outputs {
            let row = db::ArtifactRow {
                execution_id: self.ctx.id.clone(),
                name: name.clone(),
                digest: ingested.digest.to_string(),
                files: ingested.files as i64,
                bytes: ingested.bytes as i64,
            };
            db::add_artifact(conn, &row).await?;
        }
        if let Some(revision) = &outcome.revision {
            let row = db::RevisionRow {
                execution_id: self.ctx.id.clone(),
                action: action.to_owned(),
                artifact: revision.artifact.clone(),
                revision_id: revision.revision_id.clone(),
                summary: revision.summary.clone(),
                url: revision.url.clone(),
                created_ms: now,
                author: revision.author.clone(),
            };
            db::add_revision(conn, &row).await?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn record_action_end(
        &self,
        conn: &mut SqliteConnection,
        stage: usize,
        action: usize,
        action_execution_id: &str,
        end: &ActionEnd,
        status: ActionStatus,
        now: i64,
    ) -> Result<()> {
        let decl = self.action_decl(stage, action);
        db::finish_action_execution(conn, action_execution_id, end, now).await?;
        let detail = events::action_detail(
            &self.subject(),
            self.stage_name(stage),
            &decl.name,
            events::action_state(status),
            &decl.action_type_id,
        );
        self.inner
            .emit(conn, events::ACTION_DETAIL_TYPE, &self.subject(), detail)
            .await?;
        Ok(())
    }
}

/// Tries a write up to `WRITE_ATTEMPTS` times, `WRITE_RETRY_DELAY` apart; the last error when it
/// still fails.
async fn retry_write<T, F, Fut>(mut write: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut attempt = 1;
    loop {
        match write().await {
            Err(_) if attempt < WRITE_ATTEMPTS => {
                attempt += 1;
                tokio::time::sleep(WRITE_RETRY_DELAY).await;
            }
            result => return result,
        }
    }
}

/// A rule ready to evaluate.
struct PreparedRule {
    rule: RuleDeclaration,
    settings: Option<crate::settings::RuleSettings>,
    inputs: Vec<(String, Digest)>,
    /// Found before evaluation (an unresolvable variable): the rule fails with it.
    problem: Option<String>,
}

/// One run of a stage's conditions of one kind.
struct ConditionChecks {
    inner: Arc<Inner>,
    ctx: Arc<ExecutionContext>,
    stage: String,
    kind: ConditionKind,
    cancel: CancellationToken,
}

impl ConditionChecks {
    /// The result the first failed condition engages, or None when all are met.
    async fn run(
        self,
        conditions: Vec<(usize, StageFailureResult, Vec<PreparedRule>)>,
    ) -> Option<StageFailureResult> {
        for (index, result, rules) in conditions {
            for rule in rules {
                if self.cancel.is_cancelled() {
                    return None;
                }
                if !self.evaluate(index, rule).await {
                    return Some(result);
                }
            }
        }
        None
    }

    /// Records and evaluates one rule; true when it passes.
    async fn evaluate(&self, condition_index: usize, prepared: PreparedRule) -> bool {
        let id = uuid::Uuid::new_v4().to_string();
        let kind = rules::rule_kind(&prepared.rule, prepared.settings.as_ref());
        let row = db::RuleExecutionRow {
            id: id.clone(),
            execution_id: self.ctx.id.clone(),
            pipeline: self.ctx.pipeline.clone(),
            stage: self.stage.clone(),
            condition_type: self.kind.as_str().to_owned(),
            condition_index: condition_index as i64,
            rule: prepared.rule.name.clone(),
            status: "InProgress".to_owned(),
            summary: None,
            simulated: matches!(kind, Some(rules::RuleKind::Simulated { .. })),
            started_ms: self.inner.clock.now_ms(),
            ended_ms: None,
        };
        if let Err(error) = self
            .record(|tx| Box::pin(async move { db::insert_rule_execution(tx, &row).await }))
            .await
        {
            eprintln!("pipewright: {error}");
        }
        let (passes, summary) = match (&prepared.problem, kind) {
            (Some(problem), _) => (false, problem.clone()),
            (None, None) => (
                false,
                format!(
                    "{} rules have no local evaluator; map {}/{} under rules: in the local settings",
                    prepared.rule.rule_type_id.provider, self.stage, prepared.rule.name
                ),
            ),
            (None, Some(rules::RuleKind::Simulated { passes })) => (
                passes,
                format!(
                    "Simulated (local settings): {}",
                    if passes { "passes" } else { "fails" }
                ),
            ),
            (None, Some(rules::RuleKind::VariableCheck)) => {
                let config = |key: &str| {
                    prepared
                        .rule
                        .configuration
                        .as_ref()
                        .and_then(|c| c.get(key))
                        .cloned()
                        .unwrap_or_default()
                };
                match rules::variable_check(
                    &config("Variable"),
                    &config("Operator"),
                    &config("Value"),
                ) {
                    Ok(verdict) => verdict,
                    Err(message) => (false, message),
                }
            }
            (None, Some(rules::RuleKind::Commands | rules::RuleKind::MappedCommands)) => {
                self.run_commands(&id, prepared).await
            }
        };
        let status = if self.cancel.is_cancelled() {
            "Abandoned"
        } else if passes {
            "Succeeded"
        } else {
            "Failed"
        };
        let now = self.inner.clock.now_ms();
        let finished = self
            .record(|tx| {
                Box::pin(
                    async move { db::finish_rule_execution(tx, &id, status, &summary, now).await },
                )
            })
            .await;
        if let Err(error) = finished {
            eprintln!("pipewright: {error}");
        }
        passes && !self.cancel.is_cancelled()
    }

    /// A Commands rule runs like a Commands action, in a workspace of its own.
    async fn run_commands(&self, id: &str, prepared: PreparedRule) -> (bool, String) {
        let commands = match prepared.settings.and_then(|s| s.commands) {
            Some(commands) => commands,
            None => prepared.rule.commands.clone().unwrap_or_default(),
        };
        let action: Action = match serde_json::from_value(json!({
            "name": prepared.rule.name,
            "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
            "commands": commands,
        })) {
            Ok(action) => action,
            Err(error) => return (false, format!("cannot run the rule's commands: {error}")),
        };
        let workspace = match self.inner.workspaces.take() {
            Ok(workspace) => workspace,
            Err(error) => {
                return (
                    false,
                    format!("cannot create a workspace for the rule: {error}"),
                );
            }
        };
        let run = ActionRun {
            execution_id: self.ctx.id.clone(),
            action_execution_id: id.to_owned(),
            pipeline: self.ctx.pipeline.clone(),
            stage: self.stage.clone(),
            action,
            settings: None,
            aws: self.ctx.settings.aws.clone(),
            stored: crate::stored_values::ValueSources {
                local: self.ctx.settings.stored_values(),
                remote: None,
            },
            secret_env: Vec::new(),
            inputs: prepared.inputs,
            workspace: workspace.clone(),
            env: vec![
                ("CODEPIPELINE_EXECUTION_ID".to_owned(), self.ctx.id.clone()),
                (crate::process::ENGINE_ENV.to_owned(), self.inner.id.clone()),
                (crate::process::ACTION_ENV.to_owned(), id.to_owned()),
            ],
            log: self.inner.logs.action(id, 0),
            cancel: self.cancel.child_token(),
            timeout: prepared
                .rule
                .timeout_in_minutes
                .map(|m| Duration::from_secs(u64::from(m) * 60)),
            approval: None,
            place: crate::containers::Place::Host,
            engine_id: self.inner.id.clone(),
            revision: None,
        };
        let outcome = runners::run(&self.inner.services, run).await;
        self.inner.workspaces.give_back(workspace);
        let passes = outcome.status == ActionStatus::Succeeded;
        let summary = outcome.summary.unwrap_or_else(|| {
            if passes {
                "The commands succeeded".to_owned()
            } else {
                "The commands failed".to_owned()
            }
        });
        (passes, summary)
    }

    async fn record<F>(&self, write: F) -> Result<()>
    where
        F: for<'c> FnOnce(
            &'c mut SqliteConnection,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = db::Result<()>> + Send + 'c>,
        >,
    {
        let mut tx = self.inner.store.write().await?;
        write(&mut tx).await?;
        tx.commit().await.map_err(db::Error::from)?;
        Ok(())
    }
}

/// An action execution about to start.
/// What recording a batch of starts learnt for launching them.
struct StartFacts {
    /// Each started action's build number, when it is a CodeBuild action.
    build_numbers: Vec<Option<i64>>,
    /// The execution's source revisions so far, by artifact.
    revisions: HashMap<String, String>,
}

/// The CodeBuild project an action builds in (its ProjectName), for build numbers and ids.
fn project_of(action: &Action) -> Option<&str> {
    (action.action_type_id.provider == "CodeBuild")
        .then(|| action.config("ProjectName"))
        .flatten()
}

struct Prepared {
    stage: usize,
    action: usize,
    row: ActionExecutionRow,
    decl: Action,
    settings: Option<crate::settings::ActionSettings>,
    approval: Option<(String, i64)>,
    resolved: std::result::Result<(Action, Vec<(String, Digest)>), String>,
    /// Where its commands run; None for actions that run none; an error when no runtime is there.
    place: std::result::Result<Option<crate::containers::Place>, String>,
}

/// Settles what a dead process left: its running actions Failed (Abandoned when a stop was asked
/// for), their processes killed, its stage and execution Failed (or Stopped).
pub(crate) async fn settle_interrupted(
    conn: &mut SqliteConnection,
    inner: &Inner,
    execution: &db::ExecutionRow,
    why: &str,
) -> Result<()> {
    let now = inner.clock.now_ms();
    let stopping = execution.stop_mode.is_some();
    let subject = Subject {
        pipeline: &execution.pipeline,
        version: execution.version,
        execution_id: &execution.id,
    };
    let declaration = db::pipeline_version(conn, &execution.pipeline, Some(execution.version))
        .await?
        .and_then(|v| serde_json::from_str::<PipelineDeclaration>(&v.declaration).ok());
    for row in db::action_executions(conn, &execution.id).await? {
        if row.status != "InProgress" {
            continue;
        }
        let status = if stopping {
            ActionStatus::Abandoned
        } else {
            ActionStatus::Failed
        };
        let end = ActionEnd {
            status: status.as_str().to_owned(),
            summary: Some(why.to_owned()),
            error_code: Some("Interrupted".to_owned()),
            ..Default::default()
        };
        db::finish_action_execution(conn, &row.id, &end, now).await?;
        let type_id = declaration
            .as_ref()
            .and_then(|d| d.stage(&row.stage))
            .and_then(|s| s.action(&row.action))
            .map(|a| a.action_type_id.clone());
        if let Some(type_id) = type_id {
            let detail = events::action_detail(
                &subject,
                &row.stage,
                &row.action,
                events::action_state(status),
                &type_id,
            );
            inner
                .emit(conn, events::ACTION_DETAIL_TYPE, &subject, detail)
                .await?;
        }
    }
    let (stage_status, exec_status) = if stopping {
        (StageStatus::Stopped, ExecutionStatus::Stopped)
    } else {
        (StageStatus::Failed, ExecutionStatus::Failed)
    };
    for stage in db::stage_executions(conn, &execution.id).await? {
        if stage.status == "InProgress" || stage.status == "Stopping" {
            db::set_stage_status(
                conn,
                &execution.id,
                &stage.stage,
                stage_status.as_str(),
                now,
                true,
            )
            .await?;
            let detail = events::stage_detail(
                &subject,
                &stage.stage,
                events::stage_state(stage_status, false),
            );
            inner
                .emit(conn, events::STAGE_DETAIL_TYPE, &subject, detail)
                .await?;
        }
    }
    db::stop_waiting(conn, &execution.id).await?;
    db::set_execution_status(
        conn,
        &execution.id,
        exec_status.as_str(),
        Some(why),
        now,
        true,
    )
    .await?;
    db::set_execution_owner(conn, &execution.id, None).await?;
    let detail = events::pipeline_detail(&subject, events::execution_state(exec_status, false));
    inner
        .emit(conn, events::PIPELINE_DETAIL_TYPE, &subject, detail)
        .await?;
    Ok(())
}

/// Finds the stage an execution ended at and the statuses of its actions' latest runs, for retry.
pub(crate) async fn ended_stage(
    conn: &mut SqliteConnection,
    execution_id: &str,
    declaration: &PipelineDeclaration,
    stage_name: &str,
) -> Result<(usize, Vec<Option<ActionStatus>>)> {
    let stage_index = declaration
        .stages
        .iter()
        .position(|s| s.name == stage_name)
        .ok_or_else(|| Error::StageNotFound(stage_name.to_owned()))?;
    let rows = db::action_executions(conn, execution_id).await?;
    let statuses = declaration.stages[stage_index]
        .actions
        .iter()
        .map(|action| {
            rows.iter()
                .rev()
                .find(|r| r.stage == stage_name && r.action == action.name)
                .and_then(|r| ActionStatus::parse(&r.status))
        })
        .collect();
    Ok((stage_index, statuses))
}

pub(crate) fn workspace_root(data_dir: &std::path::Path, engine_id: &str) -> PathBuf {
    data_dir.join("work").join(engine_id)
}
