//! EventSub WebSocket frames as the server writes them, following Twitch's
//! "WebSocket Messages" reference field for field. Written independently
//! of any client's parser, so a client tested against the look-alike is
//! tested against the documented shapes, not against its own idea of them.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The `metadata.message_type` values the server sends.
pub mod message_type {
    pub const WELCOME: &str = "session_welcome";
    pub const KEEPALIVE: &str = "session_keepalive";
    pub const NOTIFICATION: &str = "notification";
    pub const RECONNECT: &str = "session_reconnect";
    pub const REVOCATION: &str = "revocation";
}

/// One EventSub subscription, as notifications, revocations and the Helix
/// subscription endpoints describe it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    /// `enabled`, or in a revocation the reason.
    pub status: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub version: String,
    pub cost: u32,
    pub condition: Map<String, Value>,
    pub transport: Transport,
    #[serde(with = "optional_timestamp", default)]
    pub created_at: Option<DateTime<Utc>>,
}

impl Subscription {
    /// An enabled WebSocket subscription for `session_id`.
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
}

/// `subscription.transport`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transport {
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The conduit of a `conduit` transport.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conduit_id: Option<String>,
    /// The callback URL of a `webhook` transport (conduit shards only:
    /// the look-alike never calls it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<String>,
    #[serde(
        with = "optional_timestamp",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub connected_at: Option<DateTime<Utc>>,
    #[serde(
        with = "optional_timestamp",
        default,
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
            ..Transport::default()
        }
    }

    /// `{"method": "conduit", "conduit_id": ...}`
    pub fn conduit(conduit_id: impl Into<String>) -> Self {
        Transport {
            method: "conduit".to_owned(),
            conduit_id: Some(conduit_id.into()),
            ..Transport::default()
        }
    }
}

/// The close codes the EventSub server uses, with Twitch's meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseCode {
    InternalServerError,
    ClientSentInboundTraffic,
    ClientFailedPingPong,
    ConnectionUnused,
    ReconnectGraceTimeExpired,
    NetworkTimeout,
    NetworkError,
    InvalidReconnect,
}

impl CloseCode {
    const ALL: [CloseCode; 8] = [
        CloseCode::InternalServerError,
        CloseCode::ClientSentInboundTraffic,
        CloseCode::ClientFailedPingPong,
        CloseCode::ConnectionUnused,
        CloseCode::ReconnectGraceTimeExpired,
        CloseCode::NetworkTimeout,
        CloseCode::NetworkError,
        CloseCode::InvalidReconnect,
    ];

    /// The EventSub close code for 4000-4007.
    pub fn from_code(code: u16) -> Option<CloseCode> {
        let index = code.checked_sub(4000)?;
        CloseCode::ALL.get(usize::from(index)).copied()
    }

    /// The numeric close code.
    pub fn code(self) -> u16 {
        4000 + CloseCode::ALL.iter().position(|c| *c == self).unwrap_or(0) as u16
    }

    /// The close reason text Twitch sends with the code.
    pub fn reason(self) -> &'static str {
        match self {
            CloseCode::InternalServerError => "internal server error",
            CloseCode::ClientSentInboundTraffic => "sent inbound traffic",
            CloseCode::ClientFailedPingPong => "client failed ping-pong",
            CloseCode::ConnectionUnused => "connection unused",
            CloseCode::ReconnectGraceTimeExpired => "client failed to reconnect",
            CloseCode::NetworkTimeout => "network timeout",
            CloseCode::NetworkError => "network error",
            CloseCode::InvalidReconnect => "invalid reconnect",
        }
    }
}

/// RFC 3339, UTC, nanoseconds, as Twitch writes timestamps.
pub fn format_timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Reads an RFC 3339 timestamp (any number of fractional digits).
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

/// `payload.session` of a welcome or reconnect frame.
#[derive(Serialize)]
struct Session<'a> {
    id: &'a str,
    status: &'a str,
    keepalive_timeout_seconds: Option<u32>,
    reconnect_url: Option<&'a str>,
    #[serde(with = "optional_timestamp")]
    connected_at: Option<DateTime<Utc>>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    message_id: &'a str,
    message_type: &'a str,
    message_timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscription_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscription_version: Option<&'a str>,
}

fn metadata<'a>(
    message_id: &'a str,
    message_type: &'a str,
    at: DateTime<Utc>,
    subscription: Option<&'a Subscription>,
) -> Metadata<'a> {
    Metadata {
        message_id,
        message_type,
        message_timestamp: format_timestamp(at),
        subscription_type: subscription.map(|s| s.kind.as_str()),
        subscription_version: subscription.map(|s| s.version.as_str()),
    }
}

/// Field order follows Twitch's documentation.
#[derive(Serialize)]
struct Frame<'a, P: Serialize> {
    metadata: Metadata<'a>,
    payload: P,
}

fn to_json(frame: &impl Serialize) -> String {
    serde_json::to_string(frame).expect("frames are plain structs with string keys")
}

/// A `session_welcome` frame.
pub fn welcome_frame(
    message_id: &str,
    session_id: &str,
    keepalive_secs: u32,
    at: DateTime<Utc>,
) -> String {
    let session = Session {
        id: session_id,
        status: "connected",
        keepalive_timeout_seconds: Some(keepalive_secs),
        reconnect_url: None,
        connected_at: Some(at),
    };
    to_json(&Frame {
        metadata: metadata(message_id, message_type::WELCOME, at, None),
        payload: serde_json::json!({ "session": session }),
    })
}

/// A `session_keepalive` frame (payload `{}`).
pub fn keepalive_frame(message_id: &str, at: DateTime<Utc>) -> String {
    to_json(&Frame {
        metadata: metadata(message_id, message_type::KEEPALIVE, at, None),
        payload: Map::new(),
    })
}

/// A `notification` frame for `subscription` carrying `event`.
pub fn notification_frame(
    message_id: &str,
    subscription: &Subscription,
    event: &Value,
    at: DateTime<Utc>,
) -> String {
    to_json(&Frame {
        metadata: metadata(
            message_id,
            message_type::NOTIFICATION,
            at,
            Some(subscription),
        ),
        payload: serde_json::json!({ "subscription": subscription, "event": event }),
    })
}

/// A `session_reconnect` frame: status `reconnecting`, the URL to move to,
/// a null keepalive window.
pub fn reconnect_frame(
    message_id: &str,
    session_id: &str,
    reconnect_url: &str,
    at: DateTime<Utc>,
) -> String {
    let session = Session {
        id: session_id,
        status: "reconnecting",
        keepalive_timeout_seconds: None,
        reconnect_url: Some(reconnect_url),
        connected_at: Some(at),
    };
    to_json(&Frame {
        metadata: metadata(message_id, message_type::RECONNECT, at, None),
        payload: serde_json::json!({ "session": session }),
    })
}

/// A `revocation` frame for `subscription` (its `status` is the reason).
pub fn revocation_frame(
    message_id: &str,
    subscription: &Subscription,
    at: DateTime<Utc>,
) -> String {
    to_json(&Frame {
        metadata: metadata(message_id, message_type::REVOCATION, at, Some(subscription)),
        payload: serde_json::json!({ "subscription": subscription }),
    })
}

mod optional_timestamp {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => s.serialize_str(&super::format_timestamp(*at)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Ok(Option::<String>::deserialize(d)?
            .as_deref()
            .and_then(super::parse_timestamp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(text: &str) -> DateTime<Utc> {
        parse_timestamp(text).unwrap()
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

    #[test]
    fn builders_produce_twitchs_exact_shapes() {
        let now = at("2023-07-19T14:56:51.634234626Z");
        let welcome: Value = serde_json::from_str(&welcome_frame("m1", "AQoQ", 10, now)).unwrap();
        assert_eq!(
            welcome,
            json!({
                "metadata": {
                    "message_id": "m1",
                    "message_type": "session_welcome",
                    "message_timestamp": "2023-07-19T14:56:51.634234626Z"
                },
                "payload": {"session": {
                    "id": "AQoQ",
                    "status": "connected",
                    "keepalive_timeout_seconds": 10,
                    "reconnect_url": null,
                    "connected_at": "2023-07-19T14:56:51.634234626Z"
                }}
            })
        );

        let keepalive: Value = serde_json::from_str(&keepalive_frame("m2", now)).unwrap();
        assert_eq!(keepalive["payload"], json!({}));
        assert_eq!(
            keepalive["metadata"].as_object().unwrap().len(),
            3,
            "no subscription fields on a keepalive"
        );

        let reconnect: Value =
            serde_json::from_str(&reconnect_frame("m3", "AQoQ", "wss://x/ws", now)).unwrap();
        assert_eq!(
            reconnect["payload"]["session"],
            json!({
                "id": "AQoQ",
                "status": "reconnecting",
                "keepalive_timeout_seconds": null,
                "reconnect_url": "wss://x/ws",
                "connected_at": "2023-07-19T14:56:51.634234626Z"
            })
        );

        let subscription = follow_subscription();
        let notification: Value = serde_json::from_str(&notification_frame(
            "m4",
            &subscription,
            &follow_event(),
            now,
        ))
        .unwrap();
        assert_eq!(
            notification,
            json!({
                "metadata": {
                    "message_id": "m4",
                    "message_type": "notification",
                    "message_timestamp": "2023-07-19T14:56:51.634234626Z",
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
                        "created_at": "2023-07-15T17:16:03.171067130Z"
                    },
                    "event": follow_event()
                }
            })
        );

        let mut revoked = subscription;
        revoked.status = "version_removed".to_owned();
        let revocation: Value =
            serde_json::from_str(&revocation_frame("m5", &revoked, now)).unwrap();
        assert_eq!(revocation["metadata"]["message_type"], json!("revocation"));
        assert_eq!(
            revocation["payload"]["subscription"]["status"],
            json!("version_removed")
        );
        assert!(revocation["payload"].get("event").is_none());
    }

    #[test]
    fn builder_output_is_field_ordered_like_the_docs() {
        let now = at("2023-07-19T14:56:51.634234626Z");
        let text = welcome_frame("m1", "s", 10, now);
        assert!(
            text.starts_with(r#"{"metadata":{"message_id":"m1","message_type":"session_welcome""#),
            "{text}"
        );
    }

    #[test]
    fn frames_have_twitchs_shape() {
        let at = parse_timestamp("2023-07-19T14:56:51.634234626Z").unwrap();
        let welcome: Value = serde_json::from_str(&welcome_frame("m1", "s1", 10, at)).unwrap();
        assert_eq!(welcome["metadata"]["message_type"], "session_welcome");
        assert_eq!(
            welcome["metadata"]["message_timestamp"],
            "2023-07-19T14:56:51.634234626Z"
        );
        assert_eq!(welcome["payload"]["session"]["status"], "connected");
        assert_eq!(welcome["payload"]["session"]["reconnect_url"], Value::Null);
        let sub = Subscription::websocket("id", "channel.follow", "2", Map::new(), "s1", at);
        let note: Value =
            serde_json::from_str(&notification_frame("m2", &sub, &json!({"a": 1}), at)).unwrap();
        assert_eq!(note["metadata"]["subscription_type"], "channel.follow");
        assert_eq!(note["metadata"]["subscription_version"], "2");
        assert_eq!(
            note["payload"]["subscription"]["transport"]["method"],
            "websocket"
        );
        assert_eq!(note["payload"]["event"]["a"], 1);
        let reconnect: Value =
            serde_json::from_str(&reconnect_frame("m3", "s1", "wss://x", at)).unwrap();
        assert_eq!(
            reconnect["payload"]["session"]["keepalive_timeout_seconds"],
            Value::Null
        );
    }

    #[test]
    fn close_codes_round_trip() {
        for code in 4000..=4007 {
            assert_eq!(CloseCode::from_code(code).unwrap().code(), code);
        }
        assert_eq!(CloseCode::from_code(1000), None);
    }
}
