//! When each poller runs. The fast interval comes from `polling_config`
//! (built-in defaults, `STAGEHAND_POLL_<NAME>_SECS`, or the API at run time).
//! While EventSub is healthy the pollers whose changes EventSub also
//! delivers stretch to 2–4 hours; when it drops they return to their fast
//! interval at once (a run that is already overdue starts immediately), so
//! the fallback takes over within one keepalive window. A failing poller
//! logs, records its error and tries again next cycle; the others go on.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{PollReport, Poller};
use crate::store::polling_config::{self, PollingRow};
use crate::store::{Store, StoreError};
use crate::twitch::eventsub::status::EventSubStatus;

/// The shortest stretched interval while EventSub is healthy.
pub const STRETCH_MIN: Duration = Duration::from_secs(2 * 60 * 60);
/// The longest; each cycle picks a point in between, so pollers spread out.
pub const STRETCH_MAX: Duration = Duration::from_secs(4 * 60 * 60);
/// Bounds on the fast interval the API accepts.
pub const MIN_INTERVAL_SECS: u64 = 1;
pub const MAX_INTERVAL_SECS: u64 = 7 * 24 * 60 * 60;

/// Whether EventSub delivers this poller's changes too (follows, subs,
/// roles, bans): only those may be stretched. Unfollows, clips and the
/// role sync have no EventSub counterpart and keep their own schedule.
pub fn stretchable(name: &str) -> bool {
    matches!(
        name,
        "followers" | "subscriptions" | "vips" | "moderators" | "bans"
    )
}

/// How long after the last run the next is due: the fast interval, or while
/// EventSub is healthy (and the poller is stretchable) a point between
/// [`STRETCH_MIN`] and [`STRETCH_MAX`] chosen by `spread` (0..1).
pub fn interval(name: &str, fast: Duration, eventsub_healthy: bool, spread: f64) -> Duration {
    if eventsub_healthy && stretchable(name) {
        STRETCH_MIN + (STRETCH_MAX - STRETCH_MIN).mul_f64(spread.clamp(0.0, 1.0))
    } else {
        fast
    }
}

/// A poller's schedule and last outcome, for `GET /api/polling`.
#[derive(Debug, Clone, Serialize)]
pub struct PollerStatus {
    #[serde(flatten)]
    pub config: PollingRow,
    /// The interval in force now (stretched or fast).
    pub effective_interval_secs: u64,
    /// Whether the interval is stretched because EventSub is healthy.
    pub stretched: bool,
    pub next_run_at: Option<DateTime<Utc>>,
    pub running: bool,
    /// The last successful run's report.
    pub last_report: Option<PollReport>,
}

#[derive(Debug, Default, Clone)]
struct RunState {
    effective: Duration,
    stretched: bool,
    next_run_at: Option<DateTime<Utc>>,
    running: bool,
    last_report: Option<PollReport>,
}

/// Why the API could not change a poller.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("no poller named {0:?}")]
    Unknown(String),
    #[error("interval_secs must be between {MIN_INTERVAL_SECS} and {MAX_INTERVAL_SECS}")]
    BadInterval,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The running schedule: status and run-time changes. Cheap to clone.
#[derive(Clone)]
pub struct PollSchedule {
    store: Store,
    states: Arc<Mutex<BTreeMap<String, RunState>>>,
    wake: Arc<BTreeMap<String, watch::Sender<()>>>,
}

impl PollSchedule {
    /// Starts one task per poller. `health` is the EventSub status (none
    /// without a Twitch session: the fast intervals apply).
    pub fn start(
        store: Store,
        pollers: Vec<Arc<dyn Poller>>,
        health: Option<watch::Receiver<EventSubStatus>>,
        cancel: CancellationToken,
    ) -> (PollSchedule, Vec<JoinHandle<()>>) {
        let states = Arc::new(Mutex::new(BTreeMap::new()));
        let mut wake = BTreeMap::new();
        let mut tasks = Vec::new();
        for poller in pollers {
            let (tx, rx) = watch::channel(());
            wake.insert(poller.name().to_owned(), tx);
            lock(&states).insert(poller.name().to_owned(), RunState::default());
            let runner = Runner {
                poller,
                store: store.clone(),
                health: health.clone(),
                wake: rx,
                states: states.clone(),
                cancel: cancel.clone(),
            };
            tasks.push(tokio::spawn(runner.run()));
        }
        let schedule = PollSchedule {
            store,
            states,
            wake: Arc::new(wake),
        };
        (schedule, tasks)
    }

    /// Every poller in `polling_config` with its run state.
    pub async fn status(&self) -> Result<Vec<PollerStatus>, StoreError> {
        let rows = self.store.read(polling_config::all).await?;
        let states = lock(&self.states).clone();
        Ok(rows
            .into_iter()
            .map(|config| {
                let state = states.get(&config.name).cloned().unwrap_or_default();
                let effective = if state.effective.is_zero() {
                    config.interval_secs
                } else {
                    state.effective.as_secs()
                };
                PollerStatus {
                    effective_interval_secs: effective,
                    stretched: state.stretched,
                    next_run_at: state.next_run_at,
                    running: state.running,
                    last_report: state.last_report,
                    config,
                }
            })
            .collect())
    }

    /// Changes a poller's fast interval and/or enabled flag; it takes
    /// effect at once (the poller recomputes its next run).
    pub async fn set(
        &self,
        name: &str,
        interval_secs: Option<u64>,
        enabled: Option<bool>,
    ) -> Result<PollingRow, ScheduleError> {
        if let Some(secs) = interval_secs
            && !(MIN_INTERVAL_SECS..=MAX_INTERVAL_SECS).contains(&secs)
        {
            return Err(ScheduleError::BadInterval);
        }
        let owned = name.to_owned();
        let row = self
            .store
            .write(move |c| polling_config::set(c, &owned, interval_secs, enabled, Utc::now()))
            .await?
            .ok_or_else(|| ScheduleError::Unknown(name.to_owned()))?;
        if let Some(wake) = self.wake.get(name) {
            wake.send_replace(());
        }
        Ok(row)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One poller's loop.
struct Runner {
    poller: Arc<dyn Poller>,
    store: Store,
    health: Option<watch::Receiver<EventSubStatus>>,
    wake: watch::Receiver<()>,
    states: Arc<Mutex<BTreeMap<String, RunState>>>,
    cancel: CancellationToken,
}

impl Runner {
    async fn run(mut self) {
        let name = self.poller.name();
        // The first run is due at once: it takes the baseline, or catches
        // up with what changed while the host was off.
        let mut last_run: Option<Instant> = None;
        let mut spread = rand::random::<f64>();
        loop {
            let (fast, enabled) = self.config(name).await;
            let healthy = self
                .health
                .as_ref()
                .is_some_and(|h| h.borrow().is_healthy());
            let every = interval(name, fast, healthy, spread);
            let due = last_run.map_or_else(Instant::now, |t| t + every);
            self.update(name, |s| {
                s.effective = every;
                s.stretched = healthy && stretchable(name);
                s.next_run_at = enabled.then(|| wall_time(due));
            });
            tokio::select! {
                _ = self.cancel.cancelled() => return,
                changed = self.wake.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                _ = health_changed(&mut self.health) => {}
                _ = tokio::time::sleep_until(due), if enabled => {
                    self.run_once(name).await;
                    last_run = Some(Instant::now());
                    spread = rand::random::<f64>();
                }
            }
        }
    }

    /// The fast interval and enabled flag; defaults if the row is missing
    /// or unreadable (logged), so a database hiccup does not stop polling.
    async fn config(&self, name: &'static str) -> (Duration, bool) {
        match self.store.read(move |c| polling_config::get(c, name)).await {
            Ok(Some(row)) => (Duration::from_secs(row.interval_secs), row.enabled),
            Ok(None) => (Duration::from_secs(300), true),
            Err(e) => {
                tracing::warn!(poller = name, error = %e, "cannot read the poller's schedule; using 5 minutes");
                (Duration::from_secs(300), true)
            }
        }
    }

    async fn run_once(&self, name: &'static str) {
        self.update(name, |s| s.running = true);
        let started = Utc::now();
        // A panic in a poller (a bug) is this cycle's error, not the end of
        // its schedule: it runs again next cycle.
        let outcome = match std::panic::AssertUnwindSafe(self.poller.poll())
            .catch_unwind()
            .await
        {
            Ok(outcome) => outcome,
            Err(panic) => Err(super::PollError::Failed(format!(
                "the poller crashed: {}",
                crate::health::panic_message(&*panic)
            ))),
        };
        let error = match &outcome {
            Ok(report) => {
                if report.baseline {
                    tracing::info!(
                        poller = name,
                        requests = report.requests,
                        "baseline recorded; changes from now on become events"
                    );
                } else if report.changes > 0 {
                    tracing::info!(
                        poller = name,
                        changes = report.changes,
                        requests = report.requests,
                        "poll found changes"
                    );
                } else {
                    tracing::debug!(
                        poller = name,
                        requests = report.requests,
                        "poll found no changes"
                    );
                }
                None
            }
            Err(e) => {
                tracing::warn!(poller = name, error = %e, "poll failed; trying again next cycle");
                Some(e.to_string())
            }
        };
        self.update(name, |s| {
            s.running = false;
            if let Ok(report) = &outcome {
                s.last_report = Some(report.clone());
            }
        });
        let result = self
            .store
            .write(move |c| polling_config::record_run(c, name, started, error.as_deref()))
            .await;
        if let Err(e) = result {
            tracing::warn!(poller = name, error = %e, "cannot record the poll run");
        }
    }

    fn update(&self, name: &str, f: impl FnOnce(&mut RunState)) {
        if let Some(state) = lock(&self.states).get_mut(name) {
            f(state);
        }
    }
}

/// Resolves when EventSub's health may have changed (never without a
/// session).
async fn health_changed(health: &mut Option<watch::Receiver<EventSubStatus>>) {
    match health {
        Some(rx) => {
            let before = rx.borrow().is_healthy();
            loop {
                if rx.changed().await.is_err() {
                    // The session ended: no more changes; stop waking.
                    *health = None;
                    return;
                }
                if rx.borrow().is_healthy() != before {
                    return;
                }
            }
        }
        None => std::future::pending().await,
    }
}

/// The wall-clock time of a monotonic instant (for the API).
fn wall_time(at: Instant) -> DateTime<Utc> {
    let now = Instant::now();
    if at >= now {
        Utc::now() + (at - now)
    } else {
        Utc::now() - (now - at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::polling::{PollError, PollFuture};
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn healthy_eventsub_stretches_only_what_it_also_delivers() {
        let fast = Duration::from_secs(60);
        assert_eq!(interval("followers", fast, false, 0.5), fast);
        assert_eq!(interval("followers", fast, true, 0.0), STRETCH_MIN);
        assert_eq!(interval("followers", fast, true, 1.0), STRETCH_MAX);
        assert_eq!(interval("clips", fast, true, 0.5), fast);
        assert_eq!(interval("followers_full", fast, true, 0.5), fast);
        assert_eq!(interval("role_sync", fast, true, 0.5), fast);
    }

    struct Counting {
        name: &'static str,
        runs: Arc<AtomicUsize>,
        fail: bool,
    }

    impl Poller for Counting {
        fn name(&self) -> &'static str {
            self.name
        }
        fn poll(&self) -> PollFuture<'_> {
            Box::pin(async move {
                self.runs.fetch_add(1, Ordering::SeqCst);
                if self.fail {
                    Err(PollError::Store(StoreError::WriterStopped))
                } else {
                    Ok(PollReport::default())
                }
            })
        }
    }

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s.db"), Default::default()).unwrap();
        (dir, store)
    }

    async fn wait_for(runs: &AtomicUsize, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while runs.load(Ordering::SeqCst) < n {
            assert!(
                Instant::now() < deadline,
                "only {} runs",
                runs.load(Ordering::SeqCst)
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_poller_records_its_error_and_the_others_keep_running() {
        let (_dir, store) = store().await;
        let good = Arc::new(AtomicUsize::new(0));
        let bad = Arc::new(AtomicUsize::new(0));
        let (schedule, _tasks) = PollSchedule::start(
            store.clone(),
            vec![
                Arc::new(Counting {
                    name: "vips",
                    runs: good.clone(),
                    fail: false,
                }),
                Arc::new(Counting {
                    name: "bans",
                    runs: bad.clone(),
                    fail: true,
                }),
            ],
            None,
            CancellationToken::new(),
        );
        schedule.set("vips", Some(5), None).await.unwrap();
        schedule.set("bans", Some(5), None).await.unwrap();
        wait_for(&good, 1).await;
        wait_for(&bad, 1).await;
        // Errors are recorded once the write lands.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let status = schedule.status().await.unwrap();
            let bans = status.iter().find(|s| s.config.name == "bans").unwrap();
            let vips = status.iter().find(|s| s.config.name == "vips").unwrap();
            if bans.config.last_error.is_some() && vips.config.last_run_at.is_some() {
                assert!(vips.config.last_error.is_none());
                assert!(vips.last_report.is_some());
                break;
            }
            assert!(Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_api_validates_and_disabling_stops_runs() {
        let (_dir, store) = store().await;
        let runs = Arc::new(AtomicUsize::new(0));
        let (schedule, _tasks) = PollSchedule::start(
            store,
            vec![Arc::new(Counting {
                name: "clips",
                runs: runs.clone(),
                fail: false,
            })],
            None,
            CancellationToken::new(),
        );
        assert!(matches!(
            schedule.set("clips", Some(0), None).await,
            Err(ScheduleError::BadInterval)
        ));
        assert!(matches!(
            schedule.set("nope", Some(60), None).await,
            Err(ScheduleError::Unknown(_))
        ));
        wait_for(&runs, 1).await;
        let row = schedule.set("clips", None, Some(false)).await.unwrap();
        assert!(!row.enabled);
        let status = schedule.status().await.unwrap();
        let clips = status.iter().find(|s| s.config.name == "clips").unwrap();
        assert!(!clips.config.enabled);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn losing_eventsub_brings_an_overdue_stretched_poller_back_at_once() {
        let (_dir, store) = store().await;
        let runs = Arc::new(AtomicUsize::new(0));
        let healthy = EventSubStatus {
            state: crate::twitch::eventsub::status::ConnectionState::Connected,
            connected: true,
            ..Default::default()
        };
        let (health, health_rx) = watch::channel(healthy);
        let (schedule, _tasks) = PollSchedule::start(
            store,
            vec![Arc::new(Counting {
                name: "followers",
                runs: runs.clone(),
                fail: false,
            })],
            Some(health_rx),
            CancellationToken::new(),
        );
        schedule.set("followers", Some(5), None).await.unwrap();
        wait_for(&runs, 1).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let status = schedule.status().await.unwrap();
        let followers = status
            .iter()
            .find(|s| s.config.name == "followers")
            .unwrap();
        assert!(followers.stretched);
        assert!(followers.effective_interval_secs >= STRETCH_MIN.as_secs());
        // Stretched: no second run for hours. EventSub drops:
        health.send_modify(|s| {
            s.connected = false;
            s.state = crate::twitch::eventsub::status::ConnectionState::Waiting;
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let status = schedule.status().await.unwrap();
        let followers = status
            .iter()
            .find(|s| s.config.name == "followers")
            .unwrap();
        assert!(!followers.stretched);
        assert_eq!(followers.effective_interval_secs, 5);
        wait_for(&runs, 2).await;
    }
}
