//! A hostile plugin beside the example plugins: 1,000 normal events (follows
//! and cheers, one every 10 ms) through a whole host (`app::start`, in
//! process) with `alert-box` and `event-formatter`, measured from sending
//! `POST /api/events/test` to the overlay socket holding the event's alert.
//! Run twice in one process: without the hostile plugin (the baseline), and
//! with `hostile-plugin` installed and attacked into action by every tenth
//! event (sleeping, polling, spinning to its deadline, flooding alerts,
//! logs and kv). Target: p99 with the attacks within 2x of the baseline.
//!
//! Every wait is bounded: a run that loses alerts prints what it saw and
//! the bench fails instead of hanging.
//!
//! Needs the plugins built: `cargo xtask plugins`, then
//! `cargo bench -p stagehand --bench hostile_load`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use stagehand::app;
use stagehand::config::{self, FileConfig, Mode};

const EVENTS: usize = 1_000;
const WARM_UP: usize = 20;
const GAP: Duration = Duration::from_millis(10);
/// Every this many normal events, one attack.
const ATTACK_EVERY: usize = 10;
const ATTACKS: [&str; 7] = [
    "sleep",
    "spin",
    "alert-flood",
    "poll",
    "log-flood",
    "kv-flood",
    "memory",
];
const TOKEN: &str = "bench-token-0123456789abcdef";
const KEY: &str = "bench-overlay-key-0123456789";
/// The longest any one alert may take before the run counts as failed.
const ALERT_TIMEOUT: Duration = Duration::from_secs(20);

fn built() -> PathBuf {
    std::env::var_os("STAGEHAND_TEST_PLUGINS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

fn install(plugins_dir: &Path, set: &str, name: &str) {
    let from = built().join(set).join(name);
    assert!(
        from.is_dir(),
        "{name} not built in {}: run `cargo xtask plugins`",
        from.display()
    );
    let to = plugins_dir.join(name);
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// The overlay page's part: reports each alert's event id with its arrival
/// time and acknowledges it.
async fn overlay(url: String, seen: mpsc::UnboundedSender<(String, Instant)>) {
    let (mut socket, _) = tokio_tungstenite::connect_async(&url)
        .await
        .expect("connect");
    let hello = json!({"type": "hello", "key": KEY}).to_string();
    socket.send(Message::Text(hello.into())).await.unwrap();
    while let Some(Ok(message)) = socket.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let at = Instant::now();
        let Ok(value) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if value["type"] == "welcome" {
            let _ = seen.send(("welcome".into(), at));
            continue;
        }
        if value["type"] != "alert" {
            continue;
        }
        if let Some(event) = value["event_id"].as_str() {
            let _ = seen.send((event.to_owned(), at));
        }
        let ack = json!({"type": "ack", "id": value["id"]}).to_string();
        if socket.send(Message::Text(ack.into())).await.is_err() {
            return;
        }
    }
}

struct Run {
    /// Event → overlay, sorted.
    latencies: Vec<Duration>,
    /// POST answered (event stored), sorted.
    stored: Vec<Duration>,
    attacks: usize,
    /// The slowest event → overlay among the events sent right after each
    /// kind of attack.
    worst_after: Vec<(String, Duration)>,
    hostile: Option<Value>,
    rss_mib: u64,
}

fn rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

async fn run(dir: &Path, hostile: bool) -> Result<Run, String> {
    let data = dir.join(if hostile { "hostile" } else { "baseline" });
    let plugins = data.join("plugins");
    install(&plugins, "plugins", "alert-box");
    install(&plugins, "plugins", "event-formatter");
    if hostile {
        install(&plugins, "test-plugins", "hostile-plugin");
    }
    let env: HashMap<&str, String> = HashMap::from([
        ("STAGEHAND_DATA_DIR", data.display().to_string()),
        ("STAGEHAND_PLUGINS_DIR", plugins.display().to_string()),
        ("STAGEHAND_ADDR", "127.0.0.1:0".into()),
        ("STAGEHAND_API_TOKEN", TOKEN.into()),
        ("STAGEHAND_OVERLAY_KEY", KEY.into()),
    ]);
    let lookup = |k: &str| env.get(k).cloned();
    let config = config::resolve(FileConfig::default(), &lookup, Mode::Run).unwrap();
    let host = app::start(&config).await.map_err(|e| format!("{e:#}"))?;
    let ready = Instant::now() + Duration::from_secs(60);
    while !host.plugins.loaded() {
        if Instant::now() > ready {
            return Err("plugins did not load within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let base = format!("http://{}", host.addr);
    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(overlay(format!("ws://{}/overlay/alerts/ws", host.addr), tx));
    match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
        Ok(Some((what, _))) if what == "welcome" => {}
        other => return Err(format!("overlay did not connect: {other:?}")),
    }

    let post = |body: Value| {
        let request = http
            .post(format!("{base}/api/events/test"))
            .bearer_auth(TOKEN)
            .json(&body);
        async move {
            let response = request.send().await.map_err(|e| e.to_string())?;
            if response.status() != 201 {
                return Err(format!("POST answered {}", response.status()));
            }
            let event: Value = response.json().await.map_err(|e| e.to_string())?;
            Ok::<String, String>(event["id"].as_str().unwrap_or_default().to_owned())
        }
    };
    let normal = |n: usize| {
        if n.is_multiple_of(2) {
            json!({"kind": "channel.follow", "details": {"username": format!("viewer{n}")}})
        } else {
            json!({"kind": "channel.cheer", "details": {"username": format!("viewer{n}"), "bits": 100 + n}})
        }
    };

    let mut starts: HashMap<String, Instant> = HashMap::new();
    let mut after: HashMap<String, &str> = HashMap::new();
    let mut stored = Vec::with_capacity(EVENTS);
    let mut attacks = 0;
    let mut tick = tokio::time::interval(GAP);
    for n in 0..WARM_UP + EVENTS {
        tick.tick().await;
        let mut attacked = None;
        if hostile && n >= WARM_UP && n % ATTACK_EVERY == 0 {
            let mode = ATTACKS[attacks % ATTACKS.len()];
            post(json!({"kind": "test.hostile", "details": {"mode": mode}})).await?;
            attacks += 1;
            attacked = Some(mode);
        }
        let start = Instant::now();
        let id = post(normal(n)).await?;
        if n >= WARM_UP {
            stored.push(start.elapsed());
            if let Some(mode) = attacked {
                after.insert(id.clone(), mode);
            }
            starts.insert(id, start);
        }
    }

    let mut latencies = Vec::with_capacity(EVENTS);
    let mut worst_after: HashMap<&str, Duration> = HashMap::new();
    while latencies.len() < starts.len() {
        match tokio::time::timeout(ALERT_TIMEOUT, rx.recv()).await {
            Ok(Some((id, at))) => {
                if let Some(start) = starts.get(&id) {
                    let took = at.saturating_duration_since(*start);
                    latencies.push(took);
                    if let Some(mode) = after.get(&id) {
                        let worst = worst_after.entry(mode).or_default();
                        *worst = (*worst).max(took);
                    }
                }
            }
            _ => {
                return Err(format!(
                    "only {} of {} alerts reached the overlay within {ALERT_TIMEOUT:?} of the last",
                    latencies.len(),
                    starts.len()
                ));
            }
        }
    }
    let hostile = hostile
        .then(|| host.plugins.status("hostile-plugin"))
        .flatten()
        .map(|s| serde_json::to_value(s).unwrap());
    let rss = rss_mib();
    host.stop().await.map_err(|e| format!("{e:#}"))?;
    latencies.sort_unstable();
    stored.sort_unstable();
    let mut worst_after: Vec<(String, Duration)> = worst_after
        .into_iter()
        .map(|(mode, d)| (mode.to_owned(), d))
        .collect();
    worst_after.sort();
    Ok(Run {
        latencies,
        stored,
        attacks,
        worst_after,
        hostile,
        rss_mib: rss,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn report(label: &str, run: &Run) {
    println!(
        "  {label:<22} event -> overlay p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms | stored p99 {:>6.2} ms | RSS {} MiB",
        ms(percentile(&run.latencies, 0.5)),
        ms(percentile(&run.latencies, 0.99)),
        ms(run.latencies.last().copied().unwrap_or_default()),
        ms(percentile(&run.stored, 0.99)),
        run.rss_mib,
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // The whole bench is bounded, whatever happens inside.
    let outcome = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(300), async {
            let baseline = run(dir.path(), false).await?;
            let attacked = run(dir.path(), true).await?;
            Ok::<_, String>((baseline, attacked))
        })
        .await
        .unwrap_or_else(|_| Err("the bench did not finish within 300 s".into()))
    });
    println!(
        "hostile_load: {EVENTS} follows and cheers, one every {} ms, through alert-box + event-formatter",
        GAP.as_millis()
    );
    match outcome {
        Ok((baseline, attacked)) => {
            report("baseline (no hostile)", &baseline);
            report(&format!("with {} attacks", attacked.attacks), &attacked);
            let ratio = ms(percentile(&attacked.latencies, 0.99))
                / ms(percentile(&baseline.latencies, 0.99)).max(0.001);
            println!(
                "  p99 with attacks / baseline: {ratio:.2}x (target within 2x: {})",
                if ratio <= 2.0 { "met" } else { "NOT met" }
            );
            let worst: Vec<String> = attacked
                .worst_after
                .iter()
                .map(|(mode, d)| format!("{mode} {:.1}", ms(*d)))
                .collect();
            println!(
                "  slowest event right after each attack (ms): {}",
                worst.join(", ")
            );
            if let Some(h) = attacked.hostile {
                println!(
                    "  hostile-plugin: status {}, total faults {}, missed {}, last error: {}",
                    h["status"], h["total_faults"], h["missed"], h["last_error"]
                );
            }
        }
        Err(e) => {
            println!("  FAILED: {e}");
            std::process::exit(1);
        }
    }
}
