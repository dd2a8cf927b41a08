//! End-to-end: the pollers and the role sync of a host process against the
//! Twitch look-alike: the fallback taking over when EventSub drops, one
//! event for a change both sources see, the polling and role sync API.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::twitch::*;
use support::{Host, client, get_json};
use twitch_lookalike::Trigger;

async fn polling(host: &Host) -> Vec<Value> {
    get_json::<Value>(host, "/api/polling")
        .await
        .as_array()
        .cloned()
        .unwrap()
}

async fn poller(host: &Host, name: &str) -> Value {
    polling(host)
        .await
        .into_iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no poller {name}"))
}

/// A host with fast pollers (1 s) against `mock`.
fn fast_env(mock: &twitch_lookalike::MockTwitch) -> Vec<(String, String)> {
    let mut env = twitch_env(mock, 10, false);
    for name in [
        "FOLLOWERS",
        "SUBSCRIPTIONS",
        "VIPS",
        "MODERATORS",
        "BANS",
        "CLIPS",
    ] {
        env.push((format!("STAGEHAND_POLL_{name}_SECS"), "1".into()));
    }
    env
}

async fn disconnect_eventsub(host: &Host) {
    let resp = client()
        .post(host.url("/api/eventsub/disconnect"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    eventually("EventSub down", || async {
        eventsub(host).await["connected"] == false
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pollers_stretch_while_eventsub_is_healthy_and_take_over_when_it_drops() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path(), &fast_env(&mock));
    connected(&host).await;
    eventually("followers baseline taken and stretched", || async {
        let p = poller(&host, "followers").await;
        p["last_run_at"].is_string() && p["stretched"] == true
    })
    .await;
    let followers = poller(&host, "followers").await;
    assert!(followers["effective_interval_secs"].as_u64().unwrap() >= 7200);
    assert_eq!(followers["interval_secs"], 1);
    // Clips have no EventSub counterpart: never stretched.
    assert_eq!(poller(&host, "clips").await["stretched"], false);

    disconnect_eventsub(&host).await;
    eventually("fast intervals again", || async {
        let p = poller(&host, "followers").await;
        p["stretched"] == false && p["effective_interval_secs"] == 1
    })
    .await;
    // Changes EventSub would have announced are now found by polling.
    let control = mock.control();
    control.follow("quiet_follower").await.unwrap();
    control.add_vip("quiet_vip").await.unwrap();
    control.ban("quiet_troll", "spam").await.unwrap();
    eventually("the polled follow, VIP and ban", || async {
        let f = events(&host, "channel.follow").await;
        let v = events(&host, "channel.vip.add").await;
        let b = events(&host, "channel.ban").await;
        f.iter()
            .any(|e| e["viewer"]["login"] == "quiet_follower" && e["source"] == "poll")
            && v.iter()
                .any(|e| e["viewer"]["login"] == "quiet_vip" && e["source"] == "poll")
            && b.iter()
                .any(|e| e["viewer"]["login"] == "quiet_troll" && e["source"] == "poll")
    })
    .await;
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_both_sources_see_is_stored_once() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path(), &fast_env(&mock));
    connected(&host).await;
    eventually("baselines taken", || async {
        let all = polling(&host).await;
        ["followers", "vips", "moderators", "subscriptions", "bans"]
            .iter()
            .all(|n| {
                all.iter()
                    .any(|p| p["name"] == *n && p["last_run_at"].is_string())
            })
    })
    .await;
    // EventSub delivers these (and the look-alike's state now shows them).
    trigger(&mock, Trigger::new("channel.follow").user("both_follow")).await;
    trigger(&mock, Trigger::new("channel.vip.add").user("both_vip")).await;
    trigger(&mock, Trigger::new("channel.subscribe").user("both_sub")).await;
    wait_for_events(&host, "channel.subscribe", 1).await;
    // Then polling runs every second and sees the same state.
    disconnect_eventsub(&host).await;
    let runs_before = poller(&host, "followers").await["last_run_at"].clone();
    eventually("several fast polls after the drop", || async {
        poller(&host, "followers").await["last_run_at"] != runs_before
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for (kind, login) in [
        ("channel.follow", "both_follow"),
        ("channel.vip.add", "both_vip"),
        ("channel.subscribe", "both_sub"),
    ] {
        let matching: Vec<Value> = events(&host, kind)
            .await
            .into_iter()
            .filter(|e| e["viewer"]["login"] == login)
            .collect();
        assert_eq!(matching.len(), 1, "{kind} for {login}: {matching:?}");
        assert_eq!(matching[0]["source"], "eventsub");
    }
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_poll_sets_a_baseline_and_emits_nothing() {
    let mock = twitch_lookalike::MockTwitch::start(twitch_lookalike::MockOptions {
        followers: 300,
        vips: 5,
        moderators: 3,
        subscribers: 20,
        bans: 4,
        clips: 6,
        ..twitch_lookalike::MockOptions::fast()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path(), &fast_env(&mock));
    connected(&host).await;
    disconnect_eventsub(&host).await;
    eventually("every poller ran twice", || async {
        let all = polling(&host).await;
        [
            "followers",
            "vips",
            "moderators",
            "subscriptions",
            "bans",
            "clips",
        ]
        .iter()
        .all(|n| {
            all.iter().any(|p| {
                p["name"] == *n
                    && p["last_report"].is_object()
                    && p["last_report"]["baseline"] == false
            })
        })
    })
    .await;
    let polled: Vec<Value> = get_json::<Value>(&host, "/api/events?limit=500")
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] == "poll")
        .cloned()
        .collect();
    assert!(
        polled.is_empty(),
        "no alerts for existing state: {polled:?}"
    );
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_polling_api_changes_intervals_and_refuses_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    // No Twitch login: the schedule is still served and changeable.
    let host = tokio::task::block_in_place(|| Host::start(dir.path(), "run", &[]));
    let all = polling(&host).await;
    let names: Vec<&str> = all.iter().map(|p| p["name"].as_str().unwrap()).collect();
    for name in [
        "bans",
        "clips",
        "followers",
        "followers_full",
        "moderators",
        "role_sync",
        "subscriptions",
        "vips",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    assert_eq!(poller(&host, "followers").await["interval_secs"], 60);

    let put = |name: &str, body: Value| {
        client()
            .put(host.url(&format!("/api/polling/{name}")))
            .json(&body)
            .send()
    };
    let resp = put("followers", json!({"interval_secs": 30, "enabled": false}))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let row: Value = resp.json().await.unwrap();
    assert_eq!(row["interval_secs"], 30);
    assert_eq!(row["enabled"], false);
    assert_eq!(poller(&host, "followers").await["interval_secs"], 30);

    for (name, body, status) in [
        ("nope", json!({"interval_secs": 30}), 404),
        ("followers", json!({"interval_secs": 0}), 400),
        ("followers", json!({"interval": 30}), 400),
        ("followers", json!({}), 400),
    ] {
        let resp = put(name, body.clone()).await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "{name} {body}");
    }
    let malformed = client()
        .put(host.url("/api/polling/followers"))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status().as_u16(), 400);
    let body: Value = malformed.json().await.unwrap();
    assert!(body["error"]["message"].is_string());
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interval_from_the_environment_is_applied_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let host = tokio::task::block_in_place(|| {
        Host::start(dir.path(), "run", &[("STAGEHAND_POLL_BANS_SECS", "45")])
    });
    assert_eq!(poller(&host, "bans").await["interval_secs"], 45);
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_role_sync_runs_on_request_once_per_window_and_on_stream_start() {
    let mock = twitch_lookalike::MockTwitch::start(twitch_lookalike::MockOptions {
        subscribers: 4,
        vips: 2,
        moderators: 1,
        ..twitch_lookalike::MockOptions::fast()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path(), &twitch_env(&mock, 10, false));
    connected(&host).await;
    mock.control().add_vip("new_vip").await.unwrap();
    let sync = || client().post(host.url("/api/roles/sync")).send();
    let resp = sync().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let result: Value = resp.json().await.unwrap();
    assert_eq!(result["status"], "completed", "{result}");
    assert_eq!(result["trigger"], "manual");
    assert_eq!(result["success"], true);
    assert_eq!(result["vip_count"], 3);
    assert_eq!(result["sub_count"], 4);
    assert_eq!(result["mod_count"], 1);
    assert_eq!(
        count(
            dir.path(),
            "SELECT COUNT(*) FROM viewer_roles r JOIN viewers v ON v.id = r.viewer_id
             WHERE v.login = 'new_vip' AND r.role_type = 'vip' AND r.revoked_at IS NULL"
        ),
        1
    );
    let again: Value = sync().await.unwrap().json().await.unwrap();
    assert_eq!(again["status"], "skipped", "{again}");
    assert!(again["next_allowed_at"].is_string());

    trigger(&mock, Trigger::new("stream.online")).await;
    wait_for_events(&host, "stream.online", 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = host.stop();
    assert!(
        log.contains("stream-start"),
        "the stream start ran a sync: {log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_role_sync_needs_a_login() {
    let dir = tempfile::tempdir().unwrap();
    let host = tokio::task::block_in_place(|| Host::start(dir.path(), "run", &[]));
    let resp = client()
        .post(host.url("/api/roles/sync"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 409);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stagehand login")
    );
    host.stop();
}
