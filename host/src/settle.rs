//! "Every plugin has acted on this event": a consumer of stored events that
//! must see the effects of the plugins' actions on earlier events (the
//! speech service: a moderator's `~mutevoice` must silence the very next
//! message) waits for it.
//!
//! The pipeline makes one [`SettleGuard`] per event and hands a clone to
//! each plugin it dispatches the event to; the plugin's worker passes it on
//! to the executor with its actions (an empty batch when there are none),
//! and the executor drops it once those actions are carried out. The
//! executor takes batches in the order each worker sent them, so when the
//! last clone is dropped, every action a plugin decided before this event
//! has been carried out. [`Settled`] resolves then (or when the guards are
//! dropped any other way: a missed event, a stopped plugin).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::Shared;
use tokio::sync::oneshot;

/// Held by whoever still has to act on the event; the last drop settles it.
pub struct SettleGuard {
    done: Mutex<Option<oneshot::Sender<()>>>,
}

impl Drop for SettleGuard {
    fn drop(&mut self) {
        if let Some(done) = self.done.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = done.send(());
        }
    }
}

/// Resolves when every guard of its event is gone. Clones wait together.
#[derive(Clone)]
pub struct Settled {
    rx: Shared<oneshot::Receiver<()>>,
}

impl Settled {
    /// Waits until the event settled, or `limit` passed (a plugin slow to
    /// get to it must not hold its consumer up for long).
    pub async fn wait(self, limit: Duration) {
        let _ = tokio::time::timeout(limit, self.rx).await;
    }
}

/// A guard for a new event and the future its consumer waits on.
pub fn new() -> (Arc<SettleGuard>, Settled) {
    let (tx, rx) = oneshot::channel();
    let guard = Arc::new(SettleGuard {
        done: Mutex::new(Some(tx)),
    });
    (guard, Settled { rx: rx.shared() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn settled_once_every_holder_let_go() {
        let (guard, settled) = new();
        let (a, b) = (guard.clone(), guard.clone());
        drop(guard);
        drop(a);
        let mut waiting = tokio::spawn(settled.wait(Duration::from_secs(10)));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            futures_util::poll!(&mut waiting).is_pending(),
            "one holder is left"
        );
        drop(b);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("settled when the last holder let go")
            .unwrap();
    }

    #[tokio::test]
    async fn a_holder_that_never_lets_go_costs_at_most_the_limit() {
        let (guard, settled) = new();
        let started = std::time::Instant::now();
        settled.wait(Duration::from_millis(50)).await;
        assert!(started.elapsed() >= Duration::from_millis(50));
        drop(guard);
    }
}
