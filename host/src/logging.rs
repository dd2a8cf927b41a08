//! Log output: readable lines by default, JSON lines on request. The filter
//! comes from `STAGEHAND_LOG` (or `RUST_LOG`), `info` by default.
//!
//! Logging must never hurt the host: a full disk, a closed or blocked
//! stderr (a service manager's pipe nobody reads) must not panic or stall
//! whatever thread logs (the database writer, a plugin worker, the event
//! pipeline). So lines go through a bounded queue to one thread that
//! writes them to stderr and ignores write errors; when the queue is full
//! lines are dropped and counted, and the count is written once there is
//! room again.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::LogFormat;

/// Lines that may wait for the writer thread.
const QUEUE: usize = 8192;

/// Installs the global subscriber; logs go to stderr so stdout carries only
/// what the user asked for (URLs, command output).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env("STAGEHAND_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(StderrQueue::global());
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// The queue in front of stderr. Cloning is cheap.
#[derive(Clone)]
pub struct StderrQueue {
    tx: Sender<Vec<u8>>,
    dropped: Arc<AtomicU64>,
}

impl StderrQueue {
    /// The process's queue, with its writer thread started on first use.
    pub fn global() -> StderrQueue {
        static QUEUE_TO_STDERR: OnceLock<StderrQueue> = OnceLock::new();
        QUEUE_TO_STDERR
            .get_or_init(|| StderrQueue::start(std::io::stderr))
            .clone()
    }

    /// A queue whose thread writes to what `open` returns.
    pub fn start<W: Write + 'static>(open: impl FnOnce() -> W + Send + 'static) -> StderrQueue {
        let (tx, rx) = crossbeam_channel::bounded(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let counted = dropped.clone();
        let spawned = std::thread::Builder::new()
            .name("stagehand-log".into())
            .spawn(move || write_lines(open(), rx, counted));
        if spawned.is_err() {
            // No thread, no logs; still never block or panic.
            drop(spawned);
        }
        StderrQueue { tx, dropped }
    }

    /// Lines dropped so far (queue full or writer gone).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn push(&self, line: Vec<u8>) {
        match self.tx.try_send(line) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The writer thread: writes each line, ignoring errors (nothing useful
/// can be done about a log that cannot be written), and reports drops.
fn write_lines<W: Write>(mut out: W, rx: Receiver<Vec<u8>>, dropped: Arc<AtomicU64>) {
    let mut reported = 0;
    while let Ok(line) = rx.recv() {
        let now = dropped.load(Ordering::Relaxed);
        if now > reported {
            let note = format!("stagehand: {} log lines were dropped\n", now - reported);
            let _ = out.write_all(note.as_bytes());
            reported = now;
        }
        let _ = out.write_all(&line);
        let _ = out.flush();
    }
}

/// One log line being formatted; queued when dropped.
pub struct QueuedLine {
    buf: Vec<u8>,
    queue: StderrQueue,
}

impl Write for QueuedLine {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for QueuedLine {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            self.queue.push(std::mem::take(&mut self.buf));
        }
    }
}

impl<'a> MakeWriter<'a> for StderrQueue {
    type Writer = QueuedLine;

    fn make_writer(&'a self) -> QueuedLine {
        QueuedLine {
            buf: Vec::with_capacity(256),
            queue: self.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    /// A writer that fails every write, as a full disk or a closed stderr.
    struct Broken;

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::from_raw_os_error(libc::ENOSPC))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::Error::from_raw_os_error(libc::EBADF))
        }
    }

    /// A writer that blocks for good, as a pipe nobody reads.
    struct Stuck;

    impl Write for Stuck {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[derive(Clone, Default)]
    struct Collect(Arc<Mutex<Vec<u8>>>);

    impl Write for Collect {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn log(queue: &StderrQueue, text: &str) {
        let mut line = queue.make_writer();
        line.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn a_failing_stderr_neither_panics_nor_stops_logging() {
        let queue = StderrQueue::start(|| Broken);
        for n in 0..1000 {
            log(&queue, &format!("line {n}\n"));
        }
        // Still accepting lines: the writer thread is alive and draining.
        std::thread::sleep(Duration::from_millis(100));
        log(&queue, "after\n");
        assert!(queue.tx.len() < QUEUE);
    }

    #[test]
    fn a_stuck_stderr_never_blocks_the_logging_thread() {
        let queue = StderrQueue::start(|| Stuck);
        let started = Instant::now();
        for n in 0..(QUEUE + 500) {
            log(&queue, &format!("line {n}\n"));
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(queue.dropped() >= 499, "{} dropped", queue.dropped());
    }

    #[test]
    fn lines_arrive_whole_and_in_order_with_drops_summed_up() {
        let out = Collect::default();
        let written = out.clone();
        let queue = StderrQueue::start(move || written);
        log(&queue, "one\n");
        log(&queue, "two\n");
        queue.dropped.fetch_add(3, Ordering::Relaxed);
        log(&queue, "three\n");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
            if text.contains("three") {
                let at = |needle: &str| text.find(needle).unwrap();
                assert!(
                    at("one\n") < at("two\n") && at("two\n") < at("three\n"),
                    "{text}"
                );
                assert!(text.contains("3 log lines were dropped"), "{text}");
                break;
            }
            assert!(Instant::now() < deadline, "{text}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
