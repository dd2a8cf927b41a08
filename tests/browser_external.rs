//! End-to-end in headless Chromium: events from a Discord bot, published
//! on the machine's real Redis (127.0.0.1:6379), appear on the open Events
//! page without a reload, with the formatter's display; the External page
//! shows the bridge connected and its counters change live.
//!
//! "Without a reload" is checked with a marker set on `window` before the
//! message is published: a reloaded page would have lost it. The waits are
//! well under the pages' 30 s safety-net re-fetch, so what they see came
//! over the live feed.

mod support;

use std::time::Duration;

use serde_json::json;
use support::browser::Browser;
use support::pubsub::{self, URL, publish, unique_channel, wait_connected};
use support::{Host, TOKEN, install_plugin};

/// Long enough for a slow CI machine, short of the 30 s safety net.
const WAIT: Duration = Duration::from_secs(12);

async fn assert_not_reloaded(browser: &Browser) {
    assert_eq!(
        browser.eval("window.__notReloaded === true").await,
        json!(true),
        "the page was reloaded"
    );
}

#[tokio::test]
async fn a_published_giveaway_shows_live_and_the_external_page_shows_the_bridge() {
    let mut bot = pubsub::connect().await;
    let channel = unique_channel("browser");
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "event-formatter");
    let host = Host::start(
        dir.path(),
        "run",
        &[
            ("STAGEHAND_REDIS_URL", URL),
            ("STAGEHAND_REDIS_CHANNELS", &channel),
        ],
    );
    wait_connected(&host).await;

    let browser = Browser::start().await;
    browser.goto(&host.url(&format!("/?token={TOKEN}"))).await;
    browser.eval("(location.hash = 'events')").await;
    browser
        .wait_for(
            "document.getElementById('live-state')?.textContent === 'live' \
             && !document.querySelector('#page-events').hidden",
            WAIT,
        )
        .await;
    browser.eval("(window.__notReloaded = true)").await;

    let giveaway = json!({
        "type": "GIVEAWAY_CREATE",
        "guildId": "987654321098765432",
        "timestamp": 1_733_400_000_123i64,
        "data": {"giveawayId": "g-42", "prize": "Steam key"},
    });
    assert_eq!(publish(&mut bot, &channel, &giveaway.to_string()).await, 1);
    let row = "document.querySelector('#event-list [data-kind=\"discord.giveaway.create\"]')";
    browser.wait_for(&format!("{row} !== null"), WAIT).await;
    // The formatter's display, pushed with the event or just after it.
    browser
        .wait_for(
            &format!(
                "{row}.querySelector('.event-text').textContent === 'Giveaway started: Steam key'"
            ),
            WAIT,
        )
        .await;
    let meta = browser
        .eval(&format!("{row}.querySelector('.event-meta').textContent"))
        .await;
    assert!(
        meta.as_str().is_some_and(|m| m.contains("external")),
        "the source shows: {meta}"
    );
    assert_not_reloaded(&browser).await;

    // The External page: connected, and its counters follow live.
    browser.eval("(location.hash = 'external')").await;
    browser
        .wait_for(
            "document.querySelector('#external-redis-state')?.dataset.state === 'connected'",
            WAIT,
        )
        .await;
    let shown = browser
        .eval("document.querySelector('#external-redis').textContent")
        .await;
    let shown = shown.as_str().unwrap();
    assert!(shown.contains(&channel), "{shown}");
    assert!(shown.contains(URL), "{shown}");
    assert_eq!(
        browser
            .eval("document.querySelector('#external-redis-malformed').textContent")
            .await,
        json!("0")
    );
    assert_eq!(publish(&mut bot, &channel, "not json at all").await, 1);
    browser
        .wait_for(
            "document.querySelector('#external-redis-malformed')?.textContent === '1'",
            WAIT,
        )
        .await;
    assert_not_reloaded(&browser).await;
    browser.close().await;
    host.stop();
}
