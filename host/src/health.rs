//! What `/healthz` reports: each part of the host that is not doing its
//! job right now, with the reason (the database refusing writes), and the
//! one condition that stops the host: a part that cannot be restarted in
//! process (the database writer, the event pipeline) has stopped, so the
//! host exits non-zero and a service manager starts it again.
//!
//! The other long-lived parts survive their own bugs where they run: a
//! panic costs one poll (pollers), one session (EventSub, which reconnects
//! with backoff), one batch (the executor, a database write) or one call (a
//! plugin, which is faulted), and is logged with its message.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

/// The host's health. Cloning is cheap.
#[derive(Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

struct Inner {
    problems: Mutex<BTreeMap<String, String>>,
    fatal: watch::Sender<Option<String>>,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            inner: Arc::new(Inner {
                problems: Mutex::new(BTreeMap::new()),
                fatal: watch::Sender::new(None),
            }),
        }
    }
}

impl Health {
    fn problems_mut(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.inner
            .problems
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// `part` is not working, and why.
    pub fn down(&self, part: &str, reason: impl Into<String>) {
        self.problems_mut().insert(part.to_owned(), reason.into());
    }

    /// `part` works (again).
    pub fn up(&self, part: &str) {
        self.problems_mut().remove(part);
    }

    /// Every part not working, with its reason.
    pub fn problems(&self) -> BTreeMap<String, String> {
        self.problems_mut().clone()
    }

    /// Stops the host: `reason` cannot be recovered from in process.
    pub fn fatal(&self, reason: impl Into<String>) {
        let reason = reason.into();
        tracing::error!("{reason}");
        self.inner.fatal.send_if_modified(|current| {
            if current.is_none() {
                *current = Some(reason);
                true
            } else {
                false
            }
        });
    }

    /// Waits until something fatal happened; its reason.
    pub async fn wait_fatal(&self) -> String {
        let mut rx = self.inner.fatal.subscribe();
        loop {
            if let Some(reason) = rx.borrow_and_update().clone() {
                return reason;
            }
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// The message of a panic payload.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_come_and_go_per_part() {
        let health = Health::default();
        health.down("store", "disk full");
        assert_eq!(health.problems()["store"], "disk full");
        health.up("store");
        assert!(health.problems().is_empty());
    }

    #[tokio::test]
    async fn the_first_fatal_reason_is_kept() {
        let health = Health::default();
        let waiting = tokio::spawn({
            let h = health.clone();
            async move { h.wait_fatal().await }
        });
        health.fatal("the database writer stopped");
        health.fatal("something later");
        assert_eq!(waiting.await.unwrap(), "the database writer stopped");
    }
}
