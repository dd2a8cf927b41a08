//! A channel's plugins inside a worker. Components are compiled once per
//! package digest and shared by every channel that installed the same
//! package; instances are made per channel when its first event arrives and
//! dropped when the channel has been idle longest and room is needed. Key-value
//! writes are collected and committed with the events that caused them, so a
//! worker that dies mid-batch leaves neither events nor kv half-written.
//!
//! Every call runs under the plugin's own deadline (wasmtime epochs); a
//! plugin that faults is replaced by a fresh instance at its next event, and
//! after [`MAX_FAULTS`] faults in a row it is left out until its package or
//! settings change.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::actions::alerts::DEFAULT_OVERLAY;
use crate::actions::validate_alert;
use crate::event::Event;
use crate::event::EventKind;
use crate::plugins::convert::alert_to_json;
use crate::plugins::manifest::{Manifest, Permission};
use crate::plugins::package::Package;
use crate::plugins::quotas::{LogBudget, MAX_CHAT_MESSAGE, check_action_count};
use crate::plugins::runtime::{Compiled, Instance, InstanceContext, KvCache, Runtime, wit};
use crate::storage::{ChannelPlugin, ClusterStore, KvChange, StorageError};

/// Faults in a row after which a channel's plugin is left out.
pub const MAX_FAULTS: u32 = 5;

/// The longest text a plugin's speech item carries.
pub const MAX_SPEECH_CHARS: usize = 500;

/// How many channels keep live instances at once (a small Rust plugin's
/// instance is about a megabyte; beyond this the channel idle longest is
/// dropped and loaded again from the database at its next event).
pub const DEFAULT_CHANNEL_CAPACITY: usize = 2048;

/// What one event made the channel's plugins do.
#[derive(Debug, Default)]
pub struct Outcome {
    /// What formatters made of it (the first that answered).
    pub display: Option<Value>,
    /// Alerts for the overlay, as the overlay page receives them, with the
    /// overlay name and the plugin that asked.
    pub alerts: Vec<PluginAlert>,
    /// Key-value changes made while handling it.
    pub kv: Vec<KvChange>,
    /// Chat messages to send in the channel (by an ingest node, which
    /// holds the channel's Twitch token), with the plugin that asked.
    pub chat: Vec<(String, String)>,
    /// Webhooks to post (plugin, checked URL, JSON body).
    pub webhooks: Vec<(String, url::Url, String)>,
    /// Faults, for the log and the metrics.
    pub faults: Vec<(String, String)>,
}

/// An alert a plugin asked for.
#[derive(Debug, Clone)]
pub struct PluginAlert {
    pub plugin: String,
    pub overlay: String,
    pub body: Value,
}

/// Compiled components shared by all channels, keyed by package digest.
struct Compiledset {
    by_digest: HashMap<String, Arc<CompiledPlugin>>,
}

struct CompiledPlugin {
    manifest: Manifest,
    compiled: Compiled,
}

/// One plugin of one channel, ready to call.
struct Loaded {
    name: Arc<str>,
    runtime: Arc<Runtime>,
    compiled: Arc<CompiledPlugin>,
    settings: Arc<str>,
    kv: Arc<KvCache>,
    log: Arc<LogBudget>,
    instance: Option<Instance>,
    kinds: Option<BTreeSet<String>>,
    roles: Vec<wit::Role>,
    faults: u32,
}

/// A channel's loaded plugins, in name order.
struct ChannelPlugins {
    plugins: Vec<Loaded>,
    /// Bumped on use; the least recently used channel is dropped first.
    used: u64,
}

/// The plugins of every channel a worker handles.
pub struct PluginSet {
    runtime: Arc<Runtime>,
    store: Arc<dyn ClusterStore>,
    compiled: Mutex<Compiledset>,
    channels: Mutex<HashMap<String, Arc<Mutex<ChannelPlugins>>>>,
    clock: std::sync::atomic::AtomicU64,
    capacity: usize,
}

impl PluginSet {
    /// Plugins run by `runtime`, their packages, settings and kv read from
    /// `store`; at most `capacity` channels keep instances.
    pub fn new(runtime: Arc<Runtime>, store: Arc<dyn ClusterStore>, capacity: usize) -> Self {
        PluginSet {
            runtime,
            store,
            compiled: Mutex::new(Compiledset {
                by_digest: HashMap::new(),
            }),
            channels: Mutex::new(HashMap::new()),
            clock: std::sync::atomic::AtomicU64::new(0),
            capacity: capacity.max(1),
        }
    }

    /// Forgets a channel's instances, so its next event loads its plugins
    /// again (after an install, a settings change or a removal).
    pub fn invalidate(&self, channel: &str) {
        lock(&self.channels).remove(channel);
    }

    /// Forgets every channel's instances (a change notice may have been
    /// missed).
    pub fn invalidate_all(&self) {
        lock(&self.channels).clear();
    }

    /// Runs `event` through its channel's plugins: formatters, then action
    /// plugins, then renderers on each alert. Blocking (plugin calls): run it
    /// on a blocking thread.
    pub fn handle(&self, event: &Event, entry: &ChannelEntry) -> Outcome {
        let mut plugins = lock(&entry.0);
        plugins.used = self.tick();
        run_event(&mut plugins.plugins, event)
    }

    /// The channel's plugins, loaded from the store when not in memory.
    pub async fn channel(&self, channel: &str) -> Result<ChannelEntry, StorageError> {
        if let Some(found) = lock(&self.channels).get(channel) {
            return Ok(ChannelEntry(found.clone()));
        }
        let rows = self.store.plugins(channel).await?;
        let mut loaded = Vec::new();
        for row in rows.into_iter().filter(|p| p.enabled) {
            let kv = self.store.plugin_kv(channel, &row.name).await?;
            match self.load(&row, kv).await {
                Ok(plugin) => loaded.push(plugin),
                Err(why) => tracing::warn!(
                    channel_id = %channel,
                    plugin = %row.name,
                    "plugin not loaded: {why}"
                ),
            }
        }
        let entry = Arc::new(Mutex::new(ChannelPlugins {
            plugins: loaded,
            used: self.tick(),
        }));
        let mut channels = lock(&self.channels);
        if channels.len() >= self.capacity {
            evict_oldest(&mut channels);
        }
        let entry = channels.entry(channel.to_owned()).or_insert(entry).clone();
        Ok(ChannelEntry(entry))
    }

    async fn load(
        &self,
        row: &ChannelPlugin,
        kv: HashMap<String, String>,
    ) -> Result<Loaded, String> {
        let compiled = self.compiled(row).await?;
        let granted: BTreeSet<Permission> = row
            .granted
            .iter()
            .filter_map(|k| Permission::parse(k))
            .collect();
        let missing: Vec<String> = compiled
            .manifest
            .permissions
            .iter()
            .filter(|p| !granted.contains(p))
            .map(Permission::key)
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "waiting for the streamer to grant {}",
                missing.join(", ")
            ));
        }
        let given = (!row.settings.is_null()).then_some(&row.settings);
        let settings = compiled
            .manifest
            .settings_for(given)
            .map_err(|e| format!("settings refused: {e}"))?;
        Ok(Loaded {
            name: Arc::from(row.name.as_str()),
            runtime: self.runtime.clone(),
            settings: Arc::from(settings.to_string()),
            compiled,
            kv: Arc::new(KvCache::new(kv)),
            log: Arc::new(LogBudget::default()),
            instance: None,
            kinds: None,
            roles: Vec::new(),
            faults: 0,
        })
    }

    /// The compiled form of a package, compiled on a blocking thread the
    /// first time any channel needs it.
    async fn compiled(&self, row: &ChannelPlugin) -> Result<Arc<CompiledPlugin>, String> {
        if let Some(found) = lock(&self.compiled).by_digest.get(&row.digest) {
            return Ok(found.clone());
        }
        let runtime = self.runtime.clone();
        let bytes = row.package.clone();
        let name = row.name.clone();
        let built = tokio::task::spawn_blocking(move || {
            let package = Package::from_bytes(&bytes)
                .or_else(|_| Package::from_wasm(&name, bytes))
                .map_err(|e| e.to_string())?;
            let compiled = runtime.compile(&package.wasm).map_err(|e| e.0)?;
            Ok::<_, String>(CompiledPlugin {
                manifest: package.manifest,
                compiled,
            })
        })
        .await
        .map_err(|e| format!("compiling: {e}"))??;
        let built = Arc::new(built);
        lock(&self.compiled)
            .by_digest
            .insert(row.digest.clone(), built.clone());
        Ok(built)
    }

    fn tick(&self) -> u64 {
        self.clock
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

/// One channel's plugins, taken out of the set so the set's map lock is never
/// held during a plugin call.
#[derive(Clone)]
pub struct ChannelEntry(Arc<Mutex<ChannelPlugins>>);

fn evict_oldest(channels: &mut HashMap<String, Arc<Mutex<ChannelPlugins>>>) {
    let oldest = channels
        .iter()
        .filter_map(|(k, v)| v.try_lock().ok().map(|p| (p.used, k.clone())))
        .min()
        .map(|(_, k)| k);
    if let Some(key) = oldest {
        channels.remove(&key);
    }
}

fn run_event(plugins: &mut [Loaded], event: &Event) -> Outcome {
    let mut outcome = Outcome::default();
    let kind = event.kind.to_string();
    for plugin in plugins.iter_mut() {
        if plugin.faults >= MAX_FAULTS {
            continue;
        }
        if let Err(why) = plugin.ready() {
            outcome.faults.push((plugin.name.to_string(), why));
            continue;
        }
        if !plugin.wants(&kind) {
            continue;
        }
        if plugin.has(wit::Role::Formatter) && outcome.display.is_none() {
            match plugin.call(|i| i.format(event)) {
                Ok(Some(display)) => {
                    outcome.display = Some(crate::plugins::convert::display_to_json(&display))
                }
                Ok(None) => {}
                Err(why) => outcome.faults.push((plugin.name.to_string(), why)),
            }
        }
    }
    for index in 0..plugins.len() {
        let plugin = &mut plugins[index];
        if plugin.faults >= MAX_FAULTS
            || plugin.instance.is_none()
            || !plugin.wants(&kind)
            || !plugin.has(wit::Role::Actions)
        {
            continue;
        }
        let actions = match plugin.call(|i| i.on_event(event)) {
            Ok(Ok(actions)) => actions,
            Ok(Err(refused)) => {
                tracing::info!(plugin = %plugin.name, "plugin declined the event: {refused}");
                continue;
            }
            Err(why) => {
                outcome.faults.push((plugin.name.to_string(), why));
                continue;
            }
        };
        let name = plugin.name.to_string();
        if let Err(why) = check_action_count(actions.len()) {
            outcome.faults.push((name, why));
            continue;
        }
        let hosts = plugin.compiled.manifest.media_host_set();
        let may_chat = plugin
            .compiled
            .manifest
            .permissions
            .contains(&Permission::Chat);
        for action in actions {
            match action {
                wit::Action::ShowAlert(alert) => {
                    if let Err(why) = validate_alert(&alert, &hosts) {
                        outcome.faults.push((name.clone(), why));
                        continue;
                    }
                    let alert = render(plugins, alert, &hosts);
                    outcome.alerts.push(PluginAlert {
                        plugin: name.clone(),
                        overlay: alert.overlay.clone(),
                        body: alert_to_json(&alert),
                    });
                }
                // A plugin's own speech (a thank-you) is an overlay item the
                // page reads aloud; reading chatters aloud needs the TTS
                // rules only the single host keeps.
                wit::Action::Speak(text) if event.kind != EventKind::ChatMessage => {
                    let said: String = text.chars().take(MAX_SPEECH_CHARS).collect();
                    if said.trim().is_empty() {
                        continue;
                    }
                    outcome.alerts.push(PluginAlert {
                        plugin: name.clone(),
                        overlay: DEFAULT_OVERLAY.to_owned(),
                        body: serde_json::json!({
                            "speech": true, "title": "", "message": "",
                            "tts": said, "duration_ms": 0,
                        }),
                    });
                }
                wit::Action::SendChat(text) => {
                    if !may_chat {
                        outcome.faults.push((
                            name.clone(),
                            "send-chat needs permission \"chat\", which the plugin's plugin.toml does not declare".into(),
                        ));
                    } else if text.trim().is_empty() || text.chars().count() > MAX_CHAT_MESSAGE {
                        outcome.faults.push((
                            name.clone(),
                            format!("chat messages must be 1 to {MAX_CHAT_MESSAGE} characters"),
                        ));
                    } else {
                        outcome.chat.push((name.clone(), text));
                    }
                }
                wit::Action::Webhook(request) => {
                    let permissions = &plugins[index].compiled.manifest.permissions;
                    match crate::actions::webhook::check_url(&request.url, permissions) {
                        Err(why) => outcome.faults.push((name.clone(), why)),
                        Ok(_) if serde_json::from_str::<Value>(&request.body).is_err() => outcome
                            .faults
                            .push((name.clone(), "webhook body is not JSON".into())),
                        Ok(url) => outcome.webhooks.push((name.clone(), url, request.body)),
                    }
                }
                other => tracing::debug!(
                    plugin = %name,
                    action = action_name(&other),
                    "action not carried out in cluster mode (TTS rules and reading chat aloud are the single host's)"
                ),
            }
        }
    }
    for plugin in plugins.iter_mut() {
        for (key, value) in plugin.kv.take_dirty() {
            outcome.kv.push(KvChange {
                channel_id: event.channel_id.clone(),
                plugin: plugin.name.to_string(),
                key,
                value,
            });
        }
    }
    outcome
}

/// Passes an alert through the channel's renderers in turn; a renderer that
/// faults or makes an invalid alert is skipped.
fn render(plugins: &mut [Loaded], mut alert: wit::Alert, hosts: &BTreeSet<String>) -> wit::Alert {
    for plugin in plugins.iter_mut() {
        if plugin.faults >= MAX_FAULTS
            || plugin.instance.is_none()
            || !plugin.has(wit::Role::Renderer)
        {
            continue;
        }
        if let Ok(Some(rendered)) = plugin.call(|i| i.render(&alert))
            && validate_alert(&rendered, hosts).is_ok()
        {
            alert = rendered;
        }
    }
    alert
}

impl Loaded {
    /// Makes an instance when there is none (first use, or after a fault).
    fn ready(&mut self) -> Result<(), String> {
        if self.instance.is_some() {
            return Ok(());
        }
        let manifest = &self.compiled.manifest;
        let context = InstanceContext {
            plugin: self.name.clone(),
            kv: self.kv.clone(),
            settings: self.settings.clone(),
            log: self.log.clone(),
            deadline: manifest.deadline,
            memory_bytes: manifest.memory_bytes,
            instances: manifest.instances,
        };
        let mut instance = match self.runtime.instantiate(&self.compiled.compiled, context) {
            Ok(i) => i,
            Err(fault) => {
                self.faults += 1;
                return Err(fault.0);
            }
        };
        let init = manifest.init_deadline();
        let info = match instance.describe(init) {
            Ok(info) => info,
            Err(fault) => {
                self.faults += 1;
                return Err(fault.0);
            }
        };
        match instance.init(&self.settings, init) {
            Ok(Ok(())) => {}
            Ok(Err(refused)) => {
                self.faults = MAX_FAULTS;
                return Err(format!("refused its settings: {refused}"));
            }
            Err(fault) => {
                self.faults += 1;
                return Err(fault.0);
            }
        }
        self.kinds =
            (!info.kinds.iter().any(|k| k == "*")).then(|| info.kinds.iter().cloned().collect());
        self.roles = info.roles;
        self.instance = Some(instance);
        Ok(())
    }

    fn wants(&self, kind: &str) -> bool {
        self.kinds.as_ref().is_none_or(|k| k.contains(kind))
    }

    fn has(&self, role: wit::Role) -> bool {
        self.roles.contains(&role)
    }

    /// One call; a fault drops the instance (its state may be broken) and
    /// counts against the plugin.
    fn call<T>(
        &mut self,
        f: impl FnOnce(&mut Instance) -> Result<T, crate::plugins::runtime::Fault>,
    ) -> Result<T, String> {
        let Some(instance) = self.instance.as_mut() else {
            return Err("not running".to_owned());
        };
        match f(instance) {
            Ok(value) => {
                self.faults = 0;
                Ok(value)
            }
            Err(fault) => {
                self.instance = None;
                self.faults += 1;
                Err(fault.0)
            }
        }
    }
}

fn action_name(action: &wit::Action) -> &'static str {
    match action {
        wit::Action::ShowAlert(_) => "show-alert",
        wit::Action::Speak(_) => "speak",
        wit::Action::SendChat(_) => "send-chat",
        wit::Action::MuteTts(_) => "mute-tts",
        wit::Action::UnmuteTts(_) => "unmute-tts",
        wit::Action::CooldownTts(_) => "cooldown-tts",
        wit::Action::ClearTts(_) => "clear-tts",
        wit::Action::Webhook(_) => "webhook",
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

type Job = Box<dyn FnOnce() + Send>;

/// The thread a partition's plugin calls run on: a plain thread of its own
/// (a call never blocks the async runtime), marked so that a call running
/// past its deadline is charged the CPU time it actually had rather than
/// the wall time a loaded machine took (see `plugins::priority`).
#[derive(Default)]
pub struct PluginThread {
    jobs: Option<std::sync::mpsc::Sender<Job>>,
}

impl PluginThread {
    /// Runs `f` on the plugin thread and waits for it without blocking the
    /// async runtime.
    pub async fn run<T: Send + 'static>(
        &mut self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        let sender = match &self.jobs {
            Some(sender) => sender.clone(),
            None => self.start()?,
        };
        if sender.send(job).is_err() {
            self.jobs = None;
            return Err("the plugin thread is gone".to_owned());
        }
        rx.await.map_err(|_| {
            // A panic in a call ends the thread; the next call starts another.
            self.jobs = None;
            "a plugin call panicked".to_owned()
        })
    }

    fn start(&mut self) -> Result<std::sync::mpsc::Sender<Job>, String> {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("stagehand-cluster-plugins".into())
            .spawn(move || {
                crate::plugins::priority::mark_charged_plugin_thread();
                while let Ok(job) = rx.recv() {
                    job();
                }
            })
            .map_err(|e| format!("cannot start a plugin thread: {e}"))?;
        self.jobs = Some(tx.clone());
        Ok(tx)
    }
}
