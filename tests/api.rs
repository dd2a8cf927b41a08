//! End-to-end: the HTTP API's contract against a real host process on
//! 127.0.0.1 with a real SQLite file.

mod support;

use serde_json::{Value, json};
use support::{Host, anonymous, client, error_code};

fn host() -> (tempfile::TempDir, Host) {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(dir.path(), "run", &[]);
    (dir, host)
}

async fn post_test(host: &Host, body: Value) -> reqwest::Response {
    client()
        .post(host.url("/api/events/test"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn healthz_answers_without_a_token() {
    let (_dir, host) = host();
    let resp = anonymous().get(host.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    host.stop();
}

#[tokio::test]
async fn the_api_needs_the_right_bearer_token() {
    let (_dir, host) = host();
    let missing = anonymous()
        .get(host.url("/api/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    assert_eq!(error_code(missing).await, (401, "unauthorized".into()));
    let wrong = anonymous()
        .get(host.url("/api/events"))
        .bearer_auth("test-token-0123456789abcdeX")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(wrong).await, (401, "unauthorized".into()));
    // Unknown API paths do not reveal themselves without a token either.
    let unknown = anonymous().get(host.url("/api/nope")).send().await.unwrap();
    assert_eq!(unknown.status(), 401);
    let ok = client().get(host.url("/api/events")).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    host.stop();
}

#[tokio::test]
async fn a_test_event_is_stored_and_listed_with_the_contract_fields() {
    let (_dir, host) = host();
    let resp = post_test(
        &host,
        json!({
            "kind": "channel.follow",
            "details": {"username": "JaneDoe", "action": "follow", "followed_at": "2025-01-15T14:32:00Z"},
            "viewer": {"id": "123", "login": "janedoe", "display_name": "JaneDoe"}
        }),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();

    let list: Value = support::get_json(&host, "/api/events").await;
    let events = list.as_array().unwrap();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e, &created);
    for field in [
        "id",
        "kind",
        "source",
        "channel_id",
        "viewer",
        "occurred_at",
        "details",
        "display",
    ] {
        assert!(e.get(field).is_some(), "missing {field} in {e}");
    }
    assert_eq!(e["kind"], "channel.follow");
    assert_eq!(e["source"], "test");
    assert_eq!(
        e["viewer"],
        json!({"id": "123", "login": "janedoe", "display_name": "JaneDoe"})
    );
    assert_eq!(e["details"]["username"], "JaneDoe");
    assert!(e["occurred_at"].as_str().unwrap().ends_with('Z'));
    host.stop();
}

#[tokio::test]
async fn listing_is_newest_first_with_kind_filter_limit_and_before_cursor() {
    let (_dir, host) = host();
    let mut ids = Vec::new();
    for i in 0..7 {
        let body = if i % 2 == 0 {
            json!({"kind": "channel.follow", "details": {"username": format!("f{i}")}})
        } else {
            json!({"kind": "channel.raid", "details": {"viewers": i}})
        };
        let created: Value = post_test(&host, body).await.json().await.unwrap();
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let get = |q: String| {
        let url = host.url(&format!("/api/events{q}"));
        async move {
            let v: Value = client()
                .get(url)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v.as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(get(String::new()).await, newest_first);
    assert_eq!(get("?limit=2".into()).await, newest_first[..2].to_vec());
    let follows = get("?kind=channel.follow".into()).await;
    assert_eq!(
        follows,
        vec![
            ids[6].clone(),
            ids[4].clone(),
            ids[2].clone(),
            ids[0].clone()
        ]
    );
    let page = get(format!("?kind=channel.follow&limit=2&before={}", ids[4])).await;
    assert_eq!(page, vec![ids[2].clone(), ids[0].clone()]);
    host.stop();
}

#[tokio::test]
async fn a_duplicate_id_is_refused_and_stored_once() {
    let (_dir, host) = host();
    let body = json!({"kind": "channel.cheer", "id": "fixed-id-1", "details": {"bits": 100}});
    assert_eq!(post_test(&host, body.clone()).await.status(), 201);
    assert_eq!(
        error_code(post_test(&host, body).await).await,
        (409, "duplicate_event".into())
    );
    let list: Value = support::get_json(&host, "/api/events").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    host.stop();
}

#[tokio::test]
async fn unknown_kinds_are_kept_and_legacy_names_normalized() {
    let (_dir, host) = host();
    let unknown: Value = post_test(
        &host,
        json!({"kind": "channel.hype_train.begin", "details": {"level": 2}}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(unknown["kind"], "channel.hype_train.begin");
    assert_eq!(unknown["details"]["level"], 2);
    let timeout: Value = post_test(
        &host,
        json!({"kind": "channel.user.timed_out", "details": {"username": "t"}}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(timeout["kind"], "channel.ban");
    assert_eq!(timeout["details"]["is_permanent"], false);
    host.stop();
}

/// The kinds from outside Twitch can be tried with a test event: a donation
/// keeps its amount as the exact text sent, the Discord kinds keep their
/// bot's whole `data` object, and a donation whose amount or currency is
/// not plain is refused, naming the field, with nothing stored.
#[tokio::test]
async fn donations_and_discord_kinds_are_test_events_too() {
    let (_dir, host) = host();
    let refused = [
        (
            json!({"amount": "5,00", "currency": "USD"}),
            "details.amount",
        ),
        (
            json!({"amount": "1e3", "currency": "USD"}),
            "details.amount",
        ),
        (json!({"amount": "-5", "currency": "USD"}), "details.amount"),
        (
            json!({"amount": "NaN", "currency": "USD"}),
            "details.amount",
        ),
        (json!({"amount": "", "currency": "USD"}), "details.amount"),
        (json!({"amount": 5.0, "currency": "USD"}), "details.amount"),
        (json!({"currency": "USD"}), "details.amount"),
        (
            json!({"amount": "5.00", "currency": "usd"}),
            "details.currency",
        ),
        (json!({"amount": "5.00"}), "details.currency"),
        (
            json!({"amount": "5.00", "currency": "USD", "tip": 1}),
            "details.tip",
        ),
    ];
    for (details, field) in refused {
        let resp = post_test(&host, json!({"kind": "donation", "details": details})).await;
        assert_eq!(resp.status(), 400, "{details}");
        let body: Value = resp.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(field), "{details}: {message}");
    }
    let stored: Vec<Value> = support::get_json(&host, "/api/events").await;
    assert!(stored.is_empty(), "nothing refused was stored: {stored:?}");

    let donation: Value = post_test(
        &host,
        json!({"kind": "donation", "details": {
            "username": "JaneDoe", "amount": "1234567.10", "currency": "EUR",
            "message": "hi", "is_public": true, "source": "kofi",
            "donation_type": "Donation", "tier_name": ""
        }}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(donation["kind"], "donation");
    assert_eq!(donation["details"]["amount"], "1234567.10");
    assert_eq!(donation["details"]["currency"], "EUR");
    assert_eq!(donation["details"]["is_public"], true);

    let giveaway: Value = post_test(
        &host,
        json!({"kind": "discord.giveaway.end", "details": {
            "guild_id": "1", "giveaway_id": "g", "winner_id": "2",
            "data": {"giveawayId": "g", "winnerId": "2", "extra": {"n": 1}}
        }}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(giveaway["kind"], "discord.giveaway.end");
    assert_eq!(giveaway["details"]["winner_id"], "2");
    assert_eq!(giveaway["details"]["prize"], "");
    assert_eq!(giveaway["details"]["data"]["extra"]["n"], 1);
    let listed: Vec<Value> = support::get_json(&host, "/api/events").await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1]["details"]["amount"], "1234567.10");
    host.stop();
}

#[tokio::test]
async fn bad_requests_get_json_errors() {
    let (_dir, host) = host();
    let c = client();
    let malformed = c
        .post(host.url("/api/events/test"))
        .header("content-type", "application/json")
        .body("{\"kind\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(malformed).await, (400, "bad_json".into()));

    let wrong_shape = c
        .post(host.url("/api/events/test"))
        .json(&json!({"kind": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(wrong_shape).await, (400, "bad_json".into()));

    let not_object = post_test(&host, json!({"kind": "channel.follow", "details": [1, 2]})).await;
    assert_eq!(error_code(not_object).await, (400, "bad_request".into()));

    // A field the kind does not have, or of the wrong type, is named.
    for (details, field) in [
        (json!({"username": "a", "bitz": 100}), "details.bitz"),
        (json!({"username": "a", "bits": "lots"}), "details.bits"),
        (json!({"bits": -5}), "details.bits"),
    ] {
        let resp = post_test(&host, json!({"kind": "channel.cheer", "details": details})).await;
        assert_eq!(resp.status(), 400);
        let body: Value = resp.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(field), "{details}: {message}");
    }
    let resp = post_test(
        &host,
        json!({"kind": "channel.subscribe", "details": {"tier": "prime"}}),
    )
    .await;
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("details.tier"),
        "{body}"
    );
    let stored: Vec<Value> = support::get_json(&host, "/api/events").await;
    assert!(stored.is_empty(), "nothing refused was stored: {stored:?}");

    let no_type = c
        .post(host.url("/api/events/test"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(no_type).await,
        (415, "unsupported_media_type".into())
    );

    let huge = json!({"kind": "channel.follow", "details": {"blob": "x".repeat(100 * 1024)}});
    let too_large = c
        .post(host.url("/api/events/test"))
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(too_large).await, (413, "too_large".into()));

    for q in [
        "?limit=0",
        "?limit=501",
        "?limit=ten",
        "?before=no-such-event",
        "?color=red",
    ] {
        let resp = c
            .get(host.url(&format!("/api/events{q}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{q}");
        error_code(resp).await;
    }

    let missing = anonymous()
        .get(host.url("/no/such/page"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(missing).await, (404, "not_found".into()));
    let method = anonymous()
        .delete(host.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(method).await, (405, "method_not_allowed".into()));

    // Nothing above was stored.
    let list: Value = support::get_json(&host, "/api/events").await;
    assert_eq!(list.as_array().unwrap().len(), 0);
    host.stop();
}

#[tokio::test]
async fn the_live_feed_streams_new_events() {
    let (_dir, host) = host();
    let mut live = client().get(host.url("/api/live")).send().await.unwrap();
    assert_eq!(live.status(), 200);
    assert!(
        live.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let created: Value = post_test(
        &host,
        json!({"kind": "channel.raid", "details": {"viewers": 5}}),
    )
    .await
    .json()
    .await
    .unwrap();
    let mut buf = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !buf.contains("\n\n") {
        let chunk = tokio::time::timeout_at(deadline, live.chunk())
            .await
            .expect("live event in time")
            .unwrap()
            .unwrap();
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(buf.starts_with("event: event\n"), "{buf}");
    let data = buf.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
    let got: Value = serde_json::from_str(data).unwrap();
    assert_eq!(got["id"], created["id"]);
    drop(live);
    host.stop();
}

#[tokio::test]
async fn events_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(dir.path(), "run", &[]);
    let created: Value = post_test(&host, json!({"kind": "channel.follow"}))
        .await
        .json()
        .await
        .unwrap();
    host.stop();
    let host = Host::start(dir.path(), "run", &[]);
    let list: Value = support::get_json(&host, "/api/events").await;
    assert_eq!(list[0]["id"], created["id"]);
    host.stop();
}

#[tokio::test]
async fn demo_serves_healthz_and_prints_a_working_generated_token() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(dir.path(), "demo", &[("STAGEHAND_API_TOKEN", "")]);
    let resp = anonymous().get(host.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let dashboard = host
        .stdout
        .iter()
        .find(|l| l.starts_with("Dashboard:"))
        .unwrap();
    let token = dashboard
        .split("?token=")
        .nth(1)
        .expect("token in the dashboard URL")
        .trim();
    assert_eq!(token.len(), 64);
    let ok = anonymous()
        .get(host.url("/api/events"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert!(dir.path().join("stagehand.db").is_file());
    host.stop();
}

#[tokio::test]
async fn json_logs_and_a_config_file_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("custom.toml");
    std::fs::write(
        &config,
        "api_token = \"from-the-config-file-123\"\nlog_format = \"json\"\n",
    )
    .unwrap();
    let mut cmd_env = vec![
        ("STAGEHAND_API_TOKEN", ""),
        ("STAGEHAND_CONFIG", config.to_str().unwrap()),
    ];
    cmd_env.push(("STAGEHAND_LOG", "debug"));
    let host = Host::start(dir.path(), "run", &cmd_env);
    let ok = anonymous()
        .get(host.url("/api/events"))
        .bearer_auth("from-the-config-file-123")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let log = host.stop();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in lines {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v.get("level").is_some(), "{line}");
    }
}

/// Sends raw bytes on a fresh connection and reads until the host closes
/// it (or `wait` passes): what came back, and whether it closed.
fn raw_exchange(host: &Host, request: &[u8], wait: std::time::Duration) -> (String, bool) {
    use std::io::{Read, Write};
    let addr = host.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.write_all(request).unwrap();
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = loop {
        match stream.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => break false,
        }
    };
    (String::from_utf8_lossy(&got).into_owned(), closed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_slow_to_send_its_headers_is_cut_off() {
    let (_dir, host) = host();
    let started = std::time::Instant::now();
    // Headers that never end.
    let (answer, closed) = tokio::task::block_in_place(|| {
        raw_exchange(
            &host,
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
            std::time::Duration::from_secs(20),
        )
    });
    assert!(closed, "the host closed the connection (got {answer:?})");
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_secs(9) && took < std::time::Duration::from_secs(15),
        "cut off after {took:?}"
    );
    // Everyone else was served meanwhile and still is.
    let resp = anonymous().get(host.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    host.stop();
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_one() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(dir.path(), "run", &[("STAGEHAND_MAX_CONNECTIONS", "4")]);
    let addr = host.base.trim_start_matches("http://").to_owned();
    // Four idle connections take every slot.
    let mut idle: Vec<std::net::TcpStream> = (0..4)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let waiting = tokio::spawn({
        let url = host.url("/healthz");
        async move { anonymous().get(url).send().await.map(|r| r.status()) }
    });
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert!(
        !waiting.is_finished(),
        "a fifth connection was served while four were open"
    );
    idle.pop();
    let status = tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
        .await
        .expect("served once a slot was free")
        .unwrap()
        .unwrap();
    assert_eq!(status, 200);
    drop(idle);
    host.stop();
}

#[tokio::test]
async fn an_oversized_body_gets_a_413_the_sender_can_read() {
    let (_dir, host) = host();
    // With a length: the host reads (and drops) what is sent, then answers.
    let big = "x".repeat(600 * 1024);
    let resp = client()
        .post(host.url("/api/events/test"))
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .expect("an answer, not a reset");
    assert_eq!(error_code(resp).await, (413, "too_large".into()));
    // Without one (chunked): the same.
    let chunks: Vec<Result<String, std::io::Error>> =
        (0..40).map(|_| Ok("y".repeat(16 * 1024))).collect();
    let resp = client()
        .post(host.url("/api/events/test"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .expect("an answer, not a reset");
    assert_eq!(error_code(resp).await, (413, "too_large".into()));
    // A small body still goes through.
    let ok = post_test(
        &host,
        json!({"kind": "channel.follow", "details": {"username": "small"}}),
    )
    .await;
    assert_eq!(ok.status(), 201);
    host.stop();
}

#[tokio::test]
async fn an_address_guessing_tokens_is_refused_for_a_while() {
    let (_dir, host) = host();
    let wrong = reqwest::Client::new();
    for _ in 0..20 {
        let resp = wrong
            .get(host.url("/api/events"))
            .bearer_auth("wrong-token-wrong-token")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
    }
    let resp = wrong
        .get(host.url("/api/events"))
        .bearer_auth("wrong-token-wrong-token")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().contains_key("retry-after"));
    assert_eq!(error_code(resp).await, (429, "too_many_failures".into()));
    // Its guesses are not checked any more: even the right token waits.
    let resp = client().get(host.url("/api/events")).send().await.unwrap();
    assert_eq!(resp.status(), 429);
    // Health and the overlay page need no token and are not affected.
    let resp = anonymous().get(host.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    host.stop();
}
