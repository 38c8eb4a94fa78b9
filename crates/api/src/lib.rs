//! The one facade every front end calls (the CLI, the desktop app's Tauri commands and the
//! CodePipeline HTTP server of `pipewright serve`): use cases over the local engine and store, returning DTOs
//! shaped like the CodePipeline API's responses, and errors with a stable code (the AWS
//! exception name where AWS has one) so front ends match codes, not prose.
//!
//! Every change made through the facade is written to the audit log: who, when, which
//! operation, its parameters and its outcome.

mod backend;
mod build_results;
pub mod dto;
mod local_settings;
mod mapping;
mod plan;
mod triggers;

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use pipewright_engine::{Engine, EngineOptions, settings::LocalSettings};
use pipewright_model::{Diagnostic, PipelineDeclaration, PipelineDocument, Severity};
use pipewright_store::{self as db, Store};
use serde_json::{Value, json};

pub use backend::{Backend, BackendFuture};
pub use build_results::{ActionReport, ListReportsOutput};
pub use dto::*;
pub use local_settings::{ActionKind, How, LocalAction, LocalSettingsForm};
pub use pipewright_engine as engine;
pub use pipewright_model as model;
pub use pipewright_store::{
    ActionExecutionRow, AuditRow, BatchBuildRow, EventFilter, ExecutionRow, RuleExecutionRow,
};
pub use plan::{PipelinePlan, PlanChange, plan};
pub use triggers::{Look, TriggeredStart};

/// An error a front end can show and match on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize, ts_rs::TS)]
#[error("{message}")]
#[ts(rename = "BackendError")]
pub struct Error {
    /// Stable: the AWS exception name where AWS has one (`PipelineNotFoundException`, ...).
    pub code: &'static str,
    pub message: String,
}

impl Error {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }
}

impl From<db::Error> for Error {
    fn from(error: db::Error) -> Self {
        Error::new("StoreError", error.to_string())
    }
}

impl From<pipewright_engine::Error> for Error {
    fn from(error: pipewright_engine::Error) -> Self {
        use pipewright_engine::Error as E;
        let code = match &error {
            E::PipelineNotFound(_) => "PipelineNotFoundException",
            E::ExecutionNotFound(_) => "PipelineExecutionNotFoundException",
            E::StageNotFound(_) => "StageNotFoundException",
            E::StageNotRetryable(_) => "StageNotRetryableException",
            E::NotLatestExecution(_) => "NotLatestPipelineExecutionException",
            E::Validation(_) => "ValidationException",
            E::CannotRollback(_) => "UnableToRollbackStageException",
            E::Store(_) | E::Corrupt(_) => "StoreError",
            E::Artifacts(_) | E::Io(_) => "InternalError",
        };
        Error::new(code, error.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Diagnostics of a pipeline: the model's rules and what the local engine can run.
#[derive(Clone, Debug, serde::Serialize, ts_rs::TS)]
pub struct ValidationReport {
    pub pipeline: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl ValidationReport {
    /// Invalid anywhere: not even the local engine runs it.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

pub fn validate(pipeline: &PipelineDeclaration, settings: &LocalSettings) -> ValidationReport {
    let mut diagnostics = pipewright_model::validate(pipeline);
    diagnostics.extend(pipewright_engine::plan::local_diagnostics(
        pipeline, settings,
    ));
    diagnostics.extend(pipewright_engine::plan::ignored_settings(
        pipeline, settings,
    ));
    ValidationReport {
        pipeline: pipeline.name.clone(),
        diagnostics,
    }
}

/// Where pipelines, executions and artifacts live when nobody says otherwise:
/// `$PIPEWRIGHT_DATA_DIR`, else `$XDG_DATA_HOME/pipewright`, else `~/.local/share/pipewright`.
/// The CLI, the desktop app and `pipewright serve` share it, so an approval given in one shows
/// in the others.
pub fn default_data_dir() -> PathBuf {
    let from_env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = from_env("PIPEWRIGHT_DATA_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = from_env("XDG_DATA_HOME") {
        return PathBuf::from(dir).join("pipewright");
    }
    from_env("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".local/share/pipewright")
}

/// Who the audit log names for a person at this machine: the user, the host and the front end
/// (`cli`, `desktop`).
pub fn local_actor(front_end: &str) -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    if host.is_empty() {
        format!("{user} ({front_end})")
    } else {
        format!("{user}@{host} ({front_end})")
    }
}

/// The facade over one data directory.
#[derive(Clone, Debug)]
pub struct Pipewright {
    engine: Engine,
    data_dir: PathBuf,
    actor: String,
}

impl Pipewright {
    /// Opens the data directory (creating it), settling executions that dead processes left.
    /// `actor` is who the audit log says made the changes.
    pub async fn open(data_dir: &Path, actor: impl Into<String>) -> Result<Self> {
        Self::open_with(EngineOptions::new(data_dir), actor).await
    }

    pub async fn open_with(options: EngineOptions, actor: impl Into<String>) -> Result<Self> {
        let data_dir = options.data_dir.clone();
        std::fs::create_dir_all(&data_dir).map_err(|e| {
            Error::new(
                "InternalError",
                format!(
                    "cannot create the data directory {}: {e}",
                    data_dir.display()
                ),
            )
        })?;
        let store = Store::open(&data_dir.join("pipewright.db")).await?;
        let engine = Engine::open(store, options).await?;
        Ok(Pipewright {
            engine,
            data_dir,
            actor: actor.into(),
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn store(&self) -> &Store {
        self.engine.store()
    }

    fn now(&self) -> i64 {
        self.engine.clock().now_ms()
    }

    /// Unregisters this process's engine; call before exiting.
    pub async fn close(&self) -> Result<()> {
        Ok(self.engine.close().await?)
    }

    /// Records an API call in the audit log and passes its result through.
    async fn audited<T>(
        &self,
        operation: &str,
        pipeline: Option<&str>,
        parameters: Value,
        result: Result<T>,
    ) -> Result<T> {
        let (outcome, message) = match &result {
            Ok(_) => ("ok".to_owned(), None),
            Err(error) => (error.code.to_owned(), Some(error.message.clone())),
        };
        let row = db::AuditRow {
            seq: 0,
            time_ms: self.now(),
            actor: self.actor.clone(),
            operation: operation.to_owned(),
            pipeline: pipeline.map(str::to_owned),
            parameters: parameters.to_string(),
            outcome,
            message,
        };
        let mut tx = self.store().write().await?;
        db::append_audit(&mut tx, &row).await?;
        tx.commit()
            .await
            .map_err(|e| Error::new("StoreError", e.to_string()))?;
        result
    }

    /// Registers a pipeline, or a new version of it. Refuses a pipeline with errors. The tags of a
    /// `create-pipeline` document are set on it (other tags stay).
    pub async fn import(
        &self,
        document: &PipelineDocument,
        settings: Option<&LocalSettings>,
    ) -> Result<(String, i64)> {
        let pipeline = &document.pipeline;
        let tags = document.tags();
        let result = self.import_inner(pipeline, settings, &tags).await;
        let parameters =
            json!({"pipeline": pipeline.name, "settings": settings.is_some(), "tags": tags.len()});
        let operation = "UpdatePipeline";
        self.audited(operation, Some(&pipeline.name), parameters, result)
            .await
    }

    /// Imports the document unless the latest stored version is the same declaration with the
    /// same settings, so running or pulling the same file again does not pile up identical
    /// versions; the name and the version to use.
    pub async fn import_if_changed(
        &self,
        document: &PipelineDocument,
        settings: Option<&LocalSettings>,
    ) -> Result<(String, i64)> {
        let name = &document.pipeline.name;
        if let Ok((stored, stored_settings, version)) = self.pipeline_version(name, None).await {
            let mut incoming = document.pipeline.clone();
            incoming.version = stored.version;
            if stored == incoming
                && &stored_settings == settings.unwrap_or(&LocalSettings::default())
            {
                return Ok((name.clone(), version));
            }
        }
        self.import(document, settings).await
    }

    async fn import_inner(
        &self,
        pipeline: &PipelineDeclaration,
        settings: Option<&LocalSettings>,
        tags: &[(String, String)],
    ) -> Result<(String, i64)> {
        refuse_errors(pipeline, settings)?;
        check_tags(tags)?;
        let declaration = serde_json::to_string(pipeline)
            .map_err(|e| Error::new("InternalError", e.to_string()))?;
        let settings = settings.map(|s| serde_json::to_string(s).unwrap_or_default());
        let mut tx = self.store().write().await?;
        let version = db::add_pipeline_version(
            &mut tx,
            &pipeline.name,
            &declaration,
            settings.as_deref(),
            &self.actor,
            self.now(),
        )
        .await?;
        add_tags(&mut tx, &pipeline.name, tags).await?;
        tx.commit()
            .await
            .map_err(|e| Error::new("StoreError", e.to_string()))?;
        Ok((pipeline.name.clone(), version))
    }

    /// CreatePipeline: stores a pipeline under a name no pipeline has yet, without local settings,
    /// with its tags.
    pub async fn create_pipeline(
        &self,
        pipeline: &PipelineDeclaration,
        tags: &[(String, String)],
    ) -> Result<(String, i64)> {
        let result = async {
            check_tags(tags)?;
            refuse_errors(pipeline, None)?;
            let declaration = serde_json::to_string(pipeline)
                .map_err(|e| Error::new("InternalError", e.to_string()))?;
            // The name is checked and taken in one write transaction, so two creates of one name
            // cannot both succeed.
            let mut tx = self.store().write().await?;
            if db::pipeline(&mut tx, &pipeline.name).await?.is_some() {
                return Err(Error::new(
                    "PipelineNameInUseException",
                    format!("a pipeline named {} exists already", pipeline.name),
                ));
            }
            let version = db::add_pipeline_version(
                &mut tx,
                &pipeline.name,
                &declaration,
                None,
                &self.actor,
                self.now(),
            )
            .await?;
            add_tags(&mut tx, &pipeline.name, tags).await?;
            tx.commit()
                .await
                .map_err(|e| Error::new("StoreError", e.to_string()))?;
            Ok((pipeline.name.clone(), version))
        }
        .await;
        let parameters = json!({"pipeline": pipeline.name, "tags": tags.len()});
        self.audited("CreatePipeline", Some(&pipeline.name), parameters, result)
            .await
    }

    /// DeletePipeline: the pipeline, its versions, executions and tags (nothing, without an error,
    /// when there is no such pipeline). Refused while one of its executions runs (stop it first),
    /// so no process drives an execution that is gone.
    pub async fn delete_pipeline(&self, name: &str) -> Result<()> {
        let result = async {
            let mut tx = self.store().write().await?;
            if db::has_running_executions(&mut tx, name).await? {
                return Err(Error::new(
                    "ConflictException",
                    format!(
                        "{name} has executions that have not ended; stop them before deleting it"
                    ),
                ));
            }
            // Deleting what is not there succeeds, as on AWS: a clean-up may run twice.
            db::delete_pipeline(&mut tx, name).await?;
            tx.commit()
                .await
                .map_err(|e| Error::new("StoreError", e.to_string()))?;
            Ok(())
        }
        .await;
        self.audited("DeletePipeline", Some(name), json!({"name": name}), result)
            .await
    }

    /// The tags of the pipeline an ARN names (`arn:aws:codepipeline:REGION:ACCOUNT:NAME`).
    pub async fn list_tags(&self, arn: &str) -> Result<Vec<(String, String)>> {
        let name = self.tagged_pipeline(arn).await?;
        let mut conn = self.conn().await?;
        Ok(db::tags(&mut conn, &name).await?)
    }

    pub async fn tag_resource(&self, arn: &str, tags: &[(String, String)]) -> Result<()> {
        let result = async {
            check_tags(tags)?;
            let name = self.tagged_pipeline(arn).await?;
            let mut tx = self.store().write().await?;
            add_tags(&mut tx, &name, tags).await?;
            tx.commit()
                .await
                .map_err(|e| Error::new("StoreError", e.to_string()))?;
            Ok(())
        }
        .await;
        let parameters = json!({"resourceArn": arn, "tags": tags.len()});
        self.audited("TagResource", None, parameters, result).await
    }

    pub async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<()> {
        let result = async {
            let name = self.tagged_pipeline(arn).await?;
            let mut tx = self.store().write().await?;
            db::remove_tags(&mut tx, &name, keys).await?;
            tx.commit()
                .await
                .map_err(|e| Error::new("StoreError", e.to_string()))?;
            Ok(())
        }
        .await;
        let parameters = json!({"resourceArn": arn, "tagKeys": keys});
        self.audited("UntagResource", None, parameters, result)
            .await
    }

    /// The name of the stored pipeline an ARN names.
    async fn tagged_pipeline(&self, arn: &str) -> Result<String> {
        let parts: Vec<&str> = arn.split(':').collect();
        let name = match parts.as_slice() {
            ["arn", _, "codepipeline", _, _, name] if !name.is_empty() => *name,
            _ => {
                return Err(Error::new(
                    "InvalidArnException",
                    format!(
                        "{arn} is not the ARN of a pipeline (arn:aws:codepipeline:REGION:ACCOUNT:NAME)"
                    ),
                ));
            }
        };
        match self.stored_settings(name).await? {
            Some(_) => Ok(name.to_owned()),
            None => Err(Error::new(
                "ResourceNotFoundException",
                format!("no pipeline {name} for {arn}"),
            )),
        }
    }

    /// UpdatePipeline: saves a new version of a stored pipeline from an edited declaration; the
    /// local settings of the latest version stay as they are.
    pub async fn update_pipeline(&self, pipeline: &PipelineDeclaration) -> Result<(String, i64)> {
        let result = match self.stored_settings(&pipeline.name).await {
            Ok(Some(settings)) => self.import_inner(pipeline, Some(&settings), &[]).await,
            Ok(None) => Err(not_found(&pipeline.name)),
            Err(error) => Err(error),
        };
        let parameters = json!({"pipeline": pipeline.name});
        self.audited("UpdatePipeline", Some(&pipeline.name), parameters, result)
            .await
    }

    /// The diagnostics of a declaration being edited, against the local settings of the stored
    /// pipeline of that name (none when there is no such pipeline yet).
    pub async fn validate_draft(&self, pipeline: &PipelineDeclaration) -> Result<ValidationReport> {
        let settings = self
            .stored_settings(&pipeline.name)
            .await?
            .unwrap_or_default();
        Ok(validate(pipeline, &settings))
    }

    /// The local settings of the latest version of a stored pipeline; None when there is no
    /// pipeline of that name.
    async fn stored_settings(&self, name: &str) -> Result<Option<LocalSettings>> {
        match self.pipeline_version(name, None).await {
            Ok((_, settings, _)) => Ok(Some(settings)),
            Err(error) if error.code == "PipelineNotFoundException" => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The status of every stage an execution reached, in the order it reached them (its latest
    /// attempt at each). Not in AWS's GetPipelineExecution; the monitor shows it for any execution.
    pub async fn stage_statuses(&self, execution_id: &str) -> Result<Vec<StageExecutionStatus>> {
        let mut conn = self.conn().await?;
        let mut statuses: Vec<StageExecutionStatus> = Vec::new();
        for row in db::stage_executions(&mut conn, execution_id).await? {
            match statuses.iter_mut().find(|s| s.stage_name == row.stage) {
                Some(seen) => seen.status = row.status,
                None => statuses.push(StageExecutionStatus {
                    stage_name: row.stage,
                    status: row.status,
                }),
            }
        }
        Ok(statuses)
    }

    /// The stored declaration and local settings of a version (the latest when None).
    pub async fn pipeline_version(
        &self,
        name: &str,
        version: Option<i64>,
    ) -> Result<(PipelineDeclaration, LocalSettings, i64)> {
        let mut conn = self.conn().await?;
        read_version(&mut conn, name, version).await
    }

    async fn conn(&self) -> Result<sqlx_pool::Conn> {
        sqlx_pool::acquire(self.store()).await
    }

    pub async fn get_pipeline(
        &self,
        name: &str,
        version: Option<i64>,
    ) -> Result<GetPipelineOutput> {
        let mut conn = self.conn().await?;
        let (mut pipeline, _, number) = read_version(&mut conn, name, version).await?;
        pipeline.version = Some(number as u32);
        let row = db::pipeline(&mut conn, name)
            .await?
            .ok_or_else(|| not_found(name))?;
        Ok(GetPipelineOutput {
            pipeline,
            metadata: PipelineMetadata {
                pipeline_arn: pipewright_engine::events::pipeline_arn(name),
                created: Timestamp(row.created_ms),
                updated: Timestamp(row.updated_ms),
            },
        })
    }

    pub async fn list_pipelines(&self) -> Result<ListPipelinesOutput> {
        let mut pipelines = self.pipeline_summaries().await?;
        let mut conn = self.conn().await?;
        for pipeline in &mut pipelines {
            let Some(execution) = db::executions(&mut conn, &pipeline.name, 1)
                .await?
                .into_iter()
                .next()
            else {
                continue;
            };
            let Some(version) =
                db::pipeline_version(&mut conn, &pipeline.name, Some(execution.version)).await?
            else {
                continue;
            };
            let declaration: PipelineDeclaration = serde_json::from_str(&version.declaration)
                .map_err(|e| Error::new("StoreError", e.to_string()))?;
            pipeline.latest_execution =
                Some(mapping::execution_summary(&mut conn, &execution, &declaration).await?);
        }
        Ok(ListPipelinesOutput { pipelines })
    }

    /// ListPipelines as AWS answers it: every pipeline's name, version, type, execution mode and
    /// times, without the latest execution that `list_pipelines` adds for the app.
    pub async fn pipeline_summaries(&self) -> Result<Vec<PipelineSummary>> {
        let mut conn = self.conn().await?;
        Ok(db::pipeline_summaries(&mut conn)
            .await?
            .into_iter()
            .map(|row| PipelineSummary {
                name: row.name,
                version: row.latest_version,
                // What AWS assumes where the declaration does not say.
                pipeline_type: row
                    .pipeline_type
                    .unwrap_or_else(|| pipewright_model::PipelineType::V1.to_string()),
                execution_mode: row
                    .execution_mode
                    .unwrap_or_else(|| pipewright_model::ExecutionMode::Superseded.to_string()),
                created: Timestamp(row.created_ms),
                updated: Timestamp(row.updated_ms),
                latest_execution: None,
            })
            .collect())
    }

    /// Starts an execution driven by this process; returns its id.
    pub async fn start(
        &self,
        name: &str,
        variables: &IndexMap<String, String>,
        client_token: Option<&str>,
    ) -> Result<String> {
        self.start_with(name, variables, client_token, &IndexMap::new(), None)
            .await
    }

    /// Starts an execution with `sourceRevisions` (commits source actions read instead of their
    /// branch heads) and, for a local trigger, its trigger type and detail (by default,
    /// StartPipelineExecution by this actor).
    pub async fn start_with(
        &self,
        name: &str,
        variables: &IndexMap<String, String>,
        client_token: Option<&str>,
        source_revisions: &IndexMap<String, pipewright_engine::SourceRevision>,
        trigger: Option<(&str, &str)>,
    ) -> Result<String> {
        let result = async {
            let (declaration, settings, _) = self.pipeline_version(name, None).await?;
            let blocking: Vec<Diagnostic> =
                pipewright_engine::plan::local_diagnostics(&declaration, &settings);
            if let Some(first) = blocking.first() {
                return Err(Error::new(
                    "ValidationException",
                    format!(
                        "{} cannot run locally: {} ({})",
                        name,
                        first.message,
                        blocking.len()
                    ),
                ));
            }
            let start = pipewright_engine::Start {
                trigger: match trigger {
                    Some((kind, detail)) => (kind, Some(detail)),
                    None => ("StartPipelineExecution", Some(self.actor.as_str())),
                },
                client_token,
                source_revisions: source_revisions.clone(),
            };
            Ok(self.engine.start(name, None, variables, start).await?)
        }
        .await;
        let mut parameters =
            json!({"name": name, "variables": variables, "clientRequestToken": client_token});
        if !source_revisions.is_empty() {
            parameters["sourceRevisions"] = json!(
                source_revisions
                    .iter()
                    .map(|(name, r)| (name.clone(), r.revision.clone()))
                    .collect::<IndexMap<_, _>>()
            );
        }
        if let Some((kind, detail)) = trigger {
            parameters["trigger"] = json!({"triggerType": kind, "triggerDetail": detail});
        }
        self.audited("StartPipelineExecution", Some(name), parameters, result)
            .await
    }

    pub async fn get_pipeline_state(&self, name: &str) -> Result<GetPipelineStateOutput> {
        let mut conn = self.conn().await?;
        let (declaration, settings, version) = read_version(&mut conn, name, None).await?;
        let row = db::pipeline(&mut conn, name)
            .await?
            .ok_or_else(|| not_found(name))?;
        mapping::pipeline_state(&mut conn, &declaration, &settings, version, &row).await
    }

    pub async fn list_executions(
        &self,
        name: &str,
        limit: i64,
    ) -> Result<ListPipelineExecutionsOutput> {
        self.pipeline_version(name, None).await?;
        let mut conn = self.conn().await?;
        let mut summaries = Vec::new();
        // Each execution is described by the version it ran (its execution mode, for one).
        let mut versions: std::collections::HashMap<i64, PipelineDeclaration> = Default::default();
        for execution in db::executions(&mut conn, name, limit).await? {
            if let std::collections::hash_map::Entry::Vacant(slot) =
                versions.entry(execution.version)
            {
                slot.insert(
                    self.pipeline_version(name, Some(execution.version))
                        .await?
                        .0,
                );
            }
            let declaration = &versions[&execution.version];
            summaries.push(mapping::execution_summary(&mut conn, &execution, declaration).await?);
        }
        Ok(ListPipelineExecutionsOutput {
            pipeline_execution_summaries: summaries,
        })
    }

    /// The newest execution of a pipeline, if any.
    pub async fn latest_execution_id(&self, name: &str) -> Result<Option<String>> {
        self.pipeline_version(name, None).await?;
        let mut conn = self.conn().await?;
        Ok(db::executions(&mut conn, name, 1)
            .await?
            .into_iter()
            .next()
            .map(|e| e.id))
    }

    pub async fn get_execution(
        &self,
        name: &str,
        execution_id: &str,
    ) -> Result<GetPipelineExecutionOutput> {
        // An unknown pipeline is named as such, before its execution is looked for.
        self.pipeline_version(name, None).await?;
        let mut conn = self.conn().await?;
        let execution = execution_of(&mut conn, name, execution_id).await?;
        let (declaration, _, _) = self.pipeline_version(name, Some(execution.version)).await?;
        Ok(GetPipelineExecutionOutput {
            pipeline_execution: mapping::execution(&mut conn, &execution, &declaration).await?,
        })
    }

    pub async fn list_action_executions(
        &self,
        name: &str,
        execution_id: Option<&str>,
    ) -> Result<ListActionExecutionsOutput> {
        self.pipeline_version(name, None).await?;
        let mut conn = self.conn().await?;
        let rows = match execution_id {
            Some(id) => {
                execution_of(&mut conn, name, id).await?;
                let mut rows = db::action_executions(&mut conn, id).await?;
                rows.reverse();
                rows
            }
            None => db::pipeline_action_executions(&mut conn, name, 1000).await?,
        };
        let mut details = Vec::new();
        let mut lookups = mapping::Lookups::default();
        for row in rows {
            details.push(mapping::action_execution(&mut conn, &row, &mut lookups).await?);
        }
        Ok(ListActionExecutionsOutput {
            action_execution_details: details,
        })
    }

    /// PutApprovalResult: decides an approval, once, given its token.
    pub async fn put_approval_result(
        &self,
        name: &str,
        stage: &str,
        action: &str,
        token: &str,
        approved: bool,
        summary: &str,
    ) -> Result<()> {
        let result = self
            .decide(name, stage, action, token, approved, summary)
            .await;
        let parameters = json!({"pipelineName": name, "stageName": stage, "actionName": action, "token": token,
            "result": {"status": if approved { "Approved" } else { "Rejected" }, "summary": summary}});
        self.audited("PutApprovalResult", Some(name), parameters, result)
            .await
    }

    async fn decide(
        &self,
        name: &str,
        stage: &str,
        action: &str,
        token: &str,
        approved: bool,
        summary: &str,
    ) -> Result<()> {
        let (declaration, _, _) = self.pipeline_version(name, None).await?;
        let stage_decl = declaration.stage(stage).ok_or_else(|| {
            Error::new(
                "StageNotFoundException",
                format!("the pipeline {name} has no stage {stage}"),
            )
        })?;
        stage_decl.action(action).ok_or_else(|| {
            Error::new(
                "ActionNotFoundException",
                format!("the stage {stage} has no action {action}"),
            )
        })?;
        let status = if approved { "Approved" } else { "Rejected" };
        let mut tx = self.store().write().await?;
        let decision = db::ApprovalDecision {
            pipeline: name,
            stage,
            action,
            token,
            status,
            summary: Some(summary),
            by: &self.actor,
            now: self.now(),
        };
        if db::decide_approval(&mut tx, &decision).await? {
            tx.commit()
                .await
                .map_err(|e| Error::new("StoreError", e.to_string()))?;
            return Ok(());
        }
        match db::approval_by_token(&mut tx, name, stage, action, token).await? {
            None => Err(Error::new(
                "InvalidApprovalTokenException",
                format!("the token is not valid for {name}/{stage}/{action}"),
            )),
            Some(row) if row.approval_status.is_some() || row.status != "InProgress" => {
                Err(Error::new(
                    "ApprovalAlreadyCompletedException",
                    format!(
                        "the approval {stage}/{action} was already {}",
                        row.approval_status
                            .as_deref()
                            .unwrap_or(&row.status)
                            .to_lowercase()
                    ),
                ))
            }
            Some(row) if row.expires_ms.is_some_and(|expires| expires <= self.now()) => {
                Err(Error::new(
                    "ApprovalAlreadyCompletedException",
                    format!("the approval {stage}/{action} expired before it was decided"),
                ))
            }
            Some(_) => Err(Error::new(
                "InvalidApprovalTokenException",
                "the approval is not waiting",
            )),
        }
    }

    /// Approvals waiting anywhere in this data directory.
    pub async fn pending_approvals(&self) -> Result<Vec<PendingApproval>> {
        let mut conn = self.conn().await?;
        let mut out = Vec::new();
        for row in db::pending_approvals(&mut conn).await? {
            let config: IndexMap<String, String> = row
                .resolved_config
                .as_deref()
                .and_then(|c| serde_json::from_str(c).ok())
                .unwrap_or_default();
            let artifact_revisions =
                mapping::artifact_revisions(&mut conn, &row.execution_id).await?;
            out.push(PendingApproval {
                pipeline_name: row.pipeline,
                stage_name: row.stage,
                action_name: row.action,
                pipeline_execution_id: row.execution_id,
                token: row.token.unwrap_or_default(),
                waiting_since: Timestamp(row.started_ms),
                expires: row.expires_ms.map(Timestamp),
                custom_data: config.get("CustomData").cloned(),
                external_entity_link: config.get("ExternalEntityLink").cloned(),
                artifact_revisions,
            });
        }
        Ok(out)
    }

    /// StopPipelineExecution. A second stop may turn a stop-and-wait into an abandon.
    pub async fn stop(
        &self,
        name: &str,
        execution_id: &str,
        abandon: bool,
        reason: Option<&str>,
    ) -> Result<()> {
        let result = async {
            let mut tx = self.store().write().await?;
            let execution = execution_of(&mut tx, name, execution_id).await?;
            if execution.ended_ms.is_some() {
                return Err(Error::new(
                    "PipelineExecutionNotStoppableException",
                    format!(
                        "the execution {execution_id} is {} and cannot be stopped",
                        execution.status
                    ),
                ));
            }
            let recorded = db::request_stop(
                &mut tx,
                execution_id,
                if abandon { "abandon" } else { "wait" },
                reason,
            )
            .await?
                || (abandon && db::escalate_stop(&mut tx, execution_id, reason).await?);
            if !recorded {
                return Err(Error::new(
                    "DuplicatedStopRequestException",
                    format!("the execution {execution_id} is already stopping"),
                ));
            }
            tx.commit()
                .await
                .map_err(|e| Error::new("StoreError", e.to_string()))?;
            Ok(())
        }
        .await;
        let parameters = json!({"pipelineName": name, "pipelineExecutionId": execution_id, "abandon": abandon, "reason": reason});
        self.audited("StopPipelineExecution", Some(name), parameters, result)
            .await
    }

    /// RetryStageExecution; the execution resumes in this process.
    pub async fn retry(
        &self,
        name: &str,
        stage: &str,
        execution_id: &str,
        all_actions: bool,
    ) -> Result<()> {
        let result = self
            .engine
            .retry(name, stage, execution_id, all_actions)
            .await
            .map_err(Error::from);
        let parameters = json!({"pipelineName": name, "stageName": stage, "pipelineExecutionId": execution_id,
            "retryMode": if all_actions { "ALL_ACTIONS" } else { "FAILED_ACTIONS" }});
        self.audited("RetryStageExecution", Some(name), parameters, result)
            .await
    }

    /// RollbackStage: runs `stage` again with the artifacts of `target` (by default the newest
    /// execution in which the stage succeeded), as a new execution of type ROLLBACK.
    pub async fn rollback(&self, name: &str, stage: &str, target: Option<&str>) -> Result<String> {
        let result = self
            .engine
            .rollback(name, stage, target, "ManualRollback")
            .await
            .map_err(Error::from);
        let parameters =
            json!({"pipelineName": name, "stageName": stage, "targetPipelineExecutionId": target});
        self.audited("RollbackStage", Some(name), parameters, result)
            .await
    }

    /// Enable/DisableStageTransition (inbound).
    pub async fn set_transition(
        &self,
        name: &str,
        stage: &str,
        enabled: bool,
        reason: Option<&str>,
    ) -> Result<()> {
        let result = async {
            let (declaration, _, _) = self.pipeline_version(name, None).await?;
            let index = declaration
                .stages
                .iter()
                .position(|s| s.name == stage)
                .ok_or_else(|| {
                    Error::new(
                        "StageNotFoundException",
                        format!("the pipeline {name} has no stage {stage}"),
                    )
                })?;
            if index == 0 {
                return Err(Error::new(
                    "ValidationException",
                    "the first stage has no inbound transition",
                ));
            }
            let mut tx = self.store().write().await?;
            if enabled {
                db::enable_transition(&mut tx, name, stage).await?;
            } else {
                let reason = reason.filter(|r| !r.trim().is_empty()).ok_or_else(|| {
                    Error::new(
                        "ValidationException",
                        "disabling a transition needs a reason (--reason)",
                    )
                })?;
                let row = db::DisabledTransitionRow {
                    pipeline: name.to_owned(),
                    stage: stage.to_owned(),
                    reason: reason.to_owned(),
                    disabled_by: self.actor.clone(),
                    disabled_ms: self.now(),
                };
                db::disable_transition(&mut tx, &row).await?;
            }
            tx.commit()
                .await
                .map_err(|e| Error::new("StoreError", e.to_string()))?;
            Ok(())
        }
        .await;
        let operation = if enabled {
            "EnableStageTransition"
        } else {
            "DisableStageTransition"
        };
        let parameters = json!({"pipelineName": name, "stageName": stage, "transitionType": "Inbound", "reason": reason});
        self.audited(operation, Some(name), parameters, result)
            .await
    }

    pub async fn audit(&self, name: Option<&str>, limit: i64) -> Result<Vec<db::AuditRow>> {
        let mut conn = self.conn().await?;
        Ok(db::audit(&mut conn, name, limit).await?)
    }

    /// The log lines of an action execution after `after_seq`, oldest first.
    pub async fn logs(&self, action_execution_id: &str, after_seq: i64) -> Result<Vec<LogLine>> {
        let mut conn = self.conn().await?;
        let rows = db::logs(&mut conn, action_execution_id, after_seq).await?;
        Ok(rows.into_iter().map(LogLine::from).collect())
    }

    pub async fn rule_execution_rows(
        &self,
        execution_id: &str,
    ) -> Result<Vec<db::RuleExecutionRow>> {
        let mut conn = self.conn().await?;
        Ok(db::rule_executions(&mut conn, execution_id).await?)
    }

    pub async fn action_execution_rows(
        &self,
        execution_id: &str,
    ) -> Result<Vec<db::ActionExecutionRow>> {
        let mut conn = self.conn().await?;
        Ok(db::action_executions(&mut conn, execution_id).await?)
    }

    /// Stored events after `after_seq`, oldest first, each in its EventBridge shape.
    pub async fn events_after(
        &self,
        after_seq: i64,
        execution_id: Option<&str>,
    ) -> Result<Vec<(i64, Value)>> {
        self.events(
            after_seq,
            db::EventFilter {
                execution_id,
                pipeline: None,
            },
        )
        .await
    }

    /// Stored events after `after_seq` that pass `filter`, oldest first, at most 1,000 at a time.
    pub async fn events(
        &self,
        after_seq: i64,
        filter: db::EventFilter<'_>,
    ) -> Result<Vec<(i64, Value)>> {
        let mut conn = self.conn().await?;
        let rows = db::events_after(&mut conn, after_seq, filter, 1000).await?;
        rows.into_iter()
            .map(|row| Ok((row.seq, row.body()?)))
            .collect()
    }

    /// The artifacts an execution produced (or, for a rollback, ran on).
    pub async fn artifacts(&self, name: &str, execution_id: &str) -> Result<Vec<ArtifactSummary>> {
        let mut conn = self.conn().await?;
        execution_of(&mut conn, name, execution_id).await?;
        Ok(db::artifacts(&mut conn, execution_id)
            .await?
            .into_iter()
            .map(|a| ArtifactSummary {
                name: a.name,
                digest: a.digest,
                files: a.files,
                bytes: a.bytes,
            })
            .collect())
    }

    /// Writes an artifact as the zip CodePipeline keeps in S3.
    pub async fn export_artifact(
        &self,
        name: &str,
        execution_id: &str,
        artifact: &str,
        to: &Path,
    ) -> Result<ArtifactSummary> {
        let found = self
            .artifacts(name, execution_id)
            .await?
            .into_iter()
            .find(|a| a.name == artifact)
            .ok_or_else(|| {
                Error::new(
                    "ArtifactNotFoundException",
                    format!("execution {execution_id} has no artifact {artifact}"),
                )
            })?;
        let digest = found
            .digest
            .parse()
            .map_err(|e| Error::new("StoreError", format!("{e}")))?;
        // Written beside the target and renamed over it only when whole: a failed export leaves
        // whatever file was there as it was.
        let partial = to.with_file_name(format!(
            ".{}.part",
            to.file_name().unwrap_or_default().to_string_lossy()
        ));
        let cannot = |e: std::io::Error| {
            Error::new(
                "InternalError",
                format!("cannot write {}: {e}", to.display()),
            )
        };
        let file = std::fs::File::create(&partial).map_err(cannot)?;
        let written = self
            .engine
            .artifacts()
            .export_zip(&digest, file)
            .map_err(|e| Error::new("InternalError", e.to_string()))
            .and_then(|_| std::fs::rename(&partial, to).map_err(cannot));
        if written.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        written?;
        Ok(found)
    }

    /// The newest stored event's sequence number (0 when there is none).
    pub async fn last_event_seq(&self) -> Result<i64> {
        let mut conn = self.conn().await?;
        Ok(db::last_event_seq(&mut conn).await?)
    }

    /// The status of one action execution (`InProgress`, `Succeeded`, ...), or None when there
    /// is no such action execution.
    pub async fn action_execution_status(
        &self,
        action_execution_id: &str,
    ) -> Result<Option<String>> {
        let mut conn = self.conn().await?;
        Ok(db::action_execution(&mut conn, action_execution_id)
            .await?
            .map(|row| row.status))
    }

    /// Why an execution waits before a stage, when it does: the transition into the stage is
    /// disabled, or another execution is in the stage.
    pub async fn waiting(&self, execution_id: &str) -> Result<Option<Waiting>> {
        let mut conn = self.conn().await?;
        let Some(wait) = db::stage_wait(&mut conn, execution_id).await? else {
            return Ok(None);
        };
        let disabled = db::disabled_transitions(&mut conn, &wait.pipeline).await?;
        let occupants = db::stage_occupants(&mut conn, &wait.pipeline, &wait.stage).await?;
        Ok(Some(Waiting {
            transition_disabled: disabled
                .into_iter()
                .find(|t| t.stage == wait.stage)
                .map(|t| t.reason),
            occupied_by: occupants.into_iter().find(|id| id != execution_id),
            stage: wait.stage,
        }))
    }

    pub async fn execution_row(&self, execution_id: &str) -> Result<Option<db::ExecutionRow>> {
        let mut conn = self.conn().await?;
        Ok(db::execution(&mut conn, execution_id).await?)
    }

    /// Deletes finished executions beyond the newest `keep` of each pipeline and every stored
    /// artifact no remaining execution references. Executions that run or wait meanwhile keep
    /// theirs; an artifact being stored right now (in any process) makes gc keep every artifact
    /// this time, after trying for a few seconds.
    pub async fn gc(&self, keep: i64) -> Result<GcOutput> {
        let result = async {
            let artifacts = self.engine.artifacts().clone();
            let internal =
                |e: pipewright_engine::ArtifactError| Error::new("InternalError", e.to_string());
            let mut lock = None;
            for _ in 0..GC_LOCK_ATTEMPTS {
                lock = artifacts.try_lock_for_gc().map_err(internal)?;
                if lock.is_some() {
                    break;
                }
                tokio::time::sleep(GC_LOCK_RETRY).await;
            }
            // Read under the lock: an artifact stored before it is referenced by now.
            let mut tx = self.store().write().await?;
            let executions_removed = db::delete_old_executions(&mut tx, keep).await?;
            let referenced = db::referenced_digests(&mut tx).await?;
            tx.commit()
                .await
                .map_err(|e| Error::new("StoreError", e.to_string()))?;
            let Some(lock) = lock else {
                return Ok(GcOutput {
                    executions_removed,
                    artifacts_removed: 0,
                    bytes_freed: 0,
                    artifacts_kept_because_busy: true,
                });
            };
            let keep_set = referenced.iter().filter_map(|d| d.parse().ok()).collect();
            // Deleting trees is blocking work, and may take a while.
            let report = tokio::task::spawn_blocking(move || artifacts.gc(&keep_set, lock))
                .await
                .map_err(|e| Error::new("InternalError", e.to_string()))?
                .map_err(internal)?;
            Ok(GcOutput {
                executions_removed,
                artifacts_removed: report.removed,
                bytes_freed: report.bytes,
                artifacts_kept_because_busy: false,
            })
        }
        .await;
        self.audited("GarbageCollect", None, json!({"keep": keep}), result)
            .await
    }
}

/// One artifact an execution made: its content digest, and how many files and bytes it holds.
#[derive(Clone, Debug, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactSummary {
    pub name: String,
    pub digest: String,
    pub files: i64,
    pub bytes: i64,
}

/// An execution waiting to enter a stage, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    pub stage: String,
    /// The reason given when the transition into the stage was disabled.
    pub transition_disabled: Option<String>,
    /// Another execution in the stage, which this one waits for (QUEUED, PARALLEL) or replaces
    /// when that one ends (SUPERSEDED).
    pub occupied_by: Option<String>,
}

#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GcOutput {
    pub executions_removed: u64,
    pub artifacts_removed: u64,
    pub bytes_freed: u64,
    /// An action was storing an artifact (in this or another process) all the while gc tried,
    /// so no artifact was removed; run gc again.
    pub artifacts_kept_because_busy: bool,
}

/// How often, and how far apart, gc tries to take the artifact store while actions store
/// artifacts: an ingest holds it for as long as copying and hashing its files takes.
const GC_LOCK_ATTEMPTS: u32 = 30;
const GC_LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(100);

/// Refuses a declaration with errors (not even the local engine runs it), naming the first.
fn refuse_errors(pipeline: &PipelineDeclaration, settings: Option<&LocalSettings>) -> Result<()> {
    let report = validate(pipeline, settings.unwrap_or(&LocalSettings::default()));
    match report
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error)
    {
        Some(first) => Err(Error::new(
            "InvalidStructureException",
            format!("{}: {}", first.path, first.message),
        )),
        None => Ok(()),
    }
}

/// At most this many tags on a pipeline, as on AWS.
const MAX_TAGS: usize = 50;

/// Adds or updates a pipeline's tags (TagResource semantics), refusing more than AWS allows in all.
async fn add_tags(
    conn: &mut db::SqliteConnection,
    pipeline: &str,
    tags: &[(String, String)],
) -> Result<()> {
    db::set_tags(conn, pipeline, tags).await?;
    if db::tags(conn, pipeline).await?.len() > MAX_TAGS {
        return Err(Error::new(
            "TooManyTagsException",
            format!("a pipeline has at most {MAX_TAGS} tags"),
        ));
    }
    Ok(())
}

/// Tags as AWS takes them: keys of 1 to 128 characters, values of at most 256, 50 at most.
fn check_tags(tags: &[(String, String)]) -> Result<()> {
    if tags.len() > MAX_TAGS {
        return Err(Error::new(
            "TooManyTagsException",
            format!("{} tags; a pipeline has at most {MAX_TAGS}", tags.len()),
        ));
    }
    for (key, value) in tags {
        let key_length = key.chars().count();
        if key_length == 0 || key_length > 128 || value.chars().count() > 256 {
            return Err(Error::new(
                "InvalidTagsException",
                format!("the tag {key:?}: keys have 1 to 128 characters, values at most 256"),
            ));
        }
        if key.starts_with("aws:") {
            return Err(Error::new(
                "InvalidTagsException",
                format!("the tag {key:?}: keys starting with aws: are reserved"),
            ));
        }
    }
    Ok(())
}

fn not_found(name: &str) -> Error {
    Error::new(
        "PipelineNotFoundException",
        format!("the pipeline {name} does not exist (see `pipewright pipelines`)"),
    )
}

async fn execution_of(
    conn: &mut db::SqliteConnection,
    name: &str,
    execution_id: &str,
) -> Result<db::ExecutionRow> {
    db::execution(conn, execution_id)
        .await?
        .filter(|e| e.pipeline == name)
        .ok_or_else(|| {
            Error::new(
                "PipelineExecutionNotFoundException",
                format!("the pipeline {name} has no execution {execution_id}"),
            )
        })
}

/// A pooled connection, without the facade naming sqlx types in its signatures.
mod sqlx_pool {
    use super::{Error, Result};

    pub type Conn = pipewright_store::PoolConnection;

    pub async fn acquire(store: &pipewright_store::Store) -> Result<Conn> {
        store
            .acquire()
            .await
            .map_err(|e| Error::new("StoreError", e.to_string()))
    }
}

/// A stored version of a pipeline (the latest when `version` is None), read on `conn`.
async fn read_version(
    conn: &mut db::SqliteConnection,
    name: &str,
    version: Option<i64>,
) -> Result<(PipelineDeclaration, LocalSettings, i64)> {
    let row = db::pipeline_version(conn, name, version)
        .await?
        .ok_or_else(|| match version {
            Some(v) => Error::new(
                "PipelineVersionNotFoundException",
                format!("the pipeline {name} has no version {v}"),
            ),
            None => not_found(name),
        })?;
    let declaration = serde_json::from_str(&row.declaration)
        .map_err(|e| Error::new("StoreError", e.to_string()))?;
    let settings = match row.settings.as_deref() {
        Some(text) => {
            serde_json::from_str(text).map_err(|e| Error::new("StoreError", e.to_string()))?
        }
        None => LocalSettings::default(),
    };
    Ok((declaration, settings, row.version))
}
