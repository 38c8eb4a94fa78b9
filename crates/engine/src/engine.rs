//! The engine of one process: it registers itself, owns the executions it starts or resumes,
//! applies stop requests made from any process, and settles what dead processes left behind.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use pipewright_artifacts::{ArtifactStore, Handoff};
use pipewright_model::PipelineDeclaration;
use pipewright_store::{self as db, SqliteConnection, Store};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{Mutex, Notify, Semaphore, mpsc, watch};

use crate::clock::{Clock, SystemClock, rfc3339};
use crate::driver::{Driver, ExecutionContext, settle_interrupted, workspace_root};
use crate::events::{self, Subject};
use crate::logs::LogSink;
use crate::machine::{Input, Machine, Plan, StopMode};
use crate::objects::ObjectStore;
use crate::process::ProcessId;
use crate::runners::Services;
use crate::settings::LocalSettings;
use crate::status::ExecutionStatus;
use crate::{Error, Result};

/// How often the engine looks for stop requests made by other processes, and beats its heart.
const CONTROL_POLL: Duration = Duration::from_millis(200);

/// An engine whose heartbeat (written every second) is older than this is dead, where /proc
/// cannot say so directly.
const HEARTBEAT_STALE: Duration = Duration::from_secs(15);

#[derive(Clone, Debug)]
pub struct EngineOptions {
    pub data_dir: PathBuf,
    /// Actions running at once in this process (manual approvals do not count). Default: cores.
    pub max_parallel_actions: Option<usize>,
    pub clock: Option<Arc<dyn Clock>>,
    /// Forces an artifact handoff mechanism (also `PIPEWRIGHT_HANDOFF`).
    pub handoff: Option<Handoff>,
    /// Real S3, for S3 actions whose local settings say `s3: true`.
    pub objects: Option<Arc<dyn ObjectStore>>,
    /// AWS's Parameter Store and Secrets Manager, for settings with `storedValuesFromAws`.
    pub remote_values: Option<Arc<dyn crate::stored_values::RemoteValues>>,
    /// `pipewright run --host`: every action runs on this machine, whatever images the local
    /// settings give.
    pub host_only: bool,
}

impl EngineOptions {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        EngineOptions {
            data_dir: data_dir.into(),
            max_parallel_actions: None,
            clock: None,
            handoff: None,
            objects: None,
            remote_values: None,
            host_only: false,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub id: String,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub services: Services,
    pub logs: LogSink,
    pub slots: Arc<Semaphore>,
    pub workspaces: crate::workspaces::WorkspacePool,
    /// Every action on this machine (`EngineOptions::host_only`).
    pub host_only: bool,
    /// Woken whenever this process frees a stage, so its waiting executions ask again at once.
    pub stage_released: Notify,
    /// The last event sequence number this process stored.
    pub last_event: watch::Sender<i64>,
    /// The newest event stored by this process, committed or about to be.
    stored_event: std::sync::atomic::AtomicI64,
    drivers: Mutex<HashMap<String, DriverHandle>>,
    /// Stages that failed with onFailure ROLLBACK, for the engine to roll back.
    pub rollbacks: mpsc::UnboundedSender<RollbackRequest>,
    /// The rollback execution started for each failed execution, in this process.
    rolled_back: Mutex<HashMap<String, String>>,
}

#[derive(Debug)]
pub(crate) struct RollbackRequest {
    pub pipeline: String,
    pub stage: String,
    pub failed_execution: String,
    /// Answered once the rollback execution runs (or could not start), so the failed
    /// execution's driver ends only after that.
    pub started: tokio::sync::oneshot::Sender<()>,
}

#[derive(Debug)]
struct DriverHandle {
    inbox: mpsc::UnboundedSender<Input>,
    applied_stop: Option<StopMode>,
    done: watch::Receiver<bool>,
}

/// What differs between the executions an engine starts.
struct NewExecution<'a> {
    pipeline: &'a str,
    version: i64,
    execution_type: &'a str,
    trigger_type: &'a str,
    trigger_detail: Option<String>,
    /// Resolved pipeline variables, as JSON.
    variables: String,
    client_token: Option<&'a str>,
    /// What sources read instead of their branch heads, as JSON (None: nothing).
    source_revisions: Option<String>,
}

/// How an execution is started, besides its pipeline and variables.
#[derive(Clone, Debug, Default)]
pub struct Start<'a> {
    /// `triggerType` and `triggerDetail`, as ListPipelineExecutions reports them.
    pub trigger: (&'a str, Option<&'a str>),
    /// StartPipelineExecution's idempotency token.
    pub client_token: Option<&'a str>,
    /// Commits source actions read instead of their branch heads, by action name.
    pub source_revisions: IndexMap<String, SourceRevision>,
}

/// What a source action reads in one execution instead of its branch head.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceRevision {
    /// A commit id (or anything `git rev-parse` reads as a commit).
    pub revision: String,
    /// The branch it was pushed to, when a trigger saw it there: the source reports it as its
    /// BranchName. None: the branch the action's configuration names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
}

impl SourceRevision {
    pub fn commit(revision: impl Into<String>) -> SourceRevision {
        SourceRevision {
            revision: revision.into(),
            branch: None,
        }
    }
}

/// A cheap handle; clones share the engine.
#[derive(Clone, Debug)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl Inner {
    /// Stores an event in the caller's transaction.
    pub async fn emit(
        &self,
        conn: &mut SqliteConnection,
        detail_type: &'static str,
        subject: &Subject<'_>,
        detail: Value,
    ) -> Result<i64> {
        self.emit_all(conn, subject, vec![(detail_type, detail)])
            .await
    }

    /// Stores events of one execution, in order, in the caller's transaction.
    pub async fn emit_all(
        &self,
        conn: &mut SqliteConnection,
        subject: &Subject<'_>,
        events: Vec<(&'static str, Value)>,
    ) -> Result<i64> {
        let now = self.clock.now_ms();
        let time = rfc3339(now);
        let rows: Vec<db::NewEvent<'_>> = events
            .into_iter()
            .map(|(detail_type, detail)| db::NewEvent {
                time_ms: now,
                detail_type,
                pipeline: subject.pipeline,
                execution_id: Some(subject.execution_id),
                body: events::envelope(detail_type, subject, &time, detail),
            })
            .collect();
        let seq = db::append_events(conn, &rows).await?;
        self.stored_event
            .fetch_max(seq, std::sync::atomic::Ordering::SeqCst);
        Ok(seq)
    }

    /// Tells subscribers about events stored so far; called after each commit that stored
    /// events, so a subscriber woken by it finds them committed. (SQLite has one writer at a
    /// time, so every event numbered up to the newest one is committed by then.)
    pub fn published(&self) {
        let seq = self.stored_event.load(std::sync::atomic::Ordering::SeqCst);
        self.last_event.send_if_modified(|last| {
            let newer = seq > *last;
            if newer {
                *last = seq;
            }
            newer
        });
    }

    pub async fn forget(&self, execution_id: &str) {
        self.drivers.lock().await.remove(execution_id);
    }
}

impl Engine {
    pub(crate) fn from_inner(inner: Arc<Inner>) -> Engine {
        Engine { inner }
    }

    /// Opens the engine of this process over a data directory's store: registers it, settles
    /// executions that dead processes left, and starts watching for stop requests.
    pub async fn open(store: Store, options: EngineOptions) -> Result<Engine> {
        let clock = options
            .clock
            .clone()
            .unwrap_or_else(|| Arc::new(SystemClock));
        let handoff = match options.handoff {
            Some(handoff) => Some(handoff),
            None => Handoff::from_env().map_err(Error::Artifacts)?,
        };
        let artifacts = ArtifactStore::open(&options.data_dir.join("artifacts"), handoff)
            .map_err(Error::Artifacts)?;
        let id = uuid::Uuid::new_v4().to_string();
        let me = ProcessId::current();
        let now = clock.now_ms();
        let mut tx = store.write().await?;
        db::register_engine(
            &mut tx,
            &db::EngineRow {
                id: id.clone(),
                pid: me.pid,
                proc_start: me.start,
                started_ms: now,
                heartbeat_ms: now,
                pid_namespace: crate::process::pid_namespace(),
            },
        )
        .await?;
        let last = db::last_event_seq(&mut tx).await?;
        tx.commit().await.map_err(db::Error::from)?;
        let workspaces = workspace_root(&options.data_dir, &id);
        std::fs::create_dir_all(&workspaces)
            .map_err(|e| Error::Io(format!("cannot create {}: {e}", workspaces.display())))?;
        let (rollbacks, rollback_requests) = mpsc::unbounded_channel();
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let inner = Arc::new(Inner {
            id,
            store: store.clone(),
            clock: clock.clone(),
            services: Services {
                store: store.clone(),
                artifacts,
                clock: clock.clone(),
                objects: options.objects.clone(),
                cache_dir: options.data_dir.join("cache"),
                remote_values: options.remote_values.clone(),
                max_parallel: options.max_parallel_actions.unwrap_or(cores).max(1),
            },
            logs: LogSink::start(store.clone(), clock.clone()),
            slots: Arc::new(Semaphore::new(
                options.max_parallel_actions.unwrap_or(cores).max(1),
            )),
            workspaces: crate::workspaces::WorkspacePool::new(workspaces),
            host_only: options.host_only,
            stage_released: Notify::new(),
            last_event: watch::Sender::new(last),
            stored_event: std::sync::atomic::AtomicI64::new(last),
            drivers: Mutex::new(HashMap::new()),
            rollbacks,
            rolled_back: Mutex::new(HashMap::new()),
        });
        recover(&store, &inner, &options.data_dir).await?;
        tokio::spawn(control_loop(Arc::downgrade(&inner)));
        tokio::spawn(rollback_loop(Arc::downgrade(&inner), rollback_requests));
        Ok(Engine { inner })
    }

    pub fn id(&self) -> &str {
        &self.inner.id
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn artifacts(&self) -> &ArtifactStore {
        &self.inner.services.artifacts
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Changes whenever this process stores an event (the newest sequence number).
    pub fn event_watch(&self) -> watch::Receiver<i64> {
        self.inner.last_event.subscribe()
    }

    /// Starts an execution of the given version of a pipeline and drives it in this process.
    pub async fn start(
        &self,
        pipeline: &str,
        version: Option<i64>,
        overrides: &IndexMap<String, String>,
        start: Start<'_>,
    ) -> Result<String> {
        let Start {
            trigger,
            client_token,
            source_revisions,
        } = start;
        let mut tx = self.inner.store.write().await?;
        if let Some(token) = client_token
            && let Some(existing) = db::execution_by_client_token(&mut tx, pipeline, token).await?
        {
            return Ok(existing.id);
        }
        let row = db::pipeline_version(&mut tx, pipeline, version)
            .await?
            .ok_or_else(|| Error::PipelineNotFound(pipeline.to_owned()))?;
        let declaration = parse_declaration(&row.declaration)?;
        let settings = parse_settings(row.settings.as_deref())?;
        let variables = resolve_pipeline_variables(&declaration, overrides)?;
        check_source_revisions(&declaration, &source_revisions)?;
        let new = NewExecution {
            pipeline,
            version: row.version,
            execution_type: "STANDARD",
            trigger_type: trigger.0,
            trigger_detail: trigger.1.map(str::to_owned),
            variables: serde_json::to_string(&variables).unwrap_or_default(),
            client_token,
            source_revisions: (!source_revisions.is_empty())
                .then(|| serde_json::to_string(&source_revisions).unwrap_or_default()),
        };
        let id = self.record_new_execution(&mut tx, new).await?;
        tx.commit().await.map_err(db::Error::from)?;
        self.inner.published();
        let ctx = Arc::new(ExecutionContext {
            id: id.clone(),
            pipeline: pipeline.to_owned(),
            version: row.version,
            declaration: Arc::new(declaration.clone()),
            settings: Arc::new(settings),
            variables,
            source_revisions: Arc::new(source_revisions),
        });
        let machine = Machine::new(Plan::new(&declaration));
        self.spawn(ctx, machine, Input::Start, false, None).await;
        Ok(id)
    }

    /// Retries a failed or stopped stage of an execution (RetryStageExecution): the execution
    /// resumes in this process.
    pub async fn retry(
        &self,
        pipeline: &str,
        stage: &str,
        execution_id: &str,
        all_actions: bool,
    ) -> Result<()> {
        let mut tx = self.inner.store.write().await?;
        let execution = db::execution(&mut tx, execution_id)
            .await?
            .filter(|e| e.pipeline == pipeline)
            .ok_or_else(|| Error::ExecutionNotFound(execution_id.to_owned()))?;
        let version = db::pipeline_version(&mut tx, pipeline, Some(execution.version))
            .await?
            .ok_or_else(|| Error::PipelineNotFound(pipeline.to_owned()))?;
        let declaration = parse_declaration(&version.declaration)?;
        if declaration.stage(stage).is_none() {
            return Err(Error::StageNotFound(stage.to_owned()));
        }
        let stages = db::stage_executions(&mut tx, execution_id).await?;
        let stage_row = stages.iter().find(|s| s.stage == stage);
        let status = ExecutionStatus::parse(&execution.status).unwrap_or(ExecutionStatus::Failed);
        // An execution with an owner is being driven (a retry from another terminal got there
        // first, or it is still winding down): it is not retryable now.
        let retryable = matches!(status, ExecutionStatus::Failed | ExecutionStatus::Stopped)
            && execution.owner.is_none()
            && stage_row.is_some_and(|s| s.status == "Failed" || s.status == "Stopped");
        if !retryable {
            return Err(Error::StageNotRetryable(format!(
                "stage {stage} of execution {execution_id} is not failed or stopped (the execution is {})",
                execution.status
            )));
        }
        let latest = db::latest_stage_executions(&mut tx, pipeline).await?;
        if latest
            .iter()
            .any(|s| s.stage == stage && s.execution_id != execution_id)
        {
            return Err(Error::NotLatestExecution(format!(
                "a newer execution has run stage {stage} since {execution_id}; only the latest execution of a stage can retry it"
            )));
        }
        let (index, statuses) =
            crate::driver::ended_stage(&mut tx, execution_id, &declaration, stage).await?;
        // Claimed in the same transaction that checked it, so two retries cannot both win.
        db::set_execution_owner(&mut tx, execution_id, Some(&self.inner.id)).await?;
        let now = self.inner.clock.now_ms();
        let in_progress = ExecutionStatus::InProgress.as_str();
        db::set_execution_status(&mut tx, execution_id, in_progress, None, now, false).await?;
        db::clear_stop(&mut tx, execution_id).await?;
        tx.commit().await.map_err(db::Error::from)?;
        let ctx = Arc::new(ExecutionContext {
            id: execution_id.to_owned(),
            pipeline: pipeline.to_owned(),
            version: execution.version,
            declaration: Arc::new(declaration.clone()),
            settings: Arc::new(parse_settings(version.settings.as_deref())?),
            variables: execution.variables()?,
            source_revisions: Arc::new(source_revisions_of(&execution)?),
        });
        let machine = Machine::ended_at(Plan::new(&declaration), status, index, statuses);
        self.spawn(
            ctx,
            machine,
            Input::Retry {
                stage: index,
                all_actions,
            },
            true,
            Some(execution_id.to_owned()),
        )
        .await;
        Ok(())
    }

    /// RollbackStage: a new execution (type ROLLBACK) runs `stage` again with the artifacts and
    /// variables of `target`, by default the newest execution in which the stage succeeded.
    /// As on AWS: a source stage is not rolled back, and the target is a standard execution
    /// started in the current version of the pipeline.
    pub async fn rollback(
        &self,
        pipeline: &str,
        stage: &str,
        target: Option<&str>,
        trigger: &str,
    ) -> Result<String> {
        let mut tx = self.inner.store.write().await?;
        let current = db::pipeline_version(&mut tx, pipeline, None)
            .await?
            .ok_or_else(|| Error::PipelineNotFound(pipeline.to_owned()))?;
        let declaration = parse_declaration(&current.declaration)?;
        let index = declaration
            .stages
            .iter()
            .position(|s| s.name == stage)
            .ok_or_else(|| Error::StageNotFound(stage.to_owned()))?;
        if declaration.stages[index]
            .actions
            .iter()
            .any(|a| a.action_type_id.category == pipewright_model::ActionCategory::Source)
        {
            return Err(Error::CannotRollback(format!(
                "{stage} is a source stage, and a source stage cannot be rolled back"
            )));
        }
        let target = match target {
            Some(id) => {
                let target = db::execution(&mut tx, id)
                    .await?
                    .filter(|e| e.pipeline == pipeline)
                    .ok_or_else(|| Error::ExecutionNotFound(id.to_owned()))?;
                if target.execution_type == "ROLLBACK" {
                    return Err(Error::CannotRollback(format!(
                        "execution {id} is itself a rollback; roll back to a standard execution"
                    )));
                }
                if target.version != current.version {
                    return Err(Error::CannotRollback(format!(
                        "execution {id} ran version {} of {pipeline}; a rollback targets an execution of the current version, {}",
                        target.version, current.version
                    )));
                }
                target
            }
            None => {
                let mut found = None;
                for execution in db::executions(&mut tx, pipeline, 1000).await? {
                    if execution.execution_type == "ROLLBACK"
                        || execution.version != current.version
                    {
                        continue;
                    }
                    let stages = db::stage_executions(&mut tx, &execution.id).await?;
                    if stages
                        .iter()
                        .any(|s| s.stage == stage && s.status == "Succeeded")
                    {
                        found = Some(execution);
                        break;
                    }
                }
                found.ok_or_else(|| {
                    Error::CannotRollback(format!(
                        "no earlier execution of {pipeline} version {} completed stage {stage}",
                        current.version
                    ))
                })?
            }
        };
        let stages = db::stage_executions(&mut tx, &target.id).await?;
        if !stages
            .iter()
            .any(|s| s.stage == stage && s.status == "Succeeded")
        {
            return Err(Error::CannotRollback(format!(
                "stage {stage} did not succeed in execution {}",
                target.id
            )));
        }
        let new = NewExecution {
            pipeline,
            version: target.version,
            execution_type: "ROLLBACK",
            trigger_type: trigger,
            trigger_detail: Some(target.id.clone()),
            variables: target.variables.clone(),
            client_token: None,
            source_revisions: target.source_revisions.clone(),
        };
        let id = self.record_new_execution(&mut tx, new).await?;
        // The rollback runs on the target's artifacts; copying the references also keeps them
        // from gc for as long as the rollback execution is kept.
        for artifact in db::artifacts(&mut tx, &target.id).await? {
            db::add_artifact(
                &mut tx,
                &db::ArtifactRow {
                    execution_id: id.clone(),
                    ..artifact
                },
            )
            .await?;
        }
        for revision in db::revisions(&mut tx, &target.id).await? {
            db::add_revision(
                &mut tx,
                &db::RevisionRow {
                    execution_id: id.clone(),
                    ..revision
                },
            )
            .await?;
        }
        tx.commit().await.map_err(db::Error::from)?;
        self.inner.published();
        let ctx = Arc::new(ExecutionContext {
            id: id.clone(),
            pipeline: pipeline.to_owned(),
            version: target.version,
            declaration: Arc::new(declaration.clone()),
            settings: Arc::new(parse_settings(current.settings.as_deref())?),
            variables: target.variables()?,
            source_revisions: Arc::new(source_revisions_of(&target)?),
        });
        let machine = Machine::rollback(Plan::new(&declaration), index);
        self.spawn(ctx, machine, Input::Start, false, Some(target.id.clone()))
            .await;
        Ok(id)
    }

    /// Stores a new execution, owned by this engine, and its STARTED event; returns its id.
    async fn record_new_execution(
        &self,
        conn: &mut SqliteConnection,
        new: NewExecution<'_>,
    ) -> Result<String> {
        let now = self.inner.clock.now_ms();
        let execution = db::ExecutionRow {
            id: uuid::Uuid::new_v4().to_string(),
            seq: db::next_counter(conn, "execution").await?,
            pipeline: new.pipeline.to_owned(),
            version: new.version,
            status: ExecutionStatus::InProgress.as_str().to_owned(),
            summary: None,
            execution_type: new.execution_type.to_owned(),
            trigger_type: new.trigger_type.to_owned(),
            trigger_detail: new.trigger_detail,
            variables: new.variables,
            client_token: new.client_token.map(str::to_owned),
            owner: Some(self.inner.id.clone()),
            stop_mode: None,
            stop_reason: None,
            started_ms: now,
            updated_ms: now,
            ended_ms: None,
            source_revisions: new.source_revisions,
        };
        db::insert_execution(conn, &execution).await?;
        let subject = Subject {
            pipeline: &execution.pipeline,
            version: execution.version,
            execution_id: &execution.id,
        };
        let detail = events::pipeline_detail(&subject, "STARTED");
        self.inner
            .emit(conn, events::PIPELINE_DETAIL_TYPE, &subject, detail)
            .await?;
        Ok(execution.id)
    }

    async fn spawn(
        &self,
        ctx: Arc<ExecutionContext>,
        machine: Machine,
        first: Input,
        resumed: bool,
        outputs_from: Option<String>,
    ) {
        let (inbox, rx) = mpsc::unbounded_channel();
        let (done_tx, done) = watch::channel(false);
        self.inner.drivers.lock().await.insert(
            ctx.id.clone(),
            DriverHandle {
                inbox,
                applied_stop: None,
                done,
            },
        );
        let mut driver = Driver::new(self.inner.clone(), ctx, machine, resumed);
        tokio::spawn(async move {
            if let Some(source) = outputs_from
                && let Err(error) = driver.load_earlier_outputs(&source).await
            {
                eprintln!("pipewright: {error}");
            }
            driver.run(first, rx).await;
            let _ = done_tx.send(true);
        });
    }

    /// The rollback execution this process started when `failed_execution` failed, if any.
    pub async fn rollback_of(&self, failed_execution: &str) -> Option<String> {
        self.inner
            .rolled_back
            .lock()
            .await
            .get(failed_execution)
            .cloned()
    }

    /// Waits until an execution this process drives has settled (its actions included).
    pub async fn finished(&self, execution_id: &str) {
        let done = self
            .inner
            .drivers
            .lock()
            .await
            .get(execution_id)
            .map(|d| d.done.clone());
        if let Some(mut done) = done {
            let _ = done.wait_for(|finished| *finished).await;
        }
    }

    /// Stops every execution this process drives (abandoning running actions) and waits for
    /// them: what a Ctrl-C on `pipewright run` does.
    pub async fn stop_all(&self, reason: &str) -> Result<()> {
        let ids: Vec<String> = self.inner.drivers.lock().await.keys().cloned().collect();
        for id in &ids {
            let mut tx = self.inner.store.write().await?;
            if !db::request_stop(&mut tx, id, "abandon", Some(reason)).await? {
                db::escalate_stop(&mut tx, id, Some(reason)).await?;
            }
            tx.commit().await.map_err(db::Error::from)?;
        }
        apply_stop_requests(&self.inner).await?;
        for id in ids {
            self.finished(&id).await;
        }
        Ok(())
    }

    /// Unregisters the engine. Executions it still drives are settled by the next process.
    pub async fn close(&self) -> Result<()> {
        self.inner.logs.flush(&self.inner.store).await?;
        // Daemons an action left behind (they escaped its process group) go with the engine.
        crate::process::kill_processes_of(&self.inner.id);
        let mut tx = self.inner.store.write().await?;
        db::remove_engine(&mut tx, &self.inner.id).await?;
        tx.commit().await.map_err(db::Error::from)?;
        let _ = ArtifactStore::remove_workspace(self.inner.workspaces.root());
        Ok(())
    }
}

fn parse_declaration(text: &str) -> Result<PipelineDeclaration> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt(format!("stored declaration: {e}")))
}

fn parse_settings(text: Option<&str>) -> Result<LocalSettings> {
    match text {
        Some(text) => serde_json::from_str(text)
            .map_err(|e| Error::Corrupt(format!("stored local settings: {e}"))),
        None => Ok(LocalSettings::default()),
    }
}

/// The source revisions an execution was started with.
fn source_revisions_of(execution: &db::ExecutionRow) -> Result<IndexMap<String, SourceRevision>> {
    match &execution.source_revisions {
        Some(text) => serde_json::from_str(text)
            .map_err(|e| Error::Corrupt(format!("stored source revisions: {e}"))),
        None => Ok(IndexMap::new()),
    }
}

/// Source revisions name source actions of git sources, as StartPipelineExecution's
/// `sourceRevisions` must (a commit id, or any revision git reads, such as a tag).
fn check_source_revisions(
    declaration: &PipelineDeclaration,
    revisions: &IndexMap<String, SourceRevision>,
) -> Result<()> {
    for (name, SourceRevision { revision, .. }) in revisions {
        let Some((_, action)) = declaration.find_action(name) else {
            return Err(Error::Validation(format!(
                "sourceRevisions names {name}, which is no action of the pipeline"
            )));
        };
        if crate::runners::runner_for(action, None) != Some(crate::runners::RunnerKind::GitSource) {
            return Err(Error::Validation(format!(
                "sourceRevisions names {name}, which is not a git source action (CodeStarSourceConnection, CodeCommit, GitHub)"
            )));
        }
        if revision.trim().is_empty() || revision.starts_with('-') {
            return Err(Error::Validation(format!(
                "sourceRevisions gives {name} the revision '{revision}', which is no commit"
            )));
        }
    }
    Ok(())
}

/// Pipeline variables with their defaults, overridden for this execution. An override must name
/// a declared variable, and a variable with no default must be given, as on AWS.
pub fn resolve_pipeline_variables(
    declaration: &PipelineDeclaration,
    overrides: &IndexMap<String, String>,
) -> Result<IndexMap<String, String>> {
    for name in overrides.keys() {
        if !declaration.variables().iter().any(|v| &v.name == name) {
            return Err(Error::Validation(format!(
                "the pipeline declares no variable named '{name}'"
            )));
        }
    }
    let mut resolved = IndexMap::new();
    for variable in declaration.variables() {
        let value = overrides
            .get(&variable.name)
            .or(variable.default_value.as_ref())
            .ok_or_else(|| {
                Error::Validation(format!(
                    "the variable '{}' has no default value; give one with --var {}=VALUE",
                    variable.name, variable.name
                ))
            })?;
        resolved.insert(variable.name.clone(), value.clone());
    }
    Ok(resolved)
}

/// Settles executions whose owning process is gone. Safe to call from any process at any time:
/// an execution whose owner still runs is never touched.
async fn recover(store: &Store, inner: &Inner, data_dir: &Path) -> Result<()> {
    let mut tx = store.write().await?;
    let engines = db::engines(&mut tx).await?;
    // An engine is dead when its process (pid and start time) is gone. Where /proc cannot tell
    // (an engine in another PID namespace, such as a container sharing the data directory, or a
    // hardened /proc), only a heartbeat older than HEARTBEAT_STALE counts: a live engine must
    // never be declared dead.
    let here = crate::process::pid_namespace();
    let proc_readable = Path::new("/proc/self/stat").exists();
    let now = inner.clock.now_ms();
    let dead: Vec<db::EngineRow> = engines
        .into_iter()
        .filter(|e| {
            let same_namespace = e.pid_namespace.is_none() || e.pid_namespace == here;
            if proc_readable && same_namespace {
                !ProcessId {
                    pid: e.pid,
                    start: e.proc_start,
                }
                .is_alive()
            } else {
                now - e.heartbeat_ms > HEARTBEAT_STALE.as_millis() as i64
            }
        })
        .collect();
    // Whatever the dead engines' actions left running goes first, so nothing keeps writing into
    // a workspace that is about to be removed.
    for engine in &dead {
        crate::process::kill_processes_of(&engine.id);
        crate::containers::remove_containers_of(&engine.id);
    }
    let live_ids: Vec<String> = db::engines(&mut tx)
        .await?
        .into_iter()
        .filter(|e| !dead.iter().any(|d| d.id == e.id))
        .map(|e| e.id)
        .collect();
    for execution in db::unfinished_executions(&mut tx).await? {
        let owner_alive = execution
            .owner
            .as_ref()
            .is_some_and(|owner| live_ids.contains(owner));
        if owner_alive {
            continue;
        }
        let pid = execution
            .owner
            .as_ref()
            .and_then(|owner| dead.iter().find(|d| &d.id == owner))
            .map(|d| d.pid.to_string())
            .unwrap_or_else(|| "unknown".to_owned());
        let why = format!(
            "Interrupted: the Pipewright process running this execution (pid {pid}) ended before it finished"
        );
        settle_interrupted(&mut tx, inner, &execution, &why).await?;
    }
    for engine in &dead {
        db::remove_engine(&mut tx, &engine.id).await?;
    }
    tx.commit().await.map_err(db::Error::from)?;
    for engine in dead {
        let dir = workspace_root(data_dir, &engine.id);
        if dir.exists() {
            let _ = ArtifactStore::remove_workspace(&dir);
        }
    }
    Ok(())
}

/// Forwards stop requests (from any process) to the drivers of this process's executions.
async fn apply_stop_requests(inner: &Inner) -> Result<()> {
    let mut drivers = inner.drivers.lock().await;
    if drivers.is_empty() {
        return Ok(());
    }
    let mut conn = inner
        .store
        .pool()
        .acquire()
        .await
        .map_err(db::Error::from)?;
    for (id, handle) in drivers.iter_mut() {
        let Some(execution) = db::execution(&mut conn, id).await? else {
            continue;
        };
        let mode = match execution.stop_mode.as_deref() {
            Some("abandon") => StopMode::Abandon,
            Some(_) => StopMode::Wait,
            None => continue,
        };
        if handle.applied_stop != Some(mode) {
            handle.applied_stop = Some(mode);
            let _ = handle.inbox.send(Input::Stop(mode));
        }
    }
    Ok(())
}

/// Starts the rollbacks that failed stages ask for, and notes on each failed execution what
/// became of its rollback.
async fn rollback_loop(
    inner: std::sync::Weak<Inner>,
    mut requests: mpsc::UnboundedReceiver<RollbackRequest>,
) {
    while let Some(request) = requests.recv().await {
        let Some(inner) = inner.upgrade() else { return };
        let engine = Engine::from_inner(inner.clone());
        let RollbackRequest {
            pipeline,
            stage,
            failed_execution,
            started,
        } = request;
        let note = match engine
            .rollback(&pipeline, &stage, None, "AutomatedRollback")
            .await
        {
            Ok(id) => {
                inner
                    .rolled_back
                    .lock()
                    .await
                    .insert(failed_execution.clone(), id.clone());
                format!("Stage {stage} failed and was rolled back in execution {id}")
            }
            Err(error) => format!("Stage {stage} failed and could not be rolled back: {error}"),
        };
        let result = async {
            let mut tx = inner.store.write().await?;
            // Only the note: a retry may already have resumed the failed execution.
            db::set_execution_summary(
                &mut tx,
                &failed_execution,
                &note,
                ExecutionStatus::Failed.as_str(),
            )
            .await?;
            tx.commit().await.map_err(db::Error::from)?;
            Ok::<(), Error>(())
        }
        .await;
        if let Err(error) = result {
            eprintln!("pipewright: {error}");
        }
        let _ = started.send(());
    }
}

async fn control_loop(inner: std::sync::Weak<Inner>) {
    let mut ticks: u32 = 0;
    loop {
        tokio::time::sleep(CONTROL_POLL).await;
        let Some(inner) = inner.upgrade() else { return };
        if let Err(error) = apply_stop_requests(&inner).await {
            eprintln!("pipewright: {error}");
        }
        ticks = ticks.wrapping_add(1);
        if ticks.is_multiple_of(5)
            && let Ok(mut tx) = inner.store.write().await
        {
            let _ = db::heartbeat(&mut tx, &inner.id, inner.clock.now_ms()).await;
            let _ = tx.commit().await;
        }
    }
}
