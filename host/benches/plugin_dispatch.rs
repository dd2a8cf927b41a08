//! Plugin costs, printed with a baseline from the same run:
//! - dispatch: one event through a long-lived instance with the deadline and
//!   memory cap on, beside a native Rust call of the same plugin code;
//! - reload: from writing a plugin's files to the new version answering, for
//!   each example plugin, uncompiled and with the compiled component cached.
//!
//! Needs the plugins built: `cargo xtask plugins`, then
//! `cargo bench -p stagehand --bench plugin_dispatch`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stagehand::event::{Event, EventData, EventKind, Source, Viewer, data};
use stagehand::live::LiveFeed;
use stagehand::plugins::PluginHost;
use stagehand::plugins::runtime::{InstanceContext, KvCache, Runtime};
use stagehand::store::{Store, StoreOptions};
use stagehand_plugin_sdk::{Actions as _, Plugin as _};

const CALLS: u32 = 200_000;

fn built() -> PathBuf {
    std::env::var_os("STAGEHAND_TEST_PLUGINS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

fn per_call(d: Duration, n: u32) -> f64 {
    d.as_nanos() as f64 / n as f64 / 1000.0
}

/// One plugin's figures: per-event call, an empty call, an event passed in
/// with no work done; and what loading it took.
struct Figures {
    compile: Duration,
    instantiate: Duration,
    call: f64,
    empty_call: f64,
    event_only: f64,
}

/// Runs `CALLS` cheers through the component at `path` (2 kv reads and 2
/// writes each), as the worker would.
fn measure(path: &str, name: &str, event: &Event) -> Figures {
    let wasm = std::fs::read(built().join(path))
        .unwrap_or_else(|e| panic!("{path} not built ({e}): run `cargo xtask plugins`"));
    let runtime = Runtime::new(None).unwrap();
    let started = Instant::now();
    let compiled = runtime.compile(&wasm).unwrap();
    let compile = started.elapsed();
    let kv = Arc::new(KvCache::default());
    let context = InstanceContext {
        plugin: Arc::from(name),
        kv: kv.clone(),
        settings: Arc::from("{}"),
        log: Arc::default(),
        deadline: Duration::from_millis(50),
        memory_bytes: 64 << 20,
        instances: 16,
    };
    let started = Instant::now();
    let mut instance = runtime.instantiate(&compiled, context).unwrap();
    instance
        .init("{}", Duration::from_secs(2))
        .unwrap()
        .unwrap();
    let instantiate = started.elapsed();
    for _ in 0..10_000 {
        instance.on_event(event).unwrap().unwrap();
        kv.take_dirty();
    }
    let started = Instant::now();
    for _ in 0..CALLS {
        let actions = instance.on_event(event).unwrap().unwrap();
        std::hint::black_box(actions);
        // What the worker does after each call (the database write-back is
        // batched by the writer thread, off this path).
        std::hint::black_box(kv.take_dirty());
    }
    let call = started.elapsed();

    // Where the time goes: an empty call, and an event passed in with no
    // work done (neither plugin formats cheers).
    let started = Instant::now();
    for _ in 0..CALLS {
        std::hint::black_box(instance.describe(Duration::from_millis(50)).unwrap());
    }
    let empty_call = started.elapsed();
    let started = Instant::now();
    for _ in 0..CALLS {
        std::hint::black_box(instance.format(event).unwrap());
    }
    let event_only = started.elapsed();
    let total: u64 = kv.get("events").and_then(|v| v.parse().ok()).unwrap_or(0);
    assert_eq!(total, CALLS as u64 + 10_000, "{name} really ran every call");
    Figures {
        compile,
        instantiate,
        call: per_call(call, CALLS),
        empty_call: per_call(empty_call, CALLS),
        event_only: per_call(event_only, CALLS),
    }
}

fn dispatch() {
    let event = Event::new(EventKind::Cheer, Source::Eventsub, "1000")
        .with_viewer(Viewer::new("1", "alice", "Alice"))
        .with_data(EventData::Cheer(data::Cheer {
            username: "Alice".into(),
            bits: 100,
            message: "Cheer100 great stream".into(),
            is_anonymous: false,
        }));
    let v3 = measure(
        "test-plugins/bench-plugin/bench-plugin.wasm",
        "bench-plugin",
        &event,
    );
    let v1 = measure(
        "test-plugins/legacy-v01/legacy-v01.wasm",
        "legacy-v01",
        &event,
    );

    let native_event = stagehand::plugins::convert::event_to_wit(&event);
    let native_event = stagehand_plugin_sdk::Event {
        id: native_event.id,
        kind: native_event.kind,
        source: stagehand_plugin_sdk::Source::Eventsub,
        channel_id: native_event.channel_id,
        viewer: None,
        occurred_at_ms: native_event.occurred_at_ms,
        data: stagehand_plugin_sdk::EventData::Cheer(stagehand_plugin_sdk::Cheer {
            bits: 100,
            message: "Cheer100 great stream".into(),
            anonymous: false,
        }),
    };
    stagehand_plugin_sdk::testing::reset();
    let mut plugin =
        bench_plugin::BenchPlugin::new(stagehand_plugin_sdk::Settings::default()).unwrap();
    let started = Instant::now();
    for _ in 0..CALLS {
        let actions = plugin.on_event(std::hint::black_box(&native_event));
        std::hint::black_box(actions.unwrap());
    }
    let native = per_call(started.elapsed(), CALLS);
    println!("dispatch, 2 kv reads + 2 kv writes per event, deadline 50 ms, memory cap 64 MiB:");
    for (label, f) in [("contract 0.3", &v3), ("contract 0.1", &v1)] {
        println!(
            "  {label}: {:>6.2} µs/event (wasm/native {:.1}x) | empty call {:.2} µs, event passed in {:.2} µs | compile {:?}, instantiate + configure {:?}",
            f.call,
            f.call / native,
            f.empty_call,
            f.event_only,
            f.compile,
            f.instantiate
        );
    }
    println!("  native Rust call  : {native:>6.2} µs/event");
    println!(
        "  0.3 / 0.1: {:.2}x (target: no slower) | 0.3 under 3 µs: {}",
        v3.call / v1.call,
        if v3.call < 3.0 { "met" } else { "NOT met" }
    );
}

async fn wait_running(host: &PluginHost, name: &str, reloads: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(
            Instant::now() < deadline,
            "{name} did not load: {:?}",
            host.status(name)
        );
        if let Some(s) = host.status(name)
            && s.reloads >= reloads
            && matches!(
                s.state,
                stagehand::plugins::worker::State::Running
                    | stagehand::plugins::worker::State::PendingGrant
            )
        {
            return;
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

async fn reload() {
    let examples = built().join("plugins");
    let mut names: Vec<String> = std::fs::read_dir(&examples)
        .expect("example plugins not built: run `cargo xtask plugins`")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let dir = tempfile::tempdir().unwrap();
    let plugins_dir = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins_dir).unwrap();
    let store = Store::open(dir.path().join("b.db"), StoreOptions::default()).unwrap();
    let runtime = Runtime::new(Some(dir.path().join("cache"))).unwrap();
    let (actions, mut rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    // Every example may run: grant what each asks for.
    let all = [
        "chat",
        "tts_rules",
        "webhook:discord.com",
        "webhook:discordapp.com",
    ];
    let grants: BTreeMap<String, std::collections::BTreeSet<String>> = names
        .iter()
        .map(|n| (n.clone(), all.iter().map(|p| p.to_string()).collect()))
        .collect();
    let host = PluginHost::new(
        runtime,
        store,
        plugins_dir.clone(),
        LiveFeed::new(16),
        actions,
        grants,
    );
    host.rescan().await;
    let _watch = stagehand::plugins::watcher::watch(host.clone()).unwrap();
    println!(
        "reload, file write -> new version answering (includes the watcher's wait for the writes to settle: {:?} after a save, {:?} after a burst):",
        stagehand::plugins::watcher::QUIET,
        stagehand::plugins::watcher::BURST_QUIET
    );
    for name in names {
        let dest = plugins_dir.join(&name);
        std::fs::create_dir_all(&dest).unwrap();
        let started = Instant::now();
        for f in std::fs::read_dir(examples.join(&name)).unwrap() {
            let f = f.unwrap();
            let mut bytes = std::fs::read(f.path()).unwrap();
            if f.file_name() == "plugin.toml" {
                // discord-webhook will not start without a webhook URL.
                let text = String::from_utf8(bytes).unwrap().replace(
                    "webhook_url = \"\"",
                    "webhook_url = \"https://discord.com/api/webhooks/1/bench\"",
                );
                bytes = text.into_bytes();
            }
            std::fs::write(dest.join(f.file_name()), bytes).unwrap();
        }
        wait_running(&host, &name, 0).await;
        let uncached = started.elapsed();

        // Same wasm, new manifest: the compiled component comes from the cache.
        let manifest = dest.join("plugin.toml");
        let mut text = std::fs::read_to_string(&manifest).unwrap();
        text.push_str("\n# touched\n");
        let started = Instant::now();
        std::fs::write(&manifest, text).unwrap();
        wait_running(&host, &name, 1).await;
        let cached = started.elapsed();
        println!(
            "  {name:<16} new (folder copied in): {:>6.1} ms   changed, cached: {:>6.1} ms  (target < 50 ms: {})",
            ms(uncached),
            ms(cached),
            if cached < Duration::from_millis(50) {
                "met"
            } else {
                "NOT met"
            },
        );
    }
    host.shutdown().await;
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    println!(
        "plugin_dispatch: RUST_BACKTRACE={} (unset it for the steadiest figures)",
        std::env::var("RUST_BACKTRACE").unwrap_or_else(|_| "unset".into())
    );
    // `-- dispatch` or `-- reload` runs only that part.
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if only.as_deref().is_none_or(|o| o == "dispatch") {
        dispatch();
    }
    if only.as_deref().is_none_or(|o| o == "reload") {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(reload());
    }
}
