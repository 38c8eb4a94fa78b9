//! trigger_refs: what the local trigger watchers have seen of each watched source's repository,
//! moved with compare-and-set so two watchers never both start an execution for one change.

use sqlx::SqliteConnection;

use crate::Result;

/// What the trigger watchers have seen of a watched source's repository: ref and commit.
pub async fn seen_refs(
    conn: &mut SqliteConnection,
    pipeline: &str,
    action: &str,
) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT ref, commit_id FROM trigger_refs WHERE pipeline = ? AND action = ? ORDER BY ref",
    )
    .bind(pipeline)
    .bind(action)
    .fetch_all(&mut *conn)
    .await?)
}

/// Moves a seen ref from `old` (None: not seen yet) to `new`; false when another watcher moved
/// it first, so only one of them acts on the change.
pub async fn claim_ref(
    conn: &mut SqliteConnection,
    pipeline: &str,
    action: &str,
    reference: &str,
    old: Option<&str>,
    new: &str,
) -> Result<bool> {
    let done = match old {
        Some(old) => {
            sqlx::query(
                "UPDATE trigger_refs SET commit_id = ? WHERE pipeline = ? AND action = ? AND ref = ? AND commit_id = ?",
            )
            .bind(new)
            .bind(pipeline)
            .bind(action)
            .bind(reference)
            .bind(old)
            .execute(&mut *conn)
            .await?
        }
        None => {
            sqlx::query(
                "INSERT INTO trigger_refs (pipeline, action, ref, commit_id) VALUES (?, ?, ?, ?)
                 ON CONFLICT DO NOTHING",
            )
            .bind(pipeline)
            .bind(action)
            .bind(reference)
            .bind(new)
            .execute(&mut *conn)
            .await?
        }
    };
    Ok(done.rows_affected() == 1)
}

/// Forgets a ref that is gone from the repository, unless another watcher has seen it at
/// another commit since (a tag deleted and made again).
pub async fn forget_ref(
    conn: &mut SqliteConnection,
    pipeline: &str,
    action: &str,
    reference: &str,
    seen: &str,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM trigger_refs WHERE pipeline = ? AND action = ? AND ref = ? AND commit_id = ?",
    )
    .bind(pipeline)
    .bind(action)
    .bind(reference)
    .bind(seen)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Forgets everything seen of a source (its repository changed).
pub async fn forget_refs(conn: &mut SqliteConnection, pipeline: &str, action: &str) -> Result<()> {
    sqlx::query("DELETE FROM trigger_refs WHERE pipeline = ? AND action = ?")
        .bind(pipeline)
        .bind(action)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
