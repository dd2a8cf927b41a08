//! The overlay alert queue: alerts are stored first (so nothing is lost
//! across reconnects and restarts) and overlays are woken to fetch them.

use serde_json::Value;
use tokio::sync::watch;

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

/// Queue of alerts per overlay. Cloning is cheap.
#[derive(Clone)]
pub struct OverlayQueue {
    store: Store,
    changed: watch::Sender<u64>,
}

impl OverlayQueue {
    pub fn new(store: Store) -> Self {
        OverlayQueue {
            store,
            changed: watch::Sender::new(0),
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
        let (alert_id, overlay_name) = (id.clone(), overlay.to_owned());
        self.store
            .write(move |c| {
                overlay_alerts::enqueue(
                    c,
                    &alert_id,
                    &overlay_name,
                    event_id.as_deref(),
                    plugin.as_deref(),
                    &payload,
                    now_ms(),
                )
            })
            .await?;
        self.changed.send_modify(|n| *n += 1);
        Ok(id)
    }

    /// Wakes whenever an alert is queued.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
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
