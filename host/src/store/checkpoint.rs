//! WAL checkpoints off the write path. SQLite's automatic checkpoint runs
//! inside the commit that crosses the threshold, so one unlucky event pays
//! for copying the whole WAL into the database and its fsync (milliseconds).
//! The writer turns that off, and this thread checkpoints on its own
//! connection instead: PASSIVE, so it never waits for (or blocks) the
//! writer or readers; the writer's final close checkpoints whatever is left.
//! PASSIVE checkpoints never shrink the WAL file, so once writes have
//! stopped for [`IDLE_TICKS`] ticks the WAL is truncated as well (a quick
//! TRUNCATE that gives up at once if anyone is busy).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// How often the WAL is copied back into the database.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Ticks without WAL growth after which the WAL file is truncated.
pub const IDLE_TICKS: u32 = 4;

/// The background checkpointer; stops when dropped or told to.
pub struct Checkpointer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `path` every `every`.
    pub fn spawn(path: &Path, every: Duration) -> std::io::Result<Checkpointer> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let path = path.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("stagehand-db-checkpoint".into())
            .spawn(move || run(&path, every, &flag))?;
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the thread and waits for it (at most one checkpoint's time).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(path: &Path, every: Duration, stop: &AtomicBool) {
    let conn = match Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) {
        Ok(conn) => conn,
        Err(e) => {
            tracing::warn!(error = %e, "cannot open the checkpoint connection; the WAL grows until shutdown");
            return;
        }
    };
    // Never wait for a lock: a busy checkpoint is simply tried next tick.
    let _ = conn.busy_timeout(Duration::ZERO);
    let wal = wal_path(path);
    let (mut last_size, mut idle) = (0u64, 0u32);
    while !stop.load(Ordering::Relaxed) {
        std::thread::park_timeout(every);
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        idle = if size == last_size { idle + 1 } else { 0 };
        last_size = size;
        let mode = if idle >= IDLE_TICKS && size > 0 {
            "TRUNCATE"
        } else {
            "PASSIVE"
        };
        // (busy, wal pages, checkpointed pages); busy is normal under load.
        let pragma = format!("PRAGMA wal_checkpoint({mode})");
        let checkpoint = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            conn.query_row(&pragma, [], |r| r.get::<_, i64>(0))
        }));
        let Ok(checkpoint) = checkpoint else {
            tracing::error!("a WAL checkpoint crashed; trying again next tick");
            continue;
        };
        match checkpoint {
            Ok(0) if mode == "TRUNCATE" => {
                tracing::debug!(bytes = size, "idle: WAL truncated");
                last_size = 0;
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "WAL checkpoint skipped"),
        }
    }
}

/// The WAL file of the database at `path`.
fn wal_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    std::path::PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wal_pages(path: &Path) -> u64 {
        std::fs::metadata(wal_path(path))
            .map(|m| m.len())
            .unwrap_or(0)
    }

    #[test]
    fn an_idle_wal_is_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("idle.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
                 CREATE TABLE t (x TEXT);",
            )
            .unwrap();
        for _ in 0..100 {
            writer
                .execute("INSERT INTO t VALUES (?1)", [&"y".repeat(1000)])
                .unwrap();
        }
        assert!(wal_pages(&path) > 100_000);
        let mut checkpointer = Checkpointer::spawn(&path, Duration::from_millis(10)).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while wal_pages(&path) > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the idle WAL never shrank ({} bytes)",
                wal_pages(&path)
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        checkpointer.stop();
        let rows: i64 = writer
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 100, "nothing lost");
    }

    #[test]
    fn the_wal_is_checkpointed_in_the_background() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
                 CREATE TABLE t (x TEXT);",
            )
            .unwrap();
        for _ in 0..200 {
            writer
                .execute("INSERT INTO t VALUES (?1)", [&"y".repeat(1000)])
                .unwrap();
        }
        // Copy what is there now, so the main file's growth below is the
        // checkpointer's doing alone.
        writer
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap();
        let main_before = std::fs::metadata(&path).unwrap().len();
        let mut checkpointer = Checkpointer::spawn(&path, Duration::from_millis(10)).unwrap();
        for _ in 0..200 {
            writer
                .execute("INSERT INTO t VALUES (?1)", [&"z".repeat(1000)])
                .unwrap();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::fs::metadata(&path).unwrap().len() <= main_before + 200_000 {
            assert!(
                std::time::Instant::now() < deadline,
                "the checkpointer never copied the WAL back (wal {} bytes)",
                wal_pages(&path)
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        checkpointer.stop();
    }
}
