//! The wasmtime side: one engine with epoch interruption, one linker that
//! grants plugins only the host interface (plus a WASI context that grants
//! nothing: no files, network, environment or arguments), compilation with an
//! on-disk cache, and instances whose every call runs under a deadline and a
//! memory cap.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder, Trap};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

mod bindings {
    wasmtime::component::bindgen!({
        world: "plugin",
        path: "../plugin-sdk/wit",
    });
}

/// The contract's types as the host sees them.
pub use bindings::stagehand::plugin::types as wit;
use bindings::{Plugin as PluginWorld, PluginPre};

/// How often the epoch advances; deadlines are whole ticks.
const TICK: Duration = Duration::from_millis(5);
/// Guest stderr kept per instance (panic messages end up here).
const STDERR_CAPACITY: usize = 256 * 1024;
const MAX_KEY_BYTES: usize = 256;
const MAX_VALUE_BYTES: usize = 64 * 1024;
const MAX_LOG_BYTES: usize = 4096;

/// Why a component could not be loaded.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct LoadError(pub String);

/// Why a call failed: the plugin trapped, overran its deadline or memory,
/// or panicked. The instance is unusable afterwards.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Fault(pub String);

/// The shared engine and linker.
pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    cache_dir: Option<PathBuf>,
}

impl Runtime {
    /// An engine whose epoch advances every few milliseconds on a
    /// background thread, and compiled components cached in `cache_dir`.
    pub fn new(cache_dir: Option<PathBuf>) -> Result<Arc<Runtime>, LoadError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.max_wasm_stack(512 * 1024);
        let engine = Engine::new(&config).map_err(|e| LoadError(format!("wasm engine: {e}")))?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| LoadError(format!("linking WASI: {e}")))?;
        PluginWorld::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| LoadError(format!("linking the host interface: {e}")))?;

        let weak = engine.weak();
        std::thread::Builder::new()
            .name("stagehand-wasm-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(TICK);
                }
            })
            .map_err(|e| LoadError(format!("epoch thread: {e}")))?;

        if let Some(dir) = &cache_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| LoadError(format!("plugin cache {}: {e}", dir.display())))?;
        }
        Ok(Arc::new(Runtime {
            engine,
            linker,
            cache_dir,
        }))
    }

    /// Compiles `wasm` (or loads it from the cache) and checks it is a
    /// component of the `stagehand:plugin` world.
    pub fn compile(&self, wasm: &[u8]) -> Result<Compiled, LoadError> {
        if !wasm.starts_with(b"\0asm") {
            return Err(LoadError(
                "not a WebAssembly file (no \\0asm header)".into(),
            ));
        }
        let key = self.cache_key(wasm);
        let component = match self.cached(&key) {
            Some(component) => component,
            None => {
                let component = Component::from_binary(&self.engine, wasm).map_err(|e| {
                    LoadError(format!(
                        "not a valid WebAssembly component: {}",
                        root_cause(&e)
                    ))
                })?;
                self.store_cache(&key, &component);
                component
            }
        };
        let pre = self.linker.instantiate_pre(&component).map_err(|e| {
            LoadError(format!(
                "not a Stagehand plugin component: {}",
                root_cause(&e)
            ))
        })?;
        let pre = PluginPre::new(pre).map_err(|e| {
            LoadError(format!(
                "not a stagehand:plugin@0.1.0 component (wrong world?): {}",
                root_cause(&e)
            ))
        })?;
        Ok(Compiled {
            pre: Arc::new(pre),
            hash: key,
        })
    }

    /// A fresh instance: new store, limits and an empty WASI context.
    pub fn instantiate(
        &self,
        compiled: &Compiled,
        context: InstanceContext,
    ) -> Result<Instance, Fault> {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        // No preopened directories, environment, arguments or sockets.
        let wasi = WasiCtxBuilder::new().stderr(stderr.clone()).build();
        let limits = StoreLimitsBuilder::new()
            .memory_size(context.memory_bytes)
            .trap_on_grow_failure(true)
            .instances(8)
            .tables(16)
            .memories(4)
            .build();
        let deadline_ticks =
            (context.deadline.as_millis() as u64).div_ceil(TICK.as_millis() as u64) + 1;
        let state = HostState {
            plugin: context.plugin,
            kv: context.kv,
            settings: context.settings,
            wasi,
            table: ResourceTable::new(),
            limits,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(deadline_ticks);
        store.epoch_deadline_trap();
        let bindings = compiled
            .pre
            .instantiate(&mut store)
            .map_err(|e| fault(e, &stderr, context.deadline))?;
        Ok(Instance {
            store,
            bindings,
            deadline_ticks,
            deadline: context.deadline,
            stderr,
        })
    }

    fn cache_key(&self, wasm: &[u8]) -> String {
        let mut h = Sha256::new();
        h.update(wasm);
        h.update(b"\0wasmtime-48.0.8\0");
        std::hash::Hash::hash(
            &self.engine.precompile_compatibility_hash(),
            &mut HashWriter(&mut h),
        );
        hex::encode(h.finalize())
    }

    fn cached(&self, key: &str) -> Option<Component> {
        let path = self.cache_dir.as_ref()?.join(format!("{key}.cwasm"));
        if !path.is_file() {
            return None;
        }
        // SAFETY: the file is in our own data directory, written by
        // `store_cache` from `Component::serialize` of this engine
        // configuration (the key includes its compatibility hash).
        match unsafe { Component::deserialize_file(&self.engine, &path) } {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %root_cause(&e), "stale compiled plugin; recompiling");
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    fn store_cache(&self, key: &str, component: &Component) {
        let Some(dir) = &self.cache_dir else { return };
        let bytes = match component.serialize() {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %root_cause(&e), "cannot serialize a compiled plugin");
                return;
            }
        };
        let path = dir.join(format!("{key}.cwasm"));
        let tmp = dir.join(format!("{key}.{}.tmp", std::process::id()));
        if let Err(e) = std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, &path)) {
            tracing::warn!(path = %path.display(), error = %e, "cannot cache a compiled plugin");
            let _ = std::fs::remove_file(&tmp);
        }
    }

    /// Whether a compiled form of `wasm` is cached.
    pub fn is_cached(&self, wasm: &[u8]) -> bool {
        let key = self.cache_key(wasm);
        self.cache_dir
            .as_ref()
            .is_some_and(|d| d.join(format!("{key}.cwasm")).is_file())
    }
}

struct HashWriter<'a>(&'a mut Sha256);

impl std::hash::Hasher for HashWriter<'_> {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// A compiled, linked plugin version, ready to instantiate.
#[derive(Clone)]
pub struct Compiled {
    pre: Arc<PluginPre<HostState>>,
    /// Content hash (wasm + engine), the cache key.
    pub hash: String,
}

/// A plugin's key-value storage as its instances see it: loaded once, read
/// from memory, and written back to SQLite by the worker after each call.
#[derive(Default)]
pub struct KvCache {
    inner: Mutex<KvInner>,
}

#[derive(Default)]
struct KvInner {
    values: std::collections::HashMap<String, String>,
    dirty: Vec<(String, Option<String>)>,
}

impl KvCache {
    pub fn new(values: std::collections::HashMap<String, String>) -> Self {
        KvCache {
            inner: Mutex::new(KvInner {
                values,
                dirty: Vec::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, KvInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, key: &str) -> Option<String> {
        self.lock().values.get(key).cloned()
    }

    fn set(&self, key: String, value: Option<String>) {
        let mut inner = self.lock();
        match &value {
            Some(v) => inner.values.insert(key.clone(), v.clone()),
            None => inner.values.remove(&key),
        };
        inner.dirty.push((key, value));
    }

    /// Changes since the last call, oldest first (`None` = deleted).
    pub fn take_dirty(&self) -> Vec<(String, Option<String>)> {
        std::mem::take(&mut self.lock().dirty)
    }
}

/// What an instance is given.
pub struct InstanceContext {
    pub plugin: Arc<str>,
    pub kv: Arc<KvCache>,
    /// Settings JSON.
    pub settings: Arc<str>,
    pub deadline: Duration,
    pub memory_bytes: usize,
}

/// Per-instance host state.
pub struct HostState {
    plugin: Arc<str>,
    kv: Arc<KvCache>,
    settings: Arc<str>,
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wit::Host for HostState {}

impl bindings::stagehand::plugin::host::Host for HostState {
    fn log(&mut self, level: wit::Level, message: String) {
        let message = truncate(&message, MAX_LOG_BYTES);
        let plugin = &*self.plugin;
        match level {
            wit::Level::Trace => tracing::trace!(plugin, "{message}"),
            wit::Level::Debug => tracing::debug!(plugin, "{message}"),
            wit::Level::Info => tracing::info!(plugin, "{message}"),
            wit::Level::Warn => tracing::warn!(plugin, "{message}"),
            wit::Level::Error => tracing::error!(plugin, "{message}"),
        }
    }

    fn kv_get(&mut self, key: String) -> Option<String> {
        self.kv.get(&key)
    }

    fn kv_set(&mut self, key: String, value: String) {
        if key.len() > MAX_KEY_BYTES || value.len() > MAX_VALUE_BYTES {
            tracing::warn!(
                plugin = &*self.plugin,
                key_bytes = key.len(),
                value_bytes = value.len(),
                "kv-set refused: keys are at most {MAX_KEY_BYTES} bytes, values {MAX_VALUE_BYTES}"
            );
            return;
        }
        self.kv.set(key, Some(value));
    }

    fn kv_delete(&mut self, key: String) {
        self.kv.set(key, None);
    }

    fn kv_write(&mut self, changes: Vec<wit::KvChange>) {
        for change in changes {
            match change.value {
                Some(value) => self.kv_set(change.key, value),
                None => self.kv_delete(change.key),
            }
        }
    }

    fn now_ms(&mut self) -> u64 {
        chrono::Utc::now().timestamp_millis().max(0) as u64
    }

    fn settings(&mut self) -> String {
        self.settings.to_string()
    }
}

/// A live plugin instance.
pub struct Instance {
    store: Store<HostState>,
    bindings: PluginWorld,
    deadline_ticks: u64,
    deadline: Duration,
    stderr: MemoryOutputPipe,
}

impl Instance {
    fn guard<T>(
        &mut self,
        f: impl FnOnce(&PluginWorld, &mut Store<HostState>) -> wasmtime::Result<T>,
    ) -> Result<T, Fault> {
        self.store.set_epoch_deadline(self.deadline_ticks);
        f(&self.bindings, &mut self.store).map_err(|e| fault(e, &self.stderr, self.deadline))
    }

    pub fn describe(&mut self) -> Result<wit::Info, Fault> {
        self.guard(|b, s| b.call_describe(s))
    }

    pub fn init(&mut self, settings: &str) -> Result<Result<(), String>, Fault> {
        self.guard(|b, s| b.call_init(s, settings))
    }

    pub fn format(&mut self, event: &wit::Event) -> Result<Option<wit::Display>, Fault> {
        self.guard(|b, s| b.call_format(s, event))
    }

    pub fn on_event(
        &mut self,
        event: &wit::Event,
    ) -> Result<Result<Vec<wit::Action>, String>, Fault> {
        self.guard(|b, s| b.call_on_event(s, event))
    }

    pub fn render(&mut self, alert: &wit::Alert) -> Result<Option<wit::Alert>, Fault> {
        self.guard(|b, s| b.call_render(s, alert))
    }
}

fn fault(e: wasmtime::Error, stderr: &MemoryOutputPipe, deadline: Duration) -> Fault {
    let what = match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => format!("deadline of {} ms exceeded", deadline.as_millis()),
        Some(trap) => format!("trapped: {trap}"),
        None => {
            let cause = root_cause(&e);
            if cause.contains("memory") && (cause.contains("limit") || cause.contains("grow")) {
                format!("memory limit exceeded: {cause}")
            } else {
                cause
            }
        }
    };
    let output = String::from_utf8_lossy(&stderr.contents())
        .trim()
        .to_owned();
    let panic = output
        .lines()
        .rev()
        .find(|l| l.contains("panicked"))
        .map(|l| truncate(l, 500));
    match panic {
        Some(p) => Fault(format!("{what} ({p})")),
        None => Fault(what),
    }
}

fn root_cause(e: &wasmtime::Error) -> String {
    e.root_cause().to_string()
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Reads a file fully; used for both the wasm and the manifest so a plugin's
/// fingerprint covers both.
pub fn read(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|e| LoadError(format!("cannot read {}: {e}", path.display())))
}
