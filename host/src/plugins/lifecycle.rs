//! Loading, swapping, parking and unloading plugin versions.
//!
//! A scan reads the folder, then loads every plugin concurrently, each
//! under its own lifecycle lock: compiling one plugin (seconds for a big
//! guest) or starting one whose `configure` runs to its deadline never holds up
//! another plugin, the event path or the API. A new version is compiled
//! and initialised off to the side and swapped in between two events; a
//! broken file leaves the previous version running.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use super::discovery::{self, Candidate, Files, Found, Refused};
use super::manifest::{Manifest, Permission};
use super::runtime::{self, KvCache, LoadError};
use super::worker::{self, Control, Limits, SharedStatus, State, Swap, Version, WorkerHandle};
use super::{Entry, PluginHost, checks, convert};
use crate::live::LiveMessage;
use crate::store;

/// How long a stopping plugin may keep working through its queue.
pub const STOP_DRAIN: Duration = Duration::from_secs(2);

/// A version ready to run, with its first instance and its storage.
pub(super) struct Prepared {
    pub version: Arc<Version>,
    pub instance: runtime::Instance,
    pub kv: Arc<KvCache>,
    /// Whether it runs with the streamer's settings instead of the manifest's.
    pub settings_overridden: bool,
}

impl PluginHost {
    /// Brings the running plugins in line with the folder: loads new ones,
    /// swaps changed ones, unloads removed ones. Plugins load concurrently;
    /// this returns when every one has settled (running, failed, waiting
    /// for a grant).
    pub async fn rescan(&self) {
        let Some(found) = self.discover().await else {
            self.inner
                .loaded
                .store(true, std::sync::atomic::Ordering::Release);
            return;
        };
        self.record_refused(&found.refused);
        let present: BTreeSet<String> = found.candidates.iter().map(|c| c.name.clone()).collect();
        futures_util::future::join_all(found.candidates.into_iter().map(|c| self.load(c))).await;
        let removed: Vec<String> = self
            .entries()
            .iter()
            .filter(|(name, e)| !e.refused && !present.contains(*name))
            .map(|(name, _)| name.clone())
            .collect();
        for name in removed {
            self.unload(&name).await;
        }
        self.rebuild_routes();
        self.inner
            .loaded
            .store(true, std::sync::atomic::Ordering::Release);
        self.prune_cache();
    }

    /// Loads `name` again from its files (after a grant, a reset, a change
    /// of settings or of its enabled state). False if it is no longer in
    /// the folder (it is then unloaded).
    pub(super) async fn load_named(&self, name: &str) -> bool {
        let Some(found) = self.discover().await else {
            return false;
        };
        match found.candidates.into_iter().find(|c| c.name == name) {
            Some(candidate) => {
                self.load(candidate).await;
                self.rebuild_routes();
                true
            }
            None => {
                self.unload(name).await;
                self.rebuild_routes();
                false
            }
        }
    }

    /// What the folder holds now.
    async fn discover(&self) -> Option<Found> {
        let running: BTreeMap<String, PathBuf> = self
            .entries()
            .iter()
            .filter(|(_, e)| !e.refused && (e.worker.is_some() || e.version.is_some()))
            .map(|(name, e)| (name.clone(), e.path.clone()))
            .collect();
        let dir = self.inner.dir.clone();
        match tokio::task::spawn_blocking(move || discovery::discover(&dir, &running)).await {
            Ok(Ok(found)) => Some(found),
            Ok(Err(e)) => {
                tracing::error!(dir = %self.inner.dir.display(), error = %e, "cannot read the plugins folder");
                None
            }
            Err(e) => {
                tracing::error!(error = %e, "plugin scan task failed");
                None
            }
        }
    }

    /// Shows every refused source as a failed entry under its file name,
    /// and forgets those no longer refused.
    fn record_refused(&self, refused: &[Refused]) {
        let mut changed = false;
        {
            let mut entries = self.entries();
            let now: BTreeSet<&str> = refused.iter().map(|r| r.file_name.as_str()).collect();
            let before = entries.len();
            entries.retain(|name, e| !e.refused || now.contains(name.as_str()));
            changed |= entries.len() != before;
            for r in refused {
                let entry = entries.entry(r.file_name.clone()).or_insert_with(|| {
                    changed = true;
                    let mut e = Entry::new(&r.file_name, &r.path);
                    e.refused = true;
                    e
                });
                let mut s = entry.status.lock().unwrap_or_else(|p| p.into_inner());
                if s.last_error.as_deref() != Some(r.reason.as_str()) {
                    tracing::error!(path = %r.path.display(), "{}", r.reason);
                    s.state = State::Failed;
                    s.last_error = Some(r.reason.clone());
                    changed = true;
                }
            }
        }
        if changed {
            self.inner.feed.publish(LiveMessage::PluginsChanged);
        }
    }

    /// This plugin's lifecycle lock, creating its entry (shown as
    /// compiling) if it is new.
    pub(super) fn lifecycle_lock(&self, name: &str, path: &Path) -> Arc<tokio::sync::Mutex<()>> {
        let mut entries = self.entries();
        let entry = entries.entry(name.to_owned()).or_insert_with(|| {
            self.inner.feed.publish(LiveMessage::PluginsChanged);
            Entry::new(name, path)
        });
        entry.path = path.to_path_buf();
        entry.lifecycle.clone()
    }

    async fn load(&self, candidate: Candidate) {
        let name = candidate.name.clone();
        let lock = self.lifecycle_lock(&name, &candidate.path);
        let _one_at_a_time = lock.lock().await;
        let config = self.config_of(&name).await;
        if !config.enabled {
            return self
                .park_disabled(&name, &candidate.path, config.settings.is_some())
                .await;
        }
        let reading = candidate.clone();
        let files = tokio::task::spawn_blocking(move || discovery::read_files(&reading)).await;
        let files = match files {
            Ok(Ok(files)) => files,
            Ok(Err(e)) => return self.load_failed(&name, &candidate.path, None, e),
            Err(e) => {
                return self.load_failed(&name, &candidate.path, None, LoadError(e.to_string()));
            }
        };
        let fingerprint = fingerprint(
            files.manifest_text.as_deref(),
            &files.wasm,
            config.settings.as_ref(),
        );
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
            .prepare(&name, files, fingerprint.clone(), config.settings)
            .await
        {
            Ok(prepared) => self.install(&name, &candidate.path, prepared).await,
            Err(e) => self.load_failed(&name, &candidate.path, Some(fingerprint), e),
        }
    }

    /// The settings and enabled state the streamer set for `name` (enabled
    /// with the manifest's settings if they cannot be read: a plugin is not
    /// silently disabled).
    pub(super) async fn config_of(&self, name: &str) -> store::plugins::PluginConfig {
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
    async fn park_disabled(&self, name: &str, path: &Path, overridden: bool) {
        let (reading, plugin) = (path.to_path_buf(), name.to_owned());
        let manifest = tokio::task::spawn_blocking(move || {
            discovery::read_manifest(&plugin, &reading)
                .ok()
                .map(|(_, m)| m)
        })
        .await
        .ok()
        .flatten();
        let (old, status) = {
            let mut entries = self.entries();
            let Some(entry) = entries.get_mut(name) else {
                return;
            };
            entry.fingerprint = None;
            entry.failed = None;
            (entry.worker.take(), entry.status.clone())
        };
        let was_running = old.is_some();
        if let Some(old) = old {
            stop(old, None);
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
            s.path = path.display().to_string();
            if let Some(m) = &manifest {
                s.version = m.version.clone();
                s.description = m.description.clone();
                s.limits = Limits::of(m);
            }
        });
        if was_running {
            tracing::info!(plugin = name, "plugin disabled");
        }
    }

    /// Compiles (off the async runtime), instantiates and starts a version:
    /// `describe` under the call deadline, `configure` (0.1: `init`) under the set-up deadline.
    pub(super) async fn prepare(
        &self,
        name: &str,
        files: Files,
        fingerprint: String,
        settings: Option<Value>,
    ) -> Result<Prepared, LoadError> {
        let mut manifest = files.manifest;
        let settings_overridden = settings.is_some();
        // Settings saved before the plugin changed its schema may no longer
        // fit it: the plugin does not start with them, and says why.
        manifest.settings = manifest.settings_for(settings.as_ref()).map_err(|e| {
            LoadError(format!(
                "the settings saved on the dashboard do not fit its settings schema ({e}); change them or restore the plugin.toml settings"
            ))
        })?;
        let runtime = self.inner.runtime.clone();
        let (kv, log) = self.storage_of(name).await;
        let plugin: Arc<str> = Arc::from(name);
        let instance_kv = kv.clone();
        let wasm = files.wasm;
        let (version, instance) = tokio::task::spawn_blocking(move || {
            let compiled = runtime.compile(&wasm)?;
            drop(wasm);
            let mut instance = runtime
                .instantiate(
                    &compiled,
                    worker::context(&plugin, &instance_kv, &log, &manifest),
                )
                .map_err(|f| LoadError(format!("cannot start: {f}")))?;
            let info = instance
                .describe(manifest.deadline)
                .map_err(|f| LoadError(format!("describe failed: {f}")))?;
            match instance.init(&manifest.settings.to_string(), manifest.init_deadline()) {
                Ok(Ok(())) => {}
                Ok(Err(message)) => {
                    return Err(LoadError(format!(
                        "configure refused its settings: {message}"
                    )));
                }
                Err(f) => return Err(LoadError(format!("configure failed: {f}"))),
            }
            let warnings = checks::load_warnings(&info, &manifest);
            for warning in &warnings {
                tracing::warn!(plugin = &*plugin, "{warning}");
            }
            let mut manifest = manifest;
            if manifest.version == "0" {
                manifest.version = quota_text(&info.version, 64);
            }
            Ok((
                Arc::new(Version {
                    manifest,
                    compiled,
                    info,
                    warnings,
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

    /// The plugin's kv storage (loaded from the store the first time) and
    /// its log budget.
    async fn storage_of(&self, name: &str) -> (Arc<KvCache>, Arc<super::LogBudget>) {
        let (kv, log) = match self.entries().get(name) {
            Some(e) => (e.kv.clone(), e.log.clone()),
            None => (None, Arc::default()),
        };
        if let Some(kv) = kv {
            return (kv, log);
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
        let kv = Arc::new(KvCache::new(values));
        if let Some(e) = self.entries().get_mut(name) {
            e.kv.get_or_insert_with(|| kv.clone());
        }
        (kv, log)
    }

    /// What the streamer granted `name`: in the dashboard or the config file.
    pub(super) async fn granted(&self, name: &str) -> BTreeSet<String> {
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
    pub(super) async fn install(&self, name: &str, path: &Path, prepared: Prepared) {
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
                let Some(entry) = entries.get_mut(name) else {
                    return;
                };
                entry.fingerprint = Some(version.fingerprint.clone());
                entry.failed = None;
                entry.version = Some(version.clone());
                entry.worker.take()
            };
            if let Some(old) = old {
                stop(old, None);
            }
            let list = missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            // The old version (if any) is stopped: the status shows the
            // one waiting, so the streamer sees what they are to allow.
            self.set_status(&status, |s| {
                show_version(s, &version);
                s.state = State::PendingGrant;
                s.last_error = Some(format!("waiting for the streamer to grant: {list}"));
            });
            return;
        }

        let permissions = Arc::new(version.manifest.permissions.clone());
        let (existing, log) = match self.entries().get(name) {
            Some(e) => (e.worker.clone(), e.log.clone()),
            None => return,
        };
        let previous_hash = self
            .entries()
            .get(name)
            .and_then(|e| e.version.as_ref().map(|v| v.compiled.hash.clone()));
        match existing {
            Some(worker) => {
                let (done, swapped) = oneshot::channel();
                let swap = Swap {
                    version: version.clone(),
                    instance,
                    permissions,
                    done: Some(done),
                };
                let wait = worker.busy.remaining() + Duration::from_secs(1);
                if worker.control(Control::Swap(Box::new(swap))).is_err()
                    || tokio::time::timeout(wait, swapped).await.is_err()
                {
                    tracing::warn!(
                        plugin = name,
                        "the plugin did not take its new version in time; it gets it after its current work"
                    );
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
                    log,
                    version: version.clone(),
                    instance,
                    permissions,
                    status: status.clone(),
                    actions: self.inner.actions.clone(),
                    on_status: self.status_publisher(),
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
            e.version = Some(version.clone());
        }
        if let Some(old) = previous_hash
            && old != version.compiled.hash
            && !self.hash_in_use(&old)
        {
            self.inner.runtime.forget(&old);
        }
    }

    fn hash_in_use(&self, hash: &str) -> bool {
        self.entries()
            .values()
            .filter_map(|e| e.version.as_ref())
            .any(|v| v.compiled.hash == hash)
    }

    /// Keeps the compiled-component cache to what is loaded (and its budget).
    fn prune_cache(&self) {
        let in_use: HashSet<String> = self
            .entries()
            .values()
            .filter_map(|e| e.version.as_ref().map(|v| v.compiled.hash.clone()))
            .collect();
        let runtime = self.inner.runtime.clone();
        tokio::task::spawn_blocking(move || runtime.prune_cache(&in_use));
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
            .or_insert_with(|| Entry::new(name, path));
        entry.kv.get_or_insert(kv);
        {
            let mut s = entry.status.lock().unwrap_or_else(|p| p.into_inner());
            if entry.worker.is_none() {
                show_version(&mut s, version);
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
        let (running, status) = {
            let mut entries = self.entries();
            let entry = entries
                .entry(name.to_owned())
                .or_insert_with(|| Entry::new(name, path));
            entry.failed = fingerprint;
            (entry.worker.is_some(), entry.status.clone())
        };
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
        if running {
            tracing::error!(plugin = name, path = %path.display(), "plugin reload failed; the previous version keeps running: {error}");
        } else {
            tracing::error!(plugin = name, path = %path.display(), "cannot load plugin: {error}");
        }
    }

    /// Forgets a plugin whose files are gone; its worker finishes what is
    /// queued (for a little while) on its own thread.
    async fn unload(&self, name: &str) {
        let lock = match self.entries().get(name) {
            Some(e) => e.lifecycle.clone(),
            None => return,
        };
        let _one_at_a_time = lock.lock().await;
        let entry = self.entries().remove(name);
        if let Some(entry) = entry {
            if let Some(worker) = entry.worker {
                stop(worker, None);
            }
            tracing::info!(plugin = name, "plugin unloaded");
            self.inner.feed.publish(LiveMessage::PluginsChanged);
        }
    }

    /// Makes the next load of `name` read its files whatever their
    /// fingerprint.
    pub(super) fn forget_version(&self, name: &str) -> Option<()> {
        let mut entries = self.entries();
        let entry = entries.get_mut(name)?;
        entry.fingerprint = None;
        entry.failed = None;
        Some(())
    }

    /// Stops every worker: each finishes its queue for up to [`STOP_DRAIN`]
    /// and saves its key-value data. Bounded whatever the plugins do.
    pub async fn shutdown(&self) {
        let workers: Vec<(String, WorkerHandle)> = self
            .entries()
            .iter_mut()
            .filter_map(|(name, e)| e.worker.take().map(|w| (name.clone(), w)))
            .collect();
        self.rebuild_routes();
        let deadline = Instant::now() + STOP_DRAIN;
        let mut waiting = Vec::new();
        for (name, w) in workers {
            let (done, stopped) = oneshot::channel();
            let grace = STOP_DRAIN + w.busy.deadline() + Duration::from_millis(200);
            stop(w, Some((deadline, done)));
            waiting.push(async move {
                if tokio::time::timeout(grace, stopped).await.is_err() {
                    tracing::warn!(plugin = %name, "plugin did not stop in time; leaving it");
                }
            });
        }
        futures_util::future::join_all(waiting).await;
    }
}

/// Shows what `version` is in a plugin's status: its version, kinds,
/// contract, load warnings, roles and limits.
fn show_version(s: &mut worker::Status, version: &Version) {
    s.version = version.manifest.version.clone();
    s.kinds = version.info.kinds.clone();
    s.contract = version.compiled.contract();
    s.warnings = version.warnings.clone();
    s.roles = version
        .info
        .roles
        .iter()
        .map(|r| convert::role_name(*r))
        .collect();
    s.limits = Limits::of(&version.manifest);
}

/// Tells a worker to stop (draining its queue for [`STOP_DRAIN`] or until
/// the given time), without waiting for it.
fn stop(worker: WorkerHandle, done: Option<(Instant, oneshot::Sender<()>)>) {
    let (drain_until, done) = match done {
        Some((until, done)) => (until, Some(done)),
        None => (Instant::now() + STOP_DRAIN, None),
    };
    // A full control queue: dropping the handle stops it after its queue.
    let _ = worker.control(Control::Stop { drain_until, done });
}

/// Identifies what a version runs: its manifest, its component and the
/// streamer's settings, so a change to any of them is a new version.
pub(super) fn fingerprint(manifest: Option<&str>, wasm: &[u8], settings: Option<&Value>) -> String {
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

/// A version string from a plugin's own `describe`, cut to size.
fn quota_text(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// The manifest of the plugin at `path`, for admin views.
pub(super) fn manifest_at(name: &str, path: &Path) -> Result<Manifest, String> {
    discovery::read_manifest(name, path)
        .map(|(_, m)| m)
        .map_err(|e| e.0)
}
