//! Cluster mode end to end on this machine's NATS and PostgreSQL: one node
//! of each role against the Twitch look-alike's conduit. Follows go through
//! the conduit to ingest, the stream, a worker running the channel's plugin,
//! PostgreSQL, and an edge's overlay socket; a channel never sees another's
//! data; the operations endpoints answer; SIGTERM drains.

mod support;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::cluster::{ChannelCreds, Cluster};
use tokio_tungstenite::tungstenite::Message;

const NEEDS: &str = "needs NATS and PostgreSQL: cargo xtask test runs it";

/// Settings that make the cluster react quickly in tests.
const QUICK: &[&str] = &["--lease-secs", "3", "--poll-secs", "2", "--partitions", "4"];

/// Reads an overlay socket for `wait`, acknowledging every alert; answers the
/// alerts received.
async fn overlay_alerts(edge: &str, key: &str, wait: Duration, want: usize) -> Vec<Value> {
    let url = format!(
        "ws://{}/overlay/alerts/ws",
        edge.trim_start_matches("http://")
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("overlay socket");
    socket
        .send(Message::Text(
            json!({"type": "hello", "key": key}).to_string().into(),
        ))
        .await
        .unwrap();
    let mut alerts = Vec::new();
    let deadline = Instant::now() + wait;
    while alerts.len() < want && Instant::now() < deadline {
        let next = tokio::time::timeout(Duration::from_millis(200), socket.next()).await;
        let Ok(Some(Ok(Message::Text(text)))) = next else {
            if let Ok(None | Some(Err(_))) = next {
                break;
            }
            continue;
        };
        let message: Value = serde_json::from_str(&text).unwrap();
        if message["type"] == "alert" {
            let id = message["id"].as_str().unwrap().to_owned();
            socket
                .send(Message::Text(
                    json!({"type": "ack", "id": id}).to_string().into(),
                ))
                .await
                .unwrap();
            alerts.push(message);
        } else if message["type"] == "error" {
            alerts.push(message);
            break;
        }
    }
    let _ = socket.close(None).await;
    alerts
}

async fn wait_for_events(
    cluster: &Cluster,
    edge: usize,
    channel: &ChannelCreds,
    n: usize,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let events = cluster.events(edge, &channel.dashboard_token, 500).await;
        if events.len() >= n {
            return events;
        }
        assert!(
            Instant::now() < deadline,
            "channel {} has {} of {n} events",
            channel.login,
            events.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs NATS and PostgreSQL: cargo xtask test runs it"]
async fn follows_reach_each_channels_overlay_and_no_channel_sees_another() {
    let _ = NEEDS;
    let mut cluster = Cluster::start(QUICK).await;
    let edge = cluster.spawn("edge", "edge-1", &[]);
    let worker = cluster.spawn("worker", "worker-1", &[]);
    let ingest = cluster.spawn("ingest", "ingest-1", &[]);
    cluster.wait_ready(edge, Duration::from_secs(30)).await;

    let package = support::cluster::package(cluster.dir.path(), "follow-alert");
    let mut channels = Vec::new();
    for login in ["alpha", "bravo", "charlie"] {
        let creds = cluster.add_channel(edge, login).await;
        cluster
            .install(edge, &creds, "follow-alert", &package)
            .await;
        // No speech: this test is about overlay alerts.
        let r = cluster
            .http
            .put(format!(
                "{}/api/plugins/follow-alert/settings",
                cluster.url(edge)
            ))
            .bearer_auth(&creds.dashboard_token)
            .json(&json!({"speak": login == "charlie", "title": format!("Hi from {login}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        channels.push(creds);
    }
    cluster.wait_ready(worker, Duration::from_secs(30)).await;
    // Ready once every channel has its subscriptions.
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.wait_ready(ingest, Duration::from_secs(30)).await;

    // Different counts per channel, so a mix-up shows.
    let control = cluster.twitch.control();
    for (n, channel) in channels.iter().enumerate() {
        control
            .bulk_follows(&channel.id, 3 + n * 2, None)
            .await
            .unwrap();
    }
    let mut stored: HashMap<String, Vec<Value>> = HashMap::new();
    for (n, channel) in channels.iter().enumerate() {
        let events = wait_for_events(&cluster, edge, channel, 3 + n * 2).await;
        stored.insert(channel.id.clone(), events);
    }
    for (n, channel) in channels.iter().enumerate() {
        let events = &stored[&channel.id];
        assert_eq!(
            events.len(),
            3 + n * 2,
            "{}: each follow stored once",
            channel.login
        );
        for e in events {
            assert_eq!(e["kind"], "channel.follow");
            assert_eq!(
                e["event"]["channel_id"], channel.id,
                "{}'s token shows only {}'s events",
                channel.login, channel.login
            );
        }
        // The overlay key gets this channel's alerts only, each once.
        let items = overlay_alerts(
            &cluster.url(edge),
            &channel.overlay_key,
            Duration::from_secs(20),
            3 + n * 2,
        )
        .await;
        assert_eq!(
            items.len(),
            3 + n * 2,
            "{}: alerts {items:?}",
            channel.login
        );
        let distinct: HashSet<&str> = items.iter().map(|a| a["id"].as_str().unwrap()).collect();
        assert_eq!(
            distinct.len(),
            items.len(),
            "an alert sent twice on one socket"
        );
        // charlie's settings say thanks aloud: each alert carries it.
        for alert in &items {
            match alert["tts"].as_str() {
                Some(tts) => {
                    assert_eq!(channel.login, "charlie", "{alert}");
                    assert!(tts.starts_with("Thanks for the follow, "), "{tts}");
                }
                None => assert_ne!(channel.login, "charlie", "{alert}"),
            }
        }
        let alerts = items;
        let ids: HashSet<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
        for alert in &alerts {
            assert_eq!(
                alert["title"],
                format!("Hi from {}", channel.login),
                "settings applied"
            );
            assert!(
                ids.contains(alert["event_id"].as_str().unwrap()),
                "alert of another channel: {alert}"
            );
        }
        // Acknowledged: once the acks are recorded, the queue is empty and a
        // page connecting again gets nothing.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let queue: Value = cluster
                .http
                .get(format!("{}/api/overlays/alerts", cluster.url(edge)))
                .bearer_auth(&channel.dashboard_token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if queue["queued"].as_array().unwrap().is_empty() {
                break;
            }
            assert!(Instant::now() < deadline, "acks not recorded: {queue}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let again = overlay_alerts(
            &cluster.url(edge),
            &channel.overlay_key,
            Duration::from_millis(2500),
            1,
        )
        .await;
        assert!(again.is_empty(), "acknowledged alerts came back: {again:?}");
    }

    // A settings change reaches the workers (a change notice): the next
    // follow's alert has the new title.
    let alpha = &channels[0];
    let r = cluster
        .http
        .put(format!(
            "{}/api/plugins/follow-alert/settings",
            cluster.url(edge)
        ))
        .bearer_auth(&alpha.dashboard_token)
        .json(&json!({"speak": false, "title": "Changed on the fly"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    control.bulk_follows(&alpha.id, 1, None).await.unwrap();
    let changed = overlay_alerts(
        &cluster.url(edge),
        &alpha.overlay_key,
        Duration::from_secs(20),
        1,
    )
    .await;
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0]["title"], "Changed on the fly");

    // A wrong key is refused; a dashboard token cannot reach the operator API.
    let refused = overlay_alerts(&cluster.url(edge), "not-a-key", Duration::from_secs(5), 1).await;
    assert_eq!(refused[0]["type"], "error");
    let r = cluster
        .http
        .get(format!("{}/api/channels", cluster.url(edge)))
        .bearer_auth(&channels[0].dashboard_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // One channel's token cannot change another's plugin (it acts only on
    // its own channel, where bravo's plugin name does not exist).
    let r = cluster
        .http
        .delete(format!("{}/api/plugins/other", cluster.url(edge)))
        .bearer_auth(&channels[0].dashboard_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Operations endpoints of every role.
    for node in [edge, worker, ingest] {
        let metrics = cluster
            .http
            .get(format!("{}/metrics", cluster.url(node)))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(metrics.contains("stagehand_events_in"), "{metrics}");
    }
    let worker_metrics = cluster
        .http
        .get(format!("{}/metrics", cluster.url(worker)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(worker_metrics.contains("stagehand_event_stored_latency_p99_seconds"));

    // Logs are JSON lines; those about a channel carry its id.
    let logs = cluster.log(ingest);
    assert!(
        logs.lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "JSON logs"
    );

    // SIGTERM drains: a clean exit, readiness gone first.
    assert_eq!(
        cluster.terminate(worker, Duration::from_secs(20)),
        Some(0),
        "{}",
        cluster.log_tail(worker, 20)
    );
    assert_eq!(
        cluster.terminate(ingest, Duration::from_secs(20)),
        Some(0),
        "{}",
        cluster.log_tail(ingest, 20)
    );
    assert_eq!(
        cluster.terminate(edge, Duration::from_secs(20)),
        Some(0),
        "{}",
        cluster.log_tail(edge, 20)
    );
    cluster.delete_stream().await;
}

async fn status_and_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs NATS and PostgreSQL: cargo xtask test runs it"]
async fn the_edge_refuses_bad_input_with_clear_errors_and_changes_nothing() {
    let mut cluster = Cluster::start(QUICK).await;
    let edge = cluster.spawn("edge", "edge-1", &[]);
    cluster.wait_ready(edge, Duration::from_secs(30)).await;
    let base = cluster.url(edge);
    let http = cluster.http.clone();
    let operator = support::cluster::OPERATOR_TOKEN;

    // Channels: only the operator, only well-formed, only once.
    let post = |body: Value, token: Option<&str>| {
        let mut r = http.post(format!("{base}/api/channels")).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let good = json!({"id": "4242", "login": "someone"});
    assert_eq!(
        status_and_code(post(good.clone(), None).await.unwrap())
            .await
            .0,
        401
    );
    assert_eq!(
        status_and_code(post(good.clone(), Some("wrong")).await.unwrap())
            .await
            .0,
        401
    );
    for bad in [
        json!({"id": "12a", "login": "x"}),
        json!({"id": "1.2", "login": "x"}),
        json!({"id": "*", "login": "x"}),
        json!({"id": "123456789012345678901", "login": "x"}),
        json!({"id": "42", "login": "<script>"}),
        json!({"id": "42", "login": ""}),
    ] {
        let (status, code) =
            status_and_code(post(bad.clone(), Some(operator)).await.unwrap()).await;
        assert_eq!((status, code.as_str()), (400, "bad_request"), "{bad}");
    }
    let (status, code) = status_and_code(
        post(
            json!({"id": "42", "login": "x", "extra": 1}),
            Some(operator),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "bad_json"));
    let huge = json!({"id": "42", "login": "x".repeat(300 * 1024)});
    assert_eq!(
        status_and_code(post(huge, Some(operator)).await.unwrap())
            .await
            .0,
        413
    );
    let created: Value = post(good.clone(), Some(operator))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = created["dashboard_token"].as_str().unwrap().to_owned();
    let (status, code) = status_and_code(post(good.clone(), Some(operator)).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (409, "channel_exists"));

    // Plugins: packages are checked before anything is stored.
    let put = |path: &str, body: Vec<u8>| {
        http.put(format!("{base}/api/plugins/{path}"))
            .bearer_auth(&token)
            .body(body)
            .send()
    };
    let (status, code) =
        status_and_code(put("greeter", b"not a package".to_vec()).await.unwrap()).await;
    assert_eq!(status, 422, "{code}");
    let (status, _) = status_and_code(put("Bad%20Name", b"\0asm".to_vec()).await.unwrap()).await;
    assert_eq!(status, 400);
    let (status, _) =
        status_and_code(put("greeter", vec![0u8; 34 * 1024 * 1024]).await.unwrap()).await;
    assert_eq!(status, 413);
    let package = support::cluster::package(cluster.dir.path(), "follow-alert");
    let (status, code) = status_and_code(put("greeter", package.clone()).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (422, "name_mismatch"));
    assert_eq!(put("follow-alert", package).await.unwrap().status(), 200);
    let settings = |body: &'static str| {
        http.put(format!("{base}/api/plugins/follow-alert/settings"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let (status, code) = status_and_code(settings(r#"{"duration_ms": 5}"#).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (422, "invalid_settings"));
    let (status, code) = status_and_code(settings("{not json").await.unwrap()).await;
    assert_eq!((status, code.as_str()), (400, "bad_json"));
    let (status, code) = status_and_code(
        http.put(format!("{base}/api/plugins/follow-alert/grants"))
            .bearer_auth(&token)
            .json(&json!({"granted": ["chat"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, code.as_str()), (422, "not_requested"));
    let (status, _) = status_and_code(
        http.put(format!("{base}/api/plugins/missing/settings"))
            .bearer_auth(&token)
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    let (status, code) = status_and_code(
        http.get(format!("{base}/api/events?limit=lots"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "bad_query"));

    // Nothing refused left a trace: one channel, one plugin, its settings
    // untouched.
    let channels: Value = http
        .get(format!("{base}/api/channels"))
        .bearer_auth(operator)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(channels["channels"].as_array().unwrap().len(), 1);
    let plugins: Value = http
        .get(format!("{base}/api/plugins"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let plugins = plugins["plugins"].as_array().unwrap();
    assert_eq!(plugins.len(), 1);
    assert_eq!(plugins[0]["name"], "follow-alert");
    assert_eq!(plugins[0]["settings"], Value::Null);
    assert!(plugins[0]["granted"].as_array().unwrap().is_empty());

    // The live socket refuses a wrong token with 4003.
    let url = format!("ws://{}/api/live", base.trim_start_matches("http://"));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    socket
        .send(Message::Text(
            json!({"type": "hello", "token": "nope"}).to_string().into(),
        ))
        .await
        .unwrap();
    let mut closed_with = None;
    while let Ok(Some(message)) = tokio::time::timeout(Duration::from_secs(5), socket.next()).await
    {
        if let Ok(Message::Close(Some(frame))) = message {
            closed_with = Some(u16::from(frame.code));
            break;
        }
    }
    assert_eq!(closed_with, Some(4003));
    cluster.delete_stream().await;
}

/// A channel's role lists through edge `edge`'s `GET /api/roles`.
async fn roles(cluster: &Cluster, edge: usize, channel: &ChannelCreds) -> Value {
    let r = cluster
        .http
        .get(format!("{}/api/roles", cluster.url(edge)))
        .bearer_auth(&channel.dashboard_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// The logins of a `GET /api/roles` list, sorted.
fn logins(list: &Value) -> Vec<String> {
    let mut out: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["login"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

/// Waits until `check` accepts a channel's roles.
async fn wait_for_roles(
    cluster: &Cluster,
    edge: usize,
    channel: &ChannelCreds,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = roles(cluster, edge, channel).await;
        if check(&now) {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "{}: {what}; roles: {now}",
            channel.login
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A list change in a look-alike channel, with no EventSub notification:
/// only the pollers can find it.
async fn quietly(cluster: &Cluster, channel: &ChannelCreds, kind: &str, login: &str) {
    cluster
        .twitch
        .control()
        .trigger(
            twitch_lookalike::Trigger::new(kind)
                .user(login)
                .channel(&channel.id)
                .quiet(),
        )
        .await
        .unwrap_or_else(|e| panic!("{kind} {login} in {}: {e}", channel.login));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs NATS and PostgreSQL: cargo xtask test runs it"]
async fn list_pollers_announce_role_sub_and_ban_changes_of_their_channel_only() {
    let common: Vec<&str> = QUICK
        .iter()
        .copied()
        .chain(["--roles-poll-secs", "1"])
        .collect();
    let mut cluster = Cluster::start(&common).await;
    let edge = cluster.spawn("edge", "edge-1", &[]);
    let worker = cluster.spawn("worker", "worker-1", &[]);
    cluster.wait_ready(edge, Duration::from_secs(30)).await;
    let a = cluster.add_channel(edge, "alpha").await;
    let b = cluster.add_channel(edge, "bravo").await;
    // Who holds a role before the cluster serves the channel is recorded,
    // not announced.
    quietly(&cluster, &a, "channel.vip.add", "early_vip").await;
    quietly(&cluster, &b, "channel.moderator.add", "bravo_mod").await;
    let ingest = cluster.spawn("ingest", "ingest-1", &[]);
    cluster.wait_ready(worker, Duration::from_secs(30)).await;
    cluster.wait_ready(ingest, Duration::from_secs(30)).await;
    wait_for_roles(&cluster, edge, &a, "baseline", |r| {
        logins(&r["vips"]) == ["early_vip"]
    })
    .await;
    wait_for_roles(&cluster, edge, &b, "baseline", |r| {
        logins(&r["moderators"]) == ["bravo_mod"]
    })
    .await;
    // The lists are polled one after the other each second: a few rounds
    // on, every list of A has its baseline.
    tokio::time::sleep(Duration::from_secs(3)).await;
    quietly(&cluster, &a, "channel.ban", "first_troll").await;
    wait_for_roles(&cluster, edge, &a, "first ban", |r| r["banned"] == 1).await;
    let first = wait_for_events(&cluster, edge, &a, 1).await;
    assert_eq!(first[0]["kind"], "channel.ban");

    // Changes to every list of A.
    quietly(&cluster, &a, "channel.vip.add", "vicky").await;
    quietly(&cluster, &a, "channel.vip.remove", "early_vip").await;
    quietly(&cluster, &a, "channel.moderator.add", "moe").await;
    quietly(&cluster, &a, "channel.subscribe", "sam").await;
    quietly(&cluster, &a, "channel.unban", "first_troll").await;
    let events = wait_for_events(&cluster, edge, &a, 6).await;
    let mut found: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            assert_eq!(e["source"], "poll", "{e}");
            assert_eq!(e["event"]["channel_id"], a.id.as_str(), "{e}");
            assert!(e["id"].as_str().unwrap().starts_with("poll-"), "{e}");
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["event"]["viewer"]["login"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    let pair = |k: &str, l: &str| (k.to_owned(), l.to_owned());
    assert_eq!(
        found,
        [
            pair("channel.ban", "first_troll"),
            pair("channel.moderator.add", "moe"),
            pair("channel.subscribe", "sam"),
            pair("channel.unban", "first_troll"),
            pair("channel.vip.add", "vicky"),
            pair("channel.vip.remove", "early_vip"),
        ]
    );
    let now = wait_for_roles(&cluster, edge, &a, "changes recorded", |r| {
        logins(&r["vips"]) == ["vicky"] && r["banned"] == 0 && r["subscribers"] == 1
    })
    .await;
    assert_eq!(logins(&now["moderators"]), ["moe"]);
    assert_eq!(
        now["vips"][0]["id"].as_str().map(str::is_empty),
        Some(false)
    );

    // B: its own baseline, none of A's changes, no events.
    let b_roles = roles(&cluster, edge, &b).await;
    assert_eq!(
        b_roles,
        json!({"vips": [], "moderators": b_roles["moderators"].clone(), "subscribers": 0, "banned": 0})
    );
    assert_eq!(logins(&b_roles["moderators"]), ["bravo_mod"]);
    assert!(
        cluster
            .events(edge, &b.dashboard_token, 50)
            .await
            .is_empty()
    );

    // Polls that find nothing new store nothing.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(cluster.events(edge, &a.dashboard_token, 50).await.len(), 6);

    // A role revoked and granted again is announced both times.
    quietly(&cluster, &a, "channel.vip.remove", "vicky").await;
    wait_for_roles(&cluster, edge, &a, "vicky's VIP revoked", |r| {
        logins(&r["vips"]).is_empty()
    })
    .await;
    quietly(&cluster, &a, "channel.vip.add", "vicky").await;
    let events = wait_for_events(&cluster, edge, &a, 8).await;
    let vicky: Vec<&str> = events
        .iter()
        .filter(|e| e["event"]["viewer"]["login"] == "vicky")
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    // Newest first.
    assert_eq!(
        vicky,
        ["channel.vip.add", "channel.vip.remove", "channel.vip.add"]
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(cluster.events(edge, &a.dashboard_token, 50).await.len(), 8);
    assert!(
        cluster
            .events(edge, &b.dashboard_token, 50)
            .await
            .is_empty()
    );
    let log = cluster.log(ingest);
    assert!(!log.contains("list poll failed"), "{log}");
    cluster.delete_stream().await;
}
