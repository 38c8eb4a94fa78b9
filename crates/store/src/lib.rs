//! SQLite persistence through sqlx: pipeline versions, executions, stage and action executions,
//! logs, events, the audit log and the engines that own executions.
//!
//! Architecture invariant: this crate stores and reads rows; it knows no execution rules. Which
//! execution may enter a stage, what a stop does, when an approval expires: all of that is the
//! engine's, which composes these row operations inside the transactions it opens.
//!
//! Several processes share one database file (a `pipewright run` in one terminal, `pipewright
//! approve` in another, later the desktop app), so the database runs in WAL mode with a busy
//! timeout, and every write transaction starts with `BEGIN IMMEDIATE`: a deferred transaction that
//! reads and then writes can fail with SQLITE_BUSY when another process wrote in between, which no
//! busy timeout retries.

mod build_results;
mod rows;
mod trigger_refs;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

pub use build_results::*;
pub use rows::*;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};
pub use sqlx::{SqliteConnection, Transaction};
pub use trigger_refs::*;

pub type Tx = Transaction<'static, Sqlite>;
pub type PoolConnection = sqlx::pool::PoolConnection<Sqlite>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot open the database {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("cannot lock {path}: {source}")]
    Lock {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot bring the database schema up to date: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("stored JSON in {what} is unreadable: {source}")]
    Json {
        what: &'static str,
        source: serde_json::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The database of one data directory. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        // Two processes opening a new data directory at once would both try to create the
        // schema; an exclusive lock on a file beside the database lets one migrate at a time.
        let lock_path = path.with_extension("lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .and_then(|file| file.lock().map(|()| file))
            .map_err(|source| Error::Lock {
                path: lock_path.display().to_string(),
                source,
            })?;
        let store = Self::open_locked(path).await;
        drop(lock);
        store
    }

    async fn open_locked(path: &Path) -> Result<Self> {
        let url = format!("sqlite://{}", path.display());
        let options = SqliteConnectOptions::from_str(&url)
            .map_err(|source| Error::Open {
                path: path.display().to_string(),
                source,
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode loses no committed transaction on a process crash, only on a
            // power loss, and saves an fsync per commit.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true)
            // Reading pages through a memory map instead of a pread per page: executions read
            // back what they just wrote all the time.
            .pragma("mmap_size", "268435456")
            .pragma("temp_store", "memory");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|source| Error::Open {
                path: path.display().to_string(),
                source,
            })?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A write transaction (`BEGIN IMMEDIATE`, see the crate documentation).
    pub async fn write(&self) -> Result<Tx> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// A connection for reads that need no snapshot across queries.
    pub async fn acquire(&self) -> Result<PoolConnection> {
        Ok(self.pool.acquire().await?)
    }
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Serialising plain data (maps, strings, numbers) into a string cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    what: &'static str,
    text: &str,
) -> Result<T> {
    serde_json::from_str(text).map_err(|source| Error::Json { what, source })
}

/// Allocates the next number of a named counter (execution start order, stage entry order).
pub async fn next_counter(conn: &mut SqliteConnection, name: &str) -> Result<i64> {
    let value: i64 = sqlx::query_scalar(
        "INSERT INTO counters (name, value) VALUES (?, 1)
         ON CONFLICT (name) DO UPDATE SET value = value + 1
         RETURNING value",
    )
    .bind(name)
    .fetch_one(&mut *conn)
    .await?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn opens_migrates_and_reopens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pipewright.db");
        let store = Store::open(&path).await.expect("open");
        let mut tx = store.write().await.expect("tx");
        assert_eq!(next_counter(&mut tx, "x").await.expect("counter"), 1);
        assert_eq!(next_counter(&mut tx, "x").await.expect("counter"), 2);
        tx.commit().await.expect("commit");
        drop(store);
        let store = Store::open(&path).await.expect("reopen");
        let mut tx = store.write().await.expect("tx");
        assert_eq!(next_counter(&mut tx, "x").await.expect("counter"), 3);
    }

    #[tokio::test]
    async fn a_seen_ref_is_claimed_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("pipewright.db"))
            .await
            .expect("open");
        let mut tx = store.write().await.expect("tx");
        assert!(
            claim_ref(&mut tx, "p", "App", "refs/heads/main", None, "c1")
                .await
                .expect("first sight")
        );
        // Two watchers that both saw c1 move it to c2: only the first one acts.
        assert!(
            claim_ref(&mut tx, "p", "App", "refs/heads/main", Some("c1"), "c2")
                .await
                .expect("claim")
        );
        assert!(
            !claim_ref(&mut tx, "p", "App", "refs/heads/main", Some("c1"), "c2")
                .await
                .expect("claim again")
        );
        assert!(
            !claim_ref(&mut tx, "p", "App", "refs/heads/main", None, "c3")
                .await
                .expect("first sight again")
        );
        // A ref is forgotten only at the commit the watcher saw.
        forget_ref(&mut tx, "p", "App", "refs/heads/main", "c1")
            .await
            .expect("forget");
        assert_eq!(
            seen_refs(&mut tx, "p", "App").await.expect("seen"),
            [("refs/heads/main".to_owned(), "c2".to_owned())]
        );
    }

    #[tokio::test]
    async fn summaries_show_what_the_latest_version_declares() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("pipewright.db"))
            .await
            .expect("open");
        let mut tx = store.write().await.expect("tx");
        // Added before "a": the summaries come by name.
        add_pipeline_version(&mut tx, "b", r#"{"name": "b", "stages": []}"#, None, "t", 0)
            .await
            .expect("b");
        let v2 = r#"{"name": "a", "pipelineType": "V2", "executionMode": "QUEUED", "stages": []}"#;
        add_pipeline_version(&mut tx, "a", r#"{"name": "a", "stages": []}"#, None, "t", 1)
            .await
            .expect("version 1");
        add_pipeline_version(&mut tx, "a", v2, None, "t", 2)
            .await
            .expect("version 2");
        let summaries = pipeline_summaries(&mut tx).await.expect("summaries");
        let seen: Vec<_> = summaries
            .iter()
            .map(|s| {
                (
                    s.name.as_str(),
                    s.latest_version,
                    s.pipeline_type.as_deref(),
                    s.execution_mode.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [("a", 2, Some("V2"), Some("QUEUED")), ("b", 1, None, None)]
        );
    }
}
