//! The metrics every cluster role exposes at `/metrics`, in one registry:
//! counters of events in and out, duplicates, redeliveries and plugin
//! faults; gauges of consumer lag and queue depths; latency histograms
//! (event → stored, event → overlay sent) and, next to them, p99 gauges
//! over a recent window, so an operator reading the page (or a plain
//! alert rule) sees the p99 without a PromQL `histogram_quantile`.
//!
//! Every series carries the node's `role` (ingest, worker, edge), so one
//! Prometheus job can scrape them all; partition-scoped series carry
//! `partition` too.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Metric, Registry};

/// The content type of [`ClusterMetrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Latency buckets, in seconds: 1 ms to 5 s, about three per decade.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The p99 gauges look at no more samples than this…
const WINDOW_SAMPLES: usize = 10_000;
/// …and none older than this.
const WINDOW_AGE: Duration = Duration::from_secs(60);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RoleLabels {
    role: String,
}

/// `partition` is empty where a count is not about one partition (an edge
/// receiving alerts).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartitionLabels {
    role: String,
    partition: Option<u32>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginLabels {
    role: String,
    plugin: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    role: String,
    queue: String,
}

type F64Gauge = Gauge<f64, AtomicU64>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The most recent latency samples, for a p99 over the last minute (at
/// most the last [`WINDOW_SAMPLES`]).
#[derive(Debug, Default)]
struct Window {
    samples: VecDeque<(Instant, f64)>,
}

impl Window {
    fn record(&mut self, at: Instant, seconds: f64) {
        if self.samples.len() == WINDOW_SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back((at, seconds));
    }

    /// The nearest-rank 99th percentile of the samples newer than
    /// [`WINDOW_AGE`] at `now`; `None` without any.
    fn p99(&mut self, now: Instant) -> Option<f64> {
        while self
            .samples
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) > WINDOW_AGE)
        {
            self.samples.pop_front();
        }
        let mut values: Vec<f64> = self.samples.iter().map(|(_, s)| *s).collect();
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let rank = (values.len() * 99).div_ceil(100);
        Some(values[rank.saturating_sub(1)])
    }
}

/// A latency: the histogram, the window and the p99 gauge fed from it.
#[derive(Debug)]
struct Latency {
    histogram: Family<RoleLabels, Histogram>,
    p99: Family<RoleLabels, F64Gauge>,
    window: Mutex<Window>,
}

impl Latency {
    fn new() -> Latency {
        Latency {
            histogram: Family::new_with_constructor(latency_histogram),
            p99: Family::default(),
            window: Mutex::new(Window::default()),
        }
    }

    fn observe(&self, labels: &RoleLabels, latency: Duration) {
        let seconds = latency.as_secs_f64();
        self.histogram.get_or_create(labels).observe(seconds);
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        window.record(Instant::now(), seconds);
    }

    /// Brings the p99 gauge up to date; NaN when the window is empty (no
    /// sample in the last minute: "unknown", not "fast").
    fn refresh(&self, labels: &RoleLabels) -> Option<Duration> {
        let p99 = {
            let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
            window.p99(Instant::now())
        };
        self.p99.get_or_create(labels).set(p99.unwrap_or(f64::NAN));
        p99.map(Duration::from_secs_f64)
    }
}

/// Labels of [`ClusterMetrics::observe_batch_phase`].
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    role: String,
    phase: String,
}

/// A step of a worker's batch, timed apart so an operator sees which one
/// makes a slow batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchPhase {
    /// From the ingest node's receipt of the batch's oldest event to the
    /// worker holding it: publishing, the stream and the pull.
    Queued,
    /// Dedup and the look-ups of channels and their plugins.
    Prepare,
    /// The channels' plugins.
    Plugins,
    /// The one transaction that stores the batch.
    Commit,
    /// Live updates and alerts published to the edges.
    Publish,
    /// The acknowledgement to the stream.
    Ack,
}

impl BatchPhase {
    fn label(self) -> &'static str {
        match self {
            BatchPhase::Queued => "queued",
            BatchPhase::Prepare => "prepare",
            BatchPhase::Plugins => "plugins",
            BatchPhase::Commit => "commit",
            BatchPhase::Publish => "publish",
            BatchPhase::Ack => "ack",
        }
    }
}

/// Labels of [`ClusterMetrics::set_held`].
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HeldLabels {
    role: String,
    kind: String,
}

/// An open overlay socket, counted until dropped.
pub struct SocketGuard(std::sync::Arc<ClusterMetrics>);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        self.0.overlay_sockets.get_or_create(&self.0.role).dec();
    }
}

/// One node's metrics. Shared (behind an `Arc`) by the role's tasks and the
/// ops endpoint.
#[derive(Debug)]
pub struct ClusterMetrics {
    role: RoleLabels,
    events_in: Family<PartitionLabels, Counter>,
    events_out: Family<PartitionLabels, Counter>,
    duplicates: Family<PartitionLabels, Counter>,
    redeliveries: Family<PartitionLabels, Counter>,
    consumer_lag: Family<PartitionLabels, Gauge>,
    plugin_faults: Family<PluginLabels, Counter>,
    queue_depth: Family<QueueLabels, Gauge>,
    malformed: Family<RoleLabels, Counter>,
    held: Family<HeldLabels, Gauge>,
    overlay_sockets: Family<RoleLabels, Gauge>,
    overlay_acks: Family<RoleLabels, Counter>,
    stored: Latency,
    overlay_sent: Latency,
    batch_phases: Family<PhaseLabels, Histogram>,
    registry: Mutex<Registry>,
}

impl ClusterMetrics {
    /// The metrics of a node of `role` (`ingest`, `worker`, `edge`).
    pub fn new(role: &str) -> ClusterMetrics {
        let metrics = ClusterMetrics {
            role: RoleLabels {
                role: role.to_owned(),
            },
            events_in: Family::default(),
            events_out: Family::default(),
            duplicates: Family::default(),
            redeliveries: Family::default(),
            consumer_lag: Family::default(),
            plugin_faults: Family::default(),
            queue_depth: Family::default(),
            malformed: Family::default(),
            held: Family::default(),
            overlay_sockets: Family::default(),
            overlay_acks: Family::default(),
            stored: Latency::new(),
            overlay_sent: Latency::new(),
            batch_phases: Family::new_with_constructor(latency_histogram),
            registry: Mutex::new(Registry::with_prefix("stagehand")),
        };
        {
            let mut r = metrics.registry.lock().unwrap_or_else(|e| e.into_inner());
            r.register(
                "events_in",
                "Events received (from Twitch on ingest nodes, from the bus on workers and edges)",
                metrics.events_in.clone(),
            );
            r.register(
                "events_out",
                "Events passed on (published by ingest nodes, stored by workers, sent by edges)",
                metrics.events_out.clone(),
            );
            r.register(
                "duplicates",
                "Events dropped as repeats of one already published or stored",
                metrics.duplicates.clone(),
            );
            r.register(
                "redeliveries",
                "Events the bus delivered more than once (not acknowledged in time)",
                metrics.redeliveries.clone(),
            );
            r.register(
                "consumer_lag",
                "Events in a partition not yet delivered to its consumer",
                metrics.consumer_lag.clone(),
            );
            r.register(
                "plugin_faults",
                "Plugin calls that trapped, timed out or ran out of memory",
                metrics.plugin_faults.clone(),
            );
            r.register(
                "queue_depth",
                "Items waiting in an in-process queue",
                metrics.queue_depth.clone(),
            );
            r.register(
                "malformed",
                "Messages dropped because they were not events (unreadable frames, foreign payloads, unknown channels)",
                metrics.malformed.clone(),
            );
            r.register(
                "held",
                "Work this node holds under leases: stream partitions, conduit shards, channel pollers",
                metrics.held.clone(),
            );
            r.register(
                "overlay_sockets",
                "Overlay pages connected to this edge",
                metrics.overlay_sockets.clone(),
            );
            r.register(
                "overlay_acks",
                "Alerts overlay pages acknowledged as shown",
                metrics.overlay_acks.clone(),
            );
            r.register(
                "event_stored_latency_seconds",
                "From an event's arrival to its commit in the database",
                metrics.stored.histogram.clone(),
            );
            r.register(
                "event_stored_latency_p99_seconds",
                "p99 of event_stored_latency over the last minute (at most 10000 samples); NaN without samples",
                metrics.stored.p99.clone(),
            );
            r.register(
                "event_overlay_latency_seconds",
                "From an event's arrival to its alert being sent to an overlay",
                metrics.overlay_sent.histogram.clone(),
            );
            r.register(
                "event_overlay_latency_p99_seconds",
                "p99 of event_overlay_latency over the last minute (at most 10000 samples); NaN without samples",
                metrics.overlay_sent.p99.clone(),
            );
            r.register(
                "worker_batch_phase_seconds",
                "Time a worker's batch spent in each step: queued (arrival to pull), prepare, plugins, commit, publish, ack",
                metrics.batch_phases.clone(),
            );
        }
        // The latency series exist from the start, so a node that has seen
        // no event yet shows zero counts rather than no family at all.
        drop(metrics.stored.histogram.get_or_create(&metrics.role));
        let all = metrics.partition(None);
        drop(metrics.events_in.get_or_create(&all));
        drop(metrics.events_out.get_or_create(&all));
        drop(metrics.duplicates.get_or_create(&all));
        drop(metrics.overlay_sent.histogram.get_or_create(&metrics.role));
        metrics
    }

    /// The node's role, as in the `role` label.
    pub fn role(&self) -> &str {
        &self.role.role
    }

    fn partition(&self, partition: Option<u32>) -> PartitionLabels {
        PartitionLabels {
            role: self.role.role.clone(),
            partition,
        }
    }

    /// Makes a partition's series (at zero) when a node takes the partition
    /// on, so its rate is 0 rather than absent until the first event.
    pub fn init_partition(&self, partition: u32) {
        let labels = self.partition(Some(partition));
        drop(self.events_in.get_or_create(&labels));
        drop(self.events_out.get_or_create(&labels));
        drop(self.duplicates.get_or_create(&labels));
        drop(self.redeliveries.get_or_create(&labels));
        drop(self.consumer_lag.get_or_create(&labels));
    }

    /// Counts events received; `partition` where the events belong to one.
    pub fn events_in(&self, partition: impl Into<Option<u32>>, n: u64) {
        self.events_in
            .get_or_create(&self.partition(partition.into()))
            .inc_by(n);
    }

    /// Counts events passed on (published, stored or sent).
    pub fn events_out(&self, partition: impl Into<Option<u32>>, n: u64) {
        self.events_out
            .get_or_create(&self.partition(partition.into()))
            .inc_by(n);
    }

    /// Counts repeats dropped.
    pub fn duplicates(&self, partition: impl Into<Option<u32>>, n: u64) {
        self.duplicates
            .get_or_create(&self.partition(partition.into()))
            .inc_by(n);
    }

    /// Counts events delivered again by the bus.
    pub fn redeliveries(&self, partition: u32, n: u64) {
        self.redeliveries
            .get_or_create(&self.partition(Some(partition)))
            .inc_by(n);
    }

    /// Sets a partition consumer's lag (events not yet delivered).
    pub fn set_consumer_lag(&self, partition: u32, lag: u64) {
        self.consumer_lag
            .get_or_create(&self.partition(Some(partition)))
            .set(i64::try_from(lag).unwrap_or(i64::MAX));
    }

    /// Counts a plugin fault.
    pub fn plugin_fault(&self, plugin: &str) {
        self.plugin_faults
            .get_or_create(&PluginLabels {
                role: self.role.role.clone(),
                plugin: plugin.to_owned(),
            })
            .inc();
    }

    /// Sets how many items wait in the named queue.
    pub fn set_queue_depth(&self, queue: &str, depth: u64) {
        self.queue_depth
            .get_or_create(&QueueLabels {
                role: self.role.role.clone(),
                queue: queue.to_owned(),
            })
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    /// Counts messages dropped as not being events.
    pub fn malformed(&self, n: u64) {
        self.malformed.get_or_create(&self.role).inc_by(n);
    }

    /// Sets how many work items of `kind` (`partitions`, `shards`,
    /// `pollers`) this node holds.
    pub fn set_held(&self, kind: &str, n: usize) {
        self.held
            .get_or_create(&HeldLabels {
                role: self.role.role.clone(),
                kind: kind.to_owned(),
            })
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Counts an overlay socket open until the guard is dropped.
    pub fn overlay_socket(self: &std::sync::Arc<Self>) -> SocketGuard {
        self.overlay_sockets.get_or_create(&self.role).inc();
        SocketGuard(self.clone())
    }

    /// Counts an alert acknowledged by an overlay page.
    pub fn overlay_ack(&self) {
        self.overlay_acks.get_or_create(&self.role).inc();
    }

    /// Records the time from an event's arrival to its commit.
    pub fn observe_stored(&self, latency: Duration) {
        self.stored.observe(&self.role, latency);
    }

    /// Records the time from an event's arrival to its alert being sent to
    /// an overlay.
    pub fn observe_overlay_sent(&self, latency: Duration) {
        self.overlay_sent.observe(&self.role, latency);
    }

    /// Records how long one step of a worker's batch took.
    pub fn observe_batch_phase(&self, phase: BatchPhase, took: Duration) {
        let labels = PhaseLabels {
            role: self.role.role.clone(),
            phase: phase.label().to_owned(),
        };
        self.batch_phases
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// Records `phase` as having run from `started` until now; answers now,
    /// the next phase's start.
    pub fn batch_phase_done(&self, phase: BatchPhase, started: Instant) -> Instant {
        let now = Instant::now();
        self.observe_batch_phase(phase, now - started);
        now
    }

    /// The p99 of event → stored over the recent window.
    pub fn stored_p99(&self) -> Option<Duration> {
        self.stored.refresh(&self.role)
    }

    /// The p99 of event → overlay sent over the recent window.
    pub fn overlay_sent_p99(&self) -> Option<Duration> {
        self.overlay_sent.refresh(&self.role)
    }

    /// Adds a role's own metric to the page (named `stagehand_<name>`).
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        let mut registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        registry.register(name, help, metric);
    }

    /// The page in the OpenMetrics text format ([`CONTENT_TYPE`]), with the
    /// p99 gauges brought up to date.
    pub fn render(&self) -> String {
        self.stored.refresh(&self.role);
        self.overlay_sent.refresh(&self.role);
        let registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        let mut page = String::new();
        // Writing to a String cannot fail; a metric that fails to encode
        // leaves what came before it, which is still worth serving.
        let _ = prometheus_client::encoding::text::encode(&mut page, &registry);
        page
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_page_has_every_family_with_its_labels() {
        let m = ClusterMetrics::new("worker");
        m.events_in(3, 5);
        m.events_out(3, 4);
        m.duplicates(3, 1);
        m.redeliveries(3, 2);
        m.set_consumer_lag(3, 17);
        m.plugin_fault("alert-box");
        m.set_queue_depth("commit", 9);
        m.observe_stored(ms(12));
        m.observe_overlay_sent(ms(40));
        let page = m.render();
        for line in [
            r#"stagehand_events_in_total{role="worker",partition="3"} 5"#,
            r#"stagehand_events_out_total{role="worker",partition="3"} 4"#,
            r#"stagehand_duplicates_total{role="worker",partition="3"} 1"#,
            r#"stagehand_redeliveries_total{role="worker",partition="3"} 2"#,
            r#"stagehand_consumer_lag{role="worker",partition="3"} 17"#,
            r#"stagehand_plugin_faults_total{role="worker",plugin="alert-box"} 1"#,
            r#"stagehand_queue_depth{role="worker",queue="commit"} 9"#,
            r#"stagehand_event_stored_latency_seconds_bucket{le="0.025",role="worker"} 1"#,
            r#"stagehand_event_stored_latency_seconds_bucket{le="0.01",role="worker"} 0"#,
            r#"stagehand_event_stored_latency_p99_seconds{role="worker"} 0.012"#,
            r#"stagehand_event_overlay_latency_p99_seconds{role="worker"} 0.04"#,
            "# EOF",
        ] {
            assert!(page.contains(line), "{line} missing from\n{page}");
        }
    }

    #[test]
    fn a_fresh_node_shows_zeros() {
        let m = ClusterMetrics::new("worker");
        m.init_partition(5);
        let page = m.render();
        for line in [
            r#"stagehand_events_in_total{role="worker",partition="5"} 0"#,
            r#"stagehand_consumer_lag{role="worker",partition="5"} 0"#,
            r#"stagehand_event_stored_latency_seconds_count{role="worker"} 0"#,
            r#"stagehand_event_overlay_latency_seconds_count{role="worker"} 0"#,
        ] {
            assert!(page.contains(line), "{line} missing from\n{page}");
        }
    }

    #[test]
    fn counts_without_a_partition_have_an_empty_label() {
        let m = ClusterMetrics::new("edge");
        m.events_in(None, 2);
        let page = m.render();
        assert!(
            page.contains(r#"stagehand_events_in_total{role="edge",partition=""} 2"#),
            "{page}"
        );
    }

    #[test]
    fn p99_is_nearest_rank_over_the_window() {
        let m = ClusterMetrics::new("worker");
        assert_eq!(m.stored_p99(), None);
        assert!(
            m.render()
                .contains("stagehand_event_stored_latency_p99_seconds{role=\"worker\"} NaN")
        );
        for n in 1..=1000 {
            m.observe_stored(ms(n));
        }
        // 1000 samples: the 990th smallest.
        assert_eq!(m.stored_p99(), Some(ms(990)));
    }

    #[test]
    fn the_window_keeps_the_last_samples_and_the_last_minute() {
        let start = Instant::now();
        let mut w = Window::default();
        for n in 0..WINDOW_SAMPLES + 100 {
            // The first 100 are huge and must have been pushed out.
            let s = if n < 100 { 1000.0 } else { 0.001 };
            w.record(start, s);
        }
        assert_eq!(w.samples.len(), WINDOW_SAMPLES);
        assert_eq!(w.p99(start), Some(0.001));
        w.record(start + Duration::from_secs(50), 2.0);
        // A minute and a bit later only the last sample is in the window.
        assert_eq!(w.p99(start + Duration::from_secs(61)), Some(2.0));
        assert_eq!(w.p99(start + Duration::from_secs(200)), None);
        assert!(w.samples.is_empty());
    }

    #[test]
    fn roles_can_add_their_own_metrics() {
        let m = ClusterMetrics::new("ingest");
        let sockets = Gauge::<i64>::default();
        sockets.set(4);
        m.register("eventsub_sockets", "Open EventSub WebSockets", sockets);
        assert!(m.render().contains("stagehand_eventsub_sockets 4"));
    }
}
