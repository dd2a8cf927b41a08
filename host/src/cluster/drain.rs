//! Graceful shutdown of a cluster role. The first SIGTERM or SIGINT stops
//! the node taking new work (the [`Shutdown::stop_token`] is cancelled:
//! `/readyz` turns 503, workers stop fetching, ingest stops accepting)
//! while work in flight finishes; [`Shutdown::wait_drained`] waits for it
//! up to a deadline. A second signal, or the deadline, ends the wait at
//! once so the process can exit: an orchestrator's patience is limited,
//! and an operator pressing Ctrl-C twice means it.
//!
//! Nothing is lost by exiting early: a worker's uncommitted batch is
//! delivered again to the partition's next owner (see
//! [`crate::cluster::bus::PartitionConsumer`]).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How the wait for work in flight ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Every piece of work finished.
    Clean,
    /// The deadline passed with work still running.
    DeadlinePassed { in_flight: usize },
    /// A second signal (or [`Shutdown::force`]) cut the wait short.
    Forced { in_flight: usize },
}

impl Drained {
    /// The process's exit status: 0 for a clean drain, 1 when work was
    /// cut off (so a supervisor can tell).
    pub fn exit_code(&self) -> i32 {
        match self {
            Drained::Clean => 0,
            Drained::DeadlinePassed { .. } | Drained::Forced { .. } => 1,
        }
    }
}

/// The count of work in flight, and a wake-up for when it reaches zero.
#[derive(Debug, Default)]
struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

impl InFlight {
    /// Resolves once nothing is in flight.
    async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            // Registered before the count is read, so a guard dropped in
            // between still wakes this wait.
            notified.as_mut().enable();
            if self.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// A piece of work in flight: shutdown waits until it is dropped.
#[derive(Debug)]
pub struct DrainGuard(Arc<InFlight>);

impl DrainGuard {
    fn new(in_flight: &Arc<InFlight>) -> DrainGuard {
        in_flight.count.fetch_add(1, Ordering::SeqCst);
        DrainGuard(in_flight.clone())
    }
}

impl Drop for DrainGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// A node's shutdown state. Cheap to clone; clones share it.
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    stop: CancellationToken,
    force: CancellationToken,
    in_flight: Arc<InFlight>,
    signals: Arc<AtomicU32>,
}

impl Shutdown {
    /// Running, nothing in flight.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Cancelled when the node must stop taking new work. Hand it to the
    /// role's loops, and to [`Draining`](crate::cluster::ops::Draining) so
    /// `/readyz` follows.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Whether shutdown began.
    pub fn is_stopping(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// Begins shutdown as a first signal would.
    pub fn begin(&self) {
        self.stop.cancel();
    }

    /// Ends the wait for work in flight at once, as a second signal would.
    pub fn force(&self) {
        self.stop.cancel();
        self.force.cancel();
    }

    /// Marks a piece of work in flight until the guard is dropped; `None`
    /// once shutdown began, so no new work starts.
    pub fn guard(&self) -> Option<DrainGuard> {
        if self.is_stopping() {
            None
        } else {
            Some(DrainGuard::new(&self.in_flight))
        }
    }

    /// Spawns a task that shutdown waits for (a connection being served, a
    /// batch being committed). Unlike [`guard`](Shutdown::guard) it works
    /// while stopping too: work in flight may need helpers to finish.
    pub fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let guard = DrainGuard::new(&self.in_flight);
        tokio::spawn(async move {
            let output = task.await;
            drop(guard);
            output
        })
    }

    /// Work in flight now (guards and tracked tasks).
    pub fn in_flight(&self) -> usize {
        self.in_flight.count.load(Ordering::SeqCst)
    }

    /// Reacts to one signal: the first begins shutdown, any later one
    /// forces it.
    fn on_signal(&self, name: &str) {
        let seen = self.signals.fetch_add(1, Ordering::SeqCst) + 1;
        if seen == 1 {
            tracing::info!(
                signal = name,
                in_flight = self.in_flight(),
                "shutting down: no new work, finishing what is in flight (signal again to exit now)"
            );
            self.begin();
        } else {
            tracing::warn!(
                signal = name,
                in_flight = self.in_flight(),
                "second signal: exiting without waiting"
            );
            self.force();
        }
    }

    /// Listens for SIGTERM (orchestrators) and SIGINT (Ctrl-C) for the life
    /// of the process.
    pub fn listen_for_signals(&self) -> std::io::Result<JoinHandle<()>> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let shutdown = self.clone();
        Ok(tokio::spawn(async move {
            loop {
                let name = tokio::select! {
                    Some(()) = term.recv() => "SIGTERM",
                    Some(()) = int.recv() => "SIGINT",
                    else => return,
                };
                shutdown.on_signal(name);
            }
        }))
    }

    /// Waits for the work in flight to finish, at most `deadline`; a
    /// [`force`](Shutdown::force) (second signal) ends the wait at once.
    /// Call it once shutdown began (before, it also waits for work that
    /// keeps arriving).
    pub async fn wait_drained(&self, deadline: Duration) -> Drained {
        let outcome = tokio::select! {
            () = self.in_flight.idle() => Drained::Clean,
            () = tokio::time::sleep(deadline) => Drained::DeadlinePassed { in_flight: self.in_flight() },
            () = self.force.cancelled() => Drained::Forced { in_flight: self.in_flight() },
        };
        match outcome {
            Drained::Clean => tracing::info!("drained: all work in flight finished"),
            Drained::DeadlinePassed { in_flight } => {
                tracing::warn!(
                    in_flight,
                    ?deadline,
                    "drain deadline passed; exiting with work in flight"
                )
            }
            Drained::Forced { in_flight } => {
                tracing::warn!(in_flight, "drain cut short; exiting with work in flight")
            }
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    const LONG: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn work_in_flight_finishes_before_the_drain_ends() {
        let shutdown = Shutdown::new();
        let guard = shutdown.guard().unwrap();
        let finished = Arc::new(AtomicU32::new(0));
        let done = finished.clone();
        let stop = shutdown.stop_token();
        shutdown.spawn(async move {
            stop.cancelled().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            done.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(shutdown.in_flight(), 2);

        // The token cancelled by hand, as the first signal does.
        shutdown.stop_token().cancel();
        assert!(shutdown.is_stopping());
        assert!(shutdown.guard().is_none(), "no new work once stopping");
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            drop(guard);
        });
        let started = Instant::now();
        assert_eq!(shutdown.wait_drained(LONG).await, Drained::Clean);
        assert!(started.elapsed() >= Duration::from_millis(90));
        assert!(started.elapsed() < LONG);
        assert_eq!(finished.load(Ordering::SeqCst), 1);
        assert_eq!(Drained::Clean.exit_code(), 0);
    }

    #[tokio::test]
    async fn the_deadline_ends_the_wait() {
        let shutdown = Shutdown::new();
        let _stuck = shutdown.guard().unwrap();
        shutdown.begin();
        let started = Instant::now();
        let outcome = shutdown.wait_drained(Duration::from_millis(100)).await;
        assert_eq!(outcome, Drained::DeadlinePassed { in_flight: 1 });
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(outcome.exit_code(), 1);
    }

    #[tokio::test]
    async fn a_second_signal_ends_the_wait_at_once() {
        let shutdown = Shutdown::new();
        let _stuck = shutdown.guard().unwrap();
        shutdown.on_signal("SIGTERM");
        assert!(shutdown.stop_token().is_cancelled());
        let waiting = shutdown.clone();
        let wait = tokio::spawn(async move { waiting.wait_drained(LONG).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!wait.is_finished(), "one signal waits for the work");
        let started = Instant::now();
        shutdown.on_signal("SIGINT");
        let outcome = wait.await.unwrap();
        assert_eq!(outcome, Drained::Forced { in_flight: 1 });
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn nothing_in_flight_drains_at_once() {
        let shutdown = Shutdown::new();
        shutdown.begin();
        let started = Instant::now();
        assert_eq!(shutdown.wait_drained(LONG).await, Drained::Clean);
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
