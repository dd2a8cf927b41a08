//! The channel-keyed repositories of cluster mode, behind one trait with two
//! backends: PostgreSQL (shared by every node of a cluster) and SQLite (one
//! file, for a single-machine trial of the cluster roles and for the contract
//! suite). Every method takes the channel it acts for and every statement is
//! filtered by it, so a request for one channel can never reach another's
//! rows. The schema of both comes from one list of migrations
//! ([`migrations`]).
//!
//! The repositories both modes have (a channel's event log, overlay alert
//! queue and plugin key-value data) are separate traits
//! ([`repositories`]): the single-streamer host's store implements them too
//! ([`crate::store::StreamerStore`]), and the contract suite runs their
//! tests against all three stores. [`ClusterStore`] adds what only a
//! cluster has: many channels and their secrets, stream cursors and leases.

mod codec;
pub mod copy;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod migrations;
mod plan;
pub mod postgres;
pub mod repositories;
pub mod sealed;
pub mod sqlite;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use postgres::PostgresStore;
pub use repositories::{AlertQueue, ChannelRepositories, EventLog, PluginKv};
pub use sealed::{SealError, TokenKey};
pub use sqlite::SqliteStore;

/// A channel: the broadcaster's Twitch user id (digits).
pub type ChannelId = String;

/// Why a repository call failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database could not be reached or refused the statement.
    #[error("database error: {0}")]
    Backend(String),
    /// The channel named does not exist.
    #[error("no channel {0}")]
    NoChannel(String),
    /// A channel with this id or login exists already.
    #[error("channel {0} exists already")]
    ChannelExists(String),
    /// Stored data could not be read back (a row written by a newer version,
    /// or changed by hand).
    #[error("stored data is malformed: {0}")]
    Malformed(String),
    /// A commit carried a cursor for a partition whose lease its holder no
    /// longer holds; nothing was written.
    #[error("lease {0} is not held by this node any more")]
    LeaseLost(String),
    /// What was given to store cannot be stored as it is (an event body
    /// that is not a Stagehand event, an alert body that is not an object);
    /// nothing of the call was written.
    #[error("cannot store this: {0}")]
    Invalid(String),
    /// The schema in the database is newer than this build knows.
    #[error("database schema version {found} is newer than this Stagehand supports ({supported})")]
    TooNew { found: i64, supported: i64 },
}

/// A channel as the cluster knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub id: ChannelId,
    pub login: String,
    pub created_at: DateTime<Utc>,
}

/// One event to store. `id` is unique within the channel (the Twitch message
/// id, or an id derived from the source; the single host's file keeps it
/// unique in the whole file); storing it again is a no-op.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub channel_id: ChannelId,
    pub id: String,
    pub kind: String,
    pub source: String,
    pub occurred_at: DateTime<Utc>,
    /// The event as JSON (the host's [`crate::event::Event`] serialised).
    pub body: Value,
    /// What formatter plugins made of it, if anything.
    pub display: Option<Value>,
}

impl NewEvent {
    /// The event as a store takes it, with what formatter plugins made of
    /// it.
    pub fn from_event(event: &crate::event::Event, display: Option<Value>) -> NewEvent {
        // An event is plain data (string keys, no custom serialisers), so
        // this cannot fail; if it ever did, the event is kept without its
        // body rather than holding up every event behind it.
        let body = serde_json::to_value(event).unwrap_or_else(|e| {
            tracing::error!(event_id = %event.id, error = %e, "cannot write the event as JSON; stored without its body");
            Value::Null
        });
        NewEvent {
            channel_id: event.channel_id.clone(),
            id: event.id.clone(),
            kind: event.kind.to_string(),
            source: event.source.as_str().to_owned(),
            occurred_at: event.occurred_at,
            body,
            display,
        }
    }
}

/// An event as stored: `seq` is its position in storage order (in a
/// cluster 1, 2, … per channel, in commit order; see [`EventLog`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelEvent {
    pub channel_id: ChannelId,
    pub seq: i64,
    pub id: String,
    pub kind: String,
    pub source: String,
    pub occurred_at: DateTime<Utc>,
    pub stored_at: DateTime<Utc>,
    pub body: Value,
    pub display: Option<Value>,
}

/// What happened to one event of a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// Stored with this `seq` (see [`EventLog`]).
    New(i64),
    /// An event with this id was already stored in the channel.
    Duplicate,
}

/// An alert for one overlay of a channel. `id` is unique within the channel
/// (derived from the event and the plugin, so a redelivered event makes the
/// same id and is not queued twice).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    pub channel_id: ChannelId,
    pub id: String,
    pub overlay: String,
    pub event_id: Option<String>,
    pub plugin: Option<String>,
    /// The alert as the overlay page receives it.
    pub body: Value,
}

/// A queued alert: `position` orders a channel's alerts.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedAlert {
    pub channel_id: ChannelId,
    pub id: String,
    pub overlay: String,
    pub position: i64,
    pub event_id: Option<String>,
    pub plugin: Option<String>,
    pub body: Value,
    pub queued_at: DateTime<Utc>,
}

/// One key-value change of a plugin (`None` deletes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvChange {
    pub channel_id: ChannelId,
    pub plugin: String,
    pub key: String,
    pub value: Option<String>,
}

/// Where a consumer of the event stream has got to: committed in the same
/// transaction as the work it stands for, so a restarted consumer resumes
/// exactly after the last committed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamCursor {
    /// Which stream partition (a worker partition number).
    pub partition: u32,
    /// The last stream sequence whose work is committed.
    pub sequence: u64,
    /// Who commits: the holder of the partition's lease
    /// (`worker-partition-<partition>`). A commit from anyone else is
    /// refused ([`StorageError::LeaseLost`]), so a worker that stalled past
    /// its lease cannot move the cursor behind its successor's back.
    pub holder: String,
}

/// Everything one batch of work commits together: the events it stored, the
/// alerts they produced, the plugins' key-value changes and the stream
/// position. Either all of it is stored or none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Commit {
    pub events: Vec<NewEvent>,
    pub alerts: Vec<NewAlert>,
    pub kv: Vec<KvChange>,
    /// Followers the stored follow events announced: added to the channel's
    /// baseline with them, so the follower poller does not announce them
    /// again.
    pub known_followers: Vec<(ChannelId, String)>,
    /// The stream positions this work reaches, one per partition (a worker
    /// may commit several partitions' batches together). Each is written
    /// only while its holder still holds the partition's lease: if any
    /// lease is lost, nothing of the commit is written.
    pub cursors: Vec<StreamCursor>,
}

impl Commit {
    /// A commit of events only.
    pub fn of_events(events: Vec<NewEvent>) -> Commit {
        Commit {
            events,
            ..Commit::default()
        }
    }

    /// A commit of alerts only.
    pub fn of_alerts(alerts: Vec<NewAlert>) -> Commit {
        Commit {
            alerts,
            ..Commit::default()
        }
    }

    /// A commit of key-value changes only.
    pub fn of_kv(kv: Vec<KvChange>) -> Commit {
        Commit {
            kv,
            ..Commit::default()
        }
    }
}

/// What a [`Commit`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Committed {
    /// One per event of the commit, in its order.
    pub events: Vec<Inserted>,
    /// The position of each alert that was new (in the commit's order);
    /// alerts already queued are left out.
    pub alerts: Vec<(String, i64)>,
}

/// A plugin as one channel has it: the package bytes, the permissions the
/// streamer granted and the settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelPlugin {
    pub channel_id: ChannelId,
    pub name: String,
    /// The `.stagehand` package or bare component.
    pub package: Vec<u8>,
    /// Hex SHA-256 of `package` (compiled code is cached by it).
    pub digest: String,
    pub granted: Vec<String>,
    pub settings: Value,
    pub enabled: bool,
    pub updated_at: DateTime<Utc>,
}

/// One of a channel's polled lists. The list pollers keep what each showed
/// last (its baseline) so a later poll can tell what changed; the VIP and
/// moderator lists are also the channel's role state in cluster mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemberList {
    Subscribers,
    Vips,
    Moderators,
    Banned,
}

impl MemberList {
    /// Every list, in the order the pollers visit them.
    pub const ALL: [MemberList; 4] = [
        MemberList::Subscribers,
        MemberList::Vips,
        MemberList::Moderators,
        MemberList::Banned,
    ];

    /// The list's name in the database (`member_lists.list`).
    pub fn as_str(self) -> &'static str {
        match self {
            MemberList::Subscribers => "subscribers",
            MemberList::Vips => "vips",
            MemberList::Moderators => "moderators",
            MemberList::Banned => "banned",
        }
    }
}

impl std::fmt::Display for MemberList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Someone on a channel's list, as the list showed them.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Twitch user id: members are matched by it, never by login.
    pub user_id: String,
    pub login: String,
    pub display_name: String,
    /// What the list says beyond the names, as a JSON object (a
    /// subscription's tier and gift flag, a ban's expiry and reason).
    pub data: Value,
}

/// A channel's list as last recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Members {
    /// Changes recorded since the baseline (1 for the baseline itself).
    /// Events found against this state carry it in their ids, so a change
    /// found twice before it is recorded gets one id, and the same change
    /// found again later (a role granted, revoked and granted again) another.
    pub generation: i64,
    /// Ordered by user id.
    pub members: Vec<Member>,
}

/// A lease: `name` held by `holder` until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub name: String,
    pub holder: String,
    pub expires_at: DateTime<Utc>,
}

/// The cluster's repositories: the [`ChannelRepositories`] every store has,
/// and what only a cluster has. Every call names the channel it acts for
/// (or, for leases and cursors, cluster-wide names), and implementations
/// filter every statement by it.
#[async_trait::async_trait]
pub trait ClusterStore: ChannelRepositories + 'static {
    // Channels and their secrets.

    /// Adds a channel. Its overlay key and dashboard token are set apart.
    async fn create_channel(&self, id: &str, login: &str) -> Result<Channel, StorageError>;
    async fn channel(&self, id: &str) -> Result<Option<Channel>, StorageError>;
    async fn channels(&self) -> Result<Vec<Channel>, StorageError>;
    /// Stores the SHA-256 of the channel's overlay key (the key itself is
    /// never stored).
    async fn set_overlay_key_digest(&self, channel: &str, digest: &str)
    -> Result<(), StorageError>;
    /// The channel whose overlay key has this digest.
    async fn channel_by_overlay_key(&self, digest: &str)
    -> Result<Option<ChannelId>, StorageError>;
    /// Stores the SHA-256 of the channel's dashboard token.
    async fn set_dashboard_token_digest(
        &self,
        channel: &str,
        digest: &str,
    ) -> Result<(), StorageError>;
    /// The channel whose dashboard token has this digest.
    async fn channel_by_dashboard_token(
        &self,
        digest: &str,
    ) -> Result<Option<ChannelId>, StorageError>;
    /// Stores the channel's Twitch user token, sealed with the cluster's
    /// [`TokenKey`] (see [`sealed`]); `None` removes it.
    async fn set_sealed_user_token(
        &self,
        channel: &str,
        sealed: Option<&[u8]>,
    ) -> Result<(), StorageError>;
    async fn sealed_user_token(&self, channel: &str) -> Result<Option<Vec<u8>>, StorageError>;

    // Events, alerts, plugin state: written together.

    /// Commits a batch of work in one transaction (see [`Commit`]). Events
    /// and alerts already stored are skipped, so a redelivered batch changes
    /// nothing but the cursor.
    async fn commit(&self, commit: Commit) -> Result<Committed, StorageError>;
    /// The last committed position of a stream partition.
    async fn cursor(&self, partition: u32) -> Result<Option<u64>, StorageError>;

    // Plugins per channel.

    /// Installs or replaces a plugin of a channel (grants and settings are
    /// kept on a replace unless given).
    async fn put_plugin(&self, plugin: ChannelPlugin) -> Result<(), StorageError>;
    async fn plugins(&self, channel: &str) -> Result<Vec<ChannelPlugin>, StorageError>;
    async fn set_plugin_settings(
        &self,
        channel: &str,
        plugin: &str,
        settings: &Value,
    ) -> Result<bool, StorageError>;
    async fn set_plugin_grants(
        &self,
        channel: &str,
        plugin: &str,
        granted: &[String],
    ) -> Result<bool, StorageError>;
    /// Removes a plugin with its kv data. Answers whether it was there.
    async fn remove_plugin(&self, channel: &str, plugin: &str) -> Result<bool, StorageError>;

    // Polling state.

    /// Follower ids already known for a channel (the poller's baseline).
    async fn known_followers(&self, channel: &str) -> Result<Vec<String>, StorageError>;
    /// Adds follower ids to the baseline (known ones are ignored).
    async fn add_known_followers(&self, channel: &str, ids: &[String]) -> Result<(), StorageError>;
    /// Removes follower ids from the baseline (they unfollowed).
    async fn remove_known_followers(
        &self,
        channel: &str,
        ids: &[String],
    ) -> Result<(), StorageError>;

    // Polled lists (subscribers, VIPs, moderators, bans).

    /// A channel's list as last recorded, or `None` before its first poll
    /// recorded a baseline (an empty list recorded is `Some`, with no
    /// members).
    async fn members(
        &self,
        channel: &str,
        list: MemberList,
    ) -> Result<Option<Members>, StorageError>;
    /// Records what changed in a channel's list, in one transaction, if the
    /// list is still at `known`: the generation the changes were found
    /// against (`None`: no baseline is recorded yet). `added` are inserted
    /// or replace the row of the same user, the users in `removed` (ids)
    /// are deleted, and the generation goes up by one (the baseline is
    /// generation 1). Answers the new generation, or `None` when the list
    /// has moved on (another node recorded it first): then nothing is
    /// written, so a node that polled late cannot record an older list over
    /// a newer one. A `known` generation of a channel the store does not
    /// have also answers `None` (there is no list at that generation).
    async fn replace_members(
        &self,
        channel: &str,
        list: MemberList,
        known: Option<i64>,
        added: &[Member],
        removed: &[String],
    ) -> Result<Option<i64>, StorageError>;

    // Leases (cluster-wide).

    /// Takes or renews `name` for `holder` for `ttl`. Answers whether
    /// `holder` holds it now (false while another holder's lease runs).
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StorageError>;
    /// [`ClusterStore::acquire_lease`] for many leases in one statement (a
    /// node renewing a thousand channel pollers' leases makes one round
    /// trip, not a thousand). Answers the names `holder` holds now, in
    /// `names`' order.
    async fn acquire_leases(
        &self,
        names: &[String],
        holder: &str,
        ttl: Duration,
    ) -> Result<Vec<String>, StorageError>;
    /// Gives a lease up (only its holder can).
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StorageError>;
    /// The leases whose name starts with `prefix`, live or expired.
    async fn leases(&self, prefix: &str) -> Result<Vec<Lease>, StorageError>;
}
