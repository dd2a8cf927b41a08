//! One stream partition consumed by the worker holding its lease: fetch a
//! batch, run it through the pipeline (dedup, plugins), commit events,
//! alerts, kv and the cursor in one transaction, then ack and publish. A
//! worker killed anywhere in that sequence loses nothing (the next holder
//! resumes after the committed cursor) and doubles nothing (events and
//! alerts are stored once by id).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::WorkerShared;
use super::plugins::{Outcome, PluginThread};
use crate::cluster::bus::{BusError, BusMessage, PartitionConsumer, PullGrace};
use crate::cluster::envelope::Envelope;
use crate::cluster::metrics::BatchPhase;
use crate::cluster::subjects::ChannelSubject;
use crate::event::EventKind;
use crate::storage::{Commit, Inserted, NewAlert, NewEvent, StorageError, StreamCursor};

/// Why a partition runner stopped.
#[derive(Debug)]
pub enum Stopped {
    /// Asked to (drain, or the partition went to another worker).
    Cancelled,
    /// Another worker holds the lease now.
    LeaseLost,
}

/// When a partition's lease ends at the latest, kept up to date by the
/// worker's renewals and read by the runner before each pull.
#[derive(Clone)]
pub struct LeaseEnds(Arc<std::sync::Mutex<tokio::time::Instant>>);

impl LeaseEnds {
    /// A lease ending at `at`.
    pub fn new(at: tokio::time::Instant) -> Self {
        LeaseEnds(Arc::new(std::sync::Mutex::new(at)))
    }

    /// After a renewal.
    pub fn set(&self, at: tokio::time::Instant) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }

    fn get(&self) -> tokio::time::Instant {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Consumes `partition` until cancelled or its lease is lost.
pub async fn run(
    shared: Arc<WorkerShared>,
    partition: u32,
    lease_ends: LeaseEnds,
    cancel: CancellationToken,
) -> Stopped {
    const FIRST_PAUSE: Duration = Duration::from_millis(200);
    let mut pause = FIRST_PAUSE;
    let mut grace = PullGrace::default();
    loop {
        if cancel.is_cancelled() {
            return Stopped::Cancelled;
        }
        let mut progressed = false;
        match consume(
            &shared,
            partition,
            &lease_ends,
            &mut grace,
            &mut progressed,
            &cancel,
        )
        .await
        {
            Ok(stopped) => return stopped,
            Err(why) => {
                // Failures in a row wait longer; one after a consumer that
                // worked starts over, so a long-lived worker's rare failure
                // costs the short pause, not the longest.
                if progressed {
                    pause = FIRST_PAUSE;
                }
                tracing::warn!(
                    partition,
                    "partition consumer failed, retrying in {pause:?}: {why}"
                );
                shared.ready.set(
                    &format!("partition {partition}"),
                    Err(format!("consumer failed: {why}")),
                );
                tokio::select! {
                    _ = cancel.cancelled() => return Stopped::Cancelled,
                    _ = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn consume(
    shared: &Arc<WorkerShared>,
    partition: u32,
    lease_ends: &LeaseEnds,
    grace: &mut PullGrace,
    progressed: &mut bool,
    cancel: &CancellationToken,
) -> Result<Stopped, String> {
    let cursor = shared
        .store
        .cursor(partition)
        .await
        .map_err(|e| e.to_string())?;
    let mut consumer = PartitionConsumer::open(&shared.bus, partition, cursor)
        .await
        .map_err(|e| e.to_string())?;
    consumer.set_pull_grace(*grace);
    shared.ready.set(&format!("partition {partition}"), Ok(()));
    tracing::info!(partition, after = ?cursor, "consuming partition");
    let mut followers = FollowerCache::default();
    let mut thread = PluginThread::default();
    loop {
        if cancel.is_cancelled() {
            return Ok(Stopped::Cancelled);
        }
        // Never pull what could not be committed while the lease holds: a
        // successor would not see it, and acking past it would lose it.
        consumer.hold_until(lease_ends.get().into_std(), shared.options.lease_ttl);
        let fetched = tokio::select! {
            // Stop fetching at once on drain; a batch already fetched is
            // finished below.
            _ = cancel.cancelled() => return Ok(Stopped::Cancelled),
            got = consumer.fetch(shared.options.batch, shared.options.fetch_wait) => got,
        };
        let batch = match fetched {
            Ok(batch) => {
                *progressed = true;
                if *grace != PullGrace::default() {
                    grace.answered();
                    consumer.set_pull_grace(*grace);
                }
                batch
            }
            // The renewal is late: wait for it rather than pull.
            Err(BusError::LeaseEnding { .. }) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Err(e @ BusError::Unanswered { .. }) => {
                grace.unanswered();
                return Err(format!("{e}; the next pulls get {:?}", grace.get()));
            }
            Err(e) => return Err(e.to_string()),
        };
        // The server says with each delivery how many are left behind it;
        // an empty batch means none.
        let lag = batch.last().map_or(0, |m| m.pending);
        shared.metrics.set_consumer_lag(partition, lag);
        if batch.is_empty() {
            continue;
        }
        match process(shared, partition, &batch, &mut followers, &mut thread).await {
            Ok(()) => {}
            Err(StorageError::LeaseLost(_)) => return Ok(Stopped::LeaseLost),
            Err(e) => return Err(e.to_string()),
        }
        if let Some(last) = batch.last() {
            let started = Instant::now();
            consumer
                .ack_through(last)
                .await
                .map_err(|e| e.to_string())?;
            shared
                .metrics
                .observe_batch_phase(BatchPhase::Ack, started.elapsed());
        }
    }
}

/// Follower ids known per channel, loaded on first use: a follow of a known
/// follower is the same follow announced twice (EventSub and the poller).
#[derive(Default)]
struct FollowerCache {
    known: HashMap<String, HashSet<String>>,
}

/// Runs one batch through the pipeline and commits it; retries the commit
/// while the database is unreachable (nothing is acked meanwhile).
async fn process(
    shared: &Arc<WorkerShared>,
    partition: u32,
    batch: &[BusMessage],
    followers: &mut FollowerCache,
    thread: &mut PluginThread,
) -> Result<(), StorageError> {
    let mut envelopes = Vec::with_capacity(batch.len());
    for message in batch {
        if message.delivered > 1 {
            shared.metrics.redeliveries(partition, 1);
        }
        match Envelope::decode(&message.payload) {
            Ok(envelope) if envelope.event.channel_id == message.channel.as_str() => {
                envelopes.push(envelope)
            }
            Ok(envelope) => {
                tracing::warn!(
                    partition,
                    sequence = message.sequence,
                    "event for channel {} published on channel {}'s subject; dropped",
                    envelope.event.channel_id,
                    message.channel
                );
                shared.metrics.malformed(1);
            }
            Err(why) => {
                tracing::warn!(partition, sequence = message.sequence, "{why}; dropped");
                shared.metrics.malformed(1);
            }
        }
    }
    shared.metrics.events_in(partition, envelopes.len() as u64);
    let fetched_at = Utc::now();
    if let Some(oldest) = envelopes.iter().map(|e| e.received_at).min() {
        let queued = (fetched_at - oldest).to_std().unwrap_or_default();
        shared
            .metrics
            .observe_batch_phase(BatchPhase::Queued, queued);
    }
    let mut phase = Instant::now();

    // Follows already announced are duplicates (cross-source dedup).
    let mut commit = Commit::default();
    let mut kept = Vec::with_capacity(envelopes.len());
    for envelope in envelopes {
        let event = &envelope.event;
        if !shared
            .channels
            .exists(&shared.store, &event.channel_id)
            .await?
        {
            tracing::warn!(channel_id = %event.channel_id, event_id = %event.id, "event for a channel this cluster does not serve; dropped");
            shared.metrics.malformed(1);
            continue;
        }
        if event.kind == EventKind::Follow
            && let Some(viewer) = &event.viewer
        {
            let known = match followers.known.get_mut(&event.channel_id) {
                Some(known) => known,
                None => {
                    let ids = shared.store.known_followers(&event.channel_id).await?;
                    followers
                        .known
                        .entry(event.channel_id.clone())
                        .or_insert_with(|| ids.into_iter().collect())
                }
            };
            if !known.insert(viewer.id.clone()) {
                shared.metrics.duplicates(partition, 1);
                continue;
            }
            commit
                .known_followers
                .push((event.channel_id.clone(), viewer.id.clone()));
        }
        kept.push(envelope);
    }

    // Plugins, channel by channel, in stream order, on a blocking thread.
    let mut entries = HashMap::new();
    for envelope in &kept {
        let channel = &envelope.event.channel_id;
        if !entries.contains_key(channel) {
            entries.insert(channel.clone(), shared.plugins.channel(channel).await?);
        }
    }
    phase = shared.metrics.batch_phase_done(BatchPhase::Prepare, phase);
    let plugins = shared.plugins.clone();
    let events: Vec<_> = kept.iter().map(|e| e.event.clone()).collect();
    let outcomes: Vec<Outcome> = thread
        .run(move || {
            events
                .iter()
                .map(|event| match entries.get(&event.channel_id) {
                    Some(entry) => plugins.handle(event, entry),
                    None => Outcome::default(),
                })
                .collect()
        })
        .await
        .map_err(StorageError::Backend)?;
    phase = shared.metrics.batch_phase_done(BatchPhase::Plugins, phase);

    for (envelope, outcome) in kept.iter().zip(&outcomes) {
        let event = &envelope.event;
        for (plugin, why) in &outcome.faults {
            tracing::warn!(channel_id = %event.channel_id, plugin = %plugin, event_id = %event.id, "plugin fault: {why}");
            shared.metrics.plugin_fault(plugin);
        }
        commit
            .events
            .push(NewEvent::from_event(event, outcome.display.clone()));
        for (n, alert) in outcome.alerts.iter().enumerate() {
            commit.alerts.push(NewAlert {
                channel_id: event.channel_id.clone(),
                id: alert_id(&event.id, &alert.plugin, n),
                overlay: alert.overlay.clone(),
                event_id: Some(event.id.clone()),
                plugin: Some(alert.plugin.clone()),
                body: alert.body.clone(),
            });
        }
        commit.kv.extend(outcome.kv.iter().cloned());
    }
    if let Some(last) = batch.last() {
        commit.cursors = vec![StreamCursor {
            partition,
            sequence: last.sequence,
            holder: shared.node.clone(),
        }];
    }

    let committed = commit_retrying(shared, commit.clone()).await?;
    let stored_at = Utc::now();
    phase = shared.metrics.batch_phase_done(BatchPhase::Commit, phase);

    // Live updates and alerts go out only for what is newly stored.
    let mut new_events = 0;
    for ((envelope, inserted), new) in kept.iter().zip(&committed.events).zip(&commit.events) {
        let Inserted::New(seq) = inserted else {
            shared.metrics.duplicates(partition, 1);
            continue;
        };
        new_events += 1;
        let latency = (stored_at - envelope.received_at)
            .to_std()
            .unwrap_or_default();
        shared.metrics.observe_stored(latency);
        let live = json!({
            "topic": "events",
            "seq": seq,
            "event": new.body,
            "display": new.display,
        });
        let Ok(channel) = ChannelSubject::parse(&new.channel_id) else {
            continue;
        };
        shared
            .bus
            .publish_live(&channel, live.to_string().into())
            .await
            .map_err(|e| StorageError::Backend(format!("publishing live update: {e}")))?;
    }
    // When each event arrived, for its alerts' latency (one lookup each,
    // not a scan of the batch per alert).
    let received: HashMap<&str, chrono::DateTime<Utc>> = kept
        .iter()
        .map(|e| (e.event.id.as_str(), e.received_at))
        .collect();
    let positions: HashMap<&str, i64> = committed
        .alerts
        .iter()
        .map(|(id, pos)| (id.as_str(), *pos))
        .collect();
    for alert in &commit.alerts {
        let Some(position) = positions.get(alert.id.as_str()) else {
            continue;
        };
        let received_at = alert
            .event_id
            .as_deref()
            .and_then(|id| received.get(id))
            .copied()
            .unwrap_or(stored_at);
        let message = json!({
            "id": alert.id,
            "overlay": alert.overlay,
            "position": position,
            "event_id": alert.event_id,
            "plugin": alert.plugin,
            "alert": alert.body,
            "received_at": received_at,
        });
        let Ok(channel) = ChannelSubject::parse(&alert.channel_id) else {
            continue;
        };
        shared
            .bus
            .publish_alert(&channel, message.to_string().into())
            .await
            .map_err(|e| StorageError::Backend(format!("publishing alert: {e}")))?;
    }
    // Chat and webhooks only for events stored now: a redelivered event
    // says nothing twice.
    for ((inserted, outcome), envelope) in committed.events.iter().zip(&outcomes).zip(&kept) {
        if !matches!(inserted, Inserted::New(_)) {
            continue;
        }
        for (plugin, url, body) in &outcome.webhooks {
            shared
                .webhooks
                .spawn(plugin.clone(), url.clone(), body.clone());
        }
        for (plugin, text) in &outcome.chat {
            let Ok(channel) = ChannelSubject::parse(&envelope.event.channel_id) else {
                continue;
            };
            let request = json!({"text": text, "plugin": plugin, "event_id": envelope.event.id});
            if let Err(e) = shared
                .bus
                .publish_chat(&channel, request.to_string().into())
                .await
            {
                tracing::warn!(channel_id = %channel, plugin = %plugin, "chat message not sent: {e}");
            }
        }
    }
    shared.metrics.batch_phase_done(BatchPhase::Publish, phase);
    shared.metrics.events_out(partition, new_events);
    Ok(())
}

/// Commits, waiting out a database outage (with growing pauses) rather than
/// dropping work: nothing is acked until the commit holds.
async fn commit_retrying(
    shared: &Arc<WorkerShared>,
    commit: Commit,
) -> Result<crate::storage::Committed, StorageError> {
    let mut pause = Duration::from_millis(100);
    loop {
        match shared.committer.commit(commit.clone()).await {
            Ok(done) => return Ok(done),
            Err(e @ StorageError::LeaseLost(_)) => return Err(e),
            Err(StorageError::Backend(why)) => {
                tracing::warn!("commit failed, retrying in {pause:?}: {why}");
                shared.ready.set("database", Err(why));
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            Err(other) => return Err(other),
        }
    }
}

/// A stable id for the `n`th alert `plugin` made of `event_id`: a
/// redelivered event makes the same ids, so its alerts are queued once.
fn alert_id(event_id: &str, plugin: &str, n: usize) -> String {
    let mut h = Sha256::new();
    h.update(event_id.as_bytes());
    h.update([0]);
    h.update(plugin.as_bytes());
    h.update([0]);
    h.update(n.to_le_bytes());
    hex::encode(&h.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::alert_id;

    #[test]
    fn alert_ids_are_stable_and_distinct() {
        assert_eq!(alert_id("e1", "p", 0), alert_id("e1", "p", 0));
        assert_ne!(alert_id("e1", "p", 0), alert_id("e1", "p", 1));
        assert_ne!(alert_id("e1", "p", 0), alert_id("e2", "p", 0));
        assert_ne!(alert_id("e1", "p", 0), alert_id("e1", "q", 0));
        assert_eq!(alert_id("e1", "p", 0).len(), 32);
    }
}
