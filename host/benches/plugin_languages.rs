//! The same plugin (follow-alert: one alert per follow, counting follows)
//! written in Rust, TypeScript and Python, side by side in one run: per
//! event cost, component size, first compile and cached load, memory per
//! instance and its growth per call. The TypeScript build is run with both
//! JavaScript engines when both are built, which is how the JS SDK's
//! default engine was chosen.
//!
//! Needs the plugins built: `cargo xtask plugins`, then
//! `cargo bench -p stagehand --bench plugin_languages`. The SpiderMonkey
//! variant is optional (see the JS SDK's README, "Engines"): it is measured
//! when `target/bench-plugins/follow-alert-ts-spidermonkey/follow-alert-ts/`
//! holds it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stagehand::event::{Event, EventData, EventKind, Source, Viewer, data};
use stagehand::plugins::runtime::{InstanceContext, KvCache, Runtime};

/// Events per plugin: enough for a steady per-event figure and to see a
/// heap that grows, few enough to finish in seconds for every language.
const CALLS: u32 = 20_000;
const WARMUP: u32 = 1_000;

fn built() -> PathBuf {
    std::env::var_os("STAGEHAND_TEST_PLUGINS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

struct Figures {
    size: usize,
    first_compile: Duration,
    cached_load: Duration,
    instantiate: Duration,
    per_event_us: f64,
    memory_mib: f64,
    growth_bytes_per_call: f64,
}

fn context(name: &str, kv: &Arc<KvCache>) -> InstanceContext {
    InstanceContext {
        plugin: Arc::from(name),
        kv: kv.clone(),
        settings: Arc::from("{}"),
        log: Arc::default(),
        deadline: Duration::from_millis(1_000),
        memory_bytes: 256 << 20,
        instances: 32,
    }
}

fn measure(wasm: &[u8], name: &str, event: &Event) -> Figures {
    let cache = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(Some(cache.path().to_path_buf())).unwrap();
    let started = Instant::now();
    let compiled = runtime.compile(wasm).unwrap();
    let first_compile = started.elapsed();
    drop(compiled);
    // A second runtime over the same cache: what a restart costs.
    let runtime = Runtime::new(Some(cache.path().to_path_buf())).unwrap();
    let started = Instant::now();
    let compiled = runtime.compile(wasm).unwrap();
    let cached_load = started.elapsed();

    let kv = Arc::new(KvCache::default());
    let started = Instant::now();
    let mut instance = runtime.instantiate(&compiled, context(name, &kv)).unwrap();
    instance
        .init("{}", Duration::from_secs(10))
        .unwrap()
        .unwrap_or_else(|e| panic!("{name} refused its settings: {e}"));
    let instantiate = started.elapsed();
    for _ in 0..WARMUP {
        let actions = instance.on_event(event).unwrap().unwrap();
        assert_eq!(actions.len(), 1, "{name} answers a follow with one alert");
    }
    let memory_before = instance.memory_used();
    let started = Instant::now();
    for _ in 0..CALLS {
        std::hint::black_box(instance.on_event(event).unwrap().unwrap());
        std::hint::black_box(kv.take_dirty());
    }
    let elapsed = started.elapsed();
    let memory_after = instance.memory_used();
    Figures {
        size: wasm.len(),
        first_compile,
        cached_load,
        instantiate,
        per_event_us: elapsed.as_nanos() as f64 / CALLS as f64 / 1000.0,
        memory_mib: memory_after as f64 / (1 << 20) as f64,
        growth_bytes_per_call: (memory_after as f64 - memory_before as f64) / CALLS as f64,
    }
}

fn main() {
    let event = Event::new(EventKind::Follow, Source::Eventsub, "1000")
        .with_viewer(Viewer::new("1", "alice", "Alice"))
        .with_data(EventData::Follow(data::Follow::new(
            "Alice",
            chrono::Utc::now(),
        )));
    let candidates = [
        ("Rust", "plugins/follow-alert/follow-alert.wasm"),
        (
            "TypeScript, QuickJS",
            "plugins/follow-alert-ts/follow-alert-ts.wasm",
        ),
        (
            "TypeScript, SpiderMonkey",
            "bench-plugins/follow-alert-ts-spidermonkey/follow-alert-ts/follow-alert-ts.wasm",
        ),
        ("Python", "plugins/follow-alert-py/follow-alert-py.wasm"),
    ];
    println!(
        "plugin_languages: follow-alert in each language, {CALLS} follows after {WARMUP} warm-up calls, one long-lived instance:"
    );
    println!(
        "  {:<26} {:>10} {:>12} {:>11} {:>12} {:>10} {:>10} {:>12}",
        "language",
        "size",
        "1st compile",
        "cached",
        "instantiate",
        "µs/event",
        "memory",
        "growth/call"
    );
    let mut rust = None;
    for (label, path) in candidates {
        let Ok(wasm) = std::fs::read(built().join(path)) else {
            println!("  {label:<26} not built ({path}); skipped");
            continue;
        };
        let f = measure(&wasm, label, &event);
        let versus = match rust {
            None => {
                rust = Some(f.per_event_us);
                "(baseline)".to_owned()
            }
            Some(r) => format!("({:.1}x Rust)", f.per_event_us / r),
        };
        println!(
            "  {label:<26} {:>8.2}MB {:>10.0}ms {:>9.0}ms {:>10.1}ms {:>10.2} {:>8.1}MiB {:>10.1} B  {versus}",
            f.size as f64 / 1e6,
            f.first_compile.as_secs_f64() * 1000.0,
            f.cached_load.as_secs_f64() * 1000.0,
            f.instantiate.as_secs_f64() * 1000.0,
            f.per_event_us,
            f.memory_mib,
            f.growth_bytes_per_call,
        );
    }
}
