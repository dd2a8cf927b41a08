//! End-to-end: the streamer's control of the overlay queues over the API
//! (`/api/overlays/{name}/pause|resume|skip|clear|queue/{id}`), against a
//! real host with the alert-box plugin turning test events into alerts, and
//! overlay pages played by test sockets: paused alerts wait (across a
//! restart), are listed in play order, and reach every page once, in order,
//! on resume; clear and remove withdraw them; every refusal has its JSON
//! error and changes nothing.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};
use support::overlay::Overlay;
use support::{Host, anonymous, client, error_code, install_plugin};

const WAIT: Duration = Duration::from_secs(20);

/// A host running alert-box: follows become "<name> followed" on `alerts`,
/// raids go to the overlay `side`.
async fn host_with_alerts(dir: &std::path::Path) -> Host {
    install_plugin(dir, "alert-box");
    let host = Host::start(dir, "run", &[]);
    let resp = client()
        .put(host.url("/api/plugins/alert-box/settings"))
        .json(&json!({"settings": {"alerts": {
            "channel.follow": {"title": "{username} followed", "message": "", "duration_ms": 500},
            "channel.raid": {"overlay": "side", "duration_ms": 500},
        }}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
    host
}

/// Posts a follow from `name`; returns the stored event's id.
async fn follow(host: &Host, name: &str) -> String {
    post_event(
        host,
        json!({"kind": "channel.follow", "details": {"username": name}}),
    )
    .await
}

async fn post_event(host: &Host, body: Value) -> String {
    let resp = client()
        .post(host.url("/api/events/test"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    let event: Value = resp.json().await.unwrap();
    event["id"].as_str().unwrap().to_owned()
}

async fn overlay(host: &Host, name: &str) -> Value {
    support::get_json(host, &format!("/api/overlays/{name}")).await
}

/// Polls `GET /api/overlays/{name}` until `check` holds.
async fn wait_for(host: &Host, name: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let now = overlay(host, name).await;
        if check(&now) {
            return now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "overlay {name} never {what}: {now}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn post(host: &Host, path: &str) -> reqwest::Response {
    client().post(host.url(path)).send().await.unwrap()
}

/// POSTs `path` expecting 200; returns the JSON answer.
async fn post_ok(host: &Host, path: &str) -> Value {
    let resp = post(host, path).await;
    assert_eq!(resp.status(), 200, "POST {path}");
    resp.json().await.unwrap()
}

/// The `queued` list of an overlay view as (event_id, title) pairs.
fn queued(view: &Value) -> Vec<(String, String)> {
    view["queued"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            (
                q["event_id"].as_str().unwrap_or_default().to_owned(),
                q["title"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn ids(view: &Value) -> Vec<String> {
    view["queued"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Every alert a page receives in `wait`, as ids, failing on any other
/// message but those in `allowed`.
async fn alerts_within(page: &mut Overlay, wait: Duration, allowed: &[&str]) -> Vec<String> {
    let mut got = Vec::new();
    for message in page.drain(wait).await {
        match message["type"].as_str() {
            Some("alert") => got.push(message["id"].as_str().unwrap().to_owned()),
            Some(t) if allowed.contains(&t) => {}
            _ => panic!("unexpected message {message}"),
        }
    }
    got
}

/// The next `n` alerts a page receives (acknowledging each when `ack`),
/// as ids, in the order received; fails on anything else.
async fn next_alerts(page: &mut Overlay, n: usize, ack: bool) -> Vec<String> {
    let mut got = Vec::new();
    while got.len() < n {
        let alert = page.alert(WAIT).await;
        if ack {
            page.ack(&alert).await;
        }
        got.push(alert["id"].as_str().unwrap().to_owned());
    }
    got
}

#[tokio::test]
async fn paused_alerts_wait_across_a_restart_and_reach_every_page_once_in_order_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_with_alerts(dir.path()).await;
    let mut early = Overlay::connect(&host.base, "alerts").await;

    let mut live = client().get(host.url("/api/live")).send().await.unwrap();
    let paused = post_ok(&host, "/api/overlays/alerts/pause").await;
    assert_eq!(paused["name"], "alerts");
    assert_eq!(paused["paused"], true, "{paused}");
    assert!(paused["paused_at"].is_string(), "{paused}");
    assert_eq!(paused["connected"], 1);
    // The dashboard hears of it on the live feed.
    let mut heard = String::new();
    while !heard.contains("event: overlays") {
        match tokio::time::timeout(WAIT, live.chunk()).await {
            Ok(Ok(Some(chunk))) => heard.push_str(&String::from_utf8_lossy(&chunk)),
            _ => panic!("no `overlays` live notice after the pause: {heard:?}"),
        }
    }
    drop(live);
    let told = early.next(WAIT).await.expect("a message after the pause");
    assert_eq!(told, json!({"type": "pause"}));
    // Pausing again changes nothing.
    let again = post_ok(&host, "/api/overlays/alerts/pause").await;
    assert_eq!(again["paused_at"], paused["paused_at"]);

    let mut events = Vec::new();
    for name in ["Ann", "Ben", "Cid"] {
        events.push(follow(&host, name).await);
    }
    let view = wait_for(&host, "alerts", "queued three alerts", |o| {
        o["pending"] == 3
    })
    .await;
    assert_eq!(
        queued(&view),
        vec![
            (events[0].clone(), "Ann followed".to_owned()),
            (events[1].clone(), "Ben followed".to_owned()),
            (events[2].clone(), "Cid followed".to_owned()),
        ],
        "listed in play order: {view}"
    );
    let first = &view["queued"][0];
    assert_eq!(first["kind"], "channel.follow");
    assert_eq!(first["plugin"], "alert-box");
    assert_eq!(first["speech"], false);
    assert_eq!(first["sent"], false);
    assert!(first["queued_at"].is_string());
    let order = ids(&view);
    // The whole list shows it too.
    let all: Vec<Value> = support::get_json(&host, "/api/overlays").await;
    let listed = all.iter().find(|o| o["name"] == "alerts").unwrap();
    assert_eq!(
        (listed["paused"].clone(), ids(listed)),
        (json!(true), order.clone())
    );
    assert!(
        alerts_within(&mut early, Duration::from_millis(500), &[])
            .await
            .is_empty(),
        "a paused overlay's page is sent nothing"
    );
    early.close().await;

    // A restart keeps the pause: nothing is sent to a page connecting.
    host.stop();
    let host = Host::start(dir.path(), "run", &[]);
    let view = overlay(&host, "alerts").await;
    assert_eq!(view["paused"], true, "{view}");
    assert_eq!(view["paused_at"], paused["paused_at"]);
    assert_eq!(ids(&view), order);
    let (mut first_page, welcome) =
        Overlay::connect_with(&host.base, "alerts", support::OVERLAY_KEY).await;
    assert_eq!(
        welcome,
        json!({"type": "welcome", "overlay": "alerts", "paused": true})
    );
    let mut second_page = Overlay::connect(&host.base, "alerts").await;
    assert!(
        alerts_within(&mut first_page, Duration::from_millis(500), &[])
            .await
            .is_empty(),
        "nothing before the resume"
    );
    // One more while paused: it waits behind the others.
    events.push(follow(&host, "Dee").await);
    let view = wait_for(&host, "alerts", "queued a fourth", |o| o["pending"] == 4).await;
    let order = ids(&view);
    assert_eq!(queued(&view)[3].0, events[3]);

    let resumed = post_ok(&host, "/api/overlays/alerts/resume").await;
    assert_eq!(resumed["paused"], false, "{resumed}");
    assert_eq!(resumed["paused_at"], Value::Null);
    // Both pages: told to go on, then every alert that waited, in order,
    // once, though the first page acknowledges each at once.
    for (page, ack) in [(&mut first_page, true), (&mut second_page, false)] {
        assert_eq!(page.next(WAIT).await, Some(json!({"type": "resume"})));
        assert_eq!(next_alerts(page, 4, ack).await, order);
        assert!(
            alerts_within(page, Duration::from_millis(500), &[])
                .await
                .is_empty(),
            "sent once"
        );
    }
    wait_for(&host, "alerts", "recorded the acks", |o| o["pending"] == 0).await;

    // After the resume, new alerts flow as usual.
    follow(&host, "Eve").await;
    let fresh = first_page.alert(WAIT).await;
    assert_eq!(fresh["title"], "Eve followed");
    first_page.ack(&fresh).await;
    // Resuming again changes nothing; a restart keeps it resumed.
    assert_eq!(
        post_ok(&host, "/api/overlays/alerts/resume").await["paused"],
        false
    );
    first_page.close().await;
    second_page.close().await;
    host.stop();
    let host = Host::start(dir.path(), "run", &[]);
    assert_eq!(overlay(&host, "alerts").await["paused"], false);
    host.stop();
}

#[tokio::test]
async fn a_page_that_reconnects_while_paused_holds_what_it_had_and_gets_the_rest_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_with_alerts(dir.path()).await;
    let mut page = Overlay::connect(&host.base, "alerts").await;
    // One shown before the pause, one sent but not yet shown.
    follow(&host, "Shown").await;
    let shown = page.alert(WAIT).await;
    page.ack(&shown).await;
    follow(&host, "Held").await;
    let held = page.alert(WAIT).await;
    post_ok(&host, "/api/overlays/alerts/pause").await;
    assert_eq!(page.next(WAIT).await, Some(json!({"type": "pause"})));
    follow(&host, "Waiting").await;
    let view = wait_for(&host, "alerts", "queued", |o| o["pending"] == 2).await;
    let order = ids(&view);
    assert_eq!(order[0], held["id"].as_str().unwrap(), "{view}");
    assert_eq!(view["queued"][0]["sent"], true, "{view}");
    assert_eq!(view["queued"][1]["sent"], false, "{view}");

    // The page goes away (an OBS scene switch) and comes back while paused.
    page.close().await;
    let mut page = Overlay::connect(&host.base, "alerts").await;
    assert!(
        alerts_within(&mut page, Duration::from_millis(500), &[])
            .await
            .is_empty()
    );
    post_ok(&host, "/api/overlays/alerts/resume").await;
    assert_eq!(page.next(WAIT).await, Some(json!({"type": "resume"})));
    assert_eq!(
        next_alerts(&mut page, 2, true).await,
        order,
        "what was not acknowledged, in order; never what was"
    );
    assert!(
        alerts_within(&mut page, Duration::from_millis(500), &[])
            .await
            .is_empty()
    );
    wait_for(&host, "alerts", "recorded the acks", |o| o["pending"] == 0).await;
    page.close().await;
    host.stop();
}

#[tokio::test]
async fn skip_clear_and_remove_act_on_one_overlay_and_a_replay_while_paused_waits() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_with_alerts(dir.path()).await;
    let mut page = Overlay::connect(&host.base, "alerts").await;
    let mut side = Overlay::connect(&host.base, "side").await;
    post_ok(&host, "/api/overlays/alerts/pause").await;
    assert_eq!(page.next(WAIT).await, Some(json!({"type": "pause"})));

    // Skip goes to the pages of that overlay only.
    let skipped = post_ok(&host, "/api/overlays/alerts/skip").await;
    assert_eq!(skipped, json!({"overlay": "alerts", "pages": 1}));
    assert_eq!(page.next(WAIT).await, Some(json!({"type": "skip"})));
    assert_eq!(
        post_ok(&host, "/api/overlays/nobody-here/skip").await,
        json!({"overlay": "nobody-here", "pages": 0})
    );

    let mut events = Vec::new();
    for name in ["One", "Two", "Three", "Four"] {
        events.push(follow(&host, name).await);
    }
    // A raid goes to `side`, which is not paused: it plays there at once.
    post_event(
        &host,
        json!({"kind": "channel.raid", "details": {"username": "Raider", "viewers": 3}}),
    )
    .await;
    let raid = side.alert(WAIT).await;
    assert_eq!(raid["overlay"], "side");
    // Replaying an event while paused: its alert waits too.
    let replay = post(&host, &format!("/api/events/{}/replay", events[0])).await;
    assert_eq!(replay.status(), 202);
    let view = wait_for(&host, "alerts", "queued five", |o| o["pending"] == 5).await;
    let titles: Vec<String> = queued(&view).into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        titles,
        ["One", "Two", "Three", "Four", "One"].map(|n| format!("{n} followed"))
    );
    assert_eq!(
        queued(&view)[4].0,
        events[0],
        "the replay's alert names its event"
    );
    let order = ids(&view);

    // Remove one: it leaves the list, pages are told to drop it.
    let path = format!("/api/overlays/alerts/queue/{}", order[1]);
    let resp = client().delete(host.url(&path)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"removed": true, "overlay": "alerts", "id": order[1]})
    );
    assert_eq!(
        page.next(WAIT).await,
        Some(json!({"type": "cancel", "ids": [order[1]]}))
    );
    let view = overlay(&host, "alerts").await;
    assert_eq!(view["pending"], 4);
    assert_eq!(
        ids(&view),
        vec![
            order[0].clone(),
            order[2].clone(),
            order[3].clone(),
            order[4].clone()
        ]
    );
    // Gone already; another overlay's alert; an alert shown already.
    let again = client().delete(host.url(&path)).send().await.unwrap();
    assert_eq!(error_code(again).await, (404, "not_found".to_owned()));
    let wrong_overlay = client()
        .delete(host.url(&format!("/api/overlays/side/queue/{}", order[0])))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(wrong_overlay).await,
        (404, "not_found".to_owned())
    );
    side.ack(&raid).await;
    wait_for(&host, "side", "recorded the raid's ack", |o| {
        o["pending"] == 0
    })
    .await;
    let shown = client()
        .delete(host.url(&format!(
            "/api/overlays/side/queue/{}",
            raid["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(shown).await, (404, "not_found".to_owned()));
    assert_eq!(
        overlay(&host, "alerts").await["pending"],
        4,
        "nothing changed"
    );

    // Clear: every waiting alert of that overlay, none of another's.
    post_event(
        &host,
        json!({"kind": "channel.raid", "details": {"username": "Raider2", "viewers": 3}}),
    )
    .await;
    let side_raid = side.alert(WAIT).await;
    let cleared = post_ok(&host, "/api/overlays/alerts/clear").await;
    assert_eq!(cleared, json!({"overlay": "alerts", "withdrawn": 4}));
    let cancel = page.next(WAIT).await.unwrap();
    assert_eq!(cancel["type"], "cancel", "{cancel}");
    let cancelled: HashSet<&str> = cancel["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    assert_eq!(
        cancelled,
        [&order[0], &order[2], &order[3], &order[4]]
            .into_iter()
            .map(String::as_str)
            .collect()
    );
    let view = overlay(&host, "alerts").await;
    assert_eq!(
        (view["pending"].clone(), view["queued"].clone()),
        (json!(0), json!([]))
    );
    assert_eq!(
        overlay(&host, "side").await["pending"],
        1,
        "side keeps its own"
    );
    assert_eq!(
        post_ok(&host, "/api/overlays/alerts/clear").await,
        json!({"overlay": "alerts", "withdrawn": 0})
    );

    // Resumed, the page is sent nothing that was withdrawn.
    post_ok(&host, "/api/overlays/alerts/resume").await;
    assert_eq!(page.next(WAIT).await, Some(json!({"type": "resume"})));
    assert!(
        alerts_within(&mut page, Duration::from_millis(500), &[])
            .await
            .is_empty()
    );
    side.ack(&side_raid).await;
    page.close().await;
    side.close().await;
    host.stop();
}

#[tokio::test]
async fn the_list_holds_the_first_fifty_waiting_alerts_in_play_order_and_counts_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_with_alerts(dir.path()).await;
    post_ok(&host, "/api/overlays/alerts/pause").await;
    let mut events = Vec::new();
    for n in 0..55 {
        events.push(follow(&host, &format!("Viewer{n}")).await);
    }
    let view = wait_for(&host, "alerts", "queued 55", |o| o["pending"] == 55).await;
    let listed = queued(&view);
    assert_eq!(listed.len(), 50, "capped");
    let expected: Vec<(String, String)> = events
        .iter()
        .take(50)
        .enumerate()
        .map(|(n, id)| (id.clone(), format!("Viewer{n} followed")))
        .collect();
    assert_eq!(listed, expected);
    // An overlay nobody uses is listed only when asked for by name.
    let all: Vec<Value> = support::get_json(&host, "/api/overlays").await;
    assert_eq!(
        all.iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec!["alerts"]
    );
    let empty = overlay(&host, "unused").await;
    assert_eq!(
        (
            empty["paused"].clone(),
            empty["pending"].clone(),
            empty["queued"].clone(),
            empty["connected"].clone()
        ),
        (json!(false), json!(0), json!([]), json!(0))
    );
    // A paused one is listed even with nothing waiting and no page.
    post_ok(&host, "/api/overlays/later/pause").await;
    let all: Vec<Value> = support::get_json(&host, "/api/overlays").await;
    assert_eq!(
        all.iter()
            .map(|o| (o["name"].as_str().unwrap(), o["paused"].clone()))
            .collect::<Vec<_>>(),
        vec![("alerts", json!(true)), ("later", json!(true))]
    );
    host.stop();
}

#[tokio::test]
async fn every_refusal_answers_a_json_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_with_alerts(dir.path()).await;
    follow(&host, "Kept").await;
    let before = wait_for(&host, "alerts", "queued", |o| o["pending"] == 1).await;
    let kept = ids(&before)[0].clone();

    let long_name = "a".repeat(33);
    for name in ["Alerts", "al_erts", "al%20erts", "a.b", long_name.as_str()] {
        for (method, path) in [
            ("GET", format!("/api/overlays/{name}")),
            ("POST", format!("/api/overlays/{name}/pause")),
            ("POST", format!("/api/overlays/{name}/resume")),
            ("POST", format!("/api/overlays/{name}/skip")),
            ("POST", format!("/api/overlays/{name}/clear")),
            ("DELETE", format!("/api/overlays/{name}/queue/{kept}")),
        ] {
            let resp = client()
                .request(method.parse().unwrap(), host.url(&path))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap();
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (404, Some("not_found")),
                "{method} {path}: {body}"
            );
            let message = body["error"]["message"].as_str().unwrap();
            assert!(
                message.contains("names are 1 to 32 of a-z, 0-9 and -"),
                "{method} {path}: {message}"
            );
        }
    }

    // Ids that cannot be an alert's.
    let long_id = "a".repeat(65);
    for id in ["bad%20id", "a;b", "%C3%A9", long_id.as_str()] {
        let resp = client()
            .delete(host.url(&format!("/api/overlays/alerts/queue/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_code(resp).await,
            (400, "bad_request".to_owned()),
            "{id}"
        );
    }
    let unknown = client()
        .delete(host.url("/api/overlays/alerts/queue/no-such-alert"))
        .send()
        .await
        .unwrap();
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is not waiting in the queue of overlay \"alerts\""),
        "{body}"
    );

    // No token; the wrong method.
    for path in [
        "/api/overlays/alerts/pause",
        "/api/overlays/alerts/resume",
        "/api/overlays/alerts/skip",
        "/api/overlays/alerts/clear",
    ] {
        let resp = anonymous().post(host.url(path)).send().await.unwrap();
        assert_eq!(
            error_code(resp).await,
            (401, "unauthorized".to_owned()),
            "{path}"
        );
        let resp = client().get(host.url(path)).send().await.unwrap();
        assert_eq!(
            error_code(resp).await,
            (405, "method_not_allowed".to_owned()),
            "{path}"
        );
    }
    let resp = anonymous()
        .delete(host.url(&format!("/api/overlays/alerts/queue/{kept}")))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(resp).await, (401, "unauthorized".to_owned()));
    let resp = anonymous()
        .get(host.url("/api/overlays/alerts"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(resp).await, (401, "unauthorized".to_owned()));

    // Nothing changed: not paused, the alert still waits, no overlay named
    // by a refused request appeared.
    let after = overlay(&host, "alerts").await;
    assert_eq!(after["paused"], false);
    assert_eq!(ids(&after), vec![kept]);
    let all: Vec<Value> = support::get_json(&host, "/api/overlays").await;
    assert_eq!(
        all.iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec!["alerts"]
    );
    host.stop();
}

#[tokio::test]
async fn speech_waits_while_its_overlay_is_paused() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(dir.path(), "run", &[]);
    let resp = client()
        .put(host.url("/api/tts/settings"))
        .json(&json!({"enabled": true, "access": ["everyone"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut page = Overlay::connect(&host.base, "alerts").await;
    post_ok(&host, "/api/overlays/alerts/pause").await;
    assert_eq!(page.next(WAIT).await, Some(json!({"type": "pause"})));

    support::post_chat(&host, "901", "Talker", "hold this thought").await;
    let view = wait_for(&host, "alerts", "queued the speech", |o| o["pending"] == 1).await;
    let item = &view["queued"][0];
    assert_eq!(item["speech"], true, "{view}");
    assert_eq!(item["kind"], "channel.chat.message", "{view}");
    assert!(
        item["title"]
            .as_str()
            .unwrap()
            .contains("hold this thought"),
        "a speech item is listed by what it says: {view}"
    );
    // The speech queue lists it as waiting too.
    let speech: Value = support::get_json(&host, "/api/tts/queue").await;
    assert_eq!(speech["items"][0]["id"], item["id"]);
    assert!(
        alerts_within(&mut page, Duration::from_millis(500), &[])
            .await
            .is_empty(),
        "not said while paused"
    );

    post_ok(&host, "/api/overlays/alerts/resume").await;
    assert_eq!(page.next(WAIT).await, Some(json!({"type": "resume"})));
    let said = page.alert(WAIT).await;
    assert_eq!(
        (said["id"].clone(), said["speech"].clone()),
        (item["id"].clone(), json!(true))
    );
    page.ack(&said).await;
    wait_for(&host, "alerts", "recorded the ack", |o| o["pending"] == 0).await;
    page.close().await;
    host.stop();
}
