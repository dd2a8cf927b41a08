//! The pollers against the in-process Twitch look-alike, with a real store
//! in a temporary directory and a real pipeline: every event kind produced
//! from the look-alike's state changes, baselines, faults (a page failing
//! mid-pagination, a missing scope, 429, an empty answer), renames, and
//! cross-source de-duplication with EventSub in both orders.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use super::pollers::{
    self, BansPoller, ClipsPoller, FollowersFullPoller, FollowersPoller, RolePoller,
    SubscriptionsPoller,
};
use super::{PollContext, PollError, PollReport, Poller};
use crate::event::{Event, EventKind, Source, now_ms};
use crate::live::LiveFeed;
use crate::pipeline::{Outcome, Pipeline, PipelineOptions};
use crate::store::events::{self, EventQuery};
use crate::store::{Store, StoreOptions, followers, viewers};
use crate::twitch::domain;
use crate::twitch::helix::{HelixError, RetryPolicy};
use crate::twitch::normalize::normalize;
use twitch_lookalike::{HelixFault, MockOptions, MockTwitch, Trigger, UserInfo, payloads};

/// A look-alike channel, a store, a running pipeline and the context the
/// pollers get.
struct Env {
    mock: MockTwitch,
    ctx: PollContext,
    /// Events already looked at by [`Env::new_events`] (by seq).
    seen_seq: i64,
    _dir: tempfile::TempDir,
}

async fn env(options: MockOptions) -> Env {
    let mock = MockTwitch::start(options).await.expect("mock starts");
    let helix = crate::demo::lookalike_helix(
        &mock,
        Some(RetryPolicy {
            base: Duration::from_millis(1),
            cap: Duration::from_millis(5),
            jitter: Duration::from_millis(5),
            ..RetryPolicy::default()
        }),
    )
    .await
    .expect("the mock's token is valid");
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("poll.db"), StoreOptions::default()).unwrap();
    let (pipeline, events) = Pipeline::new(
        store.clone(),
        LiveFeed::new(1024),
        PipelineOptions::default(),
    );
    tokio::spawn(pipeline.run());
    let (channel_id, _) = mock.broadcaster();
    Env {
        mock,
        ctx: PollContext {
            store,
            events,
            helix,
            channel_id,
        },
        seen_seq: 0,
        _dir: dir,
    }
}

fn seeded(f: impl FnOnce(&mut MockOptions)) -> MockOptions {
    let mut options = MockOptions::fast();
    f(&mut options);
    options
}

impl Env {
    fn control(&self) -> twitch_lookalike::MockControl {
        self.mock.control()
    }

    /// Events stored since the last call, oldest first.
    async fn new_events(&mut self) -> Vec<Event> {
        let query = EventQuery {
            channel_id: None,
            kind: None,
            before: None,
            limit: 100_000,
        };
        let mut stored = self
            .ctx
            .store
            .read(move |c| Ok(events::recent(c, &query)?.unwrap_or_default()))
            .await
            .unwrap();
        stored.retain(|s| s.seq > self.seen_seq);
        stored.sort_by_key(|s| s.seq);
        if let Some(last) = stored.last() {
            self.seen_seq = last.seq;
        }
        stored.into_iter().map(|s| s.event).collect()
    }

    async fn viewer_login(&self, twitch_id: &str) -> String {
        let id = twitch_id.to_owned();
        self.ctx
            .store
            .read(move |c| viewers::by_twitch_id(c, &id))
            .await
            .unwrap()
            .expect("viewer stored")
            .login
    }

    async fn current_followers(&self) -> usize {
        let channel = self.ctx.channel_id.clone();
        self.ctx
            .store
            .read(move |c| followers::for_each_current(c, &channel, |_, _, _, _| {}))
            .await
            .unwrap()
    }

    async fn user(&self, login: &str) -> UserInfo {
        self.control().user(login).await.expect("known user")
    }

    fn broadcaster(&self) -> UserInfo {
        let (id, login) = self.mock.broadcaster();
        UserInfo::new(id, login)
    }

    /// Stores `event` of `subscription_type` as the EventSub client would:
    /// normalized, with its domain hook.
    async fn deliver_eventsub(&self, subscription_type: &str, event: &Value) -> Outcome {
        let at = Utc::now();
        let normalized = normalize(subscription_type, &crate::event::new_event_id(), event, at);
        assert!(normalized.warnings.is_empty(), "{:?}", normalized.warnings);
        let mut event = normalized.event;
        event.channel_id = self.ctx.channel_id.clone();
        let hook = domain::hook(&event, normalized.change);
        self.ctx
            .events
            .enqueue(event, hook)
            .await
            .unwrap()
            .await
            .unwrap()
    }
}

async fn poll(poller: &dyn Poller) -> PollReport {
    match poller.poll().await {
        Ok(report) => report,
        Err(e) => panic!("{} poll failed: {e}", poller.name()),
    }
}

async fn baseline(poller: &dyn Poller) {
    let report = poll(poller).await;
    assert!(report.baseline, "{}: {report:?}", poller.name());
    assert_eq!(report.changes, 0);
}

fn kinds(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

fn details(event: &Event) -> Value {
    Value::Object(event.details())
}

fn assert_polled(events: &[Event]) {
    for e in events {
        assert_eq!(e.source, Source::Poll, "{e:?}");
    }
}

// --- baselines and unchanged state ---------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_poller_takes_a_silent_baseline_and_unchanged_state_emits_nothing() {
    let mut env = env(seeded(|o| {
        o.followers = 250;
        o.subscribers = 6;
        o.vips = 2;
        o.moderators = 3;
        o.bans = 4;
        o.clips = 3;
    }))
    .await;
    let all = pollers::all(env.ctx.clone());
    let names: Vec<&str> = all.iter().map(|p| p.name()).collect();
    assert_eq!(
        names,
        [
            "followers",
            "followers_full",
            "subscriptions",
            "vips",
            "moderators",
            "bans",
            "clips"
        ]
    );
    for poller in &all {
        baseline(poller.as_ref()).await;
    }
    assert!(
        env.new_events().await.is_empty(),
        "a baseline emits nothing"
    );
    assert_eq!(env.current_followers().await, 250);
    for poller in &all {
        let report = poll(poller.as_ref()).await;
        assert!(!report.baseline);
        assert_eq!(report.changes, 0, "{} found {report:?}", poller.name());
        assert!(report.requests >= 1);
    }
    assert!(env.new_events().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_follower_baseline_reads_one_page_not_the_whole_list() {
    let env = env(seeded(|o| o.followers = 250)).await;
    let report = poll(&FollowersPoller::new(env.ctx.clone())).await;
    assert!(report.baseline);
    assert_eq!(report.requests, 1);
    assert_eq!(env.current_followers().await, 100);
}

// --- followers -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_follows_are_reported_once_oldest_first() {
    let mut env = env(seeded(|o| o.followers = 250)).await;
    let poller = FollowersPoller::new(env.ctx.clone());
    baseline(&poller).await;
    for login in ["fan_a", "fan_b", "fan_c"] {
        env.control().follow(login).await.unwrap();
    }
    let before = now_ms();
    let report = poll(&poller).await;
    assert_eq!((report.changes, report.requests), (3, 1));
    let events = env.new_events().await;
    assert_eq!(kinds(&events), ["channel.follow"; 3]);
    assert_polled(&events);
    let logins: Vec<&str> = events
        .iter()
        .map(|e| e.viewer.as_ref().unwrap().login.as_str())
        .collect();
    assert_eq!(logins, ["fan_a", "fan_b", "fan_c"]);
    let d = details(&events[0]);
    assert_eq!(d["action"], json!("follow"));
    assert_eq!(
        d["username"],
        json!(events[0].viewer.as_ref().unwrap().display_name)
    );
    assert!(
        d["followed_at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .is_ok()
    );
    assert!(events[0].occurred_at >= before, "the detection time");
    assert_eq!(poll(&poller).await.changes, 0, "unchanged");
    assert!(env.new_events().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_a_page_of_new_follows_reads_two_pages() {
    let mut env = env(seeded(|o| o.followers = 30)).await;
    let poller = FollowersPoller::new(env.ctx.clone());
    baseline(&poller).await;
    for n in 0..130 {
        env.control().follow(&format!("wave{n}")).await.unwrap();
    }
    let report = poll(&poller).await;
    assert_eq!((report.changes, report.requests), (130, 2));
    assert_eq!(env.new_events().await.len(), 130);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_scan_finds_unfollows_and_the_follows_the_walk_missed() {
    let mut env = env(seeded(|o| o.followers = 250)).await;
    let walk = FollowersPoller::new(env.ctx.clone());
    let full = FollowersFullPoller::new(env.ctx.clone());
    baseline(&walk).await;
    let report = poll(&full).await;
    assert!(report.baseline);
    assert_eq!(report.requests, 3, "250 followers: three pages");
    assert_eq!(env.current_followers().await, 250);
    assert!(env.new_events().await.is_empty());

    env.control().unfollow("viewer3").await.unwrap();
    env.control().unfollow("viewer200").await.unwrap();
    env.control().follow("late_fan").await.unwrap();
    let report = poll(&full).await;
    assert_eq!(report.changes, 3);
    let events = env.new_events().await;
    assert_polled(&events);
    assert_eq!(
        kinds(&events),
        ["channel.unfollow", "channel.unfollow", "channel.follow"]
    );
    let mut gone: Vec<String> = events[..2]
        .iter()
        .map(|e| e.viewer.as_ref().unwrap().login.clone())
        .collect();
    gone.sort();
    assert_eq!(gone, ["viewer200", "viewer3"]);
    assert_eq!(
        details(&events[0]),
        json!({"username": events[0].viewer.as_ref().unwrap().display_name, "action": "unfollow"})
    );
    assert_eq!(events[2].viewer.as_ref().unwrap().login, "late_fan");
    assert_eq!(env.current_followers().await, 249);

    assert_eq!(poll(&walk).await.changes, 0, "the walk knows late_fan now");
    assert_eq!(poll(&full).await.changes, 0);
    assert!(env.new_events().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_full_baseline_commits_in_slices_and_emits_nothing() {
    let mut env = env(seeded(|o| o.followers = 12_000)).await;
    let full = FollowersFullPoller::new(env.ctx.clone());
    let report = poll(&full).await;
    assert!(report.baseline);
    assert_eq!(report.requests, 120);
    assert_eq!(env.current_followers().await, 12_000);
    assert!(env.new_events().await.is_empty());
    env.control().unfollow("viewer11999").await.unwrap();
    assert_eq!(poll(&full).await.changes, 1);
    assert_eq!(kinds(&env.new_events().await), ["channel.unfollow"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_full_scan_leaves_a_follow_newer_than_the_walk_saw_to_the_walk() {
    let mut env = env(seeded(|o| o.followers = 150)).await;
    let walk = FollowersPoller::new(env.ctx.clone());
    let full = FollowersFullPoller::new(env.ctx.clone());
    baseline(&walk).await;
    env.control().follow("between_polls").await.unwrap();
    baseline(&full).await;
    assert!(env.new_events().await.is_empty());
    assert_eq!(
        env.current_followers().await,
        150,
        "the new follow is left out"
    );
    assert_eq!(poll(&walk).await.changes, 1);
    let events = env.new_events().await;
    assert_eq!(kinds(&events), ["channel.follow"]);
    assert_eq!(events[0].viewer.as_ref().unwrap().login, "between_polls");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_failing_mid_pagination_applies_nothing() {
    let mut env = env(seeded(|o| o.followers = 250)).await;
    let full = FollowersFullPoller::new(env.ctx.clone());
    baseline(&full).await;
    env.control().unfollow("viewer200").await.unwrap();
    // Page 2 keeps failing past the client's retries.
    env.control()
        .add_fault(HelixFault::new("channels/followers", 503, 10).on_page(2))
        .await;
    match full.poll().await {
        Err(PollError::Helix(HelixError::Unavailable { status: 503, .. })) => {}
        other => panic!("unexpected {other:?}"),
    }
    assert!(env.new_events().await.is_empty(), "no false unfollows");
    assert_eq!(env.current_followers().await, 250, "nothing applied");
    env.control().clear_faults().await;
    assert_eq!(poll(&full).await.changes, 1);
    let events = env.new_events().await;
    assert_eq!(kinds(&events), ["channel.unfollow"]);
    assert_eq!(events[0].viewer.as_ref().unwrap().login, "viewer200");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_follower_answer_is_not_read_as_everyone_unfollowing() {
    let mut env = env(seeded(|o| o.followers = 250)).await;
    let walk = FollowersPoller::new(env.ctx.clone());
    let full = FollowersFullPoller::new(env.ctx.clone());
    // A 200 without data or total, as an answer Twitch cut short.
    let empty = || HelixFault::new("channels/followers", 200, 1);
    env.control().add_fault(empty()).await;
    match walk.poll().await {
        Err(PollError::Helix(HelixError::Decode { detail, .. })) => {
            assert!(detail.contains("no baseline taken"), "{detail}")
        }
        other => panic!("unexpected {other:?}"),
    }
    baseline(&walk).await;
    baseline(&full).await;
    env.control().add_fault(empty()).await;
    assert_eq!(
        poll(&walk).await.changes,
        0,
        "an empty top of the list is no news"
    );
    env.control().add_fault(empty()).await;
    assert!(matches!(
        full.poll().await,
        Err(PollError::Helix(HelixError::Decode { .. }))
    ));
    assert!(env.new_events().await.is_empty());
    assert_eq!(env.current_followers().await, 250);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_channel_polls_cleanly_and_reports_its_first_changes() {
    let mut env = env(MockOptions::fast()).await;
    let all = pollers::all(env.ctx.clone());
    for poller in &all {
        baseline(poller.as_ref()).await;
    }
    for poller in &all {
        assert_eq!(poll(poller.as_ref()).await.changes, 0, "{}", poller.name());
    }
    env.control().follow("first_fan").await.unwrap();
    env.control().add_vip("first_vip").await.unwrap();
    assert_eq!(poll(all[0].as_ref()).await.changes, 1);
    assert_eq!(poll(all[3].as_ref()).await.changes, 1);
    assert_eq!(
        kinds(&env.new_events().await),
        ["channel.follow", "channel.vip.add"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_follower_channel_costs_one_request_per_cycle() {
    let mut env = env(seeded(|o| o.followers = 1_000_000)).await;
    let poller = FollowersPoller::new(env.ctx.clone());
    assert_eq!(poll(&poller).await.requests, 1, "the baseline reads page 1");
    for n in 0..10 {
        env.control().follow(&format!("newcomer{n}")).await.unwrap();
    }
    env.control().reset_request_counts().await;
    let report = poll(&poller).await;
    assert_eq!((report.changes, report.requests), (10, 1));
    assert_eq!(env.control().request_count("channels/followers").await, 1);
    assert_eq!(env.new_events().await.len(), 10);
}

// --- renames -----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_user_is_matched_by_id_and_renamed_in_place() {
    let mut env = env(seeded(|o| o.followers = 5)).await;
    let walk = FollowersPoller::new(env.ctx.clone());
    let full = FollowersFullPoller::new(env.ctx.clone());
    let vips = RolePoller::vips(env.ctx.clone());
    env.control().add_vip("helper").await.unwrap();
    for poller in [&walk as &dyn Poller, &full, &vips] {
        baseline(poller).await;
    }
    let top = env.user("viewer0").await;
    let deep = env.user("viewer3").await;
    let helper = env.user("helper").await;
    env.control()
        .rename("viewer0", "top_renamed")
        .await
        .unwrap();
    env.control()
        .rename("viewer3", "deep_renamed")
        .await
        .unwrap();
    env.control()
        .rename("helper", "helper_renamed")
        .await
        .unwrap();

    assert_eq!(poll(&walk).await.changes, 0);
    assert_eq!(
        env.viewer_login(&top.id).await,
        "top_renamed",
        "seen by the walk"
    );
    assert_eq!(poll(&full).await.changes, 0);
    assert_eq!(env.viewer_login(&deep.id).await, "deep_renamed");
    assert_eq!(poll(&vips).await.changes, 0);
    assert_eq!(env.viewer_login(&helper.id).await, "helper_renamed");
    assert!(
        env.new_events().await.is_empty(),
        "no follow, unfollow or role change"
    );
    assert_eq!(env.current_followers().await, 5);
}

// --- subscriptions -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_new_gifted_renewed_and_ended() {
    let mut env = env(seeded(|o| o.subscribers = 3)).await;
    let poller = SubscriptionsPoller::new(env.ctx.clone());
    baseline(&poller).await;
    env.control().subscribe("fan", "1000").await.unwrap();
    let gift = Trigger {
        total: Some(2),
        tier: Some("2000".into()),
        ..Trigger::new("channel.subscription.gift").user("gifter")
    };
    env.control().trigger(gift.quiet()).await.unwrap();
    assert_eq!(poll(&poller).await.changes, 3);
    let events = env.new_events().await;
    assert_polled(&events);
    assert_eq!(kinds(&events), ["channel.subscribe"; 3]);
    let fan = events
        .iter()
        .find(|e| e.viewer.as_ref().unwrap().login == "fan")
        .unwrap();
    assert_eq!(
        details(fan),
        json!({"username": fan.viewer.as_ref().unwrap().display_name, "tier": "1000", "is_gift": false})
    );
    let gifted: Vec<&Event> = events
        .iter()
        .filter(|e| e.details()["is_gift"] == json!(true))
        .collect();
    assert_eq!(gifted.len(), 2);
    assert!(gifted.iter().all(|e| e.details()["tier"] == json!("2000")));

    env.control().subscribe("fan", "3000").await.unwrap();
    assert_eq!(poll(&poller).await.changes, 1);
    let events = env.new_events().await;
    assert_eq!(kinds(&events), ["channel.subscription.message"]);
    assert_eq!(
        details(&events[0]),
        json!({"username": events[0].viewer.as_ref().unwrap().display_name, "tier": "3000",
               "cumulative_months": 0, "message": ""})
    );

    env.control().end_subscription("fan").await.unwrap();
    assert_eq!(poll(&poller).await.changes, 1);
    let events = env.new_events().await;
    assert_eq!(kinds(&events), ["channel.subscription.end"]);
    assert_eq!(events[0].details()["tier"], json!("3000"));
    assert_eq!(poll(&poller).await.changes, 0);
}

// --- roles -------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vips_and_moderators_added_and_removed() {
    let mut env = env(seeded(|o| {
        o.vips = 2;
        o.moderators = 2;
    }))
    .await;
    let vips = RolePoller::vips(env.ctx.clone());
    let mods = RolePoller::moderators(env.ctx.clone());
    baseline(&vips).await;
    baseline(&mods).await;
    env.control().add_vip("shiny").await.unwrap();
    env.control().remove_vip("vip0").await.unwrap();
    env.control().add_moderator("trusty").await.unwrap();
    env.control().remove_moderator("moderator1").await.unwrap();
    assert_eq!(poll(&vips).await.changes, 2);
    assert_eq!(poll(&mods).await.changes, 2);
    let events = env.new_events().await;
    assert_polled(&events);
    assert_eq!(
        kinds(&events),
        [
            "channel.vip.add",
            "channel.vip.remove",
            "channel.moderator.add",
            "channel.moderator.remove"
        ]
    );
    let expected = [
        ("shiny", "granted", "vip"),
        ("vip0", "revoked", "vip"),
        ("trusty", "granted", "moderator"),
        ("moderator1", "revoked", "moderator"),
    ];
    for (event, (login, action, role_type)) in events.iter().zip(expected) {
        let viewer = event.viewer.as_ref().unwrap();
        assert_eq!(viewer.login, login);
        assert_eq!(
            details(event),
            json!({"username": viewer.display_name, "action": action, "role_type": role_type})
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_requests_are_retried() {
    let mut env = env(MockOptions::fast()).await;
    let vips = RolePoller::vips(env.ctx.clone());
    baseline(&vips).await;
    env.control().add_vip("patient").await.unwrap();
    env.control().fail_helix("channels/vips", 429, 1).await;
    let report = poll(&vips).await;
    assert_eq!((report.changes, report.requests), (1, 2), "{report:?}");
    assert_eq!(kinds(&env.new_events().await), ["channel.vip.add"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_scope_is_named() {
    let env = env(seeded(|o| o.followers = 3)).await;
    let cases: [(&dyn Poller, &str); 3] = [
        (
            &FollowersPoller::new(env.ctx.clone()),
            "moderator:read:followers",
        ),
        (
            &SubscriptionsPoller::new(env.ctx.clone()),
            "channel:read:subscriptions",
        ),
        (&RolePoller::vips(env.ctx.clone()), "channel:read:vips"),
    ];
    for (poller, scope) in cases {
        env.control()
            .remove_scope(env.mock.access_token(), scope)
            .await;
        match poller.poll().await {
            // Twitch may name alternatives ("a or b").
            Err(PollError::Helix(HelixError::MissingScope { scope: named, .. })) => {
                assert!(
                    named.split(" or ").any(|s| s == scope),
                    "{}: {named}",
                    poller.name()
                )
            }
            other => panic!("{}: unexpected {other:?}", poller.name()),
        }
    }
}

// --- bans --------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bans_timeouts_unbans_and_a_ban_replacing_a_timeout() {
    let mut env = env(seeded(|o| o.bans = 2)).await;
    let bans = BansPoller::new(env.ctx.clone());
    baseline(&bans).await;
    env.control().ban("troll", "spam").await.unwrap();
    env.control()
        .timeout("chatty", Duration::from_secs(600), "caps")
        .await
        .unwrap();
    assert_eq!(poll(&bans).await.changes, 2);
    let events = env.new_events().await;
    assert_polled(&events);
    assert_eq!(kinds(&events), ["channel.ban", "channel.ban"]);
    let by = |login: &str| {
        events
            .iter()
            .find(|e| e.viewer.as_ref().unwrap().login == login)
            .unwrap()
            .clone()
    };
    let (broadcaster_id, _) = env.mock.broadcaster();
    let troll = details(&by("troll"));
    assert_eq!(troll["is_permanent"], json!(true));
    assert_eq!(troll["reason"], json!("spam"));
    assert_eq!(troll["moderator_id"], json!(broadcaster_id));
    assert!(troll["moderator_username"].is_string());
    assert!(troll.get("duration_seconds").is_none());
    let chatty = details(&by("chatty"));
    assert_eq!(chatty["is_permanent"], json!(false));
    assert_eq!(chatty["duration_seconds"], json!(600));
    let expires: DateTime<Utc> = chatty["expires_at"].as_str().unwrap().parse().unwrap();
    assert!(
        (expires - Utc::now() - TimeDelta::minutes(10))
            .num_seconds()
            .abs()
            <= 5
    );

    env.control().ban("chatty", "still caps").await.unwrap();
    env.control().unban("troll").await.unwrap();
    assert_eq!(poll(&bans).await.changes, 2);
    let events = env.new_events().await;
    assert_eq!(kinds(&events), ["channel.ban", "channel.unban"]);
    assert_eq!(
        events[0].details()["is_permanent"],
        json!(true),
        "a ban replaced the timeout"
    );
    assert_eq!(
        details(&events[1]),
        json!({"username": events[1].viewer.as_ref().unwrap().display_name})
    );
    assert_eq!(poll(&bans).await.changes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_that_runs_out_between_polls_ends_and_one_lifted_early_is_an_unban() {
    let mut env = env(MockOptions::fast()).await;
    let bans = BansPoller::new(env.ctx.clone());
    baseline(&bans).await;
    env.control()
        .timeout("brief", Duration::from_secs(1), "")
        .await
        .unwrap();
    env.control()
        .timeout("forgiven", Duration::from_secs(600), "")
        .await
        .unwrap();
    assert_eq!(poll(&bans).await.changes, 2);
    env.new_events().await;
    env.control().unban("forgiven").await.unwrap();
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(poll(&bans).await.changes, 2);
    let events = env.new_events().await;
    let by_login: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.viewer.as_ref().unwrap().login.as_str(), e.kind.as_str()))
        .collect();
    assert!(
        by_login.contains(&("brief", "channel.timeout.end")),
        "{by_login:?}"
    );
    assert!(
        by_login.contains(&("forgiven", "channel.unban")),
        "{by_login:?}"
    );
    let ended = events
        .iter()
        .find(|e| e.kind == EventKind::TimeoutEnd)
        .unwrap();
    assert_eq!(
        details(ended),
        json!({"username": ended.viewer.as_ref().unwrap().display_name})
    );
    assert_eq!(poll(&bans).await.changes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banned_user_who_was_a_vip_is_reported_by_both_pollers() {
    let mut env = env(MockOptions::fast()).await;
    let bans = BansPoller::new(env.ctx.clone());
    let vips = RolePoller::vips(env.ctx.clone());
    env.control().add_vip("rowdy").await.unwrap();
    baseline(&bans).await;
    baseline(&vips).await;
    // Twitch takes the VIP role from a banned user.
    env.control().ban("rowdy", "too rowdy").await.unwrap();
    env.control().remove_vip("rowdy").await.unwrap();
    assert_eq!(poll(&bans).await.changes, 1);
    assert_eq!(poll(&vips).await.changes, 1);
    let events = env.new_events().await;
    assert_eq!(kinds(&events), ["channel.ban", "channel.vip.remove"]);
    assert!(
        events
            .iter()
            .all(|e| e.viewer.as_ref().unwrap().login == "rowdy")
    );
}

// --- clips -----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_clip_is_reported_once() {
    let mut env = env(seeded(|o| o.clips = 3)).await;
    let clips = ClipsPoller::new(env.ctx.clone());
    baseline(&clips).await;
    env.control()
        .create_clip("clipper", "what a play")
        .await
        .unwrap();
    assert_eq!(poll(&clips).await.changes, 1);
    let events = env.new_events().await;
    assert_polled(&events);
    assert_eq!(kinds(&events), ["channel.clip.created"]);
    let d = details(&events[0]);
    assert_eq!(d["clip_title"], json!("what a play"));
    assert!(
        d["clip_url"]
            .as_str()
            .unwrap()
            .starts_with("https://clips.twitch.tv/")
    );
    assert!(
        d["creator_username"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case("clipper")
    );
    assert_eq!(d["view_count"], json!(1));
    assert_eq!(poll(&clips).await.changes, 0);
}

// --- no double events across sources ----------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_eventsub_delivered_first_is_not_polled_again() {
    let mut env = env(seeded(|o| o.followers = 20)).await;
    let walk = FollowersPoller::new(env.ctx.clone());
    let vips = RolePoller::vips(env.ctx.clone());
    let bans = BansPoller::new(env.ctx.clone());
    let subs = SubscriptionsPoller::new(env.ctx.clone());
    for poller in [&walk as &dyn Poller, &vips, &bans, &subs] {
        baseline(poller).await;
    }
    let triggers = [
        Trigger::new("channel.follow").user("early_bird"),
        Trigger::new("channel.vip.add").user("star"),
        Trigger {
            duration_secs: Some(300),
            reason: Some("calm down".into()),
            ..Trigger::new("channel.ban").user("loud")
        },
        Trigger::new("channel.subscribe").user("backer"),
    ];
    for trigger in triggers {
        let sent = env.control().trigger(trigger).await.unwrap();
        let notification = &sent.events[0];
        let outcome = env
            .deliver_eventsub(&notification.subscription_type, &notification.event)
            .await;
        assert!(matches!(outcome, Outcome::Stored(_)), "{outcome:?}");
    }
    let eventsub = env.new_events().await;
    assert_eq!(eventsub.len(), 4);
    assert!(eventsub.iter().all(|e| e.source == Source::Eventsub));
    for poller in [&walk as &dyn Poller, &vips, &bans, &subs] {
        assert_eq!(poll(poller).await.changes, 0, "{}", poller.name());
    }
    assert!(env.new_events().await.is_empty(), "no poll copies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_polled_first_drops_the_eventsub_copy() {
    let mut env = env(seeded(|o| o.followers = 20)).await;
    let walk = FollowersPoller::new(env.ctx.clone());
    let vips = RolePoller::vips(env.ctx.clone());
    let bans = BansPoller::new(env.ctx.clone());
    for poller in [&walk as &dyn Poller, &vips, &bans] {
        baseline(poller).await;
    }
    env.control().follow("early_bird").await.unwrap();
    env.control().add_vip("star").await.unwrap();
    env.control().ban("loud", "spam").await.unwrap();
    for poller in [&walk as &dyn Poller, &vips, &bans] {
        assert_eq!(poll(poller).await.changes, 1, "{}", poller.name());
    }
    let polled = env.new_events().await;
    assert_eq!(
        kinds(&polled),
        ["channel.follow", "channel.vip.add", "channel.ban"]
    );

    // The EventSub copies of the same changes, arriving late.
    let broadcaster = env.broadcaster();
    let bird = env.user("early_bird").await;
    let followed_at: DateTime<Utc> = polled[0].details()["followed_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // EventSub carries the sub-second digits Helix drops.
    let follow = payloads::follow(
        &broadcaster,
        &bird,
        followed_at + TimeDelta::milliseconds(420),
    );
    let star = env.user("star").await;
    let vip = payloads::vip_change(&broadcaster, &star);
    let ban = env
        .control()
        .trigger(Trigger {
            reason: Some("spam".into()),
            ..Trigger::new("channel.ban").user("loud")
        })
        .await
        .unwrap()
        .events
        .remove(0)
        .event;
    for (kind, payload) in [
        ("channel.follow", follow),
        ("channel.vip.add", vip),
        ("channel.ban", ban),
    ] {
        let outcome = env.deliver_eventsub(kind, &payload).await;
        assert!(matches!(outcome, Outcome::Duplicate), "{kind}: {outcome:?}");
    }
    assert!(env.new_events().await.is_empty());
}
