//! batch_builds, reports: what a build action made besides its outputs, kept with its action
//! execution (and deleted with it).

use sqlx::{FromRow, SqliteConnection};

use crate::Result;

/// One build of a batch build.
#[derive(Clone, Debug, Default, FromRow, PartialEq, Eq)]
pub struct BatchBuildRow {
    pub id: String,
    pub action_execution_id: String,
    pub seq: i64,
    pub identifier: String,
    pub status: String,
    pub summary: Option<String>,
    pub ran_on: Option<String>,
    pub started_ms: Option<i64>,
    pub ended_ms: Option<i64>,
}

/// Stores a batch build's row, or replaces it with its new state.
pub async fn put_batch_build(conn: &mut SqliteConnection, row: &BatchBuildRow) -> Result<()> {
    sqlx::query(
        "INSERT OR REPLACE INTO batch_builds (id, action_execution_id, seq, identifier, status,
           summary, ran_on, started_ms, ended_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&row.id)
    .bind(&row.action_execution_id)
    .bind(row.seq)
    .bind(&row.identifier)
    .bind(&row.status)
    .bind(&row.summary)
    .bind(&row.ran_on)
    .bind(row.started_ms)
    .bind(row.ended_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Ends the batch builds of these action executions that have not ended, as Stopped: a batch
/// build cannot outlive its action (one abandoned, or failed by recovery after a crash).
pub async fn stop_unfinished_batch_builds(
    conn: &mut SqliteConnection,
    action_execution_ids: &[&str],
    now: i64,
) -> Result<()> {
    if action_execution_ids.is_empty() {
        return Ok(());
    }
    let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
        "UPDATE batch_builds SET status = 'Stopped', ended_ms = ",
    );
    query.push_bind(now);
    query.push(
        ", summary = COALESCE(summary, 'stopped: its action ended first')
         WHERE status IN ('Waiting', 'InProgress') AND action_execution_id IN (",
    );
    let mut ids = query.separated(", ");
    for id in action_execution_ids {
        ids.push_bind(*id);
    }
    query.push(")");
    query.build().execute(&mut *conn).await?;
    Ok(())
}

/// The batch builds of an execution's action executions, in batch order.
pub async fn batch_builds_of_execution(
    conn: &mut SqliteConnection,
    execution_id: &str,
) -> Result<Vec<BatchBuildRow>> {
    Ok(sqlx::query_as(
        "SELECT b.* FROM batch_builds b JOIN action_executions a ON a.id = b.action_execution_id
          WHERE a.execution_id = ? ORDER BY b.action_execution_id, b.seq",
    )
    .bind(execution_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Stores the reports an action execution made, each as JSON under its report group's name.
pub async fn add_reports(
    conn: &mut SqliteConnection,
    action_execution_id: &str,
    reports: &[(String, String)],
) -> Result<()> {
    for (name, report) in reports {
        sqlx::query(
            "INSERT OR REPLACE INTO reports (action_execution_id, name, report) VALUES (?, ?, ?)",
        )
        .bind(action_execution_id)
        .bind(name)
        .bind(report)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The reports of an execution's action executions: action execution id, report JSON.
pub async fn reports_of_execution(
    conn: &mut SqliteConnection,
    execution_id: &str,
) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT r.action_execution_id, r.report FROM reports r
           JOIN action_executions a ON a.id = r.action_execution_id
          WHERE a.execution_id = ? ORDER BY a.started_ms, r.name",
    )
    .bind(execution_id)
    .fetch_all(&mut *conn)
    .await?)
}
