//! Cluster throughput and latency on this machine: `stagehand cluster`
//! processes (the release binary cargo built for this bench) against the
//! machine's NATS JetStream (127.0.0.1:4222) and PostgreSQL (127.0.0.1:5432)
//! with the Twitch look-alike in this process, beside the single-host mode
//! (`stagehand run`) on the same machine in the same run.
//!
//! Cluster: one cluster for the whole run — 1 ingest node, 1 edge, and
//! workers added between phases (1, then 2, then 4; each phase waits until
//! the 16 stream partitions are shared evenly). 1,000 look-alike channels
//! are registered through the edge's operator API, each with the
//! `follow-alert` package (`stagehand plugin pack` of
//! `target/plugins/follow-alert`) and the settings `{"speak": false}`. Per
//! worker count:
//!
//! - latency: follows offered at 2,000/s for 20 s, round-robin over the
//!   1,000 channels; overlay sockets of 100 channels (every tenth) say hello
//!   and acknowledge every alert. Latency is from the moment the bench asks
//!   the look-alike for the follow (it stamps `followed_at` and the
//!   notification's timestamp with that moment and queues the frame on the
//!   conduit shard's socket) to the moment the overlay socket reads the
//!   alert. Beside it, the nodes' own p99 from `/metrics`. The edge is
//!   restarted (it is stateless) before each latency phase, so its p99
//!   window holds that phase only.
//! - throughput: 20,000 follows sent as fast as the look-alike sends them,
//!   spread over the channels; from the first trigger to the moment the
//!   last event is committed (PostgreSQL's per-channel counters, polled
//!   every 20 ms).
//! - CPU: utime + stime of each node (`/proc/PID/stat`) before and after
//!   each phase, per 1,000 events.
//!
//! Single host: `stagehand run` against its own look-alike (one channel: a
//! single host serves one), the same package and settings installed through
//! its API, one overlay socket; the same two phases on that one channel.
//!
//! Every wait has a deadline; a watchdog ends the run after 10 minutes.
//! Databases, NATS streams and processes are removed on success, failure
//! and timeout.
//!
//! Needs the plugins built (`cargo xtask plugins`), then
//! `cargo bench -p stagehand --bench cluster_throughput`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use twitch_lookalike::{MockControl, MockOptions, MockTwitch};

const CHANNELS: usize = 1_000;
/// Every `SAMPLE_EVERY`th channel has an overlay socket.
const SAMPLE_EVERY: usize = 10;
const WORKER_STEPS: [usize; 3] = [1, 2, 4];
const PARTITIONS: u32 = 16;
const BURST: usize = 20_000;
const RATE: usize = 2_000;
const RATE_SECS: usize = 20;
/// Follows sent per 10 ms tick of the latency phase.
const PER_TICK: usize = RATE / 100;
const TARGET_P99: Duration = Duration::from_millis(50);
/// How long a phase may take to be stored and delivered after sending.
const PHASE_LIMIT: Duration = Duration::from_secs(90);
/// The whole run, after which the watchdog cleans up and exits.
const TOTAL_LIMIT: Duration = Duration::from_secs(600);
const OPERATOR_TOKEN: &str = "bench-operator-token-0123456789";
const API_TOKEN: &str = "bench-api-token-0123456789abcdef";
const OVERLAY_KEY: &str = "bench-overlay-key-0123456789";
const TOKEN_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn nats_url() -> String {
    std::env::var("STAGEHAND_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

fn admin_database_url() -> String {
    std::env::var("STAGEHAND_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn with_database(url: &str, db: &str) -> String {
    match url.rfind('/') {
        Some(i) if url[..i].contains("//") && i > url.find("//").unwrap() + 1 => {
            format!("{}/{db}", &url[..i])
        }
        _ => format!("{url}/{db}"),
    }
}

fn built_plugins() -> PathBuf {
    std::env::var_os("STAGEHAND_TEST_PLUGINS")
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR"))
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

// --- what to remove whatever happens -----------------------------------------

#[derive(Default)]
struct Leftovers {
    pids: Vec<u32>,
    databases: Vec<String>,
    streams: Vec<String>,
}

static LEFTOVERS: Mutex<Leftovers> = Mutex::new(Leftovers {
    pids: Vec::new(),
    databases: Vec::new(),
    streams: Vec::new(),
});

fn leftovers() -> std::sync::MutexGuard<'static, Leftovers> {
    LEFTOVERS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Kills the processes this bench started, drops its databases and deletes
/// its NATS streams. Safe to call more than once, from any thread.
fn clean_up() {
    let taken = std::mem::take(&mut *leftovers());
    for pid in &taken.pids {
        // SAFETY: kill(2) on a process this bench started (its own child).
        unsafe {
            libc::kill(*pid as i32, libc::SIGKILL);
        }
    }
    if taken.databases.is_empty() && taken.streams.is_empty() {
        return;
    }
    // A thread of its own: this may run inside the bench's runtime.
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let work = async {
                if !taken.streams.is_empty()
                    && let Ok(client) = async_nats::connect(nats_url()).await
                {
                    let js = async_nats::jetstream::new(client);
                    for stream in &taken.streams {
                        let _ = js.delete_stream(stream).await;
                    }
                }
                if let Ok((client, connection)) =
                    tokio_postgres::connect(&admin_database_url(), tokio_postgres::NoTls).await
                {
                    tokio::spawn(connection);
                    for db in &taken.databases {
                        let _ = client
                            .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                            .await;
                    }
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(30), work).await;
        });
    })
    .join();
}

fn forget_pid(pid: u32) {
    leftovers().pids.retain(|p| *p != pid);
}

// --- CPU time from /proc --------------------------------------------------------

/// utime + stime of `pid`, or zero when it is gone.
fn cpu_time(pid: u32) -> Duration {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // Fields after the command name (which may hold spaces) start at field 3.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields
        .get(11)
        .and_then(|u| u.parse::<u64>().ok())
        .unwrap_or(0)
        + fields
            .get(12)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_nanos(ticks * 1_000_000_000 / hz)
}

/// CPU time of every process named `comm` (the machine's NATS server and
/// PostgreSQL processes); read only.
fn cpu_of_named(comm: &str) -> Duration {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Duration::ZERO;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm)
        })
        .map(cpu_time)
        .sum()
}

/// CPU used so far per label.
#[derive(Debug, Clone, Default)]
struct CpuSnapshot(Vec<(String, Duration)>);

impl CpuSnapshot {
    fn take(processes: &[(String, u32)]) -> CpuSnapshot {
        let mut out: Vec<(String, Duration)> = processes
            .iter()
            .map(|(label, pid)| (label.clone(), cpu_time(*pid)))
            .collect();
        out.push(("bench".into(), cpu_time(std::process::id())));
        out.push(("nats".into(), cpu_of_named("nats-server")));
        out.push(("postgres".into(), cpu_of_named("postgres")));
        CpuSnapshot(out)
    }

    /// CPU used between `self` and `later`, summed per role (the label's
    /// part before `:`).
    fn used_until(&self, later: &CpuSnapshot) -> Vec<(String, Duration)> {
        let before: HashMap<&str, Duration> =
            self.0.iter().map(|(l, d)| (l.as_str(), *d)).collect();
        let mut roles: Vec<(String, Duration)> = Vec::new();
        for (label, after) in &later.0 {
            let used =
                after.saturating_sub(before.get(label.as_str()).copied().unwrap_or_default());
            let role = label.split(':').next().unwrap_or(label).to_owned();
            match roles.iter_mut().find(|(r, _)| *r == role) {
                Some((_, d)) => *d += used,
                None => roles.push((role, used)),
            }
        }
        roles
    }
}

/// `role ms/1000 ...` and the total of the stagehand processes.
fn cpu_line(used: &[(String, Duration)], events: usize) -> (String, f64) {
    let per = |d: Duration| d.as_secs_f64() * 1e3 / (events as f64 / 1000.0);
    let mut parts = Vec::new();
    let mut total = 0.0;
    for (role, d) in used {
        if !["bench", "nats", "postgres"].contains(&role.as_str()) {
            total += per(*d);
        }
        parts.push(format!("{role} {:.0}", per(*d)));
    }
    (parts.join(", "), total)
}

// --- stagehand processes ----------------------------------------------------------

/// One `stagehand` process with its log.
struct Proc {
    label: String,
    child: Option<Child>,
    log: PathBuf,
    /// `127.0.0.1:PORT` it listens on.
    addr: String,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// SIGTERM, then SIGKILL after `wait`.
    fn stop(&mut self, wait: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                forget_pid(child.id());
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        forget_pid(child.id());
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            forget_pid(child.id());
        }
    }
}

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_stagehand")
}

/// The package `stagehand plugin pack` makes of the built follow-alert.
fn pack_follow_alert(work: &Path) -> Vec<u8> {
    let from = built_plugins().join("plugins/follow-alert");
    assert!(
        from.is_dir(),
        "follow-alert not built in {}: run `cargo xtask plugins`",
        from.display()
    );
    let out = work.join("follow-alert.stagehand");
    let status = Command::new(binary())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", work)
        .args(["plugin", "pack"])
        .arg(&from)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .expect("run stagehand plugin pack");
    assert!(status.success(), "stagehand plugin pack failed");
    std::fs::read(out).unwrap()
}

/// The cluster under test.
struct Cluster {
    twitch: MockTwitch,
    database: String,
    prefix: String,
    dir: PathBuf,
    edge: Proc,
    ingest: Proc,
    workers: Vec<Proc>,
    edges_started: usize,
    http: reqwest::Client,
    /// Admin connection to the cluster's database.
    db: tokio_postgres::Client,
}

fn suffix() -> String {
    use std::hash::{BuildHasher, RandomState};
    format!(
        "{:08x}",
        RandomState::new().hash_one(std::time::SystemTime::now()) as u32
    )
}

impl Cluster {
    fn spawn(&self, role: &'static str, name: &str) -> Proc {
        let log = self.dir.join(format!("{name}.log"));
        let mut cmd = Command::new(binary());
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.dir)
            .env("STAGEHAND_LOG", "info")
            .env("STAGEHAND_TOKEN_KEY", TOKEN_KEY)
            .env("STAGEHAND_OPERATOR_TOKEN", OPERATOR_TOKEN)
            .env("TWITCH_CLIENT_ID", self.twitch.client_id())
            .env("TWITCH_CLIENT_SECRET", self.twitch.client_secret())
            .env("TWITCH_API_URL", self.twitch.api_url())
            .env("TWITCH_AUTH_URL", self.twitch.auth_url())
            .env("TWITCH_EVENTSUB_URL", self.twitch.eventsub_url())
            .args(["cluster", role, "--nats", &nats_url()])
            .args(["--database", &self.database])
            .args(["--prefix", &self.prefix])
            .args(["--node-id", name])
            .args(["--partitions", &PARTITIONS.to_string()])
            // Leases renewed every second: a worker that joins gets its
            // share within a few seconds.
            .args(["--lease-secs", "3"])
            // Follower pollers stay out of the measurement (each channel's
            // baseline is still taken when it is subscribed).
            .args(["--poll-secs", "3600"]);
        if role == "edge" {
            cmd.args(["--listen", "127.0.0.1:0"]);
        } else {
            cmd.args(["--ops", "127.0.0.1:0"]);
        }
        cmd.stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        let child = cmd.spawn().expect("start stagehand cluster");
        leftovers().pids.push(child.id());
        let mut proc = Proc {
            label: format!("{role}:{name}"),
            child: Some(child),
            log,
            addr: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&proc.log).unwrap_or_default();
            let found = text.lines().find_map(|line| {
                let v: Value = serde_json::from_str(line).ok()?;
                let message = v["message"].as_str()?;
                (message == "edge listening" || message == "operations endpoint listening")
                    .then(|| v["addr"].as_str().map(str::to_owned))?
            });
            if let Some(addr) = found {
                proc.addr = addr;
                return proc;
            }
            if let Some(Ok(Some(status))) = proc.child.as_mut().map(Child::try_wait) {
                panic!("{name} exited ({status}) before listening:\n{text}");
            }
            assert!(Instant::now() < deadline, "{name} did not listen:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn processes(&self) -> Vec<(String, u32)> {
        std::iter::once(&self.ingest)
            .chain(std::iter::once(&self.edge))
            .chain(&self.workers)
            .map(|p| (p.label.clone(), p.pid()))
            .collect()
    }

    /// Events committed so far (the sum of the per-channel counters).
    async fn stored(&self) -> i64 {
        self.db
            .query_one(
                "SELECT COALESCE(SUM(last_event), 0)::BIGINT FROM channel_seq",
                &[],
            )
            .await
            .map(|r| r.get::<_, i64>(0))
            .unwrap_or(0)
    }

    /// Transactions committed in the cluster's database so far, by anyone
    /// (PostgreSQL's statistics, flushed about once a second).
    async fn transactions(&self) -> i64 {
        self.db
            .query_one(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
                &[],
            )
            .await
            .map(|r| r.get::<_, i64>(0))
            .unwrap_or(0)
    }

    /// Waits until `target` events are committed; answers when it saw so.
    async fn wait_stored(&self, target: i64, limit: Duration, what: &str) -> Instant {
        let deadline = Instant::now() + limit;
        loop {
            let now = self.stored().await;
            if now >= target {
                return Instant::now();
            }
            if Instant::now() > deadline {
                let tails: Vec<String> = std::iter::once(&self.ingest)
                    .chain(&self.workers)
                    .map(|p| format!("--- {} ---\n{}", p.label, p.log_tail(15)))
                    .collect();
                panic!(
                    "{what}: {now} of {target} events stored within {limit:?}\n{}",
                    tails.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn wait_ready(&self, proc: &Proc, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut last;
        loop {
            match self.http.get(format!("{}/readyz", proc.url())).send().await {
                Ok(r) if r.status() == 200 => return,
                Ok(r) => last = r.text().await.unwrap_or_default(),
                Err(e) => last = e.to_string(),
            }
            assert!(
                Instant::now() < deadline,
                "{} not ready within {limit:?}: {last}\n{}",
                proc.label,
                proc.log_tail(20)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn metrics(&self, proc: &Proc) -> String {
        match self
            .http
            .get(format!("{}/metrics", proc.url()))
            .send()
            .await
        {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits until each worker holds its even share of the partitions.
    async fn wait_balanced(&self) {
        let share = PARTITIONS as usize / self.workers.len();
        let deadline = Instant::now() + Duration::from_secs(45);
        loop {
            let mut held = Vec::new();
            for w in &self.workers {
                let page = self.metrics(w).await;
                held.push(
                    metric(&page, "stagehand_held", Some("kind=\"partitions\"")).unwrap_or(0.0)
                        as usize,
                );
            }
            if held.iter().all(|h| *h == share) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "partitions not shared evenly within 45 s: {held:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// A new edge process (fresh metrics); the old one drains first.
    async fn restart_edge(&mut self) {
        self.edge.stop(Duration::from_secs(15));
        self.edges_started += 1;
        self.edge = self.spawn("edge", &format!("edge-{}", self.edges_started));
        self.wait_ready(&self.edge, Duration::from_secs(30)).await;
    }
}

/// The value of `name{...}` (whose labels contain `label`, if given).
fn metric(page: &str, name: &str, label: Option<&str>) -> Option<f64> {
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| label.is_none_or(|want| l.contains(want)))
        .find_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
}

/// The workers' batch-phase histograms (`stagehand_worker_batch_phase_seconds`)
/// summed over `pages`: (phase, bucket bound) → cumulative count.
fn phase_buckets(pages: &[String]) -> HashMap<(String, String), f64> {
    buckets(pages, "stagehand_worker_batch_phase_seconds", Some("phase"))
}

/// The histogram `metric`'s buckets summed over `pages`: (the `group`
/// label's value, or "" without one; bucket bound) → cumulative count.
fn buckets(pages: &[String], metric: &str, group: Option<&str>) -> HashMap<(String, String), f64> {
    let prefix = format!("{metric}_bucket{{");
    let mut out = HashMap::new();
    for page in pages {
        for line in page.lines() {
            let Some(rest) = line.strip_prefix(&prefix) else {
                continue;
            };
            let Some((labels, value)) = rest.rsplit_once("} ") else {
                continue;
            };
            let label = |name: &str| {
                labels
                    .split(',')
                    .find_map(|kv| kv.strip_prefix(&format!("{name}=\"")))
                    .map(|v| v.trim_end_matches('"').to_owned())
            };
            let phase = match group {
                Some(name) => label(name),
                None => Some(String::new()),
            };
            let (Some(phase), Some(le), Ok(count)) = (phase, label("le"), value.parse::<f64>())
            else {
                continue;
            };
            *out.entry((phase, le)).or_insert(0.0) += count;
        }
    }
    out
}

/// For the histogram series `group` of two bucket readings: the bound of the
/// bucket under which 99% of what was observed between them fell, and how
/// many were observed; `None` when nothing was.
fn p99_between(
    before: &HashMap<(String, String), f64>,
    after: &HashMap<(String, String), f64>,
    group: &str,
) -> Option<(f64, f64)> {
    let mut bounds: Vec<(f64, f64)> = after
        .iter()
        .filter(|((g, _), _)| g == group)
        .map(|(key, n)| {
            // "+Inf" does not parse: it is the last bucket anyway.
            let bound = key.1.parse().unwrap_or(f64::INFINITY);
            (bound, n - before.get(key).copied().unwrap_or(0.0))
        })
        .collect();
    bounds.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = bounds.last().map_or(0.0, |b| b.1);
    if total <= 0.0 {
        return None;
    }
    let p99 = bounds
        .iter()
        .find(|(_, n)| *n >= total * 0.99)
        .map_or(f64::INFINITY, |b| b.0);
    Some((p99, total))
}

fn bound_ms(p99: f64) -> String {
    if p99.is_finite() {
        format!("≤ {:.0} ms", p99 * 1e3)
    } else {
        "> 5 s".into()
    }
}

/// The bucket bound under which 99% of the events between the `before` and
/// `after` pages were stored (every worker's together).
fn stored_p99(before: &[String], after: &[String]) -> String {
    let metric = "stagehand_event_stored_latency_seconds";
    let (before, after) = (buckets(before, metric, None), buckets(after, metric, None));
    p99_between(&before, &after, "").map_or("n/a".into(), |(p99, _)| bound_ms(p99))
}

/// Per phase, the bucket bound under which 99% of the batches between the
/// `before` and `after` pages fell: "commit ≤ 25 ms".
fn phase_p99s(before: &[String], after: &[String]) -> String {
    let (before, after) = (phase_buckets(before), phase_buckets(after));
    let mut parts = Vec::new();
    let mut batches = 0.0;
    for phase in ["queued", "prepare", "plugins", "commit", "publish", "ack"] {
        if let Some((p99, count)) = p99_between(&before, &after, phase) {
            parts.push(format!("{phase} {}", bound_ms(p99)));
            if phase == "commit" {
                batches = count;
            }
        }
    }
    format!("{} ({batches} batches)", parts.join(", "))
}

/// One channel: its look-alike id and its overlay key.
struct Channel {
    id: String,
    overlay_key: String,
}

async fn add_channel(
    http: &reqwest::Client,
    control: &MockControl,
    edge: &str,
    n: usize,
    package: &[u8],
) -> Channel {
    let (id, login) = control
        .add_channel(&format!("benchchan{n:04}"))
        .await
        .expect("look-alike channel");
    let token = control.user_token(&id).await.expect("channel token");
    let r = http
        .post(format!("{edge}/api/channels"))
        .bearer_auth(OPERATOR_TOKEN)
        .json(&json!({"id": id, "login": login, "user_token": token}))
        .send()
        .await
        .expect("POST /api/channels");
    assert_eq!(
        r.status(),
        201,
        "channel: {}",
        r.text().await.unwrap_or_default()
    );
    let body: Value = r.json().await.unwrap();
    let dashboard = body["dashboard_token"].as_str().unwrap().to_owned();
    let r = http
        .put(format!("{edge}/api/plugins/follow-alert"))
        .bearer_auth(&dashboard)
        .body(package.to_vec())
        .send()
        .await
        .expect("PUT plugin");
    assert_eq!(
        r.status(),
        200,
        "install: {}",
        r.text().await.unwrap_or_default()
    );
    let r = http
        .put(format!("{edge}/api/plugins/follow-alert/settings"))
        .bearer_auth(&dashboard)
        .json(&json!({"speak": false}))
        .send()
        .await
        .expect("PUT settings");
    assert_eq!(
        r.status(),
        200,
        "settings: {}",
        r.text().await.unwrap_or_default()
    );
    Channel {
        id,
        overlay_key: body["overlay_key"].as_str().unwrap().to_owned(),
    }
}

// --- overlay sockets ------------------------------------------------------------

/// Alerts the sockets read: (follower number, when).
type Arrivals = Arc<Mutex<Vec<(u64, Instant)>>>;

/// The follower number in "bulk_follower123 just followed".
fn follower_number(alert: &Value) -> Option<u64> {
    let text = alert["message"].as_str()?.to_ascii_lowercase();
    let at = text.find("bulk_follower")? + "bulk_follower".len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Connects an overlay socket, waits for the welcome, then records and
/// acknowledges every alert until the socket closes or `stop` fires.
async fn overlay_socket(
    base: &str,
    key: String,
    arrivals: Arrivals,
    stop: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let url = format!(
        "ws://{}/overlay/alerts/ws",
        base.trim_start_matches("http://")
    );
    let (mut socket, _) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(url),
    )
    .await
    .expect("overlay socket connects within 10 s")
    .expect("overlay socket");
    socket
        .send(Message::Text(
            json!({"type": "hello", "key": key}).to_string().into(),
        ))
        .await
        .unwrap();
    let welcome = tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .expect("a welcome within 10 s");
    match welcome {
        Some(Ok(Message::Text(t))) if t.contains("\"welcome\"") => {}
        other => panic!("overlay socket refused: {other:?}"),
    }
    tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                _ = stop.cancelled() => break,
                next = socket.next() => next,
            };
            let Some(Ok(message)) = next else { break };
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
            if let Some(n) = follower_number(&value) {
                arrivals.lock().unwrap().push((n, at));
            }
            let ack = json!({"type": "ack", "id": value["id"]}).to_string();
            if socket.send(Message::Text(ack.into())).await.is_err() {
                break;
            }
        }
        let _ = socket.close(None).await;
    })
}

// --- load ------------------------------------------------------------------------

/// Sends follows and remembers the follower numbers the look-alike gives
/// them (its `bulk_follower{n}` counter: this bench is its only caller).
struct Sender {
    control: MockControl,
    next_follower: u64,
    next_channel: usize,
}

impl Sender {
    /// One follow of the next channel in turn; answers (follower, channel).
    async fn follow(&mut self, channels: &[String]) -> (u64, usize) {
        let index = self.next_channel % channels.len();
        self.next_channel += 1;
        let report = self
            .control
            .bulk_follows(&channels[index], 1, None)
            .await
            .expect("bulk follow");
        if report.delivered != 1 {
            let subs = self.control.subscriptions().await;
            let mine: Vec<_> = subs
                .iter()
                .filter(|s| {
                    s.kind == "channel.follow"
                        && Value::Object(s.condition.clone())
                            .to_string()
                            .contains(&channels[index])
                })
                .map(|s| format!("{} {:?}", s.status, s.transport))
                .collect();
            panic!(
                "follow {} of channel {} delivered {} times; its follow subscriptions: {mine:?}; routing {:?}",
                self.next_follower,
                channels[index],
                report.delivered,
                self.control.routing_counts().await
            );
        }
        let n = self.next_follower;
        self.next_follower += 1;
        (n, index)
    }

    /// `count` follows as fast as the look-alike sends them.
    async fn burst(&mut self, channels: &[String], count: usize) {
        for i in 0..count {
            self.follow(channels).await;
            if i % 256 == 255 {
                tokio::task::yield_now().await;
            }
        }
    }

    /// `RATE`/s for `RATE_SECS`; answers the send time of each follow to a
    /// channel `sampled` picks, and the achieved rate.
    async fn steady(
        &mut self,
        channels: &[String],
        sampled: impl Fn(usize) -> bool,
    ) -> (HashMap<u64, Instant>, f64) {
        let mut sent = HashMap::new();
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        let start = Instant::now();
        for _ in 0..RATE * RATE_SECS / PER_TICK {
            tick.tick().await;
            for _ in 0..PER_TICK {
                let at = Instant::now();
                let (n, index) = self.follow(channels).await;
                if sampled(index) {
                    sent.insert(n, at);
                }
            }
        }
        let rate = (RATE * RATE_SECS) as f64 / start.elapsed().as_secs_f64();
        (sent, rate)
    }
}

/// Waits until every sent follow's alert arrived (or `limit`); answers the
/// latencies, sorted, and how many never arrived.
async fn latencies(
    arrivals: &Arrivals,
    sent: &HashMap<u64, Instant>,
    limit: Duration,
) -> (Vec<Duration>, usize) {
    let deadline = Instant::now() + limit;
    loop {
        let got = {
            let seen = arrivals.lock().unwrap();
            seen.iter().filter(|(n, _)| sent.contains_key(n)).count()
        };
        if got >= sent.len() || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen = arrivals.lock().unwrap();
    let mut first: HashMap<u64, Instant> = HashMap::new();
    for (n, at) in seen.iter() {
        if sent.contains_key(n) {
            first.entry(*n).or_insert(*at);
        }
    }
    let mut out: Vec<Duration> = first
        .iter()
        .map(|(n, at)| at.saturating_duration_since(sent[n]))
        .collect();
    out.sort_unstable();
    (out, sent.len() - first.len())
}

/// The `p` quantile, a missing alert counting as slower than any: `None`
/// when the quantile falls among the missing.
fn quantile(sorted: &[Duration], missing: usize, p: f64) -> Option<Duration> {
    let total = sorted.len() + missing;
    if total == 0 {
        return None;
    }
    let i = ((total as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied()
}

fn ms(d: Option<Duration>) -> String {
    match d {
        Some(d) => format!("{:.1} ms", d.as_secs_f64() * 1e3),
        None => "n/a (alerts missing)".into(),
    }
}

fn secs_ms(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{:.1} ms", v * 1e3),
        _ => "n/a".into(),
    }
}

/// One configuration's figures.
struct Row {
    name: String,
    sustained: f64,
    p99: Option<Duration>,
    cpu_per_1000: f64,
    /// The follows' send rate, and whether the last was stored within a
    /// quarter of the sending time after it (the system kept up with the
    /// look-alike: the figure is the sender's, not the system's, limit).
    send_rate: f64,
    sender_bound: bool,
}

// --- the cluster run ---------------------------------------------------------------

async fn cluster_run(work: &Path, package: &[u8], rows: &mut Vec<Row>) {
    let twitch = MockTwitch::start(MockOptions {
        rate_limit_per_minute: 1_000_000,
        max_total_cost: 1_000_000,
        max_websocket_connections: 1000,
        ..MockOptions::fast()
    })
    .await
    .expect("look-alike starts");
    let control = twitch.control();
    let suffix = suffix();
    let database_name = format!("stagehand_bench_{suffix}");
    let prefix = format!("bench{suffix}");
    let (admin, connection) = tokio_postgres::connect(&admin_database_url(), tokio_postgres::NoTls)
        .await
        .expect("PostgreSQL reachable (STAGEHAND_TEST_DATABASE_URL)");
    tokio::spawn(connection);
    leftovers().databases.push(database_name.clone());
    leftovers()
        .streams
        .push(format!("{}_EVENTS", prefix.to_uppercase()));
    admin
        .batch_execute(&format!("CREATE DATABASE {database_name}"))
        .await
        .expect("create the bench database");
    let database = with_database(&admin_database_url(), &database_name);
    let (db, connection) = tokio_postgres::connect(&database, tokio_postgres::NoTls)
        .await
        .expect("the bench database");
    tokio::spawn(connection);
    let dir = work.join("cluster");
    std::fs::create_dir_all(&dir).unwrap();

    let placeholder = || Proc {
        label: String::new(),
        child: None,
        log: PathBuf::new(),
        addr: String::new(),
    };
    let mut cluster = Cluster {
        twitch,
        database,
        prefix,
        dir,
        edge: placeholder(),
        ingest: placeholder(),
        workers: Vec::new(),
        edges_started: 0,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .build()
            .unwrap(),
        db,
    };
    cluster.edge = cluster.spawn("edge", "edge-0");
    cluster.ingest = cluster.spawn("ingest", "ingest-1");
    cluster.workers.push(cluster.spawn("worker", "worker-1"));
    cluster
        .wait_ready(&cluster.edge, Duration::from_secs(30))
        .await;

    // 1,000 channels through the operator API, 8 at a time.
    let setup = Instant::now();
    let edge_url = cluster.edge.url();
    let channels: Vec<Channel> = futures_util::stream::iter(0..CHANNELS)
        .map(|n| add_channel(&cluster.http, &control, &edge_url, n, package))
        .buffered(8)
        .collect()
        .await;
    let registered = setup.elapsed();
    // /readyz can still answer 200 from the reconcile pass before the last
    // channels were added: wait for the look-alike to hold every channel's
    // follow subscription too.
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let follows = control
            .subscriptions()
            .await
            .iter()
            .filter(|s| s.kind == "channel.follow" && s.status == "enabled")
            .count();
        if follows >= CHANNELS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{follows} of {CHANNELS} channels subscribed within 240 s\n{}",
            cluster.ingest.log_tail(20)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    cluster
        .wait_ready(&cluster.ingest, Duration::from_secs(240))
        .await;
    cluster
        .wait_ready(&cluster.workers[0], Duration::from_secs(30))
        .await;
    println!(
        "cluster: {CHANNELS} channels registered with follow-alert in {:.1} s; ingest ready (every channel subscribed) after {:.1} s",
        registered.as_secs_f64(),
        setup.elapsed().as_secs_f64()
    );
    let ids: Vec<String> = channels.iter().map(|c| c.id.clone()).collect();
    let mut sender = Sender {
        control: control.clone(),
        next_follower: 0,
        next_channel: 0,
    };
    let mut expected: i64 = 0;

    for &workers in &WORKER_STEPS {
        while cluster.workers.len() < workers {
            let name = format!("worker-{}", cluster.workers.len() + 1);
            let w = cluster.spawn("worker", &name);
            cluster.workers.push(w);
        }
        cluster.wait_balanced().await;
        // Warm-up: one follow per channel loads every channel's plugins on
        // the worker that now has it. Before the edge restarts, so
        // the edge's own p99 is the latency phase's.
        sender.burst(&ids, CHANNELS).await;
        expected += CHANNELS as i64;
        cluster.wait_stored(expected, PHASE_LIMIT, "warm-up").await;
        cluster.restart_edge().await;
        let arrivals: Arrivals = Arc::default();
        let stop = tokio_util::sync::CancellationToken::new();
        let mut sockets = Vec::new();
        for c in channels.iter().step_by(SAMPLE_EVERY) {
            sockets.push(
                overlay_socket(
                    &cluster.edge.url(),
                    c.overlay_key.clone(),
                    arrivals.clone(),
                    stop.clone(),
                )
                .await,
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;

        // Latency at 2,000/s.
        let mut pages_before = Vec::new();
        for w in &cluster.workers {
            pages_before.push(cluster.metrics(w).await);
        }
        let before = CpuSnapshot::take(&cluster.processes());
        let transactions_before = cluster.transactions().await;
        arrivals.lock().unwrap().clear();
        let (sent, offered) = sender.steady(&ids, |index| index % SAMPLE_EVERY == 0).await;
        expected += (RATE * RATE_SECS) as i64;
        let (lat, missing) = latencies(&arrivals, &sent, PHASE_LIMIT).await;
        cluster
            .wait_stored(expected, PHASE_LIMIT, "latency phase")
            .await;
        let after = CpuSnapshot::take(&cluster.processes());
        // Let the statistics catch up before reading them.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let transactions = cluster.transactions().await - transactions_before;
        let edge_page = cluster.metrics(&cluster.edge).await;
        let edge_p99 = metric(
            &edge_page,
            "stagehand_event_overlay_latency_p99_seconds",
            None,
        );
        let mut worker_p99 = Vec::new();
        let mut pages_after = Vec::new();
        for w in &cluster.workers {
            let page = cluster.metrics(w).await;
            pages_after.push(page.clone());
            worker_p99.push(secs_ms(metric(
                &page,
                "stagehand_event_stored_latency_p99_seconds",
                None,
            )));
        }
        let p99 = quantile(&lat, missing, 0.99);
        let (cpu_latency, _) = cpu_line(&before.used_until(&after), RATE * RATE_SECS);

        // Throughput: as fast as possible.
        let before = CpuSnapshot::take(&cluster.processes());
        let start = Instant::now();
        sender.burst(&ids, BURST).await;
        let sent_in = start.elapsed();
        expected += BURST as i64;
        let last = cluster
            .wait_stored(expected, PHASE_LIMIT, "throughput phase")
            .await;
        let after = CpuSnapshot::take(&cluster.processes());
        let elapsed = last.duration_since(start);
        let sustained = BURST as f64 / elapsed.as_secs_f64();
        let (cpu_burst, cpu_total) = cpu_line(&before.used_until(&after), BURST);
        stop.cancel();
        for s in sockets {
            let _ = tokio::time::timeout(Duration::from_secs(5), s).await;
        }

        println!(
            "cluster, {workers} worker(s): latency phase offered {offered:.0}/s ({} events), {} sampled alerts on {} sockets ({missing} missing): p50 {}, p99 {}, max {}",
            RATE * RATE_SECS,
            sent.len(),
            CHANNELS / SAMPLE_EVERY,
            ms(quantile(&lat, missing, 0.5)),
            ms(p99),
            ms(lat.last().copied()),
        );
        println!(
            "    nodes' own p99 (/metrics, ingest received_at ->, the last minute's samples: a worker's include the warm-up): edge overlay sent {}; workers stored {}",
            secs_ms(edge_p99),
            worker_p99.join(", ")
        );
        println!(
            "    workers' stored p99 bucket over the phase: {}; batch steps, p99 bucket: {}",
            stored_p99(&pages_before, &pages_after),
            phase_p99s(&pages_before, &pages_after)
        );
        println!(
            "    PostgreSQL transactions (every node's): {transactions}, {:.1} per 1000 events",
            transactions as f64 * 1000.0 / (RATE * RATE_SECS) as f64
        );
        println!("    CPU ms/1000 events at 2,000/s: {cpu_latency}");
        println!(
            "    throughput: {BURST} follows sent in {:.2} s, last stored after {:.2} s: {sustained:.0} events/s; CPU ms/1000 events: {cpu_burst}",
            sent_in.as_secs_f64(),
            elapsed.as_secs_f64()
        );
        rows.push(Row {
            name: format!("cluster, {workers} worker(s)"),
            sustained,
            p99,
            cpu_per_1000: cpu_total,
            send_rate: BURST as f64 / sent_in.as_secs_f64(),
            sender_bound: elapsed < sent_in.mul_f64(1.25),
        });
    }

    for w in &mut cluster.workers {
        w.stop(Duration::from_secs(15));
    }
    cluster.ingest.stop(Duration::from_secs(15));
    cluster.edge.stop(Duration::from_secs(15));
    cluster.twitch.shutdown().await;
}

// --- the single host ----------------------------------------------------------------

async fn single_host_run(work: &Path, package: &[u8], rows: &mut Vec<Row>) {
    use stagehand::twitch::eventsub::subscriptions::WANTED;
    let twitch = MockTwitch::start(MockOptions {
        rate_limit_per_minute: 1_000_000,
        ..MockOptions::fast()
    })
    .await
    .expect("look-alike starts");
    let control = twitch.control();
    let data = work.join("single");
    std::fs::create_dir_all(data.join("plugins")).unwrap();
    let mut cmd = Command::new(binary());
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &data)
        .env("XDG_CONFIG_HOME", data.join("xdg-config"))
        .env("STAGEHAND_DATA_DIR", &data)
        .env("STAGEHAND_PLUGINS_DIR", data.join("plugins"))
        .env("STAGEHAND_ADDR", "127.0.0.1:0")
        .env("STAGEHAND_API_TOKEN", API_TOKEN)
        .env("STAGEHAND_OVERLAY_KEY", OVERLAY_KEY)
        .env("STAGEHAND_LOG", "warn")
        // As in the cluster: no follower polling during the phases.
        .env("STAGEHAND_POLL_FOLLOWERS_SECS", "3600")
        .env("TWITCH_EVENTSUB_URL", twitch.eventsub_url())
        .env("TWITCH_API_URL", twitch.api_url())
        .env("TWITCH_AUTH_URL", twitch.auth_url())
        .env("TWITCH_CLIENT_ID", twitch.client_id())
        .env("TWITCH_ACCESS_TOKEN", twitch.access_token())
        .arg("run")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(work.join("single.log")).unwrap());
    let mut child = cmd.spawn().expect("start stagehand run");
    leftovers().pids.push(child.id());
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let base = tokio::task::block_in_place(|| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .expect("stagehand run printed where it listens within 60 s");
            if line.contains("listening on")
                && let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://"))
            {
                return url.trim_end_matches('/').to_owned();
            }
        }
    });
    std::thread::spawn(move || while rx.recv().is_ok() {});
    let host = Proc {
        label: "single-host".into(),
        child: Some(child),
        log: work.join("single.log"),
        addr: base.trim_start_matches("http://").to_owned(),
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    // The same package through the API: upload, confirm, settings.
    let r = http
        .post(format!("{base}/api/plugins/install"))
        .bearer_auth(API_TOKEN)
        .header("content-type", "application/gzip")
        .body(package.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "upload: {}",
        r.text().await.unwrap_or_default()
    );
    let staged: Value = r.json().await.unwrap();
    let token = staged["token"].as_str().expect("an install token");
    let r = http
        .post(format!("{base}/api/plugins/install/{token}"))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "confirm: {}",
        r.text().await.unwrap_or_default()
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = http
            .put(format!("{base}/api/plugins/follow-alert/settings"))
            .bearer_auth(API_TOKEN)
            .json(&json!({"settings": {"speak": false}}))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline && r.status() != 400,
            "settings: {}",
            r.text().await.unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        control
            .wait_for_subscriptions(WANTED.len(), Duration::from_secs(30))
            .await,
        "the single host did not subscribe within 30 s"
    );
    let broadcaster = vec![control.channels().await[0].id.clone()];
    let db = rusqlite::Connection::open_with_flags(
        data.join(stagehand::app::DB_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("the host's database");
    let stored = || -> i64 {
        db.query_row("SELECT count(*) FROM events", [], |r| r.get(0))
            .unwrap_or(0)
    };
    let wait_stored = |target: i64, what: &str| {
        let deadline = Instant::now() + PHASE_LIMIT;
        loop {
            let now = stored();
            if now >= target {
                return Instant::now();
            }
            assert!(
                Instant::now() < deadline,
                "single host, {what}: {now} of {target} events stored within {PHASE_LIMIT:?}\n{}",
                host.log_tail(20)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let arrivals: Arrivals = Arc::default();
    let stop = tokio_util::sync::CancellationToken::new();
    let socket = overlay_socket(&base, OVERLAY_KEY.into(), arrivals.clone(), stop.clone()).await;
    let mut sender = Sender {
        control: control.clone(),
        next_follower: 0,
        next_channel: 0,
    };
    // Warm-up.
    let base_count = stored();
    sender.burst(&broadcaster, 200).await;
    let mut expected = base_count + 200;
    tokio::task::block_in_place(|| wait_stored(expected, "warm-up"));
    tokio::time::sleep(Duration::from_millis(500)).await;

    let processes = vec![("single-host".to_owned(), host.pid())];
    let before = CpuSnapshot::take(&processes);
    arrivals.lock().unwrap().clear();
    let (sent, offered) = sender.steady(&broadcaster, |_| true).await;
    expected += (RATE * RATE_SECS) as i64;
    let (lat, missing) = latencies(&arrivals, &sent, PHASE_LIMIT).await;
    tokio::task::block_in_place(|| wait_stored(expected, "latency phase"));
    let after = CpuSnapshot::take(&processes);
    let (cpu_latency, _) = cpu_line(&before.used_until(&after), RATE * RATE_SECS);
    let p99 = quantile(&lat, missing, 0.99);

    let before = CpuSnapshot::take(&processes);
    let start = Instant::now();
    sender.burst(&broadcaster, BURST).await;
    let sent_in = start.elapsed();
    expected += BURST as i64;
    let last = tokio::task::block_in_place(|| wait_stored(expected, "throughput phase"));
    let after = CpuSnapshot::take(&processes);
    let elapsed = last.duration_since(start);
    let sustained = BURST as f64 / elapsed.as_secs_f64();
    let (cpu_burst, cpu_total) = cpu_line(&before.used_until(&after), BURST);
    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(5), socket).await;

    println!(
        "single host (one channel, stagehand run, SQLite): latency phase offered {offered:.0}/s, {} alerts on 1 socket ({missing} missing): p50 {}, p99 {}, max {}",
        sent.len(),
        ms(quantile(&lat, missing, 0.5)),
        ms(p99),
        ms(lat.last().copied())
    );
    println!("    CPU ms/1000 events at 2,000/s: {cpu_latency}");
    println!(
        "    throughput: {BURST} follows sent in {:.2} s, last stored after {:.2} s: {sustained:.0} events/s; CPU ms/1000 events: {cpu_burst}",
        sent_in.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    rows.push(Row {
        name: "single host (1 channel)".into(),
        sustained,
        p99,
        cpu_per_1000: cpu_total,
        send_rate: BURST as f64 / sent_in.as_secs_f64(),
        sender_bound: elapsed < sent_in.mul_f64(1.25),
    });
    let mut host = host;
    host.stop(Duration::from_secs(15));
    twitch.shutdown().await;
}

// --- main ------------------------------------------------------------------------------

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let started = Instant::now();
    std::thread::spawn(|| {
        std::thread::sleep(TOTAL_LIMIT);
        println!("cluster_throughput: FAILED: not done within {TOTAL_LIMIT:?}; cleaning up");
        clean_up();
        std::process::exit(1);
    });
    let _ = rustls::crypto::ring::default_provider().install_default();
    let work = tempfile::tempdir().unwrap();
    // CLUSTER_THROUGHPUT_KEEP_LOGS=1 keeps the nodes' logs for a look after.
    let (work_path, _work_guard) = if std::env::var_os("CLUSTER_THROUGHPUT_KEEP_LOGS").is_some() {
        let kept = work.keep();
        println!("cluster_throughput: node logs kept in {}", kept.display());
        (kept, None)
    } else {
        (work.path().to_path_buf(), Some(work))
    };
    println!("cluster_throughput: binary {}", binary());
    let rows = Arc::new(Mutex::new(Vec::new()));
    let outcome = {
        let rows = rows.clone();
        let work = work_path.clone();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let package = pack_follow_alert(&work);
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut out = Vec::new();
                // CLUSTER_THROUGHPUT_ONLY=cluster leaves the single host out.
                if std::env::var("CLUSTER_THROUGHPUT_ONLY").as_deref() != Ok("cluster") {
                    single_host_run(&work, &package, &mut out).await;
                }
                cluster_run(&work, &package, &mut out).await;
                *rows.lock().unwrap() = out;
            });
            rt.shutdown_timeout(Duration::from_secs(5));
        }))
    };
    clean_up();
    if outcome.is_err() {
        println!(
            "cluster_throughput: FAILED (see the panic above); processes, database and stream removed"
        );
        std::process::exit(1);
    }
    let rows = rows.lock().unwrap();
    println!();
    println!(
        "{:<26} {:>18} {:>26} {:>20}",
        "configuration", "sustained events/s", "p99 event->overlay @2000/s", "CPU ms/1000 events"
    );
    for row in rows.iter() {
        println!(
            "{:<26} {:>18.0} {:>26} {:>20.0}",
            row.name,
            row.sustained,
            format!(
                "{}{}",
                ms(row.p99),
                match row.p99 {
                    Some(p) if p < TARGET_P99 => " (met)",
                    _ => " (NOT met)",
                }
            ),
            row.cpu_per_1000
        );
    }
    let cluster: Vec<&Row> = rows
        .iter()
        .filter(|r| r.name.starts_with("cluster"))
        .collect();
    let figures: Vec<String> = cluster
        .iter()
        .map(|r| {
            format!(
                "{} {:.0}/s{}",
                r.name.trim_start_matches("cluster, "),
                r.sustained,
                if r.sender_bound {
                    format!(" (sender-bound: sent at {:.0}/s)", r.send_rate)
                } else {
                    String::new()
                }
            )
        })
        .collect();
    let stops = cluster
        .windows(2)
        .find(|pair| pair[1].sustained <= pair[0].sustained * 1.05)
        .map(|pair| pair[0]);
    match stops {
        Some(row) => println!(
            "throughput does not grow past {} on this machine: {}",
            row.name.trim_start_matches("cluster, "),
            figures.join(" -> ")
        ),
        None => println!(
            "throughput grows with every worker added: {}",
            figures.join(" -> ")
        ),
    }
    if cluster.iter().any(|r| r.sender_bound) {
        println!(
            "  sender-bound phases: the last event was stored within 25% of the sending time after the last send, so the look-alike in this process (one sender, 2 cores shared with every node, NATS and PostgreSQL) set the rate, not the workers"
        );
    }
    println!(
        "target p99 < {} ms at 2,000 events/s; CPU is the stagehand processes' (the bench, with the look-alike, and NATS + PostgreSQL are listed per phase above); run took {:.0} s",
        TARGET_P99.as_millis(),
        started.elapsed().as_secs_f64()
    );
}
