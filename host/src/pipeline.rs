//! The pipeline: every source sends its events here. Each event is
//! de-duplicated by id, stored, and then published on the live feed, in the
//! order received. Events that arrive together are stored in one
//! transaction. A storage failure is logged and reported to the sender; the
//! pipeline itself never stops on one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::dedup::RecentIds;
use crate::event::{Event, EventKind, now_ms};
use crate::live::{LiveFeed, LiveMessage};
use crate::plugins::PluginHost;
use crate::settle::{self, Settled};
use crate::store::events::{self, Inserted, StoredEvent};
use crate::store::{PendingWrite, Store, StoreError, savepoint};
use rusqlite::Connection;

/// What became of a submitted event.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Stored (committed) and published.
    Stored(Arc<StoredEvent>),
    /// An event with the same id was already handled; nothing was done.
    Duplicate,
    /// Storing failed; the reason was logged.
    Failed(String),
}

/// A write that belongs with an event: it runs in the transaction that
/// stores the event, just before the insert and only if the event id is new,
/// so an event and the domain tables it updates commit together. It answers
/// whether the change was news: `false` (the tables already showed it,
/// because another source delivered it first) drops the event as a
/// duplicate. An error is logged and undone alone; the event is kept.
pub type StoreHook = Box<dyn FnOnce(&Connection) -> Result<bool, StoreError> + Send>;

struct Submission {
    event: Event,
    hook: Option<StoreHook>,
    reply: Option<oneshot::Sender<Outcome>>,
}

/// The pipeline has shut down.
#[derive(Debug, thiserror::Error)]
#[error("the event pipeline has shut down")]
pub struct PipelineClosed;

/// The sending end that sources hold. Cloning is cheap.
#[derive(Clone)]
pub struct EventSender {
    tx: mpsc::Sender<Submission>,
}

impl EventSender {
    /// Queues an event; waits only if the pipeline is saturated.
    pub async fn send(&self, event: Event) -> Result<(), PipelineClosed> {
        self.tx
            .send(Submission {
                event,
                hook: None,
                reply: None,
            })
            .await
            .map_err(|_| PipelineClosed)
    }

    /// Queues an event and waits until it is stored (or found a duplicate).
    pub async fn submit(&self, event: Event) -> Result<Outcome, PipelineClosed> {
        self.enqueue(event, None)
            .await?
            .await
            .map_err(|_| PipelineClosed)
    }

    /// Queues an event with an optional [`StoreHook`] and returns as soon as
    /// it is queued, with a receiver for its outcome: a source keeps its
    /// order without waiting for each commit, so events arriving together
    /// share one transaction.
    pub async fn enqueue(
        &self,
        event: Event,
        hook: Option<StoreHook>,
    ) -> Result<oneshot::Receiver<Outcome>, PipelineClosed> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Submission {
                event,
                hook,
                reply: Some(reply),
            })
            .await
            .map_err(|_| PipelineClosed)?;
        Ok(rx)
    }
}

/// Tuning for [`Pipeline`].
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Submissions that may wait before senders are slowed down.
    pub queue: usize,
    /// The most events stored in one transaction.
    pub max_batch: usize,
    /// How many recent ids are remembered in memory (the database's unique
    /// id is the final word).
    pub recent_ids: usize,
    pub recent_ttl: Duration,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            queue: 4096,
            max_batch: 2048,
            recent_ids: 100_000,
            recent_ttl: Duration::from_secs(15 * 60),
        }
    }
}

/// A consumer of stored events besides the plugins (the speech service):
/// offered the kinds it wants, in order, without ever making the pipeline
/// wait, each with a [`Settled`] that resolves once the plugins' actions on
/// it (and on every earlier event) are carried out.
struct Tap {
    wants: fn(&EventKind) -> bool,
    tx: mpsc::Sender<(Arc<StoredEvent>, Settled)>,
}

/// The consuming end: run it as one task.
pub struct Pipeline {
    store: Store,
    plugins: Option<PluginHost>,
    taps: Vec<Tap>,
    feed: LiveFeed,
    recent: RecentIds,
    rx: mpsc::Receiver<Submission>,
    max_batch: usize,
}

impl Pipeline {
    /// A pipeline storing into `store` and publishing on `feed`, and the
    /// sender for its sources.
    pub fn new(store: Store, feed: LiveFeed, options: PipelineOptions) -> (Pipeline, EventSender) {
        let (tx, rx) = mpsc::channel(options.queue.max(1));
        let pipeline = Pipeline {
            store,
            plugins: None,
            taps: Vec::new(),
            feed,
            recent: RecentIds::new(options.recent_ids, options.recent_ttl),
            rx,
            max_batch: options.max_batch.max(1),
        };
        (pipeline, EventSender { tx })
    }

    /// Hands events to plugins: formatters before storing (their display is
    /// stored with the event), action plugins after.
    pub fn with_plugins(mut self, plugins: PluginHost) -> Self {
        self.plugins = Some(plugins);
        self
    }

    /// Also offers every new event whose kind `wants` accepts to `tx`. A
    /// full channel drops the offer with a warning: the consumer is behind,
    /// and the pipeline (storing, plugins) must not wait for it.
    pub fn with_tap(
        mut self,
        wants: fn(&EventKind) -> bool,
        tx: mpsc::Sender<(Arc<StoredEvent>, Settled)>,
    ) -> Self {
        self.taps.push(Tap { wants, tx });
        self
    }

    /// Processes submissions until every sender is dropped and the queue is
    /// drained. While one batch commits, the next is received, de-duplicated
    /// and queued behind it; outcomes are still published in order.
    pub async fn run(mut self) {
        let mut batch = Vec::with_capacity(self.max_batch);
        let mut in_flight: Option<InFlight> = None;
        loop {
            let step = match in_flight.as_mut() {
                Some(current) => tokio::select! {
                    biased;
                    n = self.rx.recv_many(&mut batch, self.max_batch) => Step::Received(n),
                    done = &mut current.write => Step::Committed(done),
                },
                None => Step::Received(self.rx.recv_many(&mut batch, self.max_batch).await),
            };
            match step {
                Step::Committed(done) => {
                    if let Some(current) = in_flight.take() {
                        self.complete(current.batch, done).await;
                    }
                }
                Step::Received(0) => break,
                Step::Received(_) => {
                    let next = self.start(std::mem::take(&mut batch)).await;
                    if let Some(mut previous) = in_flight.take() {
                        let done = (&mut previous.write).await;
                        self.complete(previous.batch, done).await;
                    }
                    in_flight = next;
                }
            }
        }
        if let Some(mut last) = in_flight.take() {
            let done = (&mut last.write).await;
            self.complete(last.batch, done).await;
        }
        tracing::debug!("event pipeline drained");
    }

    /// De-duplicates a batch and queues the new events for storing.
    async fn start(&mut self, batch: Vec<Submission>) -> Option<InFlight> {
        let now = Instant::now();
        let mut fresh = Vec::with_capacity(batch.len());
        for submission in batch {
            if self.recent.insert(&submission.event.id, now) {
                fresh.push(submission);
            } else {
                tracing::debug!(event_id = %submission.event.id, "duplicate event dropped");
                reply(submission.reply, Outcome::Duplicate);
            }
        }
        if fresh.is_empty() {
            return None;
        }
        let mut events = Vec::with_capacity(fresh.len());
        let mut hooks = Vec::with_capacity(fresh.len());
        let mut replies = Vec::with_capacity(fresh.len());
        for submission in fresh {
            events.push(submission.event);
            hooks.push(submission.hook);
            replies.push(submission.reply);
        }
        let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
        let displays = match &self.plugins {
            Some(plugins) => plugins.format(&events).await,
            None => Vec::new(),
        };
        let stored_at = now_ms();
        let write = self
            .store
            .writer()
            .enqueue(move |conn| {
                let results = store_batch(conn, &events, &displays, hooks, stored_at)?;
                Ok((events, displays, results))
            })
            .await;
        match write {
            Ok(write) => Some(InFlight {
                write,
                batch: Unconfirmed {
                    ids,
                    replies,
                    stored_at,
                },
            }),
            Err(e) => {
                self.complete(
                    Unconfirmed {
                        ids,
                        replies,
                        stored_at,
                    },
                    Err(e),
                )
                .await;
                None
            }
        }
    }

    /// Publishes what a committed batch stored and answers its senders.
    async fn complete(&mut self, batch: Unconfirmed, done: Result<BatchResult, StoreError>) {
        let Unconfirmed {
            ids,
            replies,
            stored_at,
        } = batch;
        match done {
            Err(e) => {
                let why = e.to_string();
                tracing::error!(error = %why, count = replies.len(), "could not store events; continuing");
                // None of the ids were stored: let a retry through.
                for (id, reply_to) in ids.iter().zip(replies) {
                    self.recent.remove(id);
                    reply(reply_to, Outcome::Failed(why.clone()));
                }
            }
            Ok((events, mut displays, results)) => {
                displays.resize(events.len(), None);
                let stored_events = events.into_iter().zip(displays).zip(results).zip(replies);
                for (((event, display), result), reply_to) in stored_events {
                    let outcome = match result {
                        Ok(Inserted::New(seq)) => {
                            let stored = Arc::new(StoredEvent {
                                seq,
                                event,
                                created_at: stored_at,
                                display,
                            });
                            self.feed.publish(LiveMessage::Event(stored.clone()));
                            let tapped: Vec<&Tap> = self
                                .taps
                                .iter()
                                .filter(|t| (t.wants)(&stored.event.kind))
                                .collect();
                            let (guard, settled) = settle::new();
                            if let Some(plugins) = &self.plugins {
                                let settle = (!tapped.is_empty()).then_some(&guard);
                                plugins.dispatch(&stored, settle);
                            }
                            drop(guard);
                            for tap in tapped {
                                if let Err(mpsc::error::TrySendError::Full(_)) =
                                    tap.tx.try_send((stored.clone(), settled.clone()))
                                {
                                    tracing::warn!(event_id = %stored.event.id, "a consumer of events is behind; event not offered to it");
                                }
                            }
                            Outcome::Stored(stored)
                        }
                        Ok(Inserted::Duplicate) => Outcome::Duplicate,
                        Err(e) => {
                            tracing::error!(
                                event_id = %event.id, kind = %event.kind, error = %e,
                                "could not store event; continuing"
                            );
                            self.recent.remove(&event.id);
                            Outcome::Failed(e.to_string())
                        }
                    };
                    reply(reply_to, outcome);
                }
            }
        }
    }
}

type BatchResult = (
    Vec<Event>,
    Vec<Option<serde_json::Value>>,
    Vec<Result<Inserted, StoreError>>,
);

/// A batch queued at the writer, not yet committed.
struct InFlight {
    write: PendingWrite<BatchResult>,
    batch: Unconfirmed,
}

/// The senders of a batch waiting to hear what became of their events.
struct Unconfirmed {
    ids: Vec<String>,
    replies: Vec<Option<oneshot::Sender<Outcome>>>,
    stored_at: chrono::DateTime<chrono::Utc>,
}

enum Step {
    Received(usize),
    Committed(Result<BatchResult, StoreError>),
}

/// Stores a batch in one savepoint. Events without a hook go in as they
/// are; an event with one is checked for its id first (a duplicate never
/// runs its hook), then its hook decides (see [`StoreHook`]).
fn store_batch(
    conn: &Connection,
    events: &[Event],
    displays: &[Option<serde_json::Value>],
    hooks: Vec<Option<StoreHook>>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Result<Inserted, StoreError>>, StoreError> {
    savepoint(conn, |c| {
        let mut results = Vec::with_capacity(events.len());
        for (i, (event, hook)) in events.iter().zip(hooks).enumerate() {
            let display = displays.get(i).and_then(Option::as_ref);
            let result = match hook {
                None => events::insert_with_display(c, event, display, now),
                Some(hook) => store_with_hook(c, event, display, hook, now),
            };
            results.push(result);
        }
        Ok(results)
    })
}

fn store_with_hook(
    conn: &Connection,
    event: &Event,
    display: Option<&serde_json::Value>,
    hook: StoreHook,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Inserted, StoreError> {
    if events::exists(conn, &event.id)? {
        return Ok(Inserted::Duplicate);
    }
    // The hook and the insert stand or fall together.
    savepoint(conn, |c| {
        match savepoint(c, hook) {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!(event_id = %event.id, kind = %event.kind, "change already known (another source delivered it); event dropped");
                return Ok(Inserted::Duplicate);
            }
            Err(e) => tracing::error!(
                event_id = %event.id, kind = %event.kind, error = %e,
                "could not update the domain tables for this event; storing the event anyway"
            ),
        }
        events::insert_with_display(c, event, display, now)
    })
}

fn reply(to: Option<oneshot::Sender<Outcome>>, outcome: Outcome) {
    if let Some(to) = to {
        let _ = to.send(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventKind, Source, Viewer};
    use crate::live::Received;
    use crate::store::StoreOptions;

    async fn setup() -> (
        tempfile::TempDir,
        Store,
        LiveFeed,
        EventSender,
        tokio::task::JoinHandle<()>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("p.db"), StoreOptions::default()).unwrap();
        let feed = LiveFeed::new(1024);
        let (pipeline, sender) =
            Pipeline::new(store.clone(), feed.clone(), PipelineOptions::default());
        let task = tokio::spawn(pipeline.run());
        (dir, store, feed, sender, task)
    }

    fn follow(n: u32) -> Event {
        Event::new(EventKind::Follow, Source::Test, "1").with_viewer(Viewer::new(
            n.to_string(),
            format!("u{n}"),
            format!("U{n}"),
        ))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn events_are_stored_then_published_in_order() {
        let (_dir, store, feed, sender, _task) = setup().await;
        let mut sub = feed.subscribe();
        let events: Vec<Event> = (0..50).map(follow).collect();
        for e in &events {
            sender.send(e.clone()).await.unwrap();
        }
        for e in &events {
            match sub.recv().await {
                Received::Message(LiveMessage::Event(s)) => {
                    assert_eq!(s.event.id, e.id);
                    // Published only after it is committed: visible to a reader.
                    let id = s.event.id.clone();
                    assert!(store.read(move |c| events::exists(c, &id)).await.unwrap());
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_duplicate_id_is_stored_and_published_once() {
        let (_dir, store, feed, sender, _task) = setup().await;
        let mut sub = feed.subscribe();
        let e = follow(1);
        assert!(matches!(
            sender.submit(e.clone()).await.unwrap(),
            Outcome::Stored(_)
        ));
        assert!(matches!(
            sender.submit(e.clone()).await.unwrap(),
            Outcome::Duplicate
        ));
        let marker = follow(2);
        sender.submit(marker.clone()).await.unwrap();
        let mut seen = Vec::new();
        for _ in 0..2 {
            if let Received::Message(LiveMessage::Event(s)) = sub.recv().await {
                seen.push(s.event.id.clone());
            }
        }
        assert_eq!(seen, vec![e.id.clone(), marker.id]);
        assert_eq!(store.read(events::count).await.unwrap(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_duplicate_already_in_the_database_is_caught_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let e = follow(1);
        {
            let store = Store::open(&path, StoreOptions::default()).unwrap();
            let (pipeline, sender) =
                Pipeline::new(store.clone(), LiveFeed::new(8), PipelineOptions::default());
            let task = tokio::spawn(pipeline.run());
            assert!(matches!(
                sender.submit(e.clone()).await.unwrap(),
                Outcome::Stored(_)
            ));
            drop(sender);
            task.await.unwrap();
            store.close().await;
        }
        let store = Store::open(&path, StoreOptions::default()).unwrap();
        let (pipeline, sender) = Pipeline::new(store, LiveFeed::new(8), PipelineOptions::default());
        tokio::spawn(pipeline.run());
        assert!(matches!(
            sender.submit(e).await.unwrap(),
            Outcome::Duplicate
        ));
    }

    /// A hook that records the event's viewer as a VIP.
    fn vip_hook(login: &'static str) -> StoreHook {
        Box::new(move |c: &Connection| {
            let id = crate::store::viewers::get_or_create(
                c,
                &Viewer::new(login, login, login),
                chrono::Utc::now(),
            )?;
            crate::store::roles::grant(
                c,
                "1",
                id,
                crate::store::roles::Role::Vip,
                chrono::Utc::now(),
            )
        })
    }

    async fn vips(store: &Store) -> i64 {
        store
            .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM viewer_roles", [], |r| r.get(0))?))
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hook_runs_with_its_new_event_and_never_for_a_duplicate() {
        let (_dir, store, _feed, sender, _task) = setup().await;
        let event = follow(1);
        let first = sender
            .enqueue(event.clone(), Some(vip_hook("a")))
            .await
            .unwrap();
        assert!(matches!(first.await.unwrap(), Outcome::Stored(_)));
        assert_eq!(vips(&store).await, 1);
        let again = sender.enqueue(event, Some(vip_hook("b"))).await.unwrap();
        assert!(matches!(again.await.unwrap(), Outcome::Duplicate));
        assert_eq!(vips(&store).await, 1, "the duplicate's hook did not run");
        // Another event (new id) carrying a change already made: dropped.
        let known = sender
            .enqueue(follow(2), Some(vip_hook("a")))
            .await
            .unwrap();
        assert!(matches!(known.await.unwrap(), Outcome::Duplicate));
        let stored = store.read(crate::store::events::count).await.unwrap();
        assert_eq!(stored, 1, "the event whose change was known is not stored");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_hook_is_undone_alone_and_the_event_stays() {
        let (_dir, store, _feed, sender, _task) = setup().await;
        let failing: StoreHook = Box::new(|c: &Connection| {
            c.execute_batch("INSERT INTO viewers (twitch_id, login, display_name, created_at, updated_at) VALUES ('x', 'x', 'x', 0, 0)")?;
            Err(StoreError::Commit("hook refused".into()))
        });
        let done = sender.enqueue(follow(7), Some(failing)).await.unwrap();
        assert!(matches!(done.await.unwrap(), Outcome::Stored(_)));
        let viewers_named_x: i64 = store
            .read(|c| {
                Ok(
                    c.query_row("SELECT COUNT(*) FROM viewers WHERE login = 'x'", [], |r| {
                        r.get(0)
                    })?,
                )
            })
            .await
            .unwrap();
        assert_eq!(
            viewers_named_x, 0,
            "the hook's partial write was rolled back"
        );
        let stored = store.read(crate::store::events::count).await.unwrap();
        assert_eq!(stored, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_insert_is_reported_and_the_pipeline_continues() {
        let (_dir, store, _feed, sender, _task) = setup().await;
        store
            .write(|c| {
                c.execute_batch(
                    "CREATE TEMP TRIGGER refuse BEFORE INSERT ON events WHEN NEW.kind = 'channel.raid'
                     BEGIN SELECT RAISE(ABORT, 'raids refused'); END;",
                )?;
                Ok(())
            })
            .await
            .unwrap();
        let bad = Event::new(EventKind::Raid, Source::Test, "1");
        match sender.submit(bad.clone()).await.unwrap() {
            Outcome::Failed(why) => assert!(why.contains("raids refused"), "{why}"),
            other => panic!("unexpected {other:?}"),
        }
        let good = follow(3);
        assert!(matches!(
            sender.submit(good).await.unwrap(),
            Outcome::Stored(_)
        ));
        // The failed id was forgotten, so a retry once the fault is gone succeeds.
        store
            .write(|c| Ok(c.execute_batch("DROP TRIGGER temp.refuse")?))
            .await
            .unwrap();
        assert!(matches!(
            sender.submit(bad).await.unwrap(),
            Outcome::Stored(_)
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_database_locked_by_another_process_fails_the_write_and_loses_nothing_after() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let options = StoreOptions {
            busy_timeout: Duration::from_millis(100),
            ..StoreOptions::default()
        };
        let store = Store::open(&path, options).unwrap();
        let (pipeline, sender) =
            Pipeline::new(store.clone(), LiveFeed::new(8), PipelineOptions::default());
        tokio::spawn(pipeline.run());

        // Another process (here: another connection) holds the write lock.
        let other = rusqlite::Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let blocked = follow(1);
        match sender.submit(blocked.clone()).await.unwrap() {
            Outcome::Failed(why) => assert!(why.contains("locked"), "{why}"),
            other => panic!("unexpected {other:?}"),
        }
        other.execute_batch("COMMIT").unwrap();

        // The pipeline carries on, and the refused event can be sent again.
        assert!(matches!(
            sender.submit(follow(2)).await.unwrap(),
            Outcome::Stored(_)
        ));
        assert!(matches!(
            sender.submit(blocked).await.unwrap(),
            Outcome::Stored(_)
        ));
        assert_eq!(store.read(events::count).await.unwrap(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_pipeline_drains_when_senders_are_dropped() {
        let (_dir, store, _feed, sender, task) = setup().await;
        for n in 0..200 {
            sender.send(follow(n)).await.unwrap();
        }
        drop(sender);
        task.await.unwrap();
        assert_eq!(store.read(events::count).await.unwrap(), 200);
    }
}
