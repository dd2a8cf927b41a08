//! End-to-end: the media library in headless Chromium. Files are chosen in
//! the Media page's own file input (as through the file dialog), appear in
//! its list with previews, and then play in an alert on the overlay page:
//! the alert-box plugin (built by `cargo xtask plugins`) is given the
//! uploaded image and sound, a test follow fires, and the overlay shows
//! the image loaded and starts the sound. The page's refusals and its
//! delete button are checked too.
//!
//! The overlay's read-only test hook `window.__overlay.mediaStarted` lists
//! the media sources that started playing; the browser allows autoplay
//! with sound as OBS does (see `support::browser`).

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use support::browser::Browser;
use support::{Host, OVERLAY_KEY, TOKEN, anonymous, client, install_plugin, media};

const WAIT: Duration = Duration::from_secs(20);

/// Logs `browser` in to the dashboard and opens the Media page.
async fn open_media_page(browser: &Browser, host: &Host) {
    browser.goto(&host.url(&format!("/?token={TOKEN}"))).await;
    browser.eval("(location.hash = 'media')").await;
    browser
        .wait_for(
            "document.getElementById('live-state')?.textContent === 'live' \
             && !document.getElementById('page-media').hidden",
            WAIT,
        )
        .await;
}

/// Writes `bytes` to `dir/name` and returns the path.
fn file(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

async fn library(host: &Host) -> Vec<Value> {
    support::get_json(host, "/api/media").await
}

/// The upload result lines on the Media page.
async fn result_lines(browser: &Browser) -> Vec<String> {
    let lines = browser
        .eval("[...document.querySelectorAll('#media-results li')].map((li) => li.className + ' | ' + li.textContent)")
        .await;
    serde_json::from_value(lines).unwrap()
}

#[tokio::test]
async fn an_image_and_a_sound_uploaded_on_the_media_page_play_in_an_alert() {
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "alert-box");
    let host = Host::start(dir.path(), "run", &[]);
    let files = tempfile::tempdir().unwrap();
    let image = file(
        files.path(),
        "star.png",
        &media::png(8, 6, [255, 200, 0, 255]),
    );
    let sound = file(files.path(), "ding.wav", &media::wav(600));

    let browser = Browser::start().await;
    open_media_page(&browser, &host).await;
    browser.choose_files("#media-file", &[&image, &sound]).await;
    browser
        .wait_for(
            "document.querySelectorAll('#media-rows tr[data-id]').length === 2",
            WAIT,
        )
        .await;
    let lines = result_lines(&browser).await;
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("ok-text") && l.contains("uploaded")),
        "{lines:?}"
    );

    let items = library(&host).await;
    let by_kind = |kind: &str| {
        items
            .iter()
            .find(|i| i["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {items:?}"))
            .clone()
    };
    let (picture, ding) = (by_kind("image"), by_kind("sound"));
    assert_eq!(picture["name"], "star.png");
    assert_eq!(ding["name"], "ding.wav");
    assert_eq!(ding["content_type"], "audio/wav");
    let image_url = picture["url"].as_str().unwrap().to_owned();
    let sound_url = ding["url"].as_str().unwrap().to_owned();

    // The list previews them: the picture decoded, the sound as a player.
    browser
        .wait_for(
            &format!(
                "(() => {{ const img = document.querySelector('#media-rows tr[data-id=\"{}\"] img.media-preview'); \
                 return img && img.complete && img.naturalWidth === 8; }})()",
                picture["id"].as_str().unwrap()
            ),
            WAIT,
        )
        .await;
    let player = browser
        .eval(&format!(
            "document.querySelector('#media-rows tr[data-id=\"{}\"] audio.media-preview')?.getAttribute('src')",
            ding["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(player, json!(sound_url));

    // The alert box shows them on a follow.
    let resp = client()
        .put(host.url("/api/plugins/alert-box/settings"))
        .json(&json!({"settings": {"alerts": {"channel.follow": {
            "title": "{username} followed",
            "image_url": image_url,
            "sound_url": sound_url,
            "duration_ms": 8000
        }}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{:?}", resp.text().await);

    browser
        .goto(&host.url(&format!("/overlay/alerts#key={OVERLAY_KEY}")))
        .await;
    browser
        .wait_for("window.__overlay?.status === 'connected'", WAIT)
        .await;
    let resp = client()
        .post(host.url("/api/events/test"))
        .json(&json!({"kind": "channel.follow", "details": {"username": "MediaFan"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);

    let loaded = browser
        .wait_for(
            &format!(
                "(() => {{ const img = document.querySelector('.alert img.image'); \
                 return img && img.complete && img.naturalWidth > 0 \
                   && img.getAttribute('src') === '{image_url}' \
                   && [img.naturalWidth, img.naturalHeight, document.querySelector('.alert .title')?.textContent]; }})()"
            ),
            WAIT,
        )
        .await;
    assert_eq!(loaded, json!([8, 6, "MediaFan followed"]));
    browser
        .wait_for(
            &format!(
                "(window.__overlay.mediaStarted || []).some((src) => new URL(src).pathname === '{sound_url}')"
            ),
            WAIT,
        )
        .await;
    browser.close().await;
}

#[tokio::test]
async fn the_media_page_shows_refusals_updates_live_and_deletes_after_confirming() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(dir.path(), "run", &[]);
    let files = tempfile::tempdir().unwrap();
    let fake = file(files.path(), "fake.png", b"this is text, not a picture");
    let hostile = file(
        files.path(),
        "evil.svg",
        br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>"#,
    );
    let good = file(files.path(), "ok.gif", &media::gif());

    let browser = Browser::start().await;
    open_media_page(&browser, &host).await;
    browser.eval("(window.__notReloaded = true)").await;
    browser
        .choose_files("#media-file", &[&fake, &hostile, &good])
        .await;
    browser
        .wait_for(
            "document.querySelectorAll('#media-results li:not(.muted)').length === 3",
            WAIT,
        )
        .await;
    let lines = result_lines(&browser).await;
    assert!(
        lines[0].starts_with("error-text")
            && lines[0].contains("fake.png: not uploaded")
            && lines[0].contains("not accept"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("error-text")
            && lines[1].contains("evil.svg: not uploaded")
            && lines[1].contains("onload"),
        "{lines:?}"
    );
    assert!(lines[2].starts_with("ok-text"), "{lines:?}");
    let items = library(&host).await;
    assert_eq!(items.len(), 1, "only the GIF was stored: {items:?}");
    assert_eq!(items[0]["name"], "ok.gif");

    // An upload from elsewhere appears without a reload.
    let resp = client()
        .post(host.url("/api/media?name=from-script.wav"))
        .header("Content-Type", "audio/wav")
        .body(media::wav(100))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let from_script: Value = resp.json().await.unwrap();
    browser
        .wait_for(
            &format!(
                "!!document.querySelector('#media-rows tr[data-id=\"{}\"]')",
                from_script["id"].as_str().unwrap()
            ),
            WAIT,
        )
        .await;
    assert_eq!(
        browser.eval("window.__notReloaded === true").await,
        json!(true)
    );

    // Delete asks first; declining keeps the file.
    let gif_id = items[0]["id"].as_str().unwrap().to_owned();
    let gif_url = items[0]["url"].as_str().unwrap().to_owned();
    let delete_button = format!("#media-rows tr[data-id=\"{gif_id}\"] button.media-delete");
    browser
        .eval(&format!(
            "(() => {{ window.__asked = []; window.confirm = (q) => {{ window.__asked.push(q); return false; }}; \
             document.querySelector('{delete_button}').click(); return true; }})()"
        ))
        .await;
    let asked = browser.eval("window.__asked").await;
    assert!(asked[0].as_str().unwrap().contains("ok.gif"), "{asked}");
    assert_eq!(library(&host).await.len(), 2, "declined: nothing deleted");

    browser
        .eval(&format!(
            "(() => {{ window.confirm = () => true; document.querySelector('{delete_button}').click(); return true; }})()"
        ))
        .await;
    browser
        .wait_for(
            &format!("!document.querySelector('#media-rows tr[data-id=\"{gif_id}\"]')"),
            WAIT,
        )
        .await;
    let left: Vec<Value> = library(&host).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["id"], from_script["id"]);
    let resp = anonymous().get(host.url(&gif_url)).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    browser.close().await;
}
