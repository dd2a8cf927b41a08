//! The `ingest` role: receives EventSub for every channel through one
//! conduit and publishes normalised events to the stream. Ingest nodes share
//! the conduit's shards (each node keeps a session on its share; more nodes,
//! more shards) and the channels' pollers, with leases: a dead node's shards
//! and pollers are taken over by the others once its leases run out. One
//! node at a time (the holder of the subscriptions lease) creates the
//! channels' subscriptions.

pub mod chat;
pub mod list_changes;
pub mod lists;
pub mod poller;
pub mod publisher;
pub mod shard;
pub mod twitch_app;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::cluster::balance::{self, INGEST_POLLERS, INGEST_SHARDS, LeaseFamily};
use crate::cluster::bus::EventBus;
use crate::cluster::metrics::ClusterMetrics;
use crate::cluster::ops::Readiness;
use crate::storage::{ClusterStore, StorageError, TokenKey};
use crate::twitch::eventsub::subscriptions::WANTED;
use publisher::Publisher;
use twitch_app::{Conduit, TwitchApp};

/// The lease of the node that creates the conduit when there is none.
const CONDUIT_LEASE: &str = "ingest-conduit";
/// The lease of the node that keeps the channels' subscriptions.
const SUBSCRIPTIONS_LEASE: &str = "ingest-subscriptions";
/// How often every channel's subscriptions are checked against Twitch's
/// list (new channels are picked up every `reconcile_every`).
const FULL_CHECK: Duration = Duration::from_secs(300);

/// Tuning for an ingest node.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Shards each node keeps a session on.
    pub shards_per_node: u32,
    /// How long leases last without renewal.
    pub lease_ttl: Duration,
    /// How often each channel's followers are polled.
    pub poll_every: Duration,
    /// How often each channel's subscriber, VIP, moderator and ban lists
    /// are polled (by the same task, under the same lease).
    pub lists_every: Duration,
    /// How often new channels are looked for (and subscribed).
    pub reconcile_every: Duration,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            shards_per_node: 2,
            lease_ttl: Duration::from_secs(10),
            poll_every: Duration::from_secs(60),
            lists_every: Duration::from_secs(300),
            reconcile_every: Duration::from_secs(2),
        }
    }
}

/// What an ingest node's tasks share.
pub struct IngestShared {
    pub node: String,
    pub app: Arc<TwitchApp>,
    pub store: Arc<dyn ClusterStore>,
    pub bus: EventBus,
    pub publisher: Publisher,
    /// Events the pollers recovered, published apart so a burst of them
    /// never delays what the shard sessions read.
    pub recovered: Publisher,
    pub metrics: Arc<ClusterMetrics>,
    pub ready: Readiness,
    /// The EventSub WebSocket address (Twitch's, or a look-alike's).
    pub eventsub_url: String,
    pub token_key: Option<Arc<TokenKey>>,
    /// Woken by a `conduit.shard.disabled` notification: the next balance
    /// step runs at once.
    pub shard_disabled: Notify,
    pub options: IngestOptions,
}

struct Running {
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

/// Runs the ingest node until `stop`, then drains: shard sessions close (no
/// new events are read), what was read is published and acknowledged, and
/// the leases are given up.
pub async fn run(shared: Arc<IngestShared>, stop: CancellationToken) -> Result<(), String> {
    let conduit = loop {
        match ensure_conduit(&shared).await {
            Ok(c) => break c,
            Err(why) => {
                tracing::warn!("no conduit yet: {why}");
                shared.ready.set("conduit", Err(why));
                tokio::select! {
                    _ = stop.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    };
    shared.ready.set("conduit", Ok(()));
    tracing::info!(conduit_id = %conduit.id, shards = conduit.shard_count, "using conduit");

    let chat = tokio::spawn(chat::run(shared.clone(), stop.clone()));
    let reconcile = tokio::spawn(keep_subscriptions(
        shared.clone(),
        conduit.id.clone(),
        stop.clone(),
    ));
    let mut shards: BTreeMap<String, Running> = BTreeMap::new();
    let mut pollers: BTreeMap<String, Running> = BTreeMap::new();
    let mut conduit = conduit;
    let tick = shared.options.lease_ttl / 3;
    loop {
        match step(&shared, &mut conduit, &mut shards, &mut pollers).await {
            Ok(()) => shared.ready.set("database", Ok(())),
            Err(why) => {
                tracing::warn!("ingest balance step failed: {why}");
                shared.ready.set("database", Err(why));
            }
        }
        shared.ready.set(
            "holds shards",
            if shards.is_empty() {
                Err("none yet".into())
            } else {
                Ok(())
            },
        );
        shared.metrics.set_held("shards", shards.len());
        shared.metrics.set_held("pollers", pollers.len());
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(tick) => {}
            _ = shared.shard_disabled.notified() => {}
        }
    }
    tracing::info!("draining: closing shard sessions");
    for (_, run) in std::mem::take(&mut shards)
        .into_iter()
        .chain(std::mem::take(&mut pollers))
    {
        run.cancel.cancel();
        let _ = run.task.await;
    }
    let _ = reconcile.await;
    let _ = chat.await;
    let leases = shared.store.leases("ingest-").await.unwrap_or_default();
    for lease in leases.iter().filter(|l| l.holder == shared.node) {
        let _ = shared.store.release_lease(&lease.name, &shared.node).await;
    }
    Ok(())
}

/// The app's conduit, created (by one node) when there is none.
async fn ensure_conduit(shared: &IngestShared) -> Result<Conduit, String> {
    if let Some(c) = shared
        .app
        .conduits()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .next()
    {
        return Ok(c);
    }
    let ttl = shared.options.lease_ttl;
    if !shared
        .store
        .acquire_lease(CONDUIT_LEASE, &shared.node, ttl)
        .await
        .map_err(|e| e.to_string())?
    {
        return Err("another ingest node is creating the conduit".into());
    }
    // Listed again under the lease: another node may have just made it.
    let made = match shared
        .app
        .conduits()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .next()
    {
        Some(c) => c,
        None => shared
            .app
            .create_conduit(shared.options.shards_per_node)
            .await
            .map_err(|e| e.to_string())?,
    };
    let _ = shared
        .store
        .release_lease(CONDUIT_LEASE, &shared.node)
        .await;
    Ok(made)
}

async fn step(
    shared: &Arc<IngestShared>,
    conduit: &mut Conduit,
    shards: &mut BTreeMap<String, Running>,
    pollers: &mut BTreeMap<String, Running>,
) -> Result<(), String> {
    let ttl = shared.options.lease_ttl;
    let store = &shared.store;
    let node_lease = INGEST_SHARDS.node_lease(&shared.node);
    store
        .acquire_lease(&node_lease, &shared.node, ttl)
        .await
        .map_err(|e| e.to_string())?;
    let leases = store.leases("ingest-").await.map_err(|e| e.to_string())?;
    let now = Utc::now();
    let nodes = leases
        .iter()
        .filter(|l| l.expires_at > now && l.name.starts_with(INGEST_SHARDS.nodes))
        .count()
        .max(1) as u32;

    // More nodes, more shards (never fewer: a shrink would disable shards
    // that still hold sessions).
    let wanted = nodes * shared.options.shards_per_node;
    if conduit.shard_count < wanted {
        match shared.app.resize_conduit(&conduit.id, wanted).await {
            Ok(c) => {
                tracing::info!(
                    shards = c.shard_count,
                    "conduit grown for {nodes} ingest nodes"
                );
                *conduit = c;
            }
            Err(e) => tracing::warn!("cannot grow the conduit: {e}"),
        }
    }
    let shard_items: Vec<String> = (0..conduit.shard_count).map(|s| s.to_string()).collect();
    rebalance(
        shared,
        INGEST_SHARDS,
        &shard_items,
        &leases,
        shards,
        |shared, item, cancel| {
            let shard: u32 = item.parse().unwrap_or_default();
            let conduit_id = conduit.id.clone();
            tokio::spawn(shard::run(shared, conduit_id, shard, cancel))
        },
    )
    .await
    .map_err(|e| e.to_string())?;

    let channels: Vec<String> = store
        .channels()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|c| c.id)
        .collect();
    rebalance(
        shared,
        INGEST_POLLERS,
        &channels,
        &leases,
        pollers,
        |shared, item, cancel| tokio::spawn(poller::run(shared, item.to_owned(), cancel)),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(())
}

/// Renews held leases, then takes and gives up items as the plan says,
/// starting and stopping their tasks.
async fn rebalance(
    shared: &Arc<IngestShared>,
    family: LeaseFamily,
    items: &[String],
    leases: &[crate::storage::Lease],
    running: &mut BTreeMap<String, Running>,
    start: impl Fn(Arc<IngestShared>, &str, CancellationToken) -> JoinHandle<()>,
) -> Result<(), StorageError> {
    let store = &shared.store;
    running.retain(|_, r| !r.task.is_finished());
    // Renewed in one statement, however many are held.
    let held: Vec<String> = running.keys().cloned().collect();
    let renewed = take_leases(shared, family, &held).await?;
    for item in held {
        if !renewed.contains(&family.item_lease(&item))
            && let Some(run) = running.remove(&item)
        {
            tracing::warn!(item = %item, "lease lost; stopping");
            run.cancel.cancel();
        }
    }
    let plan = balance::plan(family, items, &shared.node, leases, Utc::now());
    for item in plan.release {
        if let Some(run) = running.remove(&item) {
            run.cancel.cancel();
            let _ = run.task.await;
        }
        store
            .release_lease(&family.item_lease(&item), &shared.node)
            .await?;
    }
    let wanted: Vec<String> = plan
        .acquire
        .into_iter()
        .filter(|item| !running.contains_key(item))
        .collect();
    let taken = take_leases(shared, family, &wanted).await?;
    for item in wanted {
        if taken.contains(&family.item_lease(&item)) {
            let cancel = CancellationToken::new();
            let task = start(shared.clone(), &item, cancel.clone());
            running.insert(item, Running { cancel, task });
        }
    }
    Ok(())
}

/// Takes or renews the leases of `items` in one statement; answers the
/// lease names this node holds now.
async fn take_leases(
    shared: &IngestShared,
    family: LeaseFamily,
    items: &[String],
) -> Result<HashSet<String>, StorageError> {
    let names: Vec<String> = items.iter().map(|i| family.item_lease(i)).collect();
    Ok(shared
        .store
        .acquire_leases(&names, &shared.node, shared.options.lease_ttl)
        .await?
        .into_iter()
        .collect())
}

/// While holding the subscriptions lease: every channel has its baseline and
/// its subscriptions on the conduit, and the app hears of disabled shards.
/// New channels are looked for every `reconcile_every`; every channel is
/// checked against Twitch's list again every [`FULL_CHECK`].
async fn keep_subscriptions(shared: Arc<IngestShared>, conduit: String, stop: CancellationToken) {
    let mut done: HashSet<String> = HashSet::new();
    let mut last_full = tokio::time::Instant::now();
    loop {
        let ttl = (shared.options.reconcile_every * 3).max(shared.options.lease_ttl);
        if last_full.elapsed() >= FULL_CHECK {
            done.clear();
            last_full = tokio::time::Instant::now();
        }
        match shared
            .store
            .acquire_lease(SUBSCRIPTIONS_LEASE, &shared.node, ttl)
            .await
        {
            Ok(true) => match reconcile(&shared, &conduit, &mut done).await {
                Ok(()) => shared.ready.set("subscriptions", Ok(())),
                Err(why) => {
                    tracing::warn!("subscriptions not reconciled: {why}");
                    shared.ready.set("subscriptions", Err(why));
                }
            },
            Ok(false) => {
                done.clear();
                shared.ready.set("subscriptions", Ok(()));
            }
            Err(e) => tracing::warn!("subscriptions lease: {e}"),
        }
        tokio::select! {
            _ = stop.cancelled() => {
                let _ = shared.store.release_lease(SUBSCRIPTIONS_LEASE, &shared.node).await;
                return;
            }
            _ = tokio::time::sleep(shared.options.reconcile_every) => {}
        }
    }
}

/// Creates what is missing: the shard-disabled subscription, then per
/// channel its follower baseline and its subscriptions (the baseline first,
/// so a follow arriving while subscribing is announced, not swallowed).
async fn reconcile(
    shared: &Arc<IngestShared>,
    conduit: &str,
    done: &mut HashSet<String>,
) -> Result<(), String> {
    let channels = shared.store.channels().await.map_err(|e| e.to_string())?;
    let new = channels.iter().filter(|c| !done.contains(&c.id)).count();
    // "" stands for the shard-disabled subscription (no channel id is empty).
    if new == 0 && done.contains("") {
        return Ok(());
    }
    shared.ready.set(
        "subscriptions",
        Err(format!("{new} channels without subscriptions yet")),
    );
    let existing: HashSet<(String, String)> = shared
        .app
        .subscriptions()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|(kind, condition)| (kind, condition.to_string()))
        .collect();
    let disabled = json!({"client_id": shared.app.client_id(), "conduit_id": conduit});
    if !existing.contains(&("conduit.shard.disabled".to_owned(), disabled.to_string())) {
        shared
            .app
            .subscribe(conduit, "conduit.shard.disabled", "1", &disabled)
            .await
            .map_err(|e| e.to_string())?;
    }
    done.insert(String::new());
    for channel in &channels {
        if done.contains(&channel.id) {
            continue;
        }
        let span = tracing::info_span!("subscriptions", channel_id = %channel.id);
        poller::take_baseline(shared, &channel.id)
            .instrument(span.clone())
            .await?;
        let mut refused = Vec::new();
        for spec in WANTED {
            let condition =
                serde_json::Value::Object(spec.condition.build(&channel.id, &channel.id));
            if existing.contains(&(spec.kind.to_owned(), condition.to_string())) {
                continue;
            }
            match shared
                .app
                .subscribe(conduit, spec.kind, spec.version, &condition)
                .await
            {
                Ok(()) => {}
                // Not authorised for this type: one kind of event fewer, not
                // the channel.
                Err(twitch_app::AppError::Status {
                    status: 403 | 400,
                    message,
                    ..
                }) => {
                    refused.push(format!("{} ({message})", spec.kind));
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        if !refused.is_empty() {
            tracing::info!("subscriptions Twitch refused: {}", refused.join(", "));
        }
        done.insert(channel.id.clone());
    }
    Ok(())
}
