//! End-to-end: the dashboard in headless Chromium against a real host
//! process. The browser logs in through the printed URL (the cookie), and
//! changes made through the API appear on the open page without a reload:
//! a new event on the Events page, a TTS mute, a TTS grant, speech settings
//! and queued speech on the TTS page.
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
    // The display comes with the event, or (a formatter slowed down by a
    // busy machine) a moment later, stored and pushed to the page.
    let mut display = event["display"].clone();
    let deadline = std::time::Instant::now() + WAIT;
    while display.is_null() {
        assert!(
            std::time::Instant::now() < deadline,
            "the formatter never ran: {event}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        let events: Vec<Value> = support::get_json(&host, "/api/events?limit=1").await;
        display = events[0]["display"].clone();
    }
    assert!(display["text"].is_string(), "{display}");

    let row = format!("document.querySelector('#event-list [data-event-id=\"{id}\"]')");
    browser.wait_for(&format!("{row} !== null"), WAIT).await;
    let text = serde_json::to_string(&display["text"]).unwrap();
    browser
        .wait_for(
            &format!("{row}.querySelector('.event-text').textContent === {text}"),
            WAIT,
        )
        .await;
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
    chat(&host, "777", "Loud_Larry", "HELLO").await;

    let browser = Browser::start().await;
    open_tts_page(&browser, &host, "tts-muted").await;

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

/// Opens the TTS page and waits until table `#{table}` shows it is empty.
async fn open_tts_page(browser: &Browser, host: &Host, table: &str) {
    open_dashboard(browser, host, "tts").await;
    browser
        .wait_for(
            &format!(
                "!document.querySelector('#page-tts').hidden && \
                 document.querySelector('#{table} td.empty') !== null"
            ),
            WAIT,
        )
        .await;
}

/// Posts a chat message from a viewer, so the host has seen them (and may
/// read it aloud).
async fn chat(host: &Host, id: &str, name: &str, text: &str) {
    support::post_chat(host, id, name, text).await;
}

/// Runs `script` (statements) in the page.
async fn run(browser: &Browser, script: &str) {
    browser
        .eval(&format!("(() => {{ {script}; return true; }})()"))
        .await;
}

/// The text of the newest error notice, once one shows.
async fn error_notice(browser: &Browser) -> String {
    browser
        .wait_for(
            "[...document.querySelectorAll('#notices .notice.error')].pop()?.textContent",
            WAIT,
        )
        .await
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_speech_settings_form_saves_what_the_api_then_returns() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(dir.path(), "run", &[]);
    let before: Value = support::get_json(&host, "/api/tts/settings").await;
    let browser = Browser::start().await;
    open_dashboard(&browser, &host, "tts").await;
    // The form shows the host's settings.
    browser
        .wait_for(
            &format!(
                "document.getElementById('tts-max-chars').value === '{}'",
                before["max_chars"]
            ),
            WAIT,
        )
        .await;
    let shown = browser
        .eval(
            "({enabled: document.getElementById('tts-enabled').checked, \
               everyone: document.getElementById('tts-access-everyone').checked, \
               subscribers: document.getElementById('tts-access-subscribers').checked, \
               gap: document.getElementById('tts-viewer-gap').value, \
               reward: document.getElementById('tts-reward').value})",
        )
        .await;
    assert_eq!(shown["enabled"], before["enabled"]);
    assert_eq!(
        shown["everyone"],
        json!(
            before["access"]
                .as_array()
                .unwrap()
                .contains(&json!("everyone"))
        )
    );
    assert_eq!(
        shown["subscribers"],
        json!(
            before["access"]
                .as_array()
                .unwrap()
                .contains(&json!("subscribers"))
        )
    );
    assert_eq!(shown["gap"], before["viewer_gap_seconds"].to_string());
    assert_eq!(shown["reward"], before["grant_reward"]);

    // "Everyone" turns the groups off; saving sends it alone.
    run(
        &browser,
        "document.getElementById('tts-access-everyone').click(); \
         const set = (id, v) => { const i = document.getElementById(id); i.value = v; \
           i.dispatchEvent(new Event('input', {bubbles: true})); }; \
         set('tts-max-chars', '120'); set('tts-viewer-gap', '5'); set('tts-max-queue', '9'); \
         set('tts-reward', 'Read my message'); set('tts-reward-minutes', '30'); \
         set('tts-retention-days', '3')",
    )
    .await;
    assert_eq!(
        browser
            .eval("document.getElementById('tts-access-vips').disabled")
            .await,
        true
    );
    run(
        &browser,
        "document.getElementById('tts-settings-save').click()",
    )
    .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let saved = loop {
        let now: Value = support::get_json(&host, "/api/tts/settings").await;
        if now["max_chars"] == 120 {
            break now;
        }
        assert!(tokio::time::Instant::now() < deadline, "never saved: {now}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(saved["access"], json!(["everyone"]), "{saved}");
    assert_eq!(saved["viewer_gap_seconds"], 5);
    assert_eq!(saved["max_queue"], 9);
    assert_eq!(saved["grant_reward"], "Read my message");
    assert_eq!(saved["grant_minutes"], 30);
    assert_eq!(saved["chat_retention_days"], 3);
    assert_eq!(saved["enabled"], before["enabled"]);
    assert_eq!(saved["skip_prefixes"], before["skip_prefixes"]);
    assert_eq!(saved["overlay"], before["overlay"]);

    // Changed through the API: the form follows, without a reload.
    let resp = client()
        .put(host.url("/api/tts/settings"))
        .json(&json!({"max_queue": 7, "access": ["vips", "grants"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    browser
        .wait_for(
            "document.getElementById('tts-max-queue').value === '7' \
             && !document.getElementById('tts-access-everyone').checked \
             && document.getElementById('tts-access-vips').checked \
             && !document.getElementById('tts-access-vips').disabled \
             && document.getElementById('tts-access-grants').checked \
             && !document.getElementById('tts-access-moderators').checked",
            WAIT,
        )
        .await;
    assert_not_reloaded(&browser).await;

    // A value the host refuses: its reason is shown, nothing changes, and
    // the edit stays in the form to be fixed.
    run(
        &browser,
        "const i = document.getElementById('tts-max-chars'); i.value = '100000'; \
         i.dispatchEvent(new Event('input', {bubbles: true})); \
         document.getElementById('tts-settings-save').click()",
    )
    .await;
    let message = error_notice(&browser).await;
    assert!(message.contains("max_chars"), "{message}");
    let after: Value = support::get_json(&host, "/api/tts/settings").await;
    assert_eq!(after["max_chars"], 120, "{after}");
    assert_eq!(after["max_queue"], 7, "{after}");
    assert_eq!(
        browser
            .eval("document.getElementById('tts-max-chars').value")
            .await,
        "100000"
    );
    assert_not_reloaded(&browser).await;
    browser.close().await;
    host.stop();
}

#[tokio::test]
async fn a_tts_grant_made_through_the_api_appears_on_the_tts_page_without_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(dir.path(), "run", &[]);
    // Grants are for viewers the host has seen.
    chat(&host, "801", "Grant_Gwen", "hi").await;
    chat(&host, "802", "Page_Pat", "hi").await;

    let browser = Browser::start().await;
    open_tts_page(&browser, &host, "tts-grants").await;

    let granted = client()
        .post(host.url("/api/tts/grants"))
        .json(&json!({"login": "grant_gwen", "minutes": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), 201);
    let row = "document.querySelector('#tts-grants tr[data-login=\"grant_gwen\"]')";
    browser.wait_for(&format!("{row} !== null"), WAIT).await;
    assert_not_reloaded(&browser).await;
    let text = browser.eval(&format!("{row}.textContent")).await;
    let text = text.as_str().unwrap();
    assert!(
        text.contains("Grant_Gwen") && text.contains("Dashboard"),
        "{text}"
    );
    // The countdown runs on the host's clock: about half an hour, ticking.
    let countdown = format!("{row}.querySelector('td.countdown').textContent");
    let first = browser
        .wait_for(
            &format!("/^(29m|30m)/.test({countdown}) && {countdown}"),
            WAIT,
        )
        .await;
    browser
        .wait_for(&format!("{countdown} !== {first}"), Duration::from_secs(5))
        .await;

    // The page's own form grants too; an unknown viewer is refused with the
    // host's reason.
    run(
        &browser,
        "document.getElementById('tts-grant-login').value = 'page_pat'; \
         document.getElementById('tts-grant-minutes').value = '5'; \
         document.querySelector('#tts-grant-form button[type=submit]').click()",
    )
    .await;
    browser
        .wait_for(
            "document.querySelector('#tts-grants tr[data-login=\"page_pat\"]') !== null",
            WAIT,
        )
        .await;
    let grants: Value = support::get_json(&host, "/api/tts/grants").await;
    let logins: Vec<&str> = grants["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["login"].as_str().unwrap())
        .collect();
    assert_eq!(
        logins,
        ["page_pat", "grant_gwen"],
        "soonest expiry first: {grants}"
    );
    assert_eq!(grants["grants"][0]["source"], "dashboard");
    run(
        &browser,
        "document.getElementById('tts-grant-login').value = 'never_seen'; \
         document.getElementById('tts-grant-minutes').value = '5'; \
         document.querySelector('#tts-grant-form button[type=submit]').click()",
    )
    .await;
    let message = error_notice(&browser).await;
    assert!(!message.is_empty());

    // Revoked with its button: gone from the page and from the host.
    run(
        &browser,
        "document.querySelector('#tts-grants tr[data-login=\"grant_gwen\"] button.tts-revoke').click()",
    )
    .await;
    browser.wait_for(&format!("{row} === null"), WAIT).await;
    let grants: Value = support::get_json(&host, "/api/tts/grants").await;
    assert_eq!(grants["grants"].as_array().unwrap().len(), 1, "{grants}");

    // Revoked through the API: gone from the page without a reload.
    let revoked = client()
        .delete(host.url("/api/tts/grants/page_pat"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    browser
        .wait_for(
            "document.querySelector('#tts-grants td.empty') !== null",
            WAIT,
        )
        .await;
    assert_not_reloaded(&browser).await;
    browser.close().await;
    host.stop();
}

#[tokio::test]
async fn the_speech_queue_lists_queued_chat_and_its_remove_button_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(dir.path(), "run", &[]);
    let resp = client()
        .put(host.url("/api/tts/settings"))
        .json(&json!({"enabled": true, "access": ["everyone"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let browser = Browser::start().await;
    open_tts_page(&browser, &host, "tts-queue").await;

    // No overlay page is open: the speech waits in the queue.
    chat(&host, "701", "Queued_Quinn", "read me please").await;
    let row = "document.querySelector('#tts-queue tr.tts-queue-item')";
    browser.wait_for(&format!("{row} !== null"), WAIT).await;
    assert_not_reloaded(&browser).await;
    let queue: Value = support::get_json(&host, "/api/tts/queue").await;
    let items = queue["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{queue}");
    let id = items[0]["id"].as_str().unwrap();
    let shown = browser
        .eval(&format!(
            "({{id: {row}.dataset.id, state: {row}.dataset.state, text: {row}.textContent}})"
        ))
        .await;
    assert_eq!(shown["id"], id);
    assert_eq!(shown["state"], "waiting");
    let text = shown["text"].as_str().unwrap();
    assert!(
        text.contains("read me please") && text.contains("Queued_Quinn"),
        "{text}"
    );

    // Skip with no overlay page to hear it: said so, nothing removed.
    run(&browser, "document.getElementById('tts-skip').click()").await;
    browser
        .wait_for(
            "[...document.querySelectorAll('#notices .notice')].some((n) => n.textContent.includes('No overlay page'))",
            WAIT,
        )
        .await;
    assert_eq!(
        browser
            .eval("document.querySelectorAll('#tts-queue tr.tts-queue-item').length")
            .await,
        1
    );

    run(
        &browser,
        &format!("{row}.querySelector('button.tts-remove').click()"),
    )
    .await;
    browser
        .wait_for(
            &format!("{row} === null && document.querySelector('#tts-queue td.empty') !== null"),
            WAIT,
        )
        .await;
    let queue: Value = support::get_json(&host, "/api/tts/queue").await;
    assert_eq!(queue["items"], json!([]), "{queue}");
    // Removed for good: an overlay connecting now is not sent it.
    let mut overlay = support::overlay::Overlay::connect(&host.base, "alerts").await;
    let sent = overlay.drain(Duration::from_millis(500)).await;
    assert!(
        sent.iter().all(|m| m["type"] != "alert"),
        "a removed item was sent: {sent:?}"
    );
    overlay.close().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_shows_on_every_page_until_space_returns() {
    let disk = support::tmpfs::TmpFs::mount(8);
    let host = tokio::task::block_in_place(|| Host::start(disk.path(), "run", &[]));
    let browser = Browser::start().await;
    open_dashboard(&browser, &host, "plugins").await;
    assert_eq!(
        browser
            .eval("document.getElementById('health').hidden")
            .await,
        json!(true)
    );
    disk.fill();
    // The WAL may still hold room for a write or two; then writes wait.
    let mut statuses = Vec::new();
    for n in 0..20 {
        let resp = client()
            .post(host.url("/api/events/test"))
            .json(
                &json!({"kind": "channel.follow", "details": {"username": format!("Waiting{n}")}}),
            )
            .send()
            .await
            .unwrap();
        statuses.push(resp.status().as_u16());
        if resp.status() == 202 {
            break;
        }
    }
    assert_eq!(
        statuses.last(),
        Some(&202),
        "a full disk made no write wait: {statuses:?}"
    );
    // SQLite gives space back when it truncates its log, and the host then
    // recovers by itself: that space is taken again and events keep coming
    // until the banner, checked every 5 s, has seen the stall.
    let shown = "(() => { const b = document.getElementById('health'); return !b.hidden && b.textContent.includes('store:') && b.textContent.includes('wait in memory'); })()";
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut n = 100;
    while browser.eval(shown).await != json!(true) {
        assert!(
            std::time::Instant::now() < deadline,
            "the banner never showed the full disk"
        );
        let body =
            json!({"kind": "channel.follow", "details": {"username": format!("Waiting{n}")}});
        let resp = client()
            .post(host.url("/api/events/test"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            matches!(resp.status().as_u16(), 201 | 202),
            "{}",
            resp.status()
        );
        n += 1;
        disk.top_up();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    disk.free();
    // Written again after the pipeline's next pause, then the next check.
    browser
        .wait_for(
            "document.getElementById('health').hidden",
            Duration::from_secs(45),
        )
        .await;
    browser.close().await;
    host.stop();
}

/// The Plugins page shows each plugin's contract version and every load
/// warning, so a plugin author sees at once why a role or kind does nothing.
#[tokio::test]
async fn the_plugins_page_shows_load_warnings_and_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "sloppy-plugin");
    install_plugin(dir.path(), "legacy-v01");
    let host = Host::start(dir.path(), "run", &[]);
    let browser = Browser::start().await;
    open_dashboard(&browser, &host, "plugins").await;
    let card =
        |name: &str| format!("document.querySelector('article.plugin[data-plugin=\"{name}\"]')");
    browser
        .wait_for(
            &format!(
                "{} !== null && {} !== null",
                card("sloppy-plugin"),
                card("legacy-v01")
            ),
            WAIT,
        )
        .await;
    let warnings = browser
        .eval(&format!(
            "Array.from({}.querySelectorAll('.plugin-warnings li')).map((li) => li.textContent)",
            card("sloppy-plugin")
        ))
        .await;
    let warnings: Vec<String> = serde_json::from_value(warnings).unwrap();
    assert_eq!(warnings.len(), 4, "{warnings:#?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("did you mean \"channel.follow\"")),
        "{warnings:#?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("formatter role")),
        "{warnings:#?}"
    );
    let facts = browser
        .eval(&format!(
            "{}.querySelector('.facts').textContent",
            card("legacy-v01")
        ))
        .await;
    let facts = facts.as_str().unwrap_or_default().to_owned();
    assert!(facts.contains("stagehand:plugin@0.1.0"), "{facts}");
    let hidden = browser
        .eval(&format!(
            "{}.querySelector('.plugin-warnings').hidden",
            card("legacy-v01")
        ))
        .await;
    assert_eq!(hidden, Value::Bool(true));
    browser.close().await;
    host.stop();
}
