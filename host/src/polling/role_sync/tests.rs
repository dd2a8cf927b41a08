//! The role sync against the in-process Twitch look-alike and a real store
//! in a temporary directory.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tracing_subscriber::fmt::MakeWriter;

use super::*;
use crate::store::{StoreOptions, access, bans};
use crate::twitch::helix::RetryPolicy;
use twitch_lookalike::{HelixFault, MockOptions, MockTwitch};

struct Env {
    mock: MockTwitch,
    store: Store,
    sync: RoleSync,
    channel_id: String,
    _dir: tempfile::TempDir,
}

fn seeded(subscribers: usize, vips: usize, moderators: usize) -> MockOptions {
    MockOptions {
        subscribers,
        vips,
        moderators,
        ..MockOptions::fast()
    }
}

async fn env(options: MockOptions) -> Env {
    let mock = MockTwitch::start(options).await.expect("mock starts");
    let helix = crate::demo::lookalike_helix(
        &mock,
        Some(RetryPolicy {
            base: Duration::from_millis(10),
            cap: Duration::from_millis(50),
            max_attempts: 3,
            max_rate_limited: 3,
            jitter: Duration::from_millis(5),
        }),
    )
    .await
    .expect("the mock's token is valid");
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("roles.db"), StoreOptions::default()).unwrap();
    let (channel_id, _) = mock.broadcaster();
    let sync = RoleSync::new(store.clone(), helix, channel_id.clone());
    Env {
        mock,
        store,
        sync,
        channel_id,
        _dir: dir,
    }
}

fn completed(outcome: SyncOutcome) -> SyncReport {
    match outcome {
        SyncOutcome::Completed(report) => *report,
        other => panic!("expected a completed sync, got {other:?}"),
    }
}

/// (count, granted, updated, revoked, unchanged) of a type.
fn counts(report: &TypeReport) -> (usize, usize, usize, usize, usize) {
    (
        report.count,
        report.granted,
        report.updated,
        report.revoked,
        report.unchanged,
    )
}

impl Env {
    /// Logins holding `role` in the store, sorted.
    async fn holders(&self, role: Role) -> Vec<String> {
        let channel_id = self.channel_id.clone();
        self.store
            .read(move |c| roles::active(c, &channel_id, role))
            .await
            .unwrap()
            .into_iter()
            .map(|row| row.login)
            .collect()
    }

    /// (login, tier, is_gift) of the store's active subscriptions, by login.
    async fn subscribers(&self) -> Vec<(String, String, bool)> {
        let channel_id = self.channel_id.clone();
        self.store
            .read(move |c| subscriptions::active(c, &channel_id))
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.viewer.login, s.terms.tier, s.terms.is_gift))
            .collect()
    }

    /// Every `viewer_roles` row of `login` for `role`: (granted_at,
    /// revoked_at), oldest first.
    async fn role_rows(&self, login: &str, role: Role) -> Vec<(i64, Option<i64>)> {
        let login = login.to_owned();
        self.store
            .read(move |c| {
                let mut stmt = c.prepare(
                    "SELECT r.granted_at, r.revoked_at FROM viewer_roles r
                     JOIN viewers v ON v.id = r.viewer_id
                     WHERE v.login = ?1 AND r.role_type = ?2 ORDER BY r.id",
                )?;
                let rows = stmt
                    .query_map(rusqlite::params![login, role.as_str()], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await
            .unwrap()
    }

    /// The mock's Twitch user id for `login`.
    async fn user_id(&self, login: &str) -> String {
        self.mock
            .control()
            .user(login)
            .await
            .unwrap_or_else(|| panic!("the mock knows {login}"))
            .id
    }

    /// Helix requests for the three lists so far.
    async fn list_requests(&self) -> [u64; 3] {
        let control = self.mock.control();
        [
            control.request_count("subscriptions").await,
            control.request_count("channels/vips").await,
            control.request_count("moderation/moderators").await,
        ]
    }
}

fn owned(logins: &[&str]) -> Vec<String> {
    logins.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_sync_applies_subscribers_vips_and_moderators() {
    let env = env(seeded(8, 2, 3)).await;
    let report = completed(env.sync.sync(SyncTrigger::Startup).await);

    assert!(report.success, "{:?}", report.errors);
    assert!(report.errors.is_empty());
    assert_eq!(report.trigger, SyncTrigger::Startup);
    assert_eq!(report.channel_id, env.channel_id);
    assert_eq!(
        (report.sub_count, report.vip_count, report.mod_count),
        (8, 2, 3)
    );
    assert_eq!(counts(&report.subscribers), (8, 8, 0, 0, 0));
    assert_eq!(counts(&report.vips), (2, 2, 0, 0, 0));
    assert_eq!(counts(&report.moderators), (3, 3, 0, 0, 0));
    assert_eq!(env.list_requests().await, [1, 1, 1]);

    assert_eq!(env.holders(Role::Vip).await, owned(&["vip0", "vip1"]));
    assert_eq!(
        env.holders(Role::Moderator).await,
        owned(&["moderator0", "moderator1", "moderator2"])
    );
    // The look-alike seeds tiers by index (0: tier 3, 1-2: tier 2, else
    // tier 1) and gifts every fourth.
    let subs = env.subscribers().await;
    assert_eq!(subs.len(), 8);
    assert!(subs.contains(&("subscriber0".into(), "3000".into(), false)));
    assert!(subs.contains(&("subscriber2".into(), "2000".into(), false)));
    assert!(subs.contains(&("subscriber3".into(), "1000".into(), true)));
    assert!(subs.contains(&("subscriber7".into(), "1000".into(), true)));

    // The JSON the API returns.
    let json = serde_json::to_value(SyncOutcome::Completed(Box::new(report))).unwrap();
    assert_eq!(json["status"], "completed");
    assert_eq!(json["trigger"], "startup");
    assert_eq!(json["success"], true);
    assert_eq!(json["errors"], serde_json::json!([]));
    assert_eq!(json["vips"]["granted"], 2);
    assert_eq!(json["moderators"]["error"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_sync_grants_and_revokes_keeping_history() {
    let env = env(seeded(4, 2, 3)).await;
    completed(env.sync.sync(SyncTrigger::Startup).await);

    let control = env.mock.control();
    control.add_vip("new_vip").await.unwrap();
    control.remove_vip("vip0").await.unwrap();
    control.add_moderator("new_mod").await.unwrap();
    control.remove_moderator("moderator1").await.unwrap();
    control.subscribe("new_sub", "2000").await.unwrap();
    control.end_subscription("subscriber1").await.unwrap();
    control.subscribe("subscriber2", "3000").await.unwrap(); // tier 2 -> 3

    let report = completed(env.sync.sync(SyncTrigger::Background).await);
    assert!(report.success, "{:?}", report.errors);
    assert_eq!(counts(&report.vips), (2, 1, 0, 1, 1));
    assert_eq!(counts(&report.moderators), (3, 1, 0, 1, 2));
    assert_eq!(counts(&report.subscribers), (4, 1, 1, 1, 2));
    assert_eq!(
        (report.sub_count, report.vip_count, report.mod_count),
        (4, 2, 3)
    );

    assert_eq!(env.holders(Role::Vip).await, owned(&["new_vip", "vip1"]));
    assert_eq!(
        env.holders(Role::Moderator).await,
        owned(&["moderator0", "moderator2", "new_mod"])
    );
    let subs = env.subscribers().await;
    assert!(subs.contains(&("new_sub".into(), "2000".into(), false)));
    assert!(subs.contains(&("subscriber2".into(), "3000".into(), false)));
    assert!(!subs.iter().any(|(login, _, _)| login == "subscriber1"));

    // The revoked VIP keeps its row with the revocation time.
    let history = env.role_rows("vip0", Role::Vip).await;
    assert_eq!(history.len(), 1);
    let (granted_at, revoked_at) = history[0];
    assert!(revoked_at.is_some_and(|r| r >= granted_at), "{history:?}");
    let ended: i64 = {
        let channel_id = env.channel_id.clone();
        env.store
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM viewer_subscriptions s JOIN viewers v ON v.id = s.viewer_id
                     WHERE v.login = 'subscriber1' AND s.channel_id = ?1 AND s.end_date IS NOT NULL",
                    [channel_id],
                    |r| r.get(0),
                )?)
            })
            .await
            .unwrap()
    };
    assert_eq!(ended, 1, "the ended subscription stays as history");

    // Coming back is a new grant; the old row stays.
    control.add_vip("vip0").await.unwrap();
    let again = completed(env.sync.sync(SyncTrigger::Manual).await);
    assert_eq!(counts(&again.vips), (3, 1, 0, 0, 2));
    let history = env.role_rows("vip0", Role::Vip).await;
    assert_eq!(history.len(), 2);
    assert!(history[0].1.is_some() && history[1].1.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_type_is_reported_and_left_alone_while_the_others_apply() {
    let env = env(seeded(3, 2, 2)).await;
    completed(env.sync.sync(SyncTrigger::Startup).await);

    let control = env.mock.control();
    control.remove_vip("vip0").await.unwrap();
    control.add_moderator("new_mod").await.unwrap();
    control.end_subscription("subscriber0").await.unwrap();
    control.fail_helix("channels/vips", 500, 10).await;

    let report = completed(env.sync.sync(SyncTrigger::Manual).await);
    assert!(!report.success);
    assert!(!report.vips.ok);
    assert_eq!(counts(&report.vips), (0, 0, 0, 0, 0));
    assert_eq!(report.vip_count, 0);
    let error = report.vips.error.as_deref().unwrap();
    assert!(error.contains("500"), "{error}");
    assert!(error.contains("left as they were"), "{error}");
    assert_eq!(report.vips.missing_scope, None);
    assert_eq!(report.errors.len(), 1);
    assert!(
        report.errors[0].starts_with("VIPs: "),
        "{:?}",
        report.errors
    );

    // VIPs untouched (vip0 was not revoked); the others applied.
    assert_eq!(env.holders(Role::Vip).await, owned(&["vip0", "vip1"]));
    assert!(report.moderators.ok && report.subscribers.ok);
    assert_eq!(counts(&report.moderators), (3, 1, 0, 0, 2));
    assert_eq!(counts(&report.subscribers), (2, 0, 0, 1, 2));
    assert_eq!(
        env.holders(Role::Moderator).await,
        owned(&["moderator0", "moderator1", "new_mod"])
    );
    assert_eq!(env.subscribers().await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_type_failing_revokes_nothing() {
    let env = env(seeded(2, 2, 2)).await;
    completed(env.sync.sync(SyncTrigger::Startup).await);
    let control = env.mock.control();
    for list in ["subscriptions", "channels/vips", "moderation/moderators"] {
        control.fail_helix(list, 503, 10).await;
    }
    let report = completed(env.sync.sync(SyncTrigger::Manual).await);
    assert!(!report.success);
    assert_eq!(report.errors.len(), 3);
    assert_eq!(
        (report.sub_count, report.vip_count, report.mod_count),
        (0, 0, 0)
    );
    assert_eq!(env.holders(Role::Vip).await.len(), 2);
    assert_eq!(env.holders(Role::Moderator).await.len(), 2);
    assert_eq!(env.subscribers().await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_failing_mid_list_ends_no_subscription() {
    let env = env(seeded(150, 0, 0)).await;
    let first = completed(env.sync.sync(SyncTrigger::Startup).await);
    assert_eq!(first.sub_count, 150);
    assert!(env.list_requests().await[0] >= 2, "two pages");

    env.mock
        .control()
        .add_fault(HelixFault::new("subscriptions", 500, 10).on_page(2))
        .await;
    let report = completed(env.sync.sync(SyncTrigger::Manual).await);
    assert!(!report.subscribers.ok);
    assert!(report.errors[0].starts_with("Subscribers: "));
    assert_eq!(
        env.subscribers().await.len(),
        150,
        "page 1 alone must not look like 50 ended subscriptions"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_scope_is_named_in_that_types_error() {
    let env = env(seeded(2, 2, 2)).await;
    let control = env.mock.control();
    assert!(
        control
            .remove_scope(env.mock.access_token(), "channel:read:vips")
            .await
    );

    let report = completed(env.sync.sync(SyncTrigger::OauthConnect).await);
    assert!(!report.success);
    let error = report.vips.error.as_deref().unwrap();
    assert!(error.contains("channel:read:vips"), "{error}");
    assert!(
        report
            .vips
            .missing_scope
            .as_deref()
            .is_some_and(|s| s.contains("channel:read:vips")),
        "{:?}",
        report.vips.missing_scope
    );
    assert_eq!(report.errors.len(), 1);
    assert!(report.errors[0].starts_with("VIPs: "));
    assert!(report.errors[0].contains("channel:read:vips"));
    assert!(report.subscribers.ok && report.moderators.ok);
    assert_eq!((report.sub_count, report.mod_count), (2, 2));
    assert!(env.holders(Role::Vip).await.is_empty());

    let json = serde_json::to_value(SyncOutcome::Completed(Box::new(report))).unwrap();
    assert!(
        json["vips"]["missing_scope"]
            .as_str()
            .unwrap()
            .contains("channel:read:vips")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_trigger_runs_once_per_window_and_others_are_independent() {
    let env = env(seeded(1, 1, 1)).await;
    let before = chrono::Utc::now();
    completed(env.sync.sync(SyncTrigger::Manual).await);
    assert_eq!(env.list_requests().await, [1, 1, 1]);

    let skipped = env.sync.sync(SyncTrigger::Manual).await;
    let SyncOutcome::Skipped {
        trigger,
        reason,
        next_allowed_at,
    } = skipped.clone()
    else {
        panic!("expected a skip, got {skipped:?}");
    };
    assert_eq!(trigger, SyncTrigger::Manual);
    assert_eq!(reason, SkipReason::TooSoon);
    let after = chrono::Utc::now();
    assert!(
        next_allowed_at > before + chrono::Duration::minutes(4)
            && next_allowed_at <= after + chrono::Duration::minutes(5),
        "{before} .. {next_allowed_at} .. {after}"
    );
    assert_eq!(env.list_requests().await, [1, 1, 1], "no Helix request");
    let json = serde_json::to_value(&skipped).unwrap();
    assert_eq!(json["status"], "skipped");
    assert_eq!(json["trigger"], "manual");
    assert_eq!(json["reason"], "too_soon");
    assert!(json["next_allowed_at"].is_string());

    // Another trigger has its own window; a clone shares the windows.
    let clone = env.sync.clone();
    completed(clone.sync(SyncTrigger::StreamStart).await);
    assert_eq!(env.list_requests().await, [2, 2, 2]);
    assert!(env.sync.sync(SyncTrigger::StreamStart).await.is_skipped());
    assert!(clone.sync(SyncTrigger::Manual).await.is_skipped());
    assert_eq!(env.list_requests().await, [2, 2, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_is_injectable() {
    let env = env(seeded(1, 0, 0)).await;
    let sync = env
        .sync
        .clone()
        .with_min_interval(Duration::from_millis(300));
    assert_eq!(sync.min_interval(), Duration::from_millis(300));
    assert_eq!(env.sync.min_interval(), MIN_INTERVAL);
    completed(sync.sync(SyncTrigger::Background).await);
    assert!(sync.sync(SyncTrigger::Background).await.is_skipped());
    tokio::time::sleep(Duration::from_millis(350)).await;
    completed(sync.sync(SyncTrigger::Background).await);
    assert_eq!(env.list_requests().await[0], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_of_one_trigger_run_once() {
    let env = env(seeded(5, 5, 5)).await;
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let sync = env.sync.clone();
            tokio::spawn(async move { sync.sync(SyncTrigger::Manual).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for call in calls {
        outcomes.push(call.await.unwrap());
    }
    let ran = outcomes.iter().filter(|o| !o.is_skipped()).count();
    assert_eq!(ran, 1, "{outcomes:?}");
    assert_eq!(env.list_requests().await, [1, 1, 1]);

    // Even with no window, a trigger whose sync is running is refused:
    // hold the run lock so the first call stays in flight.
    let sync = env.sync.clone().with_min_interval(Duration::ZERO);
    let held = sync.inner.running.lock().await;
    let first = tokio::spawn({
        let sync = sync.clone();
        async move { sync.sync(SyncTrigger::Background).await }
    });
    while !sync.inner.gate.is_running(SyncTrigger::Background) {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let second = sync.sync(SyncTrigger::Background).await;
    assert!(
        matches!(
            second,
            SyncOutcome::Skipped {
                reason: SkipReason::AlreadyRunning,
                ..
            }
        ),
        "{second:?}"
    );
    drop(held);
    assert!(!first.await.unwrap().is_skipped());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banned_vip_keeps_the_vip_role() {
    let env = env(seeded(0, 2, 1)).await;
    completed(env.sync.sync(SyncTrigger::Startup).await);
    let control = env.mock.control();
    control.ban("vip0", "spam").await.unwrap();
    control.ban("moderator0", "oops").await.unwrap();
    // The bans are known to the store too, as the bans poller records them.
    let channel_id = env.channel_id.clone();
    env.store
        .write(move |c| {
            for login in ["vip0", "moderator0"] {
                let viewer = viewers::by_login(c, login)?.expect("synced viewer");
                bans::upsert(
                    c,
                    &channel_id,
                    viewer.id,
                    Utc::now(),
                    None,
                    Some("spam"),
                    None,
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();

    let report = completed(env.sync.sync(SyncTrigger::Manual).await);
    assert!(report.success, "{:?}", report.errors);
    assert_eq!(counts(&report.vips), (2, 0, 0, 0, 2));
    assert_eq!(counts(&report.moderators), (1, 0, 0, 0, 1));
    let vip0 = env.user_id("vip0").await;
    assert!(
        access::is_vip(&env.store, &env.channel_id, &vip0)
            .await
            .unwrap()
    );
    let mod0 = env.user_id("moderator0").await;
    assert!(
        access::is_moderator(&env.store, &env.channel_id, &mod0)
            .await
            .unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_checks_follow_the_sync() {
    let env = env(seeded(1, 1, 1)).await;
    completed(env.sync.sync(SyncTrigger::Startup).await);
    let (store, channel) = (&env.store, env.channel_id.as_str());
    let vip = env.user_id("vip0").await;
    let moderator = env.user_id("moderator0").await;
    let subscriber = env.user_id("subscriber0").await;

    assert!(access::is_vip(store, channel, &vip).await.unwrap());
    assert!(!access::is_moderator(store, channel, &vip).await.unwrap());
    assert!(!access::is_subscriber(store, channel, &vip).await.unwrap());
    assert!(
        access::is_moderator(store, channel, &moderator)
            .await
            .unwrap()
    );
    assert!(
        access::is_subscriber(store, channel, &subscriber)
            .await
            .unwrap()
    );
    assert!(
        !access::is_vip(store, channel, "no-such-user")
            .await
            .unwrap()
    );
    assert_eq!(
        access::roles_of(store, channel, &subscriber).await.unwrap(),
        access::ViewerRoles {
            subscriber: true,
            ..Default::default()
        }
    );
    assert!(
        access::roles_of(store, channel, channel)
            .await
            .unwrap()
            .broadcaster
    );

    // One person with every role, then losing them all.
    let control = env.mock.control();
    control.add_vip("subscriber0").await.unwrap();
    control.add_moderator("subscriber0").await.unwrap();
    completed(env.sync.sync(SyncTrigger::Manual).await);
    assert_eq!(
        access::roles_of(store, channel, &subscriber).await.unwrap(),
        access::ViewerRoles {
            vip: true,
            moderator: true,
            subscriber: true,
            broadcaster: false,
        }
    );
    control.remove_vip("subscriber0").await.unwrap();
    control.remove_moderator("subscriber0").await.unwrap();
    control.end_subscription("subscriber0").await.unwrap();
    completed(env.sync.sync(SyncTrigger::Background).await);
    assert_eq!(
        access::roles_of(store, channel, &subscriber).await.unwrap(),
        access::ViewerRoles::default()
    );
    assert!(
        !access::is_subscriber(store, channel, &subscriber)
            .await
            .unwrap()
    );
}

/// Log output collected in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_log_line_names_the_trigger() {
    let env = env(seeded(1, 1, 1)).await;
    env.mock
        .control()
        .remove_scope(env.mock.access_token(), "moderation:read")
        .await;
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::INFO)
        .with_writer(captured.clone())
        .finish();
    // The syncs run in this test's own task, on this thread.
    let _guard = tracing::subscriber::set_default(subscriber);
    let module = module_path!().trim_end_matches("::tests");
    // tracing caches per call site whether anyone listens, and other tests'
    // threads (without a subscriber) can disable a site while this test
    // listens; so a run may lose lines, and is then tried again. Every line
    // that does arrive must carry the trigger.
    let mut complete = false;
    for _ in 0..20 {
        tracing::callsite::rebuild_interest_cache();
        captured.0.lock().unwrap().clear();
        // A fresh throttle per attempt, so the trigger runs once, then skips.
        let sync = env.sync.clone().with_min_interval(Duration::from_secs(60));
        let report = completed(sync.sync(SyncTrigger::OauthConnect).await);
        assert!(report.errors[0].starts_with("Moderators: "));
        assert!(sync.sync(SyncTrigger::OauthConnect).await.is_skipped());

        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|l| l["target"].as_str().is_some_and(|t| t.starts_with(module)))
            .collect();
        for line in &lines {
            assert_eq!(line["fields"]["trigger"], "oauth-connect", "{line}");
        }
        let message = |m: &str| {
            lines.iter().any(|l| {
                l["fields"]["message"]
                    .as_str()
                    .is_some_and(|t| t.starts_with(m))
            })
        };
        // Start, three types (one a warning), the summary, the skip.
        complete = lines.len() == 6
            && message("role sync starting")
            && message("Subscribers synced")
            && message("VIPs synced")
            && message("role sync partly failed")
            && message("role sync skipped")
            && lines
                .iter()
                .any(|l| l["level"] == "WARN" && l["fields"]["role"] == "moderators");
        if complete {
            break;
        }
    }
    assert!(complete, "no run logged every line");
}
