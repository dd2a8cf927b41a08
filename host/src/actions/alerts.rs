//! The overlay alert queue: alerts are stored first (so nothing is lost
//! across reconnects and restarts) and overlays are woken to fetch them.

use std::sync::Arc;

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

/// Queue of alerts per overlay. Cloning is cheap.
#[derive(Clone)]
pub struct OverlayQueue {
    store: Store,
    changed: watch::Sender<u64>,
    /// Every alert once committed, in queue order, so connected overlays
    /// send it without a database read each (100 pages of one overlay
    /// would otherwise be 100 queries per alert).
    fresh: broadcast::Sender<Arc<QueuedAlert>>,
    /// Held from the write to the broadcast, so alerts are broadcast in
    /// queue (rowid) order and a page's "last sent" position never skips
    /// one. Alerts come at a human pace; serializing them costs nothing.
    order: Arc<Mutex<()>>,
}

impl OverlayQueue {
    /// A queue kept in `store`'s `overlay_alerts` table.
    pub fn new(store: Store) -> Self {
        OverlayQueue {
            store,
            changed: watch::Sender::new(0),
            fresh: broadcast::Sender::new(FRESH_CAPACITY),
            order: Arc::new(Mutex::new(())),
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
        let _in_order = self.order.lock().await;
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
        // No connected overlay is fine: the alert waits in the database.
        let _ = self.fresh.send(Arc::new(alert));
        self.changed.send_modify(|n| *n += 1);
        Ok(id)
    }

    /// Wakes whenever an alert is queued.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Every alert queued from now on, committed and in queue order. A
    /// receiver that falls behind gets `Lagged` and must catch up with
    /// [`OverlayQueue::pending`].
    pub fn fresh(&self) -> broadcast::Receiver<Arc<QueuedAlert>> {
        self.fresh.subscribe()
    }

    /// Unacknowledged alerts per overlay name, for the dashboard.
    pub async fn pending_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.store.read(overlay_alerts::pending_counts).await
    }

    /// Alerts of `overlay` not yet acknowledged, after queue position `after`.
    pub async fn pending(&self, overlay: &str, after: i64) -> Result<Vec<QueuedAlert>, StoreError> {
        let overlay = overlay.to_owned();
        self.store
            .read(move |c| overlay_alerts::pending(c, &overlay, after, 200))
            .await
    }

    /// Records that alerts went out.
    pub async fn mark_sent(&self, ids: Vec<String>) -> Result<(), StoreError> {
        self.store
            .write(move |c| overlay_alerts::mark_sent(c, &ids, now_ms()))
            .await
    }

    /// An overlay showed the alert: it is never sent again.
    pub async fn ack(&self, overlay: &str, id: &str) -> Result<bool, StoreError> {
        let (overlay, id) = (overlay.to_owned(), id.to_owned());
        self.store
            .write(move |c| overlay_alerts::ack(c, &overlay, &id, now_ms()))
            .await
    }
}
