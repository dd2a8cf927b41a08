//! The `worker` role: consumes the event stream, one partition per lease, and
//! runs each event through the pipeline (dedup, store, the channel's plugins)
//! before publishing its alerts and live updates. Workers share the
//! partitions fairly ([`balance`]): one that joins takes its share from the
//! others, and a dead one's partitions are taken over when its leases run
//! out.

pub mod committer;
pub mod partition;
pub mod plugins;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::cluster::balance::{self, WORKER_PARTITIONS};
use crate::cluster::bus::EventBus;
use crate::cluster::metrics::ClusterMetrics;
use crate::cluster::ops::Readiness;
use crate::storage::{ClusterStore, StorageError};
use plugins::PluginSet;

/// Tuning for a worker.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The most messages fetched (and committed) at once.
    pub batch: usize,
    /// How long a fetch waits for messages.
    pub fetch_wait: Duration,
    /// How long leases last without renewal: a killed worker's partitions
    /// move after at most this long.
    pub lease_ttl: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            batch: 256,
            fetch_wait: Duration::from_millis(200),
            lease_ttl: Duration::from_secs(10),
        }
    }
}

/// What a worker's partition runners share.
pub struct WorkerShared {
    pub node: String,
    pub store: Arc<dyn ClusterStore>,
    /// Commits the partitions' batches, together when several are ready.
    pub committer: committer::GroupCommitter,
    pub bus: EventBus,
    pub plugins: Arc<PluginSet>,
    pub metrics: Arc<ClusterMetrics>,
    pub ready: Readiness,
    pub options: WorkerOptions,
    pub channels: ChannelDirectory,
    /// Posts plugins' webhooks in the background.
    pub webhooks: crate::actions::webhook::WebhookSender,
}

/// Which channels exist, remembered once seen (channels are never removed
/// while a cluster runs; an unknown one is asked for again each time).
#[derive(Default)]
pub struct ChannelDirectory {
    known: Mutex<HashSet<String>>,
}

impl ChannelDirectory {
    /// Whether the cluster serves `channel`.
    pub async fn exists(
        &self,
        store: &Arc<dyn ClusterStore>,
        channel: &str,
    ) -> Result<bool, StorageError> {
        if self
            .known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(channel)
        {
            return Ok(true);
        }
        let found = store.channel(channel).await?.is_some();
        if found {
            self.known
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(channel.to_owned());
        }
        Ok(found)
    }
}

struct Running {
    cancel: CancellationToken,
    task: JoinHandle<partition::Stopped>,
    /// When the partition's lease ends at the latest (renewal asked + TTL):
    /// the runner never pulls events it could not commit before then.
    lease_ends: partition::LeaseEnds,
}

/// Runs the worker until `stop` is cancelled, then drains: every partition
/// runner finishes (commits and acks) the batch it holds, and the leases are
/// given up so the others take over at once.
pub async fn run(shared: Arc<WorkerShared>, partitions: u32, stop: CancellationToken) {
    let notices = tokio::spawn(follow_plugin_changes(shared.clone(), stop.clone()));
    let node_lease = WORKER_PARTITIONS.node_lease(&shared.node);
    let mut running: BTreeMap<u32, Running> = BTreeMap::new();
    let tick = shared.options.lease_ttl / 3;
    loop {
        if let Err(why) = step(&shared, partitions, &node_lease, &mut running).await {
            tracing::warn!("worker balance step failed: {why}");
            shared.ready.set("database", Err(why.to_string()));
        } else {
            shared.ready.set("database", Ok(()));
        }
        shared.ready.set(
            "holds partitions",
            if running.is_empty() {
                Err("none yet".into())
            } else {
                Ok(())
            },
        );
        shared.metrics.set_held("partitions", running.len());
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(tick) => {}
        }
    }
    tracing::info!(
        partitions = running.len(),
        "draining: finishing in-flight batches"
    );
    for (p, run) in std::mem::take(&mut running) {
        run.cancel.cancel();
        let _ = run.task.await;
        let _ = shared
            .store
            .release_lease(&WORKER_PARTITIONS.item_lease(&p.to_string()), &shared.node)
            .await;
    }
    let _ = shared.store.release_lease(&node_lease, &shared.node).await;
    notices.abort();
    tracing::info!("worker drained");
}

/// How often every channel's plugins are loaded again in any case: a change
/// notice is core NATS, so one sent while this worker was disconnected is
/// missed.
const PLUGIN_REFRESH: Duration = Duration::from_secs(60);

/// Loads a channel's plugins again when an edge says they changed (install,
/// settings, grants, removal), and every channel's every [`PLUGIN_REFRESH`].
async fn follow_plugin_changes(shared: Arc<WorkerShared>, stop: CancellationToken) {
    use futures_util::StreamExt;
    let mut refresh = tokio::time::interval(PLUGIN_REFRESH);
    refresh.tick().await;
    loop {
        match shared.bus.subscribe_control().await {
            Ok(mut notices) => {
                shared.plugins.invalidate_all();
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = refresh.tick() => shared.plugins.invalidate_all(),
                        next = notices.next() => match next {
                            Some((channel, _)) => {
                                tracing::info!(channel_id = %channel, "plugins changed; loading them again");
                                shared.plugins.invalidate(channel.as_str());
                            }
                            None => break,
                        },
                    }
                }
            }
            Err(e) => tracing::warn!("cannot follow plugin changes: {e}"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

async fn step(
    shared: &Arc<WorkerShared>,
    partitions: u32,
    node_lease: &str,
    running: &mut BTreeMap<u32, Running>,
) -> Result<(), StorageError> {
    let ttl = shared.options.lease_ttl;
    shared
        .store
        .acquire_lease(node_lease, &shared.node, ttl)
        .await?;

    // Runners that stopped by themselves (lease lost) are forgotten.
    let finished: Vec<u32> = running
        .iter()
        .filter(|(_, r)| r.task.is_finished())
        .map(|(p, _)| *p)
        .collect();
    for p in finished {
        running.remove(&p);
    }
    // Renew what is held, in one statement; a lease that cannot be renewed
    // stops its runner.
    let asked = tokio::time::Instant::now();
    let names: Vec<String> = running
        .keys()
        .map(|p| WORKER_PARTITIONS.item_lease(&p.to_string()))
        .collect();
    let renewed: HashSet<String> = shared
        .store
        .acquire_leases(&names, &shared.node, ttl)
        .await?
        .into_iter()
        .collect();
    let held: Vec<u32> = running.keys().copied().collect();
    for p in held {
        if renewed.contains(&WORKER_PARTITIONS.item_lease(&p.to_string())) {
            if let Some(run) = running.get(&p) {
                run.lease_ends.set(asked + ttl);
            }
        } else if let Some(run) = running.remove(&p) {
            tracing::warn!(partition = p, "partition lease lost; stopping its consumer");
            run.cancel.cancel();
        }
    }

    let leases = shared.store.leases(WORKER_PARTITIONS.prefix()).await?;
    let items: Vec<String> = (0..partitions).map(|p| p.to_string()).collect();
    let plan = balance::plan(WORKER_PARTITIONS, &items, &shared.node, &leases, Utc::now());
    let parse = |items: Vec<String>| items.into_iter().filter_map(|i| i.parse::<u32>().ok());
    for p in parse(plan.release) {
        if let Some(run) = running.remove(&p) {
            tracing::info!(partition = p, "handing partition over to another worker");
            run.cancel.cancel();
            let _ = run.task.await;
        }
        shared
            .store
            .release_lease(&WORKER_PARTITIONS.item_lease(&p.to_string()), &shared.node)
            .await?;
    }
    for p in parse(plan.acquire) {
        if running.contains_key(&p) {
            continue;
        }
        let asked = tokio::time::Instant::now();
        let lease = WORKER_PARTITIONS.item_lease(&p.to_string());
        if shared
            .store
            .acquire_lease(&lease, &shared.node, ttl)
            .await?
        {
            shared.metrics.init_partition(p);
            let cancel = CancellationToken::new();
            let lease_ends = partition::LeaseEnds::new(asked + ttl);
            let task = tokio::spawn(partition::run(
                shared.clone(),
                p,
                lease_ends.clone(),
                cancel.clone(),
            ));
            running.insert(
                p,
                Running {
                    cancel,
                    task,
                    lease_ends,
                },
            );
        }
    }
    Ok(())
}
