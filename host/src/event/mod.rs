//! The one currency of the host: every source (EventSub, pollers, chat, test
//! triggers) produces an [`Event`], and nothing downstream knows where it came
//! from except through [`Event::source`]. What an event carries is typed by
//! kind ([`EventData`]); its JSON form ("details") is what the database and
//! the API hold.

use std::str::FromStr;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub mod data;
mod kind;

pub use data::{Details, DetailsError, EventData, Strictness};
pub use kind::EventKind;

/// A normalized channel event. Serialised with its data in JSON form
/// (`details`), as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "EventJson", try_from = "EventJson")]
pub struct Event {
    /// Unique across sources; an EventSub message id, or a generated id.
    pub id: String,
    pub kind: EventKind,
    pub source: Source,
    /// The broadcaster's Twitch user id.
    pub channel_id: String,
    /// The viewer the event is about, when there is one.
    pub viewer: Option<Viewer>,
    /// When it happened; for polled changes, when the change was detected.
    pub occurred_at: DateTime<Utc>,
    /// What it carries; matches `kind` ([`EventData::Other`] for kinds
    /// Stagehand does not model).
    pub data: EventData,
}

impl Event {
    /// A new event of `data`'s kind with a fresh, time-ordered id,
    /// occurring now.
    /// For [`EventData::Other`], whose kind the data cannot say, use
    /// [`Event::new`] and [`Event::with_data`].
    pub fn of(data: EventData, source: Source, channel_id: impl Into<String>) -> Self {
        let kind = data
            .kind()
            .unwrap_or_else(|| EventKind::Other(String::new()));
        Event {
            id: new_event_id(),
            kind,
            source,
            channel_id: channel_id.into(),
            viewer: None,
            occurred_at: now_ms(),
            data,
        }
    }

    /// A new event of `kind` with that kind's empty data (set it with
    /// [`Event::with_data`] or [`Event::with_details`]).
    pub fn new(kind: EventKind, source: Source, channel_id: impl Into<String>) -> Self {
        let data = EventData::empty(&kind);
        Event {
            id: new_event_id(),
            kind,
            source,
            channel_id: channel_id.into(),
            viewer: None,
            occurred_at: now_ms(),
            data,
        }
    }

    /// The data's JSON form.
    pub fn details(&self) -> Details {
        self.data.to_details()
    }

    /// Sets the viewer the event is about.
    pub fn with_viewer(mut self, viewer: Viewer) -> Self {
        self.viewer = Some(viewer);
        self
    }

    /// Sets the data (of this event's kind).
    pub fn with_data(mut self, data: EventData) -> Self {
        self.data = data;
        self
    }

    /// Sets the data from its JSON form, read as a stored row is (fields
    /// the kind does not have are ignored): for tests and fixtures.
    pub fn with_details(mut self, details: Value) -> Self {
        if let Value::Object(map) = details {
            self.data = EventData::from_stored(&self.kind, map);
        }
        self
    }

    /// Sets when the event happened.
    pub fn at(mut self, occurred_at: DateTime<Utc>) -> Self {
        self.occurred_at = occurred_at.trunc_subsecs(3);
        self
    }
}

/// The JSON type of a value as error messages name it ("an array").
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A fresh event id: a UUIDv7, so ids sort by creation time.
pub fn new_event_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The current time at the store's precision (milliseconds), so an event
/// compares equal after a round trip through SQLite.
pub fn now_ms() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

/// A Twitch user involved in an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    /// Twitch user id: stable across renames.
    pub id: String,
    pub login: String,
    pub display_name: String,
}

impl Viewer {
    pub fn new(
        id: impl Into<String>,
        login: impl Into<String>,
        display_name: impl Into<String>,
    ) -> Self {
        Viewer {
            id: id.into(),
            login: login.into(),
            display_name: display_name.into(),
        }
    }
}

/// Where an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Twitch EventSub WebSocket notification.
    Eventsub,
    /// A change detected by a Helix poller.
    Poll,
    /// A chat message or command.
    Chat,
    /// Fired by the streamer or a test (`POST /api/events/test`, `stagehand trigger`).
    Test,
    /// From outside Twitch: a program of the streamer's community (a
    /// Discord bot publishing on Redis) or a service's webhook (Ko-fi).
    /// Names in such events are not Twitch users.
    External,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Eventsub => "eventsub",
            Source::Poll => "poll",
            Source::Chat => "chat",
            Source::Test => "test",
            Source::External => "external",
        }
    }
}

impl FromStr for Source {
    type Err = UnknownSource;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "eventsub" => Ok(Source::Eventsub),
            "poll" => Ok(Source::Poll),
            "chat" => Ok(Source::Chat),
            "test" => Ok(Source::Test),
            "external" => Ok(Source::External),
            other => Err(UnknownSource(other.to_owned())),
        }
    }
}

/// A source name that is not one of eventsub, poll, chat, test, external.
#[derive(Debug, thiserror::Error)]
#[error("unknown event source {0:?} (expected eventsub, poll, chat, test or external)")]
pub struct UnknownSource(pub String);

/// [`Event`] as JSON: its data in JSON form.
#[derive(Serialize, Deserialize)]
struct EventJson {
    id: String,
    kind: EventKind,
    source: Source,
    channel_id: String,
    viewer: Option<Viewer>,
    occurred_at: DateTime<Utc>,
    details: Details,
}

impl From<Event> for EventJson {
    fn from(e: Event) -> Self {
        EventJson {
            details: e.data.to_details(),
            id: e.id,
            kind: e.kind,
            source: e.source,
            channel_id: e.channel_id,
            viewer: e.viewer,
            occurred_at: e.occurred_at,
        }
    }
}

impl TryFrom<EventJson> for Event {
    type Error = DetailsError;
    fn try_from(e: EventJson) -> Result<Self, Self::Error> {
        let data = EventData::from_details(&e.kind, &e.details, Strictness::Lenient)?;
        Ok(Event {
            id: e.id,
            kind: e.kind,
            source: e.source,
            channel_id: e.channel_id,
            viewer: e.viewer,
            occurred_at: e.occurred_at,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_kinds_round_trip_through_their_names() {
        for kind in EventKind::KNOWN {
            assert_eq!(&EventKind::from(kind.as_str()), kind);
            assert!(kind.is_known());
        }
        assert_eq!(EventKind::KNOWN.len(), 28);
    }

    #[test]
    fn unknown_kinds_are_carried() {
        let kind = EventKind::from("channel.hype_train.begin");
        assert_eq!(kind, EventKind::Other("channel.hype_train.begin".into()));
        assert_eq!(kind.as_str(), "channel.hype_train.begin");
        assert!(!kind.is_known());
        let json = serde_json::to_string(&kind).unwrap();
        assert_eq!(json, "\"channel.hype_train.begin\"");
        let back: EventKind = serde_json::from_str(&json).unwrap();
        assert_eq!(back, kind);
    }

    #[test]
    fn legacy_names_map_to_one_vocabulary() {
        let cases = [
            ("channel.user.banned", "channel.ban", Some(true)),
            ("channel.user.timed_out", "channel.ban", Some(false)),
            ("channel.user.unbanned", "channel.unban", None),
            ("channel.user.timeout_lifted", "channel.timeout.end", None),
            ("channel.vip.granted", "channel.vip.add", None),
            ("channel.vip.revoked", "channel.vip.remove", None),
            ("channel.moderator.granted", "channel.moderator.add", None),
            (
                "channel.moderator.revoked",
                "channel.moderator.remove",
                None,
            ),
            ("channel.resub", "channel.subscription.message", None),
            ("channel.unsubscribe", "channel.subscription.end", None),
            ("channel.follow", "channel.follow", None),
            ("channel.unfollow", "channel.unfollow", None),
            ("channel.clip.created", "channel.clip.created", None),
        ];
        for (legacy, kind, permanent) in cases {
            let mut details = Details::new();
            let normalized = EventKind::normalize(legacy, &mut details);
            assert_eq!(normalized.as_str(), kind, "{legacy}");
            assert!(normalized.is_known(), "{legacy}");
            assert_eq!(
                details.get("is_permanent").and_then(Value::as_bool),
                permanent,
                "{legacy}"
            );
        }
    }

    #[test]
    fn normalize_keeps_an_explicit_is_permanent() {
        let mut details = json!({"is_permanent": false}).as_object().unwrap().clone();
        EventKind::normalize("channel.user.banned", &mut details);
        assert_eq!(details["is_permanent"], json!(false));
    }

    #[test]
    fn sources_parse_and_print() {
        for s in [
            Source::Eventsub,
            Source::Poll,
            Source::Chat,
            Source::Test,
            Source::External,
        ] {
            assert_eq!(s.as_str().parse::<Source>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
        }
        assert!("webhook".parse::<Source>().is_err());
    }

    #[test]
    fn event_ids_are_unique_and_time_ordered() {
        let a = new_event_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_event_id();
        assert_ne!(a, b);
        assert!(a < b);
    }

    #[test]
    fn an_event_round_trips_through_json() {
        let e =
            Event::new(EventKind::Raid, Source::Eventsub, "1").with_details(json!({"viewers": 12}));
        let back: Event = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, e);
    }
}
