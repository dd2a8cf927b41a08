//! Socket-level tests of many channels and conduits: app tokens, the
//! conduit API, shards on real WebSocket sessions, routing, disabled
//! shards, retries and bulk follows.

use super::*;

fn app(
    mock: &MockTwitch,
    token: &str,
    method: reqwest::Method,
    path: &str,
) -> reqwest::RequestBuilder {
    http()
        .request(method, format!("{}{path}", mock.api_url()))
        .bearer_auth(token)
        .header("Client-Id", mock.client_id())
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

async fn create_conduit(mock: &MockTwitch, token: &str, shards: u32) -> String {
    let (status, body) = json_of(
        app(mock, token, reqwest::Method::POST, "/eventsub/conduits")
            .json(&json!({"shard_count": shards}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["shard_count"], shards);
    body["data"][0]["id"].as_str().unwrap().to_owned()
}

async fn assign(mock: &MockTwitch, token: &str, conduit: &str, shards: Value) -> Value {
    let (status, body) = json_of(
        app(
            mock,
            token,
            reqwest::Method::PATCH,
            "/eventsub/conduits/shards",
        )
        .json(&json!({"conduit_id": conduit, "shards": shards}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    body
}

async fn subscribe_on_conduit(
    mock: &MockTwitch,
    token: &str,
    conduit: &str,
    kind: &str,
    version: &str,
    condition: Value,
) -> (u16, Value) {
    json_of(
        app(
            mock,
            token,
            reqwest::Method::POST,
            "/eventsub/subscriptions",
        )
        .json(&json!({
            "type": kind, "version": version, "condition": condition,
            "transport": {"method": "conduit", "conduit_id": conduit}
        }))
        .send()
        .await
        .unwrap(),
    )
    .await
}

async fn subscribe_follows(mock: &MockTwitch, token: &str, conduit: &str, channel: &str) {
    let condition = json!({"broadcaster_user_id": channel, "moderator_user_id": channel});
    let (status, body) =
        subscribe_on_conduit(mock, token, conduit, "channel.follow", "2", condition).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body["data"][0]["transport"],
        json!({"method": "conduit", "conduit_id": conduit})
    );
}

/// A conduit of `shards` shards, each a fresh WebSocket session, and the
/// sockets in shard order.
async fn conduit_with_sessions(
    mock: &MockTwitch,
    token: &str,
    shards: u32,
) -> (String, Vec<Ws>, Vec<String>) {
    let conduit = create_conduit(mock, token, shards).await;
    let mut sockets = Vec::new();
    let mut sessions = Vec::new();
    let mut updates = Vec::new();
    for shard in 0..shards {
        let (ws, session) = welcomed(&mock.eventsub_url()).await;
        updates.push(json!({
            "id": shard.to_string(),
            "transport": {"method": "websocket", "session_id": session}
        }));
        sockets.push(ws);
        sessions.push(session);
    }
    let body = assign(mock, token, &conduit, Value::Array(updates)).await;
    assert_eq!(body["errors"], json!([]));
    assert_eq!(body["data"].as_array().unwrap().len(), shards as usize);
    (conduit, sockets, sessions)
}

/// The next notification on `ws` (keepalives skipped).
async fn next_notification(ws: &mut Ws) -> Value {
    loop {
        let frame = next_json(ws).await;
        if frame["metadata"]["message_type"] == "notification" {
            return frame;
        }
    }
}

/// Whether `ws` gets a notification within `wait` (keepalives skipped).
async fn quiet_for(ws: &mut Ws, wait: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return true,
            Ok(Some(Ok(Message::Text(text)))) => {
                let frame: Value = serde_json::from_str(text.as_str()).unwrap();
                if frame["metadata"]["message_type"] == "notification" {
                    return false;
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(_) => return true,
        }
    }
}

#[tokio::test]
async fn client_credentials_give_an_app_token_without_a_user() {
    let mock = start(MockOptions::fast()).await;
    let token_url = format!("{}/token", mock.auth_url());
    let (status, body) = json_of(
        http()
            .post(&token_url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", mock.client_id()),
                ("client_secret", mock.client_secret()),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "bearer");
    assert!(body["expires_in"].as_u64().unwrap() > 0);
    assert!(body.get("refresh_token").is_none());
    let token = body["access_token"].as_str().unwrap();
    let (status, validated) = json_of(
        http()
            .get(format!("{}/validate", mock.auth_url()))
            .header("Authorization", format!("OAuth {token}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(validated["client_id"], mock.client_id());
    assert!(validated.get("user_id").is_none() && validated.get("login").is_none());

    let (status, _) = json_of(
        http()
            .post(&token_url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", mock.client_id()),
                ("client_secret", "wrong"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn conduits_are_created_listed_updated_and_deleted() {
    let mock = start(MockOptions::fast()).await;
    let token = mock.app_access_token();
    let conduit = create_conduit(&mock, &token, 3).await;

    let (status, list) = json_of(
        app(&mock, &token, reqwest::Method::GET, "/eventsub/conduits")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["data"], json!([{"id": conduit, "shard_count": 3}]));

    let (status, updated) = json_of(
        app(&mock, &token, reqwest::Method::PATCH, "/eventsub/conduits")
            .json(&json!({"id": conduit, "shard_count": 5}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(updated["data"][0]["shard_count"], 5);

    let shards_path = format!("/eventsub/conduits/shards?conduit_id={conduit}");
    let (status, shards) = json_of(
        app(&mock, &token, reqwest::Method::GET, &shards_path)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(shards["data"].as_array().unwrap().len(), 5);
    assert_eq!(shards["data"][4]["id"], "4");
    assert_eq!(shards["data"][4]["status"], "websocket_disconnected");

    // Bad bodies answer Helix's 400 shape.
    for bad in [
        json!({}),
        json!({"shard_count": 0}),
        json!({"shard_count": "two"}),
    ] {
        let (status, body) = json_of(
            app(&mock, &token, reqwest::Method::POST, "/eventsub/conduits")
                .json(&bad)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(body["error"], "Bad Request");
        assert_eq!(body["status"], 400);
        assert!(body["message"].as_str().unwrap().contains("shard_count"));
    }
    let (status, _) = json_of(
        app(&mock, &token, reqwest::Method::PATCH, "/eventsub/conduits")
            .json(&json!({"shard_count": 2}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);

    // Five conduits per client.
    for _ in 0..4 {
        create_conduit(&mock, &token, 1).await;
    }
    let (status, _) = json_of(
        app(&mock, &token, reqwest::Method::POST, "/eventsub/conduits")
            .json(&json!({"shard_count": 1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 429);

    let delete = format!("/eventsub/conduits?id={conduit}");
    let response = app(&mock, &token, reqwest::Method::DELETE, &delete)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    let response = app(&mock, &token, reqwest::Method::DELETE, &delete)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let (_, list) = json_of(
        app(&mock, &token, reqwest::Method::GET, "/eventsub/conduits")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["data"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn conduits_and_their_subscriptions_need_an_app_token() {
    let mock = start(MockOptions::fast()).await;
    let user_token = mock.access_token().to_owned();
    for (method, path) in [
        (reqwest::Method::GET, "/eventsub/conduits"),
        (reqwest::Method::POST, "/eventsub/conduits"),
        (
            reqwest::Method::GET,
            "/eventsub/conduits/shards?conduit_id=x",
        ),
    ] {
        let (status, body) = json_of(
            app(&mock, &user_token, method, path)
                .json(&json!({"shard_count": 1}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 401, "{path}: {body}");
    }
    let token = mock.app_access_token();
    let conduit = create_conduit(&mock, &token, 1).await;
    let (id, _) = mock.broadcaster();
    let condition = json!({"broadcaster_user_id": id, "moderator_user_id": id});
    let (status, body) = subscribe_on_conduit(
        &mock,
        &user_token,
        &conduit,
        "channel.follow",
        "2",
        condition.clone(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["message"], "invalid transport and auth combination");

    // An app token cannot make a WebSocket subscription either.
    let (_ws, session) = welcomed(&mock.eventsub_url()).await;
    let (status, _) = json_of(
        app(
            &mock,
            &token,
            reqwest::Method::POST,
            "/eventsub/subscriptions",
        )
        .json(&json!({
            "type": "channel.follow", "version": "2", "condition": condition,
            "transport": {"method": "websocket", "session_id": session}
        }))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 400);

    // Only hosted channels authorised the client.
    let stranger = json!({"broadcaster_user_id": "42", "moderator_user_id": "42"});
    let (status, _) =
        subscribe_on_conduit(&mock, &token, &conduit, "channel.follow", "2", stranger).await;
    assert!(status == 400 || status == 403, "{status}");
    let (status, _) = subscribe_on_conduit(
        &mock,
        &token,
        "not-a-conduit",
        "channel.follow",
        "2",
        condition.clone(),
    )
    .await;
    assert_eq!(status, 400);
    let (status, body) = subscribe_on_conduit(
        &mock,
        &token,
        &conduit,
        "channel.follow",
        "2",
        condition.clone(),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["max_total_cost"], 10_000);
    let (status, _) =
        subscribe_on_conduit(&mock, &token, &conduit, "channel.follow", "2", condition).await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn shard_updates_answer_per_shard_errors() {
    let mock = start(MockOptions::fast()).await;
    let token = mock.app_access_token();
    let conduit = create_conduit(&mock, &token, 2).await;
    let (_ws, session) = welcomed(&mock.eventsub_url()).await;
    let body = assign(
        &mock,
        &token,
        &conduit,
        json!([
            {"id": "0", "transport": {"method": "websocket", "session_id": session}},
            {"id": "1", "transport": {"method": "websocket", "session_id": "AgoQnope"}},
            {"id": "7", "transport": {"method": "websocket", "session_id": session}},
        ]),
    )
    .await;
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["id"], "0");
    assert_eq!(data[0]["status"], "enabled");
    assert_eq!(data[0]["transport"]["method"], "websocket");
    assert_eq!(data[0]["transport"]["session_id"], session.as_str());
    assert!(data[0]["transport"]["connected_at"].is_string());
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0]["id"], "1");
    assert_eq!(
        errors[0]["message"],
        "The websocket session is not connected"
    );
    assert_eq!(errors[1]["id"], "7");
    assert_eq!(
        errors[1]["message"],
        "The shard id is outside the conduit's range"
    );
    assert!(errors.iter().all(|e| e["code"].is_string()));

    // A request without shards, or for someone else's conduit, fails whole.
    let (status, body) = json_of(
        app(
            &mock,
            &token,
            reqwest::Method::PATCH,
            "/eventsub/conduits/shards",
        )
        .json(&json!({"conduit_id": conduit}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "Bad Request");
    let (status, _) = json_of(
        app(
            &mock,
            &token,
            reqwest::Method::PATCH,
            "/eventsub/conduits/shards",
        )
        .json(&json!({"conduit_id": "nope", "shards": [{"id": "0"}]}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 404);

    let enabled = format!("/eventsub/conduits/shards?conduit_id={conduit}&status=enabled");
    let (_, shards) = json_of(
        app(&mock, &token, reqwest::Method::GET, &enabled)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(shards["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_conduit_carries_each_channels_follows_and_channels_keep_their_own_state() {
    let mock = start(MockOptions::fast()).await;
    let control = mock.control();
    let (first, _) = mock.broadcaster();
    let (second, login) = control.add_channel("Second_Channel").await.unwrap();
    assert_eq!(login, "second_channel");
    assert_eq!(control.channels().await.len(), 2);
    let token = mock.app_access_token();
    let (conduit, mut sockets, _) = conduit_with_sessions(&mock, &token, 2).await;
    subscribe_follows(&mock, &token, &conduit, &first).await;
    subscribe_follows(&mock, &token, &conduit, &second).await;

    for (channel, user) in [(&first, "fan_of_first"), (&second, "fan_of_second")] {
        let sent = control
            .trigger(
                Trigger::new("channel.follow")
                    .user(user)
                    .channel(channel.clone()),
            )
            .await
            .unwrap();
        let delivery = &sent.events[0].deliveries[0];
        let shard: usize = delivery.shard_id.as_deref().unwrap().parse().unwrap();
        let frame = next_notification(&mut sockets[shard]).await;
        assert_eq!(
            frame["metadata"]["message_id"],
            delivery.message_id.as_str()
        );
        let event = &frame["payload"]["event"];
        assert_eq!(event["broadcaster_user_id"], channel.as_str());
        assert_eq!(event["user_login"], user);
        assert_eq!(
            frame["payload"]["subscription"]["transport"],
            json!({"method": "conduit", "conduit_id": conduit})
        );
    }
    // The same channel keeps to the same shard.
    let shard_of = |sent: &Sent| sent.events[0].deliveries[0].shard_id.clone();
    let a = control
        .trigger(Trigger::new("follow").channel(second.clone()))
        .await
        .unwrap();
    let b = control
        .trigger(Trigger::new("follow").channel("second_channel"))
        .await
        .unwrap();
    assert_eq!(shard_of(&a), shard_of(&b));
    let counts = control.routing_counts().await;
    assert_eq!(counts.shards.iter().map(|s| s.delivered).sum::<u64>(), 4);
    assert_eq!((counts.retried, counts.dropped), (0, 0));

    // Each channel's followers are its own.
    for (channel, user, other) in [
        (&first, "fan_of_first", "fan_of_second"),
        (&second, "fan_of_second", "fan_of_first"),
    ] {
        let user_token = control.user_token(channel).await.unwrap();
        let path = format!("/channels/followers?broadcaster_id={channel}");
        let (status, body) = json_of(
            app(&mock, &user_token, reqwest::Method::GET, &path)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let logins: Vec<&str> = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["user_login"].as_str().unwrap())
            .collect();
        assert!(logins.contains(&user), "{logins:?}");
        assert!(!logins.contains(&other), "{logins:?}");
    }
    assert!(
        control
            .trigger(Trigger::new("follow").channel("nobody"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_closed_shard_is_disabled_and_announced_through_another() {
    let mock = start(MockOptions::fast()).await;
    let control = mock.control();
    let token = mock.app_access_token();
    let (conduit, mut sockets, sessions) = conduit_with_sessions(&mock, &token, 2).await;
    let (status, body) = subscribe_on_conduit(
        &mock,
        &token,
        &conduit,
        "conduit.shard.disabled",
        "1",
        json!({"client_id": mock.client_id()}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let (id, _) = mock.broadcaster();
    subscribe_follows(&mock, &token, &conduit, &id).await;

    let mut closed = sockets.remove(0);
    closed.close(None).await.unwrap();
    let frame = next_notification(&mut sockets[0]).await;
    assert_eq!(
        frame["metadata"]["subscription_type"],
        "conduit.shard.disabled"
    );
    let event = &frame["payload"]["event"];
    assert_eq!(event["conduit_id"], conduit.as_str());
    assert_eq!(event["shard_id"], "0");
    assert_eq!(event["status"], "websocket_disconnected");
    assert_eq!(event["transport"]["method"], "websocket");
    assert_eq!(event["transport"]["session_id"], sessions[0].as_str());
    assert!(event["transport"]["disconnected_at"].is_string());

    let path = format!("/eventsub/conduits/shards?conduit_id={conduit}");
    let (_, shards) = json_of(
        app(&mock, &token, reqwest::Method::GET, &path)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(shards["data"][0]["status"], "websocket_disconnected");
    assert_eq!(shards["data"][1]["status"], "enabled");

    // Everything goes through the shard left until shard 0 has a session.
    for _ in 0..3 {
        let sent = control.trigger(Trigger::new("follow")).await.unwrap();
        assert_eq!(sent.events[0].deliveries[0].shard_id.as_deref(), Some("1"));
        next_notification(&mut sockets[0]).await;
    }
    let (mut fresh, session) = welcomed(&mock.eventsub_url()).await;
    let body = assign(
        &mock,
        &token,
        &conduit,
        json!([{"id": "0", "transport": {"method": "websocket", "session_id": session}}]),
    )
    .await;
    assert_eq!(body["data"][0]["status"], "enabled");
    // With both shards back, some channel routes to shard 0 again.
    let mut reached_zero = false;
    for n in 0..32 {
        let (channel, _) = control.add_channel(&format!("extra{n}")).await.unwrap();
        subscribe_follows(&mock, &token, &conduit, &channel).await;
        let sent = control
            .trigger(Trigger::new("follow").channel(channel))
            .await
            .unwrap();
        if sent.events[0].deliveries[0].shard_id.as_deref() == Some("0") {
            next_notification(&mut fresh).await;
            reached_zero = true;
            break;
        }
        next_notification(&mut sockets[0]).await;
    }
    assert!(reached_zero);
}

#[tokio::test]
async fn a_failed_send_is_retried_once_on_another_shard_then_dropped() {
    let mock = start(MockOptions::fast()).await;
    let control = mock.control();
    let token = mock.app_access_token();
    let (conduit, mut sockets, sessions) = conduit_with_sessions(&mock, &token, 2).await;
    let (id, _) = mock.broadcaster();
    subscribe_follows(&mock, &token, &conduit, &id).await;

    let first = control.trigger(Trigger::new("follow")).await.unwrap();
    let home: usize = first.events[0].deliveries[0]
        .shard_id
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    next_notification(&mut sockets[home]).await;
    let other = 1 - home;

    assert!(control.fail_sends(&sessions[home], 1).await);
    let sent = control.trigger(Trigger::new("follow")).await.unwrap();
    let delivery = &sent.events[0].deliveries[0];
    assert_eq!(delivery.shard_id, Some(other.to_string()));
    let frame = next_notification(&mut sockets[other]).await;
    assert_eq!(
        frame["metadata"]["message_id"],
        delivery.message_id.as_str()
    );
    assert!(quiet_for(&mut sockets[home], Duration::from_millis(100)).await);

    // Both shards failing: dropped.
    control.fail_sends(&sessions[home], 1).await;
    control.fail_sends(&sessions[other], 1).await;
    let sent = control.trigger(Trigger::new("follow")).await.unwrap();
    assert!(sent.events[0].deliveries.is_empty());
    let counts = control.routing_counts().await;
    assert_eq!(counts.retried, 2);
    assert_eq!(counts.dropped, 1);
    let delivered: u64 = counts.shards.iter().map(|s| s.delivered).sum();
    assert_eq!(delivered, 2);

    // No enabled shard at all: dropped too.
    control.drop_connections().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    control.trigger(Trigger::new("follow")).await.unwrap();
    assert_eq!(control.routing_counts().await.dropped, 2);
}

#[tokio::test]
async fn a_session_assigned_to_a_shard_is_not_closed_as_unused() {
    let mock = start(MockOptions {
        subscribe_deadline: Duration::from_millis(300),
        ..MockOptions::fast()
    })
    .await;
    let token = mock.app_access_token();
    let (_conduit, mut sockets, _) = conduit_with_sessions(&mock, &token, 1).await;
    let (mut unused, _) = welcomed(&mock.eventsub_url()).await;
    match next(&mut unused).await {
        Seen::Close(code) => assert_eq!(code, Some(4003)),
        other => panic!("expected 4003, got {other:?}"),
    }
    assert!(quiet_for(&mut sockets[0], Duration::from_millis(600)).await);
    let live = mock
        .control()
        .sessions()
        .await
        .iter()
        .filter(|s| s.status == SessionStatus::Connected)
        .count();
    assert_eq!(live, 1);
}

#[tokio::test]
async fn bulk_follows_fill_the_follower_lists_and_reach_the_shards() {
    let mock = start(MockOptions::fast()).await;
    let control = mock.control();
    let token = mock.app_access_token();
    let (conduit, mut sockets, _) = conduit_with_sessions(&mock, &token, 2).await;
    let mut channels = Vec::new();
    for n in 0..4 {
        let (id, _) = control
            .add_channel(&format!("bulk_channel{n}"))
            .await
            .unwrap();
        subscribe_follows(&mock, &token, &conduit, &id).await;
        channels.push(id);
    }
    let report = control.bulk_follows(&channels[0], 300, None).await.unwrap();
    assert_eq!((report.follows, report.delivered), (300, 300));
    let paced = control
        .bulk_follows("bulk_channel1", 20, Some(200.0))
        .await
        .unwrap();
    assert_eq!(paced.delivered, 20);
    assert!(paced.elapsed_secs >= 0.08, "{}", paced.elapsed_secs);

    let summaries = control.channels().await;
    let followers = |id: &str| summaries.iter().find(|c| c.id == id).unwrap().followers;
    assert_eq!(followers(&channels[0]), 300);
    assert_eq!(followers(&channels[1]), 20);
    assert_eq!(followers(&channels[2]), 0);

    let mut got = 0;
    for ws in &mut sockets {
        while !quiet_for(ws, Duration::from_millis(200)).await {
            got += 1;
        }
    }
    // quiet_for consumed one notification per false answer.
    assert_eq!(got, 320);
    let user_token = control.user_token(&channels[0]).await.unwrap();
    let path = format!("/channels/followers?broadcaster_id={}&first=5", channels[0]);
    let (_, body) = json_of(
        app(&mock, &user_token, reqwest::Method::GET, &path)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body["total"], 300);
    assert!(
        body["data"][0]["user_login"]
            .as_str()
            .unwrap()
            .starts_with("bulk_follower")
    );
}

#[tokio::test]
async fn the_control_api_adds_channels_bulk_follows_and_reports_routing() {
    let mock = start(MockOptions::fast()).await;
    let control_url = mock.control_url();
    let post = |path: &str, body: Value| {
        http()
            .post(format!("{control_url}{path}"))
            .bearer_auth(mock.control_secret())
            .json(&body)
            .send()
    };
    let (status, added) = json_of(
        post("/channels", json!({"login": "over_http"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{added}");
    assert_eq!(added["login"], "over_http");
    assert!(added["access_token"].is_string());
    let (status, sent) = json_of(
        post(
            "/trigger",
            json!({"kind": "follow", "user": "http_fan", "channel": "over_http"}),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(
        sent["events"][0]["event"]["broadcaster_user_id"],
        added["id"]
    );
    let (status, report) = json_of(
        post(
            "/bulk-follows",
            json!({"channel": added["id"], "count": 50}),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["follows"], 50);
    let (status, _) = json_of(
        post("/bulk-follows", json!({"channel": "missing", "count": 1}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    let get = |path: &str| {
        http()
            .get(format!("{control_url}{path}"))
            .bearer_auth(mock.control_secret())
            .send()
    };
    let (_, channels) = json_of(get("/channels").await.unwrap()).await;
    assert_eq!(channels[1]["followers"], 51);
    let (status, routing) = json_of(get("/routing").await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(routing, json!({"shards": [], "retried": 0, "dropped": 0}));
}
