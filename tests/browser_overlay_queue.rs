//! End-to-end in headless Chromium: the streamer pauses an overlay, alerts
//! wait, and on resume the overlay page plays every one of them, in order,
//! once; and the dashboard's Overlays page shows the pause and the queue
//! and its buttons (pause, skip, remove, clear, resume) work, updated live,
//! as does the Events page's "Replay alert" while paused.
//!
//! The overlay page's read-only test hooks: `window.__overlay` (status,
//! `paused`, `acked` count) and `window.__shown` (alert ids shown in this
//! tab, oldest first, kept across reloads).

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::browser::Browser;
use support::{Host, OVERLAY_KEY, TOKEN, client, install_plugin};

/// Long enough for a slow CI machine; short of the dashboard's 30 s
/// safety-net re-fetch, so what the dashboard shows came over the live feed.
const WAIT: Duration = Duration::from_secs(12);

/// A host running alert-box with short follow alerts without speech
/// ("<name> followed") and long raid alerts (8 s).
async fn host_with_alert_box() -> (tempfile::TempDir, Host) {
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "alert-box");
    let host = Host::start(dir.path(), "run", &[]);
    let resp = client()
        .put(host.url("/api/plugins/alert-box/settings"))
        .json(&json!({"settings": {"alerts": {
            "channel.follow": {"title": "{username} followed", "message": "", "duration_ms": 400},
            "channel.raid": {"title": "{username} raided", "duration_ms": 8000},
        }}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
    (dir, host)
}

/// Posts a follow from `name`; returns the stored event's id.
async fn follow(host: &Host, name: &str) -> String {
    let resp = client()
        .post(host.url("/api/events/test"))
        .json(&json!({"kind": "channel.follow", "details": {"username": name}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let event: Value = resp.json().await.unwrap();
    event["id"].as_str().unwrap().to_owned()
}

async fn post_ok(host: &Host, path: &str) -> Value {
    let resp = client().post(host.url(path)).send().await.unwrap();
    assert_eq!(resp.status(), 200, "POST {path}");
    resp.json().await.unwrap()
}

async fn alerts_overlay(host: &Host) -> Value {
    support::get_json(host, "/api/overlays/alerts").await
}

/// Polls `GET /api/overlays/alerts` until `check` holds.
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

fn queued_ids(overlay: &Value) -> Vec<String> {
    overlay["queued"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn open_overlay(browser: &Browser, host: &Host) {
    browser
        .goto(&host.url(&format!("/overlay/alerts#key={OVERLAY_KEY}")))
        .await;
    browser
        .wait_for(
            "window.__overlay && window.__overlay.status === 'connected'",
            WAIT,
        )
        .await;
}

#[tokio::test]
async fn three_alerts_wait_while_paused_and_play_in_order_once_on_resume() {
    let (_dir, host) = host_with_alert_box().await;
    let browser = Browser::start().await;
    open_overlay(&browser, &host).await;
    assert_eq!(browser.eval("window.__overlay.paused").await, false);

    post_ok(&host, "/api/overlays/alerts/pause").await;
    browser
        .wait_for("window.__overlay.paused === true", WAIT)
        .await;
    for name in ["First", "Second", "Third"] {
        follow(&host, name).await;
    }
    // Confirmably queued by the host, then a moment for anything wrongly
    // sent to reach the page.
    let waiting = wait_for_overlay(&host, "queued three", |o| o["pending"] == 3).await;
    let order = queued_ids(&waiting);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(browser.eval("window.__shown").await, json!([]));
    assert_eq!(
        browser
            .eval("document.querySelector('#stage .alert')")
            .await,
        Value::Null,
        "nothing on screen while paused"
    );

    // A page that (re)connects while paused gets nothing either.
    browser.reload().await;
    browser
        .wait_for(
            "window.__overlay && window.__overlay.status === 'connected' && window.__overlay.paused === true",
            WAIT,
        )
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(browser.eval("window.__shown").await, json!([]));
    assert_eq!(browser.eval("window.__overlay.queued").await, 0);
    assert_eq!(alerts_overlay(&host).await["pending"], 3);

    post_ok(&host, "/api/overlays/alerts/resume").await;
    browser
        .wait_for("window.__shown.length === 3", Duration::from_secs(20))
        .await;
    assert_eq!(browser.eval("window.__overlay.paused").await, false);
    assert_eq!(
        browser.eval("window.__shown").await,
        json!(order),
        "all three, in queue order"
    );
    // Acknowledged, each once; nothing comes twice.
    wait_for_overlay(&host, "recorded the acks", |o| o["pending"] == 0).await;
    browser
        .wait_for(
            "window.__overlay.current === null && window.__overlay.acked === 3",
            WAIT,
        )
        .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(browser.eval("window.__shown").await, json!(order));
    assert_eq!(browser.eval("window.__overlay.acked").await, 3);
    assert_eq!(browser.eval("window.__overlay.connects").await, 1);
    browser.close().await;
    host.stop();
}

#[tokio::test]
async fn the_alert_playing_when_paused_finishes_and_the_page_holds_the_next_until_resume() {
    let (_dir, host) = host_with_alert_box().await;
    let browser = Browser::start().await;
    open_overlay(&browser, &host).await;
    let resp = client()
        .post(host.url("/api/events/test"))
        .json(&json!({"kind": "channel.raid", "details": {"username": "Raider", "viewers": 5}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    browser
        .wait_for(
            "document.querySelector('#stage .alert .title')?.textContent === 'Raider raided'",
            WAIT,
        )
        .await;
    // The next one reaches the page and waits behind the raid.
    follow(&host, "Behind").await;
    browser
        .wait_for("window.__overlay.queued === 1", WAIT)
        .await;
    post_ok(&host, "/api/overlays/alerts/pause").await;
    browser
        .wait_for("window.__overlay.paused === true", WAIT)
        .await;
    // The raid plays on; the skip ends it early. What the page holds does
    // not start while paused.
    let raid = browser.eval("window.__overlay.current").await;
    assert!(raid.is_string(), "the raid still plays: {raid}");
    post_ok(&host, "/api/overlays/alerts/skip").await;
    browser
        .wait_for(
            "window.__overlay.current === null && document.querySelector('#stage .alert') === null",
            WAIT,
        )
        .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(browser.eval("window.__shown").await, json!([raid]));
    assert_eq!(browser.eval("window.__overlay.queued").await, 1);
    assert_eq!(
        browser.eval("window.__overlay.skipped").await,
        json!([raid])
    );
    let waiting = alerts_overlay(&host).await;
    assert_eq!(waiting["pending"], 1, "{waiting}");
    assert_eq!(
        waiting["queued"][0]["sent"], true,
        "held by the page: {waiting}"
    );
    let held = waiting["queued"][0]["id"].clone();

    post_ok(&host, "/api/overlays/alerts/resume").await;
    browser.wait_for("window.__shown.length === 2", WAIT).await;
    assert_eq!(browser.eval("window.__shown").await, json!([raid, held]));
    wait_for_overlay(&host, "recorded the ack", |o| o["pending"] == 0).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(browser.eval("window.__shown.length").await, 2, "once");
    browser.close().await;
    host.stop();
}

/// Logs in to the dashboard and opens the Overlays page; returns with a
/// marker set on this very page (a reload would lose it).
async fn open_overlays_page(browser: &Browser, host: &Host) {
    browser.goto(&host.url(&format!("/?token={TOKEN}"))).await;
    browser.eval("(location.hash = 'overlays')").await;
    browser
        .wait_for(
            "document.getElementById('live-state')?.textContent === 'live' \
             && document.querySelector('#overlay-cards [data-overlay=\"alerts\"]') !== null",
            WAIT,
        )
        .await;
    browser.eval("(window.__notReloaded = true)").await;
}

async fn click(browser: &Browser, selector: &str) {
    let clicked = browser
        .eval(&format!(
            "(() => {{ const b = document.querySelector('{selector}'); if (!b) return false; b.click(); return true; }})()"
        ))
        .await;
    assert_eq!(clicked, true, "no {selector} to click");
}

const CARD: &str = "#overlay-cards [data-overlay=\"alerts\"]";

/// The titles the alerts card lists, in order.
async fn listed_titles(browser: &Browser) -> Value {
    browser
        .eval(&format!(
            "[...document.querySelectorAll('{CARD} .overlay-queue-item .overlay-queue-title')].map((t) => t.textContent)"
        ))
        .await
}

#[tokio::test]
async fn the_overlays_page_pauses_lists_removes_skips_clears_and_resumes_live() {
    let (_dir, host) = host_with_alert_box().await;
    let mut page = support::overlay::Overlay::connect(&host.base, "alerts").await;
    let browser = Browser::start().await;
    open_overlays_page(&browser, &host).await;
    browser
        .wait_for(
            &format!("document.querySelector('{CARD}').dataset.paused === 'false' && document.querySelector('{CARD} .overlay-queue-empty') !== null"),
            WAIT,
        )
        .await;

    click(&browser, &format!("{CARD} button.overlay-pause")).await;
    browser
        .wait_for(
            &format!(
                "document.querySelector('{CARD}').dataset.paused === 'true' \
                 && [...document.querySelectorAll('{CARD} .badge')].some((b) => b.textContent === 'Paused') \
                 && document.querySelector('{CARD} button.overlay-resume') !== null"
            ),
            WAIT,
        )
        .await;
    assert_eq!(alerts_overlay(&host).await["paused"], true);
    assert_eq!(page.next(WAIT).await, Some(json!({"type": "pause"})));

    // Queued alerts appear as they come, in play order.
    let mut events = Vec::new();
    for name in ["Uno", "Dos", "Tres"] {
        events.push(follow(&host, name).await);
    }
    browser
        .wait_for(
            &format!("document.querySelectorAll('{CARD} .overlay-queue-item').length === 3"),
            WAIT,
        )
        .await;
    assert_eq!(
        listed_titles(&browser).await,
        json!(["Uno followed", "Dos followed", "Tres followed"])
    );
    let order = queued_ids(&alerts_overlay(&host).await);
    assert_eq!(
        browser
            .eval(&format!(
                "[...document.querySelectorAll('{CARD} .overlay-queue-item')].map((i) => i.dataset.id)"
            ))
            .await,
        json!(order)
    );

    // Remove the second.
    click(
        &browser,
        &format!(
            "{CARD} .overlay-queue-item[data-id=\"{}\"] button.overlay-remove",
            order[1]
        ),
    )
    .await;
    browser
        .wait_for(
            &format!("document.querySelectorAll('{CARD} .overlay-queue-item').length === 2"),
            WAIT,
        )
        .await;
    assert_eq!(
        listed_titles(&browser).await,
        json!(["Uno followed", "Tres followed"])
    );
    assert_eq!(
        queued_ids(&alerts_overlay(&host).await),
        vec![order[0].clone(), order[2].clone()]
    );
    assert_eq!(
        page.next(WAIT).await,
        Some(json!({"type": "cancel", "ids": [order[1]]}))
    );

    // Skip reaches the connected page.
    click(&browser, &format!("{CARD} button.overlay-skip")).await;
    assert_eq!(page.next(WAIT).await, Some(json!({"type": "skip"})));

    // Clear asks first: refused, nothing happens; confirmed, all go.
    browser.eval("(window.confirm = () => false, true)").await;
    click(&browser, &format!("{CARD} button.overlay-clear")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(alerts_overlay(&host).await["pending"], 2);
    browser.eval("(window.confirm = () => true, true)").await;
    click(&browser, &format!("{CARD} button.overlay-clear")).await;
    browser
        .wait_for(
            &format!("document.querySelector('{CARD} .overlay-queue-empty') !== null"),
            WAIT,
        )
        .await;
    let cleared = alerts_overlay(&host).await;
    assert_eq!(
        (cleared["pending"].clone(), cleared["queued"].clone()),
        (json!(0), json!([]))
    );
    let cancel = page.next(WAIT).await.unwrap();
    assert_eq!(cancel["type"], "cancel", "{cancel}");
    assert_eq!(cancel["ids"].as_array().unwrap().len(), 2, "{cancel}");

    // "Replay alert" on the Events page: while paused, the alert waits.
    browser.eval("(location.hash = 'events')").await;
    let replay = format!(
        "document.querySelector('#event-list [data-event-id=\"{}\"] button.replay')",
        events[0]
    );
    browser.wait_for(&format!("{replay} !== null"), WAIT).await;
    assert_eq!(
        browser.eval(&format!("{replay}.textContent")).await,
        "Replay alert"
    );
    browser.eval(&format!("({replay}.click(), true)")).await;
    browser
        .wait_for(
            "[...document.querySelectorAll('#notices .notice')].some((n) => n.textContent.includes('Replayed to 1 plugin'))",
            WAIT,
        )
        .await;
    browser.eval("(location.hash = 'overlays')").await;
    browser
        .wait_for(
            &format!("document.querySelectorAll('{CARD} .overlay-queue-item').length === 1"),
            WAIT,
        )
        .await;
    assert_eq!(listed_titles(&browser).await, json!(["Uno followed"]));
    let replayed = alerts_overlay(&host).await;
    assert_eq!(replayed["queued"][0]["event_id"], events[0].as_str());
    let replayed_id = replayed["queued"][0]["id"].as_str().unwrap().to_owned();
    assert!(
        page.drain(Duration::from_millis(300)).await.is_empty(),
        "nothing sent while paused"
    );
    click(&browser, &format!("{CARD} button.overlay-remove")).await;
    browser
        .wait_for(
            &format!("document.querySelector('{CARD} .overlay-queue-empty') !== null"),
            WAIT,
        )
        .await;
    assert_eq!(
        page.next(WAIT).await,
        Some(json!({"type": "cancel", "ids": [replayed_id]}))
    );

    // A pause made elsewhere (another dashboard, a script) shows here too.
    post_ok(&host, "/api/overlays/alerts/resume").await;
    browser
        .wait_for(
            &format!(
                "document.querySelector('{CARD}').dataset.paused === 'false' \
                 && document.querySelector('{CARD} button.overlay-pause') !== null \
                 && ![...document.querySelectorAll('{CARD} .badge')].some((b) => b.textContent === 'Paused')"
            ),
            WAIT,
        )
        .await;
    assert_eq!(page.next(WAIT).await, Some(json!({"type": "resume"})));
    click(&browser, &format!("{CARD} button.overlay-pause")).await;
    browser
        .wait_for(
            &format!("document.querySelector('{CARD}').dataset.paused === 'true'"),
            WAIT,
        )
        .await;
    assert_eq!(page.next(WAIT).await, Some(json!({"type": "pause"})));
    click(&browser, &format!("{CARD} button.overlay-resume")).await;
    browser
        .wait_for(
            &format!("document.querySelector('{CARD}').dataset.paused === 'false'"),
            WAIT,
        )
        .await;
    assert_eq!(page.next(WAIT).await, Some(json!({"type": "resume"})));
    assert_eq!(alerts_overlay(&host).await["paused"], false);
    assert_eq!(
        browser.eval("window.__notReloaded === true").await,
        true,
        "the page was reloaded"
    );
    page.close().await;
    browser.close().await;
    host.stop();
}
