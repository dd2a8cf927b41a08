//! The overlay alert queue: alerts are stored first (so nothing is lost
//! across reconnects and restarts) and overlays are woken to fetch them.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::{Mutex, broadcast, watch};

use crate::event::{new_event_id, now_ms};
use crate::store::overlay_alerts::{self, QueueEntry, QueuedAlert};
use crate::store::{Store, StoreError, overlay_pauses};

/// The overlay alerts go to when a plugin names none.
pub const DEFAULT_OVERLAY: &str = "alerts";

/// Overlay names: 1-32 of a-z, 0-9 and `-`.
pub fn valid_overlay_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// How many freshly queued alerts a connected overlay may fall behind by
/// before it has to catch up from the database instead.
const FRESH_CAPACITY: usize = 256;

/// The most ids in one `cancel` message to a page (clearing a long queue
/// sends several).
const CANCEL_CHUNK: usize = 500;

/// How many acknowledged alert ids are remembered, so the other pages of
/// the same overlay acknowledging the same alert cost no database write.
const RECENT_ACKS: usize = 1024;

/// An alert just queued, as broadcast to every connected overlay page.
/// Whatever the pages share is done once, by the first that needs it.
pub struct FreshAlert {
    pub alert: QueuedAlert,
    /// The socket message, serialized by the first page that sends it and
    /// reused by the others (one serialization per alert, not per page).
    pub message: OnceLock<String>,
    sent_recorded: AtomicBool,
}

impl FreshAlert {
    /// True for the first caller only: that page records the send (one
    /// database write per alert, not one per page).
    pub fn first_send(&self) -> bool {
        !self.sent_recorded.swap(true, Ordering::AcqRel)
    }
}

/// An instruction for the pages of one overlay, besides alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverlayControl {
    /// Stop what is playing now (the dashboard's "skip", for speech or for
    /// any overlay).
    Skip { overlay: String },
    /// Drop these queued alerts without playing them (they were withdrawn:
    /// a muted viewer's speech, an item removed in the dashboard).
    Cancel { overlay: String, ids: Vec<String> },
    /// Every overlay page loads itself again once idle: its
    /// Content-Security-Policy changed (media hosts were granted or
    /// withdrawn). Unacknowledged alerts come again after the reload.
    Reload,
}

impl OverlayControl {
    /// Whether pages of `overlay` are meant.
    pub fn applies_to(&self, overlay: &str) -> bool {
        match self {
            OverlayControl::Skip { overlay: o } | OverlayControl::Cancel { overlay: o, .. } => {
                o == overlay
            }
            OverlayControl::Reload => true,
        }
    }
}

/// One overlay's waiting alerts, as the dashboard lists them.
#[derive(Debug, Clone, PartialEq)]
pub struct Waiting {
    pub name: String,
    /// How many alerts wait (neither acknowledged nor withdrawn).
    pub pending: u64,
    /// The first of them, in play order.
    pub queued: Vec<QueueEntry>,
}

/// Which overlays the streamer paused. Pages of a paused overlay are sent
/// no alert until it is resumed; then each page is sent what it is owed
/// (see [`OverlayQueue::owed`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pauses {
    /// Paused overlays and when each was paused.
    paused: BTreeMap<String, DateTime<Utc>>,
    /// When each overlay was last resumed (since the host started): a page
    /// resuming counts what was still pending at that moment as owed, even
    /// if another page of the overlay has shown it since.
    resumed: BTreeMap<String, DateTime<Utc>>,
}

impl Pauses {
    /// Whether `overlay` is paused.
    pub fn is_paused(&self, overlay: &str) -> bool {
        self.paused.contains_key(overlay)
    }

    /// When `overlay` was paused, if it is.
    pub fn paused_at(&self, overlay: &str) -> Option<DateTime<Utc>> {
        self.paused.get(overlay).copied()
    }

    /// When `overlay` was last resumed (None: not since the host started).
    pub fn resumed_at(&self, overlay: &str) -> Option<DateTime<Utc>> {
        self.resumed.get(overlay).copied()
    }

    /// The names of the paused overlays.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.paused.keys().map(String::as_str)
    }
}

/// Ids acknowledged lately, oldest first (bounded by [`RECENT_ACKS`]).
#[derive(Default)]
struct RecentAcks {
    ids: HashSet<(String, String)>,
    order: VecDeque<(String, String)>,
}

/// Queue of alerts per overlay. Cloning is cheap.
#[derive(Clone)]
pub struct OverlayQueue {
    store: Store,
    changed: watch::Sender<u64>,
    /// Every alert once committed, in queue order, so connected overlays
    /// send it without a database read each (100 pages of one overlay
    /// would otherwise be 100 queries per alert).
    fresh: broadcast::Sender<Arc<FreshAlert>>,
    /// Held from the write to the broadcast, so alerts are broadcast in
    /// queue (rowid) order and a page's "last sent" position never skips
    /// one. Alerts come at a human pace; serializing them costs nothing.
    /// Holds the queue position of the last alert broadcast.
    order: Arc<Mutex<Option<i64>>>,
    acked: Arc<std::sync::Mutex<RecentAcks>>,
    controls: broadcast::Sender<Arc<OverlayControl>>,
    /// Paused overlays; sessions watch it to hold and resume their pages.
    pauses: watch::Sender<Arc<Pauses>>,
    /// One pause or resume at a time, so the database and `pauses` agree.
    pausing: Arc<Mutex<()>>,
}

impl OverlayQueue {
    /// A queue kept in `store`'s `overlay_alerts` table, with no overlay
    /// paused (see [`OverlayQueue::load`] for the host's own).
    pub fn new(store: Store) -> Self {
        OverlayQueue {
            store,
            changed: watch::Sender::new(0),
            fresh: broadcast::Sender::new(FRESH_CAPACITY),
            order: Arc::new(Mutex::new(None)),
            acked: Arc::default(),
            controls: broadcast::Sender::new(64),
            pauses: watch::Sender::new(Arc::default()),
            pausing: Arc::default(),
        }
    }

    /// The queue with the overlays paused in an earlier run still paused:
    /// a restart in the middle of a cutscene releases nothing.
    pub async fn load(store: Store) -> Result<Self, StoreError> {
        let queue = Self::new(store);
        let paused = queue.store.read(overlay_pauses::all).await?;
        if !paused.is_empty() {
            tracing::info!(overlays = ?paused.iter().map(|(n, _)| n).collect::<Vec<_>>(), "overlays still paused");
        }
        queue.pauses.send_replace(Arc::new(Pauses {
            paused: paused.into_iter().collect(),
            resumed: BTreeMap::new(),
        }));
        Ok(queue)
    }

    /// Pauses `overlay`: its pages finish what they play and are sent
    /// nothing more until it is resumed; alerts queued meanwhile wait.
    /// Stored before it takes effect. False if it was paused already.
    pub async fn pause(&self, overlay: &str) -> Result<bool, StoreError> {
        let _one_at_a_time = self.pausing.lock().await;
        let at = now_ms();
        let name = overlay.to_owned();
        let changed = self
            .store
            .write(move |c| overlay_pauses::pause(c, &name, at))
            .await?;
        self.pauses.send_if_modified(|pauses| {
            if pauses.is_paused(overlay) {
                return false;
            }
            Arc::make_mut(pauses).paused.insert(overlay.to_owned(), at);
            true
        });
        if changed {
            self.changed.send_modify(|n| *n += 1);
        }
        Ok(changed)
    }

    /// Resumes `overlay`: its pages are sent every alert that waited, in
    /// queue order, once. Stored before it takes effect. False if it was
    /// not paused.
    pub async fn resume(&self, overlay: &str) -> Result<bool, StoreError> {
        let _one_at_a_time = self.pausing.lock().await;
        let name = overlay.to_owned();
        let changed = self
            .store
            .write(move |c| overlay_pauses::resume(c, &name))
            .await?;
        // Taken before the pages hear of it: whatever they acknowledge
        // because of this resume is acknowledged at or after it.
        let at = now_ms();
        self.pauses.send_if_modified(|pauses| {
            if !pauses.is_paused(overlay) {
                return false;
            }
            let pauses = Arc::make_mut(pauses);
            pauses.paused.remove(overlay);
            pauses.resumed.insert(overlay.to_owned(), at);
            true
        });
        if changed {
            self.changed.send_modify(|n| *n += 1);
        }
        Ok(changed)
    }

    /// The paused overlays now.
    pub fn pauses(&self) -> Arc<Pauses> {
        self.pauses.borrow().clone()
    }

    /// Whether `overlay` is paused now.
    pub fn is_paused(&self, overlay: &str) -> bool {
        self.pauses.borrow().is_paused(overlay)
    }

    /// Changes whenever an overlay is paused or resumed.
    pub fn watch_pauses(&self) -> watch::Receiver<Arc<Pauses>> {
        self.pauses.subscribe()
    }

    /// Stores an alert for `overlay` and wakes its sockets; returns its id.
    pub async fn enqueue(
        &self,
        overlay: &str,
        event_id: Option<String>,
        plugin: Option<String>,
        payload: Value,
    ) -> Result<String, StoreError> {
        let id = new_event_id();
        let mut alert = QueuedAlert {
            rowid: 0,
            id: id.clone(),
            overlay: overlay.to_owned(),
            event_id,
            plugin,
            payload,
            sent_count: 0,
        };
        let mut last_broadcast = self.order.lock().await;
        let stored = alert.clone();
        alert.rowid = self
            .store
            .write(move |c| {
                overlay_alerts::enqueue(
                    c,
                    &stored.id,
                    &stored.overlay,
                    stored.event_id.as_deref(),
                    stored.plugin.as_deref(),
                    &stored.payload,
                    now_ms(),
                )
            })
            .await?;
        *last_broadcast = Some(alert.rowid);
        // No connected overlay is fine: the alert waits in the database.
        let _ = self.fresh.send(Arc::new(FreshAlert {
            alert,
            message: OnceLock::new(),
            sent_recorded: AtomicBool::new(false),
        }));
        self.changed.send_modify(|n| *n += 1);
        Ok(id)
    }

    /// Wakes whenever an alert is queued or withdrawn, or an overlay is
    /// paused or resumed.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Every alert queued from now on, committed and in queue order, and
    /// the horizon: the last queue position already committed, which the
    /// receiver will not see. Catching up from the database must stop at the
    /// horizon: an alert after it that another page already acknowledged is
    /// absent from [`OverlayQueue::pending`] yet still on its way here, and
    /// skipping past it would lose it. A receiver that falls behind gets
    /// `Lagged` and catches up to just before the next alert it receives.
    pub async fn follow(&self) -> (broadcast::Receiver<Arc<FreshAlert>>, i64) {
        // No write in flight while subscribing: everything committed so far
        // is at or before the horizon, everything later is broadcast.
        let mut last_broadcast = self.order.lock().await;
        let receiver = self.fresh.subscribe();
        // Nothing broadcast since start: the horizon is the last alert
        // stored before. (Not "everything": a catch-up reaching past it could
        // send a later alert before an earlier one still on its way through
        // the broadcast, which the page would then skip as already passed.)
        let horizon = match *last_broadcast {
            Some(rowid) => rowid,
            None => match self.store.read(overlay_alerts::last_position).await {
                Ok(rowid) => {
                    *last_broadcast = Some(rowid);
                    rowid
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the overlay queue's last position");
                    0
                }
            },
        };
        (receiver, horizon)
    }

    /// Sends an instruction to the connected pages of its overlay (none
    /// connected is fine: what is withdrawn is already out of the queue).
    pub fn control(&self, control: OverlayControl) {
        let _ = self.controls.send(Arc::new(control));
    }

    /// Instructions for pages, from now on.
    pub fn controls(&self) -> broadcast::Receiver<Arc<OverlayControl>> {
        self.controls.subscribe()
    }

    /// Withdraws pending alerts: never sent again, and the pages holding
    /// them drop them. Returns the ids that were still pending.
    pub async fn withdraw(&self, ids: Vec<String>) -> Result<Vec<String>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let withdrawn = self
            .store
            .write(move |c| overlay_alerts::expire(c, &ids, now_ms()))
            .await?;
        let mut per_overlay: BTreeMap<String, Vec<String>> = Default::default();
        for (id, overlay) in &withdrawn {
            per_overlay
                .entry(overlay.clone())
                .or_default()
                .push(id.clone());
        }
        for (overlay, ids) in per_overlay {
            self.cancel(&overlay, ids);
        }
        Ok(withdrawn.into_iter().map(|(id, _)| id).collect())
    }

    /// Withdraws every alert waiting for `overlay` (the dashboard's "clear
    /// the queue"), a speech item being said included; returns their ids.
    pub async fn clear(&self, overlay: &str) -> Result<Vec<String>, StoreError> {
        let name = overlay.to_owned();
        let withdrawn = self
            .store
            .write(move |c| overlay_alerts::expire_overlay(c, &name, now_ms()))
            .await?;
        self.cancel(overlay, withdrawn.clone());
        Ok(withdrawn)
    }

    /// Withdraws alert `id` if it waits in `overlay`'s queue; false when it
    /// does not (unknown, another overlay's, shown or withdrawn already).
    pub async fn remove(&self, overlay: &str, id: &str) -> Result<bool, StoreError> {
        let (name, wanted) = (overlay.to_owned(), id.to_owned());
        let removed = self
            .store
            .write(move |c| overlay_alerts::expire_in(c, &name, &wanted, now_ms()))
            .await?;
        if removed {
            self.cancel(overlay, vec![id.to_owned()]);
        }
        Ok(removed)
    }

    /// Tells `overlay`'s pages to drop withdrawn alerts (in messages of a
    /// bounded size), and the dashboard that the queue changed.
    fn cancel(&self, overlay: &str, ids: Vec<String>) {
        if ids.is_empty() {
            return;
        }
        for chunk in ids.chunks(CANCEL_CHUNK) {
            self.control(OverlayControl::Cancel {
                overlay: overlay.to_owned(),
                ids: chunk.to_vec(),
            });
        }
        self.changed.send_modify(|n| *n += 1);
    }

    /// The waiting alerts of each overlay in `names`, plus (with
    /// `every_pending`) of every other overlay with alerts waiting, by name:
    /// how many wait and the first `limit` in play order. One read.
    pub async fn waiting(
        &self,
        names: std::collections::BTreeSet<String>,
        every_pending: bool,
        limit: u32,
    ) -> Result<Vec<Waiting>, StoreError> {
        self.store
            .read(move |c| {
                let mut names = names;
                if every_pending {
                    names.extend(
                        overlay_alerts::pending_counts(c)?
                            .into_iter()
                            .map(|(name, _)| name),
                    );
                }
                names
                    .into_iter()
                    .map(|name| {
                        Ok(Waiting {
                            pending: overlay_alerts::pending_count(c, &name)?,
                            queued: overlay_alerts::queued(c, &name, limit)?,
                            name,
                        })
                    })
                    .collect()
            })
            .await
    }

    /// Unacknowledged alerts per overlay name, for the dashboard.
    pub async fn pending_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.store.read(overlay_alerts::pending_counts).await
    }

    /// Alerts of `overlay` not yet acknowledged, after queue position
    /// `after` and up to `upto`, in queue order (a page at most).
    pub async fn pending(
        &self,
        overlay: &str,
        after: i64,
        upto: i64,
    ) -> Result<Vec<QueuedAlert>, StoreError> {
        let overlay = overlay.to_owned();
        self.store
            .read(move |c| overlay_alerts::pending(c, &overlay, after, upto, 200))
            .await
    }

    /// Alerts of `overlay` after `after` and up to `upto` that a connected
    /// page missed because it fell behind: acknowledged by other pages or
    /// not (it was owed them all), but not withdrawn (a page at most).
    pub async fn missed(
        &self,
        overlay: &str,
        after: i64,
        upto: i64,
    ) -> Result<Vec<QueuedAlert>, StoreError> {
        let overlay = overlay.to_owned();
        self.store
            .read(move |c| overlay_alerts::between(c, &overlay, after, upto, 200, true))
            .await
    }

    /// What a page of `overlay` is owed on a resume, after `after` and up
    /// to `upto` (a page at most): what was pending at `since` (the resume)
    /// and everything queued after `horizon` (the last alert stored when
    /// the page subscribed), acknowledged by another page or not.
    pub async fn owed(
        &self,
        overlay: &str,
        after: i64,
        upto: i64,
        horizon: i64,
        since: DateTime<Utc>,
    ) -> Result<Vec<QueuedAlert>, StoreError> {
        let overlay = overlay.to_owned();
        self.store
            .read(move |c| overlay_alerts::owed(c, &overlay, after, upto, 200, horizon, since))
            .await
    }

    /// Records that alerts went out.
    pub async fn mark_sent(&self, ids: Vec<String>) -> Result<(), StoreError> {
        self.store
            .write(move |c| overlay_alerts::mark_sent(c, &ids, now_ms()))
            .await
    }

    /// An overlay showed the alert: it is never sent again. True for the
    /// acknowledgement that recorded it; the same alert acknowledged again
    /// (another page of the overlay, a re-send) is false, and costs no
    /// database write while it is among the last [`RECENT_ACKS`].
    pub async fn ack(&self, overlay: &str, id: &str) -> Result<bool, StoreError> {
        let key = (overlay.to_owned(), id.to_owned());
        {
            // Claimed before the write, so pages acknowledging at once
            // make one write between them.
            let mut recent = self.acked.lock().unwrap_or_else(|p| p.into_inner());
            if !recent.ids.insert(key.clone()) {
                return Ok(false);
            }
            recent.order.push_back(key.clone());
            if recent.order.len() > RECENT_ACKS
                && let Some(old) = recent.order.pop_front()
            {
                recent.ids.remove(&old);
            }
        }
        let (overlay, id) = key.clone();
        let result = self
            .store
            .write(move |c| overlay_alerts::ack(c, &overlay, &id, now_ms()))
            .await;
        if result.is_err() {
            // Not recorded: the next acknowledgement must try again.
            let mut recent = self.acked.lock().unwrap_or_else(|p| p.into_inner());
            recent.ids.remove(&key);
            recent.order.retain(|k| k != &key);
        }
        result
    }
}

/// How long a shown (acknowledged) or withdrawn alert is kept.
pub const KEEP_FINISHED: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(10 * 60);
const PRUNE_BATCH: usize = 5_000;

/// Deletes alerts finished more than [`KEEP_FINISHED`] ago, a batch per
/// write so other writes interleave; returns how many.
pub async fn prune_finished(store: &Store) -> Result<usize, StoreError> {
    let cutoff = chrono::Utc::now() - KEEP_FINISHED;
    let mut total = 0;
    loop {
        let n = store
            .write(move |c| overlay_alerts::prune_done(c, cutoff, PRUNE_BATCH))
            .await?;
        total += n;
        if n < PRUNE_BATCH {
            return Ok(total);
        }
    }
}

/// Prunes finished alerts every ten minutes until `stop`.
pub fn spawn_pruning(store: Store, stop: tokio_util::sync::CancellationToken) {
    crate::periodic::spawn(PRUNE_EVERY, stop, move || {
        let store = store.clone();
        async move {
            match prune_finished(&store).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(pruned = n, "old overlay alerts pruned"),
                Err(e) => tracing::warn!(error = %e, "cannot prune old overlay alerts"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;
    use serde_json::json;

    #[tokio::test]
    async fn fresh_alerts_are_broadcast_in_order_and_acknowledged_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("q.db"), StoreOptions::default()).unwrap();
        let queue = OverlayQueue::new(store.clone());
        let (mut fresh, horizon) = queue.follow().await;
        assert_eq!(horizon, 0, "nothing stored yet");
        let a = queue
            .enqueue("alerts", None, None, json!({"title": "A"}))
            .await
            .unwrap();
        let b = queue
            .enqueue("other", None, None, json!({"title": "B"}))
            .await
            .unwrap();
        let first = fresh.recv().await.unwrap();
        let second = fresh.recv().await.unwrap();
        assert_eq!((&first.alert.id, &second.alert.id), (&a, &b));
        assert!(first.alert.rowid < second.alert.rowid);
        assert!(first.first_send() && !first.first_send());

        // A page following now sees neither alert fresh: both are at or
        // before its horizon, so its catch-up covers them.
        let (mut later, horizon) = queue.follow().await;
        assert_eq!(horizon, second.alert.rowid);
        assert!(later.try_recv().is_err());

        // Many pages acknowledging at once: one records it.
        let acks = futures_util::future::join_all((0..10).map(|_| queue.ack("alerts", &a))).await;
        assert_eq!(acks.iter().filter(|r| *r.as_ref().unwrap()).count(), 1);
        assert!(!queue.ack("alerts", &a).await.unwrap());
        assert!(!queue.ack("alerts", "no-such-id").await.unwrap());
        assert_eq!(
            queue.pending_counts().await.unwrap(),
            vec![("other".to_owned(), 1)]
        );
        store.close().await;
    }

    /// The race that lost alerts under load: a page subscribed before any
    /// alert was broadcast, then was slow to catch up while two alerts went
    /// out and the first was acknowledged by the other pages. Its catch-up
    /// must stop at what was stored before it subscribed, or it sends the
    /// second alert first and then skips the first as already passed.
    #[tokio::test]
    async fn a_slow_page_catching_up_never_overtakes_an_alert_on_its_way() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("q.db"), StoreOptions::default()).unwrap();
        // An alert from an earlier run, still pending: catch-up covers it.
        OverlayQueue::new(store.clone())
            .enqueue("alerts", None, None, json!({"title": "old"}))
            .await
            .unwrap();
        let queue = OverlayQueue::new(store.clone());
        let (mut fresh, horizon) = queue.follow().await;
        let a = queue
            .enqueue("alerts", None, None, json!({"title": "A"}))
            .await
            .unwrap();
        let b = queue
            .enqueue("alerts", None, None, json!({"title": "B"}))
            .await
            .unwrap();
        assert!(
            queue.ack("alerts", &a).await.unwrap(),
            "the fast pages saw A"
        );
        // The slow page catches up now, as the overlay socket does.
        let mut last_sent = 0;
        let mut sent = Vec::new();
        for alert in queue.pending("alerts", last_sent, horizon).await.unwrap() {
            last_sent = alert.rowid;
            sent.push(alert.payload["title"].as_str().unwrap().to_owned());
        }
        // Then what the broadcast brought.
        while let Ok(alert) = fresh.try_recv() {
            if alert.alert.rowid > last_sent {
                last_sent = alert.alert.rowid;
                sent.push(alert.alert.payload["title"].as_str().unwrap().to_owned());
            }
        }
        assert_eq!(
            sent,
            vec!["old", "A", "B"],
            "every alert, once, in order ({b})"
        );
        store.close().await;
    }

    #[tokio::test]
    async fn a_pause_is_stored_before_it_takes_effect_and_outlives_the_queue() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("q.db"), StoreOptions::default()).unwrap();
        let queue = OverlayQueue::load(store.clone()).await.unwrap();
        let mut watching = queue.watch_pauses();
        let mut changes = queue.subscribe();
        assert!(!queue.is_paused("alerts"));
        assert!(queue.pause("alerts").await.unwrap());
        assert!(watching.has_changed().unwrap() && changes.has_changed().unwrap());
        let paused_at = watching.borrow_and_update().paused_at("alerts").unwrap();
        changes.borrow_and_update();
        assert!(!queue.pause("alerts").await.unwrap(), "paused already");
        assert!(
            !watching.has_changed().unwrap() && !changes.has_changed().unwrap(),
            "nothing to announce"
        );

        // A queue loaded later (the next run) finds it paused.
        let again = OverlayQueue::load(store.clone()).await.unwrap();
        assert!(again.is_paused("alerts"));
        assert_eq!(again.pauses().paused_at("alerts"), Some(paused_at));
        assert_eq!(again.pauses().resumed_at("alerts"), None);

        assert!(queue.resume("alerts").await.unwrap());
        let pauses = watching.borrow_and_update().clone();
        assert!(!pauses.is_paused("alerts"));
        assert!(pauses.resumed_at("alerts").unwrap() >= paused_at);
        assert!(!queue.resume("alerts").await.unwrap(), "not paused");
        assert!(
            !OverlayQueue::load(store.clone())
                .await
                .unwrap()
                .is_paused("alerts")
        );
        store.close().await;
    }

    #[tokio::test]
    async fn clearing_and_removing_tell_the_pages_of_that_overlay_to_drop_the_alerts() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("q.db"), StoreOptions::default()).unwrap();
        let queue = OverlayQueue::new(store.clone());
        let mut controls = queue.controls();
        let mut ids = Vec::new();
        for n in 0..(CANCEL_CHUNK + 2) {
            ids.push(
                queue
                    .enqueue("alerts", None, None, json!({"title": n}))
                    .await
                    .unwrap(),
            );
        }
        let side = queue
            .enqueue("side", None, None, json!({"title": "side"}))
            .await
            .unwrap();
        assert!(
            !queue.remove("alerts", &side).await.unwrap(),
            "not this overlay's"
        );
        assert!(queue.remove("alerts", &ids[0]).await.unwrap());
        assert_eq!(
            *controls.recv().await.unwrap(),
            OverlayControl::Cancel {
                overlay: "alerts".into(),
                ids: vec![ids[0].clone()]
            }
        );
        let cleared = queue.clear("alerts").await.unwrap();
        assert_eq!(cleared, ids[1..].to_vec(), "in queue order");
        // In messages of a bounded size.
        let mut told = Vec::new();
        for _ in 0..2 {
            match &*controls.recv().await.unwrap() {
                OverlayControl::Cancel { overlay, ids } => {
                    assert_eq!(overlay, "alerts");
                    assert!(ids.len() <= CANCEL_CHUNK);
                    told.extend(ids.iter().cloned());
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(told, cleared);
        let waiting = queue
            .waiting(["alerts".to_owned()].into(), true, 10)
            .await
            .unwrap();
        assert_eq!(
            waiting
                .iter()
                .map(|w| (w.name.as_str(), w.pending, w.queued.len()))
                .collect::<Vec<_>>(),
            vec![("alerts", 0, 0), ("side", 1, 1)]
        );
        store.close().await;
    }
}
