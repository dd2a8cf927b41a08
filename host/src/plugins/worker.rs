//! One thread per plugin owns its long-lived instance and takes work from
//! two queues: events (bounded; offered without waiting, so a slow plugin
//! misses events rather than slowing anyone else) and control work
//! (formatting, rendering, swaps, stops), which is taken first, so a
//! display or a rendered alert waits for at most the call in progress.
//! A fault (trap, overrun, quota, panic) costs only this plugin: the
//! instance is rebuilt, and after [`QUARANTINE_AFTER`] faults in a row the
//! plugin is quarantined.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError};
use tokio::sync::{mpsc, oneshot};

use super::convert;
use super::manifest::{Manifest, Permission};
use super::priority;
use super::quotas::{self, LogBudget};
use super::runtime::{Compiled, Fault, Instance, InstanceContext, KvCache, Runtime, wit};
use crate::event::Event;
use crate::settle::SettleGuard;
use crate::store::events::StoredEvent;
use crate::store::{self, Store};

/// How long a format or render call may wait for the plugin to start it.
/// A plugin is one instance running one call at a time; one busy with
/// another call is not waited for (a display is filled in later; an alert
/// waits for a renderer only if its call has run less than this), instead
/// of every event and alert queueing behind a plugin that spends its whole
/// deadline. Ordinary calls take microseconds.
pub const PICKUP: Duration = Duration::from_millis(1);
/// How long a render call may wait to start when its plugin was idle: only
/// the worker thread's wake-up, which a busy machine (OBS encoding beside
/// Stagehand) can delay well past [`PICKUP`]; a skipped renderer would
/// leave the alert unstyled.
pub const IDLE_PICKUP: Duration = Duration::from_millis(50);
/// Faults in a row that quarantine a plugin.
pub const QUARANTINE_AFTER: u32 = 5;
/// Events that may wait for one plugin; more are missed (and counted).
pub const EVENT_QUEUE: usize = 1024;
/// Control work that may wait (formats and renders of the moment).
const CONTROL_QUEUE: usize = 64;
/// Lines of the guest's stderr shown with a fault.
const STDERR_LINES: usize = 5;

/// A loaded plugin version.
pub struct Version {
    pub manifest: Manifest,
    pub compiled: Compiled,
    pub info: wit::Info,
    /// What the host noticed at load (see `checks`).
    pub warnings: Vec<String>,
    /// Hash of the manifest, the wasm and the streamer's settings: a change
    /// to any of them means a new version.
    pub fingerprint: String,
}

/// Where a plugin stands, as `/api/plugins` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Being compiled and started for the first time.
    Compiling,
    Running,
    /// Asks for permissions or limits the streamer has not granted yet.
    PendingGrant,
    /// Faulted too often in a row; waits for a new file or a reset.
    Quarantined,
    /// Could not be loaded (bad manifest, bad wasm) and no older version runs.
    Failed,
    /// Turned off by the streamer: loaded again only when enabled.
    Disabled,
}

/// A plugin's status.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    pub name: String,
    pub version: String,
    #[serde(rename = "status")]
    pub state: State,
    pub last_error: Option<String>,
    /// Faults in a row.
    pub faults: u32,
    pub total_faults: u64,
    pub calls: u64,
    pub reloads: u64,
    /// Events dropped because its queue was full.
    pub missed: u64,
    /// Events that arrived while it was being compiled and started for the
    /// first time (it could not have taken them).
    pub missed_while_compiling: u64,
    /// Fresh instances made to replace a used one (after
    /// `recycle_after_calls` calls or near its memory budget).
    pub recycles: u64,
    pub kinds: Vec<String>,
    pub roles: Vec<&'static str>,
    /// The plugin contract version its component was built for.
    pub contract: &'static str,
    /// What the host noticed at load: a role implemented but not
    /// declared, an unknown kind, a name or version unlike plugin.toml.
    pub warnings: Vec<String>,
    /// Permissions and limits its manifest asks for (`chat`,
    /// `media:cdn.example.com`, `memory_mib:256`, …) and those granted.
    pub requested_permissions: Vec<String>,
    pub granted_permissions: Vec<String>,
    /// The deadline and memory it runs with.
    pub limits: Limits,
    pub path: String,
    /// The manifest's one-line description, for the dashboard.
    pub description: Option<String>,
    /// False once the streamer disabled it.
    pub enabled: bool,
    /// Whether it runs with settings set from the dashboard rather than its
    /// manifest's `[settings]`.
    pub settings_overridden: bool,
}

/// The limits a plugin runs under.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Limits {
    pub deadline_ms: u64,
    pub memory_mib: u64,
}

impl Limits {
    pub fn of(manifest: &Manifest) -> Limits {
        Limits {
            deadline_ms: manifest.deadline.as_millis() as u64,
            memory_mib: (manifest.memory_bytes >> 20) as u64,
        }
    }
}

/// Shared, updated by the worker and the registry.
pub type SharedStatus = Arc<Mutex<Status>>;

/// Announces a changed status (the dashboard's live feed).
pub type OnStatus = Arc<dyn Fn(&Status) + Send + Sync>;

/// Counts a fault against `status` (quarantining at the limit) and
/// announces the change; true if the plugin is now quarantined.
pub fn record_fault(
    status: &SharedStatus,
    on_status: &OnStatus,
    name: &str,
    message: &str,
) -> bool {
    tracing::warn!(plugin = name, "plugin fault: {message}");
    let (quarantined, snapshot) = {
        let mut s = status.lock().unwrap_or_else(|p| p.into_inner());
        s.faults += 1;
        s.total_faults += 1;
        s.last_error = Some(message.to_owned());
        let newly = s.state == State::Running && s.faults >= QUARANTINE_AFTER;
        if newly {
            s.state = State::Quarantined;
        }
        (newly, s.clone())
    };
    on_status(&snapshot);
    if quarantined {
        tracing::error!(
            plugin = name,
            "plugin quarantined after {QUARANTINE_AFTER} faults in a row; replace its file or reset it"
        );
    }
    quarantined
}

/// What the worker sends out: a plugin's actions for an event.
pub struct ActionBatch {
    pub plugin: Arc<str>,
    /// What the manifest declared (and the streamer granted).
    pub permissions: Arc<BTreeSet<Permission>>,
    pub event: Arc<StoredEvent>,
    pub actions: Vec<wit::Action>,
    /// Dropped by the executor once the actions are carried out (see
    /// [`crate::settle`]); a batch may carry only this.
    pub settle: Option<Arc<SettleGuard>>,
}

/// An event for a plugin, with the guard of whoever waits for it to settle.
pub struct Dispatched {
    pub event: Arc<StoredEvent>,
    pub settle: Option<Arc<SettleGuard>>,
}

/// Work that goes ahead of queued events.
pub enum Control {
    /// Display for each event (formatter role); events not reached within
    /// `budget` get none.
    Format {
        events: Arc<Vec<Event>>,
        budget: Duration,
        picked_up: oneshot::Sender<()>,
        reply: oneshot::Sender<Vec<Option<wit::Display>>>,
    },
    /// Restyle an alert (renderer role); skipped if nobody waits any more.
    Render {
        alert: Box<wit::Alert>,
        picked_up: oneshot::Sender<()>,
        reply: oneshot::Sender<Option<wit::Alert>>,
    },
    /// Replace the running version with this one: the events still queued
    /// go to the new version.
    Swap(Box<Swap>),
    /// Leave quarantine and start from a fresh instance.
    Reset,
    /// Finish queued events until `drain_until` (the rest are dropped),
    /// save, and stop; `done` hears when it has.
    Stop {
        drain_until: Instant,
        done: Option<oneshot::Sender<()>>,
    },
}

/// A new version with an instance already created and initialised.
pub struct Swap {
    pub version: Arc<Version>,
    pub instance: Instance,
    pub permissions: Arc<BTreeSet<Permission>>,
    pub done: Option<oneshot::Sender<()>>,
}

/// What became of an event offered to a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    Queued,
    /// Its queue is full: the event is missed. `first` when the queue was
    /// not full at the previous offer.
    Full {
        first: bool,
    },
    Stopped,
}

/// When the worker's current call started (µs since [`origin`]), 0 when
/// idle, and the deadline of its calls.
pub struct Busy {
    since_us: AtomicU64,
    deadline_ms: AtomicU64,
}

fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

fn now_us() -> u64 {
    (origin().elapsed().as_micros() as u64).max(1)
}

impl Busy {
    fn start(&self) {
        self.since_us.store(now_us(), Ordering::Release);
    }
    fn end(&self) {
        self.since_us.store(0, Ordering::Release);
    }

    /// The most the call in progress can still take.
    pub fn remaining(&self) -> Duration {
        let since = self.since_us.load(Ordering::Acquire);
        if since == 0 {
            return Duration::ZERO;
        }
        let deadline = Duration::from_millis(self.deadline_ms.load(Ordering::Relaxed));
        let elapsed = Duration::from_micros(now_us().saturating_sub(since));
        deadline.saturating_sub(elapsed)
    }

    /// Whether the plugin is in a call right now.
    pub fn in_call(&self) -> bool {
        self.since_us.load(Ordering::Acquire) != 0
    }

    /// Whether the call in progress has already run [`PICKUP`]: waiting
    /// for the plugin to become free is pointless.
    pub fn stuck(&self) -> bool {
        let since = self.since_us.load(Ordering::Acquire);
        since != 0 && Duration::from_micros(now_us().saturating_sub(since)) > PICKUP
    }

    /// The deadline of one call.
    pub fn deadline(&self) -> Duration {
        Duration::from_millis(self.deadline_ms.load(Ordering::Relaxed))
    }
}

/// The queue ends the registry keeps. Cloning is cheap.
#[derive(Clone)]
pub struct WorkerHandle {
    events: Sender<Dispatched>,
    control: Sender<Control>,
    overflowing: Arc<AtomicBool>,
    pub busy: Arc<Busy>,
}

impl WorkerHandle {
    /// Queues an event without waiting.
    pub fn offer(&self, event: Dispatched) -> Offer {
        match self.events.try_send(event) {
            Ok(()) => {
                self.overflowing.store(false, Ordering::Relaxed);
                Offer::Queued
            }
            Err(TrySendError::Full(_)) => Offer::Full {
                first: !self.overflowing.swap(true, Ordering::Relaxed),
            },
            Err(TrySendError::Disconnected(_)) => Offer::Stopped,
        }
    }

    /// Hands over control work without waiting; gives it back if the
    /// worker has too much of it already (or has stopped).
    pub fn control(&self, work: Control) -> Result<(), Control> {
        self.control.try_send(work).map_err(|e| e.into_inner())
    }
}

struct Worker {
    name: Arc<str>,
    runtime: Arc<Runtime>,
    store: Store,
    kv: Arc<KvCache>,
    log: Arc<LogBudget>,
    version: Arc<Version>,
    permissions: Arc<BTreeSet<Permission>>,
    instance: Option<Instance>,
    /// Calls the current instance has served.
    instance_calls: u64,
    /// Memory the current instance held once configured.
    instance_baseline: usize,
    status: SharedStatus,
    actions: mpsc::Sender<ActionBatch>,
    on_status: OnStatus,
    busy: Arc<Busy>,
}

/// Everything a worker needs to start.
pub struct Start {
    pub name: Arc<str>,
    pub runtime: Arc<Runtime>,
    pub store: Store,
    pub kv: Arc<KvCache>,
    pub log: Arc<LogBudget>,
    pub version: Arc<Version>,
    pub instance: Instance,
    pub permissions: Arc<BTreeSet<Permission>>,
    pub status: SharedStatus,
    pub actions: mpsc::Sender<ActionBatch>,
    pub on_status: OnStatus,
}

/// Starts the worker thread.
/// Starts a plugin's worker thread; the handle queues work to it.
pub fn spawn(start: Start) -> std::io::Result<WorkerHandle> {
    priority::prepare();
    let (events_tx, events_rx) = crossbeam_channel::bounded(EVENT_QUEUE);
    let (control_tx, control_rx) = crossbeam_channel::bounded(CONTROL_QUEUE);
    let busy = Arc::new(Busy {
        since_us: AtomicU64::new(0),
        deadline_ms: AtomicU64::new(start.version.manifest.deadline.as_millis() as u64),
    });
    let worker = Worker {
        name: start.name.clone(),
        runtime: start.runtime,
        store: start.store,
        kv: start.kv,
        log: start.log,
        version: start.version,
        permissions: start.permissions,
        instance_baseline: start.instance.memory_used(),
        instance: Some(start.instance),
        instance_calls: 0,
        status: start.status,
        actions: start.actions,
        on_status: start.on_status,
        busy: busy.clone(),
    };
    std::thread::Builder::new()
        .name(format!("plugin-{}", start.name))
        .spawn(move || {
            priority::mark_plugin_thread();
            worker.run(control_rx, events_rx)
        })?;
    Ok(WorkerHandle {
        events: events_tx,
        control: control_tx,
        overflowing: Arc::new(AtomicBool::new(false)),
        busy,
    })
}

enum Next {
    Control(Control),
    Event(Dispatched),
    Done,
}

/// Control work first; then whichever comes.
fn next(control: &Receiver<Control>, events: &Receiver<Dispatched>) -> Next {
    match control.try_recv() {
        Ok(c) => return Next::Control(c),
        Err(TryRecvError::Disconnected) => {
            return events.recv().map(Next::Event).unwrap_or(Next::Done);
        }
        Err(TryRecvError::Empty) => {}
    }
    crossbeam_channel::select_biased! {
        recv(control) -> c => match c {
            Ok(c) => Next::Control(c),
            Err(_) => events.recv().map(Next::Event).unwrap_or(Next::Done),
        },
        recv(events) -> e => match e {
            Ok(e) => Next::Event(e),
            Err(_) => control.recv().map(Next::Control).unwrap_or(Next::Done),
        },
    }
}

impl Worker {
    fn run(mut self, control: Receiver<Control>, events: Receiver<Dispatched>) {
        let mut stopped = None;
        loop {
            let next = next(&control, &events);
            if matches!(next, Next::Done) {
                break;
            }
            // A panic in host code (a bug, never the guest's: its traps are
            // errors) must not end this thread and leave the plugin looking
            // alive: it faults the plugin and the worker goes on.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.handle(next, &events)
            }));
            match outcome {
                Ok(Some(done)) => {
                    stopped = done;
                    break;
                }
                Ok(None) => {}
                Err(panic) => {
                    let what = panic
                        .downcast_ref::<String>()
                        .map(String::as_str)
                        .or_else(|| panic.downcast_ref::<&str>().copied())
                        .unwrap_or("unknown");
                    tracing::error!(
                        plugin = &*self.name,
                        "host error while running the plugin: {what}"
                    );
                    self.busy.end();
                    self.instance = None;
                    self.fault(format!("host error while running the plugin: {what}"));
                }
            }
            self.flush_kv();
            self.report_dropped_logs();
            if priority::demoted() {
                // A long call ended at idle priority: the next one starts
                // at normal priority again, on a fresh thread.
                let name = format!("plugin-{}", self.name);
                priority::continue_at_normal_priority(name, move || self.run(control, events));
                return;
            }
        }
        self.flush_kv();
        tracing::debug!(plugin = &*self.name, "plugin worker stopped");
        if let Some(done) = stopped {
            let _ = done.send(());
        }
    }

    /// Does one piece of work; `Some` when told to stop (with whom to tell).
    fn handle(
        &mut self,
        next: Next,
        events: &Receiver<Dispatched>,
    ) -> Option<Option<oneshot::Sender<()>>> {
        match next {
            Next::Done => return Some(None),
            Next::Event(event) => self.on_event(event),
            Next::Control(Control::Stop { drain_until, done }) => {
                let mut dropped = 0usize;
                while let Ok(event) = events.try_recv() {
                    if Instant::now() < drain_until {
                        self.on_event(event);
                        // Saved as it goes: a drain cut short by shutdown
                        // keeps what the calls so far stored.
                        self.flush_kv();
                    } else {
                        dropped += 1;
                    }
                }
                if dropped > 0 {
                    tracing::warn!(
                        plugin = &*self.name,
                        dropped,
                        "plugin stopped before it got through its queue"
                    );
                }
                return Some(done);
            }
            Next::Control(Control::Format {
                events,
                budget,
                picked_up,
                reply,
            }) => {
                let _ = picked_up.send(());
                let started = Instant::now();
                let mut out = Vec::with_capacity(events.len());
                for e in events.iter() {
                    if started.elapsed() >= budget || reply.is_closed() {
                        out.push(None);
                        continue;
                    }
                    let display = self.call(|i| i.format(e)).flatten();
                    out.push(display.and_then(|d| self.checked_display(d)));
                }
                let _ = reply.send(out);
            }
            Next::Control(Control::Render {
                alert,
                picked_up,
                reply,
            }) => {
                if picked_up.send(()).is_ok() && !reply.is_closed() {
                    let _ = reply.send(self.call(|i| i.render(&alert)).flatten());
                }
            }
            Next::Control(Control::Swap(swap)) => self.swap(*swap),
            Next::Control(Control::Reset) => self.reset(),
        }
        None
    }

    fn checked_display(&mut self, display: wit::Display) -> Option<wit::Display> {
        match quotas::check_display(&display) {
            Ok(()) => Some(display),
            Err(why) => {
                self.fault(format!("format: {why}"));
                None
            }
        }
    }

    fn on_event(&mut self, dispatched: Dispatched) {
        let Dispatched { event, settle } = dispatched;
        let actions = match self.call(|i| i.on_event(&event.event)) {
            Some(Ok(actions)) => match quotas::check_action_count(actions.len()) {
                Ok(()) => actions,
                Err(why) => {
                    self.fault(why);
                    Vec::new()
                }
            },
            None => Vec::new(),
            Some(Err(message)) => {
                tracing::warn!(plugin = &*self.name, event_id = %event.event.id, "on-event returned an error: {message}");
                self.update(|s| s.last_error = Some(format!("on-event: {message}")));
                Vec::new()
            }
        };
        // Through the executor even without actions when someone waits for
        // the event to settle: it then settles after this plugin's earlier
        // actions were carried out.
        if actions.is_empty() && settle.is_none() {
            return;
        }
        let batch = ActionBatch {
            plugin: self.name.clone(),
            permissions: self.permissions.clone(),
            event,
            actions,
            settle,
        };
        if self.actions.blocking_send(batch).is_err() {
            tracing::warn!(
                plugin = &*self.name,
                "action executor stopped; actions dropped"
            );
        }
    }

    /// Runs `f` on the instance (rebuilding it first if a fault or a
    /// recycle dropped it); None when not running or when the call
    /// faulted. A call that ran out of memory is tried once more on a
    /// fresh instance: a language runtime's heap grows with use, and the
    /// event should not be lost to that.
    fn call<T>(&mut self, mut f: impl FnMut(&mut Instance) -> Result<T, Fault>) -> Option<T> {
        let mut retried = false;
        loop {
            if self.state() != State::Running || !self.ensure_instance() {
                return None;
            }
            let instance = self.instance.as_mut()?;
            self.kv.begin_call();
            self.busy.start();
            let result = f(instance);
            self.busy.end();
            match result {
                Ok(value) => {
                    self.instance_calls += 1;
                    let used = instance.memory_used();
                    self.update(|s| {
                        s.calls += 1;
                        s.faults = 0;
                    });
                    if self.version.manifest.recycle_due(
                        self.instance_calls,
                        used,
                        self.instance_baseline,
                    ) {
                        self.recycle(used);
                    }
                    return Some(value);
                }
                // Only a used instance is worth replacing, and only when the
                // call changed nothing yet: its kv writes are not undone, so
                // running it again could apply them twice.
                Err(fault)
                    if instance.out_of_memory()
                        && !retried
                        && self.instance_calls > 0
                        && self.kv.written_this_call() == 0 =>
                {
                    tracing::info!(
                        plugin = &*self.name,
                        "out of memory after {} calls; trying again on a fresh instance: {}",
                        self.instance_calls,
                        fault.0
                    );
                    self.instance = None;
                    self.update(|s| s.recycles += 1);
                    retried = true;
                }
                Err(fault) => {
                    // The instance is unusable after a trap: drop it,
                    // keeping what the guest last printed.
                    let tail = instance.stderr_tail(STDERR_LINES);
                    self.instance = None;
                    self.fault(with_stderr(fault.0, &tail));
                    return None;
                }
            }
        }
    }

    /// Makes sure there is an instance; false (after a fault) if none could
    /// be made.
    fn ensure_instance(&mut self) -> bool {
        if self.instance.is_some() {
            return true;
        }
        self.busy.start();
        let fresh = self.instantiate();
        self.busy.end();
        match fresh {
            Ok(i) => {
                self.instance_baseline = i.memory_used();
                self.instance = Some(i);
                self.instance_calls = 0;
                true
            }
            Err(fault) => {
                self.fault(fault.0);
                false
            }
        }
    }

    /// Drops a used instance; the next call gets a fresh one. Its kv is
    /// the plugin's, not the instance's, so nothing stored is lost.
    fn recycle(&mut self, memory_used: usize) {
        tracing::debug!(
            plugin = &*self.name,
            calls = self.instance_calls,
            memory_mib = memory_used >> 20,
            "recycling the plugin's instance"
        );
        self.instance = None;
        self.update(|s| s.recycles += 1);
        // Made now rather than inside the next call, so a render or format
        // asked of this plugin next is not held up by it.
        self.ensure_instance();
    }

    fn instantiate(&self) -> Result<Instance, Fault> {
        let mut instance = self.runtime.instantiate(
            &self.version.compiled,
            context(&self.name, &self.kv, &self.log, &self.version.manifest),
        )?;
        let settings = self.version.manifest.settings.to_string();
        match instance.init(&settings, self.version.manifest.init_deadline())? {
            Ok(()) => Ok(instance),
            Err(message) => Err(Fault(format!("configure failed: {message}"))),
        }
    }

    fn fault(&mut self, message: String) {
        if record_fault(&self.status, &self.on_status, &self.name, &message) {
            self.instance = None;
        }
    }

    fn swap(&mut self, swap: Swap) {
        self.flush_kv();
        self.version = swap.version;
        self.permissions = swap.permissions;
        self.instance_baseline = swap.instance.memory_used();
        self.instance = Some(swap.instance);
        self.instance_calls = 0;
        self.busy.deadline_ms.store(
            self.version.manifest.deadline.as_millis() as u64,
            Ordering::Relaxed,
        );
        let info = &self.version.info;
        let manifest = &self.version.manifest;
        self.update(|s| {
            s.version = manifest.version.clone();
            s.state = State::Running;
            s.faults = 0;
            s.last_error = None;
            s.reloads += 1;
            s.kinds = info.kinds.clone();
            s.roles = info.roles.iter().map(|r| convert::role_name(*r)).collect();
            s.contract = self.version.compiled.contract();
            s.warnings = self.version.warnings.clone();
            s.limits = Limits::of(manifest);
        });
        tracing::info!(plugin = &*self.name, version = %manifest.version, "plugin reloaded");
        if let Some(done) = swap.done {
            let _ = done.send(());
        }
    }

    fn reset(&mut self) {
        self.instance = None;
        self.update(|s| {
            s.state = State::Running;
            s.faults = 0;
        });
    }

    fn report_dropped_logs(&self) {
        if let Some(dropped) = self.log.take_summary(Instant::now()) {
            tracing::warn!(
                plugin = &*self.name,
                dropped,
                "plugin log lines dropped: over {} lines per second",
                quotas::LOG_LINES_PER_SECOND
            );
        }
    }

    fn flush_kv(&self) {
        let changes = self.kv.take_dirty();
        if changes.is_empty() {
            return;
        }
        let plugin = self.name.clone();
        self.store
            .writer()
            .send_blocking("saving plugin key-value data", move |c| {
                store::plugins::kv_apply(c, &plugin, &changes, crate::event::now_ms())
            });
    }

    fn state(&self) -> State {
        self.status.lock().unwrap_or_else(|p| p.into_inner()).state
    }

    fn update<T>(&self, f: impl FnOnce(&mut Status) -> T) -> T {
        let (out, snapshot) = {
            let mut s = self.status.lock().unwrap_or_else(|p| p.into_inner());
            let before = (s.state, s.last_error.clone(), s.version.clone());
            let out = f(&mut s);
            let changed = before != (s.state, s.last_error.clone(), s.version.clone());
            (out, changed.then(|| s.clone()))
        };
        if let Some(snapshot) = snapshot {
            (self.on_status)(&snapshot);
        }
        out
    }
}

/// A fault message with the guest's last stderr lines (unless the message
/// already quotes its panic line).
fn with_stderr(message: String, tail: &[String]) -> String {
    let shown: Vec<&String> = tail
        .iter()
        .filter(|l| !message.contains(l.as_str()))
        .collect();
    if shown.is_empty() {
        return message;
    }
    let joined = shown
        .iter()
        .map(|l| l.as_str())
        .collect::<Vec<_>>()
        .join(" | ");
    quotas::truncate(
        &format!("{message}; its last output: {joined}"),
        quotas::MAX_ERROR,
    )
}

/// What a new instance of `manifest`'s plugin gets.
pub fn context(
    name: &Arc<str>,
    kv: &Arc<KvCache>,
    log: &Arc<LogBudget>,
    manifest: &Manifest,
) -> InstanceContext {
    InstanceContext {
        plugin: name.clone(),
        kv: kv.clone(),
        settings: Arc::from(manifest.settings.to_string()),
        log: log.clone(),
        deadline: manifest.deadline,
        memory_bytes: manifest.memory_bytes,
        instances: manifest.instances,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_quotes_the_guests_last_output_once() {
        let tail = vec!["starting".to_owned(), "panicked at boom".to_owned()];
        let m = with_stderr("trapped: unreachable (panicked at boom)".into(), &tail);
        assert_eq!(
            m,
            "trapped: unreachable (panicked at boom); its last output: starting"
        );
        assert_eq!(with_stderr("x".into(), &[]), "x");
    }

    #[test]
    fn busy_tells_how_long_the_current_call_may_still_take() {
        let busy = Busy {
            since_us: AtomicU64::new(0),
            deadline_ms: AtomicU64::new(50),
        };
        assert_eq!(busy.remaining(), Duration::ZERO);
        busy.start();
        let left = busy.remaining();
        assert!(left > Duration::from_millis(40) && left <= Duration::from_millis(50));
        busy.end();
        assert_eq!(busy.remaining(), Duration::ZERO);
    }
}
