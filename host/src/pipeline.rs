//! The pipeline: every source sends its events here. Each event is
//! de-duplicated by id, stored, and then published on the live feed, in the
//! order received. Events that arrive together are stored in one
//! transaction. A storage failure is logged and reported to the sender; the
//! pipeline itself never stops on one.
//!
//! When the database cannot be written at all (the disk is full), nothing
//! is thrown away: the events wait in memory (up to
//! [`PipelineOptions::max_buffered`]), in order, and are written again with
//! a growing pause until the disk takes them; `/healthz` says so meanwhile.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::dedup::RecentIds;
use crate::event::{Event, EventKind, now_ms};
use crate::health::Health;
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
    /// The database cannot be written now (disk full): the event waits in
    /// memory and is stored (and published) once it can be.
    Buffered,
    /// Storing failed; the reason was logged.
    Failed(String),
}

/// A write that belongs with an event: it runs in the transaction that
/// stores the event, just before the insert and only if the event id is new,
/// so an event and the domain tables it updates commit together. It answers
/// whether the change was news: `false` (another source already delivered
/// it) drops the event as a duplicate. An error is logged and undone alone;
/// the event is kept. It may run more than once (a write that failed on a
/// full disk is tried again), each time in a fresh transaction.
pub type StoreHook = Arc<dyn Fn(&Connection) -> Result<bool, StoreError> + Send + Sync>;

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

    /// Queues an event and waits until it is stored (or found a duplicate,
    /// or buffered because the disk is full).
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
    /// Events kept in memory while the database cannot be written; beyond
    /// it new events are refused (and logged).
    pub max_buffered: usize,
    /// The first pause before writing buffered events again (it doubles up
    /// to [`MAX_RETRY_PAUSE`]).
    pub retry_pause: Duration,
}

/// The longest pause between attempts to write buffered events.
pub const MAX_RETRY_PAUSE: Duration = Duration::from_secs(10);

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            queue: 4096,
            max_batch: 2048,
            recent_ids: 100_000,
            recent_ttl: Duration::from_secs(15 * 60),
            max_buffered: 10_000,
            retry_pause: Duration::from_secs(1),
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
    /// Whether the consumer waits for the plugins to act ([`Settled`]):
    /// only then do the plugins carry a settle guard for the event.
    settles: bool,
}

/// Events waiting for the database to take writes again.
struct Stall {
    /// In order: what failed first comes first.
    waiting: VecDeque<Submission>,
    /// Where the next failed in-flight batch goes back (after the batches
    /// that failed before it, before what arrived since).
    front: usize,
    pause: Duration,
    next_try: Instant,
    reason: String,
    /// Events refused because the buffer was full.
    refused: u64,
}

/// The consuming end: run it as one task.
pub struct Pipeline {
    store: Store,
    plugins: Option<PluginHost>,
    taps: Vec<Tap>,
    feed: LiveFeed,
    health: Health,
    recent: RecentIds,
    rx: mpsc::Receiver<Submission>,
    max_batch: usize,
    max_buffered: usize,
    retry_pause: Duration,
    stall: Option<Stall>,
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
            health: Health::default(),
            recent: RecentIds::new(options.recent_ids, options.recent_ttl),
            rx,
            max_batch: options.max_batch.max(1),
            max_buffered: options.max_buffered,
            retry_pause: options.retry_pause,
            stall: None,
        };
        (pipeline, EventSender { tx })
    }

    /// Hands events to plugins: formatters before storing (their display is
    /// stored with the event), action plugins after.
    pub fn with_plugins(mut self, plugins: PluginHost) -> Self {
        self.plugins = Some(plugins);
        self
    }

    /// Reports a database that cannot be written (`store`) in `health`.
    pub fn with_health(mut self, health: Health) -> Self {
        self.health = health;
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
        self.taps.push(Tap {
            wants,
            tx,
            settles: true,
        });
        self
    }

    /// Like [`Pipeline::with_tap`], for a consumer that only passes events
    /// on (the Redis publisher) and never waits for the plugins: its
    /// [`Settled`] may resolve before they acted, and the plugins carry no
    /// settle guard for it, so observing every event costs them nothing.
    pub fn with_observer(
        mut self,
        wants: fn(&EventKind) -> bool,
        tx: mpsc::Sender<(Arc<StoredEvent>, Settled)>,
    ) -> Self {
        self.taps.push(Tap {
            wants,
            tx,
            settles: false,
        });
        self
    }

    /// Processes submissions until every sender is dropped and the queue is
    /// drained. While one batch commits, the next is received, de-duplicated
    /// and queued behind it; outcomes are still published in order. While
    /// the database cannot be written, arrivals wait behind the buffered
    /// events and the buffer is written again after each pause.
    pub async fn run(mut self) {
        let mut batch = Vec::with_capacity(self.max_batch);
        let mut in_flight: Option<InFlight> = None;
        loop {
            let retry_at = match (&self.stall, &in_flight) {
                (Some(stall), None) => Some(stall.next_try),
                _ => None,
            };
            let step = tokio::select! {
                biased;
                n = self.rx.recv_many(&mut batch, self.max_batch) => Step::Received(n),
                done = committed(&mut in_flight) => Step::Committed(done),
                _ = retry_after(retry_at) => Step::Retry,
            };
            match step {
                Step::Committed(done) => {
                    if let Some(current) = in_flight.take() {
                        self.complete(current.batch, done).await;
                    }
                }
                Step::Received(0) => break,
                Step::Received(_) => {
                    let fresh = self.dedup(std::mem::take(&mut batch));
                    if self.stall.is_some() {
                        self.wait_behind(fresh);
                        continue;
                    }
                    let next = self.start(fresh).await;
                    if let Some(mut previous) = in_flight.take() {
                        let done = (&mut previous.write).await;
                        self.complete(previous.batch, done).await;
                    }
                    in_flight = next;
                }
                Step::Retry => {
                    let Some(stall) = self.stall.as_mut() else {
                        continue;
                    };
                    stall.front = 0;
                    let n = stall.waiting.len().min(self.max_batch);
                    let retry: Vec<Submission> = stall.waiting.drain(..n).collect();
                    in_flight = self.start(retry).await;
                }
            }
        }
        while let Some(mut last) = in_flight.take() {
            let done = (&mut last.write).await;
            self.complete(last.batch, done).await;
        }
        self.last_try().await;
        if let Some(stall) = &self.stall {
            tracing::error!(
                waiting = stall.waiting.len(),
                reason = %stall.reason,
                "shutting down with events the database would not take; they are lost"
            );
        }
        tracing::debug!("event pipeline drained");
    }

    /// At shutdown, the buffered events get one more try without waiting
    /// out the pause: space may have come back since the last one.
    async fn last_try(&mut self) {
        while let Some(stall) = self.stall.as_mut() {
            if stall.waiting.is_empty() {
                break;
            }
            stall.front = 0;
            let n = stall.waiting.len().min(self.max_batch);
            let retry: Vec<Submission> = stall.waiting.drain(..n).collect();
            let Some(mut flight) = self.start(retry).await else {
                break;
            };
            let done = (&mut flight.write).await;
            let unwritable = matches!(&done, Err(e) if e.is_unwritable());
            self.complete(flight.batch, done).await;
            if unwritable {
                break;
            }
        }
    }

    /// Drops the submissions whose id was handled lately.
    fn dedup(&mut self, batch: Vec<Submission>) -> Vec<Submission> {
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
        fresh
    }

    /// Queues arrivals behind the buffered events (the database is not
    /// taking writes); beyond the buffer's bound they are refused.
    fn wait_behind(&mut self, fresh: Vec<Submission>) {
        let Some(stall) = self.stall.as_mut() else {
            return;
        };
        for mut submission in fresh {
            if stall.waiting.len() >= self.max_buffered {
                stall.refused += 1;
                if stall.refused == 1 || stall.refused.is_multiple_of(1000) {
                    tracing::error!(
                        refused = stall.refused,
                        "the database cannot be written and {} events already wait in memory; newer events are refused",
                        self.max_buffered
                    );
                }
                self.recent.remove(&submission.event.id);
                reply(
                    submission.reply.take(),
                    Outcome::Failed(format!(
                        "the database cannot be written ({}) and {} events already wait; this one was refused",
                        stall.reason, self.max_buffered
                    )),
                );
                continue;
            }
            reply(submission.reply.take(), Outcome::Buffered);
            stall.waiting.push_back(submission);
        }
        let waiting = stall.waiting.len();
        let reason = stall.reason.clone();
        self.report_stall(&reason, waiting);
    }

    /// Formats a batch and queues it for storing.
    async fn start(&mut self, fresh: Vec<Submission>) -> Option<InFlight> {
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
        let displays = match &self.plugins {
            Some(plugins) => plugins.format(&events).await,
            None => Vec::new(),
        };
        let stored_at = now_ms();
        let (events, displays) = (Arc::new(events), Arc::new(displays));
        let (written, shown, run_hooks) = (events.clone(), displays.clone(), hooks.clone());
        let write = self
            .store
            .writer()
            .enqueue(move |conn| store_batch(conn, &written, &shown, &run_hooks, stored_at))
            .await;
        let batch = Unconfirmed {
            events,
            displays,
            hooks,
            replies,
            stored_at,
        };
        match write {
            Ok(write) => Some(InFlight { write, batch }),
            Err(e) => {
                self.complete(batch, Err(e)).await;
                None
            }
        }
    }

    /// Publishes what a committed batch stored and answers its senders; a
    /// batch the database would not take goes back to wait.
    async fn complete(&mut self, batch: Unconfirmed, done: Result<BatchResult, StoreError>) {
        let Unconfirmed {
            events,
            displays,
            hooks,
            replies,
            stored_at,
        } = batch;
        let results = match done {
            Err(e) if e.is_unwritable() => {
                self.stall_on(e, events, hooks, replies);
                return;
            }
            Err(e) => {
                let why = e.to_string();
                tracing::error!(error = %why, count = replies.len(), "could not store events; continuing");
                // None of the ids were stored: let a retry through.
                for (event, reply_to) in events.iter().zip(replies) {
                    self.recent.remove(&event.id);
                    reply(reply_to, Outcome::Failed(why.clone()));
                }
                return;
            }
            Ok(results) => results,
        };
        self.unstall_after_success();
        // The writer let go of its copies when the job ran.
        let events = Arc::try_unwrap(events).unwrap_or_else(|shared| (*shared).clone());
        let mut displays = Arc::try_unwrap(displays).unwrap_or_else(|shared| (*shared).clone());
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
                    self.publish(&stored);
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

    /// Hands a newly stored event to the live feed, the plugins and the taps.
    fn publish(&self, stored: &Arc<StoredEvent>) {
        self.feed.publish(LiveMessage::Event(stored.clone()));
        let tapped: Vec<&Tap> = self
            .taps
            .iter()
            .filter(|t| (t.wants)(&stored.event.kind))
            .collect();
        let (guard, settled) = settle::new();
        if let Some(plugins) = &self.plugins {
            let settle = tapped.iter().any(|t| t.settles).then_some(&guard);
            plugins.dispatch(stored, settle);
        }
        drop(guard);
        for tap in tapped {
            if let Err(mpsc::error::TrySendError::Full(_)) =
                tap.tx.try_send((stored.clone(), settled.clone()))
            {
                tracing::warn!(event_id = %stored.event.id, "a consumer of events is behind; event not offered to it");
            }
        }
    }

    /// A batch the database would not take: it waits (ahead of anything
    /// that arrived after it) and is tried again after a pause.
    fn stall_on(
        &mut self,
        error: StoreError,
        events: Arc<Vec<Event>>,
        hooks: Vec<Option<StoreHook>>,
        replies: Vec<Option<oneshot::Sender<Outcome>>>,
    ) {
        let reason = error.to_string();
        let first_pause = self.retry_pause;
        let stall = self.stall.get_or_insert_with(|| {
            tracing::error!(error = %reason, "the database cannot be written; events wait in memory until it can");
            Stall {
                waiting: VecDeque::new(),
                front: 0,
                pause: first_pause,
                next_try: Instant::now(),
                reason: reason.clone(),
                refused: 0,
            }
        });
        let events = Arc::try_unwrap(events).unwrap_or_else(|shared| (*shared).clone());
        for ((event, hook), reply_to) in events.into_iter().zip(hooks).zip(replies) {
            reply(reply_to, Outcome::Buffered);
            let at = stall.front;
            stall.waiting.insert(
                at,
                Submission {
                    event,
                    hook,
                    reply: None,
                },
            );
            stall.front += 1;
        }
        stall.reason = reason.clone();
        stall.next_try = Instant::now() + stall.pause;
        stall.pause = (stall.pause * 2).min(MAX_RETRY_PAUSE);
        let waiting = stall.waiting.len();
        self.report_stall(&reason, waiting);
    }

    /// After a successful write: while events still wait, write the next
    /// of them at once; when none is left, the database is healthy again.
    fn unstall_after_success(&mut self) {
        let Some(stall) = self.stall.as_mut() else {
            return;
        };
        if stall.waiting.is_empty() {
            tracing::info!(
                refused = stall.refused,
                "the database takes writes again; every waiting event was stored"
            );
            self.stall = None;
            self.health.up("store");
        } else {
            stall.pause = self.retry_pause;
            stall.next_try = Instant::now();
            let (reason, waiting) = (stall.reason.clone(), stall.waiting.len());
            self.report_stall(&reason, waiting);
        }
    }

    fn report_stall(&self, reason: &str, waiting: usize) {
        self.health.down(
            "store",
            format!("{reason}; {waiting} events wait in memory to be stored"),
        );
    }
}

/// Resolves when the batch in flight (if any) committed; never otherwise.
async fn committed(in_flight: &mut Option<InFlight>) -> Result<BatchResult, StoreError> {
    match in_flight {
        Some(current) => (&mut current.write).await,
        None => std::future::pending().await,
    }
}

/// Resolves at `at`; never without one.
async fn retry_after(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

type BatchResult = Vec<Result<Inserted, StoreError>>;

/// A batch queued at the writer, not yet committed.
struct InFlight {
    write: PendingWrite<BatchResult>,
    batch: Unconfirmed,
}

/// A batch waiting to hear whether it was stored: what it holds (to publish
/// it, or to keep it when the database would not take it) and who waits.
struct Unconfirmed {
    events: Arc<Vec<Event>>,
    displays: Arc<Vec<Option<serde_json::Value>>>,
    hooks: Vec<Option<StoreHook>>,
    replies: Vec<Option<oneshot::Sender<Outcome>>>,
    stored_at: chrono::DateTime<chrono::Utc>,
}

enum Step {
    Received(usize),
    Committed(Result<BatchResult, StoreError>),
    Retry,
}

/// Stores a batch in one savepoint. Events without a hook go in as they
/// are; an event with one is checked for its id first (a duplicate never
/// runs its hook), then its hook decides (see [`StoreHook`]).
fn store_batch(
    conn: &Connection,
    events: &[Event],
    displays: &[Option<serde_json::Value>],
    hooks: &[Option<StoreHook>],
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
            // A full disk fails the whole batch, so it can wait and be tried
            // again as a whole.
            if let Err(e) = &result
                && e.is_unwritable()
            {
                return Err(StoreError::Unwritable(e.to_string()));
            }
            results.push(result);
        }
        Ok(results)
    })
}

fn store_with_hook(
    conn: &Connection,
    event: &Event,
    display: Option<&serde_json::Value>,
    hook: &StoreHook,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Inserted, StoreError> {
    if events::exists(conn, &event.id)? {
        return Ok(Inserted::Duplicate);
    }
    // The hook and the insert stand or fall together.
    savepoint(conn, |c| {
        match savepoint(c, |c| hook(c)) {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!(event_id = %event.id, kind = %event.kind, "change already known (another source delivered it); event dropped");
                return Ok(Inserted::Duplicate);
            }
            Err(e) if e.is_unwritable() => return Err(e),
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
    async fn an_observer_sees_stored_events_in_order_and_never_holds_the_pipeline() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("p.db"), StoreOptions::default()).unwrap();
        let (tx, mut observed) = mpsc::channel(3);
        let (pipeline, sender) =
            Pipeline::new(store.clone(), LiveFeed::new(64), PipelineOptions::default());
        let _task = tokio::spawn(pipeline.with_observer(|_| true, tx).run());
        let events: Vec<Event> = (0..10).map(follow).collect();
        // Nobody reads the observer meanwhile: every event is still stored.
        for e in &events {
            assert!(matches!(
                sender.submit(e.clone()).await.unwrap(),
                Outcome::Stored(_)
            ));
        }
        for e in &events[..3] {
            let (stored, _settled) = observed.recv().await.unwrap();
            assert_eq!(stored.event.id, e.id);
        }
        assert!(observed.try_recv().is_err(), "the rest were not offered");
        assert_eq!(store.read(events::count).await.unwrap(), 10);
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
        Arc::new(move |c: &Connection| {
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
        let failing: StoreHook = Arc::new(|c: &Connection| {
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
