//! EventSub WebSocket frames, exactly as Twitch documents them ("WebSocket
//! Messages"): parsing what the server sends. (The frames themselves are
//! built by the `twitch-lookalike` crate, written apart from this parser;
//! the tests here run its frames through it.)
//!
//! Pure: no sockets, no clocks. Parsing is tolerant, because Twitch adds
//! fields without notice (strict parsing is a pitfall other clients hit):
//! unknown fields are ignored everywhere and an unknown `message_type` is
//! [`Message::Unknown`], not an error. Only a frame we cannot act on at all
//! (not JSON, no metadata, a notification without its subscription or event)
//! is a [`ProtocolError`].

use crate::event::json_type;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// The `metadata.message_type` values Twitch sends, so the session code,
/// the builders and the mock server spell them once.
pub mod message_type {
    /// First frame on a connection; carries the session id.
    pub const WELCOME: &str = "session_welcome";
    /// Sent only when no notification went out within the keepalive window.
    pub const KEEPALIVE: &str = "session_keepalive";
    /// An event for one of our subscriptions.
    pub const NOTIFICATION: &str = "notification";
    /// Twitch asks us to move to `reconnect_url` (not `reconnect`!).
    pub const RECONNECT: &str = "session_reconnect";
    /// A subscription was revoked; nothing more arrives for it.
    pub const REVOCATION: &str = "revocation";
}

/// Messages older (or further in the future) than this are rejected, as
/// Twitch recommends, so a replayed frame cannot fire an old alert.
pub const MAX_MESSAGE_AGE: TimeDelta = TimeDelta::minutes(10);

/// One parsed frame: the metadata every frame has, and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Id, type and time of the frame (dedup key and staleness check).
    pub metadata: Metadata,
    /// The payload, interpreted according to `metadata.message_type`.
    pub message: Message,
}

impl Frame {
    /// Whether this frame is too old (or too far in the future) to act on;
    /// see [`is_stale`].
    pub fn is_stale(&self, now: DateTime<Utc>) -> bool {
        is_stale(self.metadata.message_timestamp, now)
    }
}

/// `metadata`: identifies a frame. `message_id` is stable across Twitch's
/// at-least-once redelivery, so it is the de-duplication key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Unique per message, kept when Twitch resends it.
    pub message_id: String,
    /// One of [`message_type`]'s values, or something newer.
    pub message_type: String,
    /// When Twitch sent the frame; used to reject stale (replayed) frames.
    #[serde(with = "timestamp")]
    pub message_timestamp: DateTime<Utc>,
    /// Set on notifications and revocations only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_type: Option<String>,
    /// Set on notifications and revocations only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_version: Option<String>,
}

/// What a frame says, by `message_type`.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// `session_welcome`: the connection is ready; subscribe with this
    /// session id within the keepalive window (else close 4003).
    Welcome(Session),
    /// `session_keepalive`: the connection is alive (payload `{}`).
    Keepalive,
    /// `notification`: an event for one of our subscriptions. The event is
    /// kept as JSON; [`crate::twitch::normalize`] interprets it.
    Notification {
        /// The subscription the event is for.
        subscription: Subscription,
        /// The event object; always a JSON object.
        event: Value,
    },
    /// `session_reconnect`: move to `session.reconnect_url` (always set when
    /// parsed by [`parse_frame`]); subscriptions carry over.
    Reconnect(Session),
    /// `revocation`: the subscription ended; `status` says why.
    Revocation(Subscription),
    /// A `message_type` this code does not know: carried, not an error, so a
    /// new message type from Twitch does not break the connection.
    Unknown {
        /// The `metadata.message_type` as sent.
        message_type: String,
        /// The payload as sent (`null` when absent).
        payload: Value,
    },
}

/// `payload.session` of a welcome or reconnect frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The session id to put in every subscription request.
    pub id: String,
    /// `connected` in a welcome, `reconnecting` in a reconnect.
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: String,
    /// The keepalive window; null in a reconnect frame.
    #[serde(default)]
    pub keepalive_timeout_seconds: Option<u32>,
    /// Null in a welcome; where to connect in a reconnect frame.
    #[serde(default)]
    pub reconnect_url: Option<String>,
    /// When the connection was made.
    #[serde(default, with = "lenient_timestamp")]
    pub connected_at: Option<DateTime<Utc>>,
    /// Sometimes present in a welcome; kept so nothing is lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_url: Option<String>,
}

/// `payload.subscription`: one EventSub subscription, as notifications,
/// revocations and the Helix subscription endpoints describe it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    /// Twitch's id of the subscription (for `DELETE ?id=`).
    pub id: String,
    /// `enabled`, or in a revocation the reason (see [`RevocationReason`]).
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: String,
    /// The subscription type, e.g. `channel.follow`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The subscription type's version, e.g. `2` for `channel.follow`.
    pub version: String,
    /// What it counts against `max_total_cost` (0 when the user authorized us).
    #[serde(default, deserialize_with = "null_as_default")]
    pub cost: u32,
    /// Condition fields (`broadcaster_user_id`, ...); values are strings.
    #[serde(default, deserialize_with = "null_as_default")]
    pub condition: Map<String, Value>,
    /// How notifications are delivered (our WebSocket session).
    #[serde(default, deserialize_with = "null_as_default")]
    pub transport: Transport,
    /// When Twitch created the subscription.
    #[serde(
        default,
        with = "lenient_timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<DateTime<Utc>>,
}

impl Subscription {
    /// An enabled WebSocket subscription, as Twitch reports one it created
    /// for `session_id`; for tests and the mock server.
    pub fn websocket(
        id: impl Into<String>,
        kind: impl Into<String>,
        version: impl Into<String>,
        condition: Map<String, Value>,
        session_id: impl Into<String>,
        created_at: DateTime<Utc>,
    ) -> Self {
        Subscription {
            id: id.into(),
            status: "enabled".to_owned(),
            kind: kind.into(),
            version: version.into(),
            cost: 0,
            condition,
            transport: Transport::websocket(session_id),
            created_at: Some(created_at),
        }
    }

    /// Why the subscription was revoked, read from `status`.
    pub fn revocation_reason(&self) -> RevocationReason {
        RevocationReason::from_status(&self.status)
    }
}

/// `subscription.transport`. For WebSocket subscriptions: `method`
/// `websocket` and the session id; the Helix list adds `connected_at` and,
/// for dead ones, `disconnected_at` (used to delete stale subscriptions).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transport {
    /// `websocket` for ours (also `webhook`, `conduit` elsewhere).
    #[serde(default, deserialize_with = "null_as_default")]
    pub method: String,
    /// The WebSocket session the subscription delivers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// When that session connected (Helix list only).
    #[serde(
        default,
        with = "lenient_timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub connected_at: Option<DateTime<Utc>>,
    /// When that session died: the subscription is stale (Helix list only).
    #[serde(
        default,
        with = "lenient_timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub disconnected_at: Option<DateTime<Utc>>,
}

impl Transport {
    /// `{"method": "websocket", "session_id": ...}`
    pub fn websocket(session_id: impl Into<String>) -> Self {
        Transport {
            method: "websocket".to_owned(),
            session_id: Some(session_id.into()),
            connected_at: None,
            disconnected_at: None,
        }
    }
}

/// Why Twitch revoked a subscription (`subscription.status` of a
/// revocation). None of these is fixed by subscribing again at once: the
/// host should log it and tell the streamer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationReason {
    /// `user_removed`: a user in the condition no longer exists.
    UserRemoved,
    /// `authorization_revoked`: the user revoked our token or a scope.
    AuthorizationRevoked,
    /// `version_removed`: Twitch retired this subscription type or version.
    VersionRemoved,
    /// Any other status (Twitch lists more, e.g. `moderator_removed`).
    Other(String),
}

impl RevocationReason {
    /// Reads a `subscription.status`.
    pub fn from_status(status: &str) -> Self {
        match status {
            "user_removed" => RevocationReason::UserRemoved,
            "authorization_revoked" => RevocationReason::AuthorizationRevoked,
            "version_removed" => RevocationReason::VersionRemoved,
            other => RevocationReason::Other(other.to_owned()),
        }
    }

    /// A sentence for the log and the dashboard.
    pub fn describe(&self) -> &str {
        match self {
            RevocationReason::UserRemoved => "a user in the condition no longer exists",
            RevocationReason::AuthorizationRevoked => {
                "the user revoked the authorization (log in again)"
            }
            RevocationReason::VersionRemoved => "Twitch removed this subscription version",
            RevocationReason::Other(status) => status,
        }
    }
}

/// A frame we cannot act on. Unknown fields and message types are not
/// errors; these are.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The text is not JSON at all.
    #[error("EventSub frame is not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// JSON, but not `{metadata, payload}`.
    #[error("EventSub frame is not a JSON object")]
    NotAnObject,
    /// No `metadata`: we cannot tell what the frame is.
    #[error("EventSub frame has no metadata")]
    MissingMetadata,
    /// `metadata` lacks its id, type or a readable timestamp.
    #[error("EventSub frame has invalid metadata: {0}")]
    InvalidMetadata(#[source] serde_json::Error),
    /// A part the message type needs is absent (or null).
    #[error("EventSub {message_type} frame has no {field}")]
    Missing {
        /// The frame's `metadata.message_type`.
        message_type: String,
        /// The dotted path of the absent part, e.g. `payload.event`.
        field: &'static str,
    },
    /// A part the message type needs has the wrong shape.
    #[error("EventSub {message_type} frame has an invalid {field}: {reason}")]
    Invalid {
        /// The frame's `metadata.message_type`.
        message_type: String,
        /// The dotted path of the bad part, e.g. `payload.subscription`.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// Parses one text frame from the EventSub WebSocket.
pub fn parse_frame(text: &str) -> Result<Frame, ProtocolError> {
    let root: Value = serde_json::from_str(text).map_err(ProtocolError::Json)?;
    let Value::Object(mut root) = root else {
        return Err(ProtocolError::NotAnObject);
    };
    let metadata = root
        .remove("metadata")
        .ok_or(ProtocolError::MissingMetadata)?;
    let metadata: Metadata =
        serde_json::from_value(metadata).map_err(ProtocolError::InvalidMetadata)?;
    let message = parse_message(&metadata.message_type, root.remove("payload"))?;
    Ok(Frame { metadata, message })
}

/// Interprets the payload according to the message type.
fn parse_message(message_type: &str, payload: Option<Value>) -> Result<Message, ProtocolError> {
    match message_type {
        message_type::WELCOME => Ok(Message::Welcome(parse_session(message_type, payload)?)),
        // The payload is `{}`; nothing in it matters, so its absence doesn't either.
        message_type::KEEPALIVE => Ok(Message::Keepalive),
        message_type::NOTIFICATION => parse_notification(payload),
        message_type::RECONNECT => parse_reconnect(payload),
        message_type::REVOCATION => {
            let mut payload = payload_object(message_type, payload)?;
            let subscription = take(message_type, &mut payload, "subscription")?;
            Ok(Message::Revocation(subscription))
        }
        other => Ok(Message::Unknown {
            message_type: other.to_owned(),
            payload: payload.unwrap_or(Value::Null),
        }),
    }
}

fn parse_session(message_type: &str, payload: Option<Value>) -> Result<Session, ProtocolError> {
    let mut payload = payload_object(message_type, payload)?;
    take(message_type, &mut payload, "session")
}

fn parse_notification(payload: Option<Value>) -> Result<Message, ProtocolError> {
    let message_type = message_type::NOTIFICATION;
    let mut payload = payload_object(message_type, payload)?;
    let subscription = take(message_type, &mut payload, "subscription")?;
    let event = match payload.remove("event") {
        None | Some(Value::Null) => return Err(missing(message_type, "payload.event")),
        Some(event @ Value::Object(_)) => event,
        Some(other) => {
            return Err(invalid(
                message_type,
                "payload.event",
                format!("expected an object, got {}", json_type(&other)),
            ));
        }
    };
    Ok(Message::Notification {
        subscription,
        event,
    })
}

/// A reconnect without a URL cannot be acted on, so it is an error rather
/// than a `Reconnect` the session would have to second-guess.
fn parse_reconnect(payload: Option<Value>) -> Result<Message, ProtocolError> {
    let message_type = message_type::RECONNECT;
    let session = parse_session(message_type, payload)?;
    if session.reconnect_url.as_deref().is_none_or(str::is_empty) {
        return Err(missing(message_type, "payload.session.reconnect_url"));
    }
    Ok(Message::Reconnect(session))
}

fn payload_object(
    message_type: &str,
    payload: Option<Value>,
) -> Result<Map<String, Value>, ProtocolError> {
    match payload {
        None | Some(Value::Null) => Err(missing(message_type, "payload")),
        Some(Value::Object(map)) => Ok(map),
        Some(other) => Err(invalid(
            message_type,
            "payload",
            format!("expected an object, got {}", json_type(&other)),
        )),
    }
}

/// Removes `payload.<field>` and deserializes it.
fn take<T: for<'de> Deserialize<'de>>(
    message_type: &str,
    payload: &mut Map<String, Value>,
    field: &'static str,
) -> Result<T, ProtocolError> {
    let path = payload_path(field);
    match payload.remove(field) {
        None | Some(Value::Null) => Err(missing(message_type, path)),
        Some(value) => serde_json::from_value(value)
            .map_err(|error| invalid(message_type, path, error.to_string())),
    }
}

/// `payload.<field>` as a static string for error messages.
fn payload_path(field: &'static str) -> &'static str {
    match field {
        "session" => "payload.session",
        "subscription" => "payload.subscription",
        "event" => "payload.event",
        other => other,
    }
}

fn missing(message_type: &str, field: &'static str) -> ProtocolError {
    ProtocolError::Missing {
        message_type: message_type.to_owned(),
        field,
    }
}

fn invalid(message_type: &str, field: &'static str, reason: String) -> ProtocolError {
    ProtocolError::Invalid {
        message_type: message_type.to_owned(),
        field,
        reason,
    }
}

/// Whether a frame sent at `message_timestamp` is too old to act on (more
/// than [`MAX_MESSAGE_AGE`] before `now`), or so far in the future that the
/// timestamp (or our clock) cannot be trusted. Exactly ten minutes is not
/// stale.
pub fn is_stale(message_timestamp: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now.signed_duration_since(message_timestamp).abs() > MAX_MESSAGE_AGE
}

/// The close codes the EventSub server uses (4000–4007). Any other code
/// (1000, 1006, ...) is an ordinary WebSocket close or a dropped network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseCode {
    /// 4000: a problem on Twitch's side.
    InternalServerError,
    /// 4001: we sent something other than a pong.
    ClientSentInboundTraffic,
    /// 4002: we did not answer a ping.
    ClientFailedPingPong,
    /// 4003: no subscription was created within the window after the welcome.
    ConnectionUnused,
    /// 4004: after a `session_reconnect` we did not move in time.
    ReconnectGraceTimeExpired,
    /// 4005: a transient network timeout.
    NetworkTimeout,
    /// 4006: a transient network error.
    NetworkError,
    /// 4007: the reconnect URL was invalid (also seen when the old socket
    /// was closed before the new welcome).
    InvalidReconnect,
}

impl CloseCode {
    /// Every EventSub close code, in numeric order.
    pub const ALL: [CloseCode; 8] = [
        CloseCode::InternalServerError,
        CloseCode::ClientSentInboundTraffic,
        CloseCode::ClientFailedPingPong,
        CloseCode::ConnectionUnused,
        CloseCode::ReconnectGraceTimeExpired,
        CloseCode::NetworkTimeout,
        CloseCode::NetworkError,
        CloseCode::InvalidReconnect,
    ];

    /// The EventSub close code for a WebSocket close code, if it is one.
    pub fn from_code(code: u16) -> Option<CloseCode> {
        let index = code.checked_sub(4000)?;
        CloseCode::ALL.get(usize::from(index)).copied()
    }

    /// The numeric close code.
    pub fn code(self) -> u16 {
        match self {
            CloseCode::InternalServerError => 4000,
            CloseCode::ClientSentInboundTraffic => 4001,
            CloseCode::ClientFailedPingPong => 4002,
            CloseCode::ConnectionUnused => 4003,
            CloseCode::ReconnectGraceTimeExpired => 4004,
            CloseCode::NetworkTimeout => 4005,
            CloseCode::NetworkError => 4006,
            CloseCode::InvalidReconnect => 4007,
        }
    }

    /// What the code means, for the log and the dashboard.
    pub fn describe(&self) -> &'static str {
        match self {
            CloseCode::InternalServerError => "Twitch had an internal server error",
            CloseCode::ClientSentInboundTraffic => {
                "the client sent a message other than a pong (only pongs are allowed)"
            }
            CloseCode::ClientFailedPingPong => "the client did not answer a ping with a pong",
            CloseCode::ConnectionUnused => {
                "no subscription was created in time after the welcome message"
            }
            CloseCode::ReconnectGraceTimeExpired => {
                "the client did not reconnect in time after a session_reconnect message"
            }
            CloseCode::NetworkTimeout => "a transient network timeout",
            CloseCode::NetworkError => "a transient network error",
            CloseCode::InvalidReconnect => "the reconnect URL was invalid",
        }
    }

    /// Whether to open a new connection. Always true: every EventSub close
    /// is recovered by connecting again to the configured URL (never to an
    /// old `reconnect_url`), with backoff so a client-side bug (4001, 4003)
    /// cannot become a tight loop. Revoked authorization arrives as
    /// revocations, not as a close code.
    pub fn should_reconnect(&self) -> bool {
        true
    }

    /// Whether the new session must create its subscriptions again. Always
    /// true: subscriptions carry over only through `session_reconnect`, and
    /// a close (even 4004 or 4007, a failed reconnect) disables every
    /// subscription of the old session. Forgetting this is the endless-4003
    /// loop other clients hit.
    pub fn should_resubscribe(&self) -> bool {
        true
    }

    /// Whether the close points at a bug in this client rather than at
    /// Twitch or the network; worth logging as an error.
    pub fn is_client_fault(&self) -> bool {
        matches!(
            self,
            CloseCode::ClientSentInboundTraffic
                | CloseCode::ClientFailedPingPong
                | CloseCode::ConnectionUnused
                | CloseCode::ReconnectGraceTimeExpired
        )
    }
}

/// Formats a timestamp as Twitch does: RFC 3339, UTC, nanoseconds
/// (`2023-07-19T14:56:51.634234626Z`).
pub fn format_timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Parses an RFC 3339 timestamp with any number of fractional digits
/// (Twitch trims trailing zeros, as Go does).
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

/// Treats an explicit `null` like an absent field, so a null where Twitch
/// usually sends a value does not reject the whole frame.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A required timestamp: written with nanoseconds, read strictly (a frame
/// whose age is unknown cannot be checked for staleness).
mod timestamp {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_timestamp(*at))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_timestamp(&text)
            .ok_or_else(|| D::Error::custom(format!("{text:?} is not an RFC 3339 timestamp")))
    }
}

/// An informational timestamp: written with nanoseconds, read leniently (an
/// unreadable one becomes `None` rather than rejecting the frame).
mod lenient_timestamp {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_json::Value;

    pub fn serialize<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => s.serialize_str(&super::format_timestamp(*at)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let value = Option::<Value>::deserialize(d)?;
        Ok(value
            .as_ref()
            .and_then(Value::as_str)
            .and_then(super::parse_timestamp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use twitch_lookalike::wire::{
        keepalive_frame, reconnect_frame, revocation_frame, welcome_frame,
    };

    /// The look-alike's frames carry its own subscription type.
    fn wire(subscription: &Subscription) -> twitch_lookalike::wire::Subscription {
        serde_json::from_value(serde_json::to_value(subscription).unwrap()).unwrap()
    }

    fn notification_frame(
        message_id: &str,
        subscription: &Subscription,
        event: &Value,
        at: DateTime<Utc>,
    ) -> String {
        twitch_lookalike::wire::notification_frame(message_id, &wire(subscription), event, at)
    }

    fn at(text: &str) -> DateTime<Utc> {
        parse_timestamp(text).unwrap()
    }

    fn parse_value(frame: Value) -> Result<Frame, ProtocolError> {
        parse_frame(&frame.to_string())
    }

    fn follow_subscription() -> Subscription {
        let condition = json!({"broadcaster_user_id": "12826", "moderator_user_id": "12826"});
        Subscription::websocket(
            "f1c2a387-161a-49f9-a165-0f21d7a4e1c4",
            "channel.follow",
            "2",
            condition.as_object().unwrap().clone(),
            "AQoQexAWVYKSTIu4ec_2VAxyuhAB",
            at("2023-07-15T17:16:03.17106713Z"),
        )
    }

    fn follow_event() -> Value {
        json!({
            "user_id": "1234",
            "user_login": "cool_user",
            "user_name": "Cool_User",
            "broadcaster_user_id": "12826",
            "broadcaster_user_login": "twitch",
            "broadcaster_user_name": "Twitch",
            "followed_at": "2023-07-15T18:16:11.17106713Z"
        })
    }

    // ---- literal frames, shaped as in Twitch's "WebSocket Messages" ----

    const WELCOME: &str = r#"{
      "metadata": {
        "message_id": "96a3f3b5-5dec-4eed-908e-e11ee657416c",
        "message_type": "session_welcome",
        "message_timestamp": "2023-07-19T14:56:51.634234626Z"
      },
      "payload": {
        "session": {
          "id": "AQoQILE98gtqShGmLD7AM6yJThAB",
          "status": "connected",
          "connected_at": "2023-07-19T14:56:51.616329898Z",
          "keepalive_timeout_seconds": 10,
          "reconnect_url": null
        }
      }
    }"#;

    const KEEPALIVE: &str = r#"{
      "metadata": {
        "message_id": "84c1e79a-2a4b-4c13-ba0b-4312293e9308",
        "message_type": "session_keepalive",
        "message_timestamp": "2023-07-19T10:11:12.634234626Z"
      },
      "payload": {}
    }"#;

    const NOTIFICATION: &str = r#"{
      "metadata": {
        "message_id": "befa7b53-d79d-478f-86b9-120f112b044e",
        "message_type": "notification",
        "message_timestamp": "2022-11-16T10:11:12.464757833Z",
        "subscription_type": "channel.follow",
        "subscription_version": "2"
      },
      "payload": {
        "subscription": {
          "id": "f1c2a387-161a-49f9-a165-0f21d7a4e1c4",
          "status": "enabled",
          "type": "channel.follow",
          "version": "2",
          "cost": 0,
          "condition": {
            "broadcaster_user_id": "12826",
            "moderator_user_id": "12826"
          },
          "transport": {
            "method": "websocket",
            "session_id": "AQoQexAWVYKSTIu4ec_2VAxyuhAB"
          },
          "created_at": "2022-11-16T10:11:12.464757833Z"
        },
        "event": {
          "user_id": "1337",
          "user_login": "awesome_user",
          "user_name": "Awesome_User",
          "broadcaster_user_id": "12826",
          "broadcaster_user_login": "twitch",
          "broadcaster_user_name": "Twitch",
          "followed_at": "2023-07-15T18:16:11.17106713Z"
        }
      }
    }"#;

    const RECONNECT: &str = r#"{
      "metadata": {
        "message_id": "84c1e79a-2a4b-4c13-ba0b-4312293e9308",
        "message_type": "session_reconnect",
        "message_timestamp": "2022-11-18T09:10:11.634234626Z"
      },
      "payload": {
        "session": {
          "id": "AQoQexAWVYKSTIu4ec_2VAxyuhAB",
          "status": "reconnecting",
          "keepalive_timeout_seconds": null,
          "reconnect_url": "wss://eventsub.wss.twitch.tv?reconnect=AQoQexAWVYKSTIu4ec_2VAxyuhAB",
          "connected_at": "2022-11-16T10:11:12.634234626Z"
        }
      }
    }"#;

    const REVOCATION: &str = r#"{
      "metadata": {
        "message_id": "84c1e79a-2a4b-4c13-ba0b-4312293e9308",
        "message_type": "revocation",
        "message_timestamp": "2022-11-16T10:11:12.464757833Z",
        "subscription_type": "channel.follow",
        "subscription_version": "2"
      },
      "payload": {
        "subscription": {
          "id": "f1c2a387-161a-49f9-a165-0f21d7a4e1c4",
          "status": "authorization_revoked",
          "type": "channel.follow",
          "version": "2",
          "cost": 0,
          "condition": {
            "broadcaster_user_id": "12826",
            "moderator_user_id": "12826"
          },
          "transport": {
            "method": "websocket",
            "session_id": "AQoQexAWVYKSTIu4ec_2VAxyuhAB"
          },
          "created_at": "2022-11-16T10:11:12.464757833Z"
        }
      }
    }"#;

    #[test]
    fn parses_a_documented_welcome() {
        let frame = parse_frame(WELCOME).unwrap();
        assert_eq!(
            frame.metadata.message_id,
            "96a3f3b5-5dec-4eed-908e-e11ee657416c"
        );
        assert_eq!(frame.metadata.message_type, "session_welcome");
        assert_eq!(
            frame.metadata.message_timestamp,
            at("2023-07-19T14:56:51.634234626Z")
        );
        assert_eq!(frame.metadata.subscription_type, None);
        let Message::Welcome(session) = frame.message else {
            panic!("expected a welcome, got {:?}", frame.message);
        };
        assert_eq!(session.id, "AQoQILE98gtqShGmLD7AM6yJThAB");
        assert_eq!(session.status, "connected");
        assert_eq!(session.keepalive_timeout_seconds, Some(10));
        assert_eq!(session.reconnect_url, None);
        assert_eq!(
            session.connected_at,
            Some(at("2023-07-19T14:56:51.616329898Z"))
        );
        assert_eq!(session.recovery_url, None);
    }

    #[test]
    fn parses_a_documented_keepalive() {
        let frame = parse_frame(KEEPALIVE).unwrap();
        assert_eq!(frame.message, Message::Keepalive);
        assert_eq!(frame.metadata.message_type, "session_keepalive");
    }

    #[test]
    fn parses_a_documented_notification() {
        let frame = parse_frame(NOTIFICATION).unwrap();
        assert_eq!(
            frame.metadata.subscription_type.as_deref(),
            Some("channel.follow")
        );
        assert_eq!(frame.metadata.subscription_version.as_deref(), Some("2"));
        let Message::Notification {
            subscription,
            event,
        } = frame.message
        else {
            panic!("expected a notification, got {:?}", frame.message);
        };
        assert_eq!(subscription.id, "f1c2a387-161a-49f9-a165-0f21d7a4e1c4");
        assert_eq!(subscription.status, "enabled");
        assert_eq!(subscription.kind, "channel.follow");
        assert_eq!(subscription.version, "2");
        assert_eq!(subscription.cost, 0);
        assert_eq!(subscription.condition["moderator_user_id"], json!("12826"));
        assert_eq!(subscription.transport.method, "websocket");
        assert_eq!(
            subscription.transport.session_id.as_deref(),
            Some("AQoQexAWVYKSTIu4ec_2VAxyuhAB")
        );
        assert_eq!(
            subscription.created_at,
            Some(at("2022-11-16T10:11:12.464757833Z"))
        );
        assert_eq!(event["user_login"], json!("awesome_user"));
        assert_eq!(event["followed_at"], json!("2023-07-15T18:16:11.17106713Z"));
    }

    #[test]
    fn parses_a_documented_reconnect_with_a_null_keepalive() {
        let frame = parse_frame(RECONNECT).unwrap();
        let Message::Reconnect(session) = frame.message else {
            panic!("expected a reconnect, got {:?}", frame.message);
        };
        assert_eq!(session.status, "reconnecting");
        assert_eq!(session.keepalive_timeout_seconds, None);
        assert_eq!(
            session.reconnect_url.as_deref(),
            Some("wss://eventsub.wss.twitch.tv?reconnect=AQoQexAWVYKSTIu4ec_2VAxyuhAB")
        );
    }

    #[test]
    fn parses_a_documented_revocation() {
        let frame = parse_frame(REVOCATION).unwrap();
        let Message::Revocation(subscription) = frame.message else {
            panic!("expected a revocation, got {:?}", frame.message);
        };
        assert_eq!(subscription.status, "authorization_revoked");
        assert_eq!(
            subscription.revocation_reason(),
            RevocationReason::AuthorizationRevoked
        );
        assert_eq!(
            frame.metadata.subscription_type.as_deref(),
            Some("channel.follow")
        );
    }

    #[test]
    fn revocation_reasons_are_read_from_the_status() {
        assert_eq!(
            RevocationReason::from_status("user_removed"),
            RevocationReason::UserRemoved
        );
        assert_eq!(
            RevocationReason::from_status("version_removed"),
            RevocationReason::VersionRemoved
        );
        let other = RevocationReason::from_status("moderator_removed");
        assert_eq!(
            other,
            RevocationReason::Other("moderator_removed".to_owned())
        );
        assert_eq!(other.describe(), "moderator_removed");
        assert!(
            RevocationReason::AuthorizationRevoked
                .describe()
                .contains("log in")
        );
    }

    #[test]
    fn unknown_message_types_are_carried() {
        let frame = parse_value(json!({
            "metadata": {
                "message_id": "1",
                "message_type": "session_hibernate",
                "message_timestamp": "2023-07-19T14:56:51.634234626Z"
            },
            "payload": {"until": "later"}
        }))
        .unwrap();
        assert_eq!(
            frame.message,
            Message::Unknown {
                message_type: "session_hibernate".to_owned(),
                payload: json!({"until": "later"}),
            }
        );
    }

    #[test]
    fn an_unknown_type_without_payload_is_still_carried() {
        let frame = parse_value(json!({
            "metadata": {
                "message_id": "1",
                "message_type": "something_new",
                "message_timestamp": "2023-07-19T14:56:51Z"
            }
        }))
        .unwrap();
        assert_eq!(
            frame.message,
            Message::Unknown {
                message_type: "something_new".to_owned(),
                payload: Value::Null,
            }
        );
    }

    #[test]
    fn unknown_fields_are_ignored_everywhere() {
        let mut frame: Value = serde_json::from_str(NOTIFICATION).unwrap();
        frame["extra"] = json!(true);
        frame["metadata"]["trace_id"] = json!("abc");
        frame["payload"]["batch"] = json!([1, 2]);
        frame["payload"]["subscription"]["conduit_hint"] = json!({"x": 1});
        frame["payload"]["subscription"]["transport"]["region"] = json!("eu");
        frame["payload"]["event"]["brand_new_field"] = json!(42);
        let parsed = parse_value(frame).unwrap();
        let Message::Notification { event, .. } = parsed.message else {
            panic!("expected a notification");
        };
        // The event keeps every field, new ones included.
        assert_eq!(event["brand_new_field"], json!(42));

        let mut welcome: Value = serde_json::from_str(WELCOME).unwrap();
        welcome["payload"]["session"]["recovery_url"] = json!("wss://recovery.example");
        welcome["payload"]["session"]["region"] = json!("us-west");
        let parsed = parse_value(welcome).unwrap();
        let Message::Welcome(session) = parsed.message else {
            panic!("expected a welcome");
        };
        assert_eq!(
            session.recovery_url.as_deref(),
            Some("wss://recovery.example")
        );
    }

    #[test]
    fn nulls_and_absences_inside_a_subscription_are_tolerated() {
        let frame = parse_value(json!({
            "metadata": {
                "message_id": "1",
                "message_type": "revocation",
                "message_timestamp": "2023-07-19T14:56:51.634234626Z"
            },
            "payload": {"subscription": {
                "id": "s1", "type": "channel.cheer", "version": "1",
                "status": null, "condition": null, "transport": null,
                "created_at": "not a time"
            }}
        }))
        .unwrap();
        let Message::Revocation(subscription) = frame.message else {
            panic!("expected a revocation");
        };
        assert_eq!(subscription.status, "");
        assert!(subscription.condition.is_empty());
        assert_eq!(subscription.transport, Transport::default());
        assert_eq!(subscription.created_at, None);
        assert_eq!(subscription.cost, 0);
        // Metadata without subscription_type is tolerated too.
        assert_eq!(frame.metadata.subscription_type, None);
    }

    #[test]
    fn a_keepalive_without_payload_is_fine() {
        let frame = parse_value(json!({
            "metadata": {
                "message_id": "1",
                "message_type": "session_keepalive",
                "message_timestamp": "2023-07-19T14:56:51.634234626Z"
            }
        }))
        .unwrap();
        assert_eq!(frame.message, Message::Keepalive);
    }

    #[test]
    fn malformed_json_is_an_error() {
        for text in ["", "{", "not json", r#"{"metadata": }"#] {
            let error = parse_frame(text).unwrap_err();
            assert!(matches!(error, ProtocolError::Json(_)), "{text:?}");
            assert!(error.to_string().contains("not valid JSON"), "{error}");
        }
    }

    #[test]
    fn a_frame_must_be_an_object() {
        for text in ["[]", "42", "\"session_welcome\"", "null"] {
            let error = parse_frame(text).unwrap_err();
            assert!(matches!(error, ProtocolError::NotAnObject), "{text:?}");
        }
    }

    #[test]
    fn missing_metadata_is_an_error() {
        let error = parse_value(json!({"payload": {}})).unwrap_err();
        assert!(matches!(error, ProtocolError::MissingMetadata));
        assert_eq!(error.to_string(), "EventSub frame has no metadata");
    }

    #[test]
    fn metadata_needs_id_type_and_timestamp() {
        let full = json!({
            "message_id": "1",
            "message_type": "session_keepalive",
            "message_timestamp": "2023-07-19T14:56:51.634234626Z"
        });
        for field in ["message_id", "message_type", "message_timestamp"] {
            let mut metadata = full.clone();
            metadata.as_object_mut().unwrap().remove(field);
            let error = parse_value(json!({"metadata": metadata, "payload": {}})).unwrap_err();
            assert!(matches!(error, ProtocolError::InvalidMetadata(_)));
            assert!(error.to_string().contains(field), "{error}");
        }
        let mut metadata = full.clone();
        metadata["message_timestamp"] = json!("yesterday");
        let error = parse_value(json!({"metadata": metadata, "payload": {}})).unwrap_err();
        assert!(error.to_string().contains("RFC 3339"), "{error}");
        let error = parse_value(json!({"metadata": "x", "payload": {}})).unwrap_err();
        assert!(matches!(error, ProtocolError::InvalidMetadata(_)));
    }

    #[test]
    fn a_notification_needs_its_subscription_and_event() {
        let base: Value = serde_json::from_str(NOTIFICATION).unwrap();

        let mut frame = base.clone();
        frame["payload"]
            .as_object_mut()
            .unwrap()
            .remove("subscription");
        let error = parse_value(frame).unwrap_err();
        assert_eq!(
            error.to_string(),
            "EventSub notification frame has no payload.subscription"
        );

        let mut frame = base.clone();
        frame["payload"].as_object_mut().unwrap().remove("event");
        let error = parse_value(frame).unwrap_err();
        assert_eq!(
            error.to_string(),
            "EventSub notification frame has no payload.event"
        );

        let mut frame = base.clone();
        frame["payload"]["event"] = Value::Null;
        assert!(matches!(
            parse_value(frame).unwrap_err(),
            ProtocolError::Missing {
                field: "payload.event",
                ..
            }
        ));

        let mut frame = base.clone();
        frame["payload"]["event"] = json!([1, 2]);
        let error = parse_value(frame).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("invalid payload.event: expected an object, got an array"),
            "{error}"
        );

        let mut frame = base.clone();
        frame["payload"]["subscription"]
            .as_object_mut()
            .unwrap()
            .remove("id");
        let error = parse_value(frame).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("invalid payload.subscription: missing field `id`"),
            "{error}"
        );

        let mut frame = base.clone();
        frame.as_object_mut().unwrap().remove("payload");
        let error = parse_value(frame).unwrap_err();
        assert_eq!(
            error.to_string(),
            "EventSub notification frame has no payload"
        );

        let mut frame = base;
        frame["payload"] = json!("event");
        assert!(matches!(
            parse_value(frame).unwrap_err(),
            ProtocolError::Invalid {
                field: "payload",
                ..
            }
        ));
    }

    #[test]
    fn welcome_and_reconnect_need_a_session() {
        let mut frame: Value = serde_json::from_str(WELCOME).unwrap();
        frame["payload"] = json!({});
        let error = parse_value(frame).unwrap_err();
        assert_eq!(
            error.to_string(),
            "EventSub session_welcome frame has no payload.session"
        );

        let mut frame: Value = serde_json::from_str(WELCOME).unwrap();
        frame["payload"]["session"]
            .as_object_mut()
            .unwrap()
            .remove("id");
        let error = parse_value(frame).unwrap_err();
        assert!(error.to_string().contains("missing field `id`"), "{error}");

        let mut frame: Value = serde_json::from_str(RECONNECT).unwrap();
        frame["payload"]["session"]["reconnect_url"] = Value::Null;
        let error = parse_value(frame).unwrap_err();
        assert_eq!(
            error.to_string(),
            "EventSub session_reconnect frame has no payload.session.reconnect_url"
        );

        let mut frame: Value = serde_json::from_str(RECONNECT).unwrap();
        frame["payload"]["session"]["reconnect_url"] = json!("");
        assert!(parse_value(frame).is_err());
    }

    #[test]
    fn a_revocation_needs_its_subscription() {
        let mut frame: Value = serde_json::from_str(REVOCATION).unwrap();
        frame["payload"] = json!({});
        let error = parse_value(frame).unwrap_err();
        assert_eq!(
            error.to_string(),
            "EventSub revocation frame has no payload.subscription"
        );
    }

    // ---- builders -> parser ----

    #[test]
    fn welcome_round_trips() {
        let now = at("2023-07-19T14:56:51.634234626Z");
        let frame = parse_frame(&welcome_frame("m1", "session-1", 30, now)).unwrap();
        assert_eq!(frame.metadata.message_id, "m1");
        assert_eq!(frame.metadata.message_timestamp, now);
        assert_eq!(
            frame.message,
            Message::Welcome(Session {
                id: "session-1".to_owned(),
                status: "connected".to_owned(),
                keepalive_timeout_seconds: Some(30),
                reconnect_url: None,
                connected_at: Some(now),
                recovery_url: None,
            })
        );
    }

    #[test]
    fn keepalive_round_trips() {
        let now = at("2023-07-19T10:11:12.634234626Z");
        let frame = parse_frame(&keepalive_frame("m2", now)).unwrap();
        assert_eq!(frame.metadata.message_id, "m2");
        assert_eq!(frame.metadata.message_type, message_type::KEEPALIVE);
        assert_eq!(frame.message, Message::Keepalive);
    }

    #[test]
    fn notification_round_trips() {
        let now = at("2023-07-15T18:16:11.5Z");
        let subscription = follow_subscription();
        let event = follow_event();
        let text = notification_frame("m3", &subscription, &event, now);
        let frame = parse_frame(&text).unwrap();
        assert_eq!(
            frame.metadata.subscription_type.as_deref(),
            Some("channel.follow")
        );
        assert_eq!(frame.metadata.subscription_version.as_deref(), Some("2"));
        assert_eq!(
            frame.message,
            Message::Notification {
                subscription,
                event
            }
        );
    }

    #[test]
    fn reconnect_round_trips() {
        let now = at("2022-11-18T09:10:11.634234626Z");
        let url = "wss://eventsub.wss.twitch.tv?reconnect=abc";
        let frame = parse_frame(&reconnect_frame("m4", "session-1", url, now)).unwrap();
        let Message::Reconnect(session) = frame.message else {
            panic!("expected a reconnect");
        };
        assert_eq!(session.id, "session-1");
        assert_eq!(session.status, "reconnecting");
        assert_eq!(session.reconnect_url.as_deref(), Some(url));
        assert_eq!(session.keepalive_timeout_seconds, None);
    }

    #[test]
    fn revocation_round_trips() {
        let now = at("2022-11-16T10:11:12.464757833Z");
        let mut subscription = follow_subscription();
        subscription.status = "user_removed".to_owned();
        let frame = parse_frame(&revocation_frame("m5", &wire(&subscription), now)).unwrap();
        assert_eq!(
            frame.metadata.subscription_type.as_deref(),
            Some("channel.follow")
        );
        assert_eq!(frame.message, Message::Revocation(subscription));
    }

    #[test]
    fn timestamps_have_nanoseconds() {
        assert_eq!(
            format_timestamp(at("2023-07-19T14:56:51.634234626Z")),
            "2023-07-19T14:56:51.634234626Z"
        );
        assert_eq!(
            format_timestamp(at("2023-07-19T14:56:51Z")),
            "2023-07-19T14:56:51.000000000Z"
        );
        // Offsets are normalized to UTC.
        assert_eq!(
            format_timestamp(at("2023-07-19T16:56:51.5+02:00")),
            "2023-07-19T14:56:51.500000000Z"
        );
    }

    #[test]
    fn timestamps_with_trimmed_fractions_parse() {
        let trimmed = at("2023-07-15T18:16:11.17106713Z");
        assert_eq!(trimmed, at("2023-07-15T18:16:11.171067130Z"));
        assert_eq!(parse_timestamp("2023-07-15"), None);
        assert_eq!(parse_timestamp(""), None);
    }

    #[test]
    fn staleness_is_ten_minutes_either_way() {
        let now = at("2024-01-01T12:00:00Z");
        let minutes = |m: i64| now - TimeDelta::minutes(m);
        assert!(!is_stale(now, now));
        assert!(!is_stale(minutes(9), now));
        assert!(!is_stale(minutes(10), now), "exactly ten minutes is fine");
        assert!(is_stale(minutes(10) - TimeDelta::seconds(1), now));
        assert!(is_stale(minutes(60), now));
        assert!(!is_stale(minutes(-1), now), "small clock skew is fine");
        assert!(!is_stale(minutes(-10), now));
        assert!(is_stale(minutes(-11), now), "far future is suspicious");

        let frame = parse_frame(&keepalive_frame("m", minutes(11))).unwrap();
        assert!(frame.is_stale(now));
        let frame = parse_frame(&keepalive_frame("m", minutes(1))).unwrap();
        assert!(!frame.is_stale(now));
    }

    #[test]
    fn close_codes_map_both_ways() {
        for (i, code) in CloseCode::ALL.iter().enumerate() {
            let number = 4000 + u16::try_from(i).unwrap();
            assert_eq!(code.code(), number);
            assert_eq!(CloseCode::from_code(number), Some(*code));
        }
        for number in [0, 1000, 1006, 3999, 4008, 4999, u16::MAX] {
            assert_eq!(CloseCode::from_code(number), None, "{number}");
        }
    }

    #[test]
    fn close_codes_are_described() {
        let described: std::collections::HashSet<_> =
            CloseCode::ALL.iter().map(|c| c.describe()).collect();
        assert_eq!(described.len(), CloseCode::ALL.len(), "all distinct");
        assert!(
            CloseCode::from_code(4003)
                .unwrap()
                .describe()
                .contains("subscription")
        );
        assert!(
            CloseCode::from_code(4001)
                .unwrap()
                .describe()
                .contains("pong")
        );
    }

    #[test]
    fn every_close_means_reconnect_and_resubscribe() {
        for code in CloseCode::ALL {
            assert!(code.should_reconnect(), "{code:?}");
            assert!(code.should_resubscribe(), "{code:?}");
        }
        let faults: Vec<u16> = CloseCode::ALL
            .iter()
            .filter(|c| c.is_client_fault())
            .map(|c| c.code())
            .collect();
        assert_eq!(faults, [4001, 4002, 4003, 4004]);
    }
}
