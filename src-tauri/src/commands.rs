//! One Tauri command per facade call. Arguments arrive in camelCase from the UI (Tauri renames
//! them); errors leave as the facade's `{code, message}`.

use indexmap::IndexMap;
use pipewright_api::model::{Format, PipelineDeclaration, PipelineDocument};
use pipewright_api::{
    GetPipelineExecutionOutput, GetPipelineOutput, GetPipelineStateOutput,
    ListActionExecutionsOutput, ListPipelineExecutionsOutput, PendingApproval, PipelinePlan,
    PipelineSummary, Result, StageExecutionStatus, ValidationReport,
};
use serde::{Deserialize, Serialize};
use tauri::State;
use ts_rs::TS;

use crate::Desktop;
use crate::connections::Connections;

/// How many executions the history view asks for at most.
const HISTORY_LIMIT: i64 = 200;

/// The pipelines of one connection, or why they could not be listed.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionPipelines {
    pub connection: String,
    pub pipelines: Vec<PipelineSummary>,
    #[ts(optional)]
    pub error: Option<pipewright_api::Error>,
}

/// Every connection's pipelines: one connection out of reach does not hide the others.
#[tauri::command]
pub async fn list_pipelines(
    desktop: State<'_, Desktop>,
    connections: State<'_, Connections>,
) -> Result<Vec<ConnectionPipelines>> {
    let mut out = Vec::new();
    for backend in connections.all(&desktop) {
        let (pipelines, error) = match backend.list_pipelines().await {
            Ok(list) => (list.pipelines, None),
            Err(error) => (Vec::new(), Some(error)),
        };
        out.push(ConnectionPipelines {
            connection: backend.name(),
            pipelines,
            error,
        });
    }
    Ok(out)
}

#[tauri::command]
pub async fn get_pipeline(
    desktop: State<'_, Desktop>,
    connections: State<'_, Connections>,
    connection: Option<String>,
    name: String,
    version: Option<i64>,
) -> Result<GetPipelineOutput> {
    let backend = connections.backend(&desktop, connection.as_deref())?;
    backend.get_pipeline(&name, version).await
}

/// The JSON/YAML panel's text read back into a declaration, or where it is wrong.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ParseError {
    #[ts(type = "string")]
    pub code: &'static str,
    pub message: String,
    pub line: Option<u64>,
    pub column: Option<u64>,
    pub path: Option<String>,
}

#[tauri::command]
pub fn parse_pipeline(
    text: String,
    yaml: bool,
) -> std::result::Result<PipelineDeclaration, ParseError> {
    let format = if yaml { Format::Yaml } else { Format::Json };
    PipelineDocument::parse(&text, format)
        .map(|document| document.pipeline)
        .map_err(|error| ParseError {
            code: "InvalidStructureException",
            message: error.message.clone(),
            line: error.line,
            column: error.column,
            path: error.path.clone(),
        })
}

#[tauri::command]
pub fn render_pipeline(pipeline: PipelineDeclaration, yaml: bool) -> String {
    let format = if yaml { Format::Yaml } else { Format::Json };
    PipelineDocument::from_declaration(pipeline).to_text(format)
}

/// Diagnostics of a declaration being edited, against the local settings of the stored pipeline
/// of that name (none when it is new).
#[tauri::command]
pub async fn validate_pipeline(
    desktop: State<'_, Desktop>,
    pipeline: PipelineDeclaration,
) -> Result<ValidationReport> {
    desktop.api.validate_draft(&pipeline).await
}

#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SavedPipeline {
    pub name: String,
    pub version: i64,
}

/// Saves the designer's pipeline: a new version of `stored_as` when it keeps that name; a new
/// pipeline (refused when the name is taken) when it is new or was renamed, leaving the old one.
#[tauri::command]
pub async fn save_pipeline(
    desktop: State<'_, Desktop>,
    pipeline: PipelineDeclaration,
    stored_as: Option<String>,
) -> Result<SavedPipeline> {
    let (name, version) = if stored_as.as_deref() == Some(pipeline.name.as_str()) {
        desktop.api.update_pipeline(&pipeline).await?
    } else {
        desktop.api.create_pipeline(&pipeline, &[]).await?
    };
    Ok(SavedPipeline { name, version })
}

#[tauri::command]
pub async fn get_pipeline_state(
    desktop: State<'_, Desktop>,
    connections: State<'_, Connections>,
    connection: Option<String>,
    name: String,
) -> Result<GetPipelineStateOutput> {
    let backend = connections.backend(&desktop, connection.as_deref())?;
    backend.get_pipeline_state(&name).await
}

#[tauri::command]
pub async fn list_executions(
    desktop: State<'_, Desktop>,
    connections: State<'_, Connections>,
    connection: Option<String>,
    name: String,
) -> Result<ListPipelineExecutionsOutput> {
    let backend = connections.backend(&desktop, connection.as_deref())?;
    backend.list_executions(&name, HISTORY_LIMIT).await
}

#[tauri::command]
pub async fn get_execution(
    desktop: State<'_, Desktop>,
    connections: State<'_, Connections>,
    connection: Option<String>,
    name: String,
    execution_id: String,
) -> Result<GetPipelineExecutionOutput> {
    let backend = connections.backend(&desktop, connection.as_deref())?;
    backend.get_execution(&name, &execution_id).await
}

#[tauri::command]
pub async fn list_action_executions(
    desktop: State<'_, Desktop>,
    connections: State<'_, Connections>,
    connection: Option<String>,
    name: String,
    execution_id: String,
) -> Result<ListActionExecutionsOutput> {
    let backend = connections.backend(&desktop, connection.as_deref())?;
    backend
        .list_action_executions(&name, Some(&execution_id))
        .await
}

#[tauri::command]
pub async fn start_execution(
    desktop: State<'_, Desktop>,
    connections: State<'_, Connections>,
    connection: Option<String>,
    name: String,
    variables: IndexMap<String, String>,
) -> Result<String> {
    let backend = connections.backend(&desktop, connection.as_deref())?;
    let started = backend.start(&name, &variables, None).await;
    connections.nudge(connection.as_deref(), &name);
    started
}

#[tauri::command]
pub async fn stop_execution(
    desktop: State<'_, Desktop>,
    connections: State<'_, Connections>,
    connection: Option<String>,
    name: String,
    execution_id: String,
    abandon: bool,
    reason: Option<String>,
) -> Result<()> {
    let backend = connections.backend(&desktop, connection.as_deref())?;
    let done = backend
        .stop(&name, &execution_id, abandon, reason.as_deref())
        .await;
    connections.nudge(connection.as_deref(), &name);
    done
}

#[tauri::command]
pub async fn retry_stage(
    desktop: State<'_, Desktop>,
    connections: State<'_, Connections>,
    connection: Option<String>,
    name: String,
    stage: String,
    execution_id: String,
    all_actions: bool,
) -> Result<()> {
    let backend = connections.backend(&desktop, connection.as_deref())?;
    let done = backend
        .retry(&name, &stage, &execution_id, all_actions)
        .await;
    connections.nudge(connection.as_deref(), &name);
    done
}

#[tauri::command]
pub async fn rollback_stage(
    desktop: State<'_, Desktop>,
    connections: State<'_, Connections>,
    connection: Option<String>,
    name: String,
    stage: String,
    target_execution_id: Option<String>,
) -> Result<String> {
    let backend = connections.backend(&desktop, connection.as_deref())?;
    let done = backend
        .rollback(&name, &stage, target_execution_id.as_deref())
        .await;
    connections.nudge(connection.as_deref(), &name);
    done
}

#[tauri::command]
pub async fn set_transition(
    desktop: State<'_, Desktop>,
    connections: State<'_, Connections>,
    connection: Option<String>,
    name: String,
    stage: String,
    enabled: bool,
    reason: Option<String>,
) -> Result<()> {
    let backend = connections.backend(&desktop, connection.as_deref())?;
    let done = backend
        .set_transition(&name, &stage, enabled, reason.as_deref())
        .await;
    connections.nudge(connection.as_deref(), &name);
    done
}

/// An approval waiting, and the connection it waits in.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionApproval {
    pub connection: String,
    pub approval: PendingApproval,
}

/// The approvals inbox: every approval waiting in every connection, and the connections that
/// could not be asked (their approvals are missing, and the inbox says so).
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Inbox {
    pub approvals: Vec<ConnectionApproval>,
    pub unreachable: Vec<UnreachableConnection>,
}

#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct UnreachableConnection {
    pub connection: String,
    pub error: pipewright_api::Error,
}

#[tauri::command]
pub async fn pending_approvals(
    desktop: State<'_, Desktop>,
    connections: State<'_, Connections>,
) -> Result<Inbox> {
    let mut inbox = Inbox {
        approvals: Vec::new(),
        unreachable: Vec::new(),
    };
    for backend in connections.all(&desktop) {
        let connection = backend.name();
        match backend.pending_approvals().await {
            Ok(waiting) => {
                inbox
                    .approvals
                    .extend(waiting.into_iter().map(|approval| ConnectionApproval {
                        connection: connection.clone(),
                        approval,
                    }))
            }
            Err(error) => inbox
                .unreachable
                .push(UnreachableConnection { connection, error }),
        }
    }
    Ok(inbox)
}

/// A decision on an approval, and where the approval waits.
#[derive(Debug, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalDecision {
    pub connection: String,
    pub approval: PendingApproval,
    pub approved: bool,
    pub summary: String,
}

#[tauri::command]
pub async fn put_approval_result(
    desktop: State<'_, Desktop>,
    connections: State<'_, Connections>,
    decision: ApprovalDecision,
) -> Result<()> {
    let backend = connections.backend(&desktop, Some(&decision.connection))?;
    let approval = &decision.approval;
    let done = backend
        .put_approval_result(
            &approval.pipeline_name,
            &approval.stage_name,
            &approval.action_name,
            &approval.token,
            decision.approved,
            &decision.summary,
        )
        .await;
    connections.nudge(Some(&decision.connection), &decision.approval.pipeline_name);
    done
}

/// What pushing the designer's pipeline to a connection would change there.
#[tauri::command]
pub async fn plan_pipeline(
    desktop: State<'_, Desktop>,
    connections: State<'_, Connections>,
    connection: String,
    pipeline: PipelineDeclaration,
) -> Result<PipelinePlan> {
    let backend = connections.backend(&desktop, Some(&connection))?;
    let deployed = match backend.get_pipeline(&pipeline.name, None).await {
        Ok(out) => Some(out.pipeline),
        Err(error) if error.code == "PipelineNotFoundException" => None,
        Err(error) => return Err(error),
    };
    Ok(pipewright_api::plan(&pipeline, deployed.as_ref()))
}

/// Pushes the designer's pipeline to a connection: CreatePipeline when it is not there yet,
/// UpdatePipeline when it is.
#[tauri::command]
pub async fn push_pipeline(
    desktop: State<'_, Desktop>,
    connections: State<'_, Connections>,
    connection: String,
    pipeline: PipelineDeclaration,
) -> Result<SavedPipeline> {
    let backend = connections.backend(&desktop, Some(&connection))?;
    let (name, version) = match backend.get_pipeline(&pipeline.name, None).await {
        Ok(_) => backend.update_pipeline(&pipeline).await?,
        Err(error) if error.code == "PipelineNotFoundException" => {
            backend.create_pipeline(&pipeline, &[]).await?
        }
        Err(error) => return Err(error),
    };
    connections.nudge(Some(&connection), &name);
    Ok(SavedPipeline { name, version })
}

/// The status of every stage an execution reached (the monitor's stage colours, for any execution).
#[tauri::command]
pub async fn stage_statuses(
    desktop: State<'_, Desktop>,
    execution_id: String,
) -> Result<Vec<StageExecutionStatus>> {
    desktop.api.stage_statuses(&execution_id).await
}

/// The test and coverage reports of a local execution's builds.
#[tauri::command]
pub async fn list_reports(
    desktop: State<'_, Desktop>,
    name: String,
    execution_id: String,
) -> Result<pipewright_api::ListReportsOutput> {
    desktop.api.reports(&name, Some(&execution_id)).await
}
