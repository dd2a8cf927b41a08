//! End-to-end: the dashboard's alert editor in headless Chromium. Editing a
//! variation changes its preview (the overlay's own page, in a sandboxed
//! frame, playing what the plugin makes of the unsaved settings), "Send
//! test" puts it on the real overlay, and "Save" stores the settings.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::browser::Browser;
use support::{Host, TOKEN, install_plugin};

const WAIT: Duration = Duration::from_secs(15);

/// The text of the alert card shown in preview tile `index` (0 is the base
/// alert, then one per variation); empty while none is shown.
async fn preview_text(browser: &Browser, index: usize) -> String {
    let frame = format!(
        "#alert-previews .preview-tile:nth-child({}) iframe",
        index + 1
    );
    browser
        .eval_in_frame(
            &frame,
            "document.querySelector('#stage .alert')?.textContent ?? ''",
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn wait_preview(browser: &Browser, index: usize, wanted: &str) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let text = preview_text(browser, index).await;
        if text.contains(wanted) {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "preview {index} never showed {wanted:?}; last: {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Types `text` into the form field at dotted `path` as a person would
/// (the field's input event fires).
async fn type_into(browser: &Browser, path: &str, text: &str) {
    let script = format!(
        "(() => {{ const f = document.querySelector('#alert-form [data-field=\"{path}\"]').querySelector('input, textarea'); \
           f.value = {text}; f.dispatchEvent(new Event('input', {{bubbles: true}})); return true; }})()",
        text = json!(text)
    );
    browser.eval(&script).await;
}

#[tokio::test]
async fn editing_a_variation_changes_its_preview_and_send_test_reaches_the_overlay() {
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "alert-box");
    let host = Host::start(dir.path(), "run", &[]);
    let browser = Browser::start().await;
    browser.set_viewport(1440, 900).await;
    browser
        .goto(&host.url(&format!("/?token={TOKEN}#alerts")))
        .await;
    browser
        .wait_for(
            "document.querySelector('#alert-kinds button[data-kind=\"channel.cheer\"]') !== null",
            WAIT,
        )
        .await;
    browser
        .eval("document.querySelector('#alert-kinds button[data-kind=\"channel.cheer\"]').click()")
        .await;
    // One tile for the base alert and one per variation of the form.
    let variations = browser
        .wait_for(
            "(() => { const n = document.querySelectorAll('#alert-form [data-field^=\"variations.\"].list-item').length; \
               return n > 0 && document.querySelectorAll('#alert-previews .preview-tile').length === n + 1 ? n : 0; })()",
            WAIT,
        )
        .await;
    assert!(variations.as_u64().unwrap() >= 1, "{variations}");

    // The first variation's sample meets its condition: its preview differs
    // from the base alert's.
    let when = browser
        .eval(
            "document.querySelector('#alert-form [data-field=\"variations.0.when\"] input').value",
        )
        .await;
    assert!(when.as_str().unwrap().contains("bits"), "{when}");
    let base = wait_preview(&browser, 0, "JaneDoe").await;

    // Edit the variation: its preview follows, unsaved; the base stays.
    type_into(
        &browser,
        "variations.0.title",
        "Edited: {username} sent {bits}!",
    )
    .await;
    let edited = wait_preview(&browser, 1, "Edited: JaneDoe sent").await;
    assert_ne!(edited, base);
    assert_eq!(preview_text(&browser, 0).await, base);
    let settings: Value = support::get_json(&host, "/api/plugins/alert-box/settings").await;
    assert_eq!(settings["overridden"], false, "{settings}");

    // "Send test" puts the edited variation on the real overlay.
    browser
        .eval("document.querySelector('#alert-previews .preview-tile:nth-child(2) .send-test').click()")
        .await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let overlays: Vec<Value> = support::get_json(&host, "/api/overlays").await;
        let alerts = overlays.iter().find(|o| o["name"] == "alerts").unwrap();
        if alerts["pending"] == 1 {
            let title = alerts["queued"][0]["title"].as_str().unwrap_or_default();
            assert!(title.starts_with("Edited: JaneDoe sent"), "{alerts}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no test alert queued: {alerts}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Save: the plugin runs with it from now on.
    browser
        .eval("document.querySelector('#alert-form .save-settings').click()")
        .await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let settings: Value = support::get_json(&host, "/api/plugins/alert-box/settings").await;
        let title = &settings["settings"]["alerts"]["channel.cheer"]["variations"][0]["title"];
        if settings["overridden"] == true && title == "Edited: {username} sent {bits}!" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never saved: {settings}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.close().await;
    host.stop();
}

#[tokio::test]
async fn a_refused_edit_is_explained_in_the_preview_and_the_form_and_not_saved() {
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "alert-box");
    let host = Host::start(dir.path(), "run", &[]);
    let browser = Browser::start().await;
    browser
        .goto(&host.url(&format!("/?token={TOKEN}#alerts")))
        .await;
    browser
        .wait_for(
            "document.querySelector('#alert-kinds button[data-kind=\"channel.cheer\"]') !== null",
            WAIT,
        )
        .await;
    browser
        .eval("document.querySelector('#alert-kinds button[data-kind=\"channel.cheer\"]').click()")
        .await;
    browser
        .wait_for(
            "document.querySelector('#alert-form [data-field=\"variations.0.when\"] input') !== null",
            WAIT,
        )
        .await;
    type_into(&browser, "variations.0.when", "bits >== 5").await;
    // The preview says why it cannot show it.
    browser
        .wait_for(
            "[...document.querySelectorAll('#alert-previews .preview-note')].some((n) => n.textContent.includes('does not parse'))",
            WAIT,
        )
        .await;
    browser
        .eval("document.querySelector('#alert-form .save-settings').click()")
        .await;
    browser
        .wait_for(
            "[...document.querySelectorAll('#alert-form .error-text')].some((n) => !n.hidden && n.textContent.includes('does not parse'))",
            WAIT,
        )
        .await;
    let settings: Value = support::get_json(&host, "/api/plugins/alert-box/settings").await;
    assert_eq!(settings["overridden"], false, "{settings}");
    browser.close().await;
    host.stop();
}
