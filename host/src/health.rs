//! What `/healthz` reports: each long-lived part of the host that is not
//! doing its job right now, with the reason (the database refusing writes,
//! a background task restarting after a crash), and the one condition that
//! stops the host: a part that cannot be restarted in process (the
//! database writer) has stopped, so the host exits non-zero and a service
//! manager starts it again.

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

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

/// Runs the task `start` makes as `part`: if it panics (or ends before
/// `stop`), the problem is logged and shown in `/healthz`, and the task is
/// started again after a backoff (1 s, doubling to a minute), until `stop`.
pub fn supervise<F, Fut>(
    health: Health,
    part: &'static str,
    stop: CancellationToken,
    start: F,
) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    supervise_with_backoff(health, part, stop, Duration::from_secs(1), start)
}

fn supervise_with_backoff<F, Fut>(
    health: Health,
    part: &'static str,
    stop: CancellationToken,
    first_backoff: Duration,
    mut start: F,
) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut backoff = first_backoff;
        loop {
            let ended = AssertUnwindSafe(start()).catch_unwind().await;
            if stop.is_cancelled() {
                health.up(part);
                return;
            }
            let reason = match ended {
                Ok(()) => "ended by itself".to_owned(),
                Err(panic) => format!("crashed: {}", panic_message(&*panic)),
            };
            tracing::error!(part, "{reason}; restarting in {backoff:?}");
            health.down(part, format!("{reason}; restarting"));
            tokio::select! {
                _ = stop.cancelled() => {
                    health.up(part);
                    return;
                }
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(60));
            health.up(part);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_crashing_task_is_reported_and_restarted_until_stopped() {
        let health = Health::default();
        let stop = CancellationToken::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let first = Duration::from_millis(200);
        let task =
            supervise_with_backoff(health.clone(), "poller", stop.clone(), first, move || {
                let n = counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < 2 {
                        panic!("boom {n}");
                    }
                    std::future::pending::<()>().await;
                }
            });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1, "waits before restarting");
        let problems = health.problems();
        assert!(
            problems["poller"].contains("crashed: boom 0"),
            "{problems:?}"
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while runs.load(Ordering::SeqCst) < 3 {
            assert!(
                std::time::Instant::now() < deadline,
                "restarted with backoff"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(health.problems().is_empty(), "running again");
        stop.cancel();
        task.abort();
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
