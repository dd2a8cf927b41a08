//! WebAssembly plugins. Each job lives in its own module:
//!
//! - [`discovery`]: what the plugins folder holds, read safely;
//! - [`manifest`]: `plugin.toml` (who a plugin is, what it asks for);
//! - [`runtime`]: wasmtime (engine, sandbox, verified compile cache);
//! - [`worker`]: one thread per plugin running its instance;
//! - [`lifecycle`]: load, swap, park and unload versions;
//! - [`routing`]: events, formats and renders to the plugins that want them;
//! - [`admin`]: what the streamer changes (grants, settings, on/off);
//! - [`install`]: installing, updating and removing plugins from a file;
//! - [`preview`]: alerts for sample events with unsaved settings;
//! - [`quotas`]: every limit on what a plugin produces and keeps.
//!
//! [`PluginHost`] ties them together. Its shared state is a map of entries
//! behind a lock that is never held across an await or a plugin call, the
//! routing table (swapped whole), and one lifecycle lock per plugin, so a
//! plugin that is slow to compile or start never holds up another, the
//! event path or the API.

pub mod admin;
pub mod checks;
pub mod convert;
pub mod discovery;
pub mod inspect;
pub mod install;
pub mod lifecycle;
pub mod manifest;
pub mod package;
pub mod preview;
pub mod priority;
pub mod quotas;
pub mod routing;
pub mod runtime;
pub mod scaffold;
pub mod settings_schema;
pub mod watcher;
pub mod worker;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::mpsc;

use crate::live::{LiveFeed, LiveMessage};
use crate::store::Store;
use quotas::LogBudget;
use routing::Routes;
use runtime::{KvCache, Runtime};
use worker::{ActionBatch, Limits, OnStatus, SharedStatus, State, Status, Version, WorkerHandle};

pub use admin::{PluginSettings, SettingsError};

/// The plugin registry. Cloning is cheap.
#[derive(Clone)]
pub struct PluginHost {
    inner: Arc<Inner>,
}

struct Inner {
    runtime: Arc<Runtime>,
    store: Store,
    dir: PathBuf,
    feed: LiveFeed,
    actions: mpsc::Sender<ActionBatch>,
    config_grants: BTreeMap<String, BTreeSet<String>>,
    entries: Mutex<BTreeMap<String, Entry>>,
    routes: RwLock<Arc<Routes>>,
    /// Set once the first scan of the folder has finished.
    loaded: AtomicBool,
    /// Uploaded plugins waiting for the streamer to confirm the install.
    staged: install::Staging,
}

/// One plugin (or one refused source) as the registry knows it.
struct Entry {
    status: SharedStatus,
    /// Where it is loaded from.
    path: PathBuf,
    /// Fingerprint of the version running (or waiting for a grant).
    fingerprint: Option<String>,
    /// Fingerprint of the last files that failed to load, so a broken file
    /// is reported once rather than at every scan.
    failed: Option<String>,
    worker: Option<WorkerHandle>,
    version: Option<Arc<Version>>,
    /// Its key-value data, once loaded from the store.
    kv: Option<Arc<KvCache>>,
    /// Its log rate, shared by its instances and versions.
    log: Arc<LogBudget>,
    /// Held while this plugin is loaded, swapped or unloaded: one change
    /// at a time per plugin, never across plugins.
    lifecycle: Arc<tokio::sync::Mutex<()>>,
    /// A source refused because another holds its name.
    refused: bool,
}

impl Entry {
    /// A plugin seen for the first time: nothing running yet.
    fn new(name: &str, path: &Path) -> Entry {
        Entry {
            status: Arc::new(Mutex::new(blank_status(name, path))),
            path: path.to_path_buf(),
            fingerprint: None,
            failed: None,
            worker: None,
            version: None,
            kv: None,
            log: Arc::new(LogBudget::default()),
            lifecycle: Arc::new(tokio::sync::Mutex::new(())),
            refused: false,
        }
    }
}

impl PluginHost {
    /// A registry for the plugins in `dir`; actions go to `actions`.
    /// Nothing is loaded until [`PluginHost::rescan`].
    pub fn new(
        runtime: Arc<Runtime>,
        store: Store,
        dir: PathBuf,
        feed: LiveFeed,
        actions: mpsc::Sender<ActionBatch>,
        config_grants: BTreeMap<String, BTreeSet<String>>,
    ) -> PluginHost {
        PluginHost {
            inner: Arc::new(Inner {
                runtime,
                store,
                dir,
                feed,
                actions,
                config_grants,
                entries: Mutex::new(BTreeMap::new()),
                routes: RwLock::new(Arc::new(Routes::default())),
                loaded: AtomicBool::new(false),
                staged: install::Staging::default(),
            }),
        }
    }

    /// The plugins folder.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Whether the first scan of the plugins folder has finished (every
    /// plugin found then is running, failed or waiting for a grant).
    pub fn loaded(&self) -> bool {
        self.inner.loaded.load(Ordering::Acquire)
    }

    /// Every plugin's status.
    pub fn list(&self) -> Vec<Status> {
        self.entries()
            .values()
            .map(|e| e.status.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .collect()
    }

    /// One plugin's status.
    pub fn status(&self, name: &str) -> Option<Status> {
        self.entries()
            .get(name)
            .map(|e| e.status.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    /// Records a problem with what a plugin did (shown as its last error).
    pub fn report(&self, name: &str, message: String) {
        let status = self.entries().get(name).map(|e| e.status.clone());
        if let Some(status) = status {
            self.set_status(&status, |s| {
                s.last_error = Some(quotas::truncate(&message, quotas::MAX_ERROR))
            });
        }
    }

    /// The hosts whose media the running plugins may show (each granted as
    /// `media:<host>`): the executor checks alerts against it and the
    /// overlay's Content-Security-Policy lists it.
    pub fn media_hosts(&self) -> BTreeSet<String> {
        self.entries()
            .values()
            .filter(|e| e.worker.is_some())
            .filter_map(|e| e.version.as_ref())
            .flat_map(|v| v.manifest.media_hosts().map(str::to_owned))
            .collect()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry>> {
        self.inner.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_status(&self, status: &SharedStatus, f: impl FnOnce(&mut Status)) {
        let snapshot = {
            let mut s = status.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut s);
            s.clone()
        };
        (self.status_publisher())(&snapshot);
    }

    fn status_publisher(&self) -> OnStatus {
        let feed = self.inner.feed.clone();
        Arc::new(move |_status: &Status| feed.publish(LiveMessage::PluginsChanged))
    }
}

fn blank_status(name: &str, path: &Path) -> Status {
    Status {
        name: name.to_owned(),
        version: String::new(),
        state: State::Compiling,
        last_error: None,
        faults: 0,
        total_faults: 0,
        calls: 0,
        reloads: 0,
        missed: 0,
        missed_while_compiling: 0,
        recycles: 0,
        kinds: Vec::new(),
        roles: Vec::new(),
        contract: "",
        warnings: Vec::new(),
        requested_permissions: Vec::new(),
        granted_permissions: Vec::new(),
        limits: Limits::default(),
        path: path.display().to_string(),
        description: None,
        enabled: true,
        settings_overridden: false,
    }
}
