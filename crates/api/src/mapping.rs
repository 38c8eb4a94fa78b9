//! Rows of the store turned into the AWS-shaped DTOs.

use std::collections::HashMap;

use indexmap::IndexMap;
use pipewright_engine::settings::LocalSettings;
use pipewright_model::PipelineDeclaration;
use pipewright_store::{self as db, SqliteConnection};
use serde_json::{Value, json};

use crate::dto::*;
use crate::{Error, Result};

fn json_map(text: Option<&str>) -> IndexMap<String, String> {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default()
}

fn artifacts(text: Option<&str>) -> Vec<ArtifactDetail> {
    let list: Vec<Value> = text
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    list.into_iter()
        .filter_map(|item| {
            let name = item.get("name")?.as_str()?.to_owned();
            Some(ArtifactDetail {
                name,
                s3location: json!({"bucket": "pipewright-local", "key": item.get("digest")}),
            })
        })
        .collect()
}

pub async fn execution_summary(
    conn: &mut SqliteConnection,
    execution: &db::ExecutionRow,
    declaration: &PipelineDeclaration,
) -> Result<PipelineExecutionSummary> {
    let source_revisions = db::revisions(conn, &execution.id)
        .await?
        .into_iter()
        .map(|r| SourceRevision {
            action_name: r.action,
            revision_id: r.revision_id,
            revision_summary: r.summary,
            revision_url: r.url,
            revision_author: r.author,
        })
        .collect();
    Ok(PipelineExecutionSummary {
        pipeline_execution_id: execution.id.clone(),
        status: execution.status.clone(),
        status_summary: execution.summary.clone(),
        start_time: Timestamp(execution.started_ms),
        last_update_time: Timestamp(execution.updated_ms),
        source_revisions,
        trigger: ExecutionTrigger {
            trigger_type: execution.trigger_type.clone(),
            trigger_detail: execution.trigger_detail.clone(),
        },
        // A stop was asked for: AWS reports the trigger even when no reason was given.
        stop_trigger: execution.stop_mode.as_ref().map(|_| StopExecutionTrigger {
            reason: execution.stop_reason.clone().unwrap_or_default(),
        }),
        execution_mode: declaration.execution_mode().to_string(),
        execution_type: execution.execution_type.clone(),
        rollback_metadata: rollback_metadata(execution),
    })
}

fn rollback_metadata(execution: &db::ExecutionRow) -> Option<RollbackMetadata> {
    (execution.execution_type == "ROLLBACK")
        .then(|| execution.trigger_detail.clone())
        .flatten()
        .map(|target| RollbackMetadata {
            rollback_target_pipeline_execution_id: target,
        })
}

/// The source revisions an execution runs with, as GetPipelineExecution's `artifactRevisions`.
pub async fn artifact_revisions(
    conn: &mut SqliteConnection,
    execution_id: &str,
) -> Result<Vec<ArtifactRevision>> {
    Ok(db::revisions(conn, execution_id)
        .await?
        .into_iter()
        .map(|r| ArtifactRevision {
            name: r.artifact,
            revision_id: r.revision_id,
            revision_summary: r.summary,
            revision_url: r.url,
            revision_author: r.author,
            created: Timestamp(r.created_ms),
        })
        .collect())
}

pub async fn execution(
    conn: &mut SqliteConnection,
    execution: &db::ExecutionRow,
    declaration: &PipelineDeclaration,
) -> Result<PipelineExecution> {
    let artifact_revisions = artifact_revisions(conn, &execution.id).await?;
    let variables = execution
        .variables()?
        .into_iter()
        .map(|(name, resolved_value)| ResolvedPipelineVariable {
            name,
            resolved_value,
        })
        .collect();
    Ok(PipelineExecution {
        pipeline_name: execution.pipeline.clone(),
        pipeline_version: execution.version,
        pipeline_execution_id: execution.id.clone(),
        status: execution.status.clone(),
        status_summary: execution.summary.clone(),
        artifact_revisions,
        variables,
        trigger: ExecutionTrigger {
            trigger_type: execution.trigger_type.clone(),
            trigger_detail: execution.trigger_detail.clone(),
        },
        execution_mode: declaration.execution_mode().to_string(),
        execution_type: execution.execution_type.clone(),
        rollback_metadata: rollback_metadata(execution),
    })
}

fn error_details(row: &db::ActionExecutionRow) -> Option<ErrorDetails> {
    (row.status == "Failed" || row.status == "Abandoned").then(|| ErrorDetails {
        code: row
            .error_code
            .clone()
            .unwrap_or_else(|| "JobFailed".to_owned()),
        message: row.summary.clone().unwrap_or_default(),
    })
}

/// What GetPipelineState reads of one execution.
#[derive(Default)]
struct ExecutionRows {
    actions: Vec<db::ActionExecutionRow>,
    rules: Vec<db::RuleExecutionRow>,
    execution_type: Option<String>,
}

pub async fn pipeline_state(
    conn: &mut SqliteConnection,
    declaration: &PipelineDeclaration,
    _settings: &LocalSettings,
    version: i64,
    pipeline: &db::PipelineRow,
) -> Result<GetPipelineStateOutput> {
    let latest = db::latest_stage_executions(conn, &pipeline.name).await?;
    let disabled = db::disabled_transitions(conn, &pipeline.name).await?;
    // The stages' latest executions are mostly one or two executions: each is read once.
    let mut executions: HashMap<&str, ExecutionRows> = HashMap::new();
    for stage in &latest {
        if !executions.contains_key(stage.execution_id.as_str()) {
            let rows = ExecutionRows {
                actions: db::action_executions(conn, &stage.execution_id).await?,
                rules: db::rule_executions(conn, &stage.execution_id).await?,
                execution_type: db::execution(conn, &stage.execution_id)
                    .await?
                    .map(|e| e.execution_type),
            };
            executions.insert(&stage.execution_id, rows);
        }
    }
    let none = ExecutionRows::default();
    let mut stage_states = Vec::new();
    for stage in &declaration.stages {
        let stage_latest = latest.iter().find(|s| s.stage == stage.name);
        let of_execution = stage_latest
            .and_then(|s| executions.get(s.execution_id.as_str()))
            .unwrap_or(&none);
        let rows = &of_execution.actions;
        let action_states = stage
            .actions
            .iter()
            .map(|action| {
                let row = rows
                    .iter()
                    .rev()
                    .find(|r| r.stage == stage.name && r.action == action.name);
                ActionState {
                    action_name: action.name.clone(),
                    latest_execution: row.map(|row| ActionExecutionState {
                        action_execution_id: row.id.clone(),
                        status: row.status.clone(),
                        summary: row.summary.clone(),
                        last_status_change: Timestamp(row.updated_ms),
                        token: row.token.clone().filter(|_| row.status == "InProgress"),
                        external_execution_url: row.external_url.clone(),
                        error_details: error_details(row),
                        simulated: row.simulated,
                        ran_on: row.ran_on.clone(),
                    }),
                }
            })
            .collect();
        let transition = disabled.iter().find(|t| t.stage == stage.name);
        let rules: Vec<db::RuleExecutionRow> = of_execution
            .rules
            .iter()
            .filter(|r| r.stage == stage.name)
            .cloned()
            .collect();
        let conditions = |kind: &str| condition_state(&rules, kind);
        let execution_type = &of_execution.execution_type;
        stage_states.push(StageState {
            before_entry_condition_state: conditions("BEFORE_ENTRY"),
            on_success_condition_state: conditions("ON_SUCCESS"),
            on_failure_condition_state: conditions("ON_FAILURE"),
            stage_name: stage.name.clone(),
            inbound_transition_state: TransitionState {
                enabled: transition.is_none(),
                last_changed_by: transition.map(|t| t.disabled_by.clone()),
                last_changed_at: transition.map(|t| Timestamp(t.disabled_ms)),
                disabled_reason: transition.map(|t| t.reason.clone()),
            },
            action_states,
            latest_execution: stage_latest.map(|s| StageExecution {
                pipeline_execution_id: s.execution_id.clone(),
                status: s.status.clone(),
                execution_type: execution_type
                    .clone()
                    .unwrap_or_else(|| "STANDARD".to_owned()),
            }),
        });
    }
    Ok(GetPipelineStateOutput {
        pipeline_name: pipeline.name.clone(),
        pipeline_version: version,
        stage_states,
        created: Timestamp(pipeline.created_ms),
        updated: Timestamp(pipeline.updated_ms),
    })
}

/// The worst status of a set: a failure shows over a success, a check under way over both.
fn overall(statuses: impl Iterator<Item = String>) -> String {
    let rank = |s: &str| match s {
        "InProgress" => 4,
        "Failed" => 3,
        "Abandoned" => 2,
        "Succeeded" => 1,
        _ => 0,
    };
    statuses
        .max_by_key(|s| rank(s))
        .unwrap_or_else(|| "Succeeded".to_owned())
}

fn condition_state(rules: &[db::RuleExecutionRow], kind: &str) -> Option<StageConditionState> {
    let rows: Vec<&db::RuleExecutionRow> =
        rules.iter().filter(|r| r.condition_type == kind).collect();
    if rows.is_empty() {
        return None;
    }
    let mut indexes: Vec<i64> = rows.iter().map(|r| r.condition_index).collect();
    indexes.sort_unstable();
    indexes.dedup();
    let condition_states: Vec<ConditionState> = indexes
        .into_iter()
        .map(|index| {
            // The latest evaluation of each rule of the condition (a retried stage evaluates again).
            let mut latest: Vec<&db::RuleExecutionRow> = Vec::new();
            for row in rows.iter().filter(|r| r.condition_index == index) {
                match latest.iter_mut().find(|l| l.rule == row.rule) {
                    Some(slot) => *slot = row,
                    None => latest.push(row),
                }
            }
            let rule_states: Vec<RuleState> = latest
                .iter()
                .map(|row| RuleState {
                    rule_name: row.rule.clone(),
                    latest_execution: RuleExecutionState {
                        rule_execution_id: row.id.clone(),
                        status: row.status.clone(),
                        summary: row.summary.clone(),
                        last_status_change: Timestamp(row.ended_ms.unwrap_or(row.started_ms)),
                        simulated: row.simulated,
                    },
                })
                .collect();
            let status = overall(
                rule_states
                    .iter()
                    .map(|r| r.latest_execution.status.clone()),
            );
            let summary = rule_states
                .iter()
                .find(|r| r.latest_execution.status == "Failed")
                .and_then(|r| r.latest_execution.summary.clone());
            ConditionState {
                latest_execution: ConditionExecution { status, summary },
                rule_states,
            }
        })
        .collect();
    let status = overall(
        condition_states
            .iter()
            .map(|c| c.latest_execution.status.clone()),
    );
    let summary = condition_states
        .iter()
        .find_map(|c| c.latest_execution.summary.clone());
    Some(StageConditionState {
        latest_execution: ConditionExecution { status, summary },
        condition_states,
    })
}

/// Execution versions and declarations already read while mapping a list of action executions,
/// so a thousand rows cost a few queries, not two thousand.
#[derive(Debug, Default)]
pub struct Lookups {
    versions: std::collections::HashMap<String, i64>,
    declarations: std::collections::HashMap<i64, Option<PipelineDeclaration>>,
    /// Each execution's batch builds, by action execution.
    batches: std::collections::HashMap<String, std::collections::HashMap<String, Vec<BatchBuild>>>,
}

pub async fn action_execution(
    conn: &mut SqliteConnection,
    row: &db::ActionExecutionRow,
    lookups: &mut Lookups,
) -> Result<ActionExecutionDetail> {
    let version = match lookups.versions.get(&row.execution_id) {
        Some(version) => *version,
        None => {
            let version = db::execution(conn, &row.execution_id)
                .await?
                .map(|e| e.version)
                .unwrap_or(0);
            lookups.versions.insert(row.execution_id.clone(), version);
            version
        }
    };
    if let std::collections::hash_map::Entry::Vacant(slot) = lookups.declarations.entry(version) {
        let declaration = db::pipeline_version(conn, &row.pipeline, Some(version))
            .await?
            .and_then(|v| serde_json::from_str(&v.declaration).ok());
        slot.insert(declaration);
    }
    let declared = lookups
        .declarations
        .get(&version)
        .and_then(Option::as_ref)
        .and_then(|d| d.stage(&row.stage))
        .and_then(|s| s.action(&row.action));
    let configuration = declared
        .and_then(|a| a.configuration.clone())
        .unwrap_or_default();
    let namespace = declared.and_then(|a| a.namespace.clone());
    let action_type_id: Value = serde_json::from_str(&row.action_type)
        .map_err(|e| Error::new("StoreError", e.to_string()))?;
    Ok(ActionExecutionDetail {
        pipeline_execution_id: row.execution_id.clone(),
        action_execution_id: row.id.clone(),
        pipeline_version: version,
        stage_name: row.stage.clone(),
        action_name: row.action.clone(),
        start_time: Timestamp(row.started_ms),
        last_update_time: Timestamp(row.updated_ms),
        status: row.status.clone(),
        input: ActionExecutionInput {
            action_type_id,
            resolved_configuration: json_map(row.resolved_config.as_deref()),
            configuration,
            input_artifacts: artifacts(row.input_artifacts.as_deref()),
            namespace,
        },
        output: ActionExecutionOutput {
            output_artifacts: artifacts(row.output_artifacts.as_deref()),
            execution_result: ActionExecutionResult {
                external_execution_summary: row.summary.clone(),
                external_execution_url: row.external_url.clone(),
                error_details: error_details(row),
            },
            output_variables: json_map(row.output_variables.as_deref()),
        },
        ran_on: row.ran_on.clone(),
        simulated: row.simulated,
        batch_builds: batch_builds(conn, row, lookups).await?,
    })
}

/// The batch builds of an action execution, read once per execution.
async fn batch_builds(
    conn: &mut SqliteConnection,
    row: &db::ActionExecutionRow,
    lookups: &mut Lookups,
) -> Result<Vec<BatchBuild>> {
    if !lookups.batches.contains_key(&row.execution_id) {
        let mut by_action: std::collections::HashMap<String, Vec<BatchBuild>> =
            std::collections::HashMap::new();
        for build in db::batch_builds_of_execution(conn, &row.execution_id).await? {
            by_action
                .entry(build.action_execution_id.clone())
                .or_default()
                .push(BatchBuild {
                    id: build.id,
                    identifier: build.identifier,
                    status: build.status,
                    summary: build.summary,
                    ran_on: build.ran_on,
                    start_time: build.started_ms.map(Timestamp),
                    end_time: build.ended_ms.map(Timestamp),
                });
        }
        lookups.batches.insert(row.execution_id.clone(), by_action);
    }
    Ok(lookups
        .batches
        .get(&row.execution_id)
        .and_then(|by_action| by_action.get(&row.id))
        .cloned()
        .unwrap_or_default())
}
