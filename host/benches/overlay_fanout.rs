//! Overlay fan-out: 100 overlay pages (WebSocket clients that say hello and
//! acknowledge every alert, as the real page does) connected to a whole host
//! (`app::start`, in process) on 127.0.0.1. Measures, for 200 follows posted
//! one every 20 ms, the time from sending `POST /api/events/test` to the
//! moment every one of the 100 clients holds the alert: the event goes
//! through the real pipeline, the `follow-alert` plugin (WebAssembly), the
//! executor and the overlay queue (SQLite) before the sockets.
//!
//! Printed beside it: a bare broadcast — an axum server with the same
//! number of sockets to the same kind of client, where a message handed to
//! a `tokio::sync::broadcast` channel is written to every socket — the
//! floor of any fan-out over these sockets. Target: p99 < 10 ms.
//!
//! Needs the plugins built: `cargo xtask plugins`, then
//! `cargo bench -p stagehand --bench overlay_fanout`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::extract::ws::{Message as AxumMessage, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use tokio_tungstenite::tungstenite::Message;

use stagehand::app;
use stagehand::config::{self, FileConfig, Mode};

const CLIENTS: usize = 100;
const ALERTS: usize = 200;
const WARM_UP: usize = 10;
const GAP: Duration = Duration::from_millis(20);
const TOKEN: &str = "bench-token-0123456789abcdef";
const KEY: &str = "bench-overlay-key-0123456789";

fn built() -> PathBuf {
    std::env::var_os("STAGEHAND_TEST_PLUGINS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

fn install_follow_alert(plugins_dir: &Path) {
    let from = built().join("plugins/follow-alert");
    assert!(
        from.is_dir(),
        "follow-alert not built in {}: run `cargo xtask plugins`",
        from.display()
    );
    let to = plugins_dir.join("follow-alert");
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// What a client saw: (which alert, when it arrived).
type Seen = (String, Instant);

/// Connects one client to `url`; with `key`, says hello and waits for the
/// welcome. Reports every alert's `event_id` with its arrival time and,
/// like the overlay page, acknowledges it.
async fn client(url: String, key: Option<&'static str>, seen: mpsc::UnboundedSender<Seen>) {
    // Small read buffers on both ends, as the host's overlay socket has
    // (tungstenite zeroes the whole buffer on each read).
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(4 * 1024);
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(&url, Some(config), true)
        .await
        .expect("connect");
    if let Some(key) = key {
        let hello = json!({"type": "hello", "key": key}).to_string();
        socket.send(Message::Text(hello.into())).await.unwrap();
        // Connected once welcomed: from then on the host owes it every alert.
        while let Some(Ok(message)) = socket.next().await {
            if matches!(&message, Message::Text(t) if t.contains("\"welcome\"")) {
                break;
            }
        }
    }
    let _ = seen.send(("connected".into(), Instant::now()));
    while let Some(Ok(message)) = socket.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let at = Instant::now();
        let Ok(value) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if value["type"] != "alert" {
            continue;
        }
        if let Some(event) = value["event_id"].as_str() {
            let _ = seen.send((event.to_owned(), at));
        }
        if key.is_some() {
            let ack = json!({"type": "ack", "id": value["id"]}).to_string();
            if socket.send(Message::Text(ack.into())).await.is_err() {
                return;
            }
        }
    }
}

/// Starts `CLIENTS` clients and waits until all are connected.
async fn connect_all(url: &str, key: Option<&'static str>) -> mpsc::UnboundedReceiver<Seen> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    for _ in 0..CLIENTS {
        tokio::spawn(client(url.to_owned(), key, tx.clone()));
    }
    for _ in 0..CLIENTS {
        let (what, _) = rx.recv().await.unwrap();
        assert_eq!(what, "connected");
    }
    rx
}

/// Waits until every client reported each of `starts`' ids; returns per
/// alert the latency to the last client, and every client's latency.
async fn collect(
    rx: &mut mpsc::UnboundedReceiver<Seen>,
    starts: &HashMap<String, Instant>,
) -> (Vec<Duration>, Vec<Duration>) {
    let mut last: HashMap<&str, (usize, Instant)> = HashMap::new();
    let mut each = Vec::with_capacity(starts.len() * CLIENTS);
    let mut complete = 0;
    while complete < starts.len() {
        let (id, at) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .unwrap_or_else(|_| {
                let missing: Vec<_> = starts
                    .keys()
                    .filter(|k| last.get(k.as_str()).is_none_or(|(n, _)| *n < CLIENTS))
                    .map(|k| (k, last.get(k.as_str()).map_or(0, |(n, _)| *n)))
                    .collect();
                panic!(
                    "not every client got every alert within 30 s \
                     ({} alerts, complete {complete}): {missing:?}",
                    starts.len()
                )
            })
            .unwrap();
        let Some((key, start)) = starts.get_key_value(&id) else {
            continue; // a warm-up alert
        };
        each.push(at.saturating_duration_since(*start));
        let entry = last.entry(key.as_str()).or_insert((0, at));
        entry.0 += 1;
        entry.1 = entry.1.max(at);
        if entry.0 == CLIENTS {
            complete += 1;
        }
    }
    let mut all: Vec<Duration> = last
        .iter()
        .map(|(id, (_, at))| at.saturating_duration_since(starts[*id]))
        .collect();
    all.sort_unstable();
    each.sort_unstable();
    (all, each)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn through_the_host(dir: &Path) -> (Vec<Duration>, Vec<Duration>, Vec<Duration>) {
    let data = dir.join("host");
    install_follow_alert(&data.join("plugins"));
    let env: HashMap<&str, String> = HashMap::from([
        ("STAGEHAND_DATA_DIR", data.display().to_string()),
        (
            "STAGEHAND_PLUGINS_DIR",
            data.join("plugins").display().to_string(),
        ),
        ("STAGEHAND_ADDR", "127.0.0.1:0".into()),
        ("STAGEHAND_API_TOKEN", TOKEN.into()),
        ("STAGEHAND_OVERLAY_KEY", KEY.into()),
    ]);
    let lookup = |k: &str| env.get(k).cloned();
    let config = config::resolve(FileConfig::default(), &lookup, Mode::Run).unwrap();
    let host = app::start(&config).await.unwrap();
    let ready = Instant::now() + Duration::from_secs(60);
    while !host.plugins.loaded() {
        assert!(Instant::now() < ready, "plugins did not load within 60 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let base = format!("http://{}", host.addr);
    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let mut rx = connect_all(&format!("ws://{}/overlay/alerts/ws", host.addr), Some(KEY)).await;

    let post = |n: usize| {
        let request = http
            .post(format!("{base}/api/events/test"))
            .bearer_auth(TOKEN)
            .json(
                &json!({"kind": "channel.follow", "details": {"username": format!("viewer{n}")}}),
            );
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 201);
            let event: Value = response.json().await.unwrap();
            event["id"].as_str().unwrap().to_owned()
        }
    };
    // Warm-up: the plugin instance, the connections, the statement caches.
    let mut warm = HashMap::new();
    for n in 0..WARM_UP {
        warm.insert(post(n).await, Instant::now());
    }
    collect(&mut rx, &warm).await;

    let mut starts = HashMap::with_capacity(ALERTS);
    let mut answered = Vec::with_capacity(ALERTS);
    let mut tick = tokio::time::interval(GAP);
    for n in 0..ALERTS {
        tick.tick().await;
        let start = Instant::now();
        let id = post(WARM_UP + n).await;
        answered.push(start.elapsed());
        starts.insert(id, start);
    }
    let (all, each) = collect(&mut rx, &starts).await;
    answered.sort_unstable();
    host.stop().await.unwrap();
    (all, each, answered)
}

async fn bare_socket(
    ws: WebSocketUpgrade,
    State(tx): State<broadcast::Sender<Arc<str>>>,
) -> Response {
    ws.read_buffer_size(4 * 1024)
        .on_upgrade(move |mut socket: WebSocket| async move {
            let mut rx = tx.subscribe();
            while let Ok(message) = rx.recv().await {
                if socket
                    .send(AxumMessage::Text(message.to_string().into()))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        })
}

async fn bare_broadcast() -> (Vec<Duration>, Vec<Duration>) {
    let (tx, _) = broadcast::channel::<Arc<str>>(1024);
    let app = axum::Router::new()
        .route("/ws", axum::routing::get(bare_socket))
        .with_state(tx.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        use axum::serve::ListenerExt;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, app).await
    });
    let mut rx = connect_all(&format!("ws://{addr}/ws"), None).await;
    // A message the size of an alert.
    let message = |n: usize| {
        let id = format!("bare-{n}");
        let text = json!({
            "type": "alert", "id": uuid::Uuid::now_v7().to_string(), "overlay": "alerts",
            "event_id": id, "plugin": "follow-alert", "resent": false,
            "title": "New follower!", "message": format!("viewer{n} just followed"),
            "image_url": null, "sound_url": null, "video_url": null,
            "tts": format!("Thanks for the follow, viewer{n}!"), "duration_ms": 5000,
            "html": null, "css": null,
        })
        .to_string();
        (id, Arc::<str>::from(text))
    };
    let mut warm = HashMap::new();
    for n in 0..WARM_UP {
        let (id, text) = message(n);
        warm.insert(id, Instant::now());
        tx.send(text).unwrap();
    }
    collect(&mut rx, &warm).await;
    let mut starts = HashMap::with_capacity(ALERTS);
    let mut tick = tokio::time::interval(GAP);
    for n in 0..ALERTS {
        let (id, text) = message(WARM_UP + n);
        tick.tick().await;
        starts.insert(id, Instant::now());
        tx.send(text).unwrap();
    }
    let result = collect(&mut rx, &starts).await;
    server.abort();
    result
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // `RUST_LOG=stagehand=info` shows what the host did (disconnects, lag).
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (bare_all, bare_each) = bare_broadcast().await;
        let (all, each, answered) = through_the_host(dir.path()).await;
        let p99 = percentile(&all, 0.99);
        println!(
            "overlay_fanout: {CLIENTS} overlay sockets, {ALERTS} alerts, one every {} ms",
            GAP.as_millis()
        );
        println!(
            "host: POST /api/events/test -> all {CLIENTS} hold the alert: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms  (target p99 < 10 ms: {})",
            ms(percentile(&all, 0.5)),
            ms(p99),
            ms(*all.last().unwrap()),
            if p99 < Duration::from_millis(10) { "met" } else { "NOT met" }
        );
        println!(
            "      each socket: p50 {:.3} ms, p99 {:.3} ms; POST answered (event stored): p50 {:.3} ms, p99 {:.3} ms",
            ms(percentile(&each, 0.5)),
            ms(percentile(&each, 0.99)),
            ms(percentile(&answered, 0.5)),
            ms(percentile(&answered, 0.99)),
        );
        println!(
            "bare broadcast (axum, {CLIENTS} sockets): send -> all hold it: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms; each socket p50 {:.3} ms, p99 {:.3} ms",
            ms(percentile(&bare_all, 0.5)),
            ms(percentile(&bare_all, 0.99)),
            ms(*bare_all.last().unwrap()),
            ms(percentile(&bare_each, 0.5)),
            ms(percentile(&bare_each, 0.99)),
        );
    });
}
