//! Insert throughput: 100,000 events through the store's single writer (and
//! through the whole pipeline), beside a bare rusqlite loop doing the same
//! SQL in one transaction, all in this run. Prints events/s and the ratios.
//!
//! cargo bench -p stagehand --bench store_insert

#[path = "support/baseline.rs"]
mod baseline;

use std::time::{Duration, Instant};

use futures_util::StreamExt;

use stagehand::event::{Event, now_ms};
use stagehand::live::LiveFeed;
use stagehand::pipeline::{Pipeline, PipelineOptions};
use stagehand::store::{Store, StoreOptions, events};

use baseline::{EVENTS, VIEWERS, bare_rusqlite, sample_events};

/// Every event is its own write job, many in flight, as concurrent sources
/// would send them; the writer batches them into transactions.
async fn through_store(path: &std::path::Path, events: Vec<Event>) -> Duration {
    let store = Store::open(path, StoreOptions::default()).unwrap();
    let now = now_ms();
    let start = Instant::now();
    futures_util::stream::iter(events)
        .map(|e| {
            let store = store.clone();
            async move {
                store
                    .write(move |c| events::insert(c, &e, now))
                    .await
                    .unwrap()
            }
        })
        .buffer_unordered(4096)
        .for_each(|_| async {})
        .await;
    let elapsed = start.elapsed();
    store.close().await;
    elapsed
}

/// The whole pipeline: dedup, batch insert, publish.
async fn through_pipeline(path: &std::path::Path, events: Vec<Event>) -> Duration {
    let store = Store::open(path, StoreOptions::default()).unwrap();
    let (pipeline, sender) = Pipeline::new(
        store.clone(),
        LiveFeed::new(1024),
        PipelineOptions::default(),
    );
    let task = tokio::spawn(pipeline.run());
    let start = Instant::now();
    for e in events {
        sender.send(e).await.unwrap();
    }
    drop(sender);
    task.await.unwrap();
    let elapsed = start.elapsed();
    let n = store.read(events::count).await.unwrap();
    assert_eq!(n as usize, EVENTS);
    store.close().await;
    elapsed
}

/// One job holding every event: the store's SQL without per-job costs.
async fn one_job(path: &std::path::Path, events: Vec<Event>) -> Duration {
    let store = Store::open(path, StoreOptions::default()).unwrap();
    let now = now_ms();
    let start = Instant::now();
    store
        .write(move |c| events::insert_batch(c, &events, &[], now))
        .await
        .unwrap();
    let elapsed = start.elapsed();
    store.close().await;
    elapsed
}

fn rate(d: Duration) -> f64 {
    EVENTS as f64 / d.as_secs_f64()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    println!(
        "store_insert: {EVENTS} events, {VIEWERS} viewers; RUST_BACKTRACE={}",
        std::env::var("RUST_BACKTRACE").unwrap_or_else(|_| "unset".into())
    );
    let dir = tempfile::tempdir().unwrap();
    let events = sample_events();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // Best of three runs each, fresh files, interleaved so machine noise hits all.
    let mut bare = Duration::MAX;
    let mut store = Duration::MAX;
    let mut pipeline = Duration::MAX;
    let mut single = Duration::MAX;
    // `-- NAME` runs only that measurement (for profiling one of them).
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wants = |name: &str| only.as_deref().is_none_or(|o| o == name);
    for run in 0..3 {
        if wants("one-job") {
            single = single.min(rt.block_on(one_job(
                &dir.path().join(format!("one{run}.db")),
                events.clone(),
            )));
        }
        if wants("bare") {
            bare = bare.min(bare_rusqlite(
                &dir.path().join(format!("bare{run}.db")),
                &events,
            ));
        }
        if wants("store") {
            store = store.min(rt.block_on(through_store(
                &dir.path().join(format!("store{run}.db")),
                events.clone(),
            )));
        }
        if wants("pipeline") {
            pipeline = pipeline.min(rt.block_on(through_pipeline(
                &dir.path().join(format!("pipe{run}.db")),
                events.clone(),
            )));
        }
    }
    let (b, s, p) = (rate(bare), rate(store), rate(pipeline));
    println!("bare rusqlite, one transaction : {b:>10.0} events/s ({bare:?})");
    println!(
        "store, all events in one job   : {:>10.0} events/s ({single:?})  ratio {:.2}",
        rate(single),
        rate(single) / b
    );
    println!(
        "store writer, one job per event: {s:>10.0} events/s ({store:?})  ratio {:.2}",
        s / b
    );
    println!(
        "pipeline (dedup+batch+publish) : {p:>10.0} events/s ({pipeline:?})  ratio {:.2}",
        p / b
    );
    let met = |r: f64| {
        if r / b >= 0.5 && r >= 50_000.0 {
            "met"
        } else {
            "NOT met"
        }
    };
    println!(
        "target (>= 0.5 x bare and >= 50,000/s): store {}, pipeline {}",
        met(s),
        met(p)
    );
}
