//! The wasmtime side: one engine with epoch interruption, one linker that
//! grants plugins the host interface and a WASI that grants nothing and
//! never blocks ([`wasi`]), compilation with a verified on-disk cache
//! ([`cache`]), and instances whose every call runs under a deadline and a
//! memory budget ([`limiter`]) with the host functions of [`host_api`].

pub mod budget;
pub mod cache;
mod compat;
pub mod host_api;
pub mod kv;
pub mod limiter;
pub mod wasi;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store, Trap, UpdateDeadline};

use budget::{CallBudget, TICK, ticks};
pub use host_api::HostState;
pub use kv::KvCache;
use limiter::PluginLimiter;
use wasi::StderrTail;

/// Each released version of the contract, generated from its frozen WIT.
/// The host speaks the newest one; older components are converted to and
/// from it at the boundary ([`compat`]).
mod bindings {
    pub mod v0_3 {
        wasmtime::component::bindgen!({
            world: "plugin",
            path: "../plugin-sdk/wit/since_v0.3.0",
            // Host functions may trap: that is how a broken quota stops a call.
            imports: { default: trappable },
        });
    }
    pub mod v0_2 {
        wasmtime::component::bindgen!({
            world: "plugin",
            path: "../plugin-sdk/wit/since_v0.2.0",
            imports: { default: trappable },
        });
    }
    pub mod v0_1 {
        wasmtime::component::bindgen!({
            world: "plugin",
            path: "../plugin-sdk/wit/since_v0.1.0",
            imports: { default: trappable },
        });
    }
}

/// The contract's types as the host sees them (the newest version).
pub use bindings::v0_3::stagehand::plugin::types as wit;

use super::convert::event_to_wit;
use super::manifest::INIT_DEADLINE;
use super::quotas::{self, LogBudget};
use crate::event::Event;

/// Guest stderr kept per instance (panic messages end up here).
const STDERR_TAIL: usize = 16 * 1024;
/// Stack a guest may use; deeper recursion traps.
const MAX_WASM_STACK: usize = 512 * 1024;

/// Why a component could not be loaded.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct LoadError(pub String);

/// Why a call failed: the plugin trapped, overran its deadline or memory,
/// broke a quota or panicked. The instance is unusable afterwards.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Fault(pub String);

/// The shared engine and linker.
pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    cache: Option<cache::ComponentCache>,
}

impl Runtime {
    /// An engine whose epoch advances every few milliseconds on a
    /// background thread, and compiled components cached (verified) in
    /// `cache_dir`.
    pub fn new(cache_dir: Option<PathBuf>) -> Result<Arc<Runtime>, LoadError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.max_wasm_stack(MAX_WASM_STACK);
        let engine = Engine::new(&config).map_err(|e| LoadError(format!("wasm engine: {e}")))?;

        let mut linker = Linker::new(&engine);
        wasi::add_to_linker(&mut linker)
            .map_err(|e| LoadError(format!("linking WASI: {}", root_cause(&e))))?;
        bindings::v0_3::Plugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| LoadError(format!("linking the host interface: {e}")))?;
        bindings::v0_2::Plugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| LoadError(format!("linking the 0.2 host interface: {e}")))?;
        bindings::v0_1::Plugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| LoadError(format!("linking the 0.1 host interface: {e}")))?;

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

        let cache = cache_dir
            .map(|dir| cache::ComponentCache::open(&dir))
            .transpose()?;
        Ok(Arc::new(Runtime {
            engine,
            linker,
            cache,
        }))
    }

    /// Compiles `wasm` (or loads it from the cache) and checks it is a
    /// component of the `stagehand:plugin` world.
    pub fn compile(&self, wasm: &[u8]) -> Result<Compiled, LoadError> {
        // Read its outline first: cheap, and it names a contract from the
        // future or a foreign import plainly.
        super::inspect::outline(wasm).map_err(|e| LoadError(e.message))?;
        let key = self.cache_key(wasm);
        let cached = self.cache.as_ref().and_then(|c| c.get(&self.engine, &key));
        let component = match cached {
            Some(component) => component,
            None => {
                let component = Component::from_binary(&self.engine, wasm).map_err(|e| {
                    LoadError(format!(
                        "not a valid WebAssembly component: {}",
                        root_cause(&e)
                    ))
                })?;
                if let Some(cache) = &self.cache {
                    cache.put(&key, &component);
                }
                component
            }
        };
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError(link_error(&e)))?;
        let pre = if let Ok(newest) = bindings::v0_3::PluginPre::new(pre.clone()) {
            Pre::V0_3(Arc::new(newest))
        } else if let Ok(v0_2) = bindings::v0_2::PluginPre::new(pre.clone()) {
            Pre::V0_2(Arc::new(v0_2))
        } else {
            match bindings::v0_1::PluginPre::new(pre.clone()) {
                Ok(v0_1) => Pre::V0_1(Arc::new(v0_1)),
                Err(_) => {
                    // Name what the newest contract misses: the most useful
                    // reason for an author building today.
                    let newest = bindings::v0_3::PluginPre::new(pre)
                        .err()
                        .map(|e| root_cause(&e))
                        .unwrap_or_default();
                    return Err(LoadError(format!(
                        "not a Stagehand plugin: it exports none of stagehand:plugin@0.3.0, @0.2.0 and @0.1.0 ({newest})"
                    )));
                }
            }
        };
        Ok(Compiled { pre, hash: key })
    }

    /// A fresh instance: new store, limits, an empty WASI context.
    pub fn instantiate(
        &self,
        compiled: &Compiled,
        context: InstanceContext,
    ) -> Result<Instance, Fault> {
        let stderr = StderrTail::new(STDERR_TAIL);
        let state = HostState {
            plugin: context.plugin,
            kv: context.kv,
            settings: context.settings,
            log: context.log,
            wasi: wasi::context(&stderr),
            table: ResourceTable::new(),
            limiter: PluginLimiter::new(context.memory_bytes, context.instances),
            quota: None,
            budget: CallBudget::default(),
        };
        let deadline_ticks = ticks(context.deadline);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        // Start-up code runs under the longer set-up deadline.
        store.set_epoch_deadline(ticks(context.deadline.max(INIT_DEADLINE)));
        store.epoch_deadline_callback(|mut cx| match cx.data_mut().budget.on_deadline() {
            Some(more) => Ok(UpdateDeadline::Continue(more)),
            None => Err(Trap::Interrupt.into()),
        });
        let instantiated = match &compiled.pre {
            Pre::V0_3(pre) => pre.instantiate(&mut store).map(World::V0_3),
            Pre::V0_2(pre) => pre.instantiate(&mut store).map(World::V0_2),
            Pre::V0_1(pre) => pre.instantiate(&mut store).map(World::V0_1),
        };
        let bindings = match instantiated {
            Ok(b) => b,
            Err(e) => return Err(fault(e, store.data(), &stderr, context.deadline)),
        };
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

    /// Whether a compiled form of `wasm` is cached.
    pub fn is_cached(&self, wasm: &[u8]) -> bool {
        let key = self.cache_key(wasm);
        self.cache.as_ref().is_some_and(|c| c.contains(&key))
    }

    /// Drops the cached form of a version no longer loaded.
    pub fn forget(&self, hash: &str) {
        if let Some(cache) = &self.cache {
            cache.remove(hash);
        }
    }

    /// Keeps the cache within its budget; `in_use` entries stay.
    pub fn prune_cache(&self, in_use: &std::collections::HashSet<String>) {
        if let Some(cache) = &self.cache {
            cache.prune(in_use);
        }
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
    pre: Pre,
    /// Content hash (wasm + engine), the cache key.
    pub hash: String,
}

impl Compiled {
    /// The contract version the component was built for (`0.3.0`).
    pub fn contract(&self) -> &'static str {
        match self.pre {
            Pre::V0_3(_) => "0.3.0",
            Pre::V0_2(_) => "0.2.0",
            Pre::V0_1(_) => "0.1.0",
        }
    }
}

/// A linked component of one contract version.
#[derive(Clone)]
enum Pre {
    V0_3(Arc<bindings::v0_3::PluginPre<HostState>>),
    V0_2(Arc<bindings::v0_2::PluginPre<HostState>>),
    V0_1(Arc<bindings::v0_1::PluginPre<HostState>>),
}

/// An instance of one contract version.
enum World {
    V0_3(bindings::v0_3::Plugin),
    V0_2(bindings::v0_2::Plugin),
    V0_1(bindings::v0_1::Plugin),
}

/// Why the linker refused a component, in the plugin author's terms: an
/// import Stagehand does not provide is named.
fn link_error(e: &wasmtime::Error) -> String {
    let why = root_cause(e);
    let import = why
        .split(['`', '"'])
        .find(|part| part.contains(':') && part.contains('/'))
        .map(str::to_owned);
    match import {
        Some(import) if !import.starts_with("stagehand:plugin/") => format!(
            "this component imports {import}, which Stagehand does not provide (plugins get only stagehand:plugin/host and a WASI that grants nothing): {why}"
        ),
        _ => format!("not a Stagehand plugin component: {why}"),
    }
}

/// What an instance is given.
pub struct InstanceContext {
    pub plugin: Arc<str>,
    pub kv: Arc<KvCache>,
    /// Settings JSON.
    pub settings: Arc<str>,
    /// The plugin's log rate budget (shared by its instances).
    pub log: Arc<LogBudget>,
    pub deadline: Duration,
    pub memory_bytes: usize,
    /// Core instances the component may create.
    pub instances: usize,
}

/// A live plugin instance.
pub struct Instance {
    store: Store<HostState>,
    bindings: World,
    deadline_ticks: u64,
    deadline: Duration,
    stderr: StderrTail,
}

impl Instance {
    fn guard<T>(
        &mut self,
        deadline: Duration,
        f: impl FnOnce(&World, &mut Store<HostState>) -> wasmtime::Result<T>,
    ) -> Result<T, Fault> {
        let ticks = if deadline == self.deadline {
            self.deadline_ticks
        } else {
            ticks(deadline)
        };
        let first = self.store.data_mut().budget.start(deadline, ticks);
        self.store.set_epoch_deadline(first);
        f(&self.bindings, &mut self.store)
            .map_err(|e| fault(e, self.store.data(), &self.stderr, deadline))
    }

    pub fn describe(&mut self, deadline: Duration) -> Result<wit::Info, Fault> {
        self.guard(deadline, |b, s| match b {
            World::V0_3(b) => b.stagehand_plugin_handler().call_describe(s),
            World::V0_2(b) => b
                .stagehand_plugin_handler()
                .call_describe(s)
                .map(compat::v0_2::info),
            World::V0_1(b) => b.call_describe(s).map(compat::v0_1::info),
        })
    }

    /// `configure` (`init` in 0.1), under `deadline` (longer than an
    /// event's, for set-up work).
    pub fn init(
        &mut self,
        settings: &str,
        deadline: Duration,
    ) -> Result<Result<(), String>, Fault> {
        self.guard(deadline, |b, s| match b {
            World::V0_3(b) => b.stagehand_plugin_handler().call_configure(s, settings),
            World::V0_2(b) => b.stagehand_plugin_handler().call_configure(s, settings),
            World::V0_1(b) => b.call_init(s, settings),
        })
        .map(|r| r.map_err(|e| quotas::truncate(&e, quotas::MAX_ERROR)))
    }

    pub fn format(&mut self, event: &Event) -> Result<Option<wit::Display>, Fault> {
        let deadline = self.deadline;
        self.guard(deadline, |b, s| match b {
            World::V0_3(b) => b
                .stagehand_plugin_handler()
                .call_format(s, &event_to_wit(event)),
            World::V0_2(b) => b
                .stagehand_plugin_handler()
                .call_format(s, &compat::v0_2::event(event))
                .map(|d| d.map(compat::v0_2::display)),
            World::V0_1(b) => b
                .call_format(s, &compat::v0_1::event(event))
                .map(|d| d.map(compat::v0_1::display)),
        })
    }

    pub fn on_event(&mut self, event: &Event) -> Result<Result<Vec<wit::Action>, String>, Fault> {
        let deadline = self.deadline;
        self.guard(deadline, |b, s| match b {
            World::V0_3(b) => b
                .stagehand_plugin_handler()
                .call_on_event(s, &event_to_wit(event)),
            World::V0_2(b) => b
                .stagehand_plugin_handler()
                .call_on_event(s, &compat::v0_2::event(event))
                .map(|r| r.map(|actions| actions.into_iter().map(compat::v0_2::action).collect())),
            World::V0_1(b) => b
                .call_on_event(s, &compat::v0_1::event(event))
                .map(|r| r.map(|actions| actions.into_iter().map(compat::v0_1::action).collect())),
        })
        .map(|r| r.map_err(|e| quotas::truncate(&e, quotas::MAX_ERROR)))
    }

    pub fn render(&mut self, alert: &wit::Alert) -> Result<Option<wit::Alert>, Fault> {
        let deadline = self.deadline;
        self.guard(deadline, |b, s| match b {
            World::V0_3(b) => b.stagehand_plugin_handler().call_render(s, alert),
            World::V0_2(b) => b
                .stagehand_plugin_handler()
                .call_render(s, &compat::v0_2::alert_to(alert))
                .map(|a| a.map(compat::v0_2::alert)),
            World::V0_1(b) => b
                .call_render(s, &compat::v0_1::alert_to(alert))
                .map(|a| a.map(compat::v0_1::alert)),
        })
    }

    /// Linear memory the instance holds now.
    pub fn memory_used(&self) -> usize {
        self.store.data().limiter.memory_used()
    }

    /// Whether the last fault was the memory budget running out.
    pub fn out_of_memory(&self) -> bool {
        self.store.data().limiter.refused_memory()
    }

    /// The guest's last lines on stderr (a panic message, its own prints).
    pub fn stderr_tail(&self, lines: usize) -> Vec<String> {
        self.stderr.last_lines(lines)
    }
}

/// What went wrong in a call, in words for the streamer: the deadline, the
/// memory budget, a quota, a trap, with the guest's panic message if any.
fn fault(e: wasmtime::Error, state: &HostState, stderr: &StderrTail, deadline: Duration) -> Fault {
    let what = if let Some(quota) = &state.quota {
        quota.clone()
    } else if let Some(refused) = &state.limiter.refused {
        refused.clone()
    } else {
        match e.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => format!("deadline of {} ms exceeded", deadline.as_millis()),
            Some(Trap::StackOverflow) => {
                format!("stack overflow (at most {} KiB)", MAX_WASM_STACK >> 10)
            }
            // A Rust guest's own stack lives in its memory: running out of
            // it shows up as an access below the memory's start.
            Some(Trap::MemoryOutOfBounds) => {
                "trapped: out of bounds memory access (a bug in the plugin, or its stack ran out)"
                    .to_owned()
            }
            Some(trap) => format!("trapped: {trap}"),
            None => root_cause(&e),
        }
    };
    let panic = stderr
        .last_lines(20)
        .into_iter()
        .rev()
        .find(|l| l.contains("panicked"))
        .map(|l| quotas::truncate(&l, 500));
    let what = quotas::truncate(&what, quotas::MAX_ERROR);
    match panic {
        Some(p) => Fault(format!("{what} ({p})")),
        None => Fault(what),
    }
}

fn root_cause(e: &wasmtime::Error) -> String {
    e.root_cause().to_string()
}
