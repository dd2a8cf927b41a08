//! The repositories every store has, whichever mode runs it: a channel's
//! event log, its overlay alert queue and its plugins' key-value data. The
//! single-streamer host's SQLite file ([`crate::store::StreamerStore`]) and
//! both cluster backends implement them, and one contract suite checks the
//! three against the same tests, so code written against these traits
//! behaves the same on a streamer's machine and on a cluster.
//!
//! Every call names the channel it acts for; a store refuses a write naming
//! a channel it does not have ([`StorageError::NoChannel`]) and writes
//! nothing of that call.

use std::collections::HashMap;

use super::{ChannelEvent, Inserted, KvChange, NewAlert, NewEvent, QueuedAlert, StorageError};

/// A channel's events, in the order they were stored. Each has a `seq` that
/// grows in that order: it is the cursor of every listing. A cluster's seqs
/// count 1, 2, … per channel; the single host's are the file's insertion
/// order, shared by every channel its file has seen. The single host keeps
/// times to the millisecond.
#[async_trait::async_trait]
pub trait EventLog: Send + Sync {
    /// Stores events in one transaction, in order. An id already stored in
    /// its channel is skipped ([`Inserted::Duplicate`]), so a redelivered
    /// event is never stored twice. Answers one [`Inserted`] per event. A
    /// store may refuse an event it cannot keep as given
    /// ([`StorageError::Invalid`]: the single host keeps events in columns,
    /// so the body must be a Stagehand event); then nothing is stored.
    async fn append_events(&self, events: Vec<NewEvent>) -> Result<Vec<Inserted>, StorageError>;
    /// A channel's newest events, newest first; `before` is a `seq`.
    async fn recent_events(
        &self,
        channel: &str,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Vec<ChannelEvent>, StorageError>;
    /// A channel's events in `seq` order from `after` (exclusive).
    async fn events_after(
        &self,
        channel: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ChannelEvent>, StorageError>;
    /// How many events a channel has stored.
    async fn event_count(&self, channel: &str) -> Result<i64, StorageError>;
}

/// Alerts waiting for a channel's overlays until a page acknowledges them.
#[async_trait::async_trait]
pub trait AlertQueue: Send + Sync {
    /// Queues alerts in one transaction, in order. An alert whose id is
    /// queued already in its channel is skipped, so an event handled twice
    /// does not show twice. Answers the position of each new alert. The
    /// single host refuses a body that is not a JSON object
    /// ([`StorageError::Invalid`]); then nothing is queued.
    async fn queue_alerts(&self, alerts: Vec<NewAlert>)
    -> Result<Vec<(String, i64)>, StorageError>;
    /// The alerts of one overlay not yet acknowledged, in order.
    async fn unacked_alerts(
        &self,
        channel: &str,
        overlay: &str,
        limit: u32,
    ) -> Result<Vec<QueuedAlert>, StorageError>;
    /// Marks an alert shown. Answers whether it was waiting (an alert of
    /// another overlay or channel, or one acknowledged already, answers
    /// false).
    async fn ack_alert(&self, channel: &str, overlay: &str, id: &str)
    -> Result<bool, StorageError>;
}

/// What each plugin keeps between events (its `kv` interface).
#[async_trait::async_trait]
pub trait PluginKv: Send + Sync {
    /// A plugin's key-value data in a channel.
    async fn plugin_kv(
        &self,
        channel: &str,
        plugin: &str,
    ) -> Result<HashMap<String, String>, StorageError>;
    /// Applies changes in one transaction, in order: the last change to a
    /// key wins, and `None` deletes it.
    async fn apply_kv(&self, changes: Vec<KvChange>) -> Result<(), StorageError>;
}

/// Everything a channel's event path reads and writes: what a caller that
/// must run on either mode's store asks for.
pub trait ChannelRepositories: EventLog + AlertQueue + PluginKv {}

impl<T: EventLog + AlertQueue + PluginKv + ?Sized> ChannelRepositories for T {}
