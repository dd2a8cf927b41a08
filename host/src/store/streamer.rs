//! The single host's store seen through the repositories every store has
//! ([`crate::storage::repositories`]): the same event log, alert queue and
//! plugin key-value calls a cluster worker or edge makes, answered from the
//! streamer's own SQLite file and its schema.
//!
//! The file holds one streamer. The alert queue and plugin data have no
//! channel column because everything in them is the streamer's. So a
//! [`StreamerStore`] is bound to the streamer's channel: a write naming
//! another channel is refused whole ([`StorageError::NoChannel`]), and a
//! read for another channel finds nothing (not even events the file keeps
//! under another channel id, such as test events fired before the streamer
//! logged in), exactly as a cluster store answers for a channel it does not
//! have.
//!
//! Where the file differs from a cluster store: times are kept to the
//! millisecond; an event id is unique in the whole file, not per channel;
//! `seq` and alert positions are the file's insertion order; and an event
//! is kept in columns, not as the JSON given, so its body must be a
//! Stagehand event that agrees with the fields beside it, and an alert's
//! body a JSON object ([`StorageError::Invalid`] otherwise).

use std::collections::HashMap;

use chrono::Utc;

use super::events::{self as event_rows, StoredEvent};
use super::{Store, StoreError, overlay_alerts, plugins};
use crate::event::Event;
use crate::storage::{
    AlertQueue, ChannelEvent, ChannelId, EventLog, Inserted, KvChange, NewAlert, NewEvent,
    PluginKv, QueuedAlert, StorageError,
};

impl From<StoreError> for StorageError {
    fn from(e: StoreError) -> Self {
        match e {
            // A stored row that does not read back as what it should be.
            StoreError::Sqlite(e @ rusqlite::Error::FromSqlConversionFailure(..)) => {
                StorageError::Malformed(e.to_string())
            }
            StoreError::TooNew {
                found, supported, ..
            } => StorageError::TooNew {
                found: found.into(),
                supported: supported.into(),
            },
            other => StorageError::Backend(other.to_string()),
        }
    }
}

/// One streamer's data in the single host's store, as channel-keyed
/// repositories.
#[derive(Clone)]
pub struct StreamerStore {
    store: Store,
    channel: ChannelId,
}

impl std::fmt::Debug for StreamerStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamerStore")
            .field("path", &self.store.path())
            .field("channel", &self.channel)
            .finish()
    }
}

impl StreamerStore {
    /// `store` as the repositories of `channel` (the broadcaster's Twitch
    /// user id).
    pub fn new(store: Store, channel: impl Into<ChannelId>) -> Self {
        StreamerStore {
            store,
            channel: channel.into(),
        }
    }

    /// The channel this store holds.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    fn holds(&self, channel: &str) -> bool {
        self.channel == channel
    }

    /// Refuses a write for a channel this store does not hold.
    fn writable(&self, channel: &str) -> Result<(), StorageError> {
        if self.holds(channel) {
            Ok(())
        } else {
            Err(StorageError::NoChannel(channel.to_owned()))
        }
    }
}

/// The host's event in a [`NewEvent`]'s body, checked against the fields
/// beside it.
fn event_of(new: NewEvent) -> Result<(Event, Option<serde_json::Value>), StorageError> {
    let event: Event = serde_json::from_value(new.body).map_err(|e| {
        StorageError::Invalid(format!(
            "event {}: the body is not a Stagehand event: {e}",
            new.id
        ))
    })?;
    if event.id != new.id || event.channel_id != new.channel_id {
        return Err(StorageError::Invalid(format!(
            "event {} of channel {}: its body says event {} of channel {}",
            new.id, new.channel_id, event.id, event.channel_id
        )));
    }
    let (kind, source) = (event.kind.to_string(), event.source.as_str());
    if kind != new.kind
        || source != new.source
        || event.occurred_at.timestamp_millis() != new.occurred_at.timestamp_millis()
    {
        return Err(StorageError::Invalid(format!(
            "event {}: its body says a {kind} from {source} at {}, the event a {} from {} at {}",
            new.id, event.occurred_at, new.kind, new.source, new.occurred_at
        )));
    }
    Ok((event, new.display))
}

fn channel_event(stored: StoredEvent) -> Result<ChannelEvent, StorageError> {
    let body = serde_json::to_value(&stored.event)
        .map_err(|e| StorageError::Malformed(format!("event {}: {e}", stored.event.id)))?;
    let event = stored.event;
    Ok(ChannelEvent {
        seq: stored.seq,
        kind: event.kind.to_string(),
        source: event.source.as_str().to_owned(),
        occurred_at: event.occurred_at,
        stored_at: stored.created_at,
        channel_id: event.channel_id,
        id: event.id,
        body,
        display: stored.display,
    })
}

fn channel_events(rows: Vec<StoredEvent>) -> Result<Vec<ChannelEvent>, StorageError> {
    rows.into_iter().map(channel_event).collect()
}

#[async_trait::async_trait]
impl EventLog for StreamerStore {
    async fn append_events(&self, events: Vec<NewEvent>) -> Result<Vec<Inserted>, StorageError> {
        for new in &events {
            self.writable(&new.channel_id)?;
        }
        let parsed = events
            .into_iter()
            .map(event_of)
            .collect::<Result<Vec<_>, _>>()?;
        if parsed.is_empty() {
            return Ok(Vec::new());
        }
        let inserted = self
            .store
            .write(move |c| {
                let now = Utc::now();
                parsed
                    .iter()
                    .map(|(event, display)| {
                        // Checked first so a duplicate touches nothing (its
                        // viewer row, the id sequence).
                        if event_rows::exists(c, &event.id)? {
                            return Ok(event_rows::Inserted::Duplicate);
                        }
                        event_rows::insert_with_display(c, event, display.as_ref(), now)
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?;
        Ok(inserted
            .into_iter()
            .map(|i| match i {
                event_rows::Inserted::New(seq) => Inserted::New(seq),
                event_rows::Inserted::Duplicate => Inserted::Duplicate,
            })
            .collect())
    }

    async fn recent_events(
        &self,
        channel: &str,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Vec<ChannelEvent>, StorageError> {
        if !self.holds(channel) {
            return Ok(Vec::new());
        }
        let channel = channel.to_owned();
        let before = before.unwrap_or(i64::MAX);
        let rows = self
            .store
            .read(move |c| event_rows::of_channel_before(c, &channel, before, limit))
            .await?;
        channel_events(rows)
    }

    async fn events_after(
        &self,
        channel: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ChannelEvent>, StorageError> {
        if !self.holds(channel) {
            return Ok(Vec::new());
        }
        let channel = channel.to_owned();
        let rows = self
            .store
            .read(move |c| event_rows::of_channel_after(c, &channel, after, limit))
            .await?;
        channel_events(rows)
    }

    async fn event_count(&self, channel: &str) -> Result<i64, StorageError> {
        if !self.holds(channel) {
            return Ok(0);
        }
        let channel = channel.to_owned();
        Ok(self
            .store
            .read(move |c| event_rows::count_of_channel(c, &channel))
            .await?)
    }
}

#[async_trait::async_trait]
impl AlertQueue for StreamerStore {
    async fn queue_alerts(
        &self,
        alerts: Vec<NewAlert>,
    ) -> Result<Vec<(String, i64)>, StorageError> {
        for alert in &alerts {
            self.writable(&alert.channel_id)?;
            if !alert.body.is_object() {
                return Err(StorageError::Invalid(format!(
                    "alert {}: the body must be a JSON object",
                    alert.id
                )));
            }
        }
        if alerts.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .store
            .write(move |c| {
                let now = Utc::now();
                let mut queued = Vec::with_capacity(alerts.len());
                for alert in &alerts {
                    if overlay_alerts::exists(c, &alert.id)? {
                        continue;
                    }
                    let position = overlay_alerts::enqueue(
                        c,
                        &alert.id,
                        &alert.overlay,
                        alert.event_id.as_deref(),
                        alert.plugin.as_deref(),
                        &alert.body,
                        now,
                    )?;
                    queued.push((alert.id.clone(), position));
                }
                Ok(queued)
            })
            .await?)
    }

    async fn unacked_alerts(
        &self,
        channel: &str,
        overlay: &str,
        limit: u32,
    ) -> Result<Vec<QueuedAlert>, StorageError> {
        if !self.holds(channel) {
            return Ok(Vec::new());
        }
        let overlay = overlay.to_owned();
        let rows = self
            .store
            .read(move |c| overlay_alerts::unacknowledged(c, &overlay, limit))
            .await?;
        Ok(rows
            .into_iter()
            .map(|(alert, queued_at)| QueuedAlert {
                channel_id: self.channel.clone(),
                id: alert.id,
                overlay: alert.overlay,
                position: alert.rowid,
                event_id: alert.event_id,
                plugin: alert.plugin,
                body: alert.payload,
                queued_at,
            })
            .collect())
    }

    async fn ack_alert(
        &self,
        channel: &str,
        overlay: &str,
        id: &str,
    ) -> Result<bool, StorageError> {
        if !self.holds(channel) {
            return Ok(false);
        }
        let (overlay, id) = (overlay.to_owned(), id.to_owned());
        Ok(self
            .store
            .write(move |c| overlay_alerts::ack_waiting(c, &overlay, &id, Utc::now()))
            .await?)
    }
}

#[async_trait::async_trait]
impl PluginKv for StreamerStore {
    async fn plugin_kv(
        &self,
        channel: &str,
        plugin: &str,
    ) -> Result<HashMap<String, String>, StorageError> {
        if !self.holds(channel) {
            return Ok(HashMap::new());
        }
        let plugin = plugin.to_owned();
        Ok(self
            .store
            .read(move |c| plugins::kv_load(c, &plugin))
            .await?)
    }

    async fn apply_kv(&self, changes: Vec<KvChange>) -> Result<(), StorageError> {
        // Grouped by plugin, each plugin's changes in the order given.
        let mut by_plugin: Vec<(String, Vec<(String, Option<String>)>)> = Vec::new();
        for change in changes {
            self.writable(&change.channel_id)?;
            let pair = (change.key, change.value);
            match by_plugin.iter_mut().find(|(p, _)| *p == change.plugin) {
                Some((_, pairs)) => pairs.push(pair),
                None => by_plugin.push((change.plugin, vec![pair])),
            }
        }
        if by_plugin.is_empty() {
            return Ok(());
        }
        Ok(self
            .store
            .write(move |c| {
                let now = Utc::now();
                by_plugin
                    .iter()
                    .try_for_each(|(plugin, pairs)| plugins::kv_apply(c, plugin, pairs, now))
            })
            .await?)
    }
}
