//! End-to-end: a plugin written by an attacker (`tests/plugins/hostile-plugin`,
//! asking for no permission) cannot hurt the host, the other plugins or the
//! stream. For every attack a bystander's follow, posted through the API
//! while the attack runs, is stored and reaches the overlay socket within a
//! second, `/healthz` answers, and the hostile plugin is faulted or refused
//! with a reason. The host's memory stays under 300 MiB throughout.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::overlay::Overlay;
use support::{Host, client, install_plugin};

const WAIT: Duration = Duration::from_secs(15);
/// What a bystander may wait for its event to be stored and its alert shown.
const BYSTANDER: Duration = Duration::from_secs(1);
const MAX_RSS_MIB: u64 = 300;

/// Installs hostile-plugin with `settings` (init, format, render attacks)
/// beside follow-alert (the bystander's alert).
fn install(dir: &Path, settings: &[(&str, &str)]) {
    let folder = install_plugin(dir, "hostile-plugin");
    install_plugin(dir, "follow-alert");
    let manifest = folder.join("plugin.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    for (key, value) in settings {
        text = text.replace(&format!("{key} = \"\""), &format!("{key} = \"{value}\""));
    }
    std::fs::write(manifest, text).unwrap();
}

async fn hostile_host(settings: &[(&str, &str)]) -> (tempfile::TempDir, Host, Overlay) {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), settings);
    let host = Host::start(dir.path(), "run", &[]);
    let overlay = Overlay::connect(&host.base, "alerts").await;
    (dir, host, overlay)
}

async fn post(host: &Host, body: Value) -> reqwest::Response {
    client()
        .post(host.url("/api/events/test"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn attack(mode: &str) -> Value {
    json!({"kind": "test.hostile", "details": {"mode": mode}})
}

/// Posts an attack without waiting for its answer (it is stored at once;
/// the plugin works on it on its own thread).
async fn launch(host: &Host, mode: &str) {
    let resp = post(host, attack(mode)).await;
    assert_eq!(resp.status(), 201, "the attack event itself is stored");
}

/// A bystander follows while the attack runs: stored and on the overlay
/// within [`BYSTANDER`], and `/healthz` answers.
async fn bystander_gets_through(host: &Host, overlay: &mut Overlay, name: &str) {
    let started = Instant::now();
    let resp = tokio::time::timeout(
        BYSTANDER,
        post(
            host,
            json!({"kind": "channel.follow", "details": {"username": name}}),
        ),
    )
    .await
    .unwrap_or_else(|_| panic!("{name}'s follow was not stored within {BYSTANDER:?}"));
    assert_eq!(resp.status(), 201);
    let left = BYSTANDER.saturating_sub(started.elapsed()) + Duration::from_millis(50);
    loop {
        let message = overlay.next(left).await.unwrap_or_else(|| {
            panic!("{name}'s alert did not reach the overlay within {BYSTANDER:?}")
        });
        if message["type"] == "alert" && message["message"].as_str().unwrap_or("").contains(name) {
            overlay.ack(&message).await;
            break;
        }
        assert!(
            started.elapsed() < BYSTANDER + Duration::from_millis(50),
            "{name}: only {message}"
        );
    }
    let health = tokio::time::timeout(BYSTANDER, client().get(host.url("/healthz")).send())
        .await
        .expect("/healthz answers within a second")
        .unwrap();
    assert_eq!(health.status(), 200);
}

async fn hostile(host: &Host) -> Value {
    let all: Vec<Value> = support::get_json(host, "/api/plugins").await;
    all.into_iter()
        .find(|p| p["name"] == "hostile-plugin")
        .expect("hostile-plugin is listed")
}

/// Waits until hostile-plugin's last error mentions `needle`.
async fn faulted_with(host: &Host, needle: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let status = hostile(host).await;
        if status["last_error"]
            .as_str()
            .is_some_and(|e| e.contains(needle))
        {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "hostile-plugin never reported {needle:?}: {status:#}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn rss_mib(host: &Host) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", host.child.id())).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS");
    kb / 1024
}

fn assert_memory_bounded(host: &Host) {
    let rss = rss_mib(host);
    assert!(rss < MAX_RSS_MIB, "host RSS {rss} MiB during the attack");
}

#[tokio::test]
async fn sleeping_polling_and_blocking_are_stopped_at_once_and_nothing_waits() {
    let (_dir, host, mut overlay) = hostile_host(&[]).await;
    for (i, mode) in ["sleep", "poll", "block"].into_iter().enumerate() {
        let started = Instant::now();
        launch(&host, mode).await;
        bystander_gets_through(&host, &mut overlay, &format!("Sleeper{i}")).await;
        let status = faulted_with(&host, "may not wait").await;
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{mode}: faulted only after {:?}",
            started.elapsed()
        );
        assert_eq!(status["total_faults"], i as u64 + 1, "{status}");
    }
    // After the faults the plugin is rebuilt and still runs.
    assert_eq!(hostile(&host).await["status"], "running");
    assert_memory_bounded(&host);
    host.stop();
}

#[tokio::test]
async fn spinning_and_deep_recursion_are_cut_off() {
    let (_dir, host, mut overlay) = hostile_host(&[]).await;
    launch(&host, "spin").await;
    bystander_gets_through(&host, &mut overlay, "Spinner").await;
    faulted_with(&host, "deadline of 50 ms exceeded").await;
    launch(&host, "recurse").await;
    bystander_gets_through(&host, &mut overlay, "Recurser").await;
    // A Rust guest runs out of its own (in-memory) stack first.
    faulted_with(&host, "stack ran out").await;
    assert_memory_bounded(&host);
    host.stop();
}

/// Scheduling policy of each thread of `host` whose name starts with
/// `prefix` (thread names are cut to 15 bytes): 0 normal, 5 idle.
fn thread_policies(host: &Host, prefix: &str) -> Vec<u32> {
    let tasks = format!("/proc/{}/task", host.child.id());
    let mut out = Vec::new();
    for task in std::fs::read_dir(tasks).unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if !stat[open + 1..close].starts_with(prefix) {
            continue;
        }
        // Fields after the name start at the 3rd; the policy is the 41st.
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        out.push(fields[38].parse().unwrap());
    }
    out
}

#[tokio::test]
async fn a_long_call_finishes_at_idle_priority_and_the_next_starts_at_normal() {
    const IDLE: u32 = 5;
    let dir = tempfile::tempdir().unwrap();
    // Five seconds to spin: long enough to watch.
    install_with_long_deadline(dir.path(), &[]);
    let host = Host::start(dir.path(), "run", &[]);
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    assert_eq!(thread_policies(&host, "plugin-hostile"), [0]);
    launch(&host, "spin").await;
    let deadline = Instant::now() + Duration::from_secs(4);
    while thread_policies(&host, "plugin-hostile") != [IDLE] {
        assert!(
            Instant::now() < deadline,
            "the spinning call was never demoted: {:?}",
            thread_policies(&host, "plugin-hostile")
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The bystander's plugin never ran long: it keeps normal priority.
    bystander_gets_through(&host, &mut overlay, "Bystander").await;
    assert_eq!(thread_policies(&host, "plugin-follow-a"), [0]);
    faulted_with(&host, "deadline of 5000 ms exceeded").await;
    let deadline = Instant::now() + WAIT;
    while thread_policies(&host, "plugin-hostile") != [0] {
        assert!(
            Instant::now() < deadline,
            "{:?}",
            thread_policies(&host, "plugin-hostile")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // And it still works at normal priority.
    launch(&host, "none").await;
    bystander_gets_through(&host, &mut overlay, "After").await;
    host.stop();
}

#[tokio::test]
async fn memory_beyond_the_cap_faults_the_plugin_and_the_host_stays_small() {
    let (_dir, host, mut overlay) = hostile_host(&[]).await;
    launch(&host, "memory").await;
    bystander_gets_through(&host, &mut overlay, "Bystander").await;
    let status = faulted_with(&host, "memory limit exceeded").await;
    assert!(
        status["last_error"].as_str().unwrap().contains("64 MiB"),
        "{status}"
    );
    assert_memory_bounded(&host);
    host.stop();
}

#[tokio::test]
async fn kv_quotas_hold_and_a_call_over_them_writes_nothing() {
    let (dir, host, mut overlay) = hostile_host(&[]).await;
    // A flood of keys in one call: refused whole.
    launch(&host, "kv-keys").await;
    faulted_with(&host, "10000 keys").await;
    // 4 MiB in one call: refused whole.
    launch(&host, "kv-burst").await;
    faulted_with(&host, "in one call").await;
    // 240 KiB more per event, until 16 MiB would be passed.
    for _ in 0..ROUNDS_THAT_FIT + 2 {
        launch(&host, "kv-flood").await;
    }
    bystander_gets_through(&host, &mut overlay, "Bystander").await;
    faulted_with(&host, "kv quota exceeded").await;
    assert_memory_bounded(&host);
    host.stop();
    let db = rusqlite::Connection::open(dir.path().join("stagehand.db")).unwrap();
    let (keys, bytes): (i64, i64) = db
        .query_row(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(key) + LENGTH(value)), 0)
             FROM plugin_kv WHERE plugin = 'hostile-plugin'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(bytes <= 16 << 20, "{bytes} bytes stored");
    // Whole rounds (4 values each) and the counter, nothing of the refused
    // ones: no key of the flood of keys or of the burst either.
    assert_eq!(keys, ROUNDS_THAT_FIT * 4 + 1, "{keys} keys stored");
}

/// kv-flood rounds (4 values of 60 KiB under keys of up to 11 bytes) that
/// fit in a plugin's 16 MiB.
const ROUNDS_THAT_FIT: i64 = (16 << 20) / (4 * ((60 << 10) + 11));

#[tokio::test]
async fn hundreds_of_alerts_from_one_event_are_refused_whole() {
    let (_dir, host, mut overlay) = hostile_host(&[]).await;
    launch(&host, "alert-flood").await;
    faulted_with(&host, "at most 20 per event").await;
    bystander_gets_through(&host, &mut overlay, "Bystander").await;
    let rest = overlay.drain(Duration::from_millis(500)).await;
    assert!(
        rest.iter().all(|m| m["plugin"] != "hostile-plugin"),
        "no flood alert reached the overlay: {rest:?}"
    );
    host.stop();
}

#[tokio::test]
async fn log_stderr_and_error_floods_are_cut_to_size() {
    let (_dir, host, mut overlay) = hostile_host(&[]).await;
    launch(&host, "log-flood").await;
    bystander_gets_through(&host, &mut overlay, "Logger").await;
    launch(&host, "stderr-flood").await;
    bystander_gets_through(&host, &mut overlay, "Printer").await;
    launch(&host, "error-flood").await;
    let status = faulted_with(&host, "on-event: AAAA").await;
    let error = status["last_error"].as_str().unwrap();
    assert!(
        error.len() < 1200,
        "the error was cut: {} bytes",
        error.len()
    );
    assert!(
        error.contains("bytes cut"),
        "{}",
        &error[error.len() - 60..]
    );
    launch(&host, "huge-alert").await;
    faulted_with(&host, "alert message of").await;
    assert_memory_bounded(&host);
    let log = host.stop();
    let flood_lines = log.lines().filter(|l| l.contains("flood line")).count();
    assert!(
        (1..=200).contains(&flood_lines),
        "{flood_lines} of 100000 log lines were written"
    );
    assert!(
        log.contains("plugin log lines dropped"),
        "the drops are summed up"
    );
    assert!(
        !log.lines().any(|l| l.starts_with("forged:")),
        "a newline in a log message cannot forge a log line"
    );
}

#[tokio::test]
async fn a_blocking_or_flooding_formatter_delays_no_event() {
    for (attack, needle) in [
        ("sleep", "may not wait"),
        ("spin", "deadline"),
        ("flood", "display text"),
    ] {
        let (_dir, host, mut overlay) = hostile_host(&[("format", attack)]).await;
        bystander_gets_through(&host, &mut overlay, &format!("Format{attack}")).await;
        faulted_with(&host, needle).await;
        // The event was stored, without the refused display.
        let events: Vec<Value> = support::get_json(&host, "/api/events?limit=1").await;
        assert_eq!(events[0]["kind"], "channel.follow");
        assert_memory_bounded(&host);
        host.stop();
    }
}

/// Installs hostile-plugin with a 5 s deadline, granted in the config file.
fn install_with_long_deadline(dir: &Path, settings: &[(&str, &str)]) {
    install(dir, settings);
    let manifest = dir.join("plugins/hostile-plugin/plugin.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, format!("{text}\n[limits]\ndeadline_ms = 5000\n")).unwrap();
    let config = dir.join("xdg-config/stagehand");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("stagehand.toml"),
        "[grants]\nhostile-plugin = [\"deadline_ms:5000\"]\n",
    )
    .unwrap();
}

#[tokio::test]
async fn a_formatter_busy_with_a_long_event_call_is_not_waited_for() {
    // hostile-plugin formats every event; here its own event handler holds
    // it for 5 s. Events meanwhile are stored without waiting for its display.
    let dir = tempfile::tempdir().unwrap();
    install_with_long_deadline(dir.path(), &[]);
    let host = Host::start(dir.path(), "run", &[]);
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    launch(&host, "spin").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let spinning_since = Instant::now();
    for i in 0..3 {
        bystander_gets_through(&host, &mut overlay, &format!("During{i}")).await;
    }
    // An event it formats, posted while it spins: stored at once without
    // its display, which is filled in once the plugin is free again.
    let resp = post(&host, attack("none")).await;
    assert_eq!(resp.status(), 201);
    let stored: Value = resp.json().await.unwrap();
    assert!(stored["display"].is_null(), "{stored}");
    assert!(
        spinning_since.elapsed() < Duration::from_secs(4),
        "the bystanders were held until the spin ended: {:?}",
        spinning_since.elapsed()
    );
    let status = faulted_with(&host, "deadline of 5000 ms exceeded").await;
    assert_eq!(status["status"], "running", "{status}");
    let deadline = Instant::now() + WAIT;
    loop {
        let events: Vec<Value> = support::get_json(&host, "/api/events?kind=test.hostile").await;
        if events[0]["display"]["label"] == "Hostile" {
            assert_eq!(events[0]["id"], stored["id"]);
            break;
        }
        assert!(Instant::now() < deadline, "{:#}", events[0]);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    host.stop();
}

#[tokio::test]
async fn a_blocking_renderer_costs_each_alert_at_most_its_deadline() {
    let (_dir, host, mut overlay) = hostile_host(&[("render", "spin")]).await;
    for i in 0..6 {
        bystander_gets_through(&host, &mut overlay, &format!("Rendered{i}")).await;
    }
    // Skipped for every alert: faulted when it overran, or not even asked
    // while still busy with the previous one.
    faulted_with(&host, "deadline of 50 ms exceeded").await;
    host.stop();
}

#[tokio::test]
async fn media_from_hosts_nobody_granted_never_reaches_the_overlay() {
    let (_dir, host, mut overlay) = hostile_host(&[("render", "exfil")]).await;
    // A renderer slipping a tracking pixel into every alert: its change is
    // dropped, the alert shown as it was.
    bystander_gets_through(&host, &mut overlay, "Watched").await;
    faulted_with(&host, "evil.example").await;
    // Its own alert with a tracking pixel: refused.
    launch(&host, "exfil").await;
    faulted_with(&host, "not allowed").await;
    let rest = overlay.drain(Duration::from_millis(500)).await;
    assert!(
        !rest.iter().any(|m| m.to_string().contains("evil.example")),
        "{rest:?}"
    );
    // The page's policy allows no other host either.
    let page = client()
        .get(host.url("/overlay/alerts"))
        .send()
        .await
        .unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        !csp.contains("https:") && !csp.contains("http:") && !csp.contains("evil"),
        "{csp}"
    );
    host.stop();
}

#[tokio::test]
async fn an_init_that_never_returns_does_not_delay_serving_or_other_plugins() {
    let dir = tempfile::tempdir().unwrap();
    // A long deadline, so the spinning init holds its plugin for five seconds.
    install_with_long_deadline(dir.path(), &[("init", "spin")]);
    let host = Host::start_serving(dir.path(), "run", &[]);
    // Serving at once, whatever the plugin's init does.
    let health = tokio::time::timeout(BYSTANDER, client().get(host.url("/healthz")).send())
        .await
        .expect("/healthz answers at once")
        .unwrap();
    assert_eq!(health.status(), 200);
    let body: Value = health.json().await.unwrap();
    assert_eq!(body["plugins"], "loading", "{body}");
    // The other plugin runs, and can be reloaded, while the init spins.
    let deadline = Instant::now() + WAIT;
    loop {
        let all: Vec<Value> = support::get_json(&host, "/api/plugins").await;
        let state = |n: &str| {
            all.iter()
                .find(|p| p["name"] == n)
                .map(|p| p["status"].clone())
        };
        if state("follow-alert") == Some(json!("running")) {
            assert_eq!(
                state("hostile-plugin"),
                Some(json!("compiling")),
                "{all:#?}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "{all:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = Instant::now();
    let resp = client()
        .post(host.url("/api/plugins/follow-alert/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        before.elapsed() < Duration::from_secs(2),
        "{:?}",
        before.elapsed()
    );
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    bystander_gets_through(&host, &mut overlay, "Early").await;
    host.wait_plugins_ready(WAIT);
    let status = faulted_with(&host, "configure failed: deadline of 5000 ms exceeded").await;
    assert_eq!(status["status"], "failed", "{status}");
    host.stop();
}

#[tokio::test]
async fn an_init_that_sleeps_is_refused_at_once() {
    let (_dir, host, mut overlay) = hostile_host(&[("init", "sleep")]).await;
    let status = faulted_with(&host, "configure failed: plugins may not wait").await;
    assert_eq!(status["status"], "failed", "{status}");
    bystander_gets_through(&host, &mut overlay, "Bystander").await;
    host.stop();
}

#[tokio::test]
async fn a_slow_plugin_misses_events_instead_of_holding_the_pipeline() {
    let (_dir, host, mut overlay) = hostile_host(&[]).await;
    // Each `slow` event keeps the plugin busy for 40 ms (within its
    // deadline): a few thousand of them are far more than its queue (1024)
    // holds, however fast this machine posts them. Posted 50 at a time, so
    // the pipeline stores them in batches, until the plugin misses some.
    let http = client();
    for batch in 0.. {
        let posts = (0..50).map(|_| {
            http.post(host.url("/api/events/test"))
                .json(&attack("slow"))
                .send()
        });
        for resp in futures_util::future::join_all(posts).await {
            assert_eq!(resp.unwrap().status(), 201);
        }
        if batch >= 20 && hostile(&host).await["missed"].as_u64() > Some(0) {
            break;
        }
        assert!(
            batch < 100,
            "5,000 events and none missed: {}",
            hostile(&host).await
        );
    }
    bystander_gets_through(&host, &mut overlay, "Bystander").await;
    let status = hostile(&host).await;
    assert!(status["missed"].as_u64().unwrap() > 0, "{status}");
    // Shutting down does not wait for the plugin to work through its queue.
    let started = Instant::now();
    let log = host.stop();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "shutdown took {:?}",
        started.elapsed()
    );
    // The fault is reported. Read from the log, not the plugin's last
    // error: on a loaded machine one of the queued 40 ms calls can overrun
    // its 50 ms deadline after the queue filled, and that error replaces
    // it there.
    let tail = &log[log.char_indices().rev().nth(4_000).map_or(0, |(i, _)| i)..];
    assert!(
        log.contains("plugin fault: its queue of 1024 events is full"),
        "the full queue was never reported: …{tail}"
    );
}

/// A plugin folder beside the installed ones, written by hand.
fn write_plugin(dir: &Path, folder: &str, manifest: &str) -> std::path::PathBuf {
    let path = dir.join("plugins").join(folder);
    std::fs::create_dir_all(&path).unwrap();
    std::fs::write(path.join("plugin.toml"), manifest).unwrap();
    path
}

#[tokio::test]
async fn a_manifest_cannot_point_outside_its_folder_or_at_something_huge() {
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "follow-alert");
    write_plugin(
        dir.path(),
        "zero",
        "name = \"zero\"\nversion = \"1\"\nwasm = \"/dev/zero\"",
    );
    write_plugin(
        dir.path(),
        "climber",
        "name = \"climber\"\nversion = \"1\"\nwasm = \"../follow-alert/follow-alert.wasm\"",
    );
    let piped = write_plugin(
        dir.path(),
        "piped",
        "name = \"piped\"\nversion = \"1\"\nwasm = \"p.wasm\"",
    );
    let fifo = std::ffi::CString::new(piped.join("p.wasm").to_str().unwrap()).unwrap();
    // SAFETY: creating a FIFO in our own temporary directory.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let linked = write_plugin(
        dir.path(),
        "linked",
        "name = \"linked\"\nversion = \"1\"\nwasm = \"l.wasm\"",
    );
    std::os::unix::fs::symlink("/dev/zero", linked.join("l.wasm")).unwrap();
    let huge = write_plugin(dir.path(), "huge", "name = \"huge\"\nversion = \"1\"");
    std::fs::File::create(huge.join("huge.wasm"))
        .unwrap()
        .set_len(40 << 20)
        .unwrap();
    let host = Host::start(dir.path(), "run", &[]);
    let all: Vec<Value> = support::get_json(&host, "/api/plugins").await;
    let error = |name: &str| -> String {
        let p = all
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name}: {all:#?}"));
        assert_eq!(p["status"], "failed", "{p}");
        p["last_error"].as_str().unwrap().to_owned()
    };
    assert!(error("zero").contains("must be a .wasm file name in the plugin folder"));
    assert!(error("climber").contains("must be a .wasm file name in the plugin folder"));
    assert!(error("piped").contains("not a regular file"));
    assert!(error("linked").contains("symbolic link"));
    assert!(error("huge").contains("32 MiB"));
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    bystander_gets_through(&host, &mut overlay, "Bystander").await;
    assert_memory_bounded(&host);
    host.stop();
}

#[tokio::test]
async fn more_memory_or_time_than_the_defaults_waits_for_the_streamers_grant() {
    let dir = tempfile::tempdir().unwrap();
    let folder = install_plugin(dir.path(), "hostile-plugin");
    let manifest = folder.join("plugin.toml");
    let base = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, format!("{base}\n[limits]\nmemory_mib = 4096\n")).unwrap();
    let host = Host::start(dir.path(), "run", &[]);
    let status = hostile(&host).await;
    assert_eq!(status["status"], "failed");
    assert!(
        status["last_error"]
            .as_str()
            .unwrap()
            .contains("outside 1 to 1024"),
        "{status}"
    );

    std::fs::write(
        &manifest,
        format!("{base}\n[limits]\nmemory_mib = 256\ndeadline_ms = 200\n"),
    )
    .unwrap();
    let status = faulted_with(&host, "waiting for the streamer to grant").await;
    assert_eq!(status["status"], "pending_grant");
    assert_eq!(
        status["requested_permissions"],
        json!(["deadline_ms:200", "memory_mib:256"])
    );
    let granted: Value = client()
        .post(host.url("/api/plugins/hostile-plugin/grant"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(granted["status"], "running", "{granted}");
    assert_eq!(
        granted["limits"],
        json!({"deadline_ms": 200, "memory_mib": 256})
    );
    // The granted deadline is the one enforced.
    launch(&host, "spin").await;
    faulted_with(&host, "deadline of 200 ms exceeded").await;
    host.stop();
}

#[tokio::test]
async fn two_sources_of_one_name_never_share_an_identity() {
    let dir = tempfile::tempdir().unwrap();
    let folder = install_plugin(dir.path(), "hostile-plugin");
    std::fs::copy(
        folder.join("hostile-plugin.wasm"),
        dir.path().join("plugins").join("Hostile_Plugin.wasm"),
    )
    .unwrap();
    let host = Host::start(dir.path(), "run", &[]);
    for round in 0..3 {
        let all: Vec<Value> = support::get_json(&host, "/api/plugins").await;
        let kept = all.iter().find(|p| p["name"] == "hostile-plugin").unwrap();
        assert_eq!(kept["status"], "running");
        assert!(
            kept["path"].as_str().unwrap().ends_with("/hostile-plugin"),
            "{kept}"
        );
        let refused = all
            .iter()
            .find(|p| p["name"] == "Hostile_Plugin.wasm")
            .unwrap_or_else(|| panic!("the second source is listed: {all:#?}"));
        assert_eq!(refused["status"], "failed");
        let why = refused["last_error"].as_str().unwrap();
        assert!(
            why.contains("Hostile_Plugin.wasm") && why.contains("plugins/hostile-plugin"),
            "{why}"
        );
        // A change in the folder is a new scan: nothing swaps places.
        std::fs::write(
            dir.path().join("plugins").join(format!("note{round}.txt")),
            "x",
        )
        .unwrap();
        let reload = client()
            .post(host.url("/api/plugins/hostile-plugin/reload"))
            .send()
            .await
            .unwrap();
        assert_eq!(reload.status(), 200);
    }
    host.stop();
}

#[tokio::test]
async fn a_compiled_component_not_written_by_this_host_is_never_loaded() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), &[]);
    let host = Host::start(dir.path(), "run", &[]);
    host.stop();
    let cache = dir.path().join("plugin-cache");
    let entries: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert_eq!(
        entries.len(),
        2,
        "one compiled component per plugin: {entries:?}"
    );
    // Swap the two compiled files: each is valid machine code, but not
    // what its name promises.
    let (a, b) = (&entries[0], &entries[1]);
    let tmp = cache.join("swap");
    std::fs::rename(a, &tmp).unwrap();
    std::fs::rename(b, a).unwrap();
    std::fs::rename(&tmp, b).unwrap();
    let host = Host::start(dir.path(), "run", &[]);
    let all: Vec<Value> = support::get_json(&host, "/api/plugins").await;
    for p in &all {
        assert_eq!(p["status"], "running", "{p}");
    }
    let kinds = |name: &str| all.iter().find(|p| p["name"] == name).unwrap()["kinds"].clone();
    assert_eq!(kinds("hostile-plugin"), json!(["*"]));
    assert_eq!(kinds("follow-alert"), json!(["channel.follow"]));
    let log = host.stop();
    assert!(log.contains("does not verify"), "the swap was noticed");

    // A new version of a plugin leaves no stale compiled file behind.
    let host = Host::start(dir.path(), "run", &[]);
    let manifest = dir.path().join("plugins/hostile-plugin/plugin.toml");
    let wasm = dir
        .path()
        .join("plugins/hostile-plugin/hostile-plugin.wasm");
    let mut bytes = std::fs::read(&wasm).unwrap();
    // A custom section at the end changes the component, not its meaning.
    bytes.extend_from_slice(&[0, 4, 1, b'x', 1, 2]);
    std::fs::write(&wasm, bytes).unwrap();
    let _ = std::fs::read_to_string(&manifest);
    let deadline = Instant::now() + WAIT;
    loop {
        let status = hostile(&host).await;
        if status["reloads"].as_u64() >= Some(1) {
            break;
        }
        assert!(Instant::now() < deadline, "never reloaded: {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let count = std::fs::read_dir(&cache)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "cwasm")
        })
        .count();
    assert_eq!(count, 2, "the old version's compiled file was removed");
    host.stop();
}

/// Sends `n` `leak` events of `mib` MiB each and returns the alerts'
/// messages ("<count kept in kv> <count of this instance>").
async fn leak(host: &Host, overlay: &mut Overlay, n: usize, mib: usize) -> Vec<String> {
    let mut messages = Vec::new();
    for _ in 0..n {
        let body = json!({"kind": "test.hostile", "details": {"mode": "leak", "mib": mib}});
        assert_eq!(post(host, body).await.status(), 201);
        let alert = overlay.alert(WAIT).await;
        overlay.ack(&alert).await;
        messages.push(alert["message"].as_str().unwrap().to_owned());
    }
    messages
}

/// A plugin whose memory only grows (as a language runtime's heap does) is
/// given a fresh instance near its budget: every event is handled, nothing
/// faults, and what it keeps in kv survives the change.
#[tokio::test]
async fn a_plugin_near_its_memory_budget_gets_a_fresh_instance_and_keeps_its_kv() {
    let (_dir, host, mut overlay) = hostile_host(&[]).await;
    // 4 MiB per event against 64 MiB: past 90% after about 14 events.
    let messages = leak(&host, &mut overlay, 30, 4).await;
    let kept: Vec<u64> = messages
        .iter()
        .map(|m| m.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(kept, (1..=30).collect::<Vec<u64>>(), "{messages:?}");
    // The instance's own count started again after each recycle.
    let own: Vec<u64> = messages
        .iter()
        .map(|m| m.split(' ').nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(
        own.windows(2).any(|w| w[1] == 1 && w[0] > 1),
        "never recycled: {own:?}"
    );
    let status = hostile(&host).await;
    assert_eq!(status["total_faults"], 0, "{status:#}");
    assert!(status["recycles"].as_u64().unwrap() >= 2, "{status:#}");
    host.stop();
}

/// A call that runs out of memory is tried again once on a fresh instance,
/// so the event is not lost; a call that cannot fit even then faults.
#[tokio::test]
async fn a_call_out_of_memory_is_retried_once_on_a_fresh_instance() {
    let (_dir, host, mut overlay) = hostile_host(&[]).await;
    // 24 MiB per event: the third does not fit beside the first two, but
    // stays under the recycling mark until then.
    let messages = leak(&host, &mut overlay, 5, 24).await;
    let kept: Vec<&str> = messages
        .iter()
        .map(|m| m.split(' ').next().unwrap())
        .collect();
    assert_eq!(kept, ["1", "2", "3", "4", "5"], "{messages:?}");
    let status = hostile(&host).await;
    assert_eq!(status["total_faults"], 0, "{status:#}");
    assert!(status["recycles"].as_u64().unwrap() >= 1, "{status:#}");

    // 80 MiB at once never fits: one fault, not two.
    let body = json!({"kind": "test.hostile", "details": {"mode": "leak", "mib": 80}});
    assert_eq!(post(&host, body).await.status(), 201);
    let status = faulted_with(&host, "memory limit exceeded").await;
    assert_eq!(status["total_faults"], 1, "{status:#}");
    host.stop();
}
