//! Rows for the storage layer's unit tests and the worker's.

use chrono::Utc;
use serde_json::json;

use super::{NewAlert, NewEvent};

/// A follow event of `channel` with id `id`.
pub fn event(channel: &str, id: &str) -> NewEvent {
    NewEvent {
        channel_id: channel.into(),
        id: id.into(),
        kind: "channel.follow".into(),
        source: "test".into(),
        occurred_at: Utc::now(),
        body: json!({}),
        display: None,
    }
}

/// An alert of `channel` for the overlay `main`.
pub fn alert(channel: &str, id: &str) -> NewAlert {
    NewAlert {
        channel_id: channel.into(),
        id: id.into(),
        overlay: "main".into(),
        event_id: None,
        plugin: None,
        body: json!({}),
    }
}
