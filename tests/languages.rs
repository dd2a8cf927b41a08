//! Plugins written in TypeScript, JavaScript and Python (built by `cargo
//! xtask plugins` with the SDKs in `sdk-js/` and `sdk-py/`) run in the real
//! host like Rust ones: they receive events, put alerts on the overlay,
//! report a thrown error's message, and run for a long time without
//! faulting, getting fresh instances as they are due.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::overlay::Overlay;
use support::{Host, client, install_plugin};

/// Compiling a 2-19 MB component takes a while on a busy 2-core machine.
const LOAD: Duration = Duration::from_secs(240);
const WAIT: Duration = Duration::from_secs(20);

async fn plugin(host: &Host, name: &str) -> Value {
    let all: Vec<Value> = support::get_json(host, "/api/plugins").await;
    all.into_iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no plugin {name}"))
}

async fn wait_running(host: &Host, names: &[&str]) {
    let deadline = Instant::now() + LOAD;
    loop {
        let all: Vec<Value> = support::get_json(host, "/api/plugins").await;
        let running = names.iter().all(|n| {
            all.iter()
                .any(|p| p["name"] == *n && p["status"] == "running")
        });
        if running {
            return;
        }
        assert!(Instant::now() < deadline, "not all running: {all:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn post(host: &Host, body: Value) {
    let resp = client()
        .post(host.url("/api/events/test"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
}

#[tokio::test]
async fn typescript_and_python_plugins_put_a_follow_alert_on_the_overlay() {
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "follow-alert-ts");
    install_plugin(dir.path(), "follow-alert-py");
    let host = Host::start_serving(dir.path(), "run", &[]);
    wait_running(&host, &["follow-alert-ts", "follow-alert-py"]).await;
    for name in ["follow-alert-ts", "follow-alert-py"] {
        assert_eq!(plugin(&host, name).await["contract"], "0.3.0");
    }
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    post(
        &host,
        json!({"kind": "channel.follow", "details": {"username": "Ann"}}),
    )
    .await;
    let mut by_plugin = BTreeMap::new();
    for _ in 0..2 {
        let alert = overlay.alert(WAIT).await;
        overlay.ack(&alert).await;
        by_plugin.insert(alert["plugin"].as_str().unwrap().to_owned(), alert);
    }
    for name in ["follow-alert-ts", "follow-alert-py"] {
        let alert = &by_plugin[name];
        assert_eq!(alert["title"], "New follower!", "{alert}");
        assert_eq!(alert["message"], "Ann just followed", "{alert}");
        assert_eq!(alert["tts"], "Thanks for the follow, Ann!", "{alert}");
        let status = plugin(&host, name).await;
        assert_eq!(status["total_faults"], 0, "{status}");
    }
    host.stop();
}

#[tokio::test]
async fn a_thrown_javascript_error_shows_its_message_and_is_no_fault() {
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "js-fault");
    let host = Host::start_serving(dir.path(), "run", &[]);
    wait_running(&host, &["js-fault"]).await;
    post(
        &host,
        json!({"kind": "test.js", "details": {"mode": "throw"}}),
    )
    .await;
    let deadline = Instant::now() + WAIT;
    let status = loop {
        let status = plugin(&host, "js-fault").await;
        if !status["last_error"].is_null() {
            break status;
        }
        assert!(Instant::now() < deadline, "{status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let error = status["last_error"].as_str().unwrap();
    assert!(
        error.contains("boom from JavaScript after 1 calls"),
        "{status}"
    );
    assert_eq!(
        status["total_faults"], 0,
        "an error result is not a fault: {status}"
    );
    // And it goes on working.
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    post(
        &host,
        json!({"kind": "channel.follow", "details": {"username": "Bo"}}),
    )
    .await;
    assert_eq!(overlay.alert(WAIT).await["message"], "Bo followed (JS)");
    host.stop();
}

/// Three JavaScript plugins nobody compiled yet do not keep the host from
/// serving: `/healthz` answers at once while they compile.
#[tokio::test]
async fn uncached_javascript_plugins_do_not_delay_serving() {
    let dir = tempfile::tempdir().unwrap();
    for copy in ["js-one", "js-two", "js-three"] {
        let folder = install_plugin(dir.path(), "js-fault");
        let to = dir.path().join("plugins").join(copy);
        std::fs::rename(&folder, &to).unwrap();
        std::fs::rename(to.join("js-fault.wasm"), to.join(format!("{copy}.wasm"))).unwrap();
        let manifest = to.join("plugin.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(
            &manifest,
            text.replace("name = \"js-fault\"", &format!("name = \"{copy}\"")),
        )
        .unwrap();
    }
    let started = Instant::now();
    let host = Host::start_serving(dir.path(), "run", &[]);
    let health = tokio::time::timeout(
        Duration::from_secs(1),
        client().get(host.url("/healthz")).send(),
    )
    .await
    .expect("/healthz answers within a second of listening")
    .unwrap();
    assert_eq!(health.status(), 200);
    let body: Value = health.json().await.unwrap();
    assert_eq!(
        body["plugins"], "loading",
        "they were still compiling: {body}"
    );
    println!(
        "listening and answering {:?} after the start",
        started.elapsed()
    );
    // Events go on meanwhile; those a compiling plugin could not take are
    // counted for it.
    let before: Vec<Value> = support::get_json(&host, "/api/plugins").await;
    let compiling: Vec<String> = before
        .iter()
        .filter(|p| p["status"] == "compiling")
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    post(
        &host,
        json!({"kind": "channel.follow", "details": {"username": "Early"}}),
    )
    .await;
    wait_running(&host, &["js-one", "js-two", "js-three"]).await;
    for name in &compiling {
        let status = plugin(&host, name).await;
        assert!(
            status["missed_while_compiling"].as_u64().unwrap() >= 1,
            "{status}"
        );
        assert_eq!(status["total_faults"], 0, "{status}");
    }
    host.stop();
}

/// 200,000 events through a JavaScript plugin: none faults, none is
/// missed, its kv count holds every one across its fresh instances (one
/// every 50,000 calls, as its plugin.toml asks).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_thousand_events_through_a_javascript_plugin_without_a_fault() {
    use stagehand::event::{Event, EventKind, Source};
    use stagehand::live::LiveFeed;
    use stagehand::plugins::PluginHost;
    use stagehand::plugins::runtime::Runtime;
    use stagehand::store::events::StoredEvent;
    use stagehand::store::{Store, StoreOptions};

    const EVENTS: u64 = 200_000;
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "js-fault");
    let store = Store::open(dir.path().join("s.db"), StoreOptions::default()).unwrap();
    let runtime = Runtime::new(None).unwrap();
    let (actions, mut rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let host = PluginHost::new(
        runtime,
        store.clone(),
        dir.path().join("plugins"),
        LiveFeed::new(16),
        actions,
        BTreeMap::new(),
    );
    host.rescan().await;
    let status = |host: &PluginHost| host.status("js-fault").expect("js-fault is loaded");
    let deadline = Instant::now() + LOAD;
    while status(&host).state != stagehand::plugins::worker::State::Running {
        assert!(Instant::now() < deadline, "{:?}", status(&host));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let event = Event::new(EventKind::from("test.js"), Source::Test, "1")
        .with_details(serde_json::json!({"mode": "count"}));
    let stored = Arc::new(StoredEvent {
        seq: 1,
        event,
        created_at: chrono::Utc::now(),
        display: None,
    });
    let started = Instant::now();
    let calls_before = status(&host).calls;
    let mut sent = 0u64;
    while sent < EVENTS {
        // Keep the plugin's queue (1,024) from overflowing: a missed event
        // would be the test's fault, not the plugin's.
        while sent - (status(&host).calls - calls_before) > 512 {
            tokio::time::sleep(Duration::from_millis(1)).await;
            assert!(
                started.elapsed() < Duration::from_secs(900),
                "{:?}",
                status(&host)
            );
        }
        for _ in 0..250 {
            assert_eq!(host.dispatch(&stored, None), 1);
        }
        sent += 250;
    }
    while status(&host).calls - calls_before < sent {
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "{:?}",
            status(&host)
        );
    }
    let s = status(&host);
    println!(
        "{sent} events in {:?}; {} fresh instances",
        started.elapsed(),
        s.recycles
    );
    assert_eq!(s.total_faults, 0, "{s:?}");
    assert_eq!(s.missed, 0, "{s:?}");
    assert!(
        s.recycles >= 3,
        "a fresh instance every 50,000 calls: {s:?}"
    );
    // Every count reached kv, written back to the database by the store's
    // writer thread, off the event path: the last write may still be on its
    // way when the worker has stopped.
    host.shutdown().await;
    let deadline = Instant::now() + WAIT;
    loop {
        let counted = store
            .read(|c| stagehand::store::plugins::kv_load(c, "js-fault"))
            .await
            .unwrap();
        let counted = counted.get("events").cloned();
        if counted.as_deref() == Some(EVENTS.to_string().as_str()) {
            break;
        }
        assert!(Instant::now() < deadline, "kv holds {counted:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `program args` in `dir`; panics with its output when it fails.
fn run_in(dir: &std::path::Path, program: &str, args: &[&str]) {
    let out = std::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("npm_config_audit", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_update_notifier", "false")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed in {}:\n{}\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `stagehand plugin check` accepts what a new project built.
fn check_built(dir: &std::path::Path, name: &str) {
    let built = dir.join("dist").join(name);
    let (ok, out, err) =
        support::run_cli(dir, &["plugin", "check", built.to_str().unwrap(), "--json"]);
    assert!(ok, "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["plugin"]["name"], name);
    assert_eq!(report["plugin"]["contract"], "0.3.0");
}

/// `stagehand plugin new NAME --lang ts` (and js) writes a project that
/// installs from the npm registry alone, builds with one command into a
/// plugin folder the host accepts, and passes its own tests.
#[test]
fn new_typescript_and_javascript_projects_build_and_pass_their_tests() {
    for lang in ["ts", "js"] {
        let parent = tempfile::tempdir().unwrap();
        let name = format!("shout-{lang}");
        let (ok, out, err) = support::run_cli(
            parent.path(),
            &[
                "plugin",
                "new",
                &name,
                "--lang",
                lang,
                "--dir",
                parent.path().to_str().unwrap(),
            ],
        );
        assert!(ok, "{out}{err}");
        assert!(out.contains("npm install && npm run build"), "{out}");
        let project = parent.path().join(&name);
        run_in(&project, "npm", &["install"]);
        run_in(&project, "npm", &["run", "build"]);
        run_in(&project, "npm", &["test"]);
        check_built(&project, &name);
    }
}

/// `stagehand plugin new NAME --lang python` writes a project that installs
/// from PyPI alone into a virtual environment, passes its tests and builds
/// into a plugin folder the host accepts.
#[test]
fn a_new_python_project_builds_and_passes_its_tests() {
    let parent = tempfile::tempdir().unwrap();
    let (ok, out, err) = support::run_cli(
        parent.path(),
        &[
            "plugin",
            "new",
            "shout-py",
            "--lang",
            "python",
            "--dir",
            parent.path().to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}{err}");
    let project = parent.path().join("shout-py");
    run_in(&project, "python3", &["-m", "venv", ".venv"]);
    run_in(
        &project,
        ".venv/bin/pip",
        &[
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            "requirements.txt",
        ],
    );
    run_in(&project, ".venv/bin/python", &["-m", "pytest", "-q"]);
    run_in(
        &project,
        ".venv/bin/python",
        &["-m", "stagehand_plugin.build"],
    );
    check_built(&project, "shout-py");
}
