//! End-to-end: the dashboard in headless Chromium against a real host
//! process. The browser logs in through the printed URL (the cookie), and
//! changes made through the API appear on the open page without a reload:
//! a new event on the Events page, a TTS mute on the TTS page.
//!
//! "Without a reload" is checked with a marker set on `window` before the
//! change: a reloaded page would have lost it. The waits are well under the
//! pages' 30 s safety-net re-fetch, so what they see came over the live
//! feed.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::browser::Browser;
use support::{Host, TOKEN, client, install_plugin};

/// Long enough for a slow CI machine, short of the 30 s safety net.
const WAIT: Duration = Duration::from_secs(12);

/// Logs `browser` in to `host`'s dashboard and waits until the live feed is
/// connected; returns with a marker set on this very page.
async fn open_dashboard(browser: &Browser, host: &Host, page: &str) {
    browser.goto(&host.url(&format!("/?token={TOKEN}"))).await;
    let href = browser.eval("location.href").await;
    assert_eq!(href, json!(host.url("/")), "the token left the address bar");
    if !page.is_empty() {
        browser.eval(&format!("(location.hash = '{page}')")).await;
    }
    browser
        .wait_for(
            "document.getElementById('live-state')?.textContent === 'live'",
            WAIT,
        )
        .await;
    browser.eval("(window.__notReloaded = true)").await;
}

async fn assert_not_reloaded(browser: &Browser) {
    assert_eq!(
        browser.eval("window.__notReloaded === true").await,
        json!(true),
        "the page was reloaded"
    );
}

#[tokio::test]
async fn the_events_page_shows_a_new_event_live() {
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "event-formatter");
    let host = Host::start(dir.path(), "run", &[]);
    let browser = Browser::start().await;
    open_dashboard(&browser, &host, "events").await;
    browser
        .wait_for("document.querySelector('#event-list .event') === null && !document.querySelector('#page-events').hidden", WAIT)
        .await;

    let resp = client()
        .post(host.url("/api/events/test"))
        .json(&json!({
            "kind": "channel.raid",
            "details": {"username": "Raider_Joe", "viewers": 77},
            "viewer": {"id": "555", "login": "raider_joe", "display_name": "Raider_Joe"}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let event: Value = resp.json().await.unwrap();
    let id = event["id"].as_str().unwrap();
    let display = &event["display"];
    assert!(display["text"].is_string(), "the formatter ran: {event}");

    let row = format!("document.querySelector('#event-list [data-event-id=\"{id}\"]')");
    browser.wait_for(&format!("{row} !== null"), WAIT).await;
    assert_not_reloaded(&browser).await;
    let shown = browser
        .eval(&format!(
            "({{label: {row}.querySelector('.event-label').textContent, \
                text: {row}.querySelector('.event-text').textContent, \
                icon: {row}.querySelector('.event-icon').textContent, \
                color: {row}.querySelector('.event-label').style.color}})"
        ))
        .await;
    assert_eq!(shown["label"], display["label"]);
    assert_eq!(shown["text"], display["text"]);
    assert_eq!(shown["icon"], display["icon"]);
    assert!(
        shown["color"].as_str().is_some_and(|c| !c.is_empty()),
        "the formatter's colour is applied: {shown}"
    );
    assert!(shown["text"].as_str().unwrap().contains("Raider_Joe"));

    // A second one lands on top, once.
    let second: Value = client()
        .post(host.url("/api/events/test"))
        .json(&json!({"kind": "channel.follow", "details": {"username": "Second"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second_id = second["id"].as_str().unwrap();
    browser
        .wait_for(
            &format!(
                "document.querySelector('#event-list .event')?.dataset.eventId === '{second_id}'"
            ),
            WAIT,
        )
        .await;
    assert_eq!(
        browser
            .eval("document.querySelectorAll('#event-list .event').length")
            .await,
        json!(2)
    );
    assert_not_reloaded(&browser).await;
    browser.close().await;
    host.stop();
}

#[tokio::test]
async fn a_tts_mute_made_through_the_api_appears_on_the_tts_page_without_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(dir.path(), "run", &[]);
    // The host must have seen the viewer to mute them.
    let seen = client()
        .post(host.url("/api/events/test"))
        .json(&json!({
            "kind": "channel.chat.message",
            "details": {"username": "Loud_Larry", "text": "HELLO"},
            "viewer": {"id": "777", "login": "loud_larry", "display_name": "Loud_Larry"}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(seen.status(), 201);

    let browser = Browser::start().await;
    open_dashboard(&browser, &host, "tts").await;
    browser
        .wait_for(
            "!document.querySelector('#page-tts').hidden && document.querySelector('#tts-muted td.empty') !== null",
            WAIT,
        )
        .await;

    let muted = client()
        .post(host.url("/api/tts/rules"))
        .json(&json!({"login": "loud_larry", "type": "mute", "minutes": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(muted.status(), 201);

    let row = "document.querySelector('#tts-muted tr[data-login=\"loud_larry\"]')";
    browser.wait_for(&format!("{row} !== null"), WAIT).await;
    assert_not_reloaded(&browser).await;
    assert!(
        browser
            .eval(&format!("{row}.textContent"))
            .await
            .as_str()
            .unwrap()
            .contains("Loud_Larry")
    );
    // The countdown runs: about ten minutes, ticking down.
    let countdown = format!("{row}.querySelector('td.countdown').textContent");
    let first = browser
        .wait_for(
            &format!("/^(9m|10m)/.test({countdown}) && {countdown}"),
            WAIT,
        )
        .await;
    browser
        .wait_for(&format!("{countdown} !== {first}"), Duration::from_secs(5))
        .await;

    // Lifted through the API: gone from the page, still without a reload.
    let lifted = client()
        .delete(host.url("/api/tts/rules/loud_larry?type=mute"))
        .send()
        .await
        .unwrap();
    assert_eq!(lifted.status(), 200);
    browser.wait_for(&format!("{row} === null"), WAIT).await;
    assert_not_reloaded(&browser).await;

    // The page's own form (a cookie-authenticated POST from the page's
    // origin) cools the viewer down; the host has it.
    browser
        .eval(
            "(() => { document.getElementById('tts-login').value = 'loud_larry'; \
              const type = document.getElementById('tts-type'); type.value = 'cooldown'; \
              type.dispatchEvent(new Event('change')); \
              document.getElementById('tts-minutes').value = '3'; \
              document.getElementById('tts-gap').value = '45'; \
              document.querySelector('#tts-form button[type=submit]').click(); return true; })()",
        )
        .await;
    browser
        .wait_for(
            "document.querySelector('#tts-cooldowns tr[data-login=\"loud_larry\"]') !== null",
            WAIT,
        )
        .await;
    let rules: Value = support::get_json(&host, "/api/tts/rules").await;
    assert_eq!(rules["rules"][0]["type"], "cooldown", "{rules}");
    assert_eq!(rules["rules"][0]["gap_seconds"], 45);
    assert_eq!(rules["rules"][0]["created_by"], "dashboard");
    assert_not_reloaded(&browser).await;
    browser.close().await;
    host.stop();
}

#[tokio::test]
async fn the_dashboard_reconnects_after_the_host_restarts_and_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    // A fixed port, so the restarted host is where the page reconnects.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let host = Host::start(dir.path(), "run", &[("STAGEHAND_ADDR", &addr)]);
    let browser = Browser::start().await;
    open_dashboard(&browser, &host, "events").await;

    host.stop();
    browser
        .wait_for(
            "document.getElementById('live-state').textContent.startsWith('reconnecting')",
            WAIT,
        )
        .await;
    let host = Host::start(dir.path(), "run", &[("STAGEHAND_ADDR", &addr)]);
    // Posted at once, likely before the page is back: the re-fetch that
    // follows a reconnect brings it, if the live feed did not.
    let event: Value = client()
        .post(host.url("/api/events/test"))
        .json(&json!({"kind": "channel.cheer", "details": {"username": "Early", "bits": 5}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = event["id"].as_str().unwrap();
    browser
        .wait_for(
            "document.getElementById('live-state').textContent === 'live'",
            Duration::from_secs(40),
        )
        .await;
    browser
        .wait_for(
            &format!("document.querySelector('#event-list [data-event-id=\"{id}\"]') !== null"),
            WAIT,
        )
        .await;
    assert_not_reloaded(&browser).await;
    browser.close().await;
    host.stop();
}
