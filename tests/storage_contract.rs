//! The contract of the repositories (`stagehand::storage`): every test is
//! written once against a trait and run against each store that has it.
//! The `ClusterStore` tests run against both cluster backends,
//! `sqlite::<name>` and `postgres::<name>`; the tests of the repositories
//! every store has (`ChannelRepositories`: event log, alert queue, plugin
//! key-value data) also run against the single host's store,
//! `streamer::<name>`.
//!
//! The PostgreSQL tests need a server: they are ignored by default and
//! `cargo xtask test` runs them when one is configured or reachable
//! (`STAGEHAND_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`). Each works in a schema of
//! its own, dropped at the end, so they run in parallel.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use serde_json::json;
use stagehand::event::{Event, EventKind, Source, Viewer};
use stagehand::storage::copy::{Copied, copy_channel};
use stagehand::storage::migrations;
use stagehand::storage::{AlertQueue, EventLog};
use stagehand::storage::{
    ChannelPlugin, ChannelRepositories, ClusterStore, Commit, Inserted, KvChange, Member,
    MemberList, Members, NewAlert, NewEvent, PostgresStore, SqliteStore, StorageError,
    StreamCursor, TokenKey,
};
use stagehand::store::{Store, StoreOptions, StreamerStore};

// Which tests run, and how: each name below is an async fn of this file.

macro_rules! contract {
    (
        repositories: [$($repo:ident),* $(,)?],
        store: [$($store:ident),* $(,)?],
        fixture: [$($fixture:ident),* $(,)?] $(,)?
    ) => {
        mod streamer {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $repo() {
                    let (_dir, store) = super::streamer_store();
                    super::$repo(store).await;
                }
            )*
        }

        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $repo() {
                    let fx = super::Fixture::sqlite();
                    super::$repo(fx.repositories().await).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $store() {
                    let fx = super::Fixture::sqlite();
                    super::$store(fx.store.clone()).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $fixture() {
                    let fx = super::Fixture::sqlite();
                    super::$fixture(&fx).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs PostgreSQL: cargo xtask test runs it"]
                async fn $repo() {
                    let fx = super::Fixture::postgres().await;
                    let store = fx.repositories().await;
                    fx.run(super::$repo(store)).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs PostgreSQL: cargo xtask test runs it"]
                async fn $store() {
                    let fx = super::Fixture::postgres().await;
                    let store = fx.store.clone();
                    fx.run(super::$store(store)).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs PostgreSQL: cargo xtask test runs it"]
                async fn $fixture() {
                    let fx = super::Fixture::postgres().await;
                    fx.run_with(super::$fixture).await;
                }
            )*
        }
    };
}

contract! {
    repositories: [
        appended_events_are_stored_once_each_in_order,
        queued_alerts_wait_until_acknowledged,
        plugin_kv_changes_apply_in_order,
        writes_naming_another_channel_are_refused_whole,
    ],
    store: [
        a_streamers_history_moves_to_a_cluster_once,
        channels_are_created_once_and_found_by_their_digests,
        a_channel_never_sees_another_channels_data,
        committing_the_same_batch_twice_stores_it_once,
        seqs_count_up_per_channel_in_commit_order,
        alerts_wait_in_order_until_acknowledged,
        plugin_kv_is_set_and_deleted_by_commits,
        plugins_are_installed_replaced_configured_and_removed,
        known_followers_are_added_and_removed,
        member_lists_are_recorded_replaced_and_kept_per_channel,
        concurrent_replacements_found_against_one_generation_record_one,
        writes_to_an_unknown_channel_are_refused_whole,
        leases_are_taken_renewed_contended_and_expire,
        many_leases_are_taken_and_renewed_in_one_call,
        a_cursor_commits_only_for_the_partition_lease_holder,
        cursors_are_read_back_per_partition,
        a_commit_of_several_partitions_needs_every_lease,
        concurrent_commits_to_one_channel_keep_seqs_gapless,
        sealed_tokens_round_trip_through_the_store,
    ],
    fixture: [
        migrations_are_idempotent_and_keep_data,
        a_newer_schema_is_refused,
    ],
}

// The backends.

enum Backend {
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres {
        url: String,
        schema: String,
    },
}

/// One backend with a fresh, empty database.
struct Fixture {
    backend: Backend,
    store: Arc<dyn ClusterStore>,
}

fn database_url() -> String {
    std::env::var("STAGEHAND_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A raw connection for what the trait cannot do (schema surgery).
async fn raw_postgres(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {url}: {e}"));
    tokio::spawn(connection);
    client
}

impl Fixture {
    fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster").join("stagehand-cluster.db");
        let store = Arc::new(SqliteStore::open(&path).unwrap());
        Fixture {
            backend: Backend::Sqlite { _dir: dir, path },
            store,
        }
    }

    async fn postgres() -> Self {
        let url = database_url();
        let schema = format!("contract_{:016x}", rand::random::<u64>());
        let store = PostgresStore::connect_in_schema(&url, &schema, 4)
            .await
            .unwrap_or_else(|e| panic!("cannot use PostgreSQL at {url}: {e}"));
        Fixture {
            backend: Backend::Postgres { url, schema },
            store: Arc::new(store),
        }
    }

    /// The store as the repositories every store has, with the channels
    /// the tests use added (a cluster refuses writes for a channel it does
    /// not have).
    async fn repositories(&self) -> Arc<dyn ChannelRepositories> {
        two_channels(&*self.store).await;
        self.store.clone()
    }

    /// Opens the same database again, as another node (or a restart)
    /// would.
    async fn reopen(&self) -> Result<Arc<dyn ClusterStore>, StorageError> {
        Ok(match &self.backend {
            Backend::Sqlite { path, .. } => Arc::new(SqliteStore::open(path)?),
            Backend::Postgres { url, schema } => {
                Arc::new(PostgresStore::connect_in_schema(url, schema, 2).await?)
            }
        })
    }

    /// Records a migration this build does not have.
    async fn record_schema_version(&self, version: i64) {
        let sql = "INSERT INTO schema_version (version, name, applied_at) VALUES ($1, 'future', 0)";
        match &self.backend {
            Backend::Sqlite { path, .. } => {
                let conn = rusqlite::Connection::open(path).unwrap();
                conn.execute(&sql.replace('$', "?"), [version]).unwrap();
            }
            Backend::Postgres { url, schema } => {
                let client = raw_postgres(url).await;
                client
                    .batch_execute(&format!("SET search_path = {schema}"))
                    .await
                    .unwrap();
                client.execute(sql, &[&version]).await.unwrap();
            }
        }
    }

    /// Runs a test, then drops the PostgreSQL schema whether it passed or
    /// not.
    async fn run(self, test: impl Future<Output = ()>) {
        let outcome = AssertUnwindSafe(test).catch_unwind().await;
        self.cleanup().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }

    async fn run_with(self, test: impl AsyncFnOnce(&Fixture)) {
        let outcome = AssertUnwindSafe(test(&self)).catch_unwind().await;
        self.cleanup().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }

    async fn cleanup(self) {
        let Fixture { backend, store } = self;
        drop(store);
        if let Backend::Postgres { url, schema } = backend {
            raw_postgres(&url)
                .await
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .await
                .unwrap();
        }
    }
}

/// The single host's store (a fresh file) holding channel 1001.
fn streamer_store() -> (tempfile::TempDir, Arc<dyn ChannelRepositories>) {
    streamer_store_of("1001")
}

fn streamer_store_of(channel: &str) -> (tempfile::TempDir, Arc<dyn ChannelRepositories>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("stagehand.db"), StoreOptions::default()).unwrap();
    (dir, Arc::new(StreamerStore::new(store, channel)))
}

// What the tests store.

fn at(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap()
}

fn event(channel: &str, id: &str) -> NewEvent {
    NewEvent {
        channel_id: channel.into(),
        id: id.into(),
        kind: "channel.follow".into(),
        source: "eventsub".into(),
        occurred_at: at(1_700_000_000_123_456),
        body: json!({"id": id, "details": {"username": format!("user-{id}")}}),
        display: None,
    }
}

fn events(channel: &str, ids: &[&str]) -> Commit {
    Commit {
        events: ids.iter().map(|id| event(channel, id)).collect(),
        ..Commit::default()
    }
}

fn alert(channel: &str, id: &str, overlay: &str) -> NewAlert {
    NewAlert {
        channel_id: channel.into(),
        id: id.into(),
        overlay: overlay.into(),
        event_id: Some(format!("event-{id}")),
        plugin: Some("alert-box".into()),
        body: json!({"text": format!("alert {id}")}),
    }
}

fn kv(channel: &str, plugin: &str, key: &str, value: Option<&str>) -> KvChange {
    KvChange {
        channel_id: channel.into(),
        plugin: plugin.into(),
        key: key.into(),
        value: value.map(Into::into),
    }
}

fn plugin(channel: &str, name: &str) -> ChannelPlugin {
    ChannelPlugin {
        channel_id: channel.into(),
        name: name.into(),
        package: format!("package of {name}").into_bytes(),
        digest: format!("digest-{name}"),
        granted: vec!["http".into()],
        settings: json!({"volume": 50}),
        enabled: true,
        updated_at: Utc::now(),
    }
}

fn cursor(partition: u32, sequence: u64, holder: &str) -> Vec<StreamCursor> {
    vec![StreamCursor {
        partition,
        sequence,
        holder: holder.into(),
    }]
}

fn seqs(inserted: &[Inserted]) -> Vec<Option<i64>> {
    inserted
        .iter()
        .map(|i| match i {
            Inserted::New(seq) => Some(*seq),
            Inserted::Duplicate => None,
        })
        .collect()
}

async fn two_channels(s: &dyn ClusterStore) {
    s.create_channel("1001", "alice").await.unwrap();
    s.create_channel("2002", "bob").await.unwrap();
}

// The repositories every store has.

/// A follow as the host makes it, stored as its JSON (what both modes
/// store), at a millisecond time (the single host's precision).
fn follow(channel: &str, id: &str, n: u32) -> NewEvent {
    let mut event = Event::new(EventKind::Follow, Source::Eventsub, channel)
        .with_viewer(Viewer::new(
            format!("{n}"),
            format!("user{n}"),
            format!("User{n}"),
        ))
        .with_details(json!({"username": format!("user{n}"), "action": "follow"}));
    event.id = id.into();
    event.occurred_at = at(1_700_000_000_123_000 + i64::from(n) * 1_000);
    NewEvent::from_event(&event, None)
}

fn ids_of(events: &[stagehand::storage::ChannelEvent]) -> Vec<&str> {
    events.iter().map(|e| e.id.as_str()).collect()
}

async fn appended_events_are_stored_once_each_in_order(s: Arc<dyn ChannelRepositories>) {
    let before = Utc::now() - chrono::Duration::seconds(5);
    let a = NewEvent {
        display: Some(json!({"label": "Follow", "text": "user1 followed"})),
        ..follow("1001", "a", 1)
    };
    let done = s
        .append_events(vec![
            a.clone(),
            follow("1001", "b", 2),
            follow("1001", "c", 3),
        ])
        .await
        .unwrap();
    assert_eq!(seqs(&done), [Some(1), Some(2), Some(3)]);
    // A redelivered event, a new one, and the new one twice in one call.
    let done = s
        .append_events(vec![
            follow("1001", "b", 2),
            follow("1001", "d", 4),
            follow("1001", "d", 4),
        ])
        .await
        .unwrap();
    assert_eq!(seqs(&done), [None, Some(4), None]);
    assert_eq!(s.append_events(Vec::new()).await.unwrap(), []);

    let newest = s.recent_events("1001", 10, None).await.unwrap();
    assert_eq!(ids_of(&newest), ["d", "c", "b", "a"]);
    assert_eq!(
        newest.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [4, 3, 2, 1]
    );
    assert_eq!(
        ids_of(&s.recent_events("1001", 2, None).await.unwrap()),
        ["d", "c"]
    );
    assert_eq!(
        ids_of(&s.recent_events("1001", 10, Some(3)).await.unwrap()),
        ["b", "a"]
    );
    assert_eq!(
        ids_of(&s.events_after("1001", 1, 2).await.unwrap()),
        ["b", "c"]
    );
    assert!(s.events_after("1001", 4, 10).await.unwrap().is_empty());
    assert_eq!(s.event_count("1001").await.unwrap(), 4);

    // What was given comes back as it was given.
    let stored = &newest[3];
    assert_eq!(stored.channel_id, "1001");
    assert_eq!(
        (stored.kind.as_str(), stored.source.as_str()),
        (a.kind.as_str(), a.source.as_str())
    );
    assert_eq!(stored.occurred_at, a.occurred_at);
    assert_eq!(stored.body, a.body);
    assert_eq!(stored.display, a.display);
    assert!(stored.stored_at > before);
    assert_eq!(newest[0].display, None);

    // Another channel has none of them.
    assert_eq!(s.event_count("2002").await.unwrap(), 0);
    assert!(s.recent_events("2002", 10, None).await.unwrap().is_empty());
    assert!(s.events_after("2002", 0, 10).await.unwrap().is_empty());
}

async fn queued_alerts_wait_until_acknowledged(s: Arc<dyn ChannelRepositories>) {
    let queued = s
        .queue_alerts(vec![
            alert("1001", "a", "main"),
            alert("1001", "b", "side"),
            alert("1001", "c", "main"),
        ])
        .await
        .unwrap();
    assert_eq!(
        queued,
        [
            ("a".to_owned(), 1),
            ("b".to_owned(), 2),
            ("c".to_owned(), 3)
        ]
    );
    // An alert queued again (its event handled twice) is not queued twice.
    let bare = NewAlert {
        event_id: None,
        plugin: None,
        ..alert("1001", "d", "main")
    };
    let queued = s
        .queue_alerts(vec![alert("1001", "a", "main"), bare])
        .await
        .unwrap();
    assert_eq!(queued, [("d".to_owned(), 4)]);

    let main = s.unacked_alerts("1001", "main", 10).await.unwrap();
    assert_eq!(
        main.iter()
            .map(|a| (a.id.as_str(), a.position))
            .collect::<Vec<_>>(),
        [("a", 1), ("c", 3), ("d", 4)]
    );
    assert_eq!(main[0].channel_id, "1001");
    assert_eq!(main[0].overlay, "main");
    assert_eq!(main[0].event_id.as_deref(), Some("event-a"));
    assert_eq!(main[0].plugin.as_deref(), Some("alert-box"));
    assert_eq!(main[0].body, json!({"text": "alert a"}));
    assert!(main[0].queued_at > Utc::now() - chrono::Duration::seconds(30));
    assert_eq!(
        (main[2].event_id.clone(), main[2].plugin.clone()),
        (None, None)
    );
    assert_eq!(s.unacked_alerts("1001", "main", 2).await.unwrap().len(), 2);

    assert!(s.ack_alert("1001", "main", "a").await.unwrap());
    assert!(
        !s.ack_alert("1001", "main", "a").await.unwrap(),
        "acknowledged twice"
    );
    assert!(
        !s.ack_alert("1001", "main", "b").await.unwrap(),
        "another overlay's alert"
    );
    assert!(
        !s.ack_alert("1001", "main", "zzz").await.unwrap(),
        "no such alert"
    );
    assert!(
        !s.ack_alert("2002", "main", "c").await.unwrap(),
        "another channel"
    );
    let main = s.unacked_alerts("1001", "main", 10).await.unwrap();
    assert_eq!(
        main.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        ["c", "d"]
    );
    let side = s.unacked_alerts("1001", "side", 10).await.unwrap();
    assert_eq!(
        side.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        ["b"]
    );
    assert!(
        s.unacked_alerts("2002", "main", 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn plugin_kv_changes_apply_in_order(s: Arc<dyn ChannelRepositories>) {
    s.apply_kv(vec![
        kv("1001", "counter", "a", Some("1")),
        kv("1001", "counter", "b", Some("2")),
        kv("1001", "other", "a", Some("x")),
    ])
    .await
    .unwrap();
    let counter = s.plugin_kv("1001", "counter").await.unwrap();
    assert_eq!(counter.len(), 2);
    assert_eq!((counter["a"].as_str(), counter["b"].as_str()), ("1", "2"));
    // The last change to a key wins; None deletes.
    s.apply_kv(vec![
        kv("1001", "counter", "a", None),
        kv("1001", "counter", "b", Some("3")),
        kv("1001", "other", "b", Some("y")),
        kv("1001", "counter", "b", Some("4")),
        kv("1001", "counter", "c", Some("5")),
        kv("1001", "counter", "c", None),
        kv("1001", "counter", "e", None),
        kv("1001", "counter", "e", Some("6")),
    ])
    .await
    .unwrap();
    s.apply_kv(Vec::new()).await.unwrap();
    let mut pairs: Vec<_> = s
        .plugin_kv("1001", "counter")
        .await
        .unwrap()
        .into_iter()
        .collect();
    pairs.sort_unstable();
    assert_eq!(
        pairs,
        [
            ("b".to_owned(), "4".to_owned()),
            ("e".to_owned(), "6".to_owned())
        ]
    );
    assert_eq!(s.plugin_kv("1001", "other").await.unwrap().len(), 2);
    assert!(s.plugin_kv("1001", "nobody").await.unwrap().is_empty());
    assert!(s.plugin_kv("2002", "counter").await.unwrap().is_empty());
}

async fn writes_naming_another_channel_are_refused_whole(s: Arc<dyn ChannelRepositories>) {
    let refused = s
        .append_events(vec![follow("1001", "a", 1), follow("9999", "b", 2)])
        .await;
    assert!(matches!(refused, Err(StorageError::NoChannel(c)) if c == "9999"));
    let refused = s
        .queue_alerts(vec![alert("1001", "a", "main"), alert("9999", "b", "main")])
        .await;
    assert!(matches!(refused, Err(StorageError::NoChannel(c)) if c == "9999"));
    let refused = s
        .apply_kv(vec![
            kv("1001", "counter", "n", Some("1")),
            kv("9999", "counter", "n", Some("1")),
        ])
        .await;
    assert!(matches!(refused, Err(StorageError::NoChannel(c)) if c == "9999"));
    // Nothing of any of them was written.
    assert_eq!(s.event_count("1001").await.unwrap(), 0);
    assert!(
        s.unacked_alerts("1001", "main", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(s.plugin_kv("1001", "counter").await.unwrap().is_empty());
    // And the refused calls used up no position.
    assert_eq!(
        seqs(&s.append_events(vec![follow("1001", "a", 1)]).await.unwrap()),
        [Some(1)]
    );
    assert_eq!(
        s.queue_alerts(vec![alert("1001", "a", "main")])
            .await
            .unwrap(),
        [("a".to_owned(), 1)]
    );
}

async fn a_streamers_history_moves_to_a_cluster_once(cluster: Arc<dyn ClusterStore>) {
    two_channels(&*cluster).await;
    let (_dir, streamer) = streamer_store();
    let history: Vec<NewEvent> = (1..=1_203)
        .map(|n| follow("1001", &format!("e{n}"), n))
        .collect();
    streamer.append_events(history.clone()).await.unwrap();
    streamer
        .apply_kv(vec![
            kv("1001", "counter", "total", Some("1203")),
            kv("1001", "counter", "last", Some("user1203")),
        ])
        .await
        .unwrap();
    // The cluster handled one of them already, and its plugin wrote keys
    // since: one the streamer's file has too (the cluster's is newer).
    cluster
        .append_events(vec![history[7].clone()])
        .await
        .unwrap();
    cluster
        .apply_kv(vec![
            kv("1001", "counter", "total", Some("1")),
            kv("1001", "counter", "mine", Some("kept")),
        ])
        .await
        .unwrap();

    let plugins = vec!["counter".to_owned()];
    let copied = copy_channel(&*streamer, &*cluster, "1001", &plugins)
        .await
        .unwrap();
    assert_eq!(
        copied,
        Copied {
            events: 1_202,
            already_there: 1,
            kv_pairs: 1
        }
    );
    assert_eq!(cluster.event_count("1001").await.unwrap(), 1_203);
    let mut copied_events = Vec::new();
    let mut after = 0;
    loop {
        let page = cluster.events_after("1001", after, 400).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        copied_events.extend(page);
    }
    // Every event once, in the streamer's order after the one the cluster
    // had, as it was given.
    let mut expected: Vec<&NewEvent> = vec![&history[7]];
    expected.extend(
        history
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 7)
            .map(|(_, e)| e),
    );
    assert_eq!(copied_events.len(), expected.len());
    for (got, want) in copied_events.iter().zip(expected) {
        assert_eq!(
            (&got.id, &got.body, got.occurred_at),
            (&want.id, &want.body, want.occurred_at)
        );
    }
    let mut kv_pairs: Vec<_> = cluster
        .plugin_kv("1001", "counter")
        .await
        .unwrap()
        .into_iter()
        .collect();
    kv_pairs.sort_unstable();
    assert_eq!(
        kv_pairs,
        [
            ("last".to_owned(), "user1203".to_owned()),
            ("mine".to_owned(), "kept".to_owned()),
            ("total".to_owned(), "1".to_owned()),
        ]
    );
    assert_eq!(cluster.event_count("2002").await.unwrap(), 0);

    // Again: nothing is copied twice.
    let again = copy_channel(&*streamer, &*cluster, "1001", &plugins)
        .await
        .unwrap();
    assert_eq!(
        again,
        Copied {
            events: 0,
            already_there: 1_203,
            kv_pairs: 0
        }
    );
    assert_eq!(cluster.event_count("1001").await.unwrap(), 1_203);

    // A channel the cluster does not have is refused.
    let (_other_dir, stranger) = streamer_store_of("3003");
    stranger
        .append_events(vec![follow("3003", "x", 1)])
        .await
        .unwrap();
    let refused = copy_channel(&*stranger, &*cluster, "3003", &[]).await;
    assert!(matches!(refused, Err(StorageError::NoChannel(c)) if c == "3003"));
}

// The contract of the cluster store.

async fn channels_are_created_once_and_found_by_their_digests(s: Arc<dyn ClusterStore>) {
    let before = Utc::now() - chrono::Duration::seconds(5);
    let alice = s.create_channel("1001", "alice").await.unwrap();
    assert_eq!((alice.id.as_str(), alice.login.as_str()), ("1001", "alice"));
    assert!(
        alice.created_at > before && alice.created_at < Utc::now() + chrono::Duration::seconds(5)
    );
    assert_eq!(s.channel("1001").await.unwrap(), Some(alice.clone()));
    assert_eq!(s.channel("9999").await.unwrap(), None);

    match s.create_channel("1001", "alice2").await {
        Err(StorageError::ChannelExists(what)) => assert_eq!(what, "1001"),
        other => panic!("a second channel 1001 was not refused: {other:?}"),
    }
    match s.create_channel("1002", "alice").await {
        Err(StorageError::ChannelExists(what)) => assert_eq!(what, "alice"),
        other => panic!("a second login alice was not refused: {other:?}"),
    }
    let bob = s.create_channel("2002", "bob").await.unwrap();
    assert_eq!(s.channels().await.unwrap(), [alice, bob]);

    s.set_overlay_key_digest("1001", "overlay-a").await.unwrap();
    s.set_dashboard_token_digest("1001", "dash-a")
        .await
        .unwrap();
    s.set_overlay_key_digest("2002", "overlay-b").await.unwrap();
    assert_eq!(
        s.channel_by_overlay_key("overlay-a")
            .await
            .unwrap()
            .as_deref(),
        Some("1001")
    );
    assert_eq!(
        s.channel_by_overlay_key("overlay-b")
            .await
            .unwrap()
            .as_deref(),
        Some("2002")
    );
    assert_eq!(
        s.channel_by_dashboard_token("dash-a")
            .await
            .unwrap()
            .as_deref(),
        Some("1001")
    );
    // A digest of one kind does not match the other kind.
    assert_eq!(
        s.channel_by_dashboard_token("overlay-a").await.unwrap(),
        None
    );
    assert_eq!(s.channel_by_overlay_key("nope").await.unwrap(), None);

    // A new key replaces the old one.
    s.set_overlay_key_digest("1001", "overlay-a2")
        .await
        .unwrap();
    assert_eq!(s.channel_by_overlay_key("overlay-a").await.unwrap(), None);
    assert_eq!(
        s.channel_by_overlay_key("overlay-a2")
            .await
            .unwrap()
            .as_deref(),
        Some("1001")
    );

    assert!(matches!(
        s.set_overlay_key_digest("9999", "x").await,
        Err(StorageError::NoChannel(c)) if c == "9999"
    ));
    assert!(matches!(
        s.set_dashboard_token_digest("9999", "x").await,
        Err(StorageError::NoChannel(_))
    ));
}

async fn a_channel_never_sees_another_channels_data(s: Arc<dyn ClusterStore>) {
    two_channels(&*s).await;
    // The same ids in both channels are different events and alerts.
    let done = s
        .commit(Commit {
            events: vec![
                event("1001", "e1"),
                event("2002", "e1"),
                event("1001", "e2"),
            ],
            alerts: vec![alert("1001", "a1", "main"), alert("2002", "a1", "main")],
            kv: vec![kv("1001", "counter", "count", Some("7"))],
            known_followers: vec![("1001".into(), "u1".into())],
            cursors: Vec::new(),
        })
        .await
        .unwrap();
    assert_eq!(seqs(&done.events), [Some(1), Some(1), Some(2)]);
    assert_eq!(done.alerts, [("a1".to_owned(), 1), ("a1".to_owned(), 1)]);

    assert_eq!(s.event_count("1001").await.unwrap(), 2);
    assert_eq!(s.event_count("2002").await.unwrap(), 1);
    let b_events = s.recent_events("2002", 10, None).await.unwrap();
    assert!(b_events.iter().all(|e| e.channel_id == "2002"));
    assert_eq!(b_events.len(), 1);
    assert!(s.events_after("2002", 1, 10).await.unwrap().is_empty());
    assert!(s.recent_events("9999", 10, None).await.unwrap().is_empty());

    // Bob acknowledging alice's alert (by id, on his overlay) changes nothing
    // of hers.
    assert!(s.ack_alert("2002", "main", "a1").await.unwrap());
    assert!(!s.ack_alert("2002", "main", "a1").await.unwrap());
    let a_alerts = s.unacked_alerts("1001", "main", 10).await.unwrap();
    assert_eq!(a_alerts.len(), 1);
    assert_eq!(a_alerts[0].channel_id, "1001");
    s.commit(Commit {
        alerts: vec![alert("1001", "only-alice", "main")],
        ..Commit::default()
    })
    .await
    .unwrap();
    assert!(!s.ack_alert("2002", "main", "only-alice").await.unwrap());
    assert_eq!(s.unacked_alerts("1001", "main", 10).await.unwrap().len(), 2);
    assert!(
        s.unacked_alerts("2002", "main", 10)
            .await
            .unwrap()
            .is_empty()
    );

    assert!(s.plugin_kv("2002", "counter").await.unwrap().is_empty());
    assert_eq!(s.plugin_kv("1001", "counter").await.unwrap()["count"], "7");

    s.put_plugin(plugin("1001", "alert-box")).await.unwrap();
    assert!(s.plugins("2002").await.unwrap().is_empty());
    assert!(
        !s.set_plugin_settings("2002", "alert-box", &json!({"x": 1}))
            .await
            .unwrap()
    );
    assert!(
        !s.set_plugin_grants("2002", "alert-box", &["chat".into()])
            .await
            .unwrap()
    );
    assert!(!s.remove_plugin("2002", "alert-box").await.unwrap());
    let kept = &s.plugins("1001").await.unwrap()[0];
    assert_eq!(
        (kept.settings.clone(), kept.granted.clone()),
        (json!({"volume": 50}), vec!["http".to_owned()])
    );

    assert!(s.known_followers("2002").await.unwrap().is_empty());
    s.remove_known_followers("2002", &["u1".into()])
        .await
        .unwrap();
    assert_eq!(s.known_followers("1001").await.unwrap(), ["u1"]);

    let key = TokenKey::generate();
    s.set_sealed_user_token("1001", Some(&key.seal("1001", "alice-token")))
        .await
        .unwrap();
    assert_eq!(s.sealed_user_token("2002").await.unwrap(), None);
    s.set_sealed_user_token("2002", None).await.unwrap();
    assert!(s.sealed_user_token("1001").await.unwrap().is_some());

    s.set_overlay_key_digest("1001", "alice-key").await.unwrap();
    assert_eq!(
        s.channel_by_overlay_key("alice-key")
            .await
            .unwrap()
            .as_deref(),
        Some("1001")
    );
}

async fn committing_the_same_batch_twice_stores_it_once(s: Arc<dyn ClusterStore>) {
    two_channels(&*s).await;
    let batch = Commit {
        events: vec![
            event("1001", "m1"),
            event("1001", "m2"),
            event("2002", "m1"),
        ],
        alerts: vec![alert("1001", "m1:alert-box", "main")],
        kv: vec![kv("1001", "counter", "n", Some("1"))],
        known_followers: vec![("1001".into(), "u1".into())],
        cursors: Vec::new(),
    };
    let first = s.commit(batch.clone()).await.unwrap();
    assert_eq!(seqs(&first.events), [Some(1), Some(2), Some(1)]);
    assert_eq!(first.alerts, [("m1:alert-box".to_owned(), 1)]);

    let again = s.commit(batch.clone()).await.unwrap();
    assert_eq!(again.events, [Inserted::Duplicate; 3]);
    assert!(again.alerts.is_empty(), "{:?}", again.alerts);
    assert_eq!(s.event_count("1001").await.unwrap(), 2);
    assert_eq!(s.unacked_alerts("1001", "main", 10).await.unwrap().len(), 1);
    assert_eq!(s.known_followers("1001").await.unwrap(), ["u1"]);

    // An acknowledged alert redelivered is not queued again.
    assert!(s.ack_alert("1001", "main", "m1:alert-box").await.unwrap());
    assert!(s.commit(batch).await.unwrap().alerts.is_empty());
    assert!(
        s.unacked_alerts("1001", "main", 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Duplicates did not use up seqs or positions.
    let next = s
        .commit(Commit {
            events: vec![
                event("1001", "m2"),
                event("1001", "m3"),
                event("1001", "m3"),
            ],
            alerts: vec![alert("1001", "m3:alert-box", "main")],
            ..Commit::default()
        })
        .await
        .unwrap();
    assert_eq!(seqs(&next.events), [None, Some(3), None]);
    assert_eq!(next.alerts, [("m3:alert-box".to_owned(), 2)]);
}

async fn seqs_count_up_per_channel_in_commit_order(s: Arc<dyn ClusterStore>) {
    two_channels(&*s).await;
    let mut expected_a = Vec::new();
    for round in 0..5 {
        let mut commit = Commit::default();
        for i in 0..4 {
            let channel = if i % 2 == 0 { "1001" } else { "2002" };
            let id = format!("r{round}-{i}");
            if channel == "1001" {
                expected_a.push(id.clone());
            }
            commit.events.push(event(channel, &id));
        }
        s.commit(commit).await.unwrap();
    }
    assert_eq!(s.event_count("1001").await.unwrap(), 10);
    assert_eq!(s.event_count("2002").await.unwrap(), 10);

    let all = s.events_after("1001", 0, 100).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    assert_eq!(
        all.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        expected_a
    );

    let page = s.events_after("1001", 4, 3).await.unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [5, 6, 7]);
    let newest = s.recent_events("1001", 3, None).await.unwrap();
    assert_eq!(newest.iter().map(|e| e.seq).collect::<Vec<_>>(), [10, 9, 8]);
    let older = s.recent_events("1001", 3, Some(8)).await.unwrap();
    assert_eq!(older.iter().map(|e| e.seq).collect::<Vec<_>>(), [7, 6, 5]);
    assert!(
        s.recent_events("1001", 3, Some(1))
            .await
            .unwrap()
            .is_empty()
    );

    // What was stored reads back as it was given.
    let mut rich = event("1001", "rich");
    rich.kind = "channel.cheer".into();
    rich.source = "test".into();
    rich.occurred_at = at(1_712_345_678_901_234);
    rich.body = json!({"bits": 100, "message": "héllo ✨", "nested": [1, {"a": null}]});
    rich.display = Some(json!({"title": "100 bits"}));
    let before = Utc::now() - chrono::Duration::seconds(5);
    s.commit(Commit {
        events: vec![rich.clone()],
        ..Commit::default()
    })
    .await
    .unwrap();
    let stored = &s.recent_events("1001", 1, None).await.unwrap()[0];
    assert_eq!(stored.seq, 11);
    assert_eq!(
        (&stored.channel_id, &stored.id, &stored.kind, &stored.source),
        (&rich.channel_id, &rich.id, &rich.kind, &rich.source)
    );
    assert_eq!(stored.occurred_at, rich.occurred_at);
    assert_eq!(stored.body, rich.body);
    assert_eq!(stored.display, rich.display);
    assert!(stored.stored_at > before);
    assert_eq!(all[0].display, None);
}

async fn alerts_wait_in_order_until_acknowledged(s: Arc<dyn ClusterStore>) {
    two_channels(&*s).await;
    let done = s
        .commit(Commit {
            alerts: vec![
                alert("1001", "a", "main"),
                alert("1001", "b", "side"),
                alert("1001", "c", "main"),
                alert("1001", "d", "main"),
            ],
            ..Commit::default()
        })
        .await
        .unwrap();
    assert_eq!(
        done.alerts,
        [
            ("a".to_owned(), 1),
            ("b".to_owned(), 2),
            ("c".to_owned(), 3),
            ("d".to_owned(), 4)
        ]
    );
    let main = s.unacked_alerts("1001", "main", 10).await.unwrap();
    assert_eq!(
        main.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        ["a", "c", "d"]
    );
    assert_eq!(main[0].position, 1);
    assert_eq!(main[0].event_id.as_deref(), Some("event-a"));
    assert_eq!(main[0].plugin.as_deref(), Some("alert-box"));
    assert_eq!(main[0].body, json!({"text": "alert a"}));
    assert_eq!(main[0].overlay, "main");
    assert!(main[0].queued_at > Utc::now() - chrono::Duration::seconds(30));
    let side = s.unacked_alerts("1001", "side", 10).await.unwrap();
    assert_eq!(side.iter().map(|a| a.position).collect::<Vec<_>>(), [2]);
    assert_eq!(s.unacked_alerts("1001", "main", 2).await.unwrap().len(), 2);

    assert!(s.ack_alert("1001", "main", "a").await.unwrap());
    assert!(
        !s.ack_alert("1001", "main", "a").await.unwrap(),
        "acknowledged twice"
    );
    assert!(
        !s.ack_alert("1001", "main", "b").await.unwrap(),
        "another overlay's alert"
    );
    assert!(
        !s.ack_alert("1001", "main", "zzz").await.unwrap(),
        "no such alert"
    );
    assert!(s.ack_alert("1001", "main", "d").await.unwrap());
    let main = s.unacked_alerts("1001", "main", 10).await.unwrap();
    assert_eq!(
        main.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        ["c"]
    );

    // Alerts without an event or plugin.
    let bare = NewAlert {
        event_id: None,
        plugin: None,
        ..alert("1001", "e", "main")
    };
    s.commit(Commit {
        alerts: vec![bare],
        ..Commit::default()
    })
    .await
    .unwrap();
    let main = s.unacked_alerts("1001", "main", 10).await.unwrap();
    assert_eq!(main.iter().map(|a| a.position).collect::<Vec<_>>(), [3, 5]);
    assert_eq!(
        (main[1].event_id.clone(), main[1].plugin.clone()),
        (None, None)
    );
}

async fn plugin_kv_is_set_and_deleted_by_commits(s: Arc<dyn ClusterStore>) {
    two_channels(&*s).await;
    s.commit(Commit {
        kv: vec![
            kv("1001", "counter", "a", Some("1")),
            kv("1001", "counter", "b", Some("2")),
            kv("1001", "other", "a", Some("x")),
        ],
        ..Commit::default()
    })
    .await
    .unwrap();
    let counter = s.plugin_kv("1001", "counter").await.unwrap();
    assert_eq!(counter.len(), 2);
    assert_eq!((counter["a"].as_str(), counter["b"].as_str()), ("1", "2"));
    assert_eq!(s.plugin_kv("1001", "other").await.unwrap()["a"], "x");

    // Within one commit the last change to a key wins.
    s.commit(Commit {
        kv: vec![
            kv("1001", "counter", "a", None),
            kv("1001", "counter", "b", Some("3")),
            kv("1001", "counter", "b", Some("4")),
            kv("1001", "counter", "c", Some("5")),
            kv("1001", "counter", "c", None),
            kv("1001", "counter", "d", None),
            kv("1001", "counter", "e", None),
            kv("1001", "counter", "e", Some("6")),
        ],
        ..Commit::default()
    })
    .await
    .unwrap();
    let counter = s.plugin_kv("1001", "counter").await.unwrap();
    let mut pairs: Vec<_> = counter
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.sort_unstable();
    assert_eq!(pairs, [("b", "4"), ("e", "6")]);
    assert_eq!(s.plugin_kv("1001", "other").await.unwrap().len(), 1);
    assert!(s.plugin_kv("1001", "nobody").await.unwrap().is_empty());
}

async fn plugins_are_installed_replaced_configured_and_removed(s: Arc<dyn ClusterStore>) {
    two_channels(&*s).await;
    let before = Utc::now() - chrono::Duration::seconds(5);
    s.put_plugin(plugin("1001", "alert-box")).await.unwrap();
    s.put_plugin(plugin("1001", "counter")).await.unwrap();
    let listed = s.plugins("1001").await.unwrap();
    assert_eq!(
        listed.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["alert-box", "counter"]
    );
    let p = &listed[0];
    assert_eq!(p.package, b"package of alert-box");
    assert_eq!(p.digest, "digest-alert-box");
    assert_eq!(p.granted, ["http"]);
    assert_eq!(p.settings, json!({"volume": 50}));
    assert!(p.enabled);
    assert!(p.updated_at > before);

    // A replace without grants or settings keeps the streamer's.
    s.set_plugin_settings("1001", "alert-box", &json!({"volume": 80}))
        .await
        .unwrap();
    s.set_plugin_grants("1001", "alert-box", &["http".into(), "chat".into()])
        .await
        .unwrap();
    s.put_plugin(ChannelPlugin {
        package: b"version 2".to_vec(),
        digest: "digest-2".into(),
        granted: Vec::new(),
        settings: serde_json::Value::Null,
        enabled: false,
        ..plugin("1001", "alert-box")
    })
    .await
    .unwrap();
    let p = &s.plugins("1001").await.unwrap()[0];
    assert_eq!(
        (p.package.as_slice(), p.digest.as_str()),
        (&b"version 2"[..], "digest-2")
    );
    assert_eq!(p.granted, ["http", "chat"]);
    assert_eq!(p.settings, json!({"volume": 80}));
    assert!(!p.enabled);

    // A replace with them sets them.
    s.put_plugin(ChannelPlugin {
        granted: vec!["tts".into()],
        settings: json!({"volume": 10}),
        ..plugin("1001", "alert-box")
    })
    .await
    .unwrap();
    let p = &s.plugins("1001").await.unwrap()[0];
    assert_eq!(
        (p.granted.clone(), p.settings.clone()),
        (vec!["tts".to_owned()], json!({"volume": 10}))
    );
    assert!(p.enabled);

    assert!(s.set_plugin_grants("1001", "alert-box", &[]).await.unwrap());
    assert!(s.plugins("1001").await.unwrap()[0].granted.is_empty());
    assert!(
        !s.set_plugin_settings("1001", "missing", &json!({}))
            .await
            .unwrap()
    );
    assert!(!s.set_plugin_grants("1001", "missing", &[]).await.unwrap());

    // Removing a plugin removes its data, and only its data.
    s.commit(Commit {
        kv: vec![
            kv("1001", "alert-box", "seen", Some("1")),
            kv("1001", "counter", "n", Some("2")),
        ],
        ..Commit::default()
    })
    .await
    .unwrap();
    assert!(s.remove_plugin("1001", "alert-box").await.unwrap());
    assert!(!s.remove_plugin("1001", "alert-box").await.unwrap());
    assert!(s.plugin_kv("1001", "alert-box").await.unwrap().is_empty());
    assert_eq!(s.plugin_kv("1001", "counter").await.unwrap()["n"], "2");
    assert_eq!(s.plugins("1001").await.unwrap().len(), 1);

    assert!(matches!(
        s.put_plugin(plugin("9999", "alert-box")).await,
        Err(StorageError::NoChannel(c)) if c == "9999"
    ));
}

async fn known_followers_are_added_and_removed(s: Arc<dyn ClusterStore>) {
    two_channels(&*s).await;
    assert!(s.known_followers("1001").await.unwrap().is_empty());
    let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    s.add_known_followers("1001", &ids(&["u3", "u1", "u2"]))
        .await
        .unwrap();
    s.add_known_followers("1001", &ids(&["u2", "u4", "u4"]))
        .await
        .unwrap();
    s.add_known_followers("1001", &[]).await.unwrap();
    assert_eq!(
        s.known_followers("1001").await.unwrap(),
        ["u1", "u2", "u3", "u4"]
    );
    s.remove_known_followers("1001", &ids(&["u2", "u9"]))
        .await
        .unwrap();
    s.remove_known_followers("1001", &[]).await.unwrap();
    assert_eq!(s.known_followers("1001").await.unwrap(), ["u1", "u3", "u4"]);

    s.commit(Commit {
        known_followers: vec![
            ("1001".into(), "u5".into()),
            ("1001".into(), "u1".into()),
            ("2002".into(), "u1".into()),
        ],
        ..Commit::default()
    })
    .await
    .unwrap();
    assert_eq!(
        s.known_followers("1001").await.unwrap(),
        ["u1", "u3", "u4", "u5"]
    );
    assert_eq!(s.known_followers("2002").await.unwrap(), ["u1"]);

    assert!(matches!(
        s.add_known_followers("9999", &ids(&["u1"])).await,
        Err(StorageError::NoChannel(c)) if c == "9999"
    ));
}

fn member(id: &str, login: &str, data: serde_json::Value) -> Member {
    Member {
        user_id: id.to_owned(),
        login: login.to_owned(),
        display_name: login.to_uppercase(),
        data,
    }
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

async fn member_lists_are_recorded_replaced_and_kept_per_channel(s: Arc<dyn ClusterStore>) {
    two_channels(&*s).await;
    for list in MemberList::ALL {
        assert_eq!(s.members("1001", list).await.unwrap(), None, "{list}");
    }

    // The baseline: generation 1, members by user id, data as given.
    let sub = member("30", "carol", json!({"tier": "2000", "is_gift": true}));
    let baseline = [
        member("20", "bea", json!({})),
        member("10", "al", json!({})),
    ];
    assert_eq!(
        s.replace_members("1001", MemberList::Vips, None, &baseline, &[])
            .await
            .unwrap(),
        Some(1)
    );
    s.replace_members(
        "1001",
        MemberList::Subscribers,
        None,
        std::slice::from_ref(&sub),
        &[],
    )
    .await
    .unwrap();
    // An empty list recorded is a baseline too.
    assert_eq!(
        s.replace_members("1001", MemberList::Banned, None, &[], &[])
            .await
            .unwrap(),
        Some(1)
    );
    assert_eq!(
        s.members("1001", MemberList::Banned).await.unwrap(),
        Some(Members {
            generation: 1,
            members: vec![]
        })
    );
    assert_eq!(
        s.members("1001", MemberList::Vips).await.unwrap(),
        Some(Members {
            generation: 1,
            members: vec![baseline[1].clone(), baseline[0].clone()]
        })
    );
    assert_eq!(
        s.members("1001", MemberList::Subscribers)
            .await
            .unwrap()
            .unwrap()
            .members,
        [sub]
    );

    // A change: one renamed, one new, one gone (and an unknown id ignored).
    let renamed = member("20", "bea_2", json!({}));
    let new = member("40", "dan", json!({}));
    assert_eq!(
        s.replace_members(
            "1001",
            MemberList::Vips,
            Some(1),
            &[renamed.clone(), new.clone()],
            &strings(&["10", "99"]),
        )
        .await
        .unwrap(),
        Some(2)
    );
    assert_eq!(
        s.members("1001", MemberList::Vips).await.unwrap(),
        Some(Members {
            generation: 2,
            members: vec![renamed.clone(), new.clone()]
        })
    );

    // What was found against a generation the list has left, or a second
    // baseline, is not recorded: the list stays as it is.
    let late = member("77", "late", json!({}));
    assert_eq!(
        s.replace_members(
            "1001",
            MemberList::Vips,
            Some(1),
            std::slice::from_ref(&late),
            &strings(&["20"])
        )
        .await
        .unwrap(),
        None
    );
    assert_eq!(
        s.replace_members("1001", MemberList::Vips, None, &[late], &[])
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.members("1001", MemberList::Vips).await.unwrap(),
        Some(Members {
            generation: 2,
            members: vec![renamed.clone(), new.clone()]
        })
    );

    // Lists are apart: the same user in another list, another channel.
    assert_eq!(
        s.members("1001", MemberList::Moderators).await.unwrap(),
        None
    );
    assert_eq!(s.members("2002", MemberList::Vips).await.unwrap(), None);
    let bobs = member("20", "bea", json!({"note": "bob's"}));
    assert_eq!(
        s.replace_members(
            "2002",
            MemberList::Vips,
            None,
            std::slice::from_ref(&bobs),
            &[]
        )
        .await
        .unwrap(),
        Some(1)
    );
    s.replace_members("2002", MemberList::Vips, Some(1), &[], &strings(&["40"]))
        .await
        .unwrap();
    assert_eq!(
        s.members("1001", MemberList::Vips).await.unwrap(),
        Some(Members {
            generation: 2,
            members: vec![renamed, new]
        }),
        "another channel's change leaves this one untouched"
    );
    assert_eq!(
        s.members("2002", MemberList::Vips)
            .await
            .unwrap()
            .unwrap()
            .members,
        [bobs]
    );

    // A user twice in one call: the last row wins.
    s.replace_members(
        "2002",
        MemberList::Moderators,
        None,
        &[
            member("5", "first", json!({})),
            member("5", "last", json!({})),
        ],
        &[],
    )
    .await
    .unwrap();
    let mods = s
        .members("2002", MemberList::Moderators)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mods.members, [member("5", "last", json!({}))]);

    assert!(matches!(
        s.replace_members("9999", MemberList::Vips, None, &baseline, &[])
            .await,
        Err(StorageError::NoChannel(c)) if c == "9999"
    ));
    assert_eq!(s.members("9999", MemberList::Vips).await.unwrap(), None);
}

async fn concurrent_replacements_found_against_one_generation_record_one(s: Arc<dyn ClusterStore>) {
    two_channels(&*s).await;
    s.replace_members("1001", MemberList::Banned, None, &[], &[])
        .await
        .unwrap();
    const WRITERS: usize = 8;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let s = Arc::clone(&s);
        tasks.push(tokio::spawn(async move {
            let added = [member(&format!("u{w}"), "x", json!({"w": w}))];
            let recorded = s
                .replace_members("1001", MemberList::Banned, Some(1), &added, &[])
                .await
                .unwrap();
            (w, recorded)
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        let (w, recorded) = task.await.unwrap();
        if let Some(generation) = recorded {
            winners.push((w, generation));
        }
    }
    assert_eq!(winners.len(), 1, "one of them is recorded: {winners:?}");
    let (winner, generation) = winners[0];
    assert_eq!(generation, 2);
    let list = s
        .members("1001", MemberList::Banned)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(list.generation, 2);
    assert_eq!(
        list.members,
        [member(&format!("u{winner}"), "x", json!({"w": winner}))],
        "only the recorded change is written"
    );
}

async fn writes_to_an_unknown_channel_are_refused_whole(s: Arc<dyn ClusterStore>) {
    two_channels(&*s).await;
    let stray = Commit {
        events: vec![event("1001", "e1"), event("9999", "e1")],
        alerts: vec![alert("1001", "a1", "main")],
        kv: vec![kv("1001", "counter", "n", Some("1"))],
        known_followers: vec![("1001".into(), "u1".into())],
        cursors: Vec::new(),
    };
    assert!(matches!(
        s.commit(stray).await,
        Err(StorageError::NoChannel(c)) if c == "9999"
    ));
    for only_stray in [
        Commit {
            kv: vec![kv("9999", "counter", "n", Some("1"))],
            ..Commit::default()
        },
        Commit {
            known_followers: vec![("9999".into(), "u1".into())],
            ..Commit::default()
        },
        Commit {
            alerts: vec![alert("9999", "a1", "main")],
            ..Commit::default()
        },
    ] {
        assert!(matches!(
            s.commit(only_stray).await,
            Err(StorageError::NoChannel(_))
        ));
    }
    assert_eq!(s.event_count("1001").await.unwrap(), 0);
    assert!(
        s.unacked_alerts("1001", "main", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(s.plugin_kv("1001", "counter").await.unwrap().is_empty());
    assert!(s.known_followers("1001").await.unwrap().is_empty());
    // The refused commit used up no seq.
    let ok = s.commit(events("1001", &["e1"])).await.unwrap();
    assert_eq!(ok.events, [Inserted::New(1)]);
    // An empty commit is fine.
    assert_eq!(s.commit(Commit::default()).await.unwrap().events, []);
}

async fn leases_are_taken_renewed_contended_and_expire(s: Arc<dyn ClusterStore>) {
    let minute = Duration::from_secs(60);
    assert!(
        s.acquire_lease("worker-partition-0", "node-a", minute)
            .await
            .unwrap()
    );
    assert!(
        s.acquire_lease("worker-partition-0", "node-a", minute)
            .await
            .unwrap(),
        "renewal"
    );
    assert!(
        !s.acquire_lease("worker-partition-0", "node-b", minute)
            .await
            .unwrap(),
        "contended"
    );
    assert!(
        s.acquire_lease("worker-partition-1", "node-b", minute)
            .await
            .unwrap()
    );
    assert!(
        s.acquire_lease("poller-followers", "node-c", minute)
            .await
            .unwrap()
    );

    let workers = s.leases("worker-partition-").await.unwrap();
    assert_eq!(
        workers
            .iter()
            .map(|l| (l.name.as_str(), l.holder.as_str()))
            .collect::<Vec<_>>(),
        [
            ("worker-partition-0", "node-a"),
            ("worker-partition-1", "node-b")
        ]
    );
    let expires = workers[0].expires_at - Utc::now();
    assert!(
        expires > chrono::Duration::seconds(50) && expires <= chrono::Duration::seconds(61),
        "{expires}"
    );
    assert_eq!(s.leases("").await.unwrap().len(), 3);
    assert!(
        s.leases("worker_").await.unwrap().is_empty(),
        "the prefix is literal"
    );
    assert!(
        s.leases("%").await.unwrap().is_empty(),
        "the prefix is literal"
    );

    // Only the holder can give a lease up.
    s.release_lease("worker-partition-0", "node-b")
        .await
        .unwrap();
    assert!(
        !s.acquire_lease("worker-partition-0", "node-b", minute)
            .await
            .unwrap()
    );
    s.release_lease("worker-partition-0", "node-a")
        .await
        .unwrap();
    assert!(
        s.acquire_lease("worker-partition-0", "node-b", minute)
            .await
            .unwrap()
    );
    assert_eq!(
        s.leases("worker-partition-0").await.unwrap()[0].holder,
        "node-b"
    );

    // An expired lease goes to whoever asks next.
    let short = Duration::from_millis(200);
    assert!(s.acquire_lease("short", "node-a", short).await.unwrap());
    assert!(!s.acquire_lease("short", "node-b", short).await.unwrap());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(s.acquire_lease("short", "node-b", minute).await.unwrap());
    assert!(!s.acquire_lease("short", "node-a", minute).await.unwrap());
    assert_eq!(s.leases("short").await.unwrap()[0].holder, "node-b");
}

async fn many_leases_are_taken_and_renewed_in_one_call(s: Arc<dyn ClusterStore>) {
    let minute = Duration::from_secs(60);
    let names = |ids: &[&str]| -> Vec<String> {
        ids.iter().map(|i| format!("ingest-poller-{i}")).collect()
    };
    assert!(
        s.acquire_lease("ingest-poller-b", "node-b", minute)
            .await
            .unwrap()
    );
    // Free ones are taken, another's is not; the answer keeps the order asked.
    let held = s
        .acquire_leases(&names(&["c", "b", "a"]), "node-a", minute)
        .await
        .unwrap();
    assert_eq!(held, names(&["c", "a"]));
    let holders: Vec<(String, String)> = s
        .leases("ingest-poller-")
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.name, l.holder))
        .collect();
    assert_eq!(
        holders,
        [
            ("ingest-poller-a".into(), "node-a".into()),
            ("ingest-poller-b".into(), "node-b".into()),
            ("ingest-poller-c".into(), "node-a".into()),
        ]
    );
    // Renewal pushes the expiry on.
    let before = s.leases("ingest-poller-a").await.unwrap()[0].expires_at;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let renewed = s
        .acquire_leases(&names(&["a", "c"]), "node-a", minute)
        .await
        .unwrap();
    assert_eq!(renewed, names(&["a", "c"]));
    assert!(s.leases("ingest-poller-a").await.unwrap()[0].expires_at > before);
    // An expired lease of another holder is taken over.
    assert!(
        s.acquire_lease("ingest-poller-d", "node-b", Duration::from_millis(100))
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        s.acquire_leases(&names(&["d", "b"]), "node-a", minute)
            .await
            .unwrap(),
        names(&["d"])
    );
    assert!(
        s.acquire_leases(&[], "node-a", minute)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_cursor_commits_only_for_the_partition_lease_holder(s: Arc<dyn ClusterStore>) {
    two_channels(&*s).await;
    let work = |holder: &str, sequence: u64| Commit {
        events: vec![event("1001", &format!("e{sequence}"))],
        alerts: vec![alert("1001", &format!("a{sequence}"), "main")],
        kv: vec![kv("1001", "counter", "n", Some(&sequence.to_string()))],
        known_followers: vec![("1001".into(), format!("u{sequence}"))],
        cursors: cursor(3, sequence, holder),
    };
    let nothing_written = async |s: &dyn ClusterStore, events: i64| {
        assert_eq!(s.event_count("1001").await.unwrap(), events);
        assert_eq!(
            s.unacked_alerts("1001", "main", 10).await.unwrap().len() as i64,
            events
        );
        assert_eq!(
            s.known_followers("1001").await.unwrap().len() as i64,
            events
        );
    };

    // Nobody holds the lease.
    match s.commit(work("node-a", 10)).await {
        Err(StorageError::LeaseLost(name)) => assert_eq!(name, "worker-partition-3"),
        other => panic!("a commit without the lease went through: {other:?}"),
    }
    nothing_written(&*s, 0).await;
    assert_eq!(s.cursor(3).await.unwrap(), None);
    assert!(s.plugin_kv("1001", "counter").await.unwrap().is_empty());

    // The holder commits.
    assert!(
        s.acquire_lease("worker-partition-3", "node-a", Duration::from_secs(60))
            .await
            .unwrap()
    );
    s.commit(work("node-a", 10)).await.unwrap();
    assert_eq!(s.cursor(3).await.unwrap(), Some(10));
    nothing_written(&*s, 1).await;

    // Someone else, or the holder of another partition's lease, does not.
    assert!(
        s.acquire_lease("worker-partition-4", "node-b", Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert!(matches!(
        s.commit(work("node-b", 11)).await,
        Err(StorageError::LeaseLost(_))
    ));
    assert_eq!(s.cursor(3).await.unwrap(), Some(10));
    nothing_written(&*s, 1).await;

    // A holder that stalled past its lease is fenced off, even before
    // anyone else took the lease.
    s.release_lease("worker-partition-3", "node-a")
        .await
        .unwrap();
    assert!(
        s.acquire_lease("worker-partition-3", "node-a", Duration::from_millis(150))
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(matches!(
        s.commit(work("node-a", 12)).await,
        Err(StorageError::LeaseLost(_))
    ));
    nothing_written(&*s, 1).await;
    assert_eq!(s.plugin_kv("1001", "counter").await.unwrap()["n"], "10");

    // Its successor carries on from the cursor.
    assert!(
        s.acquire_lease("worker-partition-3", "node-b", Duration::from_secs(60))
            .await
            .unwrap()
    );
    s.commit(work("node-b", 12)).await.unwrap();
    assert_eq!(s.cursor(3).await.unwrap(), Some(12));
    nothing_written(&*s, 2).await;

    // A commit without a cursor needs no lease.
    s.commit(events("1001", &["free"])).await.unwrap();
}

async fn cursors_are_read_back_per_partition(s: Arc<dyn ClusterStore>) {
    let minute = Duration::from_secs(60);
    assert_eq!(s.cursor(0).await.unwrap(), None);
    for partition in [0, 1, u32::MAX] {
        let name = format!("worker-partition-{partition}");
        assert!(s.acquire_lease(&name, "node-a", minute).await.unwrap());
    }
    let at = |partition, sequence| Commit {
        cursors: cursor(partition, sequence, "node-a"),
        ..Commit::default()
    };
    s.commit(at(0, 5)).await.unwrap();
    s.commit(at(1, 7)).await.unwrap();
    s.commit(at(0, 6)).await.unwrap();
    s.commit(at(u32::MAX, i64::MAX as u64)).await.unwrap();
    assert_eq!(s.cursor(0).await.unwrap(), Some(6));
    assert_eq!(s.cursor(1).await.unwrap(), Some(7));
    assert_eq!(s.cursor(u32::MAX).await.unwrap(), Some(i64::MAX as u64));
    assert_eq!(s.cursor(2).await.unwrap(), None);
    assert!(
        s.commit(at(1, u64::MAX)).await.is_err(),
        "beyond what can be stored"
    );
    assert_eq!(s.cursor(1).await.unwrap(), Some(7));
}

/// A worker commits several partitions' batches in one transaction: all of
/// it is written with every cursor, or, when one lease is lost, none of it.
async fn a_commit_of_several_partitions_needs_every_lease(s: Arc<dyn ClusterStore>) {
    two_channels(&*s).await;
    let minute = Duration::from_secs(60);
    for partition in [1, 2] {
        let name = format!("worker-partition-{partition}");
        assert!(s.acquire_lease(&name, "node-a", minute).await.unwrap());
    }
    let both = |tag: &str, holder: &str, sequence: u64| Commit {
        events: vec![
            event("1001", &format!("{tag}-1")),
            event("2002", &format!("{tag}-2")),
        ],
        alerts: vec![
            alert("1001", &format!("{tag}-a1"), "main"),
            alert("2002", &format!("{tag}-a2"), "main"),
        ],
        cursors: [
            cursor(1, sequence, holder),
            cursor(2, sequence + 100, holder),
        ]
        .concat(),
        ..Commit::default()
    };
    let done = s.commit(both("x", "node-a", 5)).await.unwrap();
    assert_eq!(seqs(&done.events), [Some(1), Some(1)]);
    assert_eq!(done.alerts.len(), 2);
    assert_eq!(s.cursor(1).await.unwrap(), Some(5));
    assert_eq!(s.cursor(2).await.unwrap(), Some(105));

    // Partition 2 moves to another node: the next shared commit is refused
    // whole, naming the lost lease.
    s.release_lease("worker-partition-2", "node-a")
        .await
        .unwrap();
    assert!(
        s.acquire_lease("worker-partition-2", "node-b", minute)
            .await
            .unwrap()
    );
    match s.commit(both("y", "node-a", 6)).await {
        Err(StorageError::LeaseLost(name)) => assert_eq!(name, "worker-partition-2"),
        other => panic!("a commit with a lost lease went through: {other:?}"),
    }
    assert_eq!(s.event_count("1001").await.unwrap(), 1);
    assert_eq!(s.event_count("2002").await.unwrap(), 1);
    assert_eq!(s.cursor(1).await.unwrap(), Some(5));
    assert_eq!(s.cursor(2).await.unwrap(), Some(105));

    // Two positions of one partition in a commit: the furthest is kept.
    let twice = Commit {
        cursors: [cursor(1, 9, "node-a"), cursor(1, 8, "node-a")].concat(),
        ..Commit::default()
    };
    s.commit(twice).await.unwrap();
    assert_eq!(s.cursor(1).await.unwrap(), Some(9));
}

async fn concurrent_commits_to_one_channel_keep_seqs_gapless(s: Arc<dyn ClusterStore>) {
    two_channels(&*s).await;
    const TASKS: usize = 4;
    const ROUNDS: usize = 25;
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let s = Arc::clone(&s);
        tasks.push(tokio::spawn(async move {
            let mut new = Vec::new();
            for round in 0..ROUNDS {
                // Three events of its own, one every task tries to store,
                // and one in the other channel.
                let ids = [
                    format!("t{task}-r{round}-a"),
                    format!("t{task}-r{round}-b"),
                    format!("shared-r{round}"),
                    format!("t{task}-r{round}-c"),
                ];
                let mut commit =
                    events("1001", &ids.iter().map(String::as_str).collect::<Vec<_>>());
                commit
                    .events
                    .push(event("2002", &format!("t{task}-r{round}")));
                commit
                    .alerts
                    .push(alert("1001", &format!("shared-r{round}"), "main"));
                let done = s.commit(commit).await.unwrap();
                new.extend(seqs(&done.events[..4]).into_iter().flatten());
            }
            new
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let expected = TASKS * ROUNDS * 3 + ROUNDS;
    assert_eq!(all.len(), expected, "each shared event is new exactly once");
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(unique.len(), expected, "a seq was handed out twice");
    assert_eq!(
        unique,
        (1..=expected as i64).collect::<HashSet<_>>(),
        "seqs have gaps"
    );
    assert_eq!(s.event_count("1001").await.unwrap(), expected as i64);
    let stored = s.events_after("1001", 0, 10_000).await.unwrap();
    assert_eq!(
        stored.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=expected as i64).collect::<Vec<_>>()
    );
    assert_eq!(
        s.event_count("2002").await.unwrap(),
        (TASKS * ROUNDS) as i64
    );
    let positions: Vec<i64> = s
        .unacked_alerts("1001", "main", 1000)
        .await
        .unwrap()
        .iter()
        .map(|a| a.position)
        .collect();
    assert_eq!(positions, (1..=ROUNDS as i64).collect::<Vec<_>>());
}

async fn sealed_tokens_round_trip_through_the_store(s: Arc<dyn ClusterStore>) {
    two_channels(&*s).await;
    let key = TokenKey::generate();
    assert_eq!(s.sealed_user_token("1001").await.unwrap(), None);
    let sealed = key.seal("1001", "alice-user-token");
    s.set_sealed_user_token("1001", Some(&sealed))
        .await
        .unwrap();
    let stored = s.sealed_user_token("1001").await.unwrap().unwrap();
    assert_eq!(stored, sealed);
    assert_eq!(
        key.open("1001", &stored).unwrap().as_str(),
        "alice-user-token"
    );

    // Copied into another channel's row, it does not open there.
    s.set_sealed_user_token("2002", Some(&stored))
        .await
        .unwrap();
    let copied = s.sealed_user_token("2002").await.unwrap().unwrap();
    assert!(key.open("2002", &copied).is_err());
    // Nor with another cluster's key.
    assert!(TokenKey::generate().open("1001", &stored).is_err());

    s.set_sealed_user_token("1001", None).await.unwrap();
    assert_eq!(s.sealed_user_token("1001").await.unwrap(), None);
    assert!(matches!(
        s.sealed_user_token("9999").await,
        Err(StorageError::NoChannel(_))
    ));
    assert!(matches!(
        s.set_sealed_user_token("9999", Some(&sealed)).await,
        Err(StorageError::NoChannel(_))
    ));
}

async fn migrations_are_idempotent_and_keep_data(fx: &Fixture) {
    fx.store.create_channel("1001", "alice").await.unwrap();
    fx.store
        .commit(events("1001", &["e1", "e2"]))
        .await
        .unwrap();
    let again = fx.reopen().await.unwrap();
    assert_eq!(again.event_count("1001").await.unwrap(), 2);
    let done = again.commit(events("1001", &["e2", "e3"])).await.unwrap();
    assert_eq!(seqs(&done.events), [None, Some(3)]);
    let third = fx.reopen().await.unwrap();
    assert_eq!(third.event_count("1001").await.unwrap(), 3);
    let done = third.commit(events("1001", &["e3", "e4"])).await.unwrap();
    assert_eq!(seqs(&done.events), [None, Some(4)]);
    assert_eq!(fx.store.event_count("1001").await.unwrap(), 4);
}

async fn a_newer_schema_is_refused(fx: &Fixture) {
    let latest = migrations::latest_version();
    fx.record_schema_version(latest + 1).await;
    match fx.reopen().await {
        Err(StorageError::TooNew { found, supported }) => {
            assert_eq!((found, supported), (latest + 1, latest));
        }
        Err(other) => panic!("expected TooNew, got {other}"),
        Ok(_) => panic!("a database from a newer Stagehand was opened"),
    }
}

// Backend-specific.

#[test]
fn sqlite_file_and_folder_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let fx = Fixture::sqlite();
    let Backend::Sqlite { path, .. } = &fx.backend else {
        unreachable!()
    };
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);

    // A file loosened by hand is tightened again on open.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
    SqliteStore::open(path).unwrap();
    assert_eq!(mode(path), 0o600);
}

#[tokio::test]
async fn sqlite_in_memory_is_a_working_store() {
    let s = SqliteStore::in_memory().unwrap();
    s.create_channel("1001", "alice").await.unwrap();
    let done = s.commit(events("1001", &["e1", "e1", "e2"])).await.unwrap();
    assert_eq!(seqs(&done.events), [Some(1), None, Some(2)]);
    assert_eq!(s.event_count("1001").await.unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: cargo xtask test runs it"]
async fn postgres_nodes_starting_together_migrate_once() {
    let url = database_url();
    let schema = format!("contract_{:016x}", rand::random::<u64>());
    let nodes: Vec<_> = (0..4)
        .map(|_| {
            let (url, schema) = (url.clone(), schema.clone());
            tokio::spawn(async move { PostgresStore::connect_in_schema(&url, &schema, 1).await })
        })
        .collect();
    let mut opened = Vec::new();
    for node in nodes {
        opened.push(node.await.unwrap());
    }
    let client = raw_postgres(&url).await;
    let versions = client
        .query_one(
            &format!("SELECT COUNT(*) FROM {schema}.schema_version"),
            &[],
        )
        .await
        .map(|r| r.get::<_, i64>(0));
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .await
        .unwrap();
    for node in opened {
        node.unwrap();
    }
    assert_eq!(versions.unwrap(), migrations::latest_version());
}

#[tokio::test]
async fn postgres_refuses_a_schema_name_that_needs_quoting() {
    for bad in ["", "Public", "a-b", "a;drop", "1abc"] {
        match PostgresStore::connect_in_schema("postgres://nobody@127.0.0.1:1/none", bad, 1).await {
            Err(StorageError::Backend(m)) => assert!(m.contains("schema name"), "{bad}: {m}"),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

/// What only the single host's store checks: it keeps an event in columns,
/// not as the JSON given, so a body must be a Stagehand event (and say the
/// id and channel beside it), and an alert an object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_single_host_refuses_what_it_cannot_store_as_given() {
    let (_dir, s) = streamer_store();
    let not_an_event = event("1001", "x");
    let refused = s
        .append_events(vec![follow("1001", "a", 1), not_an_event])
        .await;
    assert!(
        matches!(&refused, Err(StorageError::Invalid(why)) if why.contains("event x")),
        "{refused:?}"
    );
    let mut mislabelled = follow("1001", "b", 2);
    mislabelled.id = "c".into();
    let refused = s.append_events(vec![mislabelled]).await;
    assert!(
        matches!(&refused, Err(StorageError::Invalid(why)) if why.contains("its body says event b")),
        "{refused:?}"
    );
    let mut relabelled = follow("1001", "d", 4);
    relabelled.kind = "channel.cheer".into();
    let refused = s.append_events(vec![relabelled]).await;
    assert!(
        matches!(&refused, Err(StorageError::Invalid(why)) if why.contains("the event a channel.cheer")),
        "{refused:?}"
    );
    let mut later = follow("1001", "e", 5);
    later.occurred_at += chrono::Duration::seconds(1);
    assert!(matches!(
        s.append_events(vec![later]).await,
        Err(StorageError::Invalid(_))
    ));
    assert_eq!(s.event_count("1001").await.unwrap(), 0);

    let not_an_object = NewAlert {
        body: json!("just text"),
        ..alert("1001", "a", "main")
    };
    let refused = s
        .queue_alerts(vec![alert("1001", "z", "main"), not_an_object])
        .await;
    assert!(
        matches!(refused, Err(StorageError::Invalid(_))),
        "{refused:?}"
    );
    assert!(
        s.unacked_alerts("1001", "main", 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// The single host's file is one streamer's, numbered as a whole: events it
/// keeps under another channel id (test events fired before the streamer
/// logged in) take their places in `seq` but are no channel's to read, and
/// an alert that expired waits for nobody.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_single_host_numbers_its_whole_file_and_reads_only_its_channel() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("stagehand.db"), StoreOptions::default()).unwrap();
    let before_login = StreamerStore::new(store.clone(), "0");
    before_login
        .append_events(vec![follow("0", "test-1", 1)])
        .await
        .unwrap();
    let s = StreamerStore::new(store.clone(), "1001");
    let done = s
        .append_events(vec![follow("1001", "a", 2), follow("1001", "b", 3)])
        .await
        .unwrap();
    assert_eq!(seqs(&done), [Some(2), Some(3)]);
    // An id is unique in the whole file.
    assert_eq!(
        seqs(
            &s.append_events(vec![follow("1001", "test-1", 4)])
                .await
                .unwrap()
        ),
        [None]
    );
    assert_eq!(s.event_count("1001").await.unwrap(), 2);
    assert_eq!(
        s.event_count("0").await.unwrap(),
        0,
        "not this store's channel"
    );
    assert!(s.recent_events("0", 10, None).await.unwrap().is_empty());
    assert_eq!(
        ids_of(&s.recent_events("1001", 10, None).await.unwrap()),
        ["b", "a"]
    );
    assert_eq!(before_login.event_count("0").await.unwrap(), 1);

    s.queue_alerts(vec![
        alert("1001", "old", "main"),
        alert("1001", "new", "main"),
    ])
    .await
    .unwrap();
    store
        .write(|c| {
            c.execute(
                "UPDATE overlay_alerts SET expired_at = 1 WHERE id = 'old'",
                [],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let waiting = s.unacked_alerts("1001", "main", 10).await.unwrap();
    assert_eq!(
        waiting.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        ["new"]
    );
    assert!(
        !s.ack_alert("1001", "main", "old").await.unwrap(),
        "expired"
    );
    assert!(s.ack_alert("1001", "main", "new").await.unwrap());
    store.close().await;
}
