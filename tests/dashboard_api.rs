//! End-to-end: what the dashboard needs from a real host process: the
//! cookie login, event replay, the viewer list, TTS rule changes (with the
//! live notice), plugin enable/disable/reload/settings, and bad input on
//! each new endpoint.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::overlay::Overlay;
use support::{Host, TOKEN, anonymous, client, error_code, install_plugin};

const WAIT: Duration = Duration::from_secs(20);

fn host() -> (tempfile::TempDir, Host) {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(dir.path(), "run", &[]);
    (dir, host)
}

/// A client that neither sends a token nor follows redirects, like a
/// browser's first visit.
fn browser_like() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn post_json(host: &Host, path: &str, body: Value) -> reqwest::Response {
    client()
        .post(host.url(path))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn post_empty(host: &Host, path: &str) -> reqwest::Response {
    client().post(host.url(path)).send().await.unwrap()
}

/// Stores a test event for `login`, so the host knows the viewer.
async fn see_viewer(host: &Host, login: &str) -> Value {
    let resp = post_json(
        host,
        "/api/events/test",
        json!({
            "kind": "channel.follow",
            "details": {"username": login},
            "viewer": {"id": format!("id-{login}"), "login": login, "display_name": login.to_uppercase()}
        }),
    )
    .await;
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

/// The `name=value` pair of a `Set-Cookie` header.
fn cookie_pair(resp: &reqwest::Response) -> String {
    resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_login_url_sets_a_cookie_that_opens_the_dashboard_and_the_api() {
    let (_dir, host) = host();
    let browser = browser_like();

    // No cookie: a page saying where to get in, never the token.
    let door = browser.get(host.url("/")).send().await.unwrap();
    assert_eq!(door.status(), 401);
    assert!(door.headers().get("set-cookie").is_none());
    assert!(
        door.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let text = door.text().await.unwrap();
    assert!(text.contains("printed"), "{text}");
    assert!(!text.contains(TOKEN));

    // A wrong token: refused, no cookie.
    let wrong = browser
        .get(host.url("/?token=test-token-0123456789abcdeX"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
    assert!(!wrong.text().await.unwrap().contains(TOKEN));

    // The printed URL: a cookie and a redirect that drops the token.
    let login = browser
        .get(host.url(&format!("/?token={TOKEN}")))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    assert_eq!(login.headers()["location"], "/");
    assert_eq!(login.headers()["referrer-policy"], "no-referrer");
    let set_cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(!set_cookie.contains(TOKEN), "the cookie is not the token");
    let cookie = cookie_pair(&login);

    // With the cookie: the dashboard page and the API.
    let page = browser
        .get(host.url("/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("/assets/dashboard/app.js"), "{html}");
    assert!(!html.contains(TOKEN));
    let events = browser
        .get(host.url("/api/events"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    let live = browser
        .get(host.url("/api/live"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    drop(live);

    // A change from the dashboard's own origin goes through; the same
    // cookie on a request from another origin (another port of this
    // machine shares cookies) does not.
    let origin = host.base.clone();
    let same = browser
        .post(host.url("/api/events/test"))
        .header("cookie", &cookie)
        .header("origin", &origin)
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"kind": "channel.follow"}))
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 201);
    let foreign = browser
        .post(host.url("/api/events/test"))
        .header("cookie", &cookie)
        .header("origin", "http://127.0.0.1:1")
        .json(&json!({"kind": "channel.follow"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(foreign).await, (403, "cross_origin".into()));

    // No token and no cookie, or a cookie of another token: 401.
    let none = browser.get(host.url("/api/events")).send().await.unwrap();
    assert_eq!(error_code(none).await, (401, "unauthorized".into()));
    let (name, value) = cookie.split_once('=').unwrap();
    let forged = format!("{name}={}", "0".repeat(value.len()));
    let bad = browser
        .get(host.url("/api/events"))
        .header("cookie", forged)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(bad).await, (401, "unauthorized".into()));
    // The cookie value is no bearer token.
    let as_bearer = browser
        .get(host.url("/api/events"))
        .bearer_auth(value)
        .send()
        .await
        .unwrap();
    assert_eq!(as_bearer.status(), 401);
    host.stop();
}

#[tokio::test]
async fn every_dashboard_module_is_served() {
    let (_dir, host) = host();
    // Follow the ES module imports from app.js: each must exist.
    let mut todo = vec!["/assets/dashboard/app.js".to_owned()];
    let mut seen = std::collections::BTreeSet::new();
    while let Some(path) = todo.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let resp = anonymous().get(host.url(&path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .contains("javascript"),
            "{path}"
        );
        let source = resp.text().await.unwrap();
        let dir = &path[..path.rfind('/').unwrap()];
        for line in source.lines().filter(|l| l.starts_with("import ")) {
            let spec = line.split(['\'', '"']).nth(1).expect("an import path");
            let mut parts: Vec<&str> = dir.split('/').collect();
            for segment in spec.split('/') {
                match segment {
                    "." => {}
                    ".." => {
                        parts.pop();
                    }
                    other => parts.push(other),
                }
            }
            todo.push(parts.join("/"));
        }
    }
    assert!(seen.len() >= 10, "{seen:?}");
    for asset in [
        "/assets/dashboard/style.css",
        "/assets/dashboard/index.html",
    ] {
        let resp = anonymous().get(host.url(asset)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{asset}");
    }
    host.stop();
}

#[tokio::test]
async fn replay_runs_an_events_actions_again_without_storing_a_new_event() {
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "follow-alert");
    let host = Host::start(dir.path(), "run", &[]);
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    let event = see_viewer(&host, "replayed").await;
    let first = overlay.alert(WAIT).await;
    assert_eq!(first["event_id"], event["id"]);
    overlay.ack(&first).await;

    let id = event["id"].as_str().unwrap();
    let resp = post_empty(&host, &format!("/api/events/{id}/replay")).await;
    assert_eq!(resp.status(), 202);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body, json!({"replayed": id, "plugins": 1}));
    let again = overlay.alert(WAIT).await;
    assert_eq!(again["event_id"], event["id"]);
    assert_ne!(again["id"], first["id"], "a new alert, not a resend");
    overlay.ack(&again).await;

    let events: Vec<Value> = support::get_json(&host, "/api/events").await;
    assert_eq!(events.len(), 1, "replay stores no new event");

    let unknown = post_empty(&host, "/api/events/no-such-event/replay").await;
    assert_eq!(error_code(unknown).await, (404, "not_found".into()));
    let anonymous_replay = anonymous()
        .post(host.url(&format!("/api/events/{id}/replay")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous_replay.status(), 401);
    assert!(overlay.drain(Duration::from_millis(300)).await.is_empty());
    host.stop();
}

#[tokio::test]
async fn the_viewer_list_shows_roles_and_subscriptions_after_a_sync() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(dir.path(), "demo", &[("STAGEHAND_DEMO_INTERVAL_MS", "0")]);
    let sync: Value = post_empty(&host, "/api/roles/sync")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sync["status"], "completed", "{sync}");
    let (subs, vips, mods) = (
        sync["sub_count"].as_i64().unwrap(),
        sync["vip_count"].as_i64().unwrap(),
        sync["mod_count"].as_i64().unwrap(),
    );
    assert!(subs > 0 && vips > 0 && mods > 0, "{sync}");

    let all: Value = support::get_json(&host, "/api/viewers").await;
    assert_eq!(all["counts"]["subscriber"], subs);
    assert_eq!(all["counts"]["vip"], vips);
    assert_eq!(all["counts"]["moderator"], mods);
    let listed = all["viewers"].as_array().unwrap();
    assert_eq!(all["total"].as_u64().unwrap() as usize, listed.len());
    for v in listed {
        assert!(
            !v["roles"].as_array().unwrap().is_empty() || v["subscription"].is_object(),
            "only viewers holding something: {v}"
        );
    }
    let logins: Vec<&str> = listed
        .iter()
        .map(|v| v["login"].as_str().unwrap())
        .collect();
    let mut sorted = logins.clone();
    sorted.sort();
    assert_eq!(logins, sorted, "by login");

    let vip_list: Value = support::get_json(&host, "/api/viewers?role=vip").await;
    let vip_rows = vip_list["viewers"].as_array().unwrap();
    assert_eq!(vip_rows.len() as i64, vips);
    assert!(vip_rows.iter().all(|v| {
        v["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["role"] == "vip" && r["granted_at"].is_string())
    }));
    let sub_list: Value = support::get_json(&host, "/api/viewers?role=subscriber").await;
    let sub_rows = sub_list["viewers"].as_array().unwrap();
    assert_eq!(sub_rows.len() as i64, subs);
    assert!(
        sub_rows.iter().all(
            |v| ["1000", "2000", "3000"].contains(&v["subscription"]["tier"].as_str().unwrap())
        )
    );

    let two: Value = support::get_json(&host, "/api/viewers?limit=2").await;
    assert_eq!(two["viewers"].as_array().unwrap().len(), 2);
    assert_eq!(two["total"], all["total"], "the total ignores the limit");
    let first = logins[0];
    let found: Value =
        support::get_json(&host, &format!("/api/viewers?search={}", &first[..3])).await;
    assert!(
        found["viewers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["login"].as_str().unwrap().starts_with(&first[..3]))
    );

    for bad in [
        "?role=king",
        "?limit=0",
        "?limit=5000",
        "?limit=x",
        "?colour=red",
    ] {
        let resp = client()
            .get(host.url(&format!("/api/viewers{bad}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{bad}");
        error_code(resp).await;
    }
    host.stop();
}

/// Reads the live feed until an SSE message of `topic` arrives.
async fn expect_topic(live: &mut reqwest::Response, topic: &str, buf: &mut String) {
    let deadline = tokio::time::Instant::now() + WAIT;
    let wanted = format!("event: {topic}\n");
    loop {
        if let Some(at) = buf.find(&wanted) {
            buf.drain(..at + wanted.len());
            return;
        }
        let chunk = tokio::time::timeout_at(deadline, live.chunk())
            .await
            .unwrap_or_else(|_| panic!("no {topic} message in time; got {buf:?}"))
            .unwrap()
            .expect("the live feed stays open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn tts_rules_are_set_listed_and_lifted_with_a_live_notice_each() {
    let (_dir, host) = host();
    see_viewer(&host, "chatty").await;
    let mut live = client().get(host.url("/api/live")).send().await.unwrap();
    let mut buf = String::new();

    let empty: Value = support::get_json(&host, "/api/tts/rules").await;
    assert_eq!(empty["rules"], json!([]));
    assert!(empty["now"].is_string());

    let mute = post_json(
        &host,
        "/api/tts/rules",
        json!({"login": "@Chatty", "type": "mute", "minutes": 5}),
    )
    .await;
    assert_eq!(mute.status(), 201);
    let mute: Value = mute.json().await.unwrap();
    assert_eq!(mute["login"], "chatty");
    assert_eq!(mute["display_name"], "CHATTY");
    assert_eq!(mute["type"], "mute");
    assert_eq!(mute["created_by"], "dashboard");
    expect_topic(&mut live, "tts_rules", &mut buf).await;

    let cooldown = post_json(
        &host,
        "/api/tts/rules",
        json!({"login": "chatty", "type": "cooldown", "minutes": 30, "gap_seconds": 120}),
    )
    .await;
    assert_eq!(cooldown.status(), 201);
    expect_topic(&mut live, "tts_rules", &mut buf).await;

    let list: Value = support::get_json(&host, "/api/tts/rules").await;
    let rules = list["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2, "{list}");
    let now = chrono::DateTime::parse_from_rfc3339(list["now"].as_str().unwrap()).unwrap();
    let expires = |r: &Value| {
        chrono::DateTime::parse_from_rfc3339(r["expires_at"].as_str().unwrap()).unwrap()
    };
    let muted = rules.iter().find(|r| r["type"] == "mute").unwrap();
    let left = (expires(muted) - now).num_seconds();
    assert!((290..=300).contains(&left), "about 5 minutes left: {left}");
    let cooled = rules.iter().find(|r| r["type"] == "cooldown").unwrap();
    assert_eq!(cooled["gap_seconds"], 120);

    // A mute for good replaces the timed one.
    let forever = post_json(
        &host,
        "/api/tts/rules",
        json!({"login": "chatty", "type": "mute", "minutes": null}),
    )
    .await;
    assert_eq!(forever.status(), 201);
    expect_topic(&mut live, "tts_rules", &mut buf).await;
    let list: Value = support::get_json(&host, "/api/tts/rules").await;
    let mutes: Vec<&Value> = list["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "mute")
        .collect();
    assert_eq!(mutes.len(), 1);
    assert_eq!(mutes[0]["expires_at"], Value::Null);

    let unmute = client()
        .delete(host.url("/api/tts/rules/chatty?type=mute"))
        .send()
        .await
        .unwrap();
    assert_eq!(unmute.status(), 200);
    expect_topic(&mut live, "tts_rules", &mut buf).await;
    let list: Value = support::get_json(&host, "/api/tts/rules").await;
    assert_eq!(list["rules"].as_array().unwrap().len(), 1);
    assert_eq!(list["rules"][0]["type"], "cooldown");

    let again = client()
        .delete(host.url("/api/tts/rules/chatty?type=mute"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(again).await, (404, "not_found".into()));
    let everything = client()
        .delete(host.url("/api/tts/rules/chatty"))
        .send()
        .await
        .unwrap();
    assert_eq!(everything.status(), 200);
    let list: Value = support::get_json(&host, "/api/tts/rules").await;
    assert_eq!(list["rules"], json!([]));
    drop(live);
    host.stop();
}

#[tokio::test]
async fn bad_tts_rules_are_refused_with_json_errors() {
    let (_dir, host) = host();
    see_viewer(&host, "known").await;
    for (body, status, code) in [
        (
            json!({"login": "nobody_here", "type": "mute", "minutes": 5}),
            404,
            "not_found",
        ),
        (
            json!({"login": "known", "type": "mute", "minutes": -5}),
            400,
            "bad_request",
        ),
        (
            json!({"login": "known", "type": "mute", "minutes": 0}),
            400,
            "bad_request",
        ),
        (
            json!({"login": "known", "type": "mute", "minutes": 1_000_000}),
            400,
            "bad_request",
        ),
        (
            json!({"login": "known", "type": "cooldown", "minutes": 5}),
            400,
            "bad_request",
        ),
        (
            json!({"login": "known", "type": "cooldown", "minutes": 5, "gap_seconds": -1}),
            400,
            "bad_request",
        ),
        (
            json!({"login": "known", "type": "cooldown", "minutes": 5, "gap_seconds": 999_999}),
            400,
            "bad_request",
        ),
        (json!({"login": "known", "type": "ban"}), 400, "bad_request"),
        (json!({"login": "", "type": "mute"}), 400, "bad_request"),
        (
            json!({"login": "known", "type": "mute", "minutes": 1.5}),
            400,
            "bad_json",
        ),
        (
            json!({"login": "known", "type": "mute", "until": "soon"}),
            400,
            "bad_json",
        ),
        (json!({"type": "mute"}), 400, "bad_json"),
    ] {
        let resp = post_json(&host, "/api/tts/rules", body.clone()).await;
        assert_eq!(error_code(resp).await, (status, code.into()), "{body}");
    }
    let c = client();
    let malformed = c
        .post(host.url("/api/tts/rules"))
        .header("content-type", "application/json")
        .body("{\"login\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(malformed).await, (400, "bad_json".into()));
    let not_json = c
        .post(host.url("/api/tts/rules"))
        .body("login=known")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(not_json).await,
        (415, "unsupported_media_type".into())
    );
    let huge = json!({"login": "known", "type": "mute", "pad": "x".repeat(100 * 1024)});
    let too_large = c
        .post(host.url("/api/tts/rules"))
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(too_large).await, (413, "too_large".into()));
    for path in [
        "/api/tts/rules/nobody_here",
        "/api/tts/rules/known?type=mute",
    ] {
        let resp = c.delete(host.url(path)).send().await.unwrap();
        assert_eq!(error_code(resp).await, (404, "not_found".into()), "{path}");
    }
    for path in [
        "/api/tts/rules/known?type=forever",
        "/api/tts/rules/no%20spaces",
    ] {
        let resp = c.delete(host.url(path)).send().await.unwrap();
        assert_eq!(
            error_code(resp).await,
            (400, "bad_request".into()),
            "{path}"
        );
    }
    let anonymous_mute = anonymous()
        .post(host.url("/api/tts/rules"))
        .json(&json!({"login": "known", "type": "mute"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous_mute.status(), 401);
    let list: Value = support::get_json(&host, "/api/tts/rules").await;
    assert_eq!(list["rules"], json!([]), "nothing above was stored");
    host.stop();
}

#[tokio::test]
async fn speech_settings_grants_and_queue_refuse_bad_input_and_change_nothing() {
    let (_dir, host) = host();
    see_viewer(&host, "known").await;
    let c = client();
    let before: Value = support::get_json(&host, "/api/tts/settings").await;
    for (body, status, code) in [
        (json!({"max_chars": 0}), 422, "invalid_settings"),
        (json!({"max_chars": -5}), 422, "invalid_settings"),
        (
            json!({"viewer_gap_seconds": 86_400}),
            422,
            "invalid_settings",
        ),
        (
            json!({"access": ["everyone", "vips"]}),
            422,
            "invalid_settings",
        ),
        (json!({"access": ["admins"]}), 422, "invalid_settings"),
        (json!({"overlay": "Not A Name"}), 422, "invalid_settings"),
        (json!({"volume": 11}), 422, "invalid_settings"),
        (json!(["not", "an", "object"]), 422, "invalid_settings"),
    ] {
        let resp = c
            .put(host.url("/api/tts/settings"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(error_code(resp).await, (status, code.into()), "{body}");
    }
    let malformed = c
        .put(host.url("/api/tts/settings"))
        .header("content-type", "application/json")
        .body("{\"max_chars\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(malformed).await, (400, "bad_json".into()));
    let after: Value = support::get_json(&host, "/api/tts/settings").await;
    assert_eq!(after, before, "no refused change was kept");

    for (body, status, code) in [
        (
            json!({"login": "nobody_here", "minutes": 5}),
            404,
            "not_found",
        ),
        (json!({"login": "known", "minutes": -5}), 400, "bad_request"),
        (json!({"login": "known", "minutes": 0}), 400, "bad_request"),
        (
            json!({"login": "known", "minutes": 10_000_000}),
            400,
            "bad_request",
        ),
        (
            json!({"login": "bad login", "minutes": 5}),
            400,
            "bad_request",
        ),
        (json!({"login": "known"}), 400, "bad_json"),
    ] {
        let resp = post_json(&host, "/api/tts/grants", body.clone()).await;
        assert_eq!(error_code(resp).await, (status, code.into()), "{body}");
    }
    let grants: Value = support::get_json(&host, "/api/tts/grants").await;
    assert_eq!(grants["grants"], json!([]), "nothing above was stored");
    let revoke = c
        .delete(host.url("/api/tts/grants/known"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(revoke).await,
        (404, "not_found".into()),
        "no grant to revoke"
    );

    let missing = c
        .delete(host.url("/api/tts/queue/no-such-item"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(missing).await, (404, "not_found".into()));
    let skipped: Value = post_empty(&host, "/api/tts/skip")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(skipped["pages"], 0, "no overlay page to tell");
    let anonymous_skip = anonymous()
        .post(host.url("/api/tts/skip"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous_skip.status(), 401);

    // A grant made here lets the viewer be heard; revoking ends it.
    let granted = post_json(
        &host,
        "/api/tts/grants",
        json!({"login": "@Known", "minutes": 30}),
    )
    .await;
    assert_eq!(granted.status(), 201);
    let grants: Value = support::get_json(&host, "/api/tts/grants").await;
    assert_eq!(grants["grants"][0]["login"], "known");
    assert_eq!(grants["grants"][0]["source"], "dashboard");
    let revoked = c
        .delete(host.url("/api/tts/grants/known"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    host.stop();
}

async fn plugin(host: &Host, name: &str) -> Value {
    let all: Vec<Value> = support::get_json(host, "/api/plugins").await;
    all.into_iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no plugin {name}"))
}

async fn plugin_action(host: &Host, name: &str, action: &str) -> Value {
    let resp = post_empty(host, &format!("/api/plugins/{name}/{action}")).await;
    assert_eq!(resp.status(), 200, "{action}: {:?}", resp.text().await);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn a_disabled_plugin_gets_no_events_until_enabled_even_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "follow-alert");
    let host = Host::start(dir.path(), "run", &[]);
    let mut overlay = Overlay::connect(&host.base, "alerts").await;

    let off = plugin_action(&host, "follow-alert", "disable").await;
    assert_eq!(off["status"], "disabled");
    assert_eq!(off["enabled"], false);
    see_viewer(&host, "while_off").await;
    assert!(
        overlay.drain(Duration::from_millis(800)).await.is_empty(),
        "a disabled plugin shows nothing"
    );
    overlay.close().await;
    host.stop();

    let host = Host::start(dir.path(), "run", &[]);
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    let still = plugin(&host, "follow-alert").await;
    assert_eq!(still["status"], "disabled", "remembered across restarts");
    assert_eq!(still["version"], "0.1.0", "the manifest is still shown");

    let on = plugin_action(&host, "follow-alert", "enable").await;
    assert_eq!(on["status"], "running", "{on}");
    assert_eq!(on["enabled"], true);
    let event = see_viewer(&host, "while_on").await;
    let alert = overlay.alert(WAIT).await;
    assert_eq!(alert["event_id"], event["id"]);
    overlay.ack(&alert).await;

    // Reload: a fresh instance of the same files, still running.
    let before = plugin(&host, "follow-alert").await["reloads"]
        .as_u64()
        .unwrap();
    let reloaded = plugin_action(&host, "follow-alert", "reload").await;
    assert_eq!(reloaded["status"], "running");
    assert_eq!(reloaded["reloads"].as_u64().unwrap(), before + 1);
    let event = see_viewer(&host, "after_reload").await;
    assert_eq!(overlay.alert(WAIT).await["event_id"], event["id"]);

    for action in ["enable", "disable", "reload", "settings"] {
        let method = if action == "settings" {
            client().get(host.url(&format!("/api/plugins/nope/{action}")))
        } else {
            client().post(host.url(&format!("/api/plugins/nope/{action}")))
        };
        let resp = method.send().await.unwrap();
        assert_eq!(
            error_code(resp).await,
            (404, "not_found".into()),
            "{action}"
        );
    }
    let anonymous_disable = anonymous()
        .post(host.url("/api/plugins/follow-alert/disable"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous_disable.status(), 401);
    host.stop();
}

#[tokio::test]
async fn settings_from_the_dashboard_replace_the_manifests_and_a_refused_change_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "alert-box");
    install_plugin(dir.path(), "discord-webhook");
    let host = Host::start(dir.path(), "run", &[]);
    let mut overlay = Overlay::connect(&host.base, "alerts").await;

    // alert-box: a custom follow title takes effect on the next alert.
    let settings: Value = support::get_json(&host, "/api/plugins/alert-box/settings").await;
    assert_eq!(settings["overridden"], false);
    assert_eq!(settings["settings"], settings["defaults"]);
    let custom =
        json!({"alerts": {"channel.follow": {"title": "Hello {username}!", "duration_ms": 1000}}});
    let resp = client()
        .put(host.url("/api/plugins/alert-box/settings"))
        .json(&json!({"settings": custom}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let status: Value = resp.json().await.unwrap();
    assert_eq!(status["status"], "running");
    assert_eq!(status["settings_overridden"], true);
    see_viewer(&host, "greeted").await;
    let alert = overlay.alert(WAIT).await;
    // `{username}` is the viewer's display name.
    assert_eq!(alert["title"], "Hello GREETED!", "{alert}");
    overlay.ack(&alert).await;
    // What it runs with: the custom fields, the rest completed from the
    // plugin's settings schema.
    let follow_of = |settings: &Value| settings["settings"]["alerts"]["channel.follow"].clone();
    let settings: Value = support::get_json(&host, "/api/plugins/alert-box/settings").await;
    assert_eq!(settings["overridden"], true);
    let follow = follow_of(&settings);
    assert_eq!(follow["title"], "Hello {username}!", "{settings}");
    assert_eq!(follow["duration_ms"], 1000, "{settings}");

    // Settings outside the schema (422 naming the field) or that the plugin
    // itself refuses (422 with its reason): nothing changes.
    let outside = client()
        .put(host.url("/api/plugins/alert-box/settings"))
        .json(&json!({"settings": {"alerts": {"channel.follow": {"duration_ms": 0}}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(outside).await, (422, "invalid_settings".into()));
    let refused = client()
        .put(host.url("/api/plugins/alert-box/settings"))
        .json(&json!({"settings": {"alerts": {"channel.cheer": {"variations": [{"when": "bits >== 5"}]}}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(refused).await, (422, "settings_refused".into()));
    let after: Value = support::get_json(&host, "/api/plugins/alert-box/settings").await;
    assert_eq!(after["settings"], settings["settings"]);
    assert_eq!(plugin(&host, "alert-box").await["status"], "running");

    // Back to plugin.toml.
    let reset = client()
        .delete(host.url("/api/plugins/alert-box/settings"))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    let settings: Value = support::get_json(&host, "/api/plugins/alert-box/settings").await;
    assert_eq!(settings["overridden"], false);
    see_viewer(&host, "plain").await;
    let alert = overlay.alert(WAIT).await;
    assert_ne!(alert["title"], "Hello plain!", "{alert}");

    // discord-webhook cannot start without a URL; given one from the
    // dashboard it loads and asks for its permission.
    assert_eq!(plugin(&host, "discord-webhook").await["status"], "failed");
    let configured = client()
        .put(host.url("/api/plugins/discord-webhook/settings"))
        .json(&json!({"settings": {"webhook_url": "https://discord.com/api/webhooks/1/abc"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(configured.status(), 200);
    let status: Value = configured.json().await.unwrap();
    assert_eq!(status["status"], "pending_grant", "{status}");

    // Bad bodies.
    let c = client();
    for (body, code) in [
        (json!({"settings": [1, 2]}), "bad_request"),
        (json!({"settings": "x"}), "bad_request"),
        (json!({"config": {}}), "bad_json"),
    ] {
        let resp = c
            .put(host.url("/api/plugins/alert-box/settings"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(error_code(resp).await, (400, code.into()), "{body}");
    }
    let huge = json!({"settings": {"pad": "x".repeat(100 * 1024)}});
    let too_large = c
        .put(host.url("/api/plugins/alert-box/settings"))
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(too_large).await, (413, "too_large".into()));
    let malformed = c
        .put(host.url("/api/plugins/alert-box/settings"))
        .header("content-type", "application/json")
        .body("{\"settings\": {")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(malformed).await, (400, "bad_json".into()));
    let unknown = c
        .put(host.url("/api/plugins/nope/settings"))
        .json(&json!({"settings": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(unknown).await, (404, "not_found".into()));
    host.stop();
}
