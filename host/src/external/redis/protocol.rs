//! The messages the Redis bridge reads, apart from any I/O: one pub/sub
//! payload in, one [`Event`] (source `external`) or the reason it is
//! [`Malformed`] out. Everything here is pure, so every shape a sender can
//! publish is tested without a server.
//!
//! A Discord bot publishes `{"type", "guildId", "timestamp", "data"}`:
//! `type` is one of [`DISCORD_TYPES`] (`GIVEAWAY_CREATE`, ...), `guildId`
//! the server, `timestamp` milliseconds since 1970 (when it happened) and
//! `data` an object with camelCase keys (`giveawayId`, `prize`, `winnerId`,
//! `userId`, `username`, `ticketId`). Such a message becomes the typed
//! `discord.*` kind ([`Discord`], with the whole `data` kept). Any other
//! JSON object becomes an event of kind `redis.<channel>` ([`other_kind`])
//! carrying the object as it came. Anything else (not JSON, not an object,
//! a known type whose fields have the wrong types, more than
//! [`MAX_MESSAGE_BYTES`]) is malformed.
//!
//! An event's id is derived from the message ([`event_id`]), so a message
//! published twice is stored once: the pipeline drops the second as a
//! duplicate.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::event::data::{Details, Discord};
use crate::event::{Event, EventData, EventKind, Source, json_type};

/// The largest message read, in bytes: a bot's event is a few hundred;
/// anything near this is a mistake or an attack, and is counted as
/// malformed without being parsed.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Every id the bridge gives starts with this.
const ID_PREFIX: &str = "redis:";
/// Hex digits of the message digest in an id.
const DIGEST_HEX: usize = 32;
/// The longest `id` field of a message that is used as its identity.
const MAX_MESSAGE_ID: usize = 128;

/// The bot's message types and the kinds they become.
pub const DISCORD_TYPES: &[(&str, EventKind)] = &[
    ("MEMBER_JOIN", EventKind::DiscordMemberJoin),
    ("MEMBER_LEAVE", EventKind::DiscordMemberLeave),
    ("TICKET_CREATE", EventKind::DiscordTicketCreate),
    ("TICKET_CLOSE", EventKind::DiscordTicketClose),
    ("GIVEAWAY_CREATE", EventKind::DiscordGiveawayCreate),
    ("GIVEAWAY_END", EventKind::DiscordGiveawayEnd),
    ("GIVEAWAY_ENTRY", EventKind::DiscordGiveawayEntry),
];

/// Why a message was not made an event. The text names what is wrong and
/// never repeats the payload (which may be huge or hostile).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

/// The kind a bot's message `type` names, if it is one of
/// [`DISCORD_TYPES`].
pub fn discord_kind(message_type: &str) -> Option<EventKind> {
    DISCORD_TYPES
        .iter()
        .find(|(name, _)| *name == message_type)
        .map(|(_, kind)| kind.clone())
}

/// The kind of a JSON object that is not a bot's event: `redis.` and the
/// channel's name, lowercased, with `:` as `.` and any other character
/// outside `a-z 0-9 . _ -` as `_` (kinds use one alphabet everywhere, so
/// filters and plugin subscriptions can name them).
pub fn other_kind(channel: &str) -> EventKind {
    let name: String = channel
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '.' | '_' | '-') => c,
            ':' => '.',
            _ => '_',
        })
        .collect();
    EventKind::Other(format!("redis.{name}"))
}

/// Reads one message published on `channel`: the event it describes, for
/// the broadcaster `channel_id`, received at `received_at`.
pub fn parse(
    channel: &str,
    payload: &[u8],
    channel_id: &str,
    received_at: DateTime<Utc>,
) -> Result<Event, Malformed> {
    if payload.len() > MAX_MESSAGE_BYTES {
        return Err(Malformed(format!(
            "the message is {} bytes; messages over {MAX_MESSAGE_BYTES} bytes are not read",
            payload.len()
        )));
    }
    let value: Value = serde_json::from_slice(payload)
        .map_err(|e| Malformed(format!("the message is not JSON: {e}")))?;
    let Value::Object(object) = value else {
        return Err(Malformed(format!(
            "the message must be a JSON object, not {}",
            json_type(&value)
        )));
    };
    let id = event_id(channel, message_id(&object).as_deref(), payload);
    let known = object
        .get("type")
        .and_then(Value::as_str)
        .and_then(|t| discord_kind(t).map(|kind| (t.to_owned(), kind)));
    let mut event = match known {
        Some((message_type, kind)) => {
            discord_event(&message_type, &kind, &object, channel_id, received_at)?
        }
        None => Event::new(other_kind(channel), Source::External, channel_id)
            .with_data(EventData::Other(object))
            .at(received_at),
    };
    event.id = id;
    Ok(event)
}

/// The message's own `id` (a string of 1 to 128 characters, or a whole
/// number), when it has one.
fn message_id(object: &Map<String, Value>) -> Option<String> {
    match object.get("id")? {
        Value::String(id) if !id.is_empty() && id.chars().count() <= MAX_MESSAGE_ID => {
            Some(id.clone())
        }
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// The id of the event a message on `channel` becomes: `redis:`, a digest
/// of the channel and the message's own `id` when it has one (else of the
/// whole payload), `:` and the channel. The same message published twice
/// gets the same id (and is stored once); the channel in it tells the
/// publisher where an event came from ([`origin_channel`]).
pub fn event_id(channel: &str, message_id: Option<&str>, payload: &[u8]) -> String {
    let mut hash = Sha256::new();
    match message_id {
        Some(id) => {
            hash.update(b"id\0");
            hash.update(channel.as_bytes());
            hash.update([0]);
            hash.update(id.as_bytes());
        }
        None => {
            hash.update(b"payload\0");
            hash.update(channel.as_bytes());
            hash.update([0]);
            hash.update(payload);
        }
    }
    let digest = hex::encode(hash.finalize());
    format!("{ID_PREFIX}{}:{channel}", &digest[..DIGEST_HEX])
}

/// The Redis channel an event came from, for events the bridge made (see
/// [`event_id`]); `None` for every other event.
pub fn origin_channel(event: &Event) -> Option<&str> {
    if event.source != Source::External {
        return None;
    }
    let rest = event.id.strip_prefix(ID_PREFIX)?;
    let (digest, channel) = (rest.get(..DIGEST_HEX)?, rest.get(DIGEST_HEX..)?);
    let channel = channel.strip_prefix(':')?;
    (digest.bytes().all(|b| b.is_ascii_hexdigit()) && !channel.is_empty()).then_some(channel)
}

/// A bot's message of a known type as its typed event.
fn discord_event(
    message_type: &str,
    kind: &EventKind,
    object: &Map<String, Value>,
    channel_id: &str,
    received_at: DateTime<Utc>,
) -> Result<Event, Malformed> {
    let wrong = |field: &str, wanted: &str, got: &Value| {
        Malformed(format!(
            "{message_type}: {field} must be {wanted}, not {}",
            json_type(got)
        ))
    };
    let guild_id = id_field(object, "guildId", "guildId", &wrong)?;
    let occurred_at = match object.get("timestamp") {
        None | Some(Value::Null) => received_at,
        Some(Value::Number(n)) => n
            .as_i64()
            .filter(|ms| *ms >= 0)
            .and_then(DateTime::from_timestamp_millis)
            .ok_or_else(|| {
                Malformed(format!(
                    "{message_type}: timestamp must be whole milliseconds since 1970, not {n}"
                ))
            })?,
        Some(other) => return Err(wrong("timestamp", "a number of milliseconds", other)),
    };
    let data: Details = match object.get("data") {
        None | Some(Value::Null) => Details::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(other) => return Err(wrong("data", "an object", other)),
    };
    let discord = Discord {
        guild_id,
        user_id: id_field(&data, "userId", "data.userId", &wrong)?,
        username: text_field(&data, "username", "data.username", &wrong)?,
        giveaway_id: id_field(&data, "giveawayId", "data.giveawayId", &wrong)?,
        prize: text_field(&data, "prize", "data.prize", &wrong)?,
        winner_id: id_field(&data, "winnerId", "data.winnerId", &wrong)?,
        ticket_id: id_field(&data, "ticketId", "data.ticketId", &wrong)?,
        data,
    };
    let data = match kind {
        EventKind::DiscordMemberJoin => EventData::DiscordMemberJoin(discord),
        EventKind::DiscordMemberLeave => EventData::DiscordMemberLeave(discord),
        EventKind::DiscordTicketCreate => EventData::DiscordTicketCreate(discord),
        EventKind::DiscordTicketClose => EventData::DiscordTicketClose(discord),
        EventKind::DiscordGiveawayCreate => EventData::DiscordGiveawayCreate(discord),
        EventKind::DiscordGiveawayEnd => EventData::DiscordGiveawayEnd(discord),
        _ => EventData::DiscordGiveawayEntry(discord),
    };
    Ok(Event::of(data, Source::External, channel_id).at(occurred_at))
}

/// An id field: a string, or a whole number (a database id sent as a
/// number) as its decimal text; empty when absent or null.
fn id_field(
    map: &Map<String, Value>,
    key: &str,
    field: &str,
    wrong: &dyn Fn(&str, &str, &Value) -> Malformed,
) -> Result<String, Malformed> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        Some(other) => Err(wrong(field, "a string or a whole number", other)),
    }
}

/// A text field: a string; empty when absent or null.
fn text_field(
    map: &Map<String, Value>,
    key: &str,
    field: &str,
    wrong: &dyn Fn(&str, &str, &Value) -> Malformed,
) -> Result<String, Malformed> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(wrong(field, "a string", other)),
    }
}

/// A message in the bot's shape, as the bot would publish it: for the demo
/// (whose Discord events go through [`parse`] like real ones) and tests.
pub fn discord_message(
    message_type: &str,
    guild_id: &str,
    timestamp: DateTime<Utc>,
    data: Value,
) -> String {
    serde_json::json!({
        "type": message_type,
        "guildId": guild_id,
        "timestamp": timestamp.timestamp_millis(),
        "data": data,
    })
    .to_string()
}

/// A short, escaped excerpt of a payload for a log line: enough to
/// recognise the sender's mistake, never the whole (possibly huge) message.
pub fn excerpt(payload: &[u8]) -> String {
    const SHOWN: usize = 80;
    let text = String::from_utf8_lossy(&payload[..payload.len().min(SHOWN * 4)]);
    let mut out: String = text
        .chars()
        .take(SHOWN)
        .flat_map(char::escape_debug)
        .collect();
    if payload.len() > SHOWN {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(ms).unwrap()
    }

    fn read(channel: &str, payload: &str) -> Result<Event, Malformed> {
        parse(channel, payload.as_bytes(), "1234", at(1_000))
    }

    #[test]
    fn a_giveaway_create_becomes_its_typed_kind() {
        let payload = r#"{"type":"GIVEAWAY_CREATE","guildId":"987654321098765432","timestamp":1733400000123,"data":{"giveawayId":"g-42","prize":"Steam key"}}"#;
        let event = read("discord_events", payload).unwrap();
        assert_eq!(event.kind, EventKind::DiscordGiveawayCreate);
        assert_eq!(event.source, Source::External);
        assert_eq!(event.channel_id, "1234");
        assert_eq!(event.viewer, None);
        assert_eq!(event.occurred_at, at(1_733_400_000_123));
        let EventData::DiscordGiveawayCreate(d) = &event.data else {
            panic!("{:?}", event.data)
        };
        assert_eq!(d.guild_id, "987654321098765432");
        assert_eq!(d.giveaway_id, "g-42");
        assert_eq!(d.prize, "Steam key");
        assert_eq!(d.winner_id, "");
        assert_eq!(
            Value::Object(d.data.clone()),
            json!({"giveawayId": "g-42", "prize": "Steam key"})
        );
        assert!(event.id.starts_with("redis:"), "{}", event.id);
    }

    #[test]
    fn every_type_maps_to_its_kind_and_fields() {
        for (message_type, kind) in DISCORD_TYPES {
            let payload = discord_message(
                message_type,
                "1",
                at(5),
                json!({"userId": 42, "username": "Jane", "ticketId": "t-1", "winnerId": "7", "giveawayId": 9, "prize": "Hat", "extra": [1]}),
            );
            let event = read("discord_events", &payload).unwrap();
            assert_eq!(&event.kind, kind, "{message_type}");
            assert_eq!(event.data.kind().as_ref(), Some(kind));
            let details = event.details();
            assert_eq!(details["user_id"], json!("42"), "numbers read as ids");
            assert_eq!(details["username"], json!("Jane"));
            assert_eq!(details["ticket_id"], json!("t-1"));
            assert_eq!(details["winner_id"], json!("7"));
            assert_eq!(details["giveaway_id"], json!("9"));
            assert_eq!(details["prize"], json!("Hat"));
            assert_eq!(details["data"]["extra"], json!([1]), "the whole data kept");
            // The stored form reads back as the same typed data.
            let back =
                EventData::from_details(kind, &details, crate::event::Strictness::Strict).unwrap();
            assert_eq!(back, event.data);
        }
    }

    #[test]
    fn a_giveaway_end_without_optional_fields_is_fine() {
        // JSON.stringify leaves out an undefined winner.
        let event = read(
            "discord_events",
            r#"{"type":"GIVEAWAY_END","guildId":"1","timestamp":7,"data":{"giveawayId":"g-1","winnerId":null}}"#,
        )
        .unwrap();
        assert_eq!(event.details()["winner_id"], json!(""));
        // No data and no timestamp: empty fields, received now.
        let event = read("discord_events", r#"{"type":"MEMBER_JOIN","guildId":"1"}"#).unwrap();
        assert_eq!(event.kind, EventKind::DiscordMemberJoin);
        assert_eq!(event.occurred_at, at(1_000));
        assert_eq!(event.details()["data"], json!({}));
    }

    #[test]
    fn other_objects_become_events_named_after_their_channel() {
        let event = read("alerts", r#"{"type":"MESSAGE_DELETE","n":1}"#).unwrap();
        assert_eq!(event.kind.as_str(), "redis.alerts");
        assert_eq!(event.source, Source::External);
        assert_eq!(event.occurred_at, at(1_000));
        assert_eq!(
            Value::Object(event.details()),
            json!({"type": "MESSAGE_DELETE", "n": 1})
        );
        let event = read("Bot:Events", r#"{"x":true}"#).unwrap();
        assert_eq!(event.kind.as_str(), "redis.bot.events");
        assert_eq!(other_kind("a b/c").as_str(), "redis.a_b_c");
    }

    #[test]
    fn the_same_message_gets_the_same_id_and_another_message_another() {
        let payload = discord_message("MEMBER_JOIN", "1", at(5), json!({"userId": "2"}));
        let a = read("discord_events", &payload).unwrap();
        let b = read("discord_events", &payload).unwrap();
        assert_eq!(a.id, b.id);
        let later = discord_message("MEMBER_JOIN", "1", at(6), json!({"userId": "2"}));
        assert_ne!(read("discord_events", &later).unwrap().id, a.id);
        // The same payload on another channel is another event.
        assert_ne!(read("other", &payload).unwrap().id, a.id);
    }

    #[test]
    fn a_message_id_is_its_identity() {
        let a = read("c", r#"{"id":"m-1","type":"MEMBER_JOIN","timestamp":1}"#).unwrap();
        let b = read("c", r#"{"id":"m-1","type":"MEMBER_JOIN","timestamp":2}"#).unwrap();
        assert_eq!(a.id, b.id, "a re-sent message with a new timestamp");
        let c = read("c", r#"{"id":"m-2","type":"MEMBER_JOIN","timestamp":1}"#).unwrap();
        assert_ne!(a.id, c.id);
        let n = read("c", r#"{"id":17,"v":1}"#).unwrap();
        assert_eq!(n.id, read("c", r#"{"id":17,"v":2}"#).unwrap().id);
        // An id that is not a usable identity: the payload is.
        let odd = read("c", r#"{"id":{"a":1},"v":1}"#).unwrap();
        assert_ne!(odd.id, read("c", r#"{"id":{"a":1},"v":2}"#).unwrap().id);
    }

    #[test]
    fn the_origin_channel_is_read_back_from_the_id() {
        for channel in ["discord_events", "a:b", "x"] {
            let event = read(channel, r#"{"a":1}"#).unwrap();
            assert_eq!(origin_channel(&event), Some(channel), "{}", event.id);
        }
        let mut test = Event::new(EventKind::Follow, Source::Test, "1");
        test.id = read("c", "{}").unwrap().id;
        assert_eq!(origin_channel(&test), None, "only the bridge's events");
        let mut other = Event::new(EventKind::Donation, Source::External, "1");
        other.id = "kofi:1234".into();
        assert_eq!(origin_channel(&other), None);
        other.id = "redis:short:c".into();
        assert_eq!(origin_channel(&other), None);
    }

    #[test]
    fn malformed_messages_say_what_is_wrong_without_the_payload() {
        let secret = "hunter2-payload";
        let cases = [
            (format!("not json {secret}"), "not JSON"),
            (format!("[\"{secret}\"]"), "not an array"),
            ("\"text\"".to_owned(), "not a string"),
            ("12".to_owned(), "not a number"),
            ("null".to_owned(), "not null"),
            (
                format!(
                    r#"{{"type":"GIVEAWAY_CREATE","guildId":"1","data":{{"prize":["{secret}"]}}}}"#
                ),
                "GIVEAWAY_CREATE: data.prize must be a string, not an array",
            ),
            (
                r#"{"type":"TICKET_CLOSE","guildId":true}"#.to_owned(),
                "TICKET_CLOSE: guildId must be a string or a whole number, not a boolean",
            ),
            (
                r#"{"type":"MEMBER_JOIN","timestamp":"yesterday"}"#.to_owned(),
                "timestamp must be a number of milliseconds, not a string",
            ),
            (
                r#"{"type":"MEMBER_JOIN","timestamp":-5}"#.to_owned(),
                "whole milliseconds",
            ),
            (
                r#"{"type":"MEMBER_JOIN","timestamp":1.5}"#.to_owned(),
                "whole milliseconds",
            ),
            (
                r#"{"type":"MEMBER_JOIN","timestamp":1e300}"#.to_owned(),
                "whole milliseconds",
            ),
            (
                r#"{"type":"MEMBER_LEAVE","data":"gone"}"#.to_owned(),
                "data must be an object, not a string",
            ),
            (
                r#"{"type":"GIVEAWAY_END","data":{"winnerId":1.5}}"#.to_owned(),
                "data.winnerId must be a string or a whole number",
            ),
        ];
        for (payload, needle) in cases {
            let err = read("c", &payload).unwrap_err();
            assert!(err.0.contains(needle), "{payload}: {err}");
            assert!(!err.0.contains(secret), "{payload}: {err}");
        }
    }

    #[test]
    fn oversize_messages_are_not_read() {
        let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(MAX_MESSAGE_BYTES));
        let err = read("c", &big).unwrap_err();
        assert!(err.0.contains("not read"), "{err}");
        let fits = format!(r#"{{"pad":"{}"}}"#, "x".repeat(MAX_MESSAGE_BYTES - 20));
        assert!(read("c", &fits).is_ok());
    }

    #[test]
    fn excerpts_are_short_and_escaped() {
        assert_eq!(excerpt(b"a\nb"), "a\\nb");
        let long = excerpt(&[b'x'; 10_000]);
        assert_eq!(long.chars().count(), 81);
        assert!(long.ends_with('…'));
        assert_eq!(excerpt(&[0xff, b'a']), "\u{fffd}a");
    }
}
