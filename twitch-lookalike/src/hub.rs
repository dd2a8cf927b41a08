//! The EventSub side of the mock as data: WebSocket sessions, the
//! subscriptions created on them, and routing of notifications to the
//! right socket. Socket tasks (`eventsub.rs`) own the actual connections
//! and talk to the hub through an unbounded channel of [`Outgoing`] items;
//! everything here is synchronous, so it runs under one mutex and every
//! decision (subscribe, close, migrate on reconnect) is atomic.
//!
//! Lifecycle of a session: `connected` → (on `session_reconnect`)
//! `reconnecting` → `reconnected` once the client connected to the
//! reconnect URL (its subscriptions moved to the new session), or
//! `disconnected` when the socket closed for any other reason (its enabled
//! subscriptions become `websocket_disconnected` and get nothing more).

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::mpsc::UnboundedSender;

use super::ids;
use crate::catalog::{self, ConditionShape, SubscriptionType};
use crate::conduits::{
    self, ConduitInfo, Conduits, Disabled, RoutingCounts, ShardError, ShardInfo, ShardUpdate,
};
use crate::wire::{Subscription, Transport, notification_frame, reconnect_frame, revocation_frame};

/// What the hub asks a socket task to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// Send this text frame.
    Frame(String),
    /// Send a close frame with this code and reason, then end.
    Close {
        /// WebSocket close code.
        code: u16,
        /// Close reason.
        reason: String,
    },
    /// End without a close frame (the TCP connection just closes).
    Drop,
    /// Turn keepalives on or off.
    Keepalives(bool),
}

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Welcome sent; delivering.
    Connected,
    /// `session_reconnect` sent; still delivering (or buffering, if the
    /// client closed the socket early) until the client moves.
    Reconnecting,
    /// The client moved to the reconnect URL; subscriptions live on in the
    /// successor session.
    Reconnected,
    /// Closed; its subscriptions are disabled.
    Disconnected,
}

/// A snapshot of one session, for tests and `GET /mock/sessions`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionInfo {
    /// The session id from the welcome.
    pub id: String,
    /// Where it is in its life.
    pub status: SessionStatus,
    /// The keepalive window.
    pub keepalive_timeout_seconds: u32,
    /// When the welcome went out.
    pub connected_at: DateTime<Utc>,
    /// When the socket closed (or the session was left for a new one).
    pub disconnected_at: Option<DateTime<Utc>>,
    /// The close code, when one was sent or received.
    pub close_code: Option<u16>,
    /// The reconnect URL, once a `session_reconnect` was sent.
    pub reconnect_url: Option<String>,
    /// The session that took over after a reconnect.
    pub successor: Option<String>,
    /// Subscriptions whose transport names this session.
    pub subscriptions: Vec<Subscription>,
}

/// The last notification a session got, kept to resend it (duplicate) or
/// send it again with an old timestamp (stale).
#[derive(Debug, Clone)]
struct LastNotification {
    message_id: String,
    subscription: Subscription,
    event: Value,
    timestamp: DateTime<Utc>,
}

#[derive(Debug)]
struct SessionEntry {
    id: String,
    status: SessionStatus,
    keepalive_secs: u32,
    connected_at: DateTime<Utc>,
    disconnected_at: Option<DateTime<Utc>>,
    close_code: Option<u16>,
    /// `None` once the socket task has ended.
    tx: Option<UnboundedSender<Outgoing>>,
    /// Frames for a reconnecting session whose socket closed early.
    buffer: Vec<String>,
    last: Option<LastNotification>,
    /// Whether a subscription was ever created for it (4003 check).
    subscribed: bool,
    reconnect_token: Option<String>,
    reconnect_url: Option<String>,
    successor: Option<String>,
    /// Sends that fail as if the socket were gone (a fault for testing
    /// the conduit retry), counted down.
    fail_sends: u32,
}

impl SessionEntry {
    fn is_live(&self) -> bool {
        matches!(
            self.status,
            SessionStatus::Connected | SessionStatus::Reconnecting
        )
    }

    /// Sends a frame, or buffers it while reconnecting without a socket.
    fn send(&mut self, frame: String) -> bool {
        if self.fail_sends > 0 {
            self.fail_sends -= 1;
            return false;
        }
        match (&self.tx, self.status) {
            (Some(tx), SessionStatus::Connected | SessionStatus::Reconnecting) => {
                tx.send(Outgoing::Frame(frame)).is_ok()
            }
            (None, SessionStatus::Reconnecting) => {
                self.buffer.push(frame);
                true
            }
            _ => false,
        }
    }
}

#[derive(Debug, Clone)]
struct SubRecord {
    sub: Subscription,
    client_id: String,
    user_id: String,
}

/// A notification that went out (or was buffered) for one subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// The frame's `metadata.message_id`.
    pub message_id: String,
    /// The session it went to.
    pub session_id: String,
    /// The subscription it was for.
    pub subscription_id: String,
    /// The conduit shard it went through (conduit subscriptions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_id: Option<String>,
}

/// The caller of a Helix subscription request: the token's client and user.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's client id.
    pub client_id: String,
    /// The token's user id.
    pub user_id: String,
    /// The token's scopes.
    pub scopes: Vec<String>,
}

/// A Helix error: status and message (the body adds the reason phrase).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Twitch's message.
    pub message: String,
}

impl ApiError {
    /// An error with `status` and `message`.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

/// The body of `POST /eventsub/subscriptions`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct CreateRequest {
    /// Subscription type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its version.
    pub version: String,
    /// Condition object.
    #[serde(default)]
    pub condition: Map<String, Value>,
    /// `{method, session_id}`.
    #[serde(default)]
    pub transport: Map<String, Value>,
}

/// Limits Twitch applies to WebSocket subscriptions.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `max_total_cost` (10).
    pub max_total_cost: u32,
    /// Connections with enabled subscriptions per client + user (3).
    pub max_connections: usize,
    /// Enabled subscriptions per connection (300).
    pub max_per_connection: usize,
}

/// Totals reported with subscription lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Subscriptions of the caller (any status).
    pub total: usize,
    /// Cost of the caller's enabled subscriptions.
    pub total_cost: u32,
}

/// Sessions, subscriptions and reconnect tokens.
#[derive(Debug, Default)]
pub struct Hub {
    sessions: HashMap<String, SessionEntry>,
    /// Session ids in connection order (for snapshots).
    order: Vec<String>,
    subs: Vec<SubRecord>,
    /// Which subscriptions may match an event, by type and broadcaster id
    /// (built on first use after `subs` changes): delivery then looks at a
    /// handful of subscriptions instead of every channel's.
    index: Option<HashMap<(String, String), Vec<usize>>>,
    reconnect_tokens: HashMap<String, String>,
    conduits: Conduits,
}

/// The statuses a subscription of a dead session gets.
const DISCONNECTED: &str = "websocket_disconnected";

impl Hub {
    /// An empty hub.
    pub fn new() -> Self {
        Hub::default()
    }

    fn new_session(
        &mut self,
        keepalive_secs: u32,
        tx: UnboundedSender<Outgoing>,
        now: DateTime<Utc>,
    ) -> String {
        let id = loop {
            let id = ids::session_id();
            if !self.sessions.contains_key(&id) {
                break id;
            }
        };
        self.sessions.insert(
            id.clone(),
            SessionEntry {
                id: id.clone(),
                status: SessionStatus::Connected,
                keepalive_secs,
                connected_at: now,
                disconnected_at: None,
                close_code: None,
                tx: Some(tx),
                buffer: Vec::new(),
                last: None,
                subscribed: false,
                reconnect_token: None,
                reconnect_url: None,
                successor: None,
                fail_sends: 0,
            },
        );
        self.order.push(id.clone());
        id
    }

    /// Registers a new connection; returns its session id.
    pub fn connect(
        &mut self,
        keepalive_secs: u32,
        tx: UnboundedSender<Outgoing>,
        now: DateTime<Utc>,
    ) -> String {
        self.new_session(keepalive_secs, tx, now)
    }

    /// A client connected to a reconnect URL: a new session takes over the
    /// old one's subscriptions and buffered frames. Returns the new id, the
    /// keepalive window and the frames to send right after the welcome;
    /// `None` for an unknown or used token (close 4007).
    pub fn migrate(
        &mut self,
        token: &str,
        tx: UnboundedSender<Outgoing>,
        now: DateTime<Utc>,
    ) -> Option<(String, u32, Vec<String>)> {
        let old_id = self.reconnect_tokens.remove(token)?;
        let old = self.sessions.get(&old_id)?;
        if old.status != SessionStatus::Reconnecting {
            return None;
        }
        let keepalive = old.keepalive_secs;
        let new_id = self.new_session(keepalive, tx, now);
        let mut moved = false;
        for record in &mut self.subs {
            if record.sub.status == "enabled"
                && record.sub.transport.session_id.as_deref() == Some(old_id.as_str())
            {
                record.sub.transport.session_id = Some(new_id.clone());
                record.sub.transport.connected_at = Some(now);
                moved = true;
            }
        }
        // Shards follow their session to the reconnect URL.
        moved |= self.conduits.session_moved(&old_id, &new_id, now);
        let buffered = match self.sessions.get_mut(&old_id) {
            Some(old) => {
                old.status = SessionStatus::Reconnected;
                old.successor = Some(new_id.clone());
                old.reconnect_token = None;
                if old.tx.is_none() {
                    old.disconnected_at.get_or_insert(now);
                }
                std::mem::take(&mut old.buffer)
            }
            None => Vec::new(),
        };
        if let Some(new) = self.sessions.get_mut(&new_id) {
            new.subscribed = moved;
        }
        Some((new_id, keepalive, buffered))
    }

    /// At the subscribe deadline: if no subscription was ever created for
    /// the session, it is closed (4003) here and `true` comes back.
    pub fn close_if_unused(&mut self, session_id: &str, now: DateTime<Utc>) -> bool {
        let unused = self
            .sessions
            .get(session_id)
            .is_some_and(|s| s.is_live() && !s.subscribed);
        if unused {
            self.close_session(session_id, Some(4003), now);
        }
        unused
    }

    /// The server closes a session (any code, or `None` for a dropped
    /// connection): it is disconnected and its enabled subscriptions are
    /// disabled. Returns the socket's sender, so the caller can tell the
    /// socket task how to end; `None` when the socket is already gone.
    pub fn close_session(
        &mut self,
        session_id: &str,
        code: Option<u16>,
        now: DateTime<Utc>,
    ) -> Option<UnboundedSender<Outgoing>> {
        let session = self.sessions.get_mut(session_id)?;
        let tx = session.tx.take();
        match session.status {
            SessionStatus::Connected | SessionStatus::Reconnecting => {
                session.status = SessionStatus::Disconnected;
                session.disconnected_at = Some(now);
                session.close_code = code;
                session.buffer.clear();
                if let Some(token) = session.reconnect_token.take() {
                    self.reconnect_tokens.remove(&token);
                }
                self.disable_subscriptions(session_id, now);
                let disabled = self.conduits.session_closed(session_id, code, now);
                for shard in disabled {
                    self.announce_disabled(shard, now);
                }
            }
            SessionStatus::Reconnected => {
                session.disconnected_at.get_or_insert(now);
                session.close_code = session.close_code.or(code);
            }
            SessionStatus::Disconnected => {}
        }
        tx
    }

    /// The socket task ended on its own (the client closed or the network
    /// failed). A connected session is disconnected; a reconnecting one
    /// keeps its subscriptions and buffers until the client moves or the
    /// grace period ends.
    pub fn socket_ended(&mut self, session_id: &str, code: Option<u16>, now: DateTime<Utc>) {
        let Some(session) = self.sessions.get_mut(session_id) else {
            return;
        };
        match session.status {
            SessionStatus::Reconnecting => {
                session.tx = None;
                session.close_code = code;
            }
            SessionStatus::Connected | SessionStatus::Reconnected => {
                self.close_session(session_id, code, now);
            }
            SessionStatus::Disconnected => {
                session.tx = None;
            }
        }
    }

    fn disable_subscriptions(&mut self, session_id: &str, now: DateTime<Utc>) {
        for record in &mut self.subs {
            if record.sub.status == "enabled"
                && record.sub.transport.session_id.as_deref() == Some(session_id)
            {
                record.sub.status = DISCONNECTED.to_owned();
                record.sub.transport.disconnected_at = Some(now);
            }
        }
    }

    /// Sends `session_reconnect` to every connected session. Returns
    /// (session id, reconnect URL) pairs; the caller arms the grace timers.
    pub fn start_reconnect(&mut self, ws_url: &str, now: DateTime<Utc>) -> Vec<(String, String)> {
        let mut started = Vec::new();
        for id in &self.order {
            let Some(session) = self.sessions.get_mut(id) else {
                continue;
            };
            if session.status != SessionStatus::Connected || session.tx.is_none() {
                continue;
            }
            let token = ids::random_alphanumeric(32);
            let url = format!("{ws_url}?reconnect={token}");
            session.status = SessionStatus::Reconnecting;
            session.reconnect_token = Some(token.clone());
            session.reconnect_url = Some(url.clone());
            session.send(reconnect_frame(&ids::message_id(), id, &url, now));
            self.reconnect_tokens.insert(token, id.clone());
            started.push((id.clone(), url));
        }
        started
    }

    /// The reconnect grace period of `session_id` ended. A client that did
    /// not move loses the session (4004, subscriptions disabled); an old
    /// socket the client left open after moving is closed normally.
    pub fn grace_expired(&mut self, session_id: &str, now: DateTime<Utc>) {
        let Some(status) = self.sessions.get(session_id).map(|s| s.status) else {
            return;
        };
        match status {
            SessionStatus::Reconnecting => {
                if let Some(tx) = self.close_session(session_id, Some(4004), now) {
                    let _ = tx.send(Outgoing::Close {
                        code: 4004,
                        reason: "reconnect grace time expired".to_owned(),
                    });
                }
            }
            SessionStatus::Reconnected => {
                if let Some(tx) = self.close_session(session_id, Some(1000), now) {
                    let _ = tx.send(Outgoing::Close {
                        code: 1000,
                        reason: "moved to the reconnect URL".to_owned(),
                    });
                }
            }
            _ => {}
        }
    }

    /// Whether a live session has this id (subscriptions may name it).
    pub fn is_live(&self, session_id: &str) -> bool {
        self.sessions.get(session_id).is_some_and(|s| s.is_live())
    }

    /// Sends one notification per enabled subscription of `kind` whose
    /// condition matches the event's broadcaster.
    pub fn deliver(&mut self, kind: &str, event: &Value, now: DateTime<Utc>) -> Vec<Delivery> {
        let index = self.index.get_or_insert_with(|| index_subs(&self.subs));
        let mut candidates: Vec<usize> = CONDITION_KEYS
            .iter()
            .filter_map(|key| event.get(*key).and_then(Value::as_str))
            .chain(std::iter::once(""))
            .filter_map(|id| index.get(&(kind.to_owned(), id.to_owned())))
            .flatten()
            .copied()
            .collect();
        // In creation order, each once, as a scan of every subscription would.
        candidates.sort_unstable();
        candidates.dedup();
        let targets: Vec<Subscription> = candidates
            .into_iter()
            .map(|i| &self.subs[i])
            .filter(|r| {
                r.sub.status == "enabled"
                    && r.sub.kind == kind
                    && condition_matches(&r.sub.condition, event)
            })
            .map(|r| r.sub.clone())
            .collect();
        targets
            .into_iter()
            .filter_map(|sub| match sub.transport.conduit_id.clone() {
                Some(conduit_id) => {
                    let key = routing_key(event);
                    self.notify_conduit(sub, &conduit_id, key, event, now)
                }
                None => self.notify(sub, event, now),
            })
            .collect()
    }

    /// Sends a conduit subscription's notification to the shard its key
    /// hashes to, or, when that shard does not take it, to one other
    /// enabled shard (same message id). Counted per shard, retried or
    /// dropped.
    fn notify_conduit(
        &mut self,
        sub: Subscription,
        conduit_id: &str,
        key: &str,
        event: &Value,
        now: DateTime<Utc>,
    ) -> Option<Delivery> {
        let targets = self.conduits.route(conduit_id, key);
        let message_id = ids::message_id();
        let frame = notification_frame(&message_id, &sub, event, now);
        for (attempt, target) in targets.iter().enumerate() {
            if attempt > 0 {
                self.conduits.count_retried();
            }
            let Some(session) = self.sessions.get_mut(&target.session_id) else {
                continue;
            };
            if !session.send(frame.clone()) {
                continue;
            }
            session.last = Some(LastNotification {
                message_id: message_id.clone(),
                subscription: sub.clone(),
                event: event.clone(),
                timestamp: now,
            });
            self.conduits.count_delivered(conduit_id, &target.shard_id);
            return Some(Delivery {
                message_id,
                session_id: target.session_id.clone(),
                subscription_id: sub.id,
                shard_id: Some(target.shard_id.clone()),
            });
        }
        self.conduits.count_dropped();
        None
    }

    /// Sends `conduit.shard.disabled` for a shard that was just disabled,
    /// to the owner's subscriptions of that type (all of its conduits, or
    /// the one the condition names), through their conduits' shards that
    /// are still enabled.
    fn announce_disabled(&mut self, disabled: Disabled, now: DateTime<Utc>) {
        let event = serde_json::json!({
            "conduit_id": disabled.conduit_id,
            "shard_id": disabled.shard.id,
            "status": disabled.shard.status,
            "transport": disabled.shard.transport,
        });
        let targets: Vec<Subscription> = self
            .subs
            .iter()
            .filter(|r| {
                r.sub.status == "enabled"
                    && r.sub.kind == conduits::SHARD_DISABLED
                    && r.client_id == disabled.client_id
                    && r.sub
                        .condition
                        .get("conduit_id")
                        .and_then(Value::as_str)
                        .is_none_or(|id| id == disabled.conduit_id)
            })
            .map(|r| r.sub.clone())
            .collect();
        let key = format!("{}/{}", disabled.conduit_id, disabled.shard.id);
        for sub in targets {
            if let Some(conduit_id) = sub.transport.conduit_id.clone() {
                self.notify_conduit(sub, &conduit_id, &key, &event, now);
            }
        }
    }

    /// Sends a notification of any type, even one nobody subscribed to:
    /// to the matching subscriptions when there are some, else to every
    /// live session with a made-up subscription (`condition`).
    pub fn deliver_any(
        &mut self,
        kind: &str,
        version: &str,
        event: &Value,
        condition: &Map<String, Value>,
        now: DateTime<Utc>,
    ) -> Vec<Delivery> {
        let delivered = self.deliver(kind, event, now);
        if !delivered.is_empty() {
            return delivered;
        }
        let live: Vec<String> = self
            .order
            .iter()
            .filter(|id| self.is_live(id))
            .cloned()
            .collect();
        live.into_iter()
            .filter_map(|session_id| {
                let sub = Subscription::websocket(
                    ids::message_id(),
                    kind,
                    version,
                    condition.clone(),
                    session_id,
                    now,
                );
                self.notify(sub, event, now)
            })
            .collect()
    }

    fn notify(&mut self, sub: Subscription, event: &Value, now: DateTime<Utc>) -> Option<Delivery> {
        let session_id = sub.transport.session_id.clone()?;
        let session = self.sessions.get_mut(&session_id)?;
        let wire = on_the_wire(&sub);
        let message_id = ids::message_id();
        let frame = notification_frame(&message_id, &wire, event, now);
        if !session.send(frame) {
            return None;
        }
        session.last = Some(LastNotification {
            message_id: message_id.clone(),
            subscription: wire,
            event: event.clone(),
            timestamp: now,
        });
        Some(Delivery {
            message_id,
            session_id,
            subscription_id: sub.id,
            shard_id: None,
        })
    }

    /// Sends `text` as is to every live session; returns how many.
    pub fn send_raw(&mut self, text: &str) -> usize {
        self.sessions
            .values_mut()
            .filter(|s| s.is_live())
            .map(|s| s.send(text.to_owned()))
            .filter(|sent| *sent)
            .count()
    }

    /// Sends every live session's last notification again, same message id
    /// and timestamp (Twitch's at-least-once redelivery). Returns how many.
    pub fn resend_last(&mut self) -> usize {
        let mut sent = 0;
        for session in self.sessions.values_mut().filter(|s| s.is_live()) {
            if let Some(last) = session.last.clone() {
                let frame = notification_frame(
                    &last.message_id,
                    &last.subscription,
                    &last.event,
                    last.timestamp,
                );
                sent += usize::from(session.send(frame));
            }
        }
        sent
    }

    /// Sends every live session's last notification again with a new
    /// message id and a timestamp `age` old (a replayed, stale frame).
    pub fn send_stale(&mut self, age: TimeDelta, now: DateTime<Utc>) -> usize {
        let mut sent = 0;
        for session in self.sessions.values_mut().filter(|s| s.is_live()) {
            if let Some(last) = session.last.clone() {
                let frame = notification_frame(
                    &ids::message_id(),
                    &last.subscription,
                    &last.event,
                    now - age,
                );
                sent += usize::from(session.send(frame));
            }
        }
        sent
    }

    /// Tells every live session's socket `outgoing` (used for keepalive
    /// switches); returns how many.
    pub fn tell_live(&mut self, outgoing: &Outgoing) -> usize {
        self.sessions
            .values()
            .filter(|s| s.is_live())
            .filter_map(|s| s.tx.as_ref())
            .filter(|tx| tx.send(outgoing.clone()).is_ok())
            .count()
    }

    /// Closes every live session with `code` (`None`: drop the TCP
    /// connection without a close frame). Returns how many.
    pub fn close_all(&mut self, code: Option<u16>, reason: &str, now: DateTime<Utc>) -> usize {
        let live: Vec<String> = self
            .order
            .iter()
            .filter(|id| self.is_live(id))
            .cloned()
            .collect();
        let mut closed = 0;
        for id in live {
            if let Some(tx) = self.close_session(&id, code, now) {
                let outgoing = match code {
                    Some(code) => Outgoing::Close {
                        code,
                        reason: reason.to_owned(),
                    },
                    None => Outgoing::Drop,
                };
                let _ = tx.send(outgoing);
            }
            closed += 1;
        }
        closed
    }

    /// Revokes enabled subscriptions (all of `kind`, or every one when
    /// `kind` is `None`) with `status`, sending a `revocation` frame for
    /// each. Returns the revoked subscriptions.
    pub fn revoke(
        &mut self,
        kind: Option<&str>,
        status: &str,
        now: DateTime<Utc>,
    ) -> Vec<Subscription> {
        let mut revoked = Vec::new();
        for record in &mut self.subs {
            if record.sub.status != "enabled" || kind.is_some_and(|k| k != record.sub.kind) {
                continue;
            }
            record.sub.status = status.to_owned();
            revoked.push(record.sub.clone());
        }
        for sub in &revoked {
            let frame = revocation_frame(&ids::message_id(), &on_the_wire(sub), now);
            // A conduit subscription's revocation goes through one of its
            // conduit's enabled shards.
            let session_id = match &sub.transport.conduit_id {
                Some(conduit_id) => {
                    let key = sub
                        .condition
                        .values()
                        .find_map(Value::as_str)
                        .unwrap_or_default();
                    self.conduits
                        .route(conduit_id, key)
                        .into_iter()
                        .next()
                        .map(|t| t.session_id)
                }
                None => sub.transport.session_id.clone(),
            };
            if let Some(session) = session_id.and_then(|id| self.sessions.get_mut(&id)) {
                session.send(frame);
            }
        }
        revoked
    }

    /// Creates a subscription as `POST /eventsub/subscriptions` does.
    pub fn create(
        &mut self,
        caller: &Caller,
        request: CreateRequest,
        broadcaster_known: impl Fn(&str) -> bool,
        limits: Limits,
        now: DateTime<Utc>,
    ) -> Result<(Subscription, Totals), ApiError> {
        let spec = offered(&request)?;
        let condition = request.condition;
        let field = |key: &str| {
            condition
                .get(key)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
        };
        let broadcaster = condition_broadcaster(spec, &condition)?;
        if !broadcaster_known(&broadcaster) {
            return Err(ApiError::new(400, "invalid condition: unknown broadcaster"));
        }
        if caller.user_id.is_empty() {
            // WebSocket subscriptions take a user token, never an app one.
            return Err(ApiError::new(400, INVALID_AUTH_COMBINATION));
        }
        if request.transport.get("method").and_then(Value::as_str) != Some("websocket") {
            return Err(ApiError::new(400, "transport.method must be websocket"));
        }
        let session_id = request
            .transport
            .get("session_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if !self.is_live(&session_id) {
            return Err(ApiError::new(
                400,
                "websocket transport session does not exist or has already disconnected",
            ));
        }
        if !spec.is_authorized(&caller.scopes) {
            let scope = spec.required_scope().unwrap_or_default();
            return Err(ApiError::new(
                403,
                format!("subscription missing proper authorization: missing scope {scope}"),
            ));
        }
        let acting_user_ok = match spec.condition {
            ConditionShape::BroadcasterAndModerator => {
                field("moderator_user_id") == Some(&caller.user_id)
            }
            ConditionShape::BroadcasterAndUser => field("user_id") == Some(&caller.user_id),
            ConditionShape::Broadcaster if !spec.scopes.is_empty() => broadcaster == caller.user_id,
            _ => true,
        };
        if !acting_user_ok {
            return Err(ApiError::new(
                403,
                "subscription missing proper authorization: the token's user does not match the condition",
            ));
        }
        let duplicate = self.subs.iter().any(|r| {
            r.sub.status == "enabled"
                && r.sub.kind == request.kind
                && r.sub.version == request.version
                && r.sub.condition == condition
                && r.sub.transport.session_id.as_deref() == Some(session_id.as_str())
        });
        if duplicate {
            return Err(ApiError::new(409, "subscription already exists"));
        }
        let on_session = self
            .subs
            .iter()
            .filter(|r| {
                r.sub.status == "enabled"
                    && r.sub.transport.session_id.as_deref() == Some(session_id.as_str())
            })
            .count();
        if on_session >= limits.max_per_connection {
            return Err(ApiError::new(
                400,
                "number of subscriptions on the websocket transport exceeds the limit",
            ));
        }
        let mut connections: Vec<&str> = self
            .subs
            .iter()
            .filter(|r| {
                r.sub.status == "enabled"
                    && r.client_id == caller.client_id
                    && r.user_id == caller.user_id
            })
            .filter_map(|r| r.sub.transport.session_id.as_deref())
            .collect();
        connections.sort_unstable();
        connections.dedup();
        if !connections.contains(&session_id.as_str())
            && connections.len() >= limits.max_connections
        {
            return Err(ApiError::new(
                429,
                "number of websocket transports limit exceeded",
            ));
        }
        // Types that need no user authorization cost 1 unless the token's
        // user is the broadcaster.
        let cost = u32::from(spec.scopes.is_empty() && broadcaster != caller.user_id);
        let totals = self.totals(caller);
        if totals.total_cost + cost > limits.max_total_cost {
            return Err(ApiError::new(
                403,
                "subscription cost exceeds max_total_cost",
            ));
        }
        let connected_at = self.sessions.get(&session_id).map(|s| s.connected_at);
        let mut sub = Subscription::websocket(
            ids::message_id(),
            request.kind,
            request.version,
            condition,
            session_id.clone(),
            now,
        );
        sub.cost = cost;
        sub.transport = Transport {
            connected_at,
            ..Transport::websocket(session_id.clone())
        };
        self.index = None;
        self.subs.push(SubRecord {
            sub: sub.clone(),
            client_id: caller.client_id.clone(),
            user_id: caller.user_id.clone(),
        });
        if let Some(session) = self.sessions.get_mut(&session_id) {
            session.subscribed = true;
        }
        let totals = self.totals(caller);
        Ok((sub, totals))
    }

    /// Creates a subscription with the `conduit` transport, as `POST
    /// /eventsub/subscriptions` does for an app token: the conduit must be
    /// the client's, and every user the condition names for authorization
    /// must have authorised the client (`authorised`) with a scope the type
    /// needs (`granted`). `conduit.shard.disabled` needs the client's own
    /// id in its condition instead.
    pub fn create_on_conduit(
        &mut self,
        caller: &Caller,
        request: CreateRequest,
        authorised: impl Fn(&str) -> bool,
        granted: &[String],
        now: DateTime<Utc>,
    ) -> Result<(Subscription, Totals), ApiError> {
        if !caller.user_id.is_empty() {
            // Conduits are for app tokens only.
            return Err(ApiError::new(400, INVALID_AUTH_COMBINATION));
        }
        let conduit_id = request
            .transport
            .get("conduit_id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                ApiError::new(
                    400,
                    "The conduit_id field is required if you specify the conduit transport method",
                )
            })?
            .to_owned();
        if !self.conduits.owns(&caller.client_id, &conduit_id) {
            return Err(ApiError::new(400, "conduit not found"));
        }
        let condition = request.condition;
        let field = |key: &str| {
            condition
                .get(key)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
        };
        let cost = if request.kind == conduits::SHARD_DISABLED {
            if request.version != "1" {
                return Err(ApiError::new(400, catalog::NOT_VALID));
            }
            let client_id = field("client_id")
                .ok_or_else(|| ApiError::new(400, "condition.client_id is missing or invalid"))?;
            if client_id != caller.client_id {
                return Err(ApiError::new(
                    403,
                    "The client_id in the condition must match the client ID of the access token",
                ));
            }
            if let Some(watched) = field("conduit_id")
                && !self.conduits.owns(&caller.client_id, watched)
            {
                return Err(ApiError::new(
                    403,
                    "The client must be the owner of the conduit in the condition",
                ));
            }
            0
        } else {
            let spec = offered_parts(&request.kind, &request.version)?;
            let broadcaster = condition_broadcaster(spec, &condition)?;
            // The users whose authorization the type needs: the
            // broadcaster for scoped types, else the user named as reader.
            let mut needed: Vec<&str> = Vec::new();
            match spec.condition {
                ConditionShape::BroadcasterAndModerator => {
                    needed.extend(field("moderator_user_id"))
                }
                ConditionShape::BroadcasterAndUser => needed.extend(field("user_id")),
                ConditionShape::Broadcaster if !spec.scopes.is_empty() => {
                    needed.push(broadcaster.as_str());
                }
                _ => {}
            }
            // The look-alike hosts the channels its conduit subscriptions
            // are about (a raid's target included).
            if !authorised(&broadcaster) {
                return Err(ApiError::new(400, "invalid condition: unknown broadcaster"));
            }
            if needed.iter().any(|user| !authorised(user)) || !spec.is_authorized(granted) {
                return Err(ApiError::new(
                    403,
                    "subscription missing proper authorization",
                ));
            }
            // Types without authorization cost 1; authorised ones nothing.
            u32::from(spec.scopes.is_empty())
        };
        let duplicate = self.subs.iter().any(|r| {
            r.sub.status == "enabled"
                && r.sub.kind == request.kind
                && r.sub.version == request.version
                && r.sub.condition == condition
                && r.sub.transport.conduit_id.as_deref() == Some(conduit_id.as_str())
        });
        if duplicate {
            return Err(ApiError::new(409, "subscription already exists"));
        }
        let totals = self.totals(caller);
        if totals.total_cost + cost > conduits::APP_MAX_TOTAL_COST {
            return Err(ApiError::new(
                403,
                "subscription cost exceeds max_total_cost",
            ));
        }
        let sub = Subscription {
            id: ids::message_id(),
            status: "enabled".to_owned(),
            kind: request.kind,
            version: request.version,
            cost,
            condition,
            transport: Transport::conduit(conduit_id),
            created_at: Some(now),
        };
        self.index = None;
        self.subs.push(SubRecord {
            sub: sub.clone(),
            client_id: caller.client_id.clone(),
            user_id: caller.user_id.clone(),
        });
        let totals = self.totals(caller);
        Ok((sub, totals))
    }

    // --- conduits ------------------------------------------------------------

    /// Create Conduits for `client_id`.
    pub fn create_conduit(
        &mut self,
        client_id: &str,
        shard_count: Option<i64>,
    ) -> Result<ConduitInfo, ApiError> {
        self.conduits.create(client_id, shard_count)
    }

    /// Get Conduits of `client_id`.
    pub fn list_conduits(&self, client_id: &str) -> Vec<ConduitInfo> {
        self.conduits.list(client_id)
    }

    /// Update Conduits (the shard count).
    pub fn update_conduit(
        &mut self,
        client_id: &str,
        id: Option<&str>,
        shard_count: Option<i64>,
    ) -> Result<ConduitInfo, ApiError> {
        self.conduits.update(client_id, id, shard_count)
    }

    /// Delete Conduit, with every subscription on it (Twitch deletes them).
    pub fn delete_conduit(&mut self, client_id: &str, id: &str) -> Result<(), ApiError> {
        self.conduits.delete(client_id, id)?;
        self.index = None;
        self.subs
            .retain(|r| r.sub.transport.conduit_id.as_deref() != Some(id));
        Ok(())
    }

    /// Get Conduit Shards.
    pub fn conduit_shards(
        &self,
        client_id: &str,
        id: &str,
        status: Option<&str>,
    ) -> Result<Vec<ShardInfo>, ApiError> {
        self.conduits.shards(client_id, id, status)
    }

    /// Update Conduit Shards: each shard on its own, answering the shards
    /// updated and the per-shard errors. A WebSocket session assigned to a
    /// shard counts as subscribed (no 4003 close for it).
    pub fn update_shards(
        &mut self,
        client_id: &str,
        id: &str,
        updates: &[ShardUpdate],
    ) -> Result<(Vec<ShardInfo>, Vec<ShardError>), ApiError> {
        if !self.conduits.owns(client_id, id) {
            return Err(ApiError::new(404, "Conduit not found"));
        }
        let mut updated = Vec::new();
        let mut errors = Vec::new();
        for update in updates {
            let sessions = &self.sessions;
            let connected_at = |session_id: &str| {
                sessions
                    .get(session_id)
                    .filter(|s| s.is_live())
                    .map(|s| s.connected_at)
            };
            match self.conduits.assign(client_id, id, update, connected_at) {
                Ok(shard) => {
                    if let Some(session) = shard
                        .transport
                        .session_id
                        .as_deref()
                        .and_then(|sid| self.sessions.get_mut(sid))
                    {
                        session.subscribed = true;
                    }
                    updated.push(shard);
                }
                Err(error) => errors.push(error),
            }
        }
        Ok((updated, errors))
    }

    /// What conduit routing did: deliveries per shard, retries, drops.
    pub fn routing_counts(&self) -> RoutingCounts {
        self.conduits.counts()
    }

    /// Makes the next `times` sends to `session_id` fail as if its socket
    /// were gone (the session stays open); false for an unknown session.
    pub fn fail_sends(&mut self, session_id: &str, times: u32) -> bool {
        match self.sessions.get_mut(session_id) {
            Some(session) => {
                session.fail_sends = times;
                true
            }
            None => false,
        }
    }

    /// `total` and `total_cost` for the caller's subscriptions.
    pub fn totals(&self, caller: &Caller) -> Totals {
        let mine = self
            .subs
            .iter()
            .filter(|r| r.client_id == caller.client_id && r.user_id == caller.user_id);
        let (total, total_cost) = mine.fold((0, 0), |(n, cost), r| {
            let enabled_cost = if r.sub.status == "enabled" {
                r.sub.cost
            } else {
                0
            };
            (n + 1, cost + enabled_cost)
        });
        Totals { total, total_cost }
    }

    /// The caller's subscriptions, oldest first, filtered as `GET
    /// /eventsub/subscriptions` allows (`status`, `type`, `user_id`,
    /// `subscription_id`).
    pub fn list(
        &self,
        caller: &Caller,
        status: Option<&str>,
        kind: Option<&str>,
        user_id: Option<&str>,
        subscription_id: Option<&str>,
    ) -> Vec<Subscription> {
        self.subs
            .iter()
            .filter(|r| r.client_id == caller.client_id && r.user_id == caller.user_id)
            .map(|r| &r.sub)
            .filter(|s| status.is_none_or(|v| s.status == v))
            .filter(|s| kind.is_none_or(|v| s.kind == v))
            .filter(|s| subscription_id.is_none_or(|v| s.id == v))
            .filter(|s| user_id.is_none_or(|v| s.condition.values().any(|c| c.as_str() == Some(v))))
            .cloned()
            .collect()
    }

    /// Deletes one of the caller's subscriptions; false when not found.
    pub fn delete(&mut self, caller: &Caller, id: &str) -> bool {
        let before = self.subs.len();
        self.index = None;
        self.subs.retain(|r| {
            !(r.sub.id == id && r.client_id == caller.client_id && r.user_id == caller.user_id)
        });
        self.subs.len() != before
    }

    /// Every session with its subscriptions, in connection order.
    pub fn snapshot(&self) -> Vec<SessionInfo> {
        self.order
            .iter()
            .filter_map(|id| self.sessions.get(id))
            .map(|s| SessionInfo {
                id: s.id.clone(),
                status: s.status,
                keepalive_timeout_seconds: s.keepalive_secs,
                connected_at: s.connected_at,
                disconnected_at: s.disconnected_at,
                close_code: s.close_code,
                reconnect_url: s.reconnect_url.clone(),
                successor: s.successor.clone(),
                subscriptions: self
                    .subs
                    .iter()
                    .filter(|r| r.sub.transport.session_id.as_deref() == Some(s.id.as_str()))
                    .map(|r| r.sub.clone())
                    .collect(),
            })
            .collect()
    }

    /// Every subscription, oldest first.
    pub fn subscriptions(&self) -> Vec<Subscription> {
        self.subs.iter().map(|r| r.sub.clone()).collect()
    }
}

/// Twitch's answer when the token kind does not fit the transport (a user
/// token for a conduit, an app token for a WebSocket).
pub const INVALID_AUTH_COMBINATION: &str = "invalid transport and auth combination";

/// The offered type and version of a create request (400 otherwise).
fn offered(request: &CreateRequest) -> Result<&'static SubscriptionType, ApiError> {
    offered_parts(&request.kind, &request.version)
}

fn offered_parts(kind: &str, version: &str) -> Result<&'static SubscriptionType, ApiError> {
    catalog::find(kind)
        .filter(|s| s.version == version)
        .ok_or_else(|| ApiError::new(400, catalog::NOT_VALID))
}

/// Checks that the condition has the ids the type needs and answers the
/// broadcaster it is about.
fn condition_broadcaster(
    spec: &SubscriptionType,
    condition: &Map<String, Value>,
) -> Result<String, ApiError> {
    let field = |key: &str| {
        condition
            .get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let required: &[&str] = match spec.condition {
        ConditionShape::Broadcaster => &["broadcaster_user_id"],
        ConditionShape::BroadcasterAndModerator => &["broadcaster_user_id", "moderator_user_id"],
        ConditionShape::BroadcasterAndUser => &["broadcaster_user_id", "user_id"],
        ConditionShape::ToBroadcaster => &[],
    };
    for key in required {
        if field(key).is_none() {
            return Err(ApiError::new(
                400,
                format!("condition.{key} is missing or invalid"),
            ));
        }
    }
    let broadcaster = match spec.condition {
        ConditionShape::ToBroadcaster => field("to_broadcaster_user_id")
            .or_else(|| field("from_broadcaster_user_id"))
            .ok_or_else(|| {
                ApiError::new(
                    400,
                    "condition.to_broadcaster_user_id or condition.from_broadcaster_user_id is required",
                )
            })?,
        _ => field("broadcaster_user_id").unwrap_or_default(),
    };
    Ok(broadcaster.to_owned())
}

/// A subscription as notifications carry it: transport is just method and
/// session id (or the conduit).
fn on_the_wire(sub: &Subscription) -> Subscription {
    let mut wire = sub.clone();
    wire.transport = match &sub.transport.conduit_id {
        Some(conduit_id) => Transport::conduit(conduit_id.clone()),
        None => Transport::websocket(sub.transport.session_id.clone().unwrap_or_default()),
    };
    wire
}

/// What a conduit routes a notification by: the broadcaster it is about.
fn routing_key(event: &Value) -> &str {
    [
        "broadcaster_user_id",
        "to_broadcaster_user_id",
        "from_broadcaster_user_id",
    ]
    .iter()
    .find_map(|key| event.get(*key).and_then(Value::as_str))
    .unwrap_or_default()
}

/// Whether the broadcaster ids in a subscription's condition match the
/// event's (user ids such as `moderator_user_id` only say who reads).
/// The condition fields that name a broadcaster.
const CONDITION_KEYS: [&str; 3] = [
    "broadcaster_user_id",
    "to_broadcaster_user_id",
    "from_broadcaster_user_id",
];

/// Subscriptions by (type, the first broadcaster id their condition names,
/// or "" when it names none).
fn index_subs(subs: &[SubRecord]) -> HashMap<(String, String), Vec<usize>> {
    let mut index: HashMap<(String, String), Vec<usize>> = HashMap::new();
    for (i, record) in subs.iter().enumerate() {
        let broadcaster = CONDITION_KEYS
            .iter()
            .find_map(|key| record.sub.condition.get(*key).and_then(Value::as_str))
            .unwrap_or("");
        index
            .entry((record.sub.kind.clone(), broadcaster.to_owned()))
            .or_default()
            .push(i);
    }
    index
}

fn condition_matches(condition: &Map<String, Value>, event: &Value) -> bool {
    CONDITION_KEYS.iter().all(|key| match condition.get(*key) {
        Some(want) => event.get(*key) == Some(want),
        None => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

    const BROADCASTER: &str = "100000001";

    fn now() -> DateTime<Utc> {
        Utc::now()
    }

    fn caller() -> Caller {
        Caller {
            client_id: "c".into(),
            user_id: BROADCASTER.into(),
            scopes: crate::catalog::all_scopes()
                .into_iter()
                .map(str::to_owned)
                .collect(),
        }
    }

    fn limits() -> Limits {
        Limits {
            max_total_cost: 10,
            max_connections: 3,
            max_per_connection: 300,
        }
    }

    fn request(kind: &str, version: &str, session: &str) -> CreateRequest {
        let condition = match kind {
            "channel.follow" => {
                json!({"broadcaster_user_id": BROADCASTER, "moderator_user_id": BROADCASTER})
            }
            "channel.raid" => json!({"to_broadcaster_user_id": BROADCASTER}),
            _ => json!({"broadcaster_user_id": BROADCASTER}),
        };
        serde_json::from_value(json!({
            "type": kind, "version": version, "condition": condition,
            "transport": {"method": "websocket", "session_id": session}
        }))
        .unwrap()
    }

    fn create(
        hub: &mut Hub,
        kind: &str,
        version: &str,
        session: &str,
    ) -> Result<Subscription, ApiError> {
        hub.create(
            &caller(),
            request(kind, version, session),
            |id| id == BROADCASTER,
            limits(),
            now(),
        )
        .map(|(sub, _)| sub)
    }

    fn connect(hub: &mut Hub) -> (String, UnboundedReceiver<Outgoing>) {
        let (tx, rx) = unbounded_channel();
        (hub.connect(10, tx, now()), rx)
    }

    fn frames(rx: &mut UnboundedReceiver<Outgoing>) -> Vec<Value> {
        let mut out = Vec::new();
        while let Ok(item) = rx.try_recv() {
            if let Outgoing::Frame(text) = item {
                out.push(serde_json::from_str(&text).unwrap());
            }
        }
        out
    }

    #[test]
    fn create_checks_type_session_scope_and_duplicates() {
        let mut hub = Hub::new();
        let (session, _rx) = connect(&mut hub);
        let sub = create(&mut hub, "channel.follow", "2", &session).unwrap();
        assert_eq!(sub.status, "enabled");
        assert_eq!(sub.transport.session_id.as_deref(), Some(session.as_str()));
        assert!(sub.transport.connected_at.is_some());
        assert_eq!(
            create(&mut hub, "channel.follow", "2", &session)
                .unwrap_err()
                .status,
            409
        );
        assert_eq!(
            create(&mut hub, "channel.follow", "1", &session)
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            create(&mut hub, "channel.nope", "1", &session)
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            create(&mut hub, "channel.cheer", "1", "no-such")
                .unwrap_err()
                .status,
            400
        );

        let mut no_scopes = caller();
        no_scopes.scopes.clear();
        let err = hub
            .create(
                &no_scopes,
                request("channel.cheer", "1", &session),
                |_| true,
                limits(),
                now(),
            )
            .unwrap_err();
        assert_eq!(err.status, 403);
        assert!(err.message.contains("bits:read"), "{}", err.message);
        // Public types need no scope.
        assert!(
            hub.create(
                &no_scopes,
                request("channel.raid", "1", &session),
                |_| true,
                limits(),
                now()
            )
            .is_ok()
        );
    }

    #[test]
    fn notifications_reach_matching_subscriptions_only() {
        let mut hub = Hub::new();
        let (session, mut rx) = connect(&mut hub);
        create(&mut hub, "channel.follow", "2", &session).unwrap();
        let event = json!({"broadcaster_user_id": BROADCASTER, "user_id": "1"});
        let delivered = hub.deliver("channel.follow", &event, now());
        assert_eq!(delivered.len(), 1);
        let other_channel = json!({"broadcaster_user_id": "5", "user_id": "1"});
        assert!(
            hub.deliver("channel.follow", &other_channel, now())
                .is_empty()
        );
        assert!(hub.deliver("channel.cheer", &event, now()).is_empty());
        let got = frames(&mut rx);
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0]["metadata"]["message_id"],
            delivered[0].message_id.as_str()
        );
        assert_eq!(got[0]["metadata"]["subscription_version"], "2");
        assert_eq!(
            got[0]["payload"]["subscription"]["transport"],
            json!({"method": "websocket", "session_id": session})
        );
    }

    #[test]
    fn a_dropped_session_disables_its_subscriptions() {
        let mut hub = Hub::new();
        let (session, _rx) = connect(&mut hub);
        create(&mut hub, "channel.follow", "2", &session).unwrap();
        hub.socket_ended(&session, None, now());
        let subs = hub.list(&caller(), None, None, None, None);
        assert_eq!(subs[0].status, "websocket_disconnected");
        assert!(subs[0].transport.disconnected_at.is_some());
        let event = json!({"broadcaster_user_id": BROADCASTER});
        assert!(hub.deliver("channel.follow", &event, now()).is_empty());
        assert_eq!(hub.snapshot()[0].status, SessionStatus::Disconnected);
        assert_eq!(
            hub.list(&caller(), Some("enabled"), None, None, None).len(),
            0
        );
    }

    #[test]
    fn reconnect_moves_subscriptions_and_buffers_while_the_client_is_away() {
        let mut hub = Hub::new();
        let (old, mut old_rx) = connect(&mut hub);
        create(&mut hub, "channel.follow", "2", &old).unwrap();
        let started = hub.start_reconnect("ws://127.0.0.1:1/ws", now());
        assert_eq!(started.len(), 1);
        let reconnect = frames(&mut old_rx);
        assert_eq!(
            reconnect[0]["metadata"]["message_type"],
            "session_reconnect"
        );
        let url = reconnect[0]["payload"]["session"]["reconnect_url"]
            .as_str()
            .unwrap()
            .to_owned();
        let token = url.split("reconnect=").nth(1).unwrap();

        // The client closes the old socket before moving: events wait.
        hub.socket_ended(&old, Some(1000), now());
        let event = json!({"broadcaster_user_id": BROADCASTER});
        assert_eq!(hub.deliver("channel.follow", &event, now()).len(), 1);

        let (tx, _new_rx) = unbounded_channel();
        let (new, keepalive, buffered) = hub.migrate(token, tx.clone(), now()).unwrap();
        assert_ne!(new, old);
        assert_eq!(keepalive, 10);
        assert_eq!(buffered.len(), 1);
        let subs = hub.list(&caller(), Some("enabled"), None, None, None);
        assert_eq!(subs[0].transport.session_id.as_deref(), Some(new.as_str()));
        // Subscribing again on the new session is a duplicate.
        assert_eq!(
            create(&mut hub, "channel.follow", "2", &new)
                .unwrap_err()
                .status,
            409
        );
        // The token works once.
        assert!(hub.migrate(token, tx, now()).is_none());
        hub.grace_expired(&old, now());
        assert_eq!(
            hub.list(&caller(), Some("enabled"), None, None, None).len(),
            1
        );
    }

    #[test]
    fn a_client_that_never_moves_loses_the_session_with_4004() {
        let mut hub = Hub::new();
        let (old, mut rx) = connect(&mut hub);
        create(&mut hub, "channel.follow", "2", &old).unwrap();
        hub.start_reconnect("ws://x/ws", now());
        frames(&mut rx);
        hub.grace_expired(&old, now());
        let mut closes = Vec::new();
        while let Ok(item) = rx.try_recv() {
            closes.push(item);
        }
        assert!(matches!(
            closes.as_slice(),
            [Outgoing::Close { code: 4004, .. }]
        ));
        assert_eq!(
            hub.list(&caller(), Some("enabled"), None, None, None).len(),
            0
        );
    }

    #[test]
    fn unused_sessions_close_and_used_ones_do_not() {
        let mut hub = Hub::new();
        let (unused, _a) = connect(&mut hub);
        let (used, _b) = connect(&mut hub);
        create(&mut hub, "channel.raid", "1", &used).unwrap();
        assert!(hub.close_if_unused(&unused, now()));
        assert!(!hub.close_if_unused(&used, now()));
        assert!(!hub.is_live(&unused));
        assert_eq!(hub.snapshot()[0].close_code, Some(4003));
    }

    #[test]
    fn revocation_marks_and_tells_the_session() {
        let mut hub = Hub::new();
        let (session, mut rx) = connect(&mut hub);
        create(&mut hub, "channel.follow", "2", &session).unwrap();
        create(&mut hub, "channel.raid", "1", &session).unwrap();
        let revoked = hub.revoke(Some("channel.follow"), "authorization_revoked", now());
        assert_eq!(revoked.len(), 1);
        let got = frames(&mut rx);
        assert_eq!(got[0]["metadata"]["message_type"], "revocation");
        assert_eq!(
            got[0]["payload"]["subscription"]["status"],
            "authorization_revoked"
        );
        let event = json!({"broadcaster_user_id": BROADCASTER});
        assert!(hub.deliver("channel.follow", &event, now()).is_empty());
    }

    #[test]
    fn duplicates_keep_the_id_and_stale_ones_are_old() {
        let mut hub = Hub::new();
        let (session, mut rx) = connect(&mut hub);
        create(&mut hub, "channel.follow", "2", &session).unwrap();
        let event = json!({"broadcaster_user_id": BROADCASTER});
        hub.deliver("channel.follow", &event, now());
        assert_eq!(hub.resend_last(), 1);
        assert_eq!(hub.send_stale(TimeDelta::minutes(11), now()), 1);
        let got = frames(&mut rx);
        assert_eq!(got[0], got[1]);
        assert_ne!(
            got[2]["metadata"]["message_id"],
            got[0]["metadata"]["message_id"]
        );
        let stale =
            crate::wire::parse_timestamp(got[2]["metadata"]["message_timestamp"].as_str().unwrap())
                .unwrap();
        assert!(Utc::now() - stale > TimeDelta::minutes(10));
    }

    #[test]
    fn raw_notifications_reach_sessions_without_subscriptions() {
        let mut hub = Hub::new();
        let (_session, mut rx) = connect(&mut hub);
        let condition = json!({"broadcaster_user_id": BROADCASTER});
        let delivered = hub.deliver_any(
            "channel.future_thing",
            "beta",
            &json!({"x": 1}),
            condition.as_object().unwrap(),
            now(),
        );
        assert_eq!(delivered.len(), 1);
        let got = frames(&mut rx);
        assert_eq!(
            got[0]["metadata"]["subscription_type"],
            "channel.future_thing"
        );
        assert_eq!(got[0]["payload"]["event"], json!({"x": 1}));
    }
}
