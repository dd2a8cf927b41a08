//! End-to-end: the host process against the Twitch look-alike over real
//! sockets on 127.0.0.1: login state, subscriptions, notifications into
//! events and domain tables, and every protocol fault of the Twitch issue.

mod support;

use std::time::Duration;

use serde_json::Value;
use stagehand::twitch::auth;
use stagehand::twitch::eventsub::subscriptions::WANTED;
use support::twitch::*;
use support::{Host, client, get_json};
use twitch_lookalike::{MockTwitch, Trigger};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_become_events_and_domain_rows() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path(), &twitch_env(&mock, 10, false));
    connected(&host).await;
    let status = eventsub(&host).await;
    assert_eq!(status["auth"]["state"], "valid");
    assert_eq!(status["auth"]["login"], "stagehand_demo");

    trigger(&mock, Trigger::new("channel.follow").user("alice")).await;
    trigger(
        &mock,
        Trigger {
            tier: Some("2000".into()),
            ..Trigger::new("channel.subscribe").user("bob")
        },
    )
    .await;
    trigger(&mock, Trigger::new("channel.vip.add").user("carol")).await;
    trigger(
        &mock,
        Trigger {
            total: Some(3),
            ..Trigger::new("channel.subscription.gift").user("dave")
        },
    )
    .await;
    trigger(
        &mock,
        Trigger {
            bits: Some(250),
            ..Trigger::new("channel.cheer").user("erin")
        },
    )
    .await;

    let follows = wait_for_events(&host, "channel.follow", 1).await;
    assert_eq!(follows[0]["source"], "eventsub");
    assert_eq!(follows[0]["viewer"]["login"], "alice");
    assert_eq!(follows[0]["channel_id"], "100000001");
    let cheers = wait_for_events(&host, "channel.cheer", 1).await;
    assert_eq!(cheers[0]["details"]["bits"], 250);
    let gifts = wait_for_events(&host, "channel.subscription.gift", 1).await;
    assert_eq!(gifts[0]["details"]["total"], 3);
    // bob's sub plus the three gifted ones.
    let subs = wait_for_events(&host, "channel.subscribe", 4).await;
    assert_eq!(
        subs.iter()
            .filter(|s| s["details"]["is_gift"] == true)
            .count(),
        3
    );

    let d = dir.path();
    assert_eq!(
        count(
            d,
            "SELECT COUNT(*) FROM current_followers c JOIN viewers v ON v.id = c.viewer_id WHERE v.login = 'alice'"
        ),
        1
    );
    assert_eq!(
        count(
            d,
            "SELECT COUNT(*) FROM viewer_roles r JOIN viewers v ON v.id = r.viewer_id WHERE v.login = 'carol' AND r.role_type = 'vip' AND r.revoked_at IS NULL"
        ),
        1
    );
    assert_eq!(
        count(
            d,
            "SELECT COUNT(*) FROM viewer_subscriptions s JOIN viewers v ON v.id = s.viewer_id WHERE v.login = 'bob' AND s.tier = '2000' AND s.end_date IS NULL"
        ),
        1
    );
    // Each gifted recipient is subscribed; the gifter is not.
    assert_eq!(
        count(
            d,
            "SELECT COUNT(*) FROM viewer_subscriptions WHERE is_gift = 1 AND end_date IS NULL"
        ),
        3
    );
    assert_eq!(
        count(
            d,
            "SELECT COUNT(*) FROM viewer_subscriptions s JOIN viewers v ON v.id = s.viewer_id WHERE v.login = 'dave'"
        ),
        0
    );
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_are_dropped_and_counted_and_the_connection_stays() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path(), &twitch_env(&mock, 10, false));
    let session = connected(&host).await;
    let control = mock.control();

    trigger(&mock, Trigger::new("channel.follow").user("first")).await;
    wait_for_events(&host, "channel.follow", 1).await;
    assert_eq!(control.send_raw("{not json").await, 1);
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let unknown_type = format!(
        r#"{{"metadata":{{"message_id":"mystery-1","message_type":"session_mystery","message_timestamp":"{now}"}},"payload":{{}}}}"#
    );
    control.send_raw(&unknown_type).await;
    assert_eq!(control.resend_last().await, 1);
    assert_eq!(control.send_stale().await, 1);
    control
        .send_notification(
            "channel.future_thing",
            "1",
            serde_json::json!({"broadcaster_user_id": "100000001", "shiny": true}),
        )
        .await;
    trigger(&mock, Trigger::new("channel.follow").user("second")).await;

    let follows = wait_for_events(&host, "channel.follow", 2).await;
    assert_eq!(
        follows.len(),
        2,
        "the duplicate and the stale copy were dropped"
    );
    let status = eventsub(&host).await;
    assert_eq!(status["dropped"]["malformed"], 1);
    assert_eq!(status["dropped"]["unknown_type"], 1);
    assert_eq!(status["dropped"]["duplicate"], 1);
    assert_eq!(status["dropped"]["stale"], 1);
    assert_eq!(
        status["dropped"]["unsubscribed"], 1,
        "a notification of a type never subscribed to is ignored and counted"
    );
    let all: Vec<serde_json::Value> = support::get_json(&host, "/api/events?limit=50").await;
    assert!(
        all.iter().all(|e| e["kind"] != "channel.future_thing"),
        "{all:#?}"
    );
    assert_eq!(status["session_id"], session.as_str(), "no reconnect");
    assert_eq!(status["reconnects"], 0);
    let log = host.stop();
    assert!(log.contains("malformed EventSub message"), "{log}");
    assert!(log.contains("older than 10 minutes"), "{log}");
}

/// Waits until the host runs a different session than `old`, subscribed.
async fn reconnected(host: &Host, old: &str) -> String {
    eventually("a new session", || async {
        let s = eventsub(host).await;
        s["connected"] == true && s["session_id"].as_str().is_some_and(|id| id != old)
    })
    .await;
    connected(host).await
}

/// After a drop of any kind, the host is back on a new session with its
/// subscriptions created again, and events flow.
async fn assert_recovers(mock: &MockTwitch, host: &Host, old: &str, user: &str) {
    let new = reconnected(host, old).await;
    let sessions = mock.control().sessions().await;
    let current = sessions
        .iter()
        .find(|s| s.id == new)
        .expect("the new session");
    assert_eq!(
        current.subscriptions.len(),
        WANTED.len(),
        "subscribed again"
    );
    assert!(current.subscriptions.iter().all(|s| s.status == "enabled"));
    trigger(mock, Trigger::new("channel.follow").user(user)).await;
    eventually("the follow after the reconnect", || async {
        events(host, "channel.follow")
            .await
            .iter()
            .any(|e| e["viewer"]["login"] == user)
    })
    .await;
    assert!(eventsub(host).await["reconnects"].as_u64().unwrap() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_beyond_the_keepalive_window_reconnects_and_resubscribes() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path(), &twitch_env(&mock, 1, false));
    let session = connected(&host).await;
    assert_eq!(eventsub(&host).await["keepalive_timeout_secs"], 1);
    assert_eq!(mock.control().stop_keepalives().await, 1);
    assert_recovers(&mock, &host, &session, "after-silence").await;
    let log = host.stop();
    assert!(log.contains("presumed dead"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abrupt_drop_reconnects_and_resubscribes() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path(), &twitch_env(&mock, 10, false));
    let session = connected(&host).await;
    assert_eq!(mock.control().drop_connections().await, 1);
    assert_recovers(&mock, &host, &session, "after-drop").await;
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_codes_reconnect_and_are_named() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path(), &twitch_env(&mock, 10, false));
    let mut session = connected(&host).await;
    for code in [4000u16, 4004, 4007] {
        assert_eq!(mock.control().close_with(code).await, 1);
        assert_recovers(&mock, &host, &session, &format!("after-{code}")).await;
        session = eventsub(&host).await["session_id"]
            .as_str()
            .unwrap()
            .to_owned();
    }
    let log = host.stop();
    assert!(log.contains("closed by Twitch with 4000"), "{log}");
    assert!(log.contains("the reconnect URL was invalid"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_reconnect_mid_burst_loses_and_doubles_nothing() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path(), &twitch_env(&mock, 10, false));
    let old = connected(&host).await;
    let creates_before = mock.control().request_count("eventsub/subscriptions").await;

    let control = mock.control();
    let burst = tokio::spawn(async move {
        for i in 0..80 {
            if i == 40 {
                assert_eq!(control.reconnect().await.len(), 1);
            }
            control
                .trigger(Trigger::new("channel.follow").user(format!("burst{i}")))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    burst.await.unwrap();

    let follows = wait_for_events(&host, "channel.follow", 80).await;
    let mut names: Vec<&str> = follows
        .iter()
        .map(|e| e["viewer"]["login"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 80, "every follow once");
    let status = eventsub(&host).await;
    assert_eq!(status["session_moves"], 1);
    assert_ne!(status["session_id"], old.as_str());
    assert!(
        status["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "enabled")
    );
    // Subscriptions carried over: none created again (Twitch would answer 409).
    assert_eq!(
        mock.control().request_count("eventsub/subscriptions").await,
        creates_before
    );
    let sessions = mock.control().sessions().await;
    let old_session = sessions.iter().find(|s| s.id == old).unwrap();
    assert_ne!(
        old_session.close_code,
        Some(4004),
        "moved within the grace period"
    );
    assert_ne!(old_session.close_code, Some(4007));
    // Still exactly 80 after a while: nothing arrives twice late.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(events(&host, "channel.follow").await.len(), 80);
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_marks_the_subscription() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path(), &twitch_env(&mock, 10, false));
    connected(&host).await;
    let revoked = mock
        .control()
        .revoke(Some("channel.cheer"), "authorization_revoked")
        .await;
    assert_eq!(revoked.len(), 1);
    eventually("the revocation in the status", || async {
        eventsub(&host).await["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["type"] == "channel.cheer" && s["status"] == "authorization_revoked")
    })
    .await;
    let status = eventsub(&host).await;
    assert_eq!(status["connected"], true, "the rest keeps flowing");
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_on_subscribe_refreshes_the_token_and_retries_once() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    write_token_file(dir.path(), &mock);
    mock.control()
        .fail_helix("eventsub/subscriptions", 401, 1)
        .await;
    let host = start_host(dir.path(), &twitch_env(&mock, 10, true));
    connected(&host).await;
    let saved = auth::load_token(&auth::token_path(dir.path()))
        .unwrap()
        .unwrap();
    assert_ne!(saved.access_token, mock.access_token(), "refreshed");
    assert_ne!(
        saved.refresh_token.as_deref(),
        Some(mock.refresh_token()),
        "the rotated refresh token is saved"
    );
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_with_a_reset_header_is_waited_out() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    mock.control()
        .fail_helix("eventsub/subscriptions", 429, 2)
        .await;
    let host = start_host(dir.path(), &twitch_env(&mock, 10, false));
    connected(&host).await;
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_refresh_token_asks_to_log_in_again_and_keeps_serving() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    write_token_file(dir.path(), &mock);
    let control = mock.control();
    assert!(control.expire_access_token(mock.access_token()).await);
    assert!(control.invalidate_refresh_token(mock.refresh_token()).await);
    let host = start_host(dir.path(), &twitch_env(&mock, 10, true));
    let status = eventsub(&host).await;
    assert_eq!(status["auth"]["state"], "needs_login", "{status}");
    assert!(
        status["auth"]["reason"]
            .as_str()
            .unwrap()
            .contains("stagehand login"),
        "{status}"
    );
    assert_eq!(status["connected"], false);
    assert_eq!(status["state"], "needs_login");
    // The overlay and dashboard side keeps working.
    let health = support::anonymous()
        .get(host.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert!(health.status().is_success());
    let posted = client()
        .post(host.url("/api/events/test"))
        .json(&serde_json::json!({"kind": "channel.follow", "details": {"username": "x"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status().as_u16(), 201);
    let connect = client()
        .post(host.url("/api/eventsub/connect"))
        .send()
        .await
        .unwrap();
    assert_eq!(connect.status().as_u16(), 409);
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_the_token_lacks_scopes_for_are_skipped_by_name() {
    let mock = mock().await;
    assert!(
        mock.control()
            .remove_scope(mock.access_token(), "bits:read")
            .await
    );
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path(), &twitch_env(&mock, 10, false));
    eventually("subscribed with one skipped", || async {
        let s = eventsub(&host).await;
        let subs = s["subscriptions"].as_array().cloned().unwrap_or_default();
        subs.len() == WANTED.len()
            && subs.iter().filter(|x| x["status"] == "enabled").count() == WANTED.len() - 1
    })
    .await;
    let status = eventsub(&host).await;
    let cheer = status["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == "channel.cheer")
        .unwrap()
        .clone();
    assert_eq!(cheer["status"], "skipped");
    assert!(cheer["detail"].as_str().unwrap().contains("bits:read"));
    let log = host.stop();
    assert!(
        log.contains("skipping channel.cheer: the token lacks bits:read"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_subscriptions_of_a_crashed_run_are_deleted_and_messages_not_replayed() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let env = twitch_env(&mock, 10, false);
    let mut first = start_host(dir.path(), &env);
    connected(&first).await;
    trigger(&mock, Trigger::new("channel.follow").user("once")).await;
    wait_for_events(&first, "channel.follow", 1).await;
    first.kill();
    eventually("the crashed run's subscriptions disconnected", || async {
        let subs = mock.control().subscriptions().await;
        subs.len() == WANTED.len() && subs.iter().all(|s| s.status != "enabled")
    })
    .await;

    let second = start_host(dir.path(), &env);
    connected(&second).await;
    eventually("stale subscriptions deleted", || async {
        let subs = mock.control().subscriptions().await;
        subs.len() == WANTED.len() && subs.iter().all(|s| s.status == "enabled")
    })
    .await;
    // Twitch redelivering the last message (same id) to the new run
    // changes nothing: the id is remembered in the database.
    trigger(&mock, Trigger::new("channel.follow").user("twice")).await;
    wait_for_events(&second, "channel.follow", 2).await;
    assert_eq!(mock.control().resend_last().await, 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(events(&second, "channel.follow").await.len(), 2);
    second.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_and_disconnect_through_the_api() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path(), &twitch_env(&mock, 10, false));
    let first = connected(&host).await;
    let resp = client()
        .post(host.url("/api/eventsub/disconnect"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    eventually("disconnected", || async {
        let s = eventsub(&host).await;
        s["state"] == "disabled" && s["connected"] == false
    })
    .await;
    assert_eq!(mock.control().state().await.live_sessions, 0);
    let resp = client()
        .post(host.url("/api/eventsub/connect"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    reconnected(&host, &first).await;
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_feed_announces_eventsub_changes() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path(), &twitch_env(&mock, 10, false));
    connected(&host).await;
    let mut live = client().get(host.url("/api/live")).send().await.unwrap();
    client()
        .post(host.url("/api/eventsub/disconnect"))
        .send()
        .await
        .unwrap();
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + SETTLE;
    while !seen.contains("event: eventsub") {
        let chunk = tokio::time::timeout_at(deadline, live.chunk())
            .await
            .expect("an eventsub notice")
            .unwrap()
            .expect("stream open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_stores_a_private_token_and_logout_revokes_it() {
    use std::os::unix::fs::PermissionsExt;
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let env = twitch_env(&mock, 10, true);
    let run = |args: &[&str]| {
        let mut cmd = support::stagehand(dir.path());
        for (k, v) in &env {
            cmd.env(k, v);
        }
        cmd.args(args).output().unwrap()
    };
    let out = tokio::task::block_in_place(|| run(&["login"]));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("enter the code"), "{stdout}");
    assert!(stdout.contains("Logged in as stagehand_demo"), "{stdout}");
    let path = auth::token_path(dir.path());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let token = auth::load_token(&path).unwrap().unwrap();
    assert!(token.refresh_token.is_some());

    let out = tokio::task::block_in_place(|| run(&["logout"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!path.exists());
    assert_eq!(mock.control().request_count("/oauth2/revoke").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_without_a_client_id_says_what_to_set() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = support::run_cli(dir.path(), &["login"]);
    assert!(!ok);
    assert!(err.contains("TWITCH_CLIENT_ID"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_streams_events_and_takes_triggers() {
    let dir = tempfile::tempdir().unwrap();
    let host = tokio::task::block_in_place(|| {
        Host::start(dir.path(), "demo", &[("STAGEHAND_DEMO_INTERVAL_MS", "150")])
    });
    eventually("generated events", || async {
        get_json::<Value>(&host, "/api/events?limit=50")
            .await
            .as_array()
            .is_some_and(|e| e.iter().filter(|x| x["source"] == "eventsub").count() >= 3)
    })
    .await;
    let (ok, out, err) = tokio::task::block_in_place(|| {
        support::run_cli(
            dir.path(),
            &[
                "trigger",
                "channel.cheer",
                "--user",
                "trigger_tester",
                "--bits",
                "4321",
            ],
        )
    });
    assert!(ok, "{out}\n{err}");
    eventually("the triggered cheer", || async {
        events(&host, "channel.cheer")
            .await
            .iter()
            .any(|e| e["details"]["bits"] == 4321 && e["viewer"]["login"] == "trigger_tester")
    })
    .await;
    host.stop();
    let (ok, _, err) = support::run_cli(dir.path(), &["trigger", "channel.follow"]);
    assert!(!ok, "no demo running any more");
    assert!(err.contains("stagehand demo"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removals_of_things_never_seen_are_stored_and_announced() {
    use twitch_lookalike::payloads as p;
    use twitch_lookalike::state::UserInfo;
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path(), &twitch_env(&mock, 10, false));
    connected(&host).await;
    let (id, login) = mock.broadcaster();
    let b = UserInfo::new(id, login);
    let m = UserInfo::new("990000", "a_mod");
    // Viewers the host never saw (a ban from before Stagehand, the Twitch
    // CLI's random user ids).
    let ghost = |n: u32| UserInfo::new(format!("99{n:04}"), format!("ghost{n}"));
    let removals = [
        ("channel.unban", p::unban(&b, &ghost(1), &m), "ban"),
        (
            "channel.moderator.remove",
            p::moderator_change(&b, &ghost(2)),
            "role:moderator",
        ),
        (
            "channel.vip.remove",
            p::vip_change(&b, &ghost(3)),
            "role:vip",
        ),
        (
            "channel.subscription.end",
            p::subscription_end(&b, &ghost(4), "1000", false),
            "sub",
        ),
    ];
    let control = mock.control();
    for (kind, payload, _) in &removals {
        control.send_notification(kind, "1", payload.clone()).await;
    }
    for (n, (kind, _, _)) in removals.iter().enumerate() {
        let stored = wait_for_events(&host, kind, 1).await;
        assert_eq!(
            stored[0]["viewer"]["login"],
            format!("ghost{}", n + 1),
            "{kind}"
        );
        assert_eq!(stored[0]["source"], "eventsub");
    }
    host.stop();
    for (n, (kind, _, subject)) in removals.iter().enumerate() {
        let subject = format!("{subject}:99{:04}", n + 1);
        let (present, source): (bool, String) = db(dir.path())
            .query_row(
                "SELECT present, source FROM domain_announcements WHERE subject = ?1",
                [&subject],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap_or_else(|e| panic!("{kind}: no announcement of {subject}: {e}"));
        assert!(!present, "{kind}");
        assert_eq!(source, "eventsub");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_polled_first_is_stored_once_when_eventsub_brings_it_too() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = twitch_env(&mock, 10, false);
    env.push(("STAGEHAND_POLL_BANS_SECS".into(), "1".into()));
    let host = start_host(dir.path(), &env);
    connected(&host).await;
    trigger(&mock, Trigger::new("channel.ban").user("late_troll")).await;
    wait_for_events(&host, "channel.ban", 1).await;
    // EventSub goes away; the unban happens; the poller finds it.
    let resp = client()
        .post(host.url("/api/eventsub/disconnect"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    eventually("EventSub down", || async {
        eventsub(&host).await["connected"] == false
    })
    .await;
    let control = mock.control();
    control.unban("late_troll").await.unwrap();
    let polled = wait_for_events(&host, "channel.unban", 1).await;
    assert_eq!(polled[0]["source"], "poll");
    // EventSub is back and delivers the same unban late.
    let resp = client()
        .post(host.url("/api/eventsub/connect"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    connected(&host).await;
    let troll = control.user("late_troll").await.unwrap();
    let (id, login) = mock.broadcaster();
    let payload = twitch_lookalike::payloads::unban(
        &twitch_lookalike::state::UserInfo::new(id, login),
        &troll,
        &twitch_lookalike::state::UserInfo::new("990000", "a_mod"),
    );
    control
        .send_notification("channel.unban", "1", payload)
        .await;
    // A marker after it: once it is stored, the unban was handled.
    trigger(&mock, Trigger::new("channel.follow").user("marker")).await;
    wait_for_events(&host, "channel.follow", 1).await;
    let unbans = events(&host, "channel.unban").await;
    assert_eq!(unbans.len(), 1, "stored once: {unbans:#?}");
    assert_eq!(unbans[0]["source"], "poll");
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_type_the_server_does_not_offer_is_marked_unsupported_once() {
    let unsupported = [
        "channel.vip.add",
        "channel.vip.remove",
        "channel.chat.message",
    ];
    let mock = twitch_lookalike::MockTwitch::start(twitch_lookalike::MockOptions {
        unsupported_types: unsupported.iter().map(|s| s.to_string()).collect(),
        ..twitch_lookalike::MockOptions::fast()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path(), &twitch_env(&mock, 10, false));
    let settled = |s: &Value| {
        s["connected"] == true
            && s["subscriptions"].as_array().is_some_and(|subs| {
                subs.len() == WANTED.len()
                    && subs.iter().all(|x| {
                        let refused = unsupported.contains(&x["type"].as_str().unwrap_or(""));
                        x["status"] == if refused { "unsupported" } else { "enabled" }
                    })
            })
    };
    eventually("subscribed, three types unsupported", || async {
        settled(&eventsub(&host).await)
    })
    .await;
    let status = eventsub(&host).await;
    let vip = status["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == "channel.vip.add")
        .unwrap()
        .clone();
    assert!(
        vip["detail"].as_str().unwrap().contains("not valid"),
        "{vip}"
    );
    // A drop and a new session: the refused types are not asked for again.
    let session = status["session_id"].as_str().unwrap().to_owned();
    mock.control().drop_connections().await;
    eventually("a new session", || async {
        let s = eventsub(&host).await;
        s["session_id"].as_str().is_some_and(|id| id != session) && settled(&s)
    })
    .await;
    let log = host.stop();
    for kind in unsupported {
        let warnings = log
            .lines()
            .filter(|l| l.contains("WARN") && l.contains("does not offer") && l.contains(kind))
            .count();
        assert_eq!(warnings, 1, "{kind}: one WARN line in all:\n{log}");
    }
    assert!(
        !log.contains("cannot create EventSub subscription"),
        "no ERROR per reconnect:\n{log}"
    );
}
