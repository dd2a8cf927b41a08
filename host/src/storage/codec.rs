//! How the backends store what the trait's types hold: times as BIGINT
//! microseconds since the Unix epoch, JSON as text, lease lengths and stream
//! positions as BIGINT; and the rows both backends read, decoded in one
//! place so that each reads back exactly what the other would.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Channel, ChannelEvent, ChannelPlugin, Lease, Member, QueuedAlert, StorageError};

/// A time as stored.
pub(super) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// A stored time; `column` names it in the error.
pub(super) fn time(column: &str, micros: i64) -> Result<DateTime<Utc>, StorageError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| StorageError::Malformed(format!("{column}: {micros} is not a time")))
}

/// A stored JSON value; `column` names it in the error.
pub(super) fn json(column: &str, text: &str) -> Result<Value, StorageError> {
    serde_json::from_str(text)
        .map_err(|e| StorageError::Malformed(format!("{column} is not JSON: {e}")))
}

/// A stored JSON array of strings (a plugin's granted permissions).
pub(super) fn strings(column: &str, text: &str) -> Result<Vec<String>, StorageError> {
    serde_json::from_str(text)
        .map_err(|e| StorageError::Malformed(format!("{column} is not a list of names: {e}")))
}

/// A list of strings as stored.
pub(super) fn strings_text(list: &[String]) -> String {
    Value::from(list.to_vec()).to_string()
}

/// A lease length in microseconds (absurdly long ones are capped rather
/// than wrapped into the past).
pub(super) fn ttl_micros(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX / 2)
}

/// A stream position as stored (BIGINT is signed).
pub(super) fn sequence_in(sequence: u64) -> Result<i64, StorageError> {
    i64::try_from(sequence).map_err(|_| {
        StorageError::Backend(format!(
            "stream sequence {sequence} is beyond what can be stored"
        ))
    })
}

/// A stored stream position.
pub(super) fn sequence_out(sequence: i64) -> Result<u64, StorageError> {
    u64::try_from(sequence).map_err(|_| {
        StorageError::Malformed(format!("stream_cursors.sequence {sequence} is negative"))
    })
}

/// The lease a commit's cursor is fenced by.
pub(super) fn partition_lease(partition: u32) -> String {
    format!("worker-partition-{partition}")
}

/// A `channels` row as read.
pub(super) struct ChannelRow {
    pub id: String,
    pub login: String,
    pub created_at: i64,
}

impl ChannelRow {
    pub(super) fn decode(self) -> Result<Channel, StorageError> {
        Ok(Channel {
            created_at: time("channels.created_at", self.created_at)?,
            id: self.id,
            login: self.login,
        })
    }
}

/// An `events` row as read.
pub(super) struct EventRow {
    pub channel_id: String,
    pub seq: i64,
    pub id: String,
    pub kind: String,
    pub source: String,
    pub occurred_at: i64,
    pub stored_at: i64,
    pub body: String,
    pub display: Option<String>,
}

impl EventRow {
    pub(super) fn decode(self) -> Result<ChannelEvent, StorageError> {
        Ok(ChannelEvent {
            occurred_at: time("events.occurred_at", self.occurred_at)?,
            stored_at: time("events.stored_at", self.stored_at)?,
            body: json("events.body", &self.body)?,
            display: self
                .display
                .as_deref()
                .map(|d| json("events.display", d))
                .transpose()?,
            channel_id: self.channel_id,
            seq: self.seq,
            id: self.id,
            kind: self.kind,
            source: self.source,
        })
    }
}

/// An `overlay_alerts` row as read.
pub(super) struct AlertRow {
    pub channel_id: String,
    pub id: String,
    pub overlay: String,
    pub position: i64,
    pub event_id: Option<String>,
    pub plugin: Option<String>,
    pub body: String,
    pub queued_at: i64,
}

impl AlertRow {
    pub(super) fn decode(self) -> Result<QueuedAlert, StorageError> {
        Ok(QueuedAlert {
            body: json("overlay_alerts.body", &self.body)?,
            queued_at: time("overlay_alerts.queued_at", self.queued_at)?,
            channel_id: self.channel_id,
            id: self.id,
            overlay: self.overlay,
            position: self.position,
            event_id: self.event_id,
            plugin: self.plugin,
        })
    }
}

/// A `channel_plugins` row as read.
pub(super) struct PluginRow {
    pub channel_id: String,
    pub name: String,
    pub package: Vec<u8>,
    pub digest: String,
    pub granted: String,
    pub settings: String,
    pub enabled: bool,
    pub updated_at: i64,
}

impl PluginRow {
    pub(super) fn decode(self) -> Result<ChannelPlugin, StorageError> {
        Ok(ChannelPlugin {
            granted: strings("channel_plugins.granted", &self.granted)?,
            settings: json("channel_plugins.settings", &self.settings)?,
            updated_at: time("channel_plugins.updated_at", self.updated_at)?,
            channel_id: self.channel_id,
            name: self.name,
            package: self.package,
            digest: self.digest,
            enabled: self.enabled,
        })
    }
}

/// A `leases` row as read.
pub(super) fn lease(name: String, holder: String, expires_at: i64) -> Result<Lease, StorageError> {
    Ok(Lease {
        expires_at: time("leases.expires_at", expires_at)?,
        name,
        holder,
    })
}

/// A `channel_members` row as read.
pub(super) fn member(
    user_id: String,
    login: String,
    display_name: String,
    data: &str,
) -> Result<Member, StorageError> {
    Ok(Member {
        user_id,
        login,
        display_name,
        data: json("channel_members.data", data)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_to_the_microsecond() {
        let t = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        assert_eq!(time("t", micros(t)).unwrap(), t);
        assert!(
            matches!(time("events.stored_at", i64::MAX), Err(StorageError::Malformed(m)) if m.contains("events.stored_at"))
        );
    }

    #[test]
    fn malformed_json_and_sequences_are_named() {
        assert!(
            matches!(json("events.body", "{"), Err(StorageError::Malformed(m)) if m.contains("events.body"))
        );
        assert_eq!(
            strings("g", &strings_text(&["a".into(), "b".into()])).unwrap(),
            ["a", "b"]
        );
        assert!(strings("channel_plugins.granted", "{}").is_err());
        assert!(sequence_in(u64::MAX).is_err());
        assert!(sequence_out(-1).is_err());
        assert_eq!(sequence_out(sequence_in(42).unwrap()).unwrap(), 42);
        assert_eq!(ttl_micros(Duration::from_millis(1500)), 1_500_000);
        assert!(ttl_micros(Duration::MAX) > 0);
        assert_eq!(partition_lease(3), "worker-partition-3");
    }
}
