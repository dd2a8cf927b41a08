//! End-to-end: a tour of the dashboard in headless Chromium, with a host
//! set up as a streamer's would be (alert plugins, a few events, media in
//! the library, a paused overlay with alerts waiting). Each page is checked
//! to show what it should, then pictured for the README
//! (`docs/images/dashboard-*.png`, written only with `STAGEHAND_SCREENSHOTS`:
//! `cargo xtask screenshots`), so the pictures stay current.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::browser::Browser;
use support::{Host, TOKEN, client, install_plugin};

const WAIT: Duration = Duration::from_secs(15);

async fn post(host: &Host, path: &str, body: Value) -> Value {
    let resp = client()
        .post(host.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        resp.status().is_success(),
        "{path}: {:?}",
        resp.text().await
    );
    resp.json().await.unwrap()
}

async fn upload(host: &Host, name: &str, content_type: &str, bytes: Vec<u8>) {
    let resp = client()
        .post(host.url(&format!("/api/media?name={name}")))
        .header("Content-Type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{name}: {:?}", resp.text().await);
}

fn built_in(file: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/alerts")
        .join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Shows dashboard page `id` and waits until `ready` holds on it.
async fn visit(browser: &Browser, id: &str, ready: &str) {
    browser.eval(&format!("(location.hash = '{id}')")).await;
    browser
        .wait_for(
            &format!("!document.getElementById('page-{id}').hidden && ({ready})"),
            WAIT,
        )
        .await;
    // Let late images and fonts settle before the picture.
    tokio::time::sleep(Duration::from_millis(400)).await;
}

#[tokio::test]
async fn every_dashboard_page_shows_a_streamers_setup() {
    let dir = tempfile::tempdir().unwrap();
    for plugin in ["alert-box", "event-formatter", "chat-commands"] {
        install_plugin(dir.path(), plugin);
    }
    let host = Host::start(dir.path(), "demo", &[("STAGEHAND_DEMO_INTERVAL_MS", "0")]);

    // Events, with alerts waiting on a paused overlay.
    post(&host, "/api/overlays/alerts/pause", json!({})).await;
    let events = [
        json!({"kind": "channel.follow", "details": {"username": "PixelPanda"}}),
        json!({"kind": "channel.cheer", "details": {"username": "Alice", "bits": 1000, "message": "Cheer1000 great stream"}}),
        json!({"kind": "channel.subscription.gift", "details": {"username": "Santa", "tier": "1000", "total": 20}}),
        json!({"kind": "channel.raid", "details": {"username": "BigStreamer", "viewers": 128}}),
        json!({"kind": "channel.subscription.message", "details": {"username": "LoyalLlama", "tier": "1000", "cumulative_months": 24, "message": "two years!"}}),
    ];
    for event in events {
        post(&host, "/api/events/test", event).await;
    }
    upload(&host, "Heart", "image/svg+xml", built_in("heart.svg")).await;
    upload(&host, "Rocket", "image/svg+xml", built_in("rocket.svg")).await;
    upload(&host, "Chime", "audio/wav", built_in("chime.wav")).await;

    let browser = Browser::start().await;
    browser.set_viewport(1440, 900).await;
    browser.goto(&host.url(&format!("/?token={TOKEN}"))).await;
    browser
        .wait_for(
            "document.getElementById('live-state')?.textContent === 'live'",
            WAIT,
        )
        .await;

    visit(
        &browser,
        "events",
        "document.querySelectorAll('#event-list .event').length === 5",
    )
    .await;
    let first = browser
        .eval("document.querySelector('#event-list .event').textContent")
        .await;
    assert!(first.as_str().unwrap().contains("LoyalLlama"), "{first}");
    browser.doc_picture("dashboard-events").await;

    visit(
        &browser,
        "plugins",
        "document.querySelectorAll('#plugin-list .card').length === 3",
    )
    .await;
    browser.doc_picture("dashboard-plugins").await;

    visit(
        &browser,
        "alerts",
        "document.querySelectorAll('#alert-kinds button').length > 5 \
         && document.querySelector('#alert-previews .preview-tile') !== null",
    )
    .await;
    // The cheer alert, with its built-in variations previewed.
    browser
        .eval("document.querySelector('#alert-kinds button[data-kind=\"channel.cheer\"]').click()")
        .await;
    browser
        .wait_for(
            "document.querySelectorAll('#alert-previews .preview-tile').length > 1 \
             && [...document.querySelectorAll('#alert-previews .preview-note')].every((n) => n.textContent === '')",
            WAIT,
        )
        .await;
    // Every preview's entrance animation is over.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    browser.doc_picture("dashboard-alerts").await;

    visit(
        &browser,
        "overlays",
        "document.querySelector('#overlay-cards [data-overlay=\"alerts\"]')?.textContent.includes('Paused') \
         && document.querySelectorAll('#overlay-cards [data-overlay=\"alerts\"] .overlay-queue-item').length === 5",
    )
    .await;
    browser.doc_picture("dashboard-overlays").await;

    visit(
        &browser,
        "media",
        "document.querySelectorAll('#media-rows tr').length === 3",
    )
    .await;
    browser.doc_picture("dashboard-media").await;

    browser.close().await;
    host.stop();
}
