//! End-to-end: alert-box's built-in alerts (no settings at all) on the
//! overlay page in headless Chromium: each kind comes in with its
//! animation, its picture from the host's own media, its sound, and the
//! viewer's name and the amount highlighted as text; bigger moments look
//! different; the page stays transparent and its 1920×1080 stage is scaled
//! to the browser's 1280×720 window.
//!
//! With `STAGEHAND_SCREENSHOTS` set, a cheer alert is saved to
//! `docs/images/overlay-alert.png` (over a painted backdrop standing in
//! for the stream).

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::browser::Browser;
use support::{Host, OVERLAY_KEY, anonymous, client, install_plugin};

const WAIT: Duration = Duration::from_secs(20);

async fn post_event(host: &Host, body: Value) {
    let resp = client()
        .post(host.url("/api/events/test"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
}

/// Ends the alert on screen (the queue's "skip"), so the next one comes
/// without waiting out the built-in durations.
async fn skip(host: &Host, browser: &Browser) {
    let resp = client()
        .post(host.url("/api/tts/skip"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "skip: {}", resp.status());
    browser
        .wait_for(
            "document.querySelector('#stage .alert') === null && window.__overlay.current === null",
            WAIT,
        )
        .await;
}

/// What the card on screen shows, once its picture has loaded: its
/// classes, accent, picture, the highlighted words of title and message,
/// and whether any element besides the card's own came from the text.
async fn card(browser: &Browser, shown: usize) -> Value {
    browser
        .wait_for(
            &format!(
                "window.__shown.length === {shown} && (() => {{ \
                   const img = document.querySelector('#stage .alert.in img.image'); \
                   return img && img.complete && img.naturalWidth > 0; }})()"
            ),
            WAIT,
        )
        .await;
    browser
        .eval(
            "(() => { \
               const card = document.querySelector('#stage .alert.in'); \
               const img = card.querySelector('img.image'); \
               const words = (sel) => [...card.querySelectorAll(sel + ' .hl')].map((s) => s.textContent); \
               const tags = [...card.querySelectorAll('*')].map((e) => e.tagName.toLowerCase()); \
               return { \
                 classes: [...card.classList], \
                 accent: card.style.getPropertyValue('--accent'), \
                 image: new URL(img.src).pathname, \
                 width: img.naturalWidth, \
                 title: card.querySelector('.title').textContent, \
                 message: card.querySelector('.message')?.textContent ?? '', \
                 title_hl: words('.title'), \
                 message_hl: words('.message'), \
                 tags: [...new Set(tags)].sort(), \
                 sounds: performance.getEntriesByType('resource') \
                   .map((e) => new URL(e.name).pathname) \
                   .filter((p) => p.endsWith('.wav')), \
               }; })()",
        )
        .await
}

#[tokio::test]
async fn the_built_in_alerts_look_finished_on_a_scaled_transparent_stage() {
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "alert-box");
    let host = Host::start(dir.path(), "run", &[]);

    // The built-in media is public, like the overlay page, and typed.
    for (path, content_type) in [
        ("/assets/alerts/heart.svg", "image/svg+xml"),
        ("/assets/alerts/gem-10000.svg", "image/svg+xml"),
        ("/assets/alerts/chime.wav", "audio/"),
    ] {
        let resp = anonymous().get(host.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let got = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(got.starts_with(content_type), "{path}: {got}");
    }

    let browser = Browser::start().await;
    browser
        .goto(&host.url(&format!("/overlay/alerts#key={OVERLAY_KEY}")))
        .await;
    // A 720p browser source.
    browser.set_viewport(1280, 720).await;
    browser
        .wait_for(
            "window.__overlay && window.__overlay.status === 'connected'",
            WAIT,
        )
        .await;

    // A follow from a viewer whose name looks like markup: it is shown, and
    // highlighted, as text.
    post_event(
        &host,
        json!({"kind": "channel.follow", "details": {"username": "<b>Bob</b>"}}),
    )
    .await;
    let follow = card(&browser, 1).await;
    assert!(has(&follow["classes"], "anim-pop"), "{follow}");
    assert_eq!(follow["image"], "/assets/alerts/heart.svg", "{follow}");
    assert!(follow["width"].as_u64().unwrap() > 0);
    assert_eq!(follow["title"], "New follower!");
    assert_eq!(follow["message"], "<b>Bob</b> just followed");
    assert_eq!(follow["message_hl"], json!(["<b>Bob</b>"]), "{follow}");
    assert!(
        !has(&follow["tags"], "b"),
        "the name made an element: {follow}"
    );
    assert!(
        has(&follow["sounds"], "/assets/alerts/chime.wav"),
        "the follow's sound was fetched: {follow}"
    );

    // The page stays transparent; the stage is 1920×1080 scaled into the
    // 1280×720 window, and the card lies inside it.
    settled(&browser).await;
    let layout = browser
        .eval(
            "(() => { \
               const r = document.getElementById('stage').getBoundingClientRect(); \
               const c = document.querySelector('#stage .alert').getBoundingClientRect(); \
               return { \
                 html: getComputedStyle(document.documentElement).backgroundColor, \
                 body: getComputedStyle(document.body).backgroundColor, \
                 w: innerWidth, h: innerHeight, \
                 stage: [r.left, r.top, r.width, r.height], \
                 card: [c.left, c.top, c.right, c.bottom] }; })()",
        )
        .await;
    assert_eq!(layout["html"], "rgba(0, 0, 0, 0)", "{layout}");
    assert_eq!(layout["body"], "rgba(0, 0, 0, 0)", "{layout}");
    let (w, h) = (num(&layout["w"]), num(&layout["h"]));
    assert_eq!((w, h), (1280.0, 720.0), "{layout}");
    // Two thirds of 1920×1080 fills the window exactly.
    let stage: Vec<f64> = layout["stage"]
        .as_array()
        .unwrap()
        .iter()
        .map(num)
        .collect();
    for (got, want) in stage.iter().zip([0.0, 0.0, 1280.0, 720.0]) {
        assert!((got - want).abs() < 0.5, "{layout}");
    }
    let card_box: Vec<f64> = layout["card"].as_array().unwrap().iter().map(num).collect();
    assert!(card_box[0] >= 0.0 && card_box[2] <= w, "{layout}");
    assert!(card_box[1] >= 0.0 && card_box[3] <= h, "{layout}");
    // The card keeps its 1080p proportions: 1200 stage pixels wide.
    assert!((card_box[2] - card_box[0] - 800.0).abs() < 1.0, "{layout}");
    skip(&host, &browser).await;

    // A big cheer: its own gem, colour, entrance; name and amount stand out.
    post_event(
        &host,
        json!({"kind": "channel.cheer", "details": {"username": "Alice", "bits": 1000, "message": "Cheer1000 great stream <3"}}),
    )
    .await;
    let cheer = card(&browser, 2).await;
    assert!(has(&cheer["classes"], "anim-bounce"), "{cheer}");
    assert_eq!(cheer["image"], "/assets/alerts/gem-1000.svg", "{cheer}");
    assert_eq!(cheer["accent"], "#1db2a5", "{cheer}");
    assert_eq!(cheer["title"], "Alice cheered 1000 bits!");
    assert_eq!(cheer["title_hl"], json!(["Alice", "1000"]), "{cheer}");
    assert_eq!(cheer["message"], "Cheer1000 great stream <3");
    picture(&browser).await;
    skip(&host, &browser).await;

    // One gift sub and a pile of them look different.
    for (total, image, title) in [
        (1, "/assets/alerts/gift.svg", "Santa gifted a Tier 1 sub!"),
        (
            20,
            "/assets/alerts/gifts.svg",
            "Santa gifted 20 Tier 1 subs!",
        ),
    ] {
        post_event(
            &host,
            json!({"kind": "channel.subscription.gift", "details": {"username": "Santa", "tier": "1000", "total": total, "is_anonymous": false}}),
        )
        .await;
        let shown = if total == 1 { 3 } else { 4 };
        let gift = card(&browser, shown).await;
        assert_eq!(gift["image"], image, "{gift}");
        assert_eq!(gift["title"], title, "{gift}");
        let mut want = vec!["Santa".to_owned()];
        if total > 1 {
            want.push(total.to_string());
        }
        assert_eq!(gift["title_hl"], json!(want), "{gift}");
        skip(&host, &browser).await;
    }

    // A big raid zooms in with its rocket; the viewers are highlighted.
    post_event(
        &host,
        json!({"kind": "channel.raid", "details": {"username": "Raider", "viewers": 60}}),
    )
    .await;
    let raid = card(&browser, 5).await;
    assert!(has(&raid["classes"], "anim-zoom"), "{raid}");
    assert_eq!(raid["image"], "/assets/alerts/rocket.svg", "{raid}");
    assert_eq!(raid["title_hl"], json!(["Raider"]), "{raid}");
    assert_eq!(raid["message_hl"], json!(["60"]), "{raid}");
    assert!(has(&raid["sounds"], "/assets/alerts/fanfare.wav"), "{raid}");

    browser.close().await;
    host.stop();
}

/// Card options from any plugin are checked by the page: an animation it
/// does not know is pop, a colour that is not `#rrggbb` is left out, a
/// highlight that does not fit the text is dropped, garbled options are
/// ignored; the streamer's own CSS after alert-box's options moves the card
/// into its sandboxed frame, still highlighted.
#[tokio::test]
async fn odd_card_options_fall_back_and_custom_css_keeps_the_highlights() {
    let dir = tempfile::tempdir().unwrap();
    let folder = install_plugin(dir.path(), "alert-box");
    install_plugin(dir.path(), "fault-plugin");
    let manifest = std::fs::read_to_string(folder.join("plugin.toml")).unwrap();
    let head = manifest.split("\n[settings").next().unwrap();
    std::fs::write(
        folder.join("plugin.toml"),
        format!("{head}\n[settings.alerts.\"channel.follow\"]\ncss = \".text {{ color: rgb(1, 2, 3) }}\"\n"),
    )
    .unwrap();
    let host = Host::start(dir.path(), "run", &[]);
    let granted = client()
        .post(host.url("/api/plugins/fault-plugin/grant"))
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), 200);
    let browser = Browser::start().await;
    browser
        .goto(&host.url(&format!("/overlay/alerts#key={OVERLAY_KEY}")))
        .await;
    browser
        .wait_for(
            "window.__overlay && window.__overlay.status === 'connected'",
            WAIT,
        )
        .await;

    let odd = [
        (
            r#"/*stagehand:card {"animation":"spin","accent":"red;background:url(x)","highlights":{"title":[[0,"Zed"],[3,"nowhere"],["x",5]]}} */"#,
            vec!["Zed"],
        ),
        (r#"/*stagehand:card {not json} */"#, vec![]),
        ("", vec![]),
    ];
    for (i, (css, words)) in odd.iter().enumerate() {
        post_event(
            &host,
            json!({"kind": "test.fault", "details": {"mode": "styled", "title": "Zed waves <i>hi</i>", "css": css}}),
        )
        .await;
        let card = browser
            .wait_for(
                &format!(
                    "window.__shown.length === {} && (() => {{ \
                       const c = document.querySelector('#stage .alert.in'); \
                       return c && {{ classes: [...c.classList], accent: c.style.getPropertyValue('--accent'), \
                         title: c.querySelector('.title').textContent, \
                         hl: [...c.querySelectorAll('.hl')].map((s) => s.textContent), \
                         frame: c.querySelector('iframe') !== null, \
                         italic: c.querySelector('i') !== null }}; }})()",
                    i + 1
                ),
                WAIT,
            )
            .await;
        assert!(has(&card["classes"], "anim-pop"), "{css}: {card}");
        assert_eq!(card["accent"], "", "{css}: {card}");
        assert_eq!(card["title"], "Zed waves <i>hi</i>", "{css}: {card}");
        assert_eq!(card["hl"], json!(words), "{css}: {card}");
        assert_eq!(card["frame"], false, "{css}: {card}");
        assert_eq!(card["italic"], false, "{css}: {card}");
        skip(&host, &browser).await;
    }

    // The streamer's CSS: the card goes into its frame, where the name is
    // still highlighted (escaped), and alert-box's options give it its
    // entrance outside.
    post_event(
        &host,
        json!({"kind": "channel.follow", "details": {"username": "Ann<script>"}}),
    )
    .await;
    let frame = browser
        .wait_for(
            "(() => { const f = document.querySelector('#stage .alert.in .alert-frame'); \
               return f && { classes: [...f.parentElement.classList], srcdoc: f.srcdoc }; })()",
            WAIT,
        )
        .await;
    assert!(has(&frame["classes"], "anim-pop"), "{frame}");
    let srcdoc = frame["srcdoc"].as_str().unwrap();
    assert!(
        srcdoc.contains("<span class=\"hl\">Ann&#60;script&#62;</span> just followed"),
        "{srcdoc}"
    );
    assert!(srcdoc.contains(".text { color: rgb(1, 2, 3) }"), "{srcdoc}");
    assert!(
        !srcdoc.contains("stagehand:card"),
        "the options are not CSS: {srcdoc}"
    );
    browser.close().await;
    host.stop();
}

fn has(list: &Value, item: &str) -> bool {
    list.as_array()
        .is_some_and(|l| l.iter().any(|v| v.as_str() == Some(item)))
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

/// Waits until the card's entrance has finished.
async fn settled(browser: &Browser) {
    browser
        .wait_for(
            "document.querySelector('#stage .alert.in').getAnimations({subtree: true}) \
               .every((a) => a.playState === 'finished')",
            WAIT,
        )
        .await;
}

/// Saves the screen once the card's entrance has finished, over a
/// backdrop painted for the picture (the page itself stays transparent).
/// The README's picture of an alert, over a backdrop like a stream's (the
/// page itself stays transparent; the backdrop is painted for the picture
/// only, after the transparency checks).
async fn picture(browser: &Browser) {
    settled(browser).await;
    browser
        .eval(
            "(() => { document.documentElement.style.background = \
               'radial-gradient(circle at 30% 20%, #3b4f7a, #1b1f33 60%, #0d0f1a)'; return true; })()",
        )
        .await;
    browser.doc_picture("overlay-alert").await;
    browser
        .eval("(() => { document.documentElement.style.background = ''; return true; })()")
        .await;
}
