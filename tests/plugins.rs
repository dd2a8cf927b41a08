//! End-to-end: WebAssembly plugins in a real host process. The example
//! plugins and the test plugins are built by `cargo xtask plugins`.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use support::overlay::Overlay;
use support::{Host, client, install_plugin};

const WAIT: Duration = Duration::from_secs(15);

async fn post(host: &Host, body: Value) -> Value {
    let resp = client()
        .post(host.url("/api/events/test"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    resp.json().await.unwrap()
}

async fn plugins(host: &Host) -> Vec<Value> {
    support::get_json(host, "/api/plugins").await
}

async fn plugin(host: &Host, name: &str) -> Value {
    plugins(host)
        .await
        .into_iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no plugin {name}"))
}

/// Polls `/api/plugins` until `check` holds for `name`.
async fn wait_for(host: &Host, name: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let all = plugins(host).await;
        if let Some(p) = all.iter().find(|p| p["name"] == name)
            && check(p)
        {
            return p.clone();
        }
        if tokio::time::Instant::now() > deadline {
            panic!("{name} never became {what}: {all:#?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn grant(host: &Host, name: &str) -> Value {
    let resp = client()
        .post(host.url(&format!("/api/plugins/{name}/grant")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// A host with the given plugins installed (fault-plugin granted if present).
async fn host_with(plugins: &[&str]) -> (tempfile::TempDir, Host) {
    let dir = tempfile::tempdir().unwrap();
    for p in plugins {
        install_plugin(dir.path(), p);
    }
    let host = Host::start(dir.path(), "run", &[]);
    if plugins.contains(&"fault-plugin") {
        let status = grant(&host, "fault-plugin").await;
        assert_eq!(status["status"], "running", "{status}");
    }
    (dir, host)
}

fn fault(mode: &str) -> Value {
    json!({"kind": "test.fault", "details": {"mode": mode}})
}

#[tokio::test]
async fn a_test_event_reaches_an_overlay_as_an_alert_box_alert_and_is_acknowledged() {
    let (_dir, host) = host_with(&["alert-box", "event-formatter"]).await;
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    let event = post(
        &host,
        json!({"kind": "channel.cheer", "details": {"username": "Alice", "bits": 100, "message": "hi"}}),
    )
    .await;
    let alert = overlay.alert(WAIT).await;
    assert_eq!(alert["plugin"], "alert-box");
    assert_eq!(alert["event_id"], event["id"]);
    assert!(
        alert["title"].as_str().unwrap().contains("Alice"),
        "{alert}"
    );
    assert!(alert["duration_ms"].as_u64().unwrap() > 0);
    overlay.ack(&alert).await;

    // The formatter's display is stored with the event.
    let events: Vec<Value> = support::get_json(&host, "/api/events").await;
    let display = &events[0]["display"];
    assert!(
        display["label"].is_string() && display["icon"].is_string(),
        "{display}"
    );
    assert!(
        display["text"].as_str().unwrap().contains("Alice"),
        "{display}"
    );

    // Acknowledged: a new connection does not get it again.
    overlay.close().await;
    let mut again = Overlay::connect(&host.base, "alerts").await;
    assert!(again.drain(Duration::from_millis(500)).await.is_empty());
    host.stop();
}

#[tokio::test]
async fn a_community_gift_of_five_is_one_alert() {
    let (_dir, host) = host_with(&["alert-box"]).await;
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    let gifted = |n: u32| json!({"kind": "channel.subscribe", "details": {"username": format!("lucky{n}"), "tier": "1000", "is_gift": true}});
    // Twitch sends the gift and the N gifted subs in no fixed order.
    post(&host, gifted(1)).await;
    post(&host, gifted(2)).await;
    post(
        &host,
        json!({"kind": "channel.subscription.gift", "details": {"username": "Santa", "tier": "1000", "total": 5, "is_anonymous": false}}),
    )
    .await;
    for n in 3..=5 {
        post(&host, gifted(n)).await;
    }
    // A marker after them: the next alert after the gift must be the marker's.
    post(
        &host,
        json!({"kind": "channel.follow", "details": {"username": "Marker"}}),
    )
    .await;
    let first = overlay.alert(WAIT).await;
    assert!(
        first["title"].as_str().unwrap().contains("Santa")
            || first["message"].as_str().unwrap().contains("Santa"),
        "{first}"
    );
    assert!(first.to_string().contains('5'), "{first}");
    let second = overlay.alert(WAIT).await;
    assert!(
        second.to_string().contains("Marker"),
        "expected the marker's alert, got {second}"
    );
    assert!(overlay.drain(Duration::from_millis(300)).await.is_empty());
    host.stop();
}

#[tokio::test]
async fn unacknowledged_alerts_are_sent_again_after_a_reconnect_and_acknowledged_ones_never() {
    let (_dir, host) = host_with(&["follow-alert"]).await;
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    for name in ["One", "Two", "Three"] {
        post(
            &host,
            json!({"kind": "channel.follow", "details": {"username": name}}),
        )
        .await;
    }
    let one = overlay.alert(WAIT).await;
    overlay.ack(&one).await;
    let two = overlay.alert(WAIT).await;
    let three = overlay.alert(WAIT).await;
    // Two and Three were shown but not acknowledged; the page reloads.
    tokio::time::sleep(Duration::from_millis(200)).await;
    overlay.close().await;
    let mut reloaded = Overlay::connect(&host.base, "alerts").await;
    let again: Vec<Value> = reloaded.drain(Duration::from_millis(800)).await;
    let ids: Vec<&Value> = again.iter().map(|a| &a["id"]).collect();
    assert_eq!(ids, vec![&two["id"], &three["id"]], "{again:#?}");
    assert_eq!(again[0]["resent"], true);
    assert!(again[0]["message"].as_str().unwrap().contains("Two"));
    host.stop();
}

#[tokio::test]
async fn a_wrong_overlay_key_is_refused() {
    let (_dir, host) = host_with(&[]).await;
    let (mut overlay, first) =
        Overlay::connect_with(&host.base, "alerts", "wrong-key-wrong-key").await;
    assert_eq!(first["type"], "error");
    assert_eq!(first["code"], "forbidden");
    let closed = overlay.next(WAIT).await.unwrap();
    assert_eq!(closed["code"], 4003, "{closed}");
    let bad_name = client()
        .get(host.url("/overlay/Bad%20Name/ws"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_name.status(), 404);
    host.stop();
}

#[tokio::test]
async fn an_infinite_loop_a_memory_bomb_and_a_panic_fault_only_that_plugin() {
    let (_dir, host) = host_with(&["fault-plugin", "follow-alert"]).await;
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    for (mode, needle) in [
        ("loop", "deadline"),
        ("oom", "memory"),
        ("panic", "panicked"),
    ] {
        post(&host, fault(mode)).await;
        let status = wait_for(&host, "fault-plugin", "faulted", |p| {
            p["last_error"].as_str().is_some_and(|e| e.contains(needle))
        })
        .await;
        assert_eq!(status["status"], "running", "{status}");
        // The faulted plugin was re-instantiated and answers the next event...
        post(
            &host,
            json!({"kind": "test.fault", "details": {"mode": "ok", "n": mode}}),
        )
        .await;
        let alert = overlay.alert(WAIT).await;
        assert_eq!(alert["plugin"], "fault-plugin");
        assert_eq!(alert["message"], mode);
        // ...and the other plugins never noticed.
        post(
            &host,
            json!({"kind": "channel.follow", "details": {"username": "Bystander"}}),
        )
        .await;
        let alert = overlay.alert(WAIT).await;
        assert_eq!(alert["plugin"], "follow-alert");
    }
    let status = plugin(&host, "fault-plugin").await;
    assert_eq!(status["total_faults"], 3);
    assert_eq!(status["faults"], 0, "a good call resets the run of faults");
    host.stop();
}

#[tokio::test]
async fn five_faults_in_a_row_quarantine_a_plugin_until_reset_or_a_new_file() {
    let (dir, host) = host_with(&["fault-plugin"]).await;
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    // Each of these faults twice (format, then on-event): quarantined at the fifth.
    for _ in 0..5 {
        post(&host, fault("always-panic")).await;
    }
    let status = wait_for(&host, "fault-plugin", "quarantined", |p| {
        p["status"] == "quarantined"
    })
    .await;
    assert_eq!(status["faults"], 5);
    post(
        &host,
        json!({"kind": "test.fault", "details": {"n": "ignored"}}),
    )
    .await;
    assert!(
        overlay.drain(Duration::from_millis(500)).await.is_empty(),
        "a quarantined plugin gets no events"
    );

    let resp = client()
        .post(host.url("/api/plugins/fault-plugin/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    wait_for(&host, "fault-plugin", "running", |p| {
        p["status"] == "running"
    })
    .await;
    post(
        &host,
        json!({"kind": "test.fault", "details": {"n": "back"}}),
    )
    .await;
    assert_eq!(overlay.alert(WAIT).await["message"], "back");

    // Quarantined again; this time a new file brings it back.
    for _ in 0..5 {
        post(&host, fault("always-panic")).await;
    }
    wait_for(&host, "fault-plugin", "quarantined again", |p| {
        p["status"] == "quarantined"
    })
    .await;
    rewrite_label(&dir.path().join("plugins/fault-plugin"), "fixed");
    wait_for(&host, "fault-plugin", "running after a new file", |p| {
        p["status"] == "running"
    })
    .await;
    post(
        &host,
        json!({"kind": "test.fault", "details": {"n": "new file"}}),
    )
    .await;
    let alert = overlay.alert(WAIT).await;
    assert_eq!(
        (alert["title"].as_str(), alert["message"].as_str()),
        (Some("fixed"), Some("new file"))
    );

    let missing = client()
        .post(host.url("/api/plugins/nope/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    host.stop();
}

#[tokio::test]
async fn actions_without_permission_and_malformed_output_are_refused() {
    let (_dir, host) = host_with(&["fault-plugin"]).await;
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    for (mode, needle) in [
        ("chat", "\"chat\""),
        ("tts", "tts_rules"),
        ("bad-alert", "overlay"),
    ] {
        post(&host, fault(mode)).await;
        let status = wait_for(&host, "fault-plugin", mode, |p| {
            p["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("refused") && e.contains(needle))
        })
        .await;
        assert_eq!(status["status"], "running");
    }
    post(
        &host,
        json!({"kind": "test.fault", "details": {"mode": "webhook", "url": "https://evil.example/steal"}}),
    )
    .await;
    wait_for(&host, "fault-plugin", "refused webhook", |p| {
        p["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("evil.example"))
    })
    .await;
    assert!(
        overlay.drain(Duration::from_millis(300)).await.is_empty(),
        "nothing refused reached the overlay"
    );
    host.stop();
}

#[tokio::test]
async fn a_granted_webhook_is_posted_and_retried() {
    use std::sync::{Arc, Mutex};
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let hits = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let app = {
        let received = received.clone();
        let hits = hits.clone();
        axum::Router::new().route(
            "/hook",
            axum::routing::post(move |body: String| {
                let received = received.clone();
                let hits = hits.clone();
                async move {
                    // The first attempt fails: the host must retry.
                    if hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                        return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    received.lock().unwrap().push(body);
                    axum::http::StatusCode::NO_CONTENT
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let (_dir, host) = host_with(&["fault-plugin"]).await;
    post(
        &host,
        json!({"kind": "test.fault", "details": {"mode": "webhook", "n": 42, "url": format!("http://127.0.0.1:{port}/hook")}}),
    )
    .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while received.lock().unwrap().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "webhook never arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(received.lock().unwrap()[0], "{\"n\": \"42\"}");
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 2);
    host.stop();
}

#[tokio::test]
async fn broken_files_are_reported_and_never_replace_a_running_version() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    let fault = install_plugin(dir.path(), "fault-plugin");
    std::fs::write(
        plugins.join("notes.wasm"),
        b"these are not the bytes you are looking for",
    )
    .unwrap();
    let good = std::fs::read(fault.join("fault-plugin.wasm")).unwrap();
    std::fs::write(plugins.join("truncated.wasm"), &good[..good.len() / 2]).unwrap();
    std::fs::copy(
        support::built_plugins().join("test-plugins/wrong-world/wrong-world.wasm"),
        plugins.join("wrong-world.wasm"),
    )
    .unwrap();
    std::fs::create_dir_all(plugins.join("bad-manifest")).unwrap();
    std::fs::write(
        plugins.join("bad-manifest/plugin.toml"),
        "name = \"bad-manifest\"\nversion = 1\n",
    )
    .unwrap();
    std::fs::write(plugins.join("bad-manifest/bad.wasm"), &good).unwrap();

    let host = Host::start(dir.path(), "run", &[]);
    grant(&host, "fault-plugin").await;
    for (name, needle) in [
        ("notes", "not a WebAssembly file"),
        ("truncated", "not a valid WebAssembly component"),
        ("wrong-world", "not a Stagehand plugin: it exports hello"),
        ("bad-manifest", "plugin.toml"),
    ] {
        let p = plugin(&host, name).await;
        assert_eq!(p["status"], "failed", "{p}");
        assert!(
            p["last_error"].as_str().unwrap().contains(needle),
            "{name}: {p}"
        );
    }

    // A broken update of a running plugin leaves the old version running.
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    std::fs::write(fault.join("fault-plugin.wasm"), b"\0asm garbage").unwrap();
    let status = wait_for(&host, "fault-plugin", "reporting the failed reload", |p| {
        p["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("reload failed"))
    })
    .await;
    assert_eq!(status["status"], "running");
    post(
        &host,
        json!({"kind": "test.fault", "details": {"n": "still here"}}),
    )
    .await;
    assert_eq!(overlay.alert(WAIT).await["message"], "still here");

    // A bad plugin.toml for a running plugin: same.
    std::fs::write(fault.join("fault-plugin.wasm"), &good).unwrap();
    std::fs::write(
        fault.join("plugin.toml"),
        "name = \"fault-plugin\"\nversion = \"2\"\n[limits]\ndeadline_ms = -1\n",
    )
    .unwrap();
    wait_for(&host, "fault-plugin", "reporting the bad manifest", |p| {
        p["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("reload failed") && e.contains("plugin.toml"))
    })
    .await;
    post(
        &host,
        json!({"kind": "test.fault", "details": {"n": "still running"}}),
    )
    .await;
    assert_eq!(overlay.alert(WAIT).await["message"], "still running");
    host.stop();
}

fn rewrite_label(folder: &Path, label: &str) {
    let path = folder.join("plugin.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find("label = ").unwrap();
    let end = start + text[start..].find('\n').unwrap();
    let new = format!("{}label = \"{label}\"{}", &text[..start], &text[end..]);
    // Write then rename, as editors and build tools do.
    let tmp = folder.join(".plugin.toml.tmp");
    std::fs::write(&tmp, new).unwrap();
    std::fs::rename(tmp, path).unwrap();
}

#[tokio::test]
async fn hot_reload_while_events_flow_loses_and_repeats_nothing() {
    let (dir, host) = host_with(&["fault-plugin"]).await;
    let folder = dir.path().join("plugins/fault-plugin");
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    let total = 150;
    let c = client();
    for n in 0..total {
        let body = json!({"kind": "test.fault", "details": {"n": n.to_string()}});
        let resp = c
            .post(host.url("/api/events/test"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        if n == 50 {
            rewrite_label(&folder, "v2");
        }
        if n % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let mut seen = Vec::new();
    while seen.len() < total {
        let alert = overlay.alert(WAIT).await;
        overlay.ack(&alert).await;
        seen.push((
            alert["message"].as_str().unwrap().to_owned(),
            alert["title"].as_str().unwrap().to_owned(),
        ));
    }
    assert!(
        overlay.drain(Duration::from_millis(500)).await.is_empty(),
        "an event was delivered twice"
    );
    let ns: Vec<String> = seen.iter().map(|(n, _)| n.clone()).collect();
    let expected: Vec<String> = (0..total).map(|n| n.to_string()).collect();
    assert_eq!(ns, expected, "every event exactly once, in order");
    let first_v2 = seen
        .iter()
        .position(|(_, l)| l == "v2")
        .expect("the new version answered");
    assert!(first_v2 > 0, "the old version answered first");
    assert!(seen[..first_v2].iter().all(|(_, l)| l == "v1"));
    assert!(
        seen[first_v2..].iter().all(|(_, l)| l == "v2"),
        "versions never interleave"
    );
    assert_eq!(plugin(&host, "fault-plugin").await["reloads"], 1);
    host.stop();
}

#[tokio::test]
async fn a_flood_of_file_changes_is_one_reload() {
    let (dir, host) = host_with(&["fault-plugin"]).await;
    let folder = dir.path().join("plugins/fault-plugin");
    for i in 0..40 {
        rewrite_label(&folder, &format!("flood{i}"));
    }
    rewrite_label(&folder, "final");
    let status = wait_for(&host, "fault-plugin", "reloaded", |p| p["reloads"] == 1).await;
    assert_eq!(status["status"], "running");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        plugin(&host, "fault-plugin").await["reloads"],
        1,
        "debounced to one reload"
    );
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    post(&host, json!({"kind": "test.fault", "details": {"n": "x"}})).await;
    assert_eq!(overlay.alert(WAIT).await["title"], "final");
    host.stop();
}

#[tokio::test]
async fn new_plugins_load_and_deleted_ones_unload_without_a_restart_even_mid_event() {
    let (dir, host) = host_with(&[]).await;
    assert!(plugins(&host).await.is_empty());
    install_plugin(dir.path(), "follow-alert");
    wait_for(&host, "follow-alert", "loaded", |p| {
        p["status"] == "running"
    })
    .await;
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    // Queue events and delete the plugin while they are in flight.
    for n in 0..20 {
        post(
            &host,
            json!({"kind": "channel.follow", "details": {"username": format!("f{n}")}}),
        )
        .await;
    }
    std::fs::remove_dir_all(dir.path().join("plugins/follow-alert")).unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while plugins(&host)
        .await
        .iter()
        .any(|p| p["name"] == "follow-alert")
    {
        assert!(tokio::time::Instant::now() < deadline, "never unloaded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Everything dispatched before the removal was still handled.
    for n in 0..20 {
        let alert = overlay.alert(WAIT).await;
        assert!(
            alert["message"]
                .as_str()
                .unwrap()
                .contains(&format!("f{n} ")),
            "{alert}"
        );
    }
    post(
        &host,
        json!({"kind": "channel.follow", "details": {"username": "after"}}),
    )
    .await;
    assert!(overlay.drain(Duration::from_millis(500)).await.is_empty());
    let health = client().get(host.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    host.stop();
}

#[tokio::test]
async fn plugin_storage_survives_reloads_and_restarts_and_compiled_plugins_are_cached() {
    let dir = tempfile::tempdir().unwrap();
    let folder = install_plugin(dir.path(), "fault-plugin");
    let host = Host::start(dir.path(), "run", &[]);
    grant(&host, "fault-plugin").await;
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    async fn count(overlay: &mut Overlay) -> String {
        let alert = overlay.alert(WAIT).await;
        overlay.ack(&alert).await;
        alert["message"].as_str().unwrap().to_owned()
    }
    post(&host, fault("kv")).await;
    assert_eq!(count(&mut overlay).await, "count 1");
    rewrite_label(&folder, "v2");
    wait_for(&host, "fault-plugin", "reloaded", |p| p["reloads"] == 1).await;
    post(&host, fault("kv")).await;
    assert_eq!(count(&mut overlay).await, "count 2");
    tokio::time::sleep(Duration::from_millis(200)).await;
    host.stop();

    let cache = dir.path().join("plugin-cache");
    let cached: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert_eq!(cached.len(), 1, "one compiled component: {cached:?}");
    let compiled = std::fs::read(&cached[0]).unwrap();

    let host = Host::start(dir.path(), "run", &[]);
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    post(&host, fault("kv")).await;
    assert_eq!(count(&mut overlay).await, "count 3");
    let log = host.stop();
    assert!(
        std::fs::read(&cached[0]).unwrap() == compiled,
        "not recompiled"
    );
    let entries = std::fs::read_dir(&cache)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "cwasm")
        })
        .count();
    assert_eq!(entries, 1);
    assert!(!log.contains("recompiling"), "{log}");
}

#[tokio::test]
async fn a_plugin_asking_for_more_than_alerts_waits_for_the_grant() {
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "fault-plugin");
    let host = Host::start(dir.path(), "run", &[]);
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    let p = plugin(&host, "fault-plugin").await;
    assert_eq!(p["status"], "pending_grant");
    assert_eq!(p["requested_permissions"], json!(["webhook:127.0.0.1"]));
    assert_eq!(p["granted_permissions"], json!([]));
    post(
        &host,
        json!({"kind": "test.fault", "details": {"n": "early"}}),
    )
    .await;
    assert!(overlay.drain(Duration::from_millis(400)).await.is_empty());
    let p = grant(&host, "fault-plugin").await;
    assert_eq!(p["status"], "running");
    assert_eq!(p["granted_permissions"], json!(["webhook:127.0.0.1"]));
    post(
        &host,
        json!({"kind": "test.fault", "details": {"n": "granted"}}),
    )
    .await;
    assert_eq!(overlay.alert(WAIT).await["message"], "granted");
    let missing = client()
        .post(host.url("/api/plugins/nope/grant"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    host.stop();

    // The grant is remembered.
    let host = Host::start(dir.path(), "run", &[]);
    assert_eq!(plugin(&host, "fault-plugin").await["status"], "running");
    host.stop();
}

#[tokio::test]
async fn a_plugin_granted_in_the_config_file_starts_at_once() {
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "fault-plugin");
    let config = dir.path().join("stagehand.toml");
    std::fs::write(
        &config,
        "[grants]\nfault-plugin = [\"webhook:127.0.0.1\"]\n",
    )
    .unwrap();
    let host = Host::start(
        dir.path(),
        "run",
        &[("STAGEHAND_CONFIG", config.to_str().unwrap())],
    );
    let p = plugin(&host, "fault-plugin").await;
    assert_eq!(p["status"], "running", "{p}");
    assert_eq!(p["granted_permissions"], json!(["webhook:127.0.0.1"]));
    host.stop();
}

/// `stagehand plugin new` makes a crate that builds anywhere: it is moved
/// to another folder (no path of the machine it was made on may matter),
/// passes its own test natively, builds as a component, packs into one
/// file that `plugin check` accepts, and runs in a host.
#[tokio::test]
async fn plugin_new_scaffolds_a_crate_that_builds_packs_and_runs_anywhere() {
    let made = tempfile::tempdir().unwrap();
    let (ok, out, err) = support::run_cli(
        made.path(),
        &[
            "plugin",
            "new",
            "shout-out",
            "--dir",
            made.path().to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}{err}");
    let elsewhere = tempfile::tempdir().unwrap();
    let crate_dir = elsewhere.path().join("shout-out");
    std::fs::rename(made.path().join("shout-out"), &crate_dir).unwrap();
    drop(made);
    let cargo_toml = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
    assert!(
        !cargo_toml.contains("/work") && !cargo_toml.contains("/tmp"),
        "{cargo_toml}"
    );

    // Nothing of this machine's Cargo set-up: a Cargo home holding only what
    // comes from the registry. One build directory is kept between runs.
    let cargo_home = tempfile::tempdir().unwrap();
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/scaffold");
    let cargo = || {
        let mut c =
            std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        c.current_dir(&crate_dir)
            .env("CARGO_HOME", cargo_home.path())
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET");
        c
    };
    let tested = cargo().args(["test-native", "--quiet"]).status().unwrap();
    assert!(tested.success(), "the scaffolded plugin's own test failed");
    let built = cargo()
        .args(["build", "--release", "--quiet"])
        .status()
        .unwrap();
    assert!(
        built.success(),
        "the scaffolded plugin did not build as a component"
    );

    let (ok, out, err) = support::run_cli_in(
        elsewhere.path(),
        &crate_dir,
        &["plugin", "pack", ".", "--out", "../shout.stagehand"],
        &[("CARGO_TARGET_DIR", target.to_str().unwrap())],
    );
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("shout-out 0.1.0 (plugin contract 0.3.0)"),
        "{out}"
    );
    // Packing again does not replace the file.
    let (again, _, err) = support::run_cli_in(
        elsewhere.path(),
        &crate_dir,
        &["plugin", "pack", ".", "--out", "../shout.stagehand"],
        &[("CARGO_TARGET_DIR", target.to_str().unwrap())],
    );
    assert!(!again && err.contains("not replaced"), "{err}");
    let package = elsewhere.path().join("shout.stagehand");
    let (ok, out, err) = support::run_cli(
        elsewhere.path(),
        &["plugin", "check", package.to_str().unwrap(), "--json"],
    );
    assert!(ok, "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["plugin"]["name"], "shout-out");
    assert_eq!(report["plugin"]["contract"], "0.3.0");
    assert_eq!(report["plugin"]["permissions"], json!([]));

    // Unpacked into a plugins folder, it runs and keeps state between events.
    let data = tempfile::tempdir().unwrap();
    let folder = data.path().join("plugins/shout-out");
    std::fs::create_dir_all(&folder).unwrap();
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(&package).unwrap());
    tar::Archive::new(gz).unpack(&folder).unwrap();
    let host = Host::start(data.path(), "run", &[]);
    let status = plugin(&host, "shout-out").await;
    assert_eq!(status["status"], "running", "{status}");
    assert_eq!(status["contract"], "0.3.0");
    assert_eq!(status["warnings"], json!([]), "{status}");
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    for name in ["Ann", "Bob"] {
        post(
            &host,
            json!({"kind": "channel.follow", "details": {"username": name}}),
        )
        .await;
    }
    let first = overlay.alert(WAIT).await;
    let second = overlay.alert(WAIT).await;
    assert_eq!(first["title"], "New follower!");
    assert_eq!(first["message"], "Ann just followed (#1)");
    assert_eq!(second["message"], "Bob just followed (#2)");
    host.stop();
}

/// A component built against the frozen 0.1 contract still loads and does
/// everything it did: alerts from `details` JSON, kv, formatting.
#[tokio::test]
async fn a_plugin_built_for_contract_0_1_still_runs() {
    let (_dir, host) = host_with(&["legacy-v01"]).await;
    let status = plugin(&host, "legacy-v01").await;
    assert_eq!(status["status"], "running", "{status}");
    assert_eq!(status["contract"], "0.1.0", "{status}");
    assert_eq!(status["warnings"], json!([]), "{status}");
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    for name in ["Ann", "Bob"] {
        post(
            &host,
            json!({"kind": "channel.follow", "details": {"username": name}}),
        )
        .await;
    }
    assert_eq!(
        overlay.alert(WAIT).await["message"],
        "Ann just followed (#1)"
    );
    // The count came back from kv.
    assert_eq!(
        overlay.alert(WAIT).await["message"],
        "Bob just followed (#2)"
    );

    let event = post(&host, json!({"kind": "test.legacy", "details": {"n": 7}})).await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let events: Vec<Value> = support::get_json(&host, "/api/events?limit=1").await;
        assert_eq!(events[0]["id"], event["id"]);
        if events[0]["display"]["text"] == "legacy 7" {
            assert_eq!(events[0]["display"]["label"], "Legacy");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", events[0]);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    host.stop();
}

/// A component built against the frozen 0.2 contract still loads and runs,
/// and the kinds 0.3 added reach it as `other` with their JSON fields: a
/// donation's amount as sent, a Discord event's eight fields.
#[tokio::test]
async fn a_plugin_built_for_contract_0_2_still_runs() {
    let (_dir, host) = host_with(&["legacy-v02", "event-formatter"]).await;
    let status = plugin(&host, "legacy-v02").await;
    assert_eq!(status["status"], "running", "{status}");
    assert_eq!(status["contract"], "0.2.0", "{status}");
    assert_eq!(status["warnings"], json!([]), "{status}");
    assert_eq!(plugin(&host, "event-formatter").await["contract"], "0.3.0");
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    for name in ["Ann", "Bob"] {
        post(
            &host,
            json!({"kind": "channel.follow", "details": {"username": name}}),
        )
        .await;
    }
    assert_eq!(
        overlay.alert(WAIT).await["message"],
        "Ann just followed (#1)"
    );
    assert_eq!(
        overlay.alert(WAIT).await["message"],
        "Bob just followed (#2)"
    );

    let donation = post(
        &host,
        json!({"kind": "donation", "details": {
            "username": "JaneDoe", "amount": "5.00", "currency": "USD",
            "message": "secret", "is_public": false, "source": "kofi"
        }}),
    )
    .await;
    let alert = overlay.alert(WAIT).await;
    assert_eq!(alert["event_id"], donation["id"]);
    assert_eq!(alert["title"], "other donation from test");
    assert_eq!(alert["message"], "JaneDoe gave 5.00 USD via kofi");
    post(
        &host,
        json!({"kind": "discord.giveaway.create", "details": {"prize": "Mug", "data": {"prize": "Mug"}}}),
    )
    .await;
    let alert = overlay.alert(WAIT).await;
    assert_eq!(alert["title"], "other discord.giveaway.create from test");
    assert_eq!(alert["message"], "8 fields");

    // The newest formatter shows the donation, without its private message.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let events: Vec<Value> = support::get_json(&host, "/api/events?kind=donation").await;
        if events[0]["display"]["text"] == "JaneDoe donated 5.00 USD" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", events[0]);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // With the newer formatter off, the 0.2 component's own display shows.
    let off = client()
        .post(host.url("/api/plugins/event-formatter/disable"))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 200);
    let event = post(&host, json!({"kind": "test.legacy", "details": {"n": 7}})).await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let events: Vec<Value> = support::get_json(&host, "/api/events?limit=1").await;
        assert_eq!(events[0]["id"], event["id"]);
        if events[0]["display"]["text"] == "legacy-v02 7" {
            assert_eq!(events[0]["display"]["label"], "Legacy 0.2");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", events[0]);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    host.stop();
}

/// The sloppy plugin describes itself wrongly in four ways; each is one
/// warning in `GET /api/plugins`, and what it declared still runs.
async fn sloppy_warnings() -> (tempfile::TempDir, Host, Vec<String>) {
    let (dir, host) = host_with(&["sloppy-plugin"]).await;
    let status = wait_for(&host, "sloppy-plugin", "running", |p| {
        p["status"] == "running"
    })
    .await;
    let warnings = status["warnings"]
        .as_array()
        .unwrap_or_else(|| panic!("{status}"))
        .iter()
        .map(|w| w.as_str().unwrap().to_owned())
        .collect();
    (dir, host, warnings)
}

fn one_warning(warnings: &[String], needle: &str) -> String {
    let found: Vec<&String> = warnings.iter().filter(|w| w.contains(needle)).collect();
    assert_eq!(found.len(), 1, "{needle:?} in {warnings:#?}");
    found[0].clone()
}

#[tokio::test]
async fn a_role_implemented_but_not_declared_is_warned_about() {
    let (_dir, host, warnings) = sloppy_warnings().await;
    let w = one_warning(&warnings, "formatter role");
    assert!(w.contains("never calls it"), "{w}");
    // The undeclared formatter is indeed not called; the declared actions are.
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    let event = post(
        &host,
        json!({"kind": "channel.cheer", "details": {"username": "A", "bits": 5}}),
    )
    .await;
    assert_eq!(overlay.alert(WAIT).await["message"], "5 bits");
    let events: Vec<Value> = support::get_json(&host, "/api/events?limit=1").await;
    assert_eq!(events[0]["id"], event["id"]);
    assert_ne!(events[0]["display"]["label"], "Sloppy", "{}", events[0]);
    host.stop();
}

#[tokio::test]
async fn a_misspelled_kind_is_warned_about_with_the_likely_one() {
    let (_dir, host, warnings) = sloppy_warnings().await;
    let w = one_warning(&warnings, "channel.folow");
    assert!(w.contains("did you mean \"channel.follow\""), "{w}");
    host.stop();
}

#[tokio::test]
async fn a_name_or_version_unlike_the_manifest_is_warned_about() {
    let (_dir, host, warnings) = sloppy_warnings().await;
    let name = one_warning(&warnings, "calls itself");
    assert!(
        name.contains("\"sloppy\"") && name.contains("\"sloppy-plugin\""),
        "{name}"
    );
    let version = one_warning(&warnings, "version");
    assert!(
        version.contains("\"0.1.0\"") && version.contains("\"2.0.0\""),
        "{version}"
    );
    assert_eq!(warnings.len(), 4, "{warnings:#?}");
    // plugin.toml wins.
    let status = plugin(&host, "sloppy-plugin").await;
    assert_eq!(status["version"], "2.0.0", "{status}");
    host.stop();
}

/// `plugin check` refuses what Stagehand cannot load, with the reason, and
/// without running it.
#[test]
fn plugin_check_refuses_what_cannot_load() {
    let dir = tempfile::tempdir().unwrap();
    let built = support::built_plugins();
    let wrong = built.join("test-plugins/wrong-world");
    let (ok, out, err) =
        support::run_cli(dir.path(), &["plugin", "check", wrong.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(
        err.contains("not a Stagehand plugin") && err.contains("hello"),
        "{err}"
    );

    let text = dir.path().join("notes.stagehand");
    std::fs::write(&text, "hello").unwrap();
    let (ok, out, _) = support::run_cli(
        dir.path(),
        &["plugin", "check", text.to_str().unwrap(), "--json"],
    );
    assert!(!ok);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["ok"], false);
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("not a plugin package"),
        "{report}"
    );

    let legacy = built.join("test-plugins/legacy-v01");
    let (ok, out, err) =
        support::run_cli(dir.path(), &["plugin", "check", legacy.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("legacy-v01 0.1.0 (plugin contract 0.1.0)"),
        "{out}"
    );
    let legacy = built.join("test-plugins/legacy-v02");
    let (ok, out, err) =
        support::run_cli(dir.path(), &["plugin", "check", legacy.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("legacy-v02 0.2.0 (plugin contract 0.2.0)"),
        "{out}"
    );
    let current = built.join("plugins/event-formatter");
    let (ok, out, err) =
        support::run_cli(dir.path(), &["plugin", "check", current.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("(plugin contract 0.3.0)"), "{out}");
}

#[tokio::test]
async fn plugins_see_no_environment_files_or_network() {
    let (_dir, host) = host_with(&["fault-plugin"]).await;
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    post(&host, fault("escape")).await;
    let alert = overlay.alert(WAIT).await;
    assert_eq!(
        alert["message"], "env=0 file=false dir=false net=false",
        "{alert}"
    );
    host.stop();
}

#[tokio::test]
async fn a_formatter_fault_loses_neither_the_event_nor_its_actions() {
    let (_dir, host) = host_with(&["fault-plugin"]).await;
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    let stored = post(&host, fault("format-panic")).await;
    assert_eq!(
        stored["display"],
        Value::Null,
        "no display, but the event is stored"
    );
    assert_eq!(overlay.alert(WAIT).await["message"], "formatted badly");
    let status = plugin(&host, "fault-plugin").await;
    assert!(
        status["last_error"].as_str().unwrap().contains("panicked"),
        "{status}"
    );

    // The formatter was rebuilt: the next event gets its display (at once,
    // or filled in a moment later if the plugin was still starting again).
    let next = post(
        &host,
        json!({"kind": "test.fault", "details": {"mode": "speak", "n": 7}}),
    )
    .await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let events: Vec<Value> = support::get_json(&host, "/api/events?limit=1").await;
        assert_eq!(events[0]["id"], next["id"]);
        if events[0]["display"]["text"] == "fault test 7" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", events[0]);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A speak action becomes speech on the default overlay.
    let speech = overlay.alert(WAIT).await;
    assert_eq!(speech["tts"], "say 7");
    assert_eq!(speech["speech"], true);
    host.stop();
}

/// Every connected overlay page gets every alert even when the machine is
/// busy: every page connects before the host's first alert (the pages whose
/// catch-up once overtook alerts on their way, see
/// `a_slow_page_catching_up_never_overtakes_an_alert_on_its_way`), alerts go
/// out in quick succession while the fast pages acknowledge them, the host
/// runs on a single worker thread and two threads burn the CPU.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_connected_page_gets_every_alert_on_a_busy_machine() {
    const PAGES: usize = 40;
    const ALERTS: usize = 15;
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "follow-alert");
    let host = tokio::task::block_in_place(|| {
        Host::start(dir.path(), "run", &[("TOKIO_WORKER_THREADS", "1")])
    });
    let burning = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let burners: Vec<_> = (0..2)
        .map(|_| {
            let burning = burning.clone();
            std::thread::spawn(move || {
                let mut x = 0u64;
                while burning.load(std::sync::atomic::Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
                }
            })
        })
        .collect();
    // Pages connect and read (acknowledging each alert) on their own tasks.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, String)>();
    let (ready_tx, mut ready) = tokio::sync::mpsc::unbounded_channel::<()>();
    for page in 0..PAGES {
        let (base, tx, ready_tx) = (host.base.clone(), tx.clone(), ready_tx.clone());
        tokio::spawn(async move {
            let mut overlay = Overlay::connect(&base, "alerts").await;
            let _ = ready_tx.send(());
            while let Some(message) = overlay.next(Duration::from_secs(60)).await {
                if message["type"] == "alert" {
                    overlay.ack(&message).await;
                    let _ = tx.send((page, message["message"].as_str().unwrap_or("").to_owned()));
                }
            }
        });
    }
    for _ in 0..PAGES {
        ready.recv().await.unwrap();
    }
    let poster = tokio::spawn({
        let url = host.url("/api/events/test");
        async move {
            for n in 0..ALERTS {
                let resp = client()
                    .post(&url)
                    .json(&json!({"kind": "channel.follow", "details": {"username": format!("f{n}")}}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 201);
            }
        }
    });
    poster.await.unwrap();
    let mut seen = vec![std::collections::BTreeSet::new(); PAGES];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while seen.iter().any(|s| s.len() < ALERTS) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some((page, message))) => {
                assert!(
                    seen[page].insert(message.clone()),
                    "page {page} got {message} twice"
                );
            }
            _ => break,
        }
    }
    burning.store(false, std::sync::atomic::Ordering::Relaxed);
    for b in burners {
        b.join().unwrap();
    }
    let short: Vec<(usize, usize)> = seen
        .iter()
        .enumerate()
        .filter(|(_, s)| s.len() < ALERTS)
        .map(|(page, s)| (page, s.len()))
        .collect();
    assert!(
        short.is_empty(),
        "pages missing alerts (page, got): {short:?}"
    );
    host.stop();
}
