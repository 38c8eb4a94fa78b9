//! Row types and the queries over them, one section per table. Every function takes a connection
//! (or an open transaction) so callers decide what is atomic.

use sqlx::{FromRow, SqliteConnection};

use crate::{Result, from_json, to_json};

// ---------------------------------------------------------------------------------------------
// pipelines, pipeline_versions

#[derive(Clone, Debug, FromRow)]
pub struct PipelineRow {
    pub name: String,
    pub latest_version: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Clone, Debug, FromRow)]
pub struct PipelineVersionRow {
    pub pipeline: String,
    pub version: i64,
    pub declaration: String,
    pub settings: Option<String>,
    pub created_ms: i64,
    pub created_by: String,
}

/// Stores a new version of a pipeline (creating the pipeline at version 1) and returns its number.
pub async fn add_pipeline_version(
    conn: &mut SqliteConnection,
    name: &str,
    declaration: &str,
    settings: Option<&str>,
    actor: &str,
    now: i64,
) -> Result<i64> {
    let version: i64 = sqlx::query_scalar(
        "INSERT INTO pipelines (name, latest_version, created_ms, updated_ms) VALUES (?, 1, ?, ?)
         ON CONFLICT (name) DO UPDATE SET latest_version = latest_version + 1, updated_ms = excluded.updated_ms
         RETURNING latest_version",
    )
    .bind(name)
    .bind(now)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO pipeline_versions (pipeline, version, declaration, settings, created_ms, created_by,
                                        pipeline_type, execution_mode)
         VALUES (?, ?, ?, ?, ?, ?, json_extract(?, '$.pipelineType'), json_extract(?, '$.executionMode'))",
    )
    .bind(name)
    .bind(version)
    .bind(declaration)
    .bind(settings)
    .bind(now)
    .bind(actor)
    .bind(declaration)
    .bind(declaration)
    .execute(&mut *conn)
    .await?;
    Ok(version)
}

/// Replaces the local settings kept with a version (they are this machine's, not part of the
/// declaration, so changing them makes no new version). False when there is no such version.
pub async fn set_version_settings(
    conn: &mut SqliteConnection,
    name: &str,
    version: i64,
    settings: Option<&str>,
) -> Result<bool> {
    let done =
        sqlx::query("UPDATE pipeline_versions SET settings = ? WHERE pipeline = ? AND version = ?")
            .bind(settings)
            .bind(name)
            .bind(version)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// A version of a pipeline; the latest when `version` is None.
pub async fn pipeline_version(
    conn: &mut SqliteConnection,
    name: &str,
    version: Option<i64>,
) -> Result<Option<PipelineVersionRow>> {
    let row = match version {
        Some(version) => {
            sqlx::query_as("SELECT * FROM pipeline_versions WHERE pipeline = ? AND version = ?")
                .bind(name)
                .bind(version)
                .fetch_optional(&mut *conn)
                .await?
        }
        None => {
            sqlx::query_as(
                "SELECT v.* FROM pipeline_versions v JOIN pipelines p
                 ON v.pipeline = p.name AND v.version = p.latest_version WHERE p.name = ?",
            )
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?
        }
    };
    Ok(row)
}

pub async fn pipeline(conn: &mut SqliteConnection, name: &str) -> Result<Option<PipelineRow>> {
    Ok(sqlx::query_as("SELECT * FROM pipelines WHERE name = ?")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?)
}

pub async fn pipelines(conn: &mut SqliteConnection) -> Result<Vec<PipelineRow>> {
    Ok(sqlx::query_as("SELECT * FROM pipelines ORDER BY name")
        .fetch_all(&mut *conn)
        .await?)
}

/// A pipeline as ListPipelines lists it: its row, and the type and execution mode its latest
/// version declares (None where the declaration does not say).
#[derive(Clone, Debug, serde::Deserialize)]
pub struct PipelineSummaryRow {
    pub name: String,
    pub latest_version: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub pipeline_type: Option<String>,
    pub execution_mode: Option<String>,
}

/// Every pipeline's summary in one query, with the type and mode kept beside each version
/// (migration 0003), so listing parses no declaration. The rows come back as one JSON array: the
/// SQLite driver hands each row over from its own thread, and an account has hundreds.
pub async fn pipeline_summaries(conn: &mut SqliteConnection) -> Result<Vec<PipelineSummaryRow>> {
    let rows: String = sqlx::query_scalar(
        "SELECT json_group_array(json_object(
                'name', p.name, 'latest_version', p.latest_version, 'created_ms', p.created_ms,
                'updated_ms', p.updated_ms, 'pipeline_type', v.pipeline_type,
                'execution_mode', v.execution_mode) ORDER BY p.name)
         FROM pipelines p
         JOIN pipeline_versions v ON v.pipeline = p.name AND v.version = p.latest_version",
    )
    .fetch_one(&mut *conn)
    .await?;
    from_json("pipeline summaries", &rows)
}

/// Deletes a pipeline with its versions, executions (and everything they own), disabled
/// transitions and tags. Returns whether there was one. Events and the audit log keep its history.
pub async fn delete_pipeline(conn: &mut SqliteConnection, name: &str) -> Result<bool> {
    sqlx::query("DELETE FROM executions WHERE pipeline = ?")
        .bind(name)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM trigger_refs WHERE pipeline = ?")
        .bind(name)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM disabled_transitions WHERE pipeline = ?")
        .bind(name)
        .execute(&mut *conn)
        .await?;
    let deleted = sqlx::query("DELETE FROM pipelines WHERE name = ?")
        .bind(name)
        .execute(&mut *conn)
        .await?;
    Ok(deleted.rows_affected() > 0)
}

/// Whether any execution of the pipeline has not ended.
pub async fn has_running_executions(conn: &mut SqliteConnection, name: &str) -> Result<bool> {
    let running: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM executions WHERE pipeline = ? AND ended_ms IS NULL LIMIT 1",
    )
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(running.is_some())
}

// ---------------------------------------------------------------------------------------------
// tags

/// A pipeline's tags, by key.
pub async fn tags(conn: &mut SqliteConnection, pipeline: &str) -> Result<Vec<(String, String)>> {
    Ok(
        sqlx::query_as("SELECT key, value FROM tags WHERE pipeline = ? ORDER BY key")
            .bind(pipeline)
            .fetch_all(&mut *conn)
            .await?,
    )
}

/// Sets tags (a key that exists gets the new value).
pub async fn set_tags(
    conn: &mut SqliteConnection,
    pipeline: &str,
    tags: &[(String, String)],
) -> Result<()> {
    for (key, value) in tags {
        sqlx::query(
            "INSERT INTO tags (pipeline, key, value) VALUES (?, ?, ?)
             ON CONFLICT (pipeline, key) DO UPDATE SET value = excluded.value",
        )
        .bind(pipeline)
        .bind(key)
        .bind(value)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn remove_tags(
    conn: &mut SqliteConnection,
    pipeline: &str,
    keys: &[String],
) -> Result<()> {
    for key in keys {
        sqlx::query("DELETE FROM tags WHERE pipeline = ? AND key = ?")
            .bind(pipeline)
            .bind(key)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// disabled_transitions

#[derive(Clone, Debug, FromRow)]
pub struct DisabledTransitionRow {
    pub pipeline: String,
    pub stage: String,
    pub reason: String,
    pub disabled_by: String,
    pub disabled_ms: i64,
}

pub async fn disable_transition(
    conn: &mut SqliteConnection,
    row: &DisabledTransitionRow,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO disabled_transitions (pipeline, stage, reason, disabled_by, disabled_ms) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (pipeline, stage) DO UPDATE SET reason = excluded.reason,
           disabled_by = excluded.disabled_by, disabled_ms = excluded.disabled_ms",
    )
    .bind(&row.pipeline)
    .bind(&row.stage)
    .bind(&row.reason)
    .bind(&row.disabled_by)
    .bind(row.disabled_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn enable_transition(
    conn: &mut SqliteConnection,
    pipeline: &str,
    stage: &str,
) -> Result<bool> {
    let done = sqlx::query("DELETE FROM disabled_transitions WHERE pipeline = ? AND stage = ?")
        .bind(pipeline)
        .bind(stage)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn disabled_transitions(
    conn: &mut SqliteConnection,
    pipeline: &str,
) -> Result<Vec<DisabledTransitionRow>> {
    Ok(
        sqlx::query_as("SELECT * FROM disabled_transitions WHERE pipeline = ?")
            .bind(pipeline)
            .fetch_all(&mut *conn)
            .await?,
    )
}

// ---------------------------------------------------------------------------------------------
// engines

#[derive(Clone, Debug, FromRow)]
pub struct EngineRow {
    pub id: String,
    pub pid: i64,
    pub proc_start: i64,
    pub started_ms: i64,
    pub heartbeat_ms: i64,
    /// `/proc/self/ns/pid` of the engine's process; None when it could not be read.
    pub pid_namespace: Option<String>,
}

pub async fn register_engine(conn: &mut SqliteConnection, row: &EngineRow) -> Result<()> {
    sqlx::query("INSERT INTO engines (id, pid, proc_start, started_ms, heartbeat_ms, pid_namespace) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(&row.id)
        .bind(row.pid)
        .bind(row.proc_start)
        .bind(row.started_ms)
        .bind(row.heartbeat_ms)
        .bind(&row.pid_namespace)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn engines(conn: &mut SqliteConnection) -> Result<Vec<EngineRow>> {
    Ok(sqlx::query_as("SELECT * FROM engines")
        .fetch_all(&mut *conn)
        .await?)
}

pub async fn heartbeat(conn: &mut SqliteConnection, id: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE engines SET heartbeat_ms = ? WHERE id = ?")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn remove_engine(conn: &mut SqliteConnection, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM engines WHERE id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// executions

#[derive(Clone, Debug, FromRow)]
pub struct ExecutionRow {
    pub id: String,
    pub seq: i64,
    pub pipeline: String,
    pub version: i64,
    pub status: String,
    pub summary: Option<String>,
    pub execution_type: String,
    pub trigger_type: String,
    pub trigger_detail: Option<String>,
    pub variables: String,
    pub client_token: Option<String>,
    pub owner: Option<String>,
    pub stop_mode: Option<String>,
    pub stop_reason: Option<String>,
    pub started_ms: i64,
    pub updated_ms: i64,
    pub ended_ms: Option<i64>,
    /// JSON `{"SourceActionName": {"revision": "commit", "branch": ...}}`: what the sources read
    /// instead of their branch heads (the engine's `SourceRevision`).
    pub source_revisions: Option<String>,
}

impl ExecutionRow {
    pub fn variables(&self) -> Result<indexmap::IndexMap<String, String>> {
        from_json("executions.variables", &self.variables)
    }
}

pub async fn insert_execution(conn: &mut SqliteConnection, row: &ExecutionRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO executions (id, seq, pipeline, version, status, summary, execution_type, trigger_type,
           trigger_detail, variables, client_token, owner, stop_mode, stop_reason, started_ms, updated_ms, ended_ms,
           source_revisions)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&row.id)
    .bind(row.seq)
    .bind(&row.pipeline)
    .bind(row.version)
    .bind(&row.status)
    .bind(&row.summary)
    .bind(&row.execution_type)
    .bind(&row.trigger_type)
    .bind(&row.trigger_detail)
    .bind(&row.variables)
    .bind(&row.client_token)
    .bind(&row.owner)
    .bind(&row.stop_mode)
    .bind(&row.stop_reason)
    .bind(row.started_ms)
    .bind(row.updated_ms)
    .bind(row.ended_ms)
    .bind(&row.source_revisions)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn execution(conn: &mut SqliteConnection, id: &str) -> Result<Option<ExecutionRow>> {
    Ok(sqlx::query_as("SELECT * FROM executions WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Newest first.
pub async fn executions(
    conn: &mut SqliteConnection,
    pipeline: &str,
    limit: i64,
) -> Result<Vec<ExecutionRow>> {
    Ok(
        sqlx::query_as("SELECT * FROM executions WHERE pipeline = ? ORDER BY seq DESC LIMIT ?")
            .bind(pipeline)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?,
    )
}

pub async fn execution_by_client_token(
    conn: &mut SqliteConnection,
    pipeline: &str,
    token: &str,
) -> Result<Option<ExecutionRow>> {
    Ok(
        sqlx::query_as("SELECT * FROM executions WHERE pipeline = ? AND client_token = ?")
            .bind(pipeline)
            .bind(token)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Executions that are not finished (InProgress or Stopping), across all pipelines.
pub async fn unfinished_executions(conn: &mut SqliteConnection) -> Result<Vec<ExecutionRow>> {
    Ok(
        sqlx::query_as("SELECT * FROM executions WHERE ended_ms IS NULL ORDER BY seq")
            .fetch_all(&mut *conn)
            .await?,
    )
}

pub async fn set_execution_status(
    conn: &mut SqliteConnection,
    id: &str,
    status: &str,
    summary: Option<&str>,
    now: i64,
    ended: bool,
) -> Result<()> {
    sqlx::query(
        "UPDATE executions SET status = ?, summary = ?, updated_ms = ?,
           ended_ms = CASE WHEN ? THEN ? ELSE NULL END
         WHERE id = ?",
    )
    .bind(status)
    .bind(summary)
    .bind(now)
    .bind(ended)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Replaces an execution's summary if it still has `status`.
pub async fn set_execution_summary(
    conn: &mut SqliteConnection,
    id: &str,
    summary: &str,
    status: &str,
) -> Result<()> {
    sqlx::query("UPDATE executions SET summary = ? WHERE id = ? AND status = ?")
        .bind(summary)
        .bind(id)
        .bind(status)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn set_execution_owner(
    conn: &mut SqliteConnection,
    id: &str,
    owner: Option<&str>,
) -> Result<()> {
    sqlx::query("UPDATE executions SET owner = ? WHERE id = ?")
        .bind(owner)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records a stop request; false when one was already recorded.
pub async fn request_stop(
    conn: &mut SqliteConnection,
    id: &str,
    mode: &str,
    reason: Option<&str>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE executions SET stop_mode = ?, stop_reason = ? WHERE id = ? AND stop_mode IS NULL AND ended_ms IS NULL",
    )
    .bind(mode)
    .bind(reason)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Upgrades a stop-and-wait to stop-and-abandon (a second stop may abandon, as on AWS).
pub async fn escalate_stop(
    conn: &mut SqliteConnection,
    id: &str,
    reason: Option<&str>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE executions SET stop_mode = 'abandon', stop_reason = COALESCE(?, stop_reason)
         WHERE id = ? AND stop_mode = 'wait'",
    )
    .bind(reason)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn clear_stop(conn: &mut SqliteConnection, id: &str) -> Result<()> {
    sqlx::query("UPDATE executions SET stop_mode = NULL, stop_reason = NULL WHERE id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes finished executions beyond the newest `keep` of each pipeline (cascades to their
/// stages, actions, logs and artifact references). Returns how many were deleted.
pub async fn delete_old_executions(conn: &mut SqliteConnection, keep: i64) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM executions WHERE ended_ms IS NOT NULL AND id NOT IN (
           SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY pipeline ORDER BY seq DESC) AS n FROM executions)
           WHERE n <= ?)",
    )
    .bind(keep)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM batch_builds WHERE action_execution_id NOT IN (SELECT id FROM action_executions)",
    )
    .execute(&mut *conn)
    .await?;
    // Log lines have no foreign key (actions, rules and batch builds all own lines): remove the
    // orphans.
    sqlx::query(
        "DELETE FROM logs WHERE action_execution_id NOT IN (SELECT id FROM action_executions)
           AND action_execution_id NOT IN (SELECT id FROM rule_executions)
           AND action_execution_id NOT IN (SELECT id FROM batch_builds)",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM reports WHERE action_execution_id NOT IN (SELECT id FROM action_executions)",
    )
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

// ---------------------------------------------------------------------------------------------
// rule_executions

#[derive(Clone, Debug, FromRow)]
pub struct RuleExecutionRow {
    pub id: String,
    pub execution_id: String,
    pub pipeline: String,
    pub stage: String,
    pub condition_type: String,
    pub condition_index: i64,
    pub rule: String,
    pub status: String,
    pub summary: Option<String>,
    pub simulated: bool,
    pub started_ms: i64,
    pub ended_ms: Option<i64>,
}

pub async fn insert_rule_execution(
    conn: &mut SqliteConnection,
    row: &RuleExecutionRow,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO rule_executions (id, execution_id, pipeline, stage, condition_type, condition_index, rule,
           status, summary, simulated, started_ms, ended_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&row.id)
    .bind(&row.execution_id)
    .bind(&row.pipeline)
    .bind(&row.stage)
    .bind(&row.condition_type)
    .bind(row.condition_index)
    .bind(&row.rule)
    .bind(&row.status)
    .bind(&row.summary)
    .bind(row.simulated)
    .bind(row.started_ms)
    .bind(row.ended_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn finish_rule_execution(
    conn: &mut SqliteConnection,
    id: &str,
    status: &str,
    summary: &str,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE rule_executions SET status = ?, summary = ?, ended_ms = ? WHERE id = ?")
        .bind(status)
        .bind(summary)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Rule executions of an execution, oldest first.
pub async fn rule_executions(
    conn: &mut SqliteConnection,
    execution_id: &str,
) -> Result<Vec<RuleExecutionRow>> {
    Ok(sqlx::query_as(
        "SELECT * FROM rule_executions WHERE execution_id = ? ORDER BY started_ms, rowid",
    )
    .bind(execution_id)
    .fetch_all(&mut *conn)
    .await?)
}

// ---------------------------------------------------------------------------------------------
// stage_executions, stage_waits

#[derive(Clone, Debug, FromRow)]
pub struct StageExecutionRow {
    pub execution_id: String,
    pub pipeline: String,
    pub stage: String,
    pub status: String,
    pub attempt: i64,
    pub entered_seq: i64,
    pub started_ms: i64,
    pub updated_ms: i64,
    pub ended_ms: Option<i64>,
}

/// Records that an execution entered a stage (first time, or again on retry).
pub async fn enter_stage(
    conn: &mut SqliteConnection,
    execution_id: &str,
    pipeline: &str,
    stage: &str,
    now: i64,
) -> Result<StageExecutionRow> {
    let entered_seq = crate::next_counter(conn, "stage_entry").await?;
    Ok(sqlx::query_as(
        "INSERT INTO stage_executions (execution_id, pipeline, stage, status, attempt, entered_seq, started_ms, updated_ms)
         VALUES (?, ?, ?, 'InProgress', 1, ?, ?, ?)
         ON CONFLICT (execution_id, stage) DO UPDATE SET status = 'InProgress', attempt = attempt + 1,
           entered_seq = excluded.entered_seq, updated_ms = excluded.updated_ms, ended_ms = NULL
         RETURNING *",
    )
    .bind(execution_id)
    .bind(pipeline)
    .bind(stage)
    .bind(entered_seq)
    .bind(now)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn set_stage_status(
    conn: &mut SqliteConnection,
    execution_id: &str,
    stage: &str,
    status: &str,
    now: i64,
    ended: bool,
) -> Result<()> {
    sqlx::query(
        "UPDATE stage_executions SET status = ?, updated_ms = ?, ended_ms = CASE WHEN ? THEN ? ELSE NULL END
         WHERE execution_id = ? AND stage = ?",
    )
    .bind(status)
    .bind(now)
    .bind(ended)
    .bind(now)
    .bind(execution_id)
    .bind(stage)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn stage_executions(
    conn: &mut SqliteConnection,
    execution_id: &str,
) -> Result<Vec<StageExecutionRow>> {
    Ok(
        sqlx::query_as(
            "SELECT * FROM stage_executions WHERE execution_id = ? ORDER BY entered_seq",
        )
        .bind(execution_id)
        .fetch_all(&mut *conn)
        .await?,
    )
}

/// For each stage of a pipeline, the execution that entered it last.
pub async fn latest_stage_executions(
    conn: &mut SqliteConnection,
    pipeline: &str,
) -> Result<Vec<StageExecutionRow>> {
    Ok(sqlx::query_as(
        "SELECT s.* FROM stage_executions s
         JOIN (SELECT stage, MAX(entered_seq) AS m FROM stage_executions WHERE pipeline = ? GROUP BY stage) l
           ON s.stage = l.stage AND s.entered_seq = l.m
         WHERE s.pipeline = ?",
    )
    .bind(pipeline)
    .bind(pipeline)
    .fetch_all(&mut *conn)
    .await?)
}

/// Executions currently inside a stage (InProgress or Stopping there).
pub async fn stage_occupants(
    conn: &mut SqliteConnection,
    pipeline: &str,
    stage: &str,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT execution_id FROM stage_executions
         WHERE pipeline = ? AND stage = ? AND status IN ('InProgress', 'Stopping')",
    )
    .bind(pipeline)
    .bind(stage)
    .fetch_all(&mut *conn)
    .await?)
}

#[derive(Clone, Debug, FromRow)]
pub struct StageWaitRow {
    pub execution_id: String,
    pub pipeline: String,
    pub stage: String,
    pub since_seq: i64,
    pub superseded_by: Option<String>,
}

/// Starts waiting at a stage; waiting again at the same stage keeps the original arrival order.
pub async fn wait_for_stage(
    conn: &mut SqliteConnection,
    execution_id: &str,
    pipeline: &str,
    stage: &str,
) -> Result<StageWaitRow> {
    if let Some(row) = stage_wait(conn, execution_id).await?
        && row.stage == stage
    {
        return Ok(row);
    }
    let since_seq = crate::next_counter(conn, "stage_wait").await?;
    Ok(sqlx::query_as(
        "INSERT INTO stage_waits (execution_id, pipeline, stage, since_seq) VALUES (?, ?, ?, ?)
         ON CONFLICT (execution_id) DO UPDATE SET stage = excluded.stage, since_seq = excluded.since_seq,
           superseded_by = NULL
         RETURNING *",
    )
    .bind(execution_id)
    .bind(pipeline)
    .bind(stage)
    .bind(since_seq)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn stage_wait(
    conn: &mut SqliteConnection,
    execution_id: &str,
) -> Result<Option<StageWaitRow>> {
    Ok(
        sqlx::query_as("SELECT * FROM stage_waits WHERE execution_id = ?")
            .bind(execution_id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Everything waiting at a stage, in arrival order.
pub async fn stage_waiters(
    conn: &mut SqliteConnection,
    pipeline: &str,
    stage: &str,
) -> Result<Vec<StageWaitRow>> {
    Ok(sqlx::query_as(
        "SELECT * FROM stage_waits WHERE pipeline = ? AND stage = ? ORDER BY since_seq",
    )
    .bind(pipeline)
    .bind(stage)
    .fetch_all(&mut *conn)
    .await?)
}

pub async fn mark_superseded(
    conn: &mut SqliteConnection,
    execution_id: &str,
    by: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE stage_waits SET superseded_by = ? WHERE execution_id = ? AND superseded_by IS NULL",
    )
    .bind(by)
    .bind(execution_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn stop_waiting(conn: &mut SqliteConnection, execution_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM stage_waits WHERE execution_id = ?")
        .bind(execution_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// action_executions

#[derive(Clone, Debug, Default, FromRow)]
pub struct ActionExecutionRow {
    pub id: String,
    pub execution_id: String,
    pub pipeline: String,
    pub stage: String,
    pub action: String,
    pub run_order: i64,
    pub attempt: i64,
    pub status: String,
    pub summary: Option<String>,
    pub error_code: Option<String>,
    pub simulated: bool,
    /// Where the commands ran (`Place::describe`), for actions that run commands.
    pub ran_on: Option<String>,
    pub action_type: String,
    pub resolved_config: Option<String>,
    pub input_artifacts: Option<String>,
    pub output_artifacts: Option<String>,
    pub output_variables: Option<String>,
    pub external_url: Option<String>,
    pub token: Option<String>,
    pub approval_status: Option<String>,
    pub approval_summary: Option<String>,
    pub approved_by: Option<String>,
    pub decided_ms: Option<i64>,
    pub expires_ms: Option<i64>,
    pub started_ms: i64,
    pub updated_ms: i64,
    pub ended_ms: Option<i64>,
}

/// Inserts the rows of actions that start together, many per statement.
pub async fn insert_action_executions(
    conn: &mut SqliteConnection,
    rows: &[ActionExecutionRow],
) -> Result<()> {
    for chunk in rows.chunks(100) {
        let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO action_executions (id, execution_id, pipeline, stage, action, run_order, attempt,
               status, summary, error_code, simulated, ran_on, action_type, resolved_config,
               input_artifacts, output_artifacts, output_variables, external_url, token, expires_ms,
               started_ms, updated_ms, ended_ms) ",
        );
        query.push_values(chunk, |mut values, row| {
            values
                .push_bind(&row.id)
                .push_bind(&row.execution_id)
                .push_bind(&row.pipeline)
                .push_bind(&row.stage)
                .push_bind(&row.action)
                .push_bind(row.run_order)
                .push_bind(row.attempt)
                .push_bind(&row.status)
                .push_bind(&row.summary)
                .push_bind(&row.error_code)
                .push_bind(row.simulated)
                .push_bind(&row.ran_on)
                .push_bind(&row.action_type)
                .push_bind(&row.resolved_config)
                .push_bind(&row.input_artifacts)
                .push_bind(&row.output_artifacts)
                .push_bind(&row.output_variables)
                .push_bind(&row.external_url)
                .push_bind(&row.token)
                .push_bind(row.expires_ms)
                .push_bind(row.started_ms)
                .push_bind(row.updated_ms)
                .push_bind(row.ended_ms);
        });
        query.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// What an action execution ended with.
#[derive(Clone, Debug, Default)]
pub struct ActionEnd {
    pub status: String,
    pub summary: Option<String>,
    pub error_code: Option<String>,
    pub output_artifacts: Option<serde_json::Value>,
    pub output_variables: Option<serde_json::Value>,
    pub external_url: Option<String>,
}

pub async fn finish_action_execution(
    conn: &mut SqliteConnection,
    id: &str,
    end: &ActionEnd,
    now: i64,
) -> Result<()> {
    finish_action_executions(conn, &[(id, end)], now).await
}

/// Records the ends of several action executions, many per statement.
pub async fn finish_action_executions(
    conn: &mut SqliteConnection,
    ends: &[(&str, &ActionEnd)],
    now: i64,
) -> Result<()> {
    for chunk in ends.chunks(200) {
        let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "WITH ended (id, status, summary, error_code, output_artifacts, output_variables, external_url) AS (",
        );
        query.push_values(chunk, |mut values, (id, end)| {
            values
                .push_bind(*id)
                .push_bind(&end.status)
                .push_bind(&end.summary)
                .push_bind(&end.error_code)
                .push_bind(end.output_artifacts.as_ref().map(to_json))
                .push_bind(end.output_variables.as_ref().map(to_json))
                .push_bind(&end.external_url);
        });
        query.push(
            ") UPDATE action_executions SET status = ended.status,
               summary = COALESCE(ended.summary, action_executions.summary), error_code = ended.error_code,
               output_artifacts = COALESCE(ended.output_artifacts, action_executions.output_artifacts),
               output_variables = COALESCE(ended.output_variables, action_executions.output_variables),
               external_url = COALESCE(ended.external_url, action_executions.external_url),
               updated_ms = ",
        );
        query.push_bind(now);
        query.push(", ended_ms = ");
        query.push_bind(now);
        query.push(" FROM ended WHERE action_executions.id = ended.id");
        query.build().execute(&mut *conn).await?;
        let ids: Vec<&str> = chunk.iter().map(|(id, _)| *id).collect();
        crate::stop_unfinished_batch_builds(conn, &ids, now).await?;
    }
    Ok(())
}

pub async fn action_execution(
    conn: &mut SqliteConnection,
    id: &str,
) -> Result<Option<ActionExecutionRow>> {
    Ok(
        sqlx::query_as("SELECT * FROM action_executions WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Every action execution of an execution, oldest first.
pub async fn action_executions(
    conn: &mut SqliteConnection,
    execution_id: &str,
) -> Result<Vec<ActionExecutionRow>> {
    Ok(sqlx::query_as(
        "SELECT * FROM action_executions WHERE execution_id = ? ORDER BY started_ms, rowid",
    )
    .bind(execution_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Every action execution of a pipeline, newest first.
pub async fn pipeline_action_executions(
    conn: &mut SqliteConnection,
    pipeline: &str,
    limit: i64,
) -> Result<Vec<ActionExecutionRow>> {
    Ok(sqlx::query_as(
        "SELECT * FROM action_executions WHERE pipeline = ? ORDER BY started_ms DESC, rowid DESC LIMIT ?",
    )
    .bind(pipeline)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// An approver's decision on one approval.
#[derive(Clone, Debug)]
pub struct ApprovalDecision<'a> {
    pub pipeline: &'a str,
    pub stage: &'a str,
    pub action: &'a str,
    pub token: &'a str,
    /// `Approved` or `Rejected`.
    pub status: &'a str,
    pub summary: Option<&'a str>,
    pub by: &'a str,
    pub now: i64,
}

/// Records an approver's decision if the token matches and nothing was decided yet; false
/// otherwise (the caller then tells a wrong token from a decision made twice).
pub async fn decide_approval(
    conn: &mut SqliteConnection,
    d: &ApprovalDecision<'_>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE action_executions SET approval_status = ?, approval_summary = ?, approved_by = ?, decided_ms = ?
         WHERE pipeline = ? AND stage = ? AND action = ? AND token = ? AND approval_status IS NULL
           AND status = 'InProgress' AND (expires_ms IS NULL OR expires_ms > ?)",
    )
    .bind(d.status)
    .bind(d.summary)
    .bind(d.by)
    .bind(d.now)
    .bind(d.pipeline)
    .bind(d.stage)
    .bind(d.action)
    .bind(d.token)
    .bind(d.now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The approval behind a token, decided or not.
pub async fn approval_by_token(
    conn: &mut SqliteConnection,
    pipeline: &str,
    stage: &str,
    action: &str,
    token: &str,
) -> Result<Option<ActionExecutionRow>> {
    Ok(sqlx::query_as(
        "SELECT * FROM action_executions WHERE pipeline = ? AND stage = ? AND action = ? AND token = ?",
    )
    .bind(pipeline)
    .bind(stage)
    .bind(action)
    .bind(token)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Manual approvals waiting for a decision, across all pipelines (the approvals inbox).
/// Approvals nobody has decided yet. A decided one stays InProgress until the engine that runs it
/// takes the decision (within a second, maybe in another process); it is no longer waiting.
pub async fn pending_approvals(conn: &mut SqliteConnection) -> Result<Vec<ActionExecutionRow>> {
    Ok(sqlx::query_as(
        "SELECT * FROM action_executions
         WHERE token IS NOT NULL AND status = 'InProgress' AND approval_status IS NULL
         ORDER BY started_ms",
    )
    .fetch_all(&mut *conn)
    .await?)
}

// ---------------------------------------------------------------------------------------------
// logs

#[derive(Clone, Debug, FromRow)]
pub struct LogRow {
    pub action_execution_id: String,
    pub seq: i64,
    pub time_ms: i64,
    pub stream: String,
    pub line: String,
}

/// Appends log lines, many per statement: a chatty build writes thousands of lines a second.
pub async fn append_logs(conn: &mut SqliteConnection, rows: &[LogRow]) -> Result<()> {
    for chunk in rows.chunks(500) {
        let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO logs (action_execution_id, seq, time_ms, stream, line) ",
        );
        query.push_values(chunk, |mut values, row| {
            values
                .push_bind(&row.action_execution_id)
                .push_bind(row.seq)
                .push_bind(row.time_ms)
                .push_bind(&row.stream)
                .push_bind(&row.line);
        });
        query.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Log lines of an action execution after `after_seq`, oldest first.
pub async fn logs(
    conn: &mut SqliteConnection,
    action_execution_id: &str,
    after_seq: i64,
) -> Result<Vec<LogRow>> {
    Ok(sqlx::query_as(
        "SELECT * FROM logs WHERE action_execution_id = ? AND seq > ? ORDER BY seq LIMIT 10000",
    )
    .bind(action_execution_id)
    .bind(after_seq)
    .fetch_all(&mut *conn)
    .await?)
}

// ---------------------------------------------------------------------------------------------
// execution_revisions, execution_artifacts

#[derive(Clone, Debug, FromRow)]
pub struct RevisionRow {
    pub execution_id: String,
    pub action: String,
    pub artifact: String,
    pub revision_id: String,
    pub summary: Option<String>,
    pub url: Option<String>,
    pub created_ms: i64,
    /// Who made it (a git commit's author), where the source says.
    pub author: Option<String>,
}

pub async fn add_revision(conn: &mut SqliteConnection, row: &RevisionRow) -> Result<()> {
    sqlx::query(
        "INSERT OR REPLACE INTO execution_revisions (execution_id, action, artifact, revision_id, summary, url, created_ms, author)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&row.execution_id)
    .bind(&row.action)
    .bind(&row.artifact)
    .bind(&row.revision_id)
    .bind(&row.summary)
    .bind(&row.url)
    .bind(row.created_ms)
    .bind(&row.author)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn revisions(
    conn: &mut SqliteConnection,
    execution_id: &str,
) -> Result<Vec<RevisionRow>> {
    Ok(sqlx::query_as(
        "SELECT * FROM execution_revisions WHERE execution_id = ? ORDER BY created_ms",
    )
    .bind(execution_id)
    .fetch_all(&mut *conn)
    .await?)
}

#[derive(Clone, Debug, FromRow)]
pub struct ArtifactRow {
    pub execution_id: String,
    pub name: String,
    pub digest: String,
    pub files: i64,
    pub bytes: i64,
}

pub async fn add_artifact(conn: &mut SqliteConnection, row: &ArtifactRow) -> Result<()> {
    sqlx::query(
        "INSERT OR REPLACE INTO execution_artifacts (execution_id, name, digest, files, bytes) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&row.execution_id)
    .bind(&row.name)
    .bind(&row.digest)
    .bind(row.files)
    .bind(row.bytes)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn artifacts(
    conn: &mut SqliteConnection,
    execution_id: &str,
) -> Result<Vec<ArtifactRow>> {
    Ok(
        sqlx::query_as("SELECT * FROM execution_artifacts WHERE execution_id = ? ORDER BY name")
            .bind(execution_id)
            .fetch_all(&mut *conn)
            .await?,
    )
}

/// Digests referenced by any remaining execution.
pub async fn referenced_digests(conn: &mut SqliteConnection) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT DISTINCT digest FROM execution_artifacts")
            .fetch_all(&mut *conn)
            .await?,
    )
}

// ---------------------------------------------------------------------------------------------
// events

#[derive(Clone, Debug, FromRow)]
pub struct EventRow {
    pub seq: i64,
    pub time_ms: i64,
    pub detail_type: String,
    pub pipeline: String,
    pub execution_id: Option<String>,
    pub body: String,
}

impl EventRow {
    pub fn body(&self) -> Result<serde_json::Value> {
        from_json("events.body", &self.body)
    }
}

/// An event to store.
#[derive(Clone, Debug)]
pub struct NewEvent<'a> {
    pub time_ms: i64,
    pub detail_type: &'a str,
    pub pipeline: &'a str,
    pub execution_id: Option<&'a str>,
    pub body: serde_json::Value,
}

/// Appends events in order, many per statement; returns the last one's sequence number.
pub async fn append_events(conn: &mut SqliteConnection, events: &[NewEvent<'_>]) -> Result<i64> {
    let mut last = 0;
    for chunk in events.chunks(500) {
        let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO events (time_ms, detail_type, pipeline, execution_id, body) ",
        );
        query.push_values(chunk, |mut values, event| {
            values
                .push_bind(event.time_ms)
                .push_bind(event.detail_type)
                .push_bind(event.pipeline)
                .push_bind(event.execution_id)
                .push_bind(to_json(&event.body));
        });
        query.push(" RETURNING seq");
        let seqs: Vec<i64> = query.build_query_scalar().fetch_all(&mut *conn).await?;
        last = seqs.into_iter().max().unwrap_or(last);
    }
    Ok(last)
}

/// Events after `after_seq`, oldest first, optionally of one execution only.
/// Which events to read.
#[derive(Clone, Copy, Debug, Default)]
pub struct EventFilter<'a> {
    pub execution_id: Option<&'a str>,
    pub pipeline: Option<&'a str>,
}

pub async fn events_after(
    conn: &mut SqliteConnection,
    after_seq: i64,
    filter: EventFilter<'_>,
    limit: i64,
) -> Result<Vec<EventRow>> {
    Ok(sqlx::query_as(
        "SELECT * FROM events WHERE seq > ? AND (? IS NULL OR execution_id = ?) AND (? IS NULL OR pipeline = ?)
         ORDER BY seq LIMIT ?",
    )
    .bind(after_seq)
    .bind(filter.execution_id)
    .bind(filter.execution_id)
    .bind(filter.pipeline)
    .bind(filter.pipeline)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

pub async fn last_event_seq(conn: &mut SqliteConnection) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events")
            .fetch_one(&mut *conn)
            .await?,
    )
}

// ---------------------------------------------------------------------------------------------
// audit

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct AuditRow {
    pub seq: i64,
    pub time_ms: i64,
    pub actor: String,
    pub operation: String,
    pub pipeline: Option<String>,
    pub parameters: String,
    pub outcome: String,
    pub message: Option<String>,
}

pub async fn append_audit(conn: &mut SqliteConnection, row: &AuditRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit (time_ms, actor, operation, pipeline, parameters, outcome, message) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(row.time_ms)
    .bind(&row.actor)
    .bind(&row.operation)
    .bind(&row.pipeline)
    .bind(&row.parameters)
    .bind(&row.outcome)
    .bind(&row.message)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn audit(
    conn: &mut SqliteConnection,
    pipeline: Option<&str>,
    limit: i64,
) -> Result<Vec<AuditRow>> {
    Ok(sqlx::query_as(
        "SELECT * FROM audit WHERE (? IS NULL OR pipeline = ?) ORDER BY seq DESC LIMIT ?",
    )
    .bind(pipeline)
    .bind(pipeline)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}
