//! Read-only connections for queries, so reads never wait for the writer
//! (WAL lets them see the last committed state while it writes).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

use super::{StoreError, open_existing_read_only};

/// Reuses up to `max` idle read-only connections; opens more on demand.
#[derive(Clone)]
pub(super) struct ReadPool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    max_idle: usize,
    busy_timeout: Duration,
}

impl ReadPool {
    pub(super) fn new(path: PathBuf, max_idle: usize, busy_timeout: Duration) -> Self {
        ReadPool {
            inner: Arc::new(PoolInner {
                path,
                idle: Mutex::new(Vec::new()),
                max_idle,
                busy_timeout,
            }),
        }
    }

    /// Runs `query` on a pooled connection in a blocking task.
    pub(super) async fn read<T, F>(&self, query: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner.take()?;
            let result = query(&conn);
            inner.give_back(conn);
            result
        })
        .await
        .map_err(|e| StoreError::ReadTask(e.to_string()))?
    }
}

impl PoolInner {
    fn take(&self) -> Result<Connection, StoreError> {
        if let Some(conn) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(conn);
        }
        let conn = open_existing_read_only(&self.path, self.busy_timeout)?;
        conn.execute_batch("PRAGMA query_only = ON")?;
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.max_idle {
            idle.push(conn);
        }
    }
}
