//! End-to-end: the Redis bridge of a real host process against the
//! machine's real Redis (127.0.0.1:6379). A Discord bot's messages
//! published on a channel become typed events in `/api/events` (with the
//! formatter's display); malformed messages are counted and do not stop
//! the bridge; a killed connection is made again and later messages
//! arrive; every stored event is published as JSON on the publish channel;
//! an unreachable Redis is reported, and degrades `/healthz` only after
//! 30 s.
//!
//! Every test uses channels no other test uses, so they run in parallel
//! without seeing each other's messages; connections are killed by the
//! name the bridge gives them, never by type.

mod support;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use support::pubsub::{
    self, SETTLE, URL, bridge, events_of, publish, unique_channel, wait_bridge, wait_connected,
    wait_event,
};
use support::{Host, client, install_plugin, raw_get};

/// The bot's giveaway messages, as it publishes them.
fn giveaway_create(timestamp: i64) -> String {
    json!({
        "type": "GIVEAWAY_CREATE",
        "guildId": "987654321098765432",
        "timestamp": timestamp,
        "data": {"giveawayId": "g-42", "prize": "Steam key"},
    })
    .to_string()
}

fn giveaway_end(timestamp: i64) -> String {
    json!({
        "type": "GIVEAWAY_END",
        "guildId": "987654321098765432",
        "timestamp": timestamp,
        "data": {"giveawayId": "g-42", "winnerId": "123456789012345678"},
    })
    .to_string()
}

fn member_join(user: &str) -> String {
    json!({
        "type": "MEMBER_JOIN",
        "guildId": "987654321098765432",
        "timestamp": 1_733_400_000_000i64,
        "data": {"userId": user, "username": format!("name-{user}")},
    })
    .to_string()
}

fn start_host(dir: &std::path::Path, channels: &str, extra: &[(&str, &str)]) -> Host {
    let mut env = vec![
        ("STAGEHAND_REDIS_URL", URL),
        ("STAGEHAND_REDIS_CHANNELS", channels),
    ];
    env.extend_from_slice(extra);
    Host::start(dir, "run", &env)
}

#[tokio::test]
async fn giveaway_messages_become_typed_events() {
    let mut bot = pubsub::connect().await;
    let channel = unique_channel("giveaway");
    let other = unique_channel("other");
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "event-formatter");
    let host = start_host(dir.path(), &format!("{channel},{other}"), &[]);
    let state = wait_connected(&host).await;
    assert_eq!(state["configured"], true);
    assert_eq!(state["url"], URL);
    assert_eq!(state["channels"], json!([channel, other]));
    assert_eq!(state["messages"], 0);

    let created_at = 1_733_400_000_123i64;
    assert_eq!(
        publish(&mut bot, &channel, &giveaway_create(created_at)).await,
        1,
        "the bridge is subscribed"
    );
    publish(&mut bot, &channel, &giveaway_end(created_at + 60_000)).await;

    let created = wait_event(&host, "discord.giveaway.create", |e| {
        e["details"]["guild_id"] == "987654321098765432"
    })
    .await;
    assert_eq!(created["source"], "external");
    assert_eq!(
        created["viewer"],
        Value::Null,
        "a Discord member is no Twitch viewer"
    );
    assert_eq!(created["occurred_at"], "2024-12-05T12:00:00.123Z");
    let details = &created["details"];
    assert_eq!(details["giveaway_id"], "g-42");
    assert_eq!(details["prize"], "Steam key");
    assert_eq!(
        details["data"],
        json!({"giveawayId": "g-42", "prize": "Steam key"})
    );
    assert!(created["id"].as_str().unwrap().starts_with("redis:"));

    let ended = wait_event(&host, "discord.giveaway.end", |_| true).await;
    assert_eq!(ended["details"]["winner_id"], "123456789012345678");
    assert_eq!(ended["details"]["giveaway_id"], "g-42");

    // The formatter shows them (its display may come a moment later).
    let deadline = Instant::now() + SETTLE;
    loop {
        let shown = &events_of(&host, "discord.giveaway.create").await[0];
        if let Some(text) = shown["display"]["text"].as_str() {
            assert_eq!(text, "Giveaway started: Steam key");
            break;
        }
        assert!(Instant::now() < deadline, "no display: {shown}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The bot publishing the same message again: stored once.
    publish(&mut bot, &channel, &giveaway_create(created_at)).await;
    // Any other JSON object: an event named after its channel.
    publish(&mut bot, &other, r#"{"hello":"world","n":3}"#).await;
    let kind = format!("redis.{other}");
    let plain = wait_event(&host, &kind, |_| true).await;
    assert_eq!(plain["source"], "external");
    assert_eq!(plain["details"], json!({"hello": "world", "n": 3}));
    assert_eq!(
        events_of(&host, "discord.giveaway.create").await.len(),
        1,
        "a re-published message is a duplicate"
    );

    let state = wait_bridge(&host, "four messages", |s| s["messages"] == 4).await;
    assert_eq!(state["malformed"], 0);
    assert!(state["last_message_at"].is_string(), "{state}");
    assert_eq!(state["reconnects"], 0);
    host.stop();
}

#[tokio::test]
async fn malformed_messages_are_counted_and_do_not_stop_the_bridge() {
    let mut bot = pubsub::connect().await;
    let channel = unique_channel("malformed");
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path(), &channel, &[]);
    wait_connected(&host).await;

    let huge = format!(r#"{{"pad":"{}"}}"#, "Z".repeat(70 * 1024));
    let bad = [
        "this is not json".to_owned(),
        "[1, 2, 3]".to_owned(),
        huge,
        r#"{"type":"GIVEAWAY_CREATE","guildId":"1","data":{"prize":["not","text"]}}"#.to_owned(),
        r#"{"type":"MEMBER_JOIN","timestamp":"yesterday"}"#.to_owned(),
    ];
    for payload in &bad {
        assert_eq!(publish(&mut bot, &channel, payload).await, 1);
    }
    // A good message after them still arrives.
    publish(&mut bot, &channel, &member_join("after-the-bad-ones")).await;
    let joined = wait_event(&host, "discord.member.join", |e| {
        e["details"]["user_id"] == "after-the-bad-ones"
    })
    .await;
    assert_eq!(joined["details"]["username"], "name-after-the-bad-ones");

    let state = wait_bridge(&host, "six messages", |s| s["messages"] == 6).await;
    assert_eq!(state["malformed"], 5, "{state}");
    assert_eq!(state["connected"], true);
    assert_eq!(
        state["reconnects"], 0,
        "malformed messages cost no connection"
    );
    // Nothing was stored for them.
    let all: Vec<Value> = support::get_json(&host, "/api/events?limit=50").await;
    assert_eq!(all.len(), 1, "{all:?}");

    let log = host.stop();
    assert!(log.contains("malformed message on Redis"), "{log}");
    assert!(log.contains("not JSON"), "the reason is logged");
    assert!(
        !log.contains(&"Z".repeat(200)),
        "an oversize payload is not dumped into the log"
    );
}

/// The bridge's connection in `CLIENT LIST`, by the name it gave itself.
async fn client_id(bot: &mut redis::aio::MultiplexedConnection, name: &str) -> Option<String> {
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(bot)
        .await
        .expect("CLIENT LIST");
    list.lines()
        .find(|line| line.split(' ').any(|field| field == format!("name={name}")))
        .and_then(|line| line.split(' ').find_map(|f| f.strip_prefix("id=")))
        .map(str::to_owned)
}

#[tokio::test]
async fn a_killed_connection_is_made_again_and_later_messages_arrive() {
    let mut bot = pubsub::connect().await;
    let channel = unique_channel("kill");
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path(), &channel, &[]);
    let state = wait_connected(&host).await;
    let name = state["client_name"]
        .as_str()
        .expect("client_name")
        .to_owned();
    publish(&mut bot, &channel, &member_join("before")).await;
    wait_event(&host, "discord.member.join", |e| {
        e["details"]["user_id"] == "before"
    })
    .await;

    for round in 1..=2u64 {
        let id = client_id(&mut bot, &name)
            .await
            .unwrap_or_else(|| panic!("the bridge's connection {name} is in CLIENT LIST"));
        let killed: i64 = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("ID")
            .arg(&id)
            .query_async(&mut bot)
            .await
            .expect("CLIENT KILL");
        assert_eq!(killed, 1);
        let state = wait_bridge(&host, "reconnected", |s| {
            s["reconnects"] == round && s["connected"] == true
        })
        .await;
        assert!(
            state["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("closed")),
            "{state}"
        );
        // Subscribed again (a new connection): the next message arrives.
        let user = format!("after-kill-{round}");
        let deadline = Instant::now() + SETTLE;
        while publish(&mut bot, &channel, &member_join(&user)).await == 0 {
            assert!(Instant::now() < deadline, "never subscribed again");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        wait_event(&host, "discord.member.join", |e| {
            e["details"]["user_id"] == user
        })
        .await;
        assert_ne!(
            client_id(&mut bot, &name).await,
            Some(id),
            "a new connection"
        );
    }
    // A reconnect is no reason to call the host degraded.
    let (status, body) = raw_get(&host.base, "/healthz").expect("healthz");
    assert_eq!(status, 200, "{body}");
    host.stop();
}

#[tokio::test]
async fn every_stored_event_is_published_as_json() {
    let mut bot = pubsub::connect().await;
    let inbound = unique_channel("in");
    let outbound = unique_channel("out");
    let listener = redis::Client::open(URL).unwrap();
    let mut subscription = listener.get_async_pubsub().await.expect("a subscriber");
    subscription.subscribe(&outbound).await.unwrap();
    let mut heard = subscription.into_on_message();

    let dir = tempfile::tempdir().unwrap();
    let host = start_host(
        dir.path(),
        &inbound,
        &[("STAGEHAND_REDIS_PUBLISH", &outbound)],
    );
    wait_connected(&host).await;
    wait_bridge(&host, "publishing", |s| s["publish_connected"] == true).await;

    // Two Twitch-side events and one from the bot, in this order.
    let http = client();
    let mut sent = Vec::new();
    for (kind, details) in [
        ("channel.follow", json!({"username": "Follower_One"})),
        (
            "channel.cheer",
            json!({"username": "Cheerer", "bits": 100, "message": "hi"}),
        ),
    ] {
        let resp = http
            .post(host.url("/api/events/test"))
            .json(&json!({"kind": kind, "details": details}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let created: Value = resp.json().await.unwrap();
        sent.push(created["id"].as_str().unwrap().to_owned());
    }
    publish(&mut bot, &inbound, &member_join("from-discord")).await;
    let joined = wait_event(&host, "discord.member.join", |_| true).await;
    sent.push(joined["id"].as_str().unwrap().to_owned());

    let mut received = Vec::new();
    while received.len() < sent.len() {
        let message = tokio::time::timeout(SETTLE, heard.next())
            .await
            .expect("a published event")
            .expect("the subscription is open");
        let payload: String = message.get_payload().unwrap();
        let event: Value = serde_json::from_str(&payload).expect("JSON");
        received.push(event);
    }
    let ids: Vec<&str> = received.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, sent, "every stored event, in order");
    assert_eq!(received[0]["kind"], "channel.follow");
    assert_eq!(received[0]["source"], "test");
    assert_eq!(received[0]["details"]["username"], "Follower_One");
    assert!(received[0]["seq"].is_i64() && received[0]["received_at"].is_string());
    assert_eq!(received[1]["details"]["bits"], 100);
    // An event from Redis goes out too (on another channel than it came on).
    assert_eq!(received[2]["kind"], "discord.member.join");
    assert_eq!(received[2]["source"], "external");
    assert_eq!(received[2]["details"]["user_id"], "from-discord");

    let state = wait_bridge(&host, "three published", |s| s["published"] == 3).await;
    assert_eq!(state["publish_channel"], json!(outbound));
    assert_eq!(state["publish_dropped"], 0);
    host.stop();
}

#[tokio::test]
async fn an_unreachable_redis_is_reported_and_degrades_health_only_after_30_s() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    // Nothing listens on port 1.
    let host = Host::start(
        dir.path(),
        "run",
        &[
            ("STAGEHAND_REDIS_URL", "redis://:hunter2@127.0.0.1:1"),
            ("STAGEHAND_REDIS_PUBLISH", "stagehand_unreachable_out"),
        ],
    );
    let state = wait_bridge(&host, "an error", |s| s["last_error"].is_string()).await;
    assert_eq!(state["configured"], true);
    assert_eq!(state["connected"], false);
    assert_eq!(
        state["url"], "redis://:***@127.0.0.1:1",
        "no password shown"
    );
    assert_eq!(state["channels"], json!(["discord_events"]));
    assert!(
        state["last_error"].as_str().unwrap().contains("connect"),
        "{state}"
    );
    let (status, body) = raw_get(&host.base, "/healthz").expect("healthz");
    if started.elapsed() < Duration::from_secs(25) {
        assert_eq!(status, 200, "not degraded yet: {body}");
    }

    // While Redis is away, events wait to be published, up to 1000; the
    // rest are dropped and counted. The host stores them all.
    let http = client();
    for n in 0..1010 {
        let resp = http
            .post(host.url("/api/events/test"))
            .json(&json!({"kind": "channel.follow", "details": {"username": format!("f{n}")}}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
    }
    let state = wait_bridge(&host, "ten dropped", |s| s["publish_dropped"] == 10).await;
    assert_eq!(state["published"], 0);

    let deadline = Instant::now() + Duration::from_secs(60);
    let body = loop {
        let (status, body) = raw_get(&host.base, "/healthz").expect("healthz");
        if status == 503 {
            break body;
        }
        assert!(Instant::now() < deadline, "never degraded: {body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(
        started.elapsed() > Duration::from_secs(30),
        "degraded only after 30 s"
    );
    let health: Value = serde_json::from_str(&body).unwrap();
    let reason = health["problems"]["redis"]
        .as_str()
        .expect("a redis problem");
    assert!(reason.contains("127.0.0.1:1"), "{reason}");
    assert!(reason.contains("disconnected for"), "{reason}");
    assert!(!body.contains("hunter2"), "{body}");
    let log = host.stop();
    assert!(
        !log.contains("hunter2"),
        "the password stays out of the log"
    );
}

#[test]
fn redis_settings_that_cannot_work_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            vec![("STAGEHAND_REDIS_URL", "http://127.0.0.1:6379")],
            "STAGEHAND_REDIS_URL",
        ),
        (
            vec![("STAGEHAND_REDIS_CHANNELS", "discord_events")],
            "set STAGEHAND_REDIS_URL",
        ),
        (
            vec![
                ("STAGEHAND_REDIS_URL", URL),
                ("STAGEHAND_REDIS_PUBLISH", "discord_events"),
            ],
            "would come back",
        ),
        (
            vec![
                ("STAGEHAND_REDIS_URL", URL),
                ("STAGEHAND_REDIS_CHANNELS", "two words"),
            ],
            "STAGEHAND_REDIS_CHANNELS",
        ),
    ];
    for (env, needle) in cases {
        let mut command = support::stagehand(dir.path());
        command.arg("run").envs(env.iter().copied());
        let out = command.output().expect("run stagehand");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{env:?}: {stderr}");
        assert!(stderr.contains(needle), "{env:?}: {stderr}");
    }
}

#[tokio::test]
async fn without_a_url_the_bridge_is_off() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(dir.path(), "run", &[]);
    let state = bridge(&host).await;
    assert_eq!(state["configured"], false);
    assert_eq!(state["connected"], false);
    assert_eq!(state["url"], Value::Null);
    let (status, _) = raw_get(&host.base, "/healthz").expect("healthz");
    assert_eq!(status, 200);
    // The API needs the token like every other route.
    let resp = support::anonymous()
        .get(host.url("/api/external"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    host.stop();
}
