//! SQLite storage: one file, WAL mode, one writer thread that batches whatever
//! arrives together into one transaction, and a small pool of read-only
//! connections. Repositories (one module per table family) are plain
//! functions on a `&Connection`, so they are tested without the writer and
//! composed into a single write job when several must commit together.
//!
//! [`StreamerStore`] offers the same file through the repositories every
//! store has ([`crate::storage::repositories`]), so code written against
//! them runs on the single host as on a cluster.

pub mod access;
pub mod announcements;
pub mod bans;
pub mod baselines;
pub mod check;
mod checkpoint;
pub mod clips;
pub mod events;
pub mod eventsub_messages;
pub mod followers;
pub mod media;
pub mod migrations;
mod open;
pub mod overlay_alerts;
pub mod overlay_pauses;
pub mod plugins;
pub mod polling_config;
mod read_pool;
pub mod roles;
mod streamer;
pub mod subscriptions;
pub mod tts_grants;
pub mod tts_rules;
pub mod tts_settings;
pub mod viewer_list;
pub mod viewers;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;

pub use open::{open_existing_read_only, open_for_writing};
use read_pool::ReadPool;
pub use streamer::StreamerStore;
pub use writer::{PendingWrite, WriteHandle, savepoint};

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{path} is not a SQLite database (or is encrypted or damaged at the header); \
         it was left untouched. Move it away or point STAGEHAND_DATA_DIR elsewhere"
    )]
    NotADatabase { path: PathBuf },
    #[error(
        "{path} is corrupt: {details}. It was left untouched; \
         restore a backup or move it away to start a new database"
    )]
    Corrupt { path: PathBuf, details: String },
    #[error(
        "{path} has schema version {found}, newer than this Stagehand supports ({supported}); \
         upgrade Stagehand or use another data directory"
    )]
    TooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("cannot open database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("migrating {path} failed: {source}")]
    Migrate {
        path: PathBuf,
        #[source]
        source: rusqlite_migration::Error,
    },
    #[error("database is locked by another process (waited {waited:?}): {message}")]
    Locked { waited: Duration, message: String },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("events JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the transaction holding this write failed to commit: {0}")]
    Commit(String),
    /// The database cannot be written now (the disk is full, an I/O error,
    /// the file became read-only): worth retrying once that is fixed.
    #[error("cannot write the database: {0} (is the disk full?)")]
    Unwritable(String),
    #[error("the database writer has stopped")]
    WriterStopped,
    #[error("a database read task failed: {0}")]
    ReadTask(String),
}

impl StoreError {
    /// Turns SQLITE_BUSY into [`StoreError::Locked`] so callers and logs say
    /// what happened rather than "database is locked" without context.
    pub(crate) fn from_sqlite(e: rusqlite::Error, busy_timeout: Duration) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                StoreError::Locked {
                    waited: busy_timeout,
                    message: e.to_string(),
                }
            }
            Some(
                rusqlite::ErrorCode::DiskFull
                | rusqlite::ErrorCode::SystemIoFailure
                | rusqlite::ErrorCode::ReadOnly,
            ) => StoreError::Unwritable(e.to_string()),
            _ => StoreError::Sqlite(e),
        }
    }

    /// Whether the write failed because the database cannot be written
    /// right now (disk full, I/O error), not because of what was written:
    /// the same write may succeed later.
    pub fn is_unwritable(&self) -> bool {
        match self {
            StoreError::Unwritable(_) => true,
            StoreError::Sqlite(e) => matches!(
                e.sqlite_error_code(),
                Some(
                    rusqlite::ErrorCode::DiskFull
                        | rusqlite::ErrorCode::SystemIoFailure
                        | rusqlite::ErrorCode::ReadOnly
                )
            ),
            _ => false,
        }
    }
}

/// How to open the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How long a statement waits for another process's lock before failing.
    pub busy_timeout: Duration,
    /// Read-only connections kept for queries.
    pub readers: usize,
    /// The most write jobs committed in one transaction.
    pub max_batch: usize,
    /// Write jobs that may wait for the writer before senders are slowed.
    pub queue: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            busy_timeout: Duration::from_secs(5),
            readers: 4,
            max_batch: 1024,
            queue: 8192,
        }
    }
}

/// The database: clone it freely, every clone shares the writer and readers.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: WriteHandle,
    readers: ReadPool,
    checkpointer: std::sync::Mutex<Option<checkpoint::Checkpointer>>,
}

impl Store {
    /// Opens (creating if absent) the database at `path`, refusing files
    /// that are not SQLite, corrupt, or from a newer schema, and applies
    /// pending migrations. Nothing is written before those checks pass.
    pub fn open(path: impl AsRef<Path>, options: StoreOptions) -> Result<Store, StoreError> {
        let path = path.as_ref().to_path_buf();
        let conn = open_for_writing(&path, options.busy_timeout)?;
        let readers = ReadPool::new(path.clone(), options.readers, options.busy_timeout);
        let writer = WriteHandle::spawn(conn, &options)?;
        let checkpointer = match checkpoint::Checkpointer::spawn(
            &path,
            checkpoint::CHECKPOINT_EVERY,
        ) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the WAL checkpointer; the WAL grows until shutdown");
                None
            }
        };
        Ok(Store {
            inner: Arc::new(Inner {
                path,
                writer,
                readers,
                checkpointer: std::sync::Mutex::new(checkpointer),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The single writer: every write goes through it.
    pub fn writer(&self) -> &WriteHandle {
        &self.inner.writer
    }

    /// Runs `job` in the writer's current transaction (inside its own
    /// savepoint) and returns once that transaction has committed.
    pub async fn write<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.inner.writer.write(job).await
    }

    /// Runs `query` on a read-only connection off the async runtime.
    pub async fn read<T, F>(&self, query: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.inner.readers.read(query).await
    }

    /// Waits until every write sent so far has committed, then stops the
    /// writer thread. Later writes fail with [`StoreError::WriterStopped`].
    pub async fn close(&self) {
        let checkpointer = self
            .inner
            .checkpointer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(mut checkpointer) = checkpointer {
            let _ = tokio::task::spawn_blocking(move || checkpointer.stop()).await;
        }
        self.inner.writer.close().await;
    }
}

/// Milliseconds since the Unix epoch for a timestamp, as the schema stores it.
pub fn to_ms(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_millis()
}

/// The timestamp for a stored millisecond count.
pub fn from_ms(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod testing {
    use rusqlite::Connection;

    /// An in-memory database at the latest schema, for repository tests.
    pub fn memory_db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        super::migrations::apply(&mut conn).unwrap();
        conn
    }
}
