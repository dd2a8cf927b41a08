//! The overlay alert queue: alerts are stored first (so nothing is lost
//! across reconnects and restarts) and overlays are woken to fetch them.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use serde_json::Value;
use tokio::sync::{Mutex, broadcast, watch};

use crate::event::{new_event_id, now_ms};
use crate::store::overlay_alerts::{self, QueuedAlert};
use crate::store::{Store, StoreError};

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
    /// Stop what is playing now (the dashboard's "skip" for speech).
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
}

impl OverlayQueue {
    /// A queue kept in `store`'s `overlay_alerts` table.
    pub fn new(store: Store) -> Self {
        OverlayQueue {
            store,
            changed: watch::Sender::new(0),
            fresh: broadcast::Sender::new(FRESH_CAPACITY),
            order: Arc::new(Mutex::new(None)),
            acked: Arc::default(),
            controls: broadcast::Sender::new(64),
        }
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

    /// Wakes whenever an alert is queued.
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
        let mut per_overlay: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for (id, overlay) in &withdrawn {
            per_overlay
                .entry(overlay.clone())
                .or_default()
                .push(id.clone());
        }
        for (overlay, ids) in per_overlay {
            self.control(OverlayControl::Cancel { overlay, ids });
        }
        if !withdrawn.is_empty() {
            self.changed.send_modify(|n| *n += 1);
        }
        Ok(withdrawn.into_iter().map(|(id, _)| id).collect())
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
}
