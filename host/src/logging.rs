//! Log output: readable lines by default, JSON lines on request. The filter
//! comes from `STAGEHAND_LOG` (or `RUST_LOG`), `info` by default.
//!
//! JSON lines ([`JsonLines`]) are one object per line for log collectors:
//! `timestamp`, `level`, `target`, `message`, the event's fields and the
//! fields of every span it happened in, flattened to the top level. So a
//! line logged inside `info_span!("channel", channel_id = %id)` carries
//! `channel_id`, and a collector can select one channel's lines without
//! knowing the span structure.
//!
//! Logging must never hurt the host: a full disk, a closed or blocked
//! stderr (a service manager's pipe nobody reads) must not panic or stall
//! whatever thread logs (the database writer, a plugin worker, the event
//! pipeline). So lines go through a bounded queue to one thread that
//! writes them to stderr and ignores write errors; when the queue is full
//! lines are dropped and counted, and the count is written once there is
//! room again.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{DefaultFields, Format, JsonFields, Writer};
use tracing_subscriber::fmt::{
    FmtContext, FormatEvent, FormatFields, FormattedFields, MakeWriter, SubscriberBuilder,
};
use tracing_subscriber::registry::LookupSpan;

use crate::config::LogFormat;

/// The environment variable choosing the format (`human` or `json`), for
/// commands that read no configuration file (the cluster roles).
pub const FORMAT_VAR: &str = "STAGEHAND_LOG_FORMAT";

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
        LogFormat::Json => json_lines(builder).try_init(),
    };
}

/// The format `STAGEHAND_LOG_FORMAT` asks for: human unless it says json.
pub fn format_from_env() -> Result<LogFormat, InvalidLogFormat> {
    parse_format(std::env::var(FORMAT_VAR).ok())
}

fn parse_format(value: Option<String>) -> Result<LogFormat, InvalidLogFormat> {
    match value {
        None => Ok(LogFormat::Human),
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "human" | "" => Ok(LogFormat::Human),
            "json" => Ok(LogFormat::Json),
            _ => Err(InvalidLogFormat(v)),
        },
    }
}

/// Installs the global subscriber in the format `STAGEHAND_LOG_FORMAT`
/// asks for: what the cluster commands call first.
pub fn init_from_env() -> Result<LogFormat, InvalidLogFormat> {
    let format = format_from_env()?;
    init(format);
    Ok(format)
}

/// `STAGEHAND_LOG_FORMAT` names no format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{FORMAT_VAR}={0:?} is not human or json")]
pub struct InvalidLogFormat(pub String);

/// Switches a subscriber builder to [`JsonLines`]. Span fields are kept as
/// JSON ([`JsonFields`]) so each line can merge them.
fn json_lines<F, W>(
    builder: SubscriberBuilder<DefaultFields, Format, F, W>,
) -> SubscriberBuilder<JsonFields, JsonLines, F, W>
where
    W: for<'w> MakeWriter<'w> + 'static,
{
    builder
        .fmt_fields(JsonFields::new())
        .event_format(JsonLines)
}

/// One JSON object per line: `timestamp` (RFC 3339, UTC), `level`,
/// `target`, `message`, the event's fields and its spans' fields (outer
/// spans first, so an inner span's field wins, and the event's own fields
/// win over both), and `spans`, the span names from the outermost.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = Map::new();
        if let Some(scope) = ctx.event_scope() {
            let mut names = Vec::new();
            for span in scope.from_root() {
                names.push(Value::from(span.name()));
                let extensions = span.extensions();
                let fields = extensions
                    .get::<FormattedFields<N>>()
                    .and_then(|f| serde_json::from_str::<Map<String, Value>>(&f.fields).ok());
                line.extend(fields.into_iter().flatten());
            }
            line.insert("spans".into(), Value::Array(names));
        }
        event.record(&mut JsonVisitor(&mut line));
        let meta = event.metadata();
        line.insert(
            "timestamp".into(),
            chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                .into(),
        );
        line.insert("level".into(), meta.level().as_str().into());
        line.insert("target".into(), meta.target().into());
        writeln!(writer, "{}", Value::Object(line))
    }
}

/// Collects an event's fields as JSON values.
struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.insert(field.name().into(), value.to_string().into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
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

    /// A writer for one test's subscriber.
    impl<'a> MakeWriter<'a> for Collect {
        type Writer = Collect;
        fn make_writer(&'a self) -> Collect {
            self.clone()
        }
    }

    #[test]
    fn json_lines_carry_the_span_fields_flattened() {
        let out = Collect::default();
        let subscriber = json_lines(tracing_subscriber::fmt().with_writer(out.clone())).finish();
        tracing::subscriber::with_default(subscriber, || {
            let channel = tracing::info_span!("channel", channel_id = %"141981764");
            let _in_channel = channel.enter();
            let batch = tracing::info_span!("batch", partition = 3u32, channel_id = "inner");
            let _in_batch = batch.enter();
            tracing::warn!(
                sequence = 42u64,
                reason = "late",
                "event stored {}",
                "slowly"
            );
        });
        tracing::subscriber::with_default(
            json_lines(tracing_subscriber::fmt().with_writer(out.clone())).finish(),
            || tracing::info!("outside any span"),
        );
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let line: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(line["message"], "event stored slowly", "{line}");
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["target"], module_path!());
        // The inner span's field wins over the outer one's of the same name.
        assert_eq!(line["channel_id"], "inner");
        assert_eq!(line["partition"], 3);
        assert_eq!(line["sequence"], 42);
        assert_eq!(line["reason"], "late");
        assert_eq!(line["spans"], serde_json::json!(["channel", "batch"]));
        let stamp = line["timestamp"].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
            "{stamp}"
        );

        let line: Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(line["message"], "outside any span");
        assert!(
            line.get("channel_id").is_none() && line.get("spans").is_none(),
            "{line}"
        );
    }

    #[test]
    fn the_format_variable_is_human_unless_it_says_json() {
        assert_eq!(parse_format(None), Ok(LogFormat::Human));
        assert_eq!(parse_format(Some("human".into())), Ok(LogFormat::Human));
        assert_eq!(parse_format(Some("JSON".into())), Ok(LogFormat::Json));
        assert_eq!(
            parse_format(Some("xml".into())),
            Err(InvalidLogFormat("xml".into()))
        );
    }

    #[test]
    fn a_channel_span_alone_tags_the_line() {
        let out = Collect::default();
        let subscriber = json_lines(tracing_subscriber::fmt().with_writer(out.clone())).finish();
        tracing::subscriber::with_default(subscriber, || {
            let id = "12826";
            tracing::info_span!("channel", channel_id = %id).in_scope(|| {
                tracing::info!("alert queued");
            });
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let line: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["channel_id"], "12826", "{line}");
        assert_eq!(line["message"], "alert queued");
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
