//! Socket-level tests of the mock: a real server on 127.0.0.1, a
//! tokio-tungstenite client for EventSub and reqwest for Helix, OAuth and
//! the control API.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::*;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(5);

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn start(options: MockOptions) -> MockTwitch {
    MockTwitch::start(options).await.expect("mock starts")
}

async fn connect(url: &str) -> Ws {
    let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("connect in time")
        .expect("connect");
    ws
}

/// What the client sees next (pings and pongs skipped).
#[derive(Debug)]
enum Seen {
    Json(Value),
    Close(Option<u16>),
    Ended,
}

async fn next(ws: &mut Ws) -> Seen {
    loop {
        let item = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame in time");
        match item {
            Some(Ok(Message::Text(text))) => {
                return Seen::Json(serde_json::from_str(text.as_str()).expect("JSON frame"));
            }
            Some(Ok(Message::Close(frame))) => {
                return Seen::Close(frame.map(|f| u16::from(f.code)));
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(other)) => panic!("unexpected frame {other:?}"),
            Some(Err(_)) | None => return Seen::Ended,
        }
    }
}

async fn next_json(ws: &mut Ws) -> Value {
    match next(ws).await {
        Seen::Json(value) => value,
        other => panic!("expected a JSON frame, got {other:?}"),
    }
}

/// Connects and reads the welcome; returns the socket and session id.
async fn welcomed(url: &str) -> (Ws, String) {
    let mut ws = connect(url).await;
    let welcome = next_json(&mut ws).await;
    assert_eq!(welcome["metadata"]["message_type"], "session_welcome");
    let id = welcome["payload"]["session"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (ws, id)
}

fn helix(mock: &MockTwitch, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    http()
        .request(method, format!("{}{path}", mock.api_url()))
        .bearer_auth(mock.access_token())
        .header("Client-Id", mock.client_id())
}

fn follow_condition(mock: &MockTwitch) -> Value {
    let (id, _) = mock.broadcaster();
    json!({"broadcaster_user_id": id, "moderator_user_id": id})
}

async fn subscribe(
    mock: &MockTwitch,
    session: &str,
    kind: &str,
    version: &str,
    condition: Value,
) -> reqwest::Response {
    helix(mock, reqwest::Method::POST, "/eventsub/subscriptions")
        .json(&json!({
            "type": kind, "version": version, "condition": condition,
            "transport": {"method": "websocket", "session_id": session}
        }))
        .send()
        .await
        .expect("subscribe request")
}

async fn subscribe_follow(mock: &MockTwitch, session: &str) -> reqwest::Response {
    subscribe(mock, session, "channel.follow", "2", follow_condition(mock)).await
}

fn header(response: &reqwest::Response, name: &str) -> u64 {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("{name} header"))
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_follow_arrives_over_eventsub_and_helix_agrees() {
    let mock = start(MockOptions {
        followers: 3,
        ..MockOptions::fast()
    })
    .await;
    let (mut ws, session) = welcomed(&mock.eventsub_url()).await;
    assert_eq!(session.len(), 28);

    let created = subscribe_follow(&mock, &session).await;
    assert_eq!(created.status(), 202);
    assert!(header(&created, "ratelimit-limit") == 800);
    let body: Value = created.json().await.unwrap();
    let sub = &body["data"][0];
    assert_eq!(sub["status"], "enabled");
    assert_eq!(sub["type"], "channel.follow");
    assert_eq!(sub["version"], "2");
    assert_eq!(sub["cost"], 0);
    assert_eq!(sub["transport"]["method"], "websocket");
    assert_eq!(sub["transport"]["session_id"], session.as_str());
    assert!(sub["transport"]["connected_at"].is_string());
    assert!(sub["created_at"].is_string());
    assert_eq!(body["total"], 1);
    assert_eq!(body["total_cost"], 0);
    assert_eq!(body["max_total_cost"], 10);

    let duplicate = subscribe_follow(&mock, &session).await;
    assert_eq!(duplicate.status(), 409);
    assert_eq!(
        duplicate.json::<Value>().await.unwrap(),
        json!({"error": "Conflict", "status": 409, "message": "subscription already exists"})
    );

    let sent = mock
        .control()
        .trigger(Trigger::new("channel.follow").user("Cool_User"))
        .await
        .unwrap();
    assert_eq!(sent.delivered(), 1);

    let frame = next_json(&mut ws).await;
    let metadata = &frame["metadata"];
    assert_eq!(metadata["message_type"], "notification");
    assert_eq!(metadata["subscription_type"], "channel.follow");
    assert_eq!(metadata["subscription_version"], "2");
    assert_eq!(metadata["message_id"], sent.message_ids()[0].as_str());
    let stamp = metadata["message_timestamp"].as_str().unwrap();
    assert_eq!(
        stamp.split('.').nth(1).unwrap().len(),
        10,
        "nanoseconds: {stamp}"
    );
    assert_eq!(frame["payload"]["subscription"]["id"], sub["id"]);
    assert_eq!(
        frame["payload"]["subscription"]["transport"],
        json!({"method": "websocket", "session_id": session})
    );
    let event = &frame["payload"]["event"];
    assert_eq!(event["user_login"], "cool_user");
    assert_eq!(event["broadcaster_user_id"], "100000001");
    assert_eq!(frame["metadata"]["message_type"], "notification");
    assert_eq!(frame["metadata"]["subscription_type"], "channel.follow");

    let followers: Value = helix(
        &mock,
        reqwest::Method::GET,
        "/channels/followers?broadcaster_id=100000001",
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(followers["total"], 4);
    let newest = &followers["data"][0];
    assert_eq!(newest["user_id"], event["user_id"]);
    assert_eq!(newest["user_login"], "cool_user");
    assert_eq!(followers["pagination"], json!({}));
    assert_eq!(mock.control().request_count("channels/followers").await, 1);
    mock.shutdown().await;
}

#[tokio::test]
async fn keepalives_arrive_when_idle_and_pings_are_answered() {
    let mock = start(MockOptions {
        subscribe_deadline: Duration::from_secs(30),
        ..MockOptions::fast()
    })
    .await;
    let url = format!("{}?keepalive_timeout_seconds=1", mock.eventsub_url());
    let (mut ws, _) = welcomed(&url).await;
    ws.send(Message::Ping(b"hi".to_vec().into())).await.unwrap();
    let pong = tokio::time::timeout(WAIT, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(pong, Message::Pong(_)), "{pong:?}");
    let started = std::time::Instant::now();
    let keepalive = next_json(&mut ws).await;
    assert_eq!(keepalive["metadata"]["message_type"], "session_keepalive");
    assert_eq!(keepalive["payload"], json!({}));
    assert!(started.elapsed() < Duration::from_millis(1500));

    // Silenced: nothing for well over the window, and no close.
    mock.control().stop_keepalives().await;
    let quiet = tokio::time::timeout(Duration::from_millis(1500), ws.next()).await;
    assert!(quiet.is_err(), "expected silence, got {quiet:?}");
    mock.shutdown().await;
}

#[tokio::test]
async fn an_out_of_range_keepalive_is_refused() {
    let mock = start(MockOptions::default()).await;
    let url = format!("{}?keepalive_timeout_seconds=5", mock.eventsub_url());
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
    let url = format!("{}?keepalive_timeout_seconds=601", mock.eventsub_url());
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
    let (_ws, _) = welcomed(&format!(
        "{}?keepalive_timeout_seconds=600",
        mock.eventsub_url()
    ))
    .await;
    mock.shutdown().await;
}

#[tokio::test]
async fn an_unused_connection_is_closed_with_4003() {
    let mock = start(MockOptions {
        subscribe_deadline: Duration::from_millis(300),
        ..MockOptions::fast()
    })
    .await;
    let (mut ws, session) = welcomed(&mock.eventsub_url()).await;
    match next(&mut ws).await {
        Seen::Close(code) => assert_eq!(code, Some(4003)),
        other => panic!("expected 4003, got {other:?}"),
    }
    // The session is gone: subscribing to it is a 400.
    let late = subscribe_follow(&mock, &session).await;
    assert_eq!(late.status(), 400);
    mock.shutdown().await;
}

#[tokio::test]
async fn a_client_that_sends_text_is_closed_with_4001() {
    let mock = start(MockOptions::fast()).await;
    let (mut ws, session) = welcomed(&mock.eventsub_url()).await;
    assert_eq!(subscribe_follow(&mock, &session).await.status(), 202);
    ws.send(Message::text("hello?")).await.unwrap();
    match next(&mut ws).await {
        Seen::Close(code) => assert_eq!(code, Some(4001)),
        other => panic!("expected 4001, got {other:?}"),
    }
    let sessions = mock.control().sessions().await;
    assert_eq!(sessions[0].status, SessionStatus::Disconnected);
    assert_eq!(
        sessions[0].subscriptions[0].status,
        "websocket_disconnected"
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn session_reconnect_carries_the_subscriptions_to_a_new_session() {
    let mock = start(MockOptions::fast()).await;
    let control = mock.control();
    let (mut old, old_id) = welcomed(&mock.eventsub_url()).await;
    assert_eq!(subscribe_follow(&mock, &old_id).await.status(), 202);

    let urls = control.reconnect().await;
    assert_eq!(urls.len(), 1);
    let reconnect = next_json(&mut old).await;
    assert_eq!(reconnect["metadata"]["message_type"], "session_reconnect");
    let session = &reconnect["payload"]["session"];
    assert_eq!(session["id"], old_id.as_str());
    assert_eq!(session["status"], "reconnecting");
    assert_eq!(session["keepalive_timeout_seconds"], Value::Null);
    let url = session["reconnect_url"].as_str().unwrap().to_owned();
    assert_eq!(url, urls[0]);
    assert!(url.starts_with(&format!("{}?reconnect=", mock.eventsub_url())));

    // Until the client moves, the old socket still delivers.
    control
        .trigger(Trigger::new("follow").user("early_bird"))
        .await
        .unwrap();
    let early = next_json(&mut old).await;
    assert_eq!(early["payload"]["event"]["user_login"], "early_bird");

    let (mut new, new_id) = welcomed(&url).await;
    assert_ne!(new_id, old_id);
    control
        .trigger(Trigger::new("follow").user("late_bird"))
        .await
        .unwrap();
    let late = next_json(&mut new).await;
    assert_eq!(late["payload"]["event"]["user_login"], "late_bird");
    assert_eq!(
        late["payload"]["subscription"]["transport"]["session_id"],
        new_id.as_str()
    );
    assert_eq!(subscribe_follow(&mock, &new_id).await.status(), 409);
    old.close(None).await.unwrap();

    let listed: Value = helix(
        &mock,
        reqwest::Method::GET,
        "/eventsub/subscriptions?status=enabled",
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        listed["data"][0]["transport"]["session_id"],
        new_id.as_str()
    );
    let sessions = control.sessions().await;
    assert_eq!(sessions[0].status, SessionStatus::Reconnected);
    assert_eq!(sessions[0].successor.as_deref(), Some(new_id.as_str()));
    assert_eq!(sessions[1].status, SessionStatus::Connected);

    // The URL works once.
    let mut again = connect(&url).await;
    match next(&mut again).await {
        Seen::Close(code) => assert_eq!(code, Some(4007)),
        other => panic!("expected 4007, got {other:?}"),
    }
    mock.shutdown().await;
}

#[tokio::test]
async fn closing_the_old_socket_early_loses_nothing() {
    let mock = start(MockOptions::fast()).await;
    let control = mock.control();
    let (mut old, old_id) = welcomed(&mock.eventsub_url()).await;
    assert_eq!(subscribe_follow(&mock, &old_id).await.status(), 202);
    let url = control.reconnect().await.remove(0);
    next_json(&mut old).await;
    old.close(None).await.unwrap();
    // Let the server see the close.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let sent = control
        .trigger(Trigger::new("follow").user("while_away"))
        .await
        .unwrap();
    assert_eq!(sent.delivered(), 1);
    let (mut new, _) = welcomed(&url).await;
    let buffered = next_json(&mut new).await;
    assert_eq!(buffered["payload"]["event"]["user_login"], "while_away");
    assert_eq!(
        buffered["metadata"]["message_id"],
        sent.message_ids()[0].as_str()
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn a_client_that_never_moves_is_closed_with_4004() {
    let mock = start(MockOptions {
        reconnect_grace: Duration::from_millis(300),
        ..MockOptions::fast()
    })
    .await;
    let (mut ws, session) = welcomed(&mock.eventsub_url()).await;
    assert_eq!(subscribe_follow(&mock, &session).await.status(), 202);
    mock.control().reconnect().await;
    next_json(&mut ws).await;
    match next(&mut ws).await {
        Seen::Close(code) => assert_eq!(code, Some(4004)),
        other => panic!("expected 4004, got {other:?}"),
    }
    let subs = mock.control().subscriptions().await;
    assert_eq!(subs[0].status, "websocket_disconnected");
    mock.shutdown().await;
}

#[tokio::test]
async fn a_dropped_connection_disables_subscriptions_without_a_close_frame() {
    let mock = start(MockOptions::fast()).await;
    let (mut ws, session) = welcomed(&mock.eventsub_url()).await;
    assert_eq!(subscribe_follow(&mock, &session).await.status(), 202);
    assert_eq!(mock.control().drop_connections().await, 1);
    assert!(matches!(next(&mut ws).await, Seen::Ended));

    let listed: Value = helix(&mock, reqwest::Method::GET, "/eventsub/subscriptions")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sub = &listed["data"][0];
    assert_eq!(sub["status"], "websocket_disconnected");
    assert!(sub["transport"]["disconnected_at"].is_string());
    let sent = mock
        .control()
        .trigger(Trigger::new("follow"))
        .await
        .unwrap();
    assert_eq!(sent.delivered(), 0);

    let id = sub["id"].as_str().unwrap();
    let deleted = helix(
        &mock,
        reqwest::Method::DELETE,
        &format!("/eventsub/subscriptions?id={id}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(deleted.status(), 204);
    mock.shutdown().await;
}

#[tokio::test]
async fn duplicates_stale_frames_and_malformed_text_reach_the_client() {
    let mock = start(MockOptions::fast()).await;
    let control = mock.control();
    let (mut ws, session) = welcomed(&mock.eventsub_url()).await;
    assert_eq!(subscribe_follow(&mock, &session).await.status(), 202);
    control.trigger(Trigger::new("follow")).await.unwrap();
    let original = next_json(&mut ws).await;

    assert_eq!(control.resend_last().await, 1);
    assert_eq!(next_json(&mut ws).await, original);

    assert_eq!(control.send_stale().await, 1);
    let stale = next_json(&mut ws).await;
    let sent_at =
        crate::wire::parse_timestamp(stale["metadata"]["message_timestamp"].as_str().unwrap())
            .unwrap();
    assert!(chrono::Utc::now() - sent_at > chrono::TimeDelta::minutes(10));

    assert_eq!(control.send_raw("{not json").await, 1);
    let raw = tokio::time::timeout(WAIT, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(raw, Message::text("{not json"));
    mock.shutdown().await;
}

#[tokio::test]
async fn raw_frames_and_unknown_types_are_sent_as_is() {
    let mock = start(MockOptions::fast()).await;
    let control = mock.control();
    let (mut ws, session) = welcomed(&mock.eventsub_url()).await;
    assert_eq!(subscribe_follow(&mock, &session).await.status(), 202);
    control
        .send_raw(r#"{"metadata":{"message_id":"x","message_type":"brand_new","message_timestamp":"2025-01-01T00:00:00Z"},"payload":{}}"#)
        .await;
    assert_eq!(
        next_json(&mut ws).await["metadata"]["message_type"],
        "brand_new"
    );

    let sent = control
        .send_notification("channel.future_thing", "beta", json!({"answer": 42}))
        .await;
    assert_eq!(sent.delivered(), 1);
    let frame = next_json(&mut ws).await;
    assert_eq!(
        frame["metadata"]["subscription_type"],
        "channel.future_thing"
    );
    assert_eq!(frame["payload"]["event"], json!({"answer": 42}));

    let revoked = control
        .revoke(Some("channel.follow"), "authorization_revoked")
        .await;
    assert_eq!(revoked.len(), 1);
    let revocation = next_json(&mut ws).await;
    assert_eq!(revocation["metadata"]["message_type"], "revocation");
    assert_eq!(
        revocation["payload"]["subscription"]["status"],
        "authorization_revoked"
    );

    assert_eq!(control.close_with(4005).await, 1);
    match next(&mut ws).await {
        Seen::Close(code) => assert_eq!(code, Some(4005)),
        other => panic!("expected 4005, got {other:?}"),
    }
    mock.shutdown().await;
}

#[tokio::test]
async fn followers_page_with_cursors_and_a_page_can_fail() {
    let mock = start(MockOptions {
        followers: 45,
        ..MockOptions::fast()
    })
    .await;
    mock.control()
        .fail_helix_page("channels/followers", 2, 503)
        .await;
    let mut after: Option<String> = None;
    let mut logins = Vec::new();
    let mut failures = 0;
    loop {
        let mut path = "/channels/followers?broadcaster_id=100000001&first=20".to_owned();
        if let Some(cursor) = &after {
            path.push_str(&format!("&after={cursor}"));
        }
        let response = helix(&mock, reqwest::Method::GET, &path)
            .send()
            .await
            .unwrap();
        if response.status() == 503 {
            failures += 1;
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["status"], 503);
            assert_eq!(body["error"], "Service Unavailable");
            continue;
        }
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["total"], 45);
        for row in body["data"].as_array().unwrap() {
            logins.push(row["user_login"].as_str().unwrap().to_owned());
        }
        match body["pagination"].get("cursor").and_then(Value::as_str) {
            Some(cursor) => after = Some(cursor.to_owned()),
            None => {
                assert_eq!(body["pagination"], json!({}));
                break;
            }
        }
    }
    assert_eq!(failures, 1);
    assert_eq!(logins.len(), 45);
    assert_eq!(logins[0], "viewer0");
    assert_eq!(logins[44], "viewer44");
    assert_eq!(
        mock.control()
            .request_count("/helix/channels/followers")
            .await,
        4
    );

    let too_many = helix(
        &mock,
        reqwest::Method::GET,
        "/channels/followers?broadcaster_id=100000001&first=101",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(too_many.status(), 400);
    mock.shutdown().await;
}

#[tokio::test]
async fn a_million_followers_page_quickly() {
    let mock = start(MockOptions {
        followers: 1_000_000,
        ..MockOptions::fast()
    })
    .await;
    let body: Value = helix(
        &mock,
        reqwest::Method::GET,
        "/channels/followers?broadcaster_id=100000001&first=100",
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(body["total"], 1_000_000);
    assert_eq!(body["data"].as_array().unwrap().len(), 100);
    assert!(body["pagination"]["cursor"].is_string());
    mock.shutdown().await;
}

#[tokio::test]
async fn the_rate_limit_shows_in_headers_and_answers_429_when_empty() {
    let mock = start(MockOptions {
        rate_limit_per_minute: 3,
        ..MockOptions::fast()
    })
    .await;
    for expected in [2, 1, 0] {
        let response = helix(&mock, reqwest::Method::GET, "/users")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "ratelimit-limit"), 3);
        assert_eq!(header(&response, "ratelimit-remaining"), expected);
        let now = chrono::Utc::now().timestamp() as u64;
        assert!(header(&response, "ratelimit-reset") >= now);
    }
    let refused = helix(&mock, reqwest::Method::GET, "/users")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "ratelimit-remaining"), 0);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["status"], 429);
    assert_eq!(body["error"], "Too Many Requests");
    mock.shutdown().await;
}

#[tokio::test]
async fn an_injected_429_resets_soon() {
    let mock = start(MockOptions::fast()).await;
    mock.control()
        .add_fault(HelixFault {
            reset_after_secs: Some(2),
            ..HelixFault::new("users", 429, 1)
        })
        .await;
    let refused = helix(&mock, reqwest::Method::GET, "/users")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    let now = chrono::Utc::now().timestamp() as u64;
    let reset = header(&refused, "ratelimit-reset");
    assert!((now..=now + 3).contains(&reset), "{reset} vs {now}");
    assert_eq!(header(&refused, "ratelimit-remaining"), 0);
    mock.shutdown().await;
}

#[tokio::test]
async fn helix_checks_tokens_client_ids_and_scopes() {
    let mock = start(MockOptions::fast()).await;
    let unauthorized = http()
        .get(format!("{}/users", mock.api_url()))
        .header("Client-Id", mock.client_id())
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
    assert!(unauthorized.headers().contains_key("ratelimit-limit"));
    assert_eq!(
        unauthorized.json::<Value>().await.unwrap(),
        json!({"error": "Unauthorized", "status": 401, "message": "Invalid OAuth token"})
    );
    let no_client = http()
        .get(format!("{}/users", mock.api_url()))
        .bearer_auth(mock.access_token())
        .send()
        .await
        .unwrap();
    assert_eq!(no_client.status(), 401);

    let me: Value = helix(&mock, reqwest::Method::GET, "/users")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["data"][0]["login"], "stagehand_demo");
    assert_eq!(me["data"][0]["id"], "100000001");

    let control = mock.control();
    assert!(
        control
            .remove_scope(mock.access_token(), "moderator:read:followers")
            .await
    );
    let missing = helix(
        &mock,
        reqwest::Method::GET,
        "/channels/followers?broadcaster_id=100000001",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["message"],
        "Missing scope: moderator:read:followers"
    );
    let (_ws, session) = welcomed(&mock.eventsub_url()).await;
    let forbidden = subscribe_follow(&mock, &session).await;
    assert_eq!(forbidden.status(), 403);
    let message = forbidden.json::<Value>().await.unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("moderator:read:followers"), "{message}");

    assert!(control.expire_access_token(mock.access_token()).await);
    let expired = helix(&mock, reqwest::Method::GET, "/users")
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), 401);
    mock.shutdown().await;
}

#[tokio::test]
async fn lists_chat_and_clips_follow_the_triggers() {
    let mock = start(MockOptions {
        subscribers: 2,
        ..MockOptions::fast()
    })
    .await;
    let control = mock.control();
    control
        .trigger(Trigger::new("vip").user("friend"))
        .await
        .unwrap();
    control
        .trigger(Trigger::new("mod").user("helper"))
        .await
        .unwrap();
    control
        .trigger(Trigger {
            duration_secs: Some(600),
            reason: Some("calm down".into()),
            ..Trigger::new("channel.ban").user("loud")
        })
        .await
        .unwrap();
    control
        .trigger(Trigger {
            total: Some(2),
            ..Trigger::new("gift").user("santa")
        })
        .await
        .unwrap();
    control.create_clip("clipper", "what a play").await.unwrap();

    let get = |path: &str| {
        let request = helix(&mock, reqwest::Method::GET, path);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let vips = get("/channels/vips?broadcaster_id=100000001").await;
    assert_eq!(vips["data"][0]["user_login"], "friend");
    let mods = get("/moderation/moderators?broadcaster_id=100000001").await;
    assert_eq!(mods["data"][0]["user_login"], "helper");
    let banned = get("/moderation/banned?broadcaster_id=100000001").await;
    let ban = &banned["data"][0];
    assert_eq!(ban["user_login"], "loud");
    assert_eq!(ban["reason"], "calm down");
    assert_eq!(ban["moderator_login"], "stagehand_demo");
    assert!(!ban["expires_at"].as_str().unwrap().is_empty());
    let subs = get("/subscriptions?broadcaster_id=100000001").await;
    assert_eq!(subs["total"], 4);
    let gifted: Vec<&Value> = subs["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["gifter_login"] == "santa")
        .collect();
    assert_eq!(gifted.len(), 2);
    assert_eq!(gifted[0]["is_gift"], true);
    assert!(subs["points"].as_u64().unwrap() >= 4);
    let clips = get("/clips?broadcaster_id=100000001").await;
    assert_eq!(clips["data"][0]["title"], "what a play");
    assert_eq!(clips["data"][0]["creator_name"], "Clipper");

    control.end_timeout("loud").await.unwrap();
    let banned = get("/moderation/banned?broadcaster_id=100000001").await;
    assert_eq!(banned["data"], json!([]));

    let posted = helix(&mock, reqwest::Method::POST, "/chat/messages")
        .json(
            &json!({"broadcaster_id": "100000001", "sender_id": "100000001", "message": "hi chat"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    let body: Value = posted.json().await.unwrap();
    assert_eq!(body["data"][0]["is_sent"], true);
    assert_eq!(body["data"][0]["drop_reason"], Value::Null);
    let sent = control.sent_chat_messages().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].message, "hi chat");
    assert_eq!(
        sent[0].message_id,
        body["data"][0]["message_id"].as_str().unwrap()
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn the_device_flow_refresh_validate_and_revoke() {
    let mock = start(MockOptions::fast()).await;
    let client = http();
    let auth = mock.auth_url();
    let device: Value = client
        .post(format!("{auth}/device"))
        .form(&[
            ("client_id", mock.client_id()),
            ("scopes", "bits:read user:read:chat"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(device["interval"], 1);
    assert!(
        device["verification_uri"]
            .as_str()
            .unwrap()
            .contains("/oauth2/activate")
    );
    let device_code = device["device_code"].as_str().unwrap();
    let poll = || {
        client
            .post(format!("{auth}/token"))
            .form(&[
                ("client_id", mock.client_id()),
                ("device_code", device_code),
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ])
            .send()
    };
    let pending = poll().await.unwrap();
    assert_eq!(pending.status(), 400);
    assert_eq!(
        pending.json::<Value>().await.unwrap(),
        json!({"status": 400, "message": "authorization_pending"})
    );
    let granted: Value = poll().await.unwrap().json().await.unwrap();
    assert_eq!(granted["token_type"], "bearer");
    assert_eq!(granted["scope"], json!(["bits:read", "user:read:chat"]));
    let access = granted["access_token"].as_str().unwrap().to_owned();
    let refresh = granted["refresh_token"].as_str().unwrap().to_owned();

    let validated: Value = client
        .get(format!("{auth}/validate"))
        .header("Authorization", format!("OAuth {access}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(validated["login"], "stagehand_demo");
    assert_eq!(validated["user_id"], "100000001");
    assert_eq!(validated["client_id"], "stagehand-demo");
    assert!(validated["expires_in"].as_u64().unwrap() > 0);

    let refresh_with = |token: String| {
        client
            .post(format!("{auth}/token"))
            .form(&[
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", token),
                ("client_id", mock.client_id().to_owned()),
            ])
            .send()
    };
    let rotated: Value = refresh_with(refresh.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(rotated["refresh_token"], refresh.as_str());
    assert_ne!(rotated["access_token"], access.as_str());
    let reused = refresh_with(refresh).await.unwrap();
    assert_eq!(reused.status(), 400);
    assert_eq!(
        reused.json::<Value>().await.unwrap(),
        json!({"status": 400, "message": "Invalid refresh token"})
    );

    let revoked = client
        .post(format!("{auth}/revoke"))
        .form(&[("client_id", mock.client_id()), ("token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let dead = client
        .get(format!("{auth}/validate"))
        .header("Authorization", format!("OAuth {access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(dead.status(), 401);
    assert_eq!(
        dead.json::<Value>().await.unwrap(),
        json!({"status": 401, "message": "invalid access token"})
    );
    assert_eq!(mock.control().request_count("/oauth2/token").await, 4);
    mock.shutdown().await;
}

#[tokio::test]
async fn the_control_api_needs_the_secret_and_triggers() {
    let mock = start(MockOptions::fast()).await;
    let client = http();
    let url = format!("{}/trigger", mock.control_url());
    let refused = client
        .post(&url)
        .json(&json!({"kind": "channel.follow", "user": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let sent: Value = client
        .post(&url)
        .bearer_auth(mock.control_secret())
        .json(&json!({"kind": "channel.follow", "user": "via_http"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sent["events"][0]["event"]["user_login"], "via_http");
    let bad = client
        .post(&url)
        .bearer_auth(mock.control_secret())
        .json(&json!({"kind": "channel.nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let state: Value = client
        .get(format!("{}/state", mock.control_url()))
        .bearer_auth(mock.control_secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["followers"], 1);
    let closed: Value = client
        .post(format!("{}/close", mock.control_url()))
        .bearer_auth(mock.control_secret())
        .json(&json!({"code": 4000}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(closed["closed"], 0);
    mock.shutdown().await;
}

#[tokio::test]
async fn the_demo_stream_makes_events_until_cancelled() {
    let mock = start(MockOptions::fast()).await;
    let cancel = tokio_util::sync::CancellationToken::new();
    let demo = DemoStream::with_options(
        mock.control(),
        DemoOptions {
            mean_interval: Duration::from_millis(20),
            seed: Some(5),
            go_live: true,
        },
    )
    .spawn(cancel.clone());
    tokio::time::sleep(Duration::from_millis(400)).await;
    cancel.cancel();
    tokio::time::timeout(WAIT, demo).await.unwrap().unwrap();
    let state = mock.control().state().await;
    assert!(state.followers > 0, "{state:?}");
    assert!(!state.live);
    mock.shutdown().await;
}

#[tokio::test]
async fn control_calls_can_run_on_spawned_tasks() {
    let mock = start(MockOptions::fast()).await;
    let control = mock.control();
    let task = tokio::spawn(async move {
        control.trigger(Trigger::new("follow")).await.unwrap();
        control.fail_helix("users", 500, 1).await;
        control.reconnect().await;
        control.stop_keepalives().await;
        assert!(
            !control
                .wait_for_subscriptions(1, Duration::from_millis(20))
                .await
        );
        control.state().await
    });
    let state = task.await.unwrap();
    assert_eq!(state.followers, 1);
    let failed = helix(&mock, reqwest::Method::GET, "/users")
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 500);
    assert_eq!(header(&failed, "ratelimit-limit"), 800);
    mock.shutdown().await;
}

mod conduits;
