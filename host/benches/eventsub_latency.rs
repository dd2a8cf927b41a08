//! EventSub to database: the whole host (app::start) connected to the
//! Twitch look-alike over a real WebSocket on 127.0.0.1. Measures, from the
//! moment the look-alike writes a follow notification frame to the moment
//! its row is committed (the live feed publishes right after the commit):
//!
//! - p50/p99 latency at a steady 1,000 notifications/s;
//! - the highest sustained rate (frames written as fast as possible);
//!
//! and prints the store's bare insert rate measured in the same run, with
//! the targets (p99 < 2 ms; sustained >= 0.5 x bare).
//!
//! cargo bench -p stagehand --bench eventsub_latency

#[path = "support/baseline.rs"]
mod baseline;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;

use stagehand::app;
use stagehand::config::{self, FileConfig, Mode};
use stagehand::live::{LiveMessage, Received};
use stagehand::twitch::eventsub::subscriptions::WANTED;
use twitch_lookalike::wire::{Subscription, notification_frame};
use twitch_lookalike::{MockControl, MockOptions, MockTwitch};

const STEADY_RATE: u64 = 1_000;
const STEADY_EVENTS: usize = 5_000;
const BURST_EVENTS: usize = 50_000;
/// The longest any one phase may wait for its events to be stored.
const PHASE_LIMIT: Duration = Duration::from_secs(120);

/// A follow notification frame with a fresh id and timestamp, from viewer
/// `n`: every frame is a new follow (the same viewer following at the same
/// time again would rightly be dropped as already known).
fn follow_frame(sub: &Subscription, n: usize) -> (String, String) {
    let id = uuid::Uuid::now_v7().to_string();
    let event = json!({
        "user_id": format!("{}", 5_000_000 + n),
        "user_login": format!("viewer{n}"),
        "user_name": format!("Viewer{n}"),
        "broadcaster_user_id": "100000001",
        "broadcaster_user_login": "stagehand_demo",
        "broadcaster_user_name": "Stagehand_Demo",
        "followed_at": "2025-01-15T14:32:00.123456789Z",
    });
    (id.clone(), notification_frame(&id, sub, &event, Utc::now()))
}

/// Collects (event id, commit time) from the live feed until `n` events
/// were seen (skipped ones count, without a time) or [`PHASE_LIMIT`]
/// passed: whatever was seen by then.
fn collect(
    mut feed: stagehand::live::LiveSubscription,
    n: usize,
) -> tokio::task::JoinHandle<(Vec<(String, Instant)>, usize)> {
    tokio::spawn(async move {
        let mut seen = Vec::with_capacity(n);
        let mut count = 0;
        let deadline = tokio::time::Instant::now() + PHASE_LIMIT;
        while count < n {
            let Ok(received) = tokio::time::timeout_at(deadline, feed.recv()).await else {
                break;
            };
            match received {
                Received::Message(LiveMessage::Event(stored)) => {
                    seen.push((stored.event.id.clone(), Instant::now()));
                    count += 1;
                }
                Received::Message(_) => {}
                Received::Skipped(k) => count += k as usize,
                Received::Closed => break,
            }
        }
        (seen, count)
    })
}

/// Stops the bench when a phase saw fewer events than it sent, saying so.
fn require(phase: &str, seen: usize, sent: usize) {
    if seen < sent {
        println!(
            "eventsub_latency: FAILED: {phase}: {seen} of {sent} events stored within {PHASE_LIMIT:?}"
        );
        std::process::exit(1);
    }
}

/// Commit time minus send time per event, sorted.
fn latencies(seen: &[(String, Instant)], sent: &HashMap<String, Instant>) -> Vec<Duration> {
    let mut out: Vec<Duration> = seen
        .iter()
        .filter_map(|(id, at)| sent.get(id).map(|s| at.saturating_duration_since(*s)))
        .collect();
    out.sort_unstable();
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn steady(
    control: &MockControl,
    host: &app::RunningHost,
    sub: &Subscription,
) -> Vec<Duration> {
    let done = collect(host.feed.subscribe(), STEADY_EVENTS);
    let mut sent: HashMap<String, Instant> = HashMap::with_capacity(STEADY_EVENTS);
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / STEADY_RATE));
    for n in 0..STEADY_EVENTS {
        tick.tick().await;
        let (id, frame) = follow_frame(sub, n);
        sent.insert(id, Instant::now());
        control.send_raw(&frame).await;
    }
    let (seen, count) = done.await.unwrap();
    require("steady", count, STEADY_EVENTS);
    latencies(&seen, &sent)
}

/// The same steady load handed straight to the pipeline (no socket, no
/// parsing): the share of the latency that is storage.
async fn steady_pipeline_only(host: &app::RunningHost) -> Vec<Duration> {
    use stagehand::event::{Event, EventKind, Source, Viewer};
    let done = collect(host.feed.subscribe(), STEADY_EVENTS);
    let mut sent: HashMap<String, Instant> = HashMap::with_capacity(STEADY_EVENTS);
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / STEADY_RATE));
    for n in 0..STEADY_EVENTS {
        tick.tick().await;
        let event = Event::new(EventKind::Follow, Source::Eventsub, "100000001")
            .with_viewer(Viewer::new(
                (7_000_000 + n).to_string(),
                format!("p{n}"),
                format!("P{n}"),
            ))
            .with_details(json!({"username": format!("P{n}")}));
        sent.insert(event.id.clone(), Instant::now());
        // The outcome arrives on the live feed; the receiver is not needed.
        drop(host.events.enqueue(event, None).await.unwrap());
    }
    let (seen, count) = done.await.unwrap();
    require("pipeline only", count, STEADY_EVENTS);
    latencies(&seen, &sent)
}

async fn burst(control: &MockControl, host: &app::RunningHost, sub: &Subscription) -> Duration {
    let frames: Vec<String> = (0..BURST_EVENTS)
        .map(|n| follow_frame(sub, n + STEADY_EVENTS).1)
        .collect();
    let done = collect(host.feed.subscribe(), BURST_EVENTS);
    let start = Instant::now();
    for (i, frame) in frames.iter().enumerate() {
        control.send_raw(frame).await;
        if i % 256 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let (_, count) = done.await.unwrap();
    require("burst", count, BURST_EVENTS);
    start.elapsed()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bare = baseline::bare_rusqlite(&dir.path().join("bare.db"), &baseline::sample_events());
    let bare_rate = baseline::EVENTS as f64 / bare.as_secs_f64();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mock = MockTwitch::start(MockOptions::default()).await.unwrap();
        let data = dir.path().join("host");
        let env: HashMap<&str, String> = HashMap::from([
            ("STAGEHAND_DATA_DIR", data.display().to_string()),
            ("STAGEHAND_PLUGINS_DIR", data.join("plugins").display().to_string()),
            ("STAGEHAND_ADDR", "127.0.0.1:0".into()),
            ("TWITCH_EVENTSUB_URL", mock.eventsub_url()),
            ("TWITCH_API_URL", mock.api_url()),
            ("TWITCH_AUTH_URL", mock.auth_url()),
            ("TWITCH_CLIENT_ID", mock.client_id().into()),
            ("TWITCH_ACCESS_TOKEN", mock.access_token().into()),
        ]);
        let lookup = |k: &str| env.get(k).cloned();
        let config = config::resolve(FileConfig::default(), &lookup, Mode::Run).unwrap();
        let host = app::start(&config).await.unwrap();
        let control = mock.control();
        assert!(
            control
                .wait_for_subscriptions(WANTED.len(), Duration::from_secs(20))
                .await,
            "the host did not subscribe"
        );
        let sub = control
            .subscriptions()
            .await
            .into_iter()
            .find(|s| s.kind == "channel.follow" && s.status == "enabled")
            .unwrap();

        let latencies = steady(&control, &host, &sub).await;
        let (p50, p99) = (percentile(&latencies, 0.50), percentile(&latencies, 0.99));
        let max = latencies.last().copied().unwrap_or_default();
        let direct = steady_pipeline_only(&host).await;
        let elapsed = burst(&control, &host, &sub).await;
        let sustained = BURST_EVENTS as f64 / elapsed.as_secs_f64();

        println!("eventsub_latency: follow notifications, frame written by the look-alike -> row committed");
        println!(
            "steady {STEADY_RATE}/s, {} events: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms  (target p99 < 2 ms: {})",
            latencies.len(),
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
            if p99 < Duration::from_millis(2) { "met" } else { "NOT met" }
        );
        println!(
            "  of which pipeline + store (events handed in directly): p50 {:.3} ms, p99 {:.3} ms",
            percentile(&direct, 0.5).as_secs_f64() * 1e3,
            percentile(&direct, 0.99).as_secs_f64() * 1e3
        );
        println!("bare rusqlite insert, same run : {bare_rate:>10.0} events/s");
        println!(
            "sustained EventSub -> store    : {sustained:>10.0} events/s ({BURST_EVENTS} in {elapsed:?})  ratio {:.2}  (target >= 0.5: {})",
            sustained / bare_rate,
            if sustained / bare_rate >= 0.5 { "met" } else { "NOT met" }
        );
        host.stop().await.unwrap();
        mock.shutdown().await;
    });
}
