//! What the EventSub connection is doing, for `GET /api/eventsub`, the
//! dashboard and the pollers (which speed up while EventSub is down). Plain
//! data; the session updates it.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The connection's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// Not asked to connect (no login yet, or disconnected through the API).
    #[default]
    Disabled,
    /// Opening a socket or waiting for the welcome.
    Connecting,
    /// Welcomed and subscribed: events flow.
    Connected,
    /// Lost; waiting before the next attempt.
    Waiting,
    /// The token is unusable: `stagehand login` is needed.
    NeedsLogin,
}

/// One wanted subscription and what became of it on the current session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubscriptionStatus {
    /// The subscription type, e.g. `channel.follow`.
    #[serde(rename = "type")]
    pub kind: String,
    pub version: String,
    /// `enabled`, `pending`, `skipped` (scope missing), `unsupported` (the
    /// server does not offer the type), `failed` or a
    /// revocation status (`authorization_revoked`, `user_removed`,
    /// `version_removed`).
    pub status: String,
    /// Twitch's subscription id once created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Why it is skipped, failed or revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Counters of messages that were received but not turned into events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dropped {
    /// Not JSON, or not the EventSub frame shape.
    pub malformed: u64,
    /// A message id seen before (at-least-once redelivery).
    pub duplicate: u64,
    /// Older than ten minutes.
    pub stale: u64,
    /// A `message_type` this host does not know.
    pub unknown_type: u64,
    /// A notification of a type this session did not subscribe to (a mock
    /// server sending every event to every client).
    pub unsubscribed: u64,
}

/// The whole status.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EventSubStatus {
    pub state: ConnectionState,
    pub connected: bool,
    /// The current session's id.
    pub session_id: Option<String>,
    /// The keepalive window Twitch announced for the session.
    pub keepalive_timeout_secs: Option<u32>,
    pub connected_at: Option<DateTime<Utc>>,
    /// When any message last arrived; kept apart while connected (see
    /// `EventSubHandle::status`) so it does not wake watchers per message.
    pub last_message_at: Option<DateTime<Utc>>,
    /// Connections opened after the first: drops and `session_reconnect`s.
    pub reconnects: u64,
    /// `session_reconnect` moves among them.
    pub session_moves: u64,
    pub subscriptions: Vec<SubscriptionStatus>,
    /// Notifications turned into events on this run.
    pub notifications: u64,
    pub dropped: Dropped,
    /// The latest problem, for the dashboard.
    pub last_error: Option<String>,
}

impl EventSubStatus {
    /// Whether events are flowing: what the pollers watch.
    pub fn is_healthy(&self) -> bool {
        self.connected && self.state == ConnectionState::Connected
    }

    /// Sets the status of the subscription of `kind`, adding it if new.
    pub fn set_subscription(
        &mut self,
        kind: &str,
        version: &str,
        status: &str,
        id: Option<String>,
        detail: Option<String>,
    ) {
        let entry = SubscriptionStatus {
            kind: kind.to_owned(),
            version: version.to_owned(),
            status: status.to_owned(),
            id,
            detail,
        };
        match self.subscriptions.iter_mut().find(|s| s.kind == kind) {
            Some(existing) => *existing = entry,
            None => self.subscriptions.push(entry),
        }
    }

    /// Marks the subscription with Twitch id `id` revoked with `status`.
    /// False when no such subscription is known.
    pub fn revoke(&mut self, id: &str, status: &str, reason: &str) -> bool {
        match self
            .subscriptions
            .iter_mut()
            .find(|s| s.id.as_deref() == Some(id))
        {
            Some(sub) => {
                sub.status = status.to_owned();
                sub.detail = Some(reason.to_owned());
                true
            }
            None => false,
        }
    }

    /// Forgets the session (the socket is gone); subscriptions that were
    /// enabled are disabled with it, as on Twitch's side.
    pub fn lose_session(&mut self, state: ConnectionState, why: Option<String>) {
        self.state = state;
        self.connected = false;
        self.session_id = None;
        self.connected_at = None;
        for sub in &mut self.subscriptions {
            if sub.status == "enabled" || sub.status == "pending" {
                sub.status = "websocket_disconnected".into();
                sub.id = None;
            }
        }
        if why.is_some() {
            self.last_error = why;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_are_updated_in_place_and_revoked_by_id() {
        let mut status = EventSubStatus::default();
        status.set_subscription("channel.follow", "2", "pending", None, None);
        status.set_subscription("channel.follow", "2", "enabled", Some("s1".into()), None);
        assert_eq!(status.subscriptions.len(), 1);
        assert!(status.revoke("s1", "authorization_revoked", "the user revoked it"));
        assert!(!status.revoke("nope", "user_removed", "x"));
        assert_eq!(status.subscriptions[0].status, "authorization_revoked");
    }

    #[test]
    fn losing_the_session_disables_its_subscriptions_but_keeps_skips() {
        let mut status = EventSubStatus {
            state: ConnectionState::Connected,
            connected: true,
            session_id: Some("s".into()),
            ..Default::default()
        };
        status.set_subscription("channel.follow", "2", "enabled", Some("1".into()), None);
        status.set_subscription(
            "channel.cheer",
            "1",
            "skipped",
            None,
            Some("bits:read".into()),
        );
        assert!(status.is_healthy());
        status.lose_session(ConnectionState::Waiting, Some("dropped".into()));
        assert!(!status.is_healthy());
        assert_eq!(status.subscriptions[0].status, "websocket_disconnected");
        assert_eq!(status.subscriptions[1].status, "skipped");
        assert_eq!(status.last_error.as_deref(), Some("dropped"));
    }
}
