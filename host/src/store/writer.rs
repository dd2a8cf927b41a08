//! The single writer. One thread owns the write connection; every write is a
//! job sent to it. Jobs that arrive together run in one transaction, each in
//! its own savepoint (a failing job rolls back only itself), and each caller
//! hears back only after the transaction committed, so "written" always means
//! "on disk".

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::{StoreError, StoreOptions};

/// A write job as the writer thread sees it: run it inside the transaction,
/// then tell it whether the transaction committed.
trait Job: Send {
    fn run(&mut self, conn: &Connection, busy_timeout: Duration);
    fn finish(self: Box<Self>, committed: Result<(), &StoreError>);
}

struct Pending<T, F> {
    job: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Pending<T, F>
where
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send,
    T: Send,
{
    fn run(&mut self, conn: &Connection, busy_timeout: Duration) {
        let Some(job) = self.job.take() else { return };
        let outcome = catch_unwind(AssertUnwindSafe(|| savepoint(conn, job)))
            .unwrap_or_else(|_| Err(StoreError::Commit("the write job panicked".into())));
        self.result = Some(outcome.map_err(|e| match e {
            StoreError::Sqlite(e) => StoreError::from_sqlite(e, busy_timeout),
            other => other,
        }));
    }

    fn finish(self: Box<Self>, committed: Result<(), &StoreError>) {
        let out = match (committed, self.result) {
            (Ok(()), Some(result)) => result,
            (Ok(()), None) => Err(StoreError::Commit("the write job never ran".into())),
            (Err(e), _) if e.is_unwritable() => Err(StoreError::Unwritable(e.to_string())),
            (Err(e), _) => Err(StoreError::Commit(e.to_string())),
        };
        let _ = self.reply.send(out);
    }
}

/// A queued write: resolves to the job's result once its transaction
/// committed (or to the reason it did not).
pub struct PendingWrite<T> {
    rx: oneshot::Receiver<Result<T, StoreError>>,
}

impl<T> std::future::Future for PendingWrite<T> {
    type Output = Result<T, StoreError>;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(StoreError::WriterStopped)))
    }
}

enum Msg {
    Job(Box<dyn Job>),
    Close(oneshot::Sender<()>),
}

/// Sends write jobs to the writer thread.
pub struct WriteHandle {
    tx: mpsc::Sender<Msg>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// True while the writer thread runs.
    alive: tokio::sync::watch::Receiver<bool>,
}

/// Marks the writer stopped however its thread ends (a panic included).
struct AliveGuard(tokio::sync::watch::Sender<bool>);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.send_replace(false);
    }
}

impl WriteHandle {
    pub(super) fn spawn(conn: Connection, options: &StoreOptions) -> Result<Self, StoreError> {
        let (tx, rx) = mpsc::channel(options.queue.max(1));
        let max_batch = options.max_batch.max(1);
        let busy_timeout = options.busy_timeout;
        let (alive_tx, alive) = tokio::sync::watch::channel(true);
        let thread = std::thread::Builder::new()
            .name("stagehand-db-writer".into())
            .spawn(move || {
                let _alive = AliveGuard(alive_tx);
                run(conn, rx, max_batch, busy_timeout)
            })
            .map_err(|e| StoreError::Commit(format!("cannot start the writer thread: {e}")))?;
        Ok(WriteHandle {
            tx,
            thread: Mutex::new(Some(thread)),
            alive,
        })
    }

    /// Resolves when the writer thread has ended (closed, or died).
    pub async fn stopped(&self) {
        let mut alive = self.alive.clone();
        let _ = alive.wait_for(|running| !running).await;
    }

    /// Runs `job` in the writer's transaction; resolves after the commit.
    pub async fn write<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.enqueue(job).await?.await
    }

    /// Queues `job` and returns as soon as the writer has accepted it; the
    /// returned [`PendingWrite`] resolves after the commit. Lets a caller
    /// prepare the next write while this one commits, keeping order.
    pub async fn enqueue<T, F>(&self, job: F) -> Result<PendingWrite<T>, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let pending = Pending {
            job: Some(job),
            result: None,
            reply,
        };
        self.tx
            .send(Msg::Job(Box::new(pending)))
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        Ok(PendingWrite { rx })
    }

    /// Queues `job` without waiting for it (from a plain thread, not inside
    /// the async runtime); a failure is logged with `what`.
    pub fn send_blocking<F>(&self, what: &'static str, job: F)
    where
        F: FnOnce(&Connection) -> Result<(), StoreError> + Send + 'static,
    {
        let (reply, _) = oneshot::channel();
        let job = move |c: &Connection| {
            let result = job(c);
            if let Err(e) = &result {
                tracing::error!(error = %e, "{what} failed");
            }
            result
        };
        let pending = Pending {
            job: Some(job),
            result: None,
            reply,
        };
        if self.tx.blocking_send(Msg::Job(Box::new(pending))).is_err() {
            tracing::error!("{what} not written: the database writer has stopped");
        }
    }

    /// [`WriteHandle::write`] for code outside the async runtime (CLI, benches).
    pub fn write_blocking<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let pending = Pending {
            job: Some(job),
            result: None,
            reply,
        };
        self.tx
            .blocking_send(Msg::Job(Box::new(pending)))
            .map_err(|_| StoreError::WriterStopped)?;
        rx.blocking_recv().map_err(|_| StoreError::WriterStopped)?
    }

    /// Commits everything queued before this call, then stops the thread.
    pub async fn close(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Close(ack)).await.is_ok() {
            let _ = done.await;
        }
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

fn run(conn: Connection, mut rx: mpsc::Receiver<Msg>, max_batch: usize, busy_timeout: Duration) {
    let mut closing = None;
    while closing.is_none() {
        let Some(first) = rx.blocking_recv() else {
            break;
        };
        let mut batch: Vec<Box<dyn Job>> = Vec::new();
        match first {
            Msg::Job(job) => batch.push(job),
            Msg::Close(ack) => closing = Some(ack),
        }
        while closing.is_none() && batch.len() < max_batch {
            match rx.try_recv() {
                Ok(Msg::Job(job)) => batch.push(job),
                Ok(Msg::Close(ack)) => closing = Some(ack),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            commit_batch(&conn, batch, busy_timeout);
        }
    }
    // Closing the last connection checkpoints the WAL into the main file.
    if let Err((_, e)) = conn.close() {
        tracing::warn!(error = %e, "closing the database writer connection");
    }
    if let Some(ack) = closing {
        let _ = ack.send(());
    }
}

fn commit_batch(conn: &Connection, mut batch: Vec<Box<dyn Job>>, busy_timeout: Duration) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let why = StoreError::from_sqlite(e, busy_timeout);
        tracing::error!(error = %why, jobs = batch.len(), "cannot start a write transaction");
        for job in batch {
            job.finish(Err(&why));
        }
        return;
    }
    for job in batch.iter_mut() {
        job.run(conn, busy_timeout);
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => {
            for job in batch {
                job.finish(Ok(()));
            }
        }
        Err(e) => {
            let why = StoreError::from_sqlite(e, busy_timeout);
            tracing::error!(error = %why, jobs = batch.len(), "write transaction failed to commit");
            let _ = conn.execute_batch("ROLLBACK");
            for job in batch {
                job.finish(Err(&why));
            }
        }
    }
}

/// Runs `f` inside a savepoint: its writes are kept when it returns `Ok` and
/// undone when it returns `Err`. Savepoints nest, and outside a transaction
/// one behaves as a transaction of its own, so repository functions that
/// must be all-or-nothing use this whether or not a caller opened one.
pub fn savepoint<T, F>(conn: &Connection, f: F) -> Result<T, StoreError>
where
    F: FnOnce(&Connection) -> Result<T, StoreError>,
{
    // Cached statements: savepoints wrap every write job, so parsing them
    // each time would be a measurable share of an insert.
    conn.prepare_cached("SAVEPOINT sp")?.execute([])?;
    match f(conn) {
        Ok(value) => {
            conn.prepare_cached("RELEASE sp")?.execute([])?;
            Ok(value)
        }
        Err(e) => {
            conn.prepare_cached("ROLLBACK TO sp")?.execute([])?;
            conn.prepare_cached("RELEASE sp")?.execute([])?;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, crate::store::Store) {
        let dir = tempfile::tempdir().unwrap();
        let store =
            crate::store::Store::open(dir.path().join("t.db"), StoreOptions::default()).unwrap();
        (dir, store)
    }

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM plugin_kv", [], |r| r.get(0))
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_job_rolls_back_only_itself() {
        let (_dir, store) = store();
        let ok = store.write(|c| {
            c.execute("INSERT INTO plugin_kv VALUES ('p', 'a', '1', 0)", [])?;
            Ok(())
        });
        let bad = store.write(|c| {
            c.execute("INSERT INTO plugin_kv VALUES ('p', 'b', '1', 0)", [])?;
            c.execute("INSERT INTO no_such_table VALUES (1)", [])?;
            Ok(())
        });
        let (ok, bad) = tokio::join!(ok, bad);
        ok.unwrap();
        assert!(bad.is_err());
        let n = store.read(|c| Ok(count(c))).await.unwrap();
        assert_eq!(n, 1, "only the successful job's row is kept");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_job_does_not_kill_the_writer() {
        let (_dir, store) = store();
        let r: Result<(), _> = store.write(|_| panic!("boom")).await;
        assert!(r.unwrap_err().to_string().contains("panicked"));
        store
            .write(|c| {
                c.execute("INSERT INTO plugin_kv VALUES ('p', 'a', '1', 0)", [])?;
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(store.read(|c| Ok(count(c))).await.unwrap(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_are_batched_and_all_committed() {
        let (_dir, store) = store();
        let mut tasks = Vec::new();
        for i in 0..500 {
            let s = store.clone();
            tasks.push(tokio::spawn(async move {
                s.write(move |c| {
                    c.execute(
                        "INSERT INTO plugin_kv VALUES ('p', ?1, 'v', 0)",
                        [i.to_string()],
                    )?;
                    Ok(())
                })
                .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(store.read(|c| Ok(count(c))).await.unwrap(), 500);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn close_commits_queued_writes_and_later_writes_fail() {
        let (dir, store) = store();
        let pending = {
            let s = store.clone();
            tokio::spawn(async move {
                s.write(|c| {
                    c.execute("INSERT INTO plugin_kv VALUES ('p', 'a', '1', 0)", [])?;
                    Ok(())
                })
                .await
            })
        };
        tokio::task::yield_now().await;
        pending.await.unwrap().unwrap();
        store.close().await;
        let late = store.write(|_| Ok(())).await;
        assert!(matches!(late, Err(StoreError::WriterStopped)));
        let conn = Connection::open(dir.path().join("t.db")).unwrap();
        assert_eq!(count(&conn), 1);
    }

    #[test]
    fn savepoints_nest() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x)").unwrap();
        savepoint(&conn, |c| {
            c.execute("INSERT INTO t VALUES (1)", [])?;
            let inner: Result<(), StoreError> = savepoint(c, |c| {
                c.execute("INSERT INTO t VALUES (2)", [])?;
                Err(StoreError::Commit("no".into()))
            });
            assert!(inner.is_err());
            Ok(())
        })
        .unwrap();
        let xs: Vec<i64> = conn
            .prepare("SELECT x FROM t")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(xs, vec![1]);
    }
}
