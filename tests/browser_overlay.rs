//! End-to-end: the overlay page in headless Chromium against a real host
//! process, with the alert-box plugin (built by `cargo xtask plugins`)
//! turning test events into alerts. Also the page's HTTP surface and the
//! dashboard's overlay endpoints (`/api/overlays`, `/api/overlay/key`).
//!
//! The page exposes read-only test hooks: `window.__overlay` (status,
//! connects, error, spoken texts, ids skipped and cancelled, acks sent) and
//! `window.__shown` (alert ids shown in this tab, kept across reloads).
//! Speech tests replace the browser's speech synthesis with one that holds
//! each utterance until the test ends it ([`hold_speech`]): headless
//! Chromium may have no voices, and then speech ends at once or never.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use support::browser::Browser;
use support::{Host, OVERLAY_KEY, anonymous, client, install_plugin};

const WAIT: Duration = Duration::from_secs(20);

/// A URL whose server accepts the connection and never answers (a media
/// host that hangs).
fn hanging_url(file: &str) -> String {
    static LISTENER: std::sync::OnceLock<std::net::TcpListener> = std::sync::OnceLock::new();
    let listener = LISTENER.get_or_init(|| std::net::TcpListener::bind("127.0.0.1:0").unwrap());
    format!("http://{}/{file}", listener.local_addr().unwrap())
}

/// Alert-box settings for the tests: short follow alerts with speech, a
/// cheer alert with custom markup trying to run a script, and a raid alert
/// whose sound and image never load and whose video fails.
fn alert_box_settings(follow_ms: u32) -> String {
    let (sound, image) = (hanging_url("raid.mp3"), hanging_url("raid.gif"));
    format!(
        r#"
[settings.alerts."channel.follow"]
title = "{{username}} followed"
message = "welcome {{username}}"
tts = "thanks {{username}}"
duration_ms = {follow_ms}

[settings.alerts."channel.cheer"]
title = "{{username}} cheered"
message = "{{message}}"
html = '<div class="box" id="custom">{{title}}: {{message}}</div><script>parent.__escaped = 1</script>'
css = ".box {{ color: rgb(1, 2, 3) }}"
duration_ms = 1500

[settings.alerts."channel.raid"]
title = "{{username}} raided"
message = "with {{viewers}}"
sound_url = "{sound}"
image_url = "{image}"
video_url = "http://127.0.0.1:1/refused.webm"
duration_ms = 300
"#
    )
}

/// Installs alert-box with [`alert_box_settings`] (its own settings cut),
/// asking for media from the test's media server on 127.0.0.1, granted in
/// the host's config file.
fn install_alert_box(data_dir: &Path, follow_ms: u32) {
    let folder = install_plugin(data_dir, "alert-box");
    let manifest = std::fs::read_to_string(folder.join("plugin.toml")).unwrap();
    let head = manifest.split("\n[settings").next().unwrap();
    std::fs::write(
        folder.join("plugin.toml"),
        format!(
            "{head}\n[permissions]\nmedia = [\"127.0.0.1\"]\n{}",
            alert_box_settings(follow_ms)
        ),
    )
    .unwrap();
    let config = data_dir.join("xdg-config/stagehand");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("stagehand.toml"),
        "[grants]\nalert-box = [\"media:127.0.0.1\"]\n",
    )
    .unwrap();
}

/// A host running alert-box (and `extra` plugins); `env` as for [`Host::start`].
fn host_with_alert_box(
    follow_ms: u32,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (tempfile::TempDir, Host) {
    let dir = tempfile::tempdir().unwrap();
    install_alert_box(dir.path(), follow_ms);
    for plugin in extra {
        install_plugin(dir.path(), plugin);
    }
    let host = Host::start(dir.path(), "run", env);
    (dir, host)
}

async fn post_event(host: &Host, body: Value) -> Value {
    let resp = client()
        .post(host.url("/api/events/test"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    resp.json().await.unwrap()
}

fn follow(name: &str) -> Value {
    json!({"kind": "channel.follow", "details": {"username": name}})
}

/// The default overlay's entry in `GET /api/overlays`.
async fn alerts_overlay(host: &Host) -> Value {
    let all: Vec<Value> = support::get_json(host, "/api/overlays").await;
    all.into_iter()
        .find(|o| o["name"] == "alerts")
        .expect("the default overlay is always listed")
}

/// Polls `GET /api/overlays` until `check` holds for the default overlay.
async fn wait_for_overlay(host: &Host, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let overlay = alerts_overlay(host).await;
        if check(&overlay) {
            return overlay;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the alerts overlay never {what}: {overlay}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Opens the overlay page and waits until its socket is welcomed.
async fn open_overlay(browser: &Browser, host: &Host, key: &str) {
    browser
        .goto(&host.url(&format!("/overlay/alerts#key={key}")))
        .await;
    browser
        .wait_for(
            "window.__overlay && window.__overlay.status === 'connected'",
            WAIT,
        )
        .await;
}

#[tokio::test]
async fn an_alert_reaches_the_overlay_page_is_shown_spoken_and_acknowledged() {
    let (_dir, host) = host_with_alert_box(1500, &[], &[]);
    // The dashboard's live feed hears about the page connecting.
    let mut live = client().get(host.url("/api/live")).send().await.unwrap();
    assert_eq!(live.status(), 200);

    let browser = Browser::start().await;
    open_overlay(&browser, &host, OVERLAY_KEY).await;
    let overlay = alerts_overlay(&host).await;
    assert_eq!(overlay["connected"], 1, "{overlay}");
    assert_eq!(
        overlay["url"],
        host.url(&format!("/overlay/alerts#key={OVERLAY_KEY}"))
    );
    let mut heard = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !heard.contains("event: overlays") {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, live.chunk()).await {
            Ok(Ok(Some(chunk))) => heard.push_str(&String::from_utf8_lossy(&chunk)),
            _ => panic!("no `overlays` live notice after the page connected: {heard:?}"),
        }
    }
    drop(live);
    // Another overlay, connected too, gets none of this one's alerts.
    let mut other = support::overlay::Overlay::connect(&host.base, "other").await;
    let listed: Vec<Value> = support::get_json(&host, "/api/overlays").await;
    let names: Vec<(&str, &Value)> = listed
        .iter()
        .map(|o| (o["name"].as_str().unwrap(), &o["connected"]))
        .collect();
    assert_eq!(names, vec![("alerts", &json!(1)), ("other", &json!(1))]);

    post_event(&host, follow("Alice")).await;
    let title = browser
        .wait_for(
            "document.querySelector('#stage .alert .title')?.textContent",
            WAIT,
        )
        .await;
    assert_eq!(title, "Alice followed");
    assert_eq!(
        browser
            .eval("document.querySelector('#stage .alert .message').textContent")
            .await,
        "welcome Alice"
    );
    assert_eq!(
        browser.eval("window.__overlay.spoken").await,
        json!(["thanks Alice"])
    );
    assert_eq!(browser.eval("window.__shown.length").await, 1);
    // Acknowledged: the host's queue for the overlay empties.
    wait_for_overlay(&host, "emptied", |o| o["pending"] == 0).await;
    // And the card goes away after its duration (plus the fade).
    browser
        .wait_for("document.querySelector('#stage .alert') === null", WAIT)
        .await;
    assert_eq!(browser.eval("window.__overlay.connects").await, 1);
    assert!(other.drain(Duration::from_millis(300)).await.is_empty());
    other.close().await;

    browser.close().await;
    wait_for_overlay(&host, "lost its page", |o| o["connected"] == 0).await;
    let log = host.stop();
    assert!(
        !log.contains(OVERLAY_KEY),
        "the overlay key must never reach the log"
    );
}

#[tokio::test]
async fn custom_markup_is_sandboxed_and_a_speech_only_alert_just_speaks() {
    let (_dir, host) = host_with_alert_box(500, &["fault-plugin"], &[]);
    let granted = client()
        .post(host.url("/api/plugins/fault-plugin/grant"))
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), 200);
    let browser = Browser::start().await;
    open_overlay(&browser, &host, OVERLAY_KEY).await;

    post_event(
        &host,
        json!({"kind": "channel.cheer", "details": {"username": "Bob", "bits": 100, "message": "<b>hi</b>"}}),
    )
    .await;
    browser
        .wait_for(
            "document.querySelector('#stage .alert-frame') !== null",
            WAIT,
        )
        .await;
    let sandbox = browser
        .eval("document.querySelector('#stage .alert-frame').getAttribute('sandbox')")
        .await;
    assert_eq!(
        sandbox, "",
        "custom markup runs with every sandbox restriction"
    );
    let srcdoc = browser
        .eval("document.querySelector('#stage .alert-frame').srcdoc")
        .await;
    let srcdoc = srcdoc.as_str().unwrap();
    assert!(
        srcdoc.contains(
            "<div class=\"box\" id=\"custom\">Bob cheered: &#60;b&#62;hi&#60;/b&#62;</div>"
        ),
        "{{title}} and {{message}} are filled in, escaped: {srcdoc}"
    );
    assert!(srcdoc.contains(".box { color: rgb(1, 2, 3) }"), "{srcdoc}");
    // The frame has an opaque origin: the page cannot see into it, and its
    // script neither ran nor reached the page.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(browser.eval("window.__escaped === undefined").await, true);

    // `speak` from a plugin: no card, just the words.
    post_event(
        &host,
        json!({"kind": "test.fault", "details": {"mode": "speak", "n": "7"}}),
    )
    .await;
    browser
        .wait_for("window.__overlay.spoken.includes('say 7')", WAIT)
        .await;
    assert_eq!(
        browser
            .eval("document.querySelector('#stage .alert')")
            .await,
        Value::Null,
        "a speech-only alert shows nothing"
    );
    wait_for_overlay(&host, "emptied", |o| o["pending"] == 0).await;
    // Speech never ends in a headless browser without voices, or ends at
    // once: either way the queue moves on within the alert's bound.
    browser
        .wait_for(
            "window.__overlay.current === null && window.__shown.length === 2",
            WAIT,
        )
        .await;
    browser.close().await;
    host.stop();
}

/// Replaces the page's speech synthesis with one that holds every
/// utterance until `window.__speech.finish()` ends the oldest (as a voice
/// finishing would); `speechSynthesis.cancel()` interrupts all of them.
/// `window.__speech.said` lists the texts handed over. Gone after a reload.
async fn hold_speech(browser: &Browser) {
    browser
        .eval(
            "(() => { \
               const held = []; \
               window.__speech = { held, said: [] }; \
               speechSynthesis.speak = (u) => { held.push(u); window.__speech.said.push(u.text); }; \
               speechSynthesis.cancel = () => { \
                 for (const u of held.splice(0)) if (u.onerror) u.onerror(new Event('error')); \
               }; \
               window.__speech.finish = () => { \
                 const u = held.shift(); if (u && u.onend) u.onend(new Event('end')); return !!u; \
               }; \
               return true; })()",
        )
        .await;
}

/// A host with chat read aloud for everyone, with no gap between messages.
async fn host_reading_everyone() -> (tempfile::TempDir, Host) {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(dir.path(), "run", &[]);
    let resp = client()
        .put(host.url("/api/tts/settings"))
        .json(&json!({"enabled": true, "access": ["everyone"], "viewer_gap_seconds": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
    (dir, host)
}

/// A chat message from viewer `login` (display name `name`).
async fn chat(host: &Host, id: &str, name: &str, text: &str) {
    support::post_chat(host, id, name, text).await;
}

/// `GET /api/tts/queue`'s items.
async fn speech_queue(host: &Host) -> Vec<Value> {
    let queue: Value = support::get_json(host, "/api/tts/queue").await;
    queue["items"].as_array().expect("items").clone()
}

/// Polls the speech queue until it holds `n` items; returns them.
async fn wait_for_speech_queue(host: &Host, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let items = speech_queue(host).await;
        if items.len() == n {
            return items;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the speech queue never held {n} items: {items:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn chat_read_aloud_shows_nothing_and_is_acknowledged_when_said() {
    let (_dir, host) = host_reading_everyone().await;
    let browser = Browser::start().await;
    open_overlay(&browser, &host, OVERLAY_KEY).await;
    hold_speech(&browser).await;

    chat(&host, "901", "Alice", "hello there").await;
    browser
        .wait_for("window.__speech.said.length === 1", WAIT)
        .await;
    assert_eq!(
        browser.eval("window.__overlay.spoken").await,
        json!(["Alice says hello there"])
    );
    assert_eq!(
        browser.eval("window.__speech.said").await,
        json!(["Alice says hello there"])
    );
    // Nothing on screen at all while it is said, not even an empty box.
    assert_eq!(
        browser
            .eval("document.getElementById('stage').childElementCount")
            .await,
        0,
        "speech shows nothing"
    );
    let speaking = browser.eval("window.__overlay.current").await;
    assert!(speaking.is_string(), "{speaking}");
    // Not acknowledged while being said: the dashboard lists it, sent.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(browser.eval("window.__overlay.acked").await, 0);
    let items = speech_queue(&host).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["id"], speaking);
    assert_eq!(items[0]["login"], "alice");
    assert_eq!(items[0]["sent"], true, "{items:?}");
    assert!(
        items[0]["text"].as_str().unwrap().contains("hello there"),
        "{items:?}"
    );

    // The voice finishes: acknowledged, gone from the queue.
    assert_eq!(browser.eval("window.__speech.finish()").await, true);
    browser
        .wait_for(
            "window.__overlay.current === null && window.__overlay.acked === 1",
            WAIT,
        )
        .await;
    wait_for_speech_queue(&host, 0).await;
    wait_for_overlay(&host, "emptied", |o| o["pending"] == 0).await;
    assert_eq!(
        browser
            .eval("document.getElementById('stage').childElementCount")
            .await,
        0
    );
    assert_eq!(browser.eval("[...window.__shown]").await, json!([speaking]));
    browser.close().await;
    host.stop();
}

#[tokio::test]
async fn skip_ends_the_speech_playing_and_cancel_drops_withdrawn_speech() {
    let (_dir, host) = host_reading_everyone().await;
    let browser = Browser::start().await;
    open_overlay(&browser, &host, OVERLAY_KEY).await;
    hold_speech(&browser).await;

    // Long enough that its bound (1.5 s + 75 ms a character + 3 s) is far
    // off: only the skip can end it soon.
    let long = "this is a rather long message that would take a while to say";
    chat(&host, "911", "Ann", long).await;
    chat(&host, "912", "Ben", "second message").await;
    chat(&host, "913", "Cat", "third message").await;
    let first = format!("Ann says {long}");
    browser
        .wait_for(
            "window.__speech.said.length === 1 && window.__overlay.queued === 2",
            WAIT,
        )
        .await;
    assert_eq!(browser.eval("window.__speech.said").await, json!([first]));
    let items = wait_for_speech_queue(&host, 3).await;
    let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    let logins: Vec<&str> = items.iter().map(|i| i["login"].as_str().unwrap()).collect();
    assert_eq!(logins, ["ann", "ben", "cat"], "in order: {items:?}");
    assert_eq!(browser.eval("window.__overlay.current").await, ids[0]);

    // Removed in the dashboard while it waits on the page: the page drops it.
    let removed = client()
        .delete(host.url(&format!("/api/tts/queue/{}", ids[1])))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 200);
    assert_eq!(removed.json::<Value>().await.unwrap()["removed"], true);
    browser
        .wait_for(
            &format!(
                "window.__overlay.cancelled.includes('{}') && window.__overlay.queued === 1",
                ids[1]
            ),
            WAIT,
        )
        .await;
    assert_eq!(
        browser.eval("window.__overlay.current").await,
        ids[0],
        "the one playing goes on"
    );

    // Skip: the first ends at once (acknowledged), the third is said next.
    let started = std::time::Instant::now();
    let skipped = client()
        .post(host.url("/api/tts/skip"))
        .send()
        .await
        .unwrap();
    assert_eq!(skipped.status(), 200);
    assert_eq!(skipped.json::<Value>().await.unwrap()["pages"], 1);
    browser
        .wait_for("window.__speech.said.length === 2", WAIT)
        .await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "the skip ended the speech in {took:?}"
    );
    assert_eq!(
        browser.eval("window.__speech.said").await,
        json!([first, "Cat says third message"]),
        "the removed one is never said"
    );
    assert_eq!(
        browser.eval("window.__overlay.skipped").await,
        json!([ids[0]])
    );
    assert_eq!(browser.eval("window.__overlay.current").await, ids[2]);
    // The skipped one was acknowledged: only the third is left.
    let left = wait_for_speech_queue(&host, 1).await;
    assert_eq!(left[0]["id"], ids[2]);

    // Removed while being said: it stops, and the next speech plays.
    let removed = client()
        .delete(host.url(&format!("/api/tts/queue/{}", ids[2])))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 200);
    browser
        .wait_for(
            &format!(
                "window.__overlay.current === null && window.__overlay.cancelled.includes('{}')",
                ids[2]
            ),
            WAIT,
        )
        .await;
    wait_for_speech_queue(&host, 0).await;
    chat(&host, "914", "Dan", "fourth message").await;
    browser
        .wait_for("window.__speech.said.length === 3", WAIT)
        .await;
    assert_eq!(browser.eval("window.__speech.finish()").await, true);
    browser
        .wait_for("window.__overlay.current === null", WAIT)
        .await;
    wait_for_speech_queue(&host, 0).await;
    wait_for_overlay(&host, "emptied", |o| o["pending"] == 0).await;
    assert_eq!(
        browser.eval("window.__overlay.spoken").await,
        json!([first, "Cat says third message", "Dan says fourth message"])
    );
    // Gone means gone: removing it again is a 404.
    let again = client()
        .delete(host.url(&format!("/api/tts/queue/{}", ids[1])))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    // A skip with nothing playing changes nothing.
    let idle = client()
        .post(host.url("/api/tts/skip"))
        .send()
        .await
        .unwrap();
    assert_eq!(idle.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(browser.eval("window.__overlay.skipped.length").await, 1);
    browser.close().await;
    host.stop();
}

#[tokio::test]
async fn a_reload_in_the_middle_of_a_queue_shows_the_rest_once() {
    let (_dir, host) = host_with_alert_box(1000, &[], &[]);
    let browser = Browser::start().await;
    open_overlay(&browser, &host, OVERLAY_KEY).await;
    for name in ["One", "Two", "Three"] {
        post_event(&host, follow(name)).await;
    }
    // The first is on screen, the others wait: OBS refreshes the source.
    browser.wait_for("window.__shown.length === 1", WAIT).await;
    let before = browser.eval("[...window.__shown]").await;
    browser.reload().await;
    assert_eq!(
        browser
            .eval("performance.getEntriesByType('navigation')[0].type")
            .await,
        "reload"
    );
    browser
        .wait_for(
            "window.__shown.length === 3 && window.__overlay.current === null",
            WAIT,
        )
        .await;
    let shown: Vec<String> = serde_json::from_value(browser.eval("window.__shown").await).unwrap();
    let mut unique = shown.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 3, "each alert shown exactly once: {shown:?}");
    assert_eq!(
        &shown[..before.as_array().unwrap().len()],
        before
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect::<Vec<_>>(),
        "what was shown before the reload stays first"
    );
    wait_for_overlay(&host, "emptied", |o| o["pending"] == 0).await;
    // Nothing more arrives.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(browser.eval("window.__shown.length").await, 3);
    browser.close().await;
    host.stop();
}

#[tokio::test]
async fn media_that_fails_or_never_loads_does_not_stall_the_queue() {
    let (_dir, host) = host_with_alert_box(300, &[], &[]);
    let browser = Browser::start().await;
    open_overlay(&browser, &host, OVERLAY_KEY).await;
    post_event(
        &host,
        json!({"kind": "channel.raid", "details": {"username": "Raider", "viewers": 5}}),
    )
    .await;
    post_event(&host, follow("After")).await;
    browser
        .wait_for(
            "document.querySelector('#stage .alert .title')?.textContent === 'Raider raided'",
            WAIT,
        )
        .await;
    let started = std::time::Instant::now();
    browser
        .wait_for(
            "document.querySelector('#stage .alert .title')?.textContent === 'After followed'",
            WAIT,
        )
        .await;
    let took = started.elapsed();
    // The sound never ends, so the raid runs to its bound: 300 ms + 3 s of
    // grace (+ the fade), and not a moment longer than that (plus polling).
    assert!(
        took >= Duration::from_millis(2500) && took < Duration::from_millis(6000),
        "the raid alert took {took:?}"
    );
    wait_for_overlay(&host, "emptied", |o| o["pending"] == 0).await;
    browser.close().await;
    host.stop();
}

#[tokio::test]
async fn a_wrong_key_shows_an_error_and_is_not_retried() {
    let (_dir, host) = host_with_alert_box(500, &[], &[]);
    let browser = Browser::start().await;
    browser
        .goto(&host.url("/overlay/alerts#key=wrong-key-wrong-key"))
        .await;
    browser
        .wait_for("window.__overlay?.status === 'refused'", WAIT)
        .await;
    let shown = browser
        .eval("(() => { const s = document.getElementById('status'); return !s.hidden && s.getBoundingClientRect().width > 0 ? s.textContent : null })()")
        .await;
    assert!(
        shown
            .as_str()
            .is_some_and(|t| t.contains("key refused") && t.contains("copy the overlay URL again")),
        "{shown}"
    );
    // Longer than the first few backoff delays: still one attempt.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(browser.eval("window.__overlay.connects").await, 1);
    assert_eq!(alerts_overlay(&host).await["connected"], 0);

    // No key at all: the same advice, and no socket.
    browser.goto("about:blank").await;
    browser.goto(&host.url("/overlay/alerts")).await;
    browser
        .wait_for("window.__overlay?.status === 'refused'", WAIT)
        .await;
    assert_eq!(browser.eval("window.__overlay.connects").await, 0);
    browser.close().await;
    host.stop();
}

#[tokio::test]
async fn regenerating_the_key_disconnects_pages_holding_the_old_one() {
    // No STAGEHAND_OVERLAY_KEY: the key lives in the data directory.
    let (dir, host) = host_with_alert_box(500, &[], &[("STAGEHAND_OVERLAY_KEY", "")]);
    let old_url = alerts_overlay(&host).await["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let old_key = old_url.split("#key=").nth(1).unwrap().to_owned();
    let stored = dir.path().join("overlay.key");
    assert_eq!(std::fs::read_to_string(&stored).unwrap().trim(), old_key);

    let browser = Browser::start().await;
    open_overlay(&browser, &host, &old_key).await;
    let resp = client()
        .post(host.url("/api/overlay/key"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    let new_key = answer["key"].as_str().unwrap();
    assert_ne!(new_key, old_key);
    assert_eq!(
        answer["url"],
        host.url(&format!("/overlay/alerts#key={new_key}"))
    );
    assert_eq!(answer["disconnected"], 1);
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::read_to_string(&stored).unwrap().trim(), new_key);
        let mode = std::fs::metadata(&stored).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    // The open page is told, and stops.
    let error = browser
        .wait_for(
            "window.__overlay.status === 'refused' && window.__overlay.error",
            WAIT,
        )
        .await;
    assert!(error.as_str().unwrap().contains("regenerated"), "{error}");
    wait_for_overlay(&host, "lost its page", |o| o["connected"] == 0).await;

    // The new URL works.
    browser.goto("about:blank").await;
    open_overlay(&browser, &host, new_key).await;
    browser.close().await;
    host.stop();
}

#[tokio::test]
async fn the_page_assets_and_overlay_api_answer_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(dir.path(), "run", &[]);
    let http = anonymous();

    let page = http.get(host.url("/overlay/alerts")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let h = page.headers().clone();
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    assert_eq!(h["cache-control"], "no-cache");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("/assets/overlay/overlay.js"), "{html}");

    let js = http
        .get(host.url("/assets/overlay/overlay.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript"),
        "{:?}",
        js.headers()
    );
    assert_eq!(js.headers()["x-content-type-options"], "nosniff");
    let etag = js.headers()["etag"].clone();
    let again = http
        .get(host.url("/assets/overlay/overlay.js"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let css = http
        .get(host.url("/assets/overlay/overlay.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");

    for path in [
        "/assets/overlay/nope.js",
        "/assets/overlay%2F..%2F..%2FCargo.toml",
        "/overlay/Bad%20Name",
    ] {
        let resp = http.get(host.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}: {body}");
    }

    // The overlay endpoints need the API token.
    let listing = http.get(host.url("/api/overlays")).send().await.unwrap();
    assert_eq!(listing.status(), 401);
    let regen = http
        .post(host.url("/api/overlay/key"))
        .send()
        .await
        .unwrap();
    assert_eq!(regen.status(), 401);
    // The harness fixes the key through the environment: 409.
    let fixed = client()
        .post(host.url("/api/overlay/key"))
        .send()
        .await
        .unwrap();
    assert_eq!(fixed.status(), 409);
    let body: Value = fixed.json().await.unwrap();
    assert_eq!(body["error"]["code"], "fixed_by_environment");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("STAGEHAND_OVERLAY_KEY")
    );
    host.stop();
}
