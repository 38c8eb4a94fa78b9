//! Data the facade returns, shaped like the CodePipeline API's responses (field names, nesting,
//! status words), so a user who knows `aws codepipeline` reads ours without a manual. Timestamps
//! print as the AWS CLI prints them (ISO 8601); the wire protocol server converts them to epoch
//! seconds.

use indexmap::IndexMap;
use pipewright_model::PipelineDeclaration;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

/// Milliseconds since the epoch, printed as an RFC 3339 time (as the AWS CLI prints it), or as
/// epoch seconds inside [`with_epoch_seconds`] (as the CodePipeline JSON protocol sends it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, TS)]
pub struct Timestamp(#[ts(type = "string")] pub i64);

thread_local! {
    static EPOCH_SECONDS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `serialize` with every [`Timestamp`] written as epoch seconds (a number with
/// milliseconds), the way the AWS JSON 1.1 protocol carries timestamps.
pub fn with_epoch_seconds<T>(serialize: impl FnOnce() -> T) -> T {
    /// Puts the flag back however `serialize` ends, a panic included.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            EPOCH_SECONDS.with(|flag| flag.set(self.0));
        }
    }
    let _restore = Restore(EPOCH_SECONDS.with(|flag| flag.replace(true)));
    serialize()
}

/// Reads both forms: epoch seconds (what AWS sends) and RFC 3339 (what the CLI prints).
impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Seconds(f64),
            Text(String),
        }
        match Either::deserialize(deserializer)? {
            Either::Seconds(seconds) => Ok(Timestamp((seconds * 1000.0).round() as i64)),
            Either::Text(text) => pipewright_engine::clock::parse_rfc3339(&text)
                .map(Timestamp)
                .ok_or_else(|| serde::de::Error::custom(format!("{text} is not an RFC 3339 time"))),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if EPOCH_SECONDS.with(std::cell::Cell::get) {
            serializer.serialize_f64(self.0 as f64 / 1000.0)
        } else {
            serializer.serialize_str(&pipewright_engine::clock::rfc3339(self.0))
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct PipelineMetadata {
    pub pipeline_arn: String,
    pub created: Timestamp,
    pub updated: Timestamp,
}

#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields = nullable)]
pub struct GetPipelineOutput {
    pub pipeline: PipelineDeclaration,
    pub metadata: PipelineMetadata,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct PipelineSummary {
    pub name: String,
    pub version: i64,
    pub pipeline_type: String,
    pub execution_mode: String,
    pub created: Timestamp,
    pub updated: Timestamp,
    /// Not in AWS's ListPipelines: the latest execution, so a list view needs one call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_execution: Option<PipelineExecutionSummary>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct ListPipelinesOutput {
    pub pipelines: Vec<PipelineSummary>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct SourceRevision {
    pub action_name: String,
    pub revision_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_summary: Option<String>,
    /// The revision's web page where its source has one (a commit on GitHub, say).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_url: Option<String>,
    /// Pipewright's addition: who made it (a git commit's author) for a source run here. AWS's
    /// revisions name no author; clients of the real API ignore a field they do not know.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_author: Option<String>,
}

impl SourceRevision {
    /// `App: 0a1b2c3 Fix the login page`, for a line of text (the CLI).
    pub fn one_line(&self) -> String {
        revision_line(
            &self.action_name,
            &self.revision_id,
            self.revision_summary.as_deref(),
            self.revision_author.as_deref(),
        )
    }
}

/// A revision as one line: what it is of, a commit's short id (any other id whole), the first
/// line of its summary, and who made it.
fn revision_line(of: &str, id: &str, summary: Option<&str>, author: Option<&str>) -> String {
    let is_commit = id.len() == 40 && id.bytes().all(|b| b.is_ascii_hexdigit());
    let id = if is_commit { &id[..7] } else { id };
    let summary = summary.and_then(|s| s.lines().next()).unwrap_or_default();
    let by = author.map(|a| format!(" (by {a})")).unwrap_or_default();
    format!("{of}: {id} {summary}").trim_end().to_owned() + &by
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct ExecutionTrigger {
    pub trigger_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger_detail: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct StopExecutionTrigger {
    pub reason: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct PipelineExecutionSummary {
    pub pipeline_execution_id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_summary: Option<String>,
    pub start_time: Timestamp,
    pub last_update_time: Timestamp,
    pub source_revisions: Vec<SourceRevision>,
    pub trigger: ExecutionTrigger,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_trigger: Option<StopExecutionTrigger>,
    pub execution_mode: String,
    pub execution_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_metadata: Option<RollbackMetadata>,
}

/// Present on executions of type ROLLBACK.
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct RollbackMetadata {
    pub rollback_target_pipeline_execution_id: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct ListPipelineExecutionsOutput {
    pub pipeline_execution_summaries: Vec<PipelineExecutionSummary>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct ResolvedPipelineVariable {
    pub name: String,
    pub resolved_value: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct ArtifactRevision {
    pub name: String,
    pub revision_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_url: Option<String>,
    /// Pipewright's addition, as in [`SourceRevision`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_author: Option<String>,
    pub created: Timestamp,
}

impl ArtifactRevision {
    /// `SourceArtifact: 0a1b2c3 Fix the login page`, for a line of text (the CLI, a notification).
    pub fn one_line(&self) -> String {
        revision_line(
            &self.name,
            &self.revision_id,
            self.revision_summary.as_deref(),
            self.revision_author.as_deref(),
        )
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct PipelineExecution {
    pub pipeline_name: String,
    pub pipeline_version: i64,
    pub pipeline_execution_id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_summary: Option<String>,
    pub artifact_revisions: Vec<ArtifactRevision>,
    pub variables: Vec<ResolvedPipelineVariable>,
    pub trigger: ExecutionTrigger,
    pub execution_mode: String,
    pub execution_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_metadata: Option<RollbackMetadata>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct GetPipelineExecutionOutput {
    pub pipeline_execution: PipelineExecution,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct TransitionState {
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_changed_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_changed_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct StageExecution {
    pub pipeline_execution_id: String,
    pub status: String,
    /// STANDARD, or ROLLBACK for a rollback execution.
    #[serde(rename = "type")]
    pub execution_type: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct ActionExecutionState {
    pub action_execution_id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    pub last_status_change: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_execution_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_details: Option<ErrorDetails>,
    /// Not in AWS: the local settings marked the action simulated.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[ts(as = "Option<bool>", optional)]
    pub simulated: bool,
    /// Not in AWS: where a local action's commands ran (`this machine`, `image NAME (podman)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub ran_on: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct ErrorDetails {
    pub code: String,
    pub message: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct ActionState {
    pub action_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_execution: Option<ActionExecutionState>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct StageState {
    pub stage_name: String,
    pub inbound_transition_state: TransitionState,
    pub action_states: Vec<ActionState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_execution: Option<StageExecution>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_entry_condition_state: Option<StageConditionState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_success_condition_state: Option<StageConditionState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_failure_condition_state: Option<StageConditionState>,
}

/// How a stage's conditions of one kind fared in its latest execution.
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct StageConditionState {
    pub latest_execution: ConditionExecution,
    pub condition_states: Vec<ConditionState>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct ConditionExecution {
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct ConditionState {
    pub latest_execution: ConditionExecution,
    pub rule_states: Vec<RuleState>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct RuleState {
    pub rule_name: String,
    pub latest_execution: RuleExecutionState,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct RuleExecutionState {
    pub rule_execution_id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    pub last_status_change: Timestamp,
    /// Not in AWS: the local settings gave the outcome.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[ts(as = "Option<bool>", optional)]
    pub simulated: bool,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct GetPipelineStateOutput {
    pub pipeline_name: String,
    pub pipeline_version: i64,
    pub stage_states: Vec<StageState>,
    pub created: Timestamp,
    pub updated: Timestamp,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct ActionExecutionDetail {
    pub pipeline_execution_id: String,
    pub action_execution_id: String,
    pub pipeline_version: i64,
    pub stage_name: String,
    pub action_name: String,
    pub start_time: Timestamp,
    pub last_update_time: Timestamp,
    pub status: String,
    pub input: ActionExecutionInput,
    pub output: ActionExecutionOutput,
    /// Not in AWS: where a local action's commands ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub ran_on: Option<String>,
    /// Not in AWS: the local settings marked the action simulated; nothing ran.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[ts(as = "Option<bool>", optional)]
    pub simulated: bool,
    /// Not in AWS (which keeps them in CodeBuild): the builds of a local batch build.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<Vec<BatchBuild>>", optional)]
    pub batch_builds: Vec<BatchBuild>,
}

/// One build of a local batch build; its id names its log.
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct BatchBuild {
    pub id: String,
    pub identifier: String,
    /// Waiting, InProgress, Succeeded, Failed or Stopped.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ran_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Timestamp>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct ActionExecutionInput {
    pub action_type_id: Value,
    pub configuration: IndexMap<String, String>,
    pub resolved_configuration: IndexMap<String, String>,
    pub input_artifacts: Vec<ArtifactDetail>,
    /// The namespace of the action's output variables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct ArtifactDetail {
    pub name: String,
    /// Where the artifact is: the local store's digest (AWS gives an S3 location).
    pub s3location: Value,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct ActionExecutionOutput {
    pub output_artifacts: Vec<ArtifactDetail>,
    pub execution_result: ActionExecutionResult,
    pub output_variables: IndexMap<String, String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct ActionExecutionResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_execution_summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_execution_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_details: Option<ErrorDetails>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct ListActionExecutionsOutput {
    pub action_execution_details: Vec<ActionExecutionDetail>,
}

/// A manual approval waiting for a decision (the approvals inbox).
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct PendingApproval {
    pub pipeline_name: String,
    pub stage_name: String,
    pub action_name: String,
    pub pipeline_execution_id: String,
    pub token: String,
    pub waiting_since: Timestamp,
    pub expires: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_entity_link: Option<String>,
    /// What the execution carries (commits and their messages), so the approver sees what they
    /// approve.
    pub artifact_revisions: Vec<ArtifactRevision>,
}

/// One line of an action's log.
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct LogLine {
    /// Increasing within the action execution; ask for lines after the last one seen.
    pub seq: i64,
    pub time: Timestamp,
    /// `stdout`, `stderr`, or `pipewright` for lines Pipewright itself wrote.
    pub stream: String,
    pub line: String,
}

impl From<pipewright_store::LogRow> for LogLine {
    fn from(row: pipewright_store::LogRow) -> Self {
        LogLine {
            seq: row.seq,
            time: Timestamp(row.time_ms),
            stream: row.stream,
            line: row.line,
        }
    }
}

/// A stage's status in one execution (see `Pipewright::stage_statuses`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct StageExecutionStatus {
    pub stage_name: String,
    /// InProgress, Succeeded, Failed, Stopped, Stopping, Cancelled or Skipped.
    pub status: String,
}
