//! WebAssembly plugins: discovery in the plugins folder, loading (compile
//! off the event path, probe, permission check), hot reload, and routing of
//! events to the plugins that asked for their kind.
//!
//! A plugin is a folder holding `plugin.toml` and its `.wasm`, or a bare
//! `.wasm` file (default manifest). Each runs on its own worker thread
//! ([`worker`]); the registry here only decides what runs and routes work.
//!
//! The streamer can disable a plugin and replace its `[settings]` from the
//! dashboard without editing files; both are kept in `plugin_config` and
//! survive restarts and reloads.

pub mod convert;
pub mod manifest;
pub mod runtime;
pub mod scaffold;
pub mod watcher;
pub mod worker;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

use crate::event::Event;
use crate::live::{LiveFeed, LiveMessage};
use crate::store::events::StoredEvent;
use crate::store::{self, Store};
use manifest::Permission;
use runtime::{KvCache, LoadError, Runtime, wit};
use worker::{ActionBatch, Job, SharedStatus, State, Status, Swap, Version, WorkerHandle};

/// How long the pipeline waits for a formatter before storing without display.
const FORMAT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long an alert waits for a renderer.
const RENDER_TIMEOUT: Duration = Duration::from_secs(1);
/// Jobs that may wait for one plugin before the pipeline slows down.
const WORKER_QUEUE: usize = 4096;

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
    rescan: tokio::sync::Mutex<()>,
}

struct Entry {
    status: SharedStatus,
    /// Fingerprint of the version running (or waiting for a grant).
    fingerprint: Option<String>,
    /// Fingerprint of the last file that failed to load, so a broken file is
    /// reported once rather than at every scan.
    failed: Option<String>,
    worker: Option<WorkerHandle>,
    version: Option<Arc<Version>>,
    /// The plugin's key-value data, once loaded from the store (a plugin
    /// that never loaded has none yet, and gets its stored data when it
    /// does).
    kv: Option<Arc<KvCache>>,
}

impl Entry {
    /// A plugin seen for the first time: nothing running yet.
    fn new(name: &str, path: &Path, kv: Option<Arc<KvCache>>) -> Entry {
        Entry {
            status: Arc::new(Mutex::new(blank_status(name, path))),
            fingerprint: None,
            failed: None,
            worker: None,
            version: None,
            kv,
        }
    }
}

#[derive(Default)]
struct Routes {
    formatters: Vec<Route>,
    actions: Vec<Route>,
    renderers: Vec<Route>,
}

struct Route {
    kinds: Kinds,
    worker: WorkerHandle,
}

#[derive(Clone)]
enum Kinds {
    All,
    Some(BTreeSet<String>),
}

impl Kinds {
    fn of(info: &wit::Info) -> Kinds {
        if info.kinds.iter().any(|k| k == "*") {
            Kinds::All
        } else {
            Kinds::Some(info.kinds.iter().cloned().collect())
        }
    }
    fn wants(&self, kind: &str) -> bool {
        match self {
            Kinds::All => true,
            Kinds::Some(kinds) => kinds.contains(kind),
        }
    }
}

/// A version ready to run, with its first instance and its storage.
struct Prepared {
    version: Arc<Version>,
    instance: runtime::Instance,
    kv: Arc<KvCache>,
    /// Whether it runs with the streamer's settings instead of the manifest's.
    settings_overridden: bool,
}

/// A plugin's settings as the dashboard edits them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PluginSettings {
    /// What the plugin runs with: the streamer's, else the manifest's.
    pub settings: Value,
    /// The `[settings]` of its `plugin.toml`.
    pub defaults: Value,
    /// Whether the streamer's settings replace the manifest's.
    pub overridden: bool,
}

/// Why settings could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The plugin would not start with the new settings (its `init` refused
    /// them, or the plugin cannot load at all); nothing was changed.
    #[error("{0}")]
    Refused(String),
    /// The plugin's files could not be read.
    #[error("cannot read the plugin: {0}")]
    Unreadable(String),
    /// The change could not be stored.
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

/// One thing found in the plugins folder.
struct Candidate {
    name: String,
    /// The folder, or the bare `.wasm` file.
    path: PathBuf,
    manifest_text: Option<String>,
    wasm_path: Result<PathBuf, String>,
}

impl PluginHost {
    /// A registry for the plugins in `dir`; actions go to `actions`.
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
                rescan: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The plugins folder.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Brings the running plugins in line with the folder: loads new ones,
    /// swaps changed ones, unloads removed ones. One scan at a time.
    pub async fn rescan(&self) {
        let _one_at_a_time = self.inner.rescan.lock().await;
        let dir = self.inner.dir.clone();
        let candidates = match tokio::task::spawn_blocking(move || discover(&dir)).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                tracing::error!(dir = %self.inner.dir.display(), error = %e, "cannot read the plugins folder");
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, "plugin scan task failed");
                return;
            }
        };
        let present: BTreeSet<String> = candidates.iter().map(|c| c.name.clone()).collect();
        for candidate in candidates {
            self.load(candidate).await;
        }
        let removed: Vec<String> = self
            .entries()
            .keys()
            .filter(|name| !present.contains(*name))
            .cloned()
            .collect();
        for name in removed {
            self.unload(&name).await;
        }
        self.rebuild_routes();
    }

    async fn load(&self, candidate: Candidate) {
        let name = candidate.name.clone();
        let config = self.config_of(&name).await;
        if !config.enabled {
            return self
                .park_disabled(&name, &candidate, config.settings.is_some())
                .await;
        }
        let files = tokio::task::spawn_blocking(move || read_candidate(candidate)).await;
        let (manifest_text, wasm, path) = match files {
            Ok(Ok(files)) => files,
            Ok(Err((path, e))) => return self.load_failed(&name, &path, None, e),
            Err(e) => {
                return self.load_failed(&name, Path::new(""), None, LoadError(e.to_string()));
            }
        };
        let fingerprint = fingerprint(manifest_text.as_deref(), &wasm, config.settings.as_ref());
        {
            let entries = self.entries();
            if let Some(entry) = entries.get(&name)
                && (entry.fingerprint.as_deref() == Some(&fingerprint)
                    || entry.failed.as_deref() == Some(&fingerprint))
            {
                return;
            }
        }
        match self
            .prepare(
                &name,
                manifest_text.as_deref(),
                wasm,
                fingerprint.clone(),
                config.settings,
            )
            .await
        {
            Ok(version) => self.install(&name, &path, version).await,
            Err(e) => self.load_failed(&name, &path, Some(fingerprint), e),
        }
    }

    /// What the streamer set for `name` (enabled with the manifest's
    /// settings if it cannot be read: a plugin is not silently disabled).
    async fn config_of(&self, name: &str) -> store::plugins::PluginConfig {
        let plugin = name.to_owned();
        self.inner
            .store
            .read(move |c| store::plugins::config(c, &plugin))
            .await
            .unwrap_or_else(|e| {
                tracing::error!(plugin = name, error = %e, "cannot read the plugin's dashboard settings; using its manifest's");
                Default::default()
            })
    }

    /// Stops a disabled plugin (if it runs) and shows it as disabled, with
    /// what its manifest says about it; nothing is compiled.
    async fn park_disabled(&self, name: &str, candidate: &Candidate, overridden: bool) {
        let manifest = candidate
            .manifest_text
            .as_deref()
            .and_then(|t| manifest::parse(t).ok());
        let (old, status) = {
            let mut entries = self.entries();
            let entry = entries
                .entry(name.to_owned())
                .or_insert_with(|| Entry::new(name, &candidate.path, None));
            entry.fingerprint = None;
            entry.failed = None;
            (entry.worker.take(), entry.status.clone())
        };
        let was_running = old.is_some();
        if let Some(old) = old {
            // Queued events are finished first, as for an unload.
            let _ = old.tx.send(Job::Stop(None)).await;
        }
        let unchanged = {
            let s = status.lock().unwrap_or_else(|p| p.into_inner());
            s.state == State::Disabled && s.settings_overridden == overridden
        };
        if unchanged && !was_running {
            return;
        }
        self.set_status(&status, |s| {
            s.state = State::Disabled;
            s.enabled = false;
            s.last_error = None;
            s.faults = 0;
            s.settings_overridden = overridden;
            s.path = candidate.path.display().to_string();
            if let Some(m) = &manifest {
                s.version = m.version.clone();
                s.description = m.description.clone();
            }
        });
        if was_running {
            tracing::info!(plugin = name, "plugin disabled");
        }
    }

    /// Parses, compiles (off the async runtime) and probes a version.
    async fn prepare(
        &self,
        name: &str,
        manifest_text: Option<&str>,
        wasm: Vec<u8>,
        fingerprint: String,
        settings: Option<Value>,
    ) -> Result<Prepared, LoadError> {
        let mut manifest = match manifest_text {
            Some(text) => {
                let m =
                    manifest::parse(text).map_err(|e| LoadError(format!("plugin.toml: {e}")))?;
                if m.name != name {
                    return Err(LoadError(format!(
                        "plugin.toml names the plugin {:?} but its folder is {name:?}",
                        m.name
                    )));
                }
                m
            }
            None => manifest::for_bare_wasm(name),
        };
        let settings_overridden = settings.is_some();
        if let Some(settings) = settings {
            manifest.settings = settings;
        }
        let runtime = self.inner.runtime.clone();
        let kv = self.kv_for(name).await;
        let plugin: Arc<str> = Arc::from(name);
        let instance_kv = kv.clone();
        let (version, instance) = tokio::task::spawn_blocking(move || {
            let kv = instance_kv;
            let compiled = runtime.compile(&wasm)?;
            let mut instance = runtime
                .instantiate(&compiled, worker::context(&plugin, &kv, &manifest))
                .map_err(|f| LoadError(format!("cannot start: {f}")))?;
            let info = instance
                .describe()
                .map_err(|f| LoadError(format!("describe failed: {f}")))?;
            match instance.init(&manifest.settings.to_string()) {
                Ok(Ok(())) => {}
                Ok(Err(message)) => {
                    return Err(LoadError(format!("init refused its settings: {message}")));
                }
                Err(f) => return Err(LoadError(format!("init failed: {f}"))),
            }
            let mut manifest = manifest;
            if manifest.version == "0" {
                manifest.version = info.version.clone();
            }
            Ok((
                Arc::new(Version {
                    manifest,
                    compiled,
                    info,
                    fingerprint,
                }),
                instance,
            ))
        })
        .await
        .map_err(|e| LoadError(format!("loading task failed: {e}")))??;
        Ok(Prepared {
            version,
            instance,
            kv,
            settings_overridden,
        })
    }

    async fn kv_for(&self, name: &str) -> Arc<KvCache> {
        if let Some(kv) = self.entries().get(name).and_then(|e| e.kv.clone()) {
            return kv;
        }
        let plugin = name.to_owned();
        let values = self
            .inner
            .store
            .read(move |c| store::plugins::kv_load(c, &plugin))
            .await
            .unwrap_or_else(|e| {
                tracing::error!(plugin = name, error = %e, "cannot load plugin key-value data");
                Default::default()
            });
        Arc::new(KvCache::new(values))
    }

    async fn granted(&self, name: &str) -> BTreeSet<String> {
        let plugin = name.to_owned();
        let mut granted = self
            .inner
            .store
            .read(move |c| store::plugins::granted(c, &plugin))
            .await
            .unwrap_or_default();
        if let Some(extra) = self.inner.config_grants.get(name) {
            granted.extend(extra.iter().cloned());
        }
        granted
    }

    /// Starts or swaps in a prepared version, or parks it until granted.
    async fn install(&self, name: &str, path: &Path, prepared: Prepared) {
        let Prepared {
            version,
            instance,
            kv,
            settings_overridden,
        } = prepared;
        let requested: Vec<String> = version
            .manifest
            .permissions
            .iter()
            .map(Permission::key)
            .collect();
        let granted = self.granted(name).await;
        let missing: Vec<&String> = requested.iter().filter(|p| !granted.contains(*p)).collect();
        let status = self.status_entry(
            name,
            path,
            &version,
            (&requested, &granted),
            settings_overridden,
            kv.clone(),
        );

        if !missing.is_empty() {
            tracing::warn!(
                plugin = name,
                ?missing,
                "plugin asks for permissions not granted yet; it waits for the streamer's grant"
            );
            let old = {
                let mut entries = self.entries();
                let entry = entries.get_mut(name).expect("status_entry made it");
                entry.fingerprint = Some(version.fingerprint.clone());
                entry.failed = None;
                entry.version = Some(version.clone());
                entry.worker.take()
            };
            if let Some(old) = old {
                let _ = old.tx.send(Job::Stop(None)).await;
            }
            self.set_status(&status, |s| {
                s.state = State::PendingGrant;
                s.last_error = Some(format!(
                    "waiting for the streamer to grant: {}",
                    missing
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            });
            return;
        }

        let permissions = Arc::new(version.manifest.permissions.clone());
        let existing = self.entries().get(name).and_then(|e| e.worker.clone());
        match existing {
            Some(worker) => {
                let (done, swapped) = oneshot::channel();
                let swap = Swap {
                    version: version.clone(),
                    instance,
                    permissions,
                    done: Some(done),
                };
                if worker.tx.send(Job::Swap(Box::new(swap))).await.is_ok() {
                    let _ = swapped.await;
                }
            }
            None => {
                self.set_status(&status, |s| {
                    s.state = State::Running;
                    s.last_error = None;
                    s.faults = 0;
                });
                let start = worker::Start {
                    name: Arc::from(name),
                    runtime: self.inner.runtime.clone(),
                    store: self.inner.store.clone(),
                    kv,
                    version: version.clone(),
                    instance,
                    permissions,
                    status: status.clone(),
                    actions: self.inner.actions.clone(),
                    on_status: self.status_publisher(),
                    queue: WORKER_QUEUE,
                };
                match worker::spawn(start) {
                    Ok(handle) => {
                        if let Some(e) = self.entries().get_mut(name) {
                            e.worker = Some(handle);
                        }
                        tracing::info!(plugin = name, version = %version.manifest.version, "plugin loaded");
                    }
                    Err(e) => {
                        self.set_status(&status, |s| {
                            s.state = State::Failed;
                            s.last_error = Some(format!("cannot start its thread: {e}"));
                        });
                    }
                }
            }
        }
        if let Some(e) = self.entries().get_mut(name) {
            e.fingerprint = Some(version.fingerprint.clone());
            e.failed = None;
            e.version = Some(version);
        }
    }

    /// Creates or refreshes the status of a plugin about to run.
    fn status_entry(
        &self,
        name: &str,
        path: &Path,
        version: &Version,
        (requested, granted): (&[String], &BTreeSet<String>),
        settings_overridden: bool,
        kv: Arc<KvCache>,
    ) -> SharedStatus {
        let mut entries = self.entries();
        let entry = entries
            .entry(name.to_owned())
            .or_insert_with(|| Entry::new(name, path, None));
        entry.kv.get_or_insert(kv);
        {
            let mut s = entry.status.lock().unwrap_or_else(|p| p.into_inner());
            if entry.worker.is_none() {
                s.version = version.manifest.version.clone();
                s.kinds = version.info.kinds.clone();
                s.roles = version
                    .info
                    .roles
                    .iter()
                    .map(|r| convert::role_name(*r))
                    .collect();
            }
            s.path = path.display().to_string();
            s.description = version.manifest.description.clone();
            s.enabled = true;
            s.settings_overridden = settings_overridden;
            s.requested_permissions = requested.to_vec();
            s.granted_permissions = requested
                .iter()
                .filter(|p| granted.contains(*p))
                .cloned()
                .collect();
        }
        entry.status.clone()
    }

    fn load_failed(&self, name: &str, path: &Path, fingerprint: Option<String>, error: LoadError) {
        let running = {
            let mut entries = self.entries();
            let entry = entries
                .entry(name.to_owned())
                .or_insert_with(|| Entry::new(name, path, None));
            entry.failed = fingerprint;
            let running = entry.worker.is_some();
            let status = entry.status.clone();
            drop(entries);
            self.set_status(&status, |s| {
                if !running {
                    s.state = State::Failed;
                }
                s.last_error = Some(if running {
                    format!("reload failed, the previous version keeps running: {error}")
                } else {
                    format!("cannot load: {error}")
                });
            });
            running
        };
        if running {
            tracing::error!(plugin = name, path = %path.display(), "plugin reload failed; the previous version keeps running: {error}");
        } else {
            tracing::error!(plugin = name, path = %path.display(), "cannot load plugin: {error}");
        }
    }

    async fn unload(&self, name: &str) {
        let entry = self.entries().remove(name);
        if let Some(entry) = entry {
            if let Some(worker) = entry.worker {
                // Queued events are finished first; the instance lives until then.
                let _ = worker.tx.send(Job::Stop(None)).await;
            }
            tracing::info!(plugin = name, "plugin unloaded");
            self.inner.feed.publish(LiveMessage::PluginsChanged);
        }
    }

    fn rebuild_routes(&self) {
        let mut routes = Routes::default();
        for entry in self.entries().values() {
            let (Some(worker), Some(version)) = (&entry.worker, &entry.version) else {
                continue;
            };
            let kinds = Kinds::of(&version.info);
            for role in &version.info.roles {
                let route = Route {
                    kinds: kinds.clone(),
                    worker: worker.clone(),
                };
                match role {
                    wit::Role::Formatter => routes.formatters.push(route),
                    wit::Role::Actions => routes.actions.push(route),
                    wit::Role::Renderer => routes.renderers.push(route),
                }
            }
        }
        *self.inner.routes.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(routes);
    }

    fn routes(&self) -> Arc<Routes> {
        self.inner
            .routes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Displays for `events` from the formatter plugins (the first formatter,
    /// by name, that gives one wins).
    pub async fn format(&self, events: &[Event]) -> Vec<Option<Value>> {
        let mut out = vec![None; events.len()];
        let routes = self.routes();
        for route in &routes.formatters {
            let wanted: Vec<usize> = (0..events.len())
                .filter(|&i| out[i].is_none() && route.kinds.wants(events[i].kind.as_str()))
                .collect();
            if wanted.is_empty() {
                continue;
            }
            let batch = Arc::new(
                wanted
                    .iter()
                    .map(|&i| convert::event_to_wit(&events[i]))
                    .collect(),
            );
            let (reply, rx) = oneshot::channel();
            if route
                .worker
                .tx
                .send(Job::Format {
                    events: batch,
                    reply,
                })
                .await
                .is_err()
            {
                continue;
            }
            if let Ok(Ok(displays)) = tokio::time::timeout(FORMAT_TIMEOUT, rx).await {
                for (i, display) in wanted.into_iter().zip(displays) {
                    out[i] = display.as_ref().map(convert::display_to_json);
                }
            }
        }
        out
    }

    /// Queues a stored event for every action plugin that wants its kind;
    /// returns how many took it (the dashboard's replay reports it).
    pub async fn dispatch(&self, event: &Arc<StoredEvent>) -> usize {
        let routes = self.routes();
        let mut queued = 0;
        for route in routes
            .actions
            .iter()
            .filter(|r| r.kinds.wants(event.event.kind.as_str()))
        {
            if route
                .worker
                .tx
                .send(Job::Event(event.clone()))
                .await
                .is_ok()
            {
                queued += 1;
            }
        }
        queued
    }

    /// Lets every renderer plugin restyle `alert`, in name order.
    pub async fn render(&self, mut alert: wit::Alert) -> wit::Alert {
        let routes = self.routes();
        for route in &routes.renderers {
            let (reply, rx) = oneshot::channel();
            let job = Job::Render {
                alert: Box::new(alert.clone()),
                reply,
            };
            // Never wait for queue space: a renderer that also has events
            // queued may itself be waiting for the executor, which is us.
            if let Err(e) = route.worker.tx.try_send(job) {
                tracing::warn!(error = %e, "a renderer plugin is busy; alert shown without it");
                continue;
            }
            if let Ok(Ok(Some(restyled))) = tokio::time::timeout(RENDER_TIMEOUT, rx).await {
                alert = restyled;
            }
        }
        alert
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

    /// Grants everything the plugin's manifest asks for and starts it if it
    /// was waiting. None if there is no such plugin.
    pub async fn grant(&self, name: &str) -> Result<Option<Status>, store::StoreError> {
        let Some((requested, fingerprint)) = self.entries().get(name).map(|e| {
            let requested: Vec<String> = e
                .version
                .as_ref()
                .map(|v| v.manifest.permissions.iter().map(Permission::key).collect())
                .unwrap_or_default();
            (requested, e.fingerprint.clone())
        }) else {
            return Ok(None);
        };
        let plugin = name.to_owned();
        let perms = requested.clone();
        self.inner
            .store
            .write(move |c| store::plugins::grant(c, &plugin, &perms, crate::event::now_ms()))
            .await?;
        tracing::info!(plugin = name, permissions = ?requested, "permissions granted");
        // Reload so the waiting version starts with its grant.
        if let Some(e) = self.entries().get_mut(name)
            && e.worker.is_none()
            && fingerprint.is_some()
        {
            e.fingerprint = None;
        }
        self.rescan().await;
        Ok(self.status(name))
    }

    /// Takes a plugin out of quarantine. None if there is no such plugin.
    pub async fn reset(&self, name: &str) -> Option<Status> {
        let worker = self.entries().get(name)?.worker.clone();
        if let Some(worker) = worker {
            let _ = worker.tx.send(Job::Reset).await;
        } else if let Some(e) = self.entries().get_mut(name) {
            // Not running (failed or waiting): try loading it again.
            e.failed = None;
            e.fingerprint = None;
        }
        self.rescan().await;
        self.status(name)
    }

    /// Loads the plugin again from its files even if they did not change:
    /// a running plugin swaps in a fresh instance between two events (its
    /// stored data is kept), a failed one gets another try. A disabled
    /// plugin stays disabled. None if there is no such plugin.
    pub async fn reload(&self, name: &str) -> Option<Status> {
        self.forget_version(name)?;
        self.rescan().await;
        self.status(name)
    }

    /// Enables or disables a plugin, remembered across restarts. A disabled
    /// plugin finishes the events already queued for it, then gets no
    /// more; enabling loads it again. None if there is no such plugin.
    pub async fn set_enabled(
        &self,
        name: &str,
        enabled: bool,
    ) -> Result<Option<Status>, store::StoreError> {
        if !self.entries().contains_key(name) {
            return Ok(None);
        }
        let plugin = name.to_owned();
        self.inner
            .store
            .write(move |c| {
                store::plugins::set_enabled(c, &plugin, enabled, crate::event::now_ms())
            })
            .await?;
        tracing::info!(plugin = name, enabled, "plugin enabled state changed");
        self.forget_version(name);
        self.rescan().await;
        Ok(self.status(name))
    }

    /// The plugin's settings: what it runs with and its manifest's
    /// defaults. None if there is no such plugin.
    pub async fn settings(&self, name: &str) -> Result<Option<PluginSettings>, SettingsError> {
        let Some(path) = self.status(name).map(|s| PathBuf::from(s.path)) else {
            return Ok(None);
        };
        let config = self.config_of(name).await;
        let plugin = name.to_owned();
        let manifest = tokio::task::spawn_blocking(move || read_manifest(&plugin, &path))
            .await
            .map_err(|e| SettingsError::Unreadable(e.to_string()))?
            .map_err(SettingsError::Unreadable)?;
        let defaults = manifest.settings;
        Ok(Some(PluginSettings {
            overridden: config.settings.is_some(),
            settings: config.settings.unwrap_or_else(|| defaults.clone()),
            defaults,
        }))
    }

    /// Replaces the plugin's settings (None: back to its manifest's). The
    /// plugin is started with them first, off to the side: if it refuses
    /// them, nothing changes and the refusal is the error; if it accepts,
    /// they are stored and that instance replaces the running one between
    /// two events. A disabled plugin keeps them for when it is enabled.
    /// None if there is no such plugin.
    pub async fn set_settings(
        &self,
        name: &str,
        settings: Option<Value>,
    ) -> Result<Option<Status>, SettingsError> {
        // No scan may swap versions while this one is tried and installed.
        let _one_at_a_time = self.inner.rescan.lock().await;
        if !self.entries().contains_key(name) {
            return Ok(None);
        }
        let dir = self.inner.dir.clone();
        let candidate = tokio::task::spawn_blocking(move || discover(&dir))
            .await
            .map_err(|e| SettingsError::Unreadable(e.to_string()))?
            .map_err(|e| SettingsError::Unreadable(e.to_string()))?
            .into_iter()
            .find(|c| c.name == name);
        let Some(candidate) = candidate else {
            return Ok(None);
        };
        let (manifest_text, wasm, path) =
            tokio::task::spawn_blocking(move || read_candidate(candidate))
                .await
                .map_err(|e| SettingsError::Unreadable(e.to_string()))?
                .map_err(|(_, e)| SettingsError::Refused(e.0))?;
        let fingerprint = fingerprint(manifest_text.as_deref(), &wasm, settings.as_ref());
        let prepared = self
            .prepare(
                name,
                manifest_text.as_deref(),
                wasm,
                fingerprint,
                settings.clone(),
            )
            .await
            .map_err(|e| SettingsError::Refused(e.0))?;
        let (plugin, stored) = (name.to_owned(), settings.clone());
        self.inner
            .store
            .write(move |c| {
                store::plugins::set_settings(c, &plugin, stored.as_ref(), crate::event::now_ms())
            })
            .await?;
        tracing::info!(
            plugin = name,
            overridden = settings.is_some(),
            "plugin settings changed"
        );
        if self.config_of(name).await.enabled {
            self.install(name, &path, prepared).await;
            self.rebuild_routes();
        } else if let Some(status) = self.entries().get(name).map(|e| e.status.clone()) {
            self.set_status(&status, |s| s.settings_overridden = settings.is_some());
        }
        Ok(self.status(name))
    }

    /// Makes the next scan load the plugin whatever its files' fingerprint.
    fn forget_version(&self, name: &str) -> Option<()> {
        let mut entries = self.entries();
        let entry = entries.get_mut(name)?;
        entry.fingerprint = None;
        entry.failed = None;
        Some(())
    }

    /// Records a problem with what a plugin did (shown as its last error).
    pub fn report(&self, name: &str, message: String) {
        let status = self.entries().get(name).map(|e| e.status.clone());
        if let Some(status) = status {
            self.set_status(&status, |s| s.last_error = Some(message));
        }
    }

    /// Stops every worker after its queued work and waits until each has
    /// saved its key-value data.
    pub async fn shutdown(&self) {
        let workers: Vec<WorkerHandle> = self
            .entries()
            .values_mut()
            .filter_map(|e| e.worker.take())
            .collect();
        for w in workers {
            let (done, stopped) = oneshot::channel();
            if w.tx.send(Job::Stop(Some(done))).await.is_ok() {
                let _ = stopped.await;
            }
        }
        self.rebuild_routes();
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

    fn status_publisher(&self) -> Arc<dyn Fn(&Status) + Send + Sync> {
        let feed = self.inner.feed.clone();
        Arc::new(move |_status: &Status| feed.publish(LiveMessage::PluginsChanged))
    }
}

fn blank_status(name: &str, path: &Path) -> Status {
    Status {
        name: name.to_owned(),
        version: String::new(),
        state: State::Failed,
        last_error: None,
        faults: 0,
        total_faults: 0,
        calls: 0,
        reloads: 0,
        kinds: Vec::new(),
        roles: Vec::new(),
        requested_permissions: Vec::new(),
        granted_permissions: Vec::new(),
        path: path.display().to_string(),
        description: None,
        enabled: true,
        settings_overridden: false,
    }
}

/// Lists the plugin folders and bare `.wasm` files in `dir` (created if missing).
fn discover(dir: &Path) -> std::io::Result<Vec<Candidate>> {
    std::fs::create_dir_all(dir)?;
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if file_name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            let manifest = path.join("plugin.toml");
            let Some(name) = manifest::name_from_stem(&file_name) else {
                tracing::warn!(path = %path.display(), "ignoring a plugin folder whose name is not a-z, 0-9 and -");
                continue;
            };
            let manifest_text = match std::fs::read_to_string(&manifest) {
                Ok(t) => Some(t),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => Some(format!("# unreadable: {e}\n\0")),
            };
            let wasm_path = find_wasm(&path, manifest_text.as_deref());
            if manifest_text.is_none() && wasm_path.is_err() {
                continue; // an unrelated folder
            }
            out.push(Candidate {
                name,
                path,
                manifest_text,
                wasm_path,
            });
        } else if file_name.ends_with(".wasm") {
            let stem = file_name.trim_end_matches(".wasm");
            let Some(name) = manifest::name_from_stem(stem) else {
                tracing::warn!(path = %path.display(), "ignoring a .wasm whose name is not a-z, 0-9, - and _");
                continue;
            };
            out.push(Candidate {
                name,
                path: path.clone(),
                manifest_text: None,
                wasm_path: Ok(path),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The folder's component: the one the manifest names, else the only `.wasm`.
fn find_wasm(folder: &Path, manifest_text: Option<&str>) -> Result<PathBuf, String> {
    if let Some(name) = manifest_text
        .and_then(|t| toml::from_str::<toml::Table>(t).ok())
        .and_then(|t| t.get("wasm").and_then(|w| w.as_str()).map(str::to_owned))
    {
        return Ok(folder.join(name));
    }
    let mut wasm: Vec<PathBuf> = std::fs::read_dir(folder)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .collect();
    match wasm.len() {
        1 => Ok(wasm.remove(0)),
        0 => Err(format!("no .wasm file in {}", folder.display())),
        _ => Err(format!(
            "several .wasm files in {}: name one with wasm = \"...\" in plugin.toml",
            folder.display()
        )),
    }
}

type Files = (Option<String>, Vec<u8>, PathBuf);

fn read_candidate(c: Candidate) -> Result<Files, (PathBuf, LoadError)> {
    let wasm_path = c.wasm_path.map_err(|e| (c.path.clone(), LoadError(e)))?;
    let wasm = runtime::read(&wasm_path).map_err(|e| (c.path.clone(), e))?;
    Ok((c.manifest_text, wasm, c.path))
}

/// Identifies what a version runs: its manifest, its component and the
/// streamer's settings, so a change to any of them is a new version.
fn fingerprint(manifest: Option<&str>, wasm: &[u8], settings: Option<&Value>) -> String {
    let mut h = Sha256::new();
    h.update(manifest.unwrap_or("").as_bytes());
    h.update([0]);
    h.update(wasm);
    if let Some(settings) = settings {
        h.update([0]);
        h.update(settings.to_string().as_bytes());
    }
    hex::encode(h.finalize())
}

/// The manifest of the plugin at `path` (a folder, or a bare `.wasm`).
fn read_manifest(name: &str, path: &Path) -> Result<manifest::Manifest, String> {
    if !path.is_dir() {
        return Ok(manifest::for_bare_wasm(name));
    }
    match std::fs::read_to_string(path.join("plugin.toml")) {
        Ok(text) => manifest::parse(&text).map_err(|e| format!("plugin.toml: {e}")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(manifest::for_bare_wasm(name)),
        Err(e) => Err(format!("cannot read plugin.toml: {e}")),
    }
}
