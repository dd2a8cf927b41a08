//! One thread per plugin owns its long-lived instance and takes work from a
//! queue, so a plugin sees events one at a time and in order, and a version
//! swap queued between two events takes effect exactly between them. A fault
//! (trap, overrun, panic) costs only this plugin: the instance is rebuilt,
//! and after [`QUARANTINE_AFTER`] faults in a row the plugin is quarantined.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use super::convert;
use super::manifest::{Manifest, Permission};
use super::runtime::{Compiled, Instance, InstanceContext, KvCache, Runtime, wit};
use crate::store::events::StoredEvent;
use crate::store::{self, Store};

/// Faults in a row that quarantine a plugin.
pub const QUARANTINE_AFTER: u32 = 5;

/// A loaded plugin version.
pub struct Version {
    pub manifest: Manifest,
    pub compiled: Compiled,
    pub info: wit::Info,
    /// Hash of the manifest and the wasm: a change means a new version.
    pub fingerprint: String,
}

/// Where a plugin stands, as `/api/plugins` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Running,
    /// Asks for permissions the streamer has not granted yet.
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
    pub kinds: Vec<String>,
    pub roles: Vec<&'static str>,
    pub requested_permissions: Vec<String>,
    pub granted_permissions: Vec<String>,
    pub path: String,
    /// The manifest's one-line description, for the dashboard.
    pub description: Option<String>,
    /// False once the streamer disabled it.
    pub enabled: bool,
    /// Whether it runs with settings set from the dashboard rather than its
    /// manifest's `[settings]`.
    pub settings_overridden: bool,
}

/// Shared, updated by the worker and the registry.
pub type SharedStatus = Arc<Mutex<Status>>;

/// What the worker sends out: a plugin's actions for an event.
pub struct ActionBatch {
    pub plugin: Arc<str>,
    /// What the manifest declared (and the streamer granted).
    pub permissions: Arc<BTreeSet<Permission>>,
    pub event: Arc<StoredEvent>,
    pub actions: Vec<wit::Action>,
}

/// Work for a plugin.
pub enum Job {
    /// Display for each event (formatter role).
    Format {
        events: Arc<Vec<wit::Event>>,
        reply: oneshot::Sender<Vec<Option<wit::Display>>>,
    },
    /// Actions for a stored event.
    Event(Arc<StoredEvent>),
    /// Restyle an alert (renderer role).
    Render {
        alert: Box<wit::Alert>,
        reply: oneshot::Sender<Option<wit::Alert>>,
    },
    /// Replace the running version with this one, keeping queue order.
    Swap(Box<Swap>),
    /// Leave quarantine and start from a fresh instance.
    Reset,
    /// Finish queued work, save, and stop; `done` hears when it has.
    Stop(Option<oneshot::Sender<()>>),
}

/// A new version with an instance already created and initialised.
pub struct Swap {
    pub version: Arc<Version>,
    pub instance: Instance,
    pub permissions: Arc<BTreeSet<Permission>>,
    pub done: Option<oneshot::Sender<()>>,
}

/// The queue end the registry keeps.
#[derive(Clone)]
pub struct WorkerHandle {
    pub tx: mpsc::Sender<Job>,
}

struct Worker {
    name: Arc<str>,
    runtime: Arc<Runtime>,
    store: Store,
    kv: Arc<KvCache>,
    version: Arc<Version>,
    permissions: Arc<BTreeSet<Permission>>,
    instance: Option<Instance>,
    status: SharedStatus,
    actions: mpsc::Sender<ActionBatch>,
    on_status: Arc<dyn Fn(&Status) + Send + Sync>,
}

/// Everything a worker needs to start.
pub struct Start {
    pub name: Arc<str>,
    pub runtime: Arc<Runtime>,
    pub store: Store,
    pub kv: Arc<KvCache>,
    pub version: Arc<Version>,
    pub instance: Instance,
    pub permissions: Arc<BTreeSet<Permission>>,
    pub status: SharedStatus,
    pub actions: mpsc::Sender<ActionBatch>,
    pub on_status: Arc<dyn Fn(&Status) + Send + Sync>,
    pub queue: usize,
}

/// Starts the worker thread.
pub fn spawn(start: Start) -> std::io::Result<WorkerHandle> {
    let (tx, rx) = mpsc::channel(start.queue.max(1));
    let worker = Worker {
        name: start.name.clone(),
        runtime: start.runtime,
        store: start.store,
        kv: start.kv,
        version: start.version,
        permissions: start.permissions,
        instance: Some(start.instance),
        status: start.status,
        actions: start.actions,
        on_status: start.on_status,
    };
    std::thread::Builder::new()
        .name(format!("plugin-{}", start.name))
        .spawn(move || worker.run(rx))?;
    Ok(WorkerHandle { tx })
}

impl Worker {
    fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        let mut stopped = None;
        while let Some(job) = rx.blocking_recv() {
            match job {
                Job::Stop(done) => {
                    stopped = done;
                    break;
                }
                Job::Event(event) => self.on_event(event),
                Job::Format { events, reply } => {
                    let out = events
                        .iter()
                        .map(|e| self.call(|i| i.format(e)).flatten())
                        .collect();
                    let _ = reply.send(out);
                }
                Job::Render { alert, reply } => {
                    let _ = reply.send(self.call(|i| i.render(&alert)).flatten());
                }
                Job::Swap(swap) => self.swap(*swap),
                Job::Reset => self.reset(),
            }
            self.flush_kv();
        }
        self.flush_kv();
        tracing::debug!(plugin = &*self.name, "plugin worker stopped");
        if let Some(done) = stopped {
            let _ = done.send(());
        }
    }

    fn on_event(&mut self, event: Arc<StoredEvent>) {
        let wit_event = convert::event_to_wit(&event.event);
        match self.call(|i| i.on_event(&wit_event)) {
            Some(Ok(actions)) if !actions.is_empty() => {
                let batch = ActionBatch {
                    plugin: self.name.clone(),
                    permissions: self.permissions.clone(),
                    event,
                    actions,
                };
                if self.actions.blocking_send(batch).is_err() {
                    tracing::warn!(
                        plugin = &*self.name,
                        "action executor stopped; actions dropped"
                    );
                }
            }
            Some(Ok(_)) | None => {}
            Some(Err(message)) => {
                tracing::warn!(plugin = &*self.name, event_id = %event.event.id, "on-event returned an error: {message}");
                self.update(|s| s.last_error = Some(format!("on-event: {message}")));
            }
        }
    }

    /// Runs `f` on the instance (rebuilding it first if a fault dropped it);
    /// None when quarantined or when the call faulted.
    fn call<T>(
        &mut self,
        f: impl FnOnce(&mut Instance) -> Result<T, super::runtime::Fault>,
    ) -> Option<T> {
        if self.status().state != State::Running {
            return None;
        }
        if self.instance.is_none() {
            match self.instantiate() {
                Ok(i) => self.instance = Some(i),
                Err(fault) => {
                    self.fault(fault.0);
                    return None;
                }
            }
        }
        let instance = self.instance.as_mut()?;
        match f(instance) {
            Ok(value) => {
                self.update(|s| {
                    s.calls += 1;
                    s.faults = 0;
                });
                Some(value)
            }
            Err(fault) => {
                // The instance is unusable after a trap: drop it.
                self.instance = None;
                self.fault(fault.0);
                None
            }
        }
    }

    fn instantiate(&self) -> Result<Instance, super::runtime::Fault> {
        let mut instance = self.runtime.instantiate(
            &self.version.compiled,
            context(&self.name, &self.kv, &self.version.manifest),
        )?;
        let settings = self.version.manifest.settings.to_string();
        match instance.init(&settings)? {
            Ok(()) => Ok(instance),
            Err(message) => Err(super::runtime::Fault(format!("init failed: {message}"))),
        }
    }

    fn fault(&mut self, message: String) {
        tracing::warn!(plugin = &*self.name, "plugin fault: {message}");
        let quarantined = self.update(|s| {
            s.faults += 1;
            s.total_faults += 1;
            s.last_error = Some(message.clone());
            if s.faults >= QUARANTINE_AFTER {
                s.state = State::Quarantined;
            }
            s.state == State::Quarantined
        });
        if quarantined {
            self.instance = None;
            tracing::error!(
                plugin = &*self.name,
                "plugin quarantined after {QUARANTINE_AFTER} faults in a row; replace its file or reset it"
            );
        }
    }

    fn swap(&mut self, swap: Swap) {
        self.flush_kv();
        self.version = swap.version;
        self.permissions = swap.permissions;
        self.instance = Some(swap.instance);
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

    fn status(&self) -> Status {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn update<T>(&self, f: impl FnOnce(&mut Status) -> T) -> T {
        let (out, snapshot, changed) = {
            let mut s = self.status.lock().unwrap_or_else(|p| p.into_inner());
            let before = (s.state, s.last_error.clone(), s.version.clone());
            let out = f(&mut s);
            let changed = before != (s.state, s.last_error.clone(), s.version.clone());
            (out, changed.then(|| s.clone()), changed)
        };
        if changed && let Some(snapshot) = snapshot {
            (self.on_status)(&snapshot);
        }
        out
    }
}

/// What a new instance of `manifest`'s plugin gets.
pub fn context(name: &Arc<str>, kv: &Arc<KvCache>, manifest: &Manifest) -> InstanceContext {
    InstanceContext {
        plugin: name.clone(),
        kv: kv.clone(),
        settings: Arc::from(manifest.settings.to_string()),
        deadline: manifest.deadline,
        memory_bytes: manifest.memory_bytes,
    }
}
