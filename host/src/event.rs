//! The one currency of the host: every source (EventSub, pollers, chat, test
//! triggers) produces an [`Event`], and nothing downstream knows where it came
//! from except through [`Event::source`].

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Details of an event: a JSON object whose fields depend on the kind (see
/// ARCHITECTURE.md, "Event kinds").
pub type Details = Map<String, Value>;

/// A normalized channel event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    pub details: Details,
}

impl Event {
    /// A new event with a fresh, time-ordered id, occurring now.
    pub fn new(kind: EventKind, source: Source, channel_id: impl Into<String>) -> Self {
        Event {
            id: new_event_id(),
            kind,
            source,
            channel_id: channel_id.into(),
            viewer: None,
            occurred_at: now_ms(),
            details: Details::new(),
        }
    }

    /// Sets the viewer the event is about.
    pub fn with_viewer(mut self, viewer: Viewer) -> Self {
        self.viewer = Some(viewer);
        self
    }

    /// Sets the details from a typed struct of [`details`] (or any value that
    /// serializes to a JSON object; anything else leaves the details empty).
    pub fn with_details(mut self, details: impl Serialize) -> Self {
        if let Ok(Value::Object(map)) = serde_json::to_value(details) {
            self.details = map;
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
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Eventsub => "eventsub",
            Source::Poll => "poll",
            Source::Chat => "chat",
            Source::Test => "test",
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
            other => Err(UnknownSource(other.to_owned())),
        }
    }
}

/// A source name that is not one of eventsub, poll, chat, test.
#[derive(Debug, thiserror::Error)]
#[error("unknown event source {0:?} (expected eventsub, poll, chat or test)")]
pub struct UnknownSource(pub String);

macro_rules! event_kinds {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, )*) => {
        /// What happened. Known kinds use Twitch's EventSub names; a change
        /// seen only by polling gets a name in the same style. Unknown kinds
        /// are carried as [`EventKind::Other`], never dropped.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum EventKind {
            $( $(#[$doc])* $variant, )*
            /// A kind this host has no special handling for.
            Other(String),
        }

        impl EventKind {
            /// Every known kind, in table order.
            pub const KNOWN: &'static [EventKind] = &[$(EventKind::$variant,)*];

            /// The wire name, e.g. `channel.follow`.
            pub fn as_str(&self) -> &str {
                match self {
                    $( EventKind::$variant => $name, )*
                    EventKind::Other(name) => name,
                }
            }
        }

        impl From<&str> for EventKind {
            fn from(name: &str) -> Self {
                match name {
                    $( $name => EventKind::$variant, )*
                    other => EventKind::Other(other.to_owned()),
                }
            }
        }
    };
}

event_kinds! {
    /// details: username, action, followed_at
    Follow => "channel.follow",
    /// Poll only. details: username, action
    Unfollow => "channel.unfollow",
    /// Ban (is_permanent true) or timeout (false, with duration_seconds and expires_at).
    Ban => "channel.ban",
    /// details: username
    Unban => "channel.unban",
    /// Poll only: a timeout ran out or was lifted. details: username
    TimeoutEnd => "channel.timeout.end",
    /// details: username, action, role_type
    VipAdd => "channel.vip.add",
    VipRemove => "channel.vip.remove",
    ModeratorAdd => "channel.moderator.add",
    ModeratorRemove => "channel.moderator.remove",
    /// details: username, tier, is_gift
    Subscribe => "channel.subscribe",
    /// Resub. details: username, tier, cumulative_months, message
    SubscriptionMessage => "channel.subscription.message",
    /// details: username, tier
    SubscriptionEnd => "channel.subscription.end",
    /// details: username, tier, total, is_anonymous
    SubscriptionGift => "channel.subscription.gift",
    Cheer => "channel.cheer",
    Raid => "channel.raid",
    Redemption => "channel.channel_points_custom_reward_redemption.add",
    /// details: username, text, badges
    ChatMessage => "channel.chat.message",
    StreamOnline => "stream.online",
    StreamOffline => "stream.offline",
    /// Poll only. details: clip_title, clip_url, creator_username, view_count
    ClipCreated => "channel.clip.created",
}

impl EventKind {
    /// Whether this is one of the kinds in the ARCHITECTURE.md table.
    pub fn is_known(&self) -> bool {
        !matches!(self, EventKind::Other(_))
    }

    /// Maps a kind name, including the older app's names for poll-detected
    /// changes (seed 000), to this host's vocabulary. Seed names that folded
    /// two meanings into one kind (ban and timeout) set the distinguishing
    /// detail (`is_permanent`) when the caller did not.
    pub fn normalize(name: &str, details: &mut Details) -> EventKind {
        let (kind, is_permanent) = match name {
            "channel.user.banned" => (EventKind::Ban, Some(true)),
            "channel.user.timed_out" => (EventKind::Ban, Some(false)),
            "channel.user.unbanned" => (EventKind::Unban, None),
            "channel.user.timeout_lifted" => (EventKind::TimeoutEnd, None),
            "channel.vip.granted" => (EventKind::VipAdd, None),
            "channel.vip.revoked" => (EventKind::VipRemove, None),
            "channel.moderator.granted" => (EventKind::ModeratorAdd, None),
            "channel.moderator.revoked" => (EventKind::ModeratorRemove, None),
            "channel.resub" => (EventKind::SubscriptionMessage, None),
            "channel.unsubscribe" => (EventKind::SubscriptionEnd, None),
            other => (EventKind::from(other), None),
        };
        if let Some(permanent) = is_permanent {
            details
                .entry("is_permanent")
                .or_insert(Value::Bool(permanent));
        }
        kind
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(EventKind::from(s))
    }
}

impl From<String> for EventKind {
    fn from(name: String) -> Self {
        EventKind::from(name.as_str())
    }
}

impl Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Ok(EventKind::from(name))
    }
}

/// Typed details for the kinds whose fields this host defines, so every
/// source builds the same JSON for the same kind.
pub mod details {
    use chrono::{DateTime, Utc};
    use serde::Serialize;

    /// `channel.follow`
    #[derive(Debug, Clone, Serialize)]
    pub struct Follow {
        pub username: String,
        pub action: &'static str,
        pub followed_at: DateTime<Utc>,
    }

    impl Follow {
        pub fn new(username: impl Into<String>, followed_at: DateTime<Utc>) -> Self {
            Follow {
                username: username.into(),
                action: "follow",
                followed_at,
            }
        }
    }

    /// `channel.unfollow`
    #[derive(Debug, Clone, Serialize)]
    pub struct Unfollow {
        pub username: String,
        pub action: &'static str,
    }

    impl Unfollow {
        pub fn new(username: impl Into<String>) -> Self {
            Unfollow {
                username: username.into(),
                action: "unfollow",
            }
        }
    }

    /// `channel.ban`: a permanent ban, or a timeout with its duration.
    #[derive(Debug, Clone, Serialize)]
    pub struct Ban {
        pub username: String,
        pub moderator_username: Option<String>,
        pub moderator_id: Option<String>,
        pub reason: Option<String>,
        pub is_permanent: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub duration_seconds: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub expires_at: Option<DateTime<Utc>>,
    }

    /// `channel.unban` and `channel.timeout.end`
    #[derive(Debug, Clone, Serialize)]
    pub struct UserOnly {
        pub username: String,
    }

    /// Which role a role change is about.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
    #[serde(rename_all = "lowercase")]
    pub enum RoleType {
        Vip,
        Moderator,
    }

    /// `channel.vip.add/remove`, `channel.moderator.add/remove`
    #[derive(Debug, Clone, Serialize)]
    pub struct RoleChange {
        pub username: String,
        /// `granted` or `revoked`
        pub action: &'static str,
        pub role_type: RoleType,
    }

    impl RoleChange {
        pub fn granted(username: impl Into<String>, role_type: RoleType) -> Self {
            RoleChange {
                username: username.into(),
                action: "granted",
                role_type,
            }
        }
        pub fn revoked(username: impl Into<String>, role_type: RoleType) -> Self {
            RoleChange {
                username: username.into(),
                action: "revoked",
                role_type,
            }
        }
    }

    /// `channel.subscribe`
    #[derive(Debug, Clone, Serialize)]
    pub struct Subscribe {
        pub username: String,
        /// "1000", "2000" or "3000"
        pub tier: String,
        pub is_gift: bool,
    }

    /// `channel.subscription.message` (a resub)
    #[derive(Debug, Clone, Serialize)]
    pub struct Resub {
        pub username: String,
        pub tier: String,
        pub cumulative_months: u32,
        pub message: String,
    }

    /// `channel.subscription.end`
    #[derive(Debug, Clone, Serialize)]
    pub struct SubscriptionEnd {
        pub username: String,
        pub tier: String,
    }

    /// `channel.subscription.gift`
    #[derive(Debug, Clone, Serialize)]
    pub struct Gift {
        /// The gifter; empty when anonymous.
        pub username: String,
        pub tier: String,
        pub total: u32,
        pub is_anonymous: bool,
    }

    /// `channel.clip.created`
    #[derive(Debug, Clone, Serialize)]
    pub struct ClipCreated {
        pub clip_title: String,
        pub clip_url: String,
        pub creator_username: String,
        pub view_count: u64,
    }

    /// One chat badge, as EventSub gives it.
    #[derive(Debug, Clone, Serialize)]
    pub struct Badge {
        pub set_id: String,
        pub id: String,
        pub info: String,
    }

    /// `channel.chat.message`
    #[derive(Debug, Clone, Serialize)]
    pub struct ChatMessage {
        pub username: String,
        pub text: String,
        pub badges: Vec<Badge>,
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
        assert_eq!(EventKind::KNOWN.len(), 20);
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
    fn seed_names_map_to_one_vocabulary() {
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
        for (seed, kind, permanent) in cases {
            let mut details = Details::new();
            let normalized = EventKind::normalize(seed, &mut details);
            assert_eq!(normalized.as_str(), kind, "{seed}");
            assert!(normalized.is_known(), "{seed}");
            assert_eq!(
                details.get("is_permanent").and_then(Value::as_bool),
                permanent,
                "{seed}"
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
        for s in [Source::Eventsub, Source::Poll, Source::Chat, Source::Test] {
            assert_eq!(s.as_str().parse::<Source>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
        }
        assert!("webhook".parse::<Source>().is_err());
    }

    #[test]
    fn typed_details_have_the_table_fields() {
        let at = DateTime::parse_from_rfc3339("2025-01-15T14:32:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let e = Event::new(EventKind::Follow, Source::Poll, "42")
            .with_viewer(Viewer::new("7", "janedoe", "JaneDoe"))
            .with_details(details::Follow::new("JaneDoe", at));
        assert_eq!(
            Value::Object(e.details.clone()),
            json!({"username": "JaneDoe", "action": "follow", "followed_at": "2025-01-15T14:32:00Z"})
        );

        let timeout = details::Ban {
            username: "troll".into(),
            moderator_username: Some("mod".into()),
            moderator_id: Some("9".into()),
            reason: None,
            is_permanent: false,
            duration_seconds: Some(600),
            expires_at: Some(at),
        };
        let v = serde_json::to_value(&timeout).unwrap();
        assert_eq!(v["duration_seconds"], json!(600));
        assert_eq!(v["is_permanent"], json!(false));

        let ban = details::Ban {
            is_permanent: true,
            duration_seconds: None,
            expires_at: None,
            ..timeout
        };
        let v = serde_json::to_value(&ban).unwrap();
        assert!(v.get("duration_seconds").is_none());
        assert!(v.get("expires_at").is_none());

        let role = serde_json::to_value(details::RoleChange::granted(
            "x",
            details::RoleType::Moderator,
        ))
        .unwrap();
        assert_eq!(
            role,
            json!({"username": "x", "action": "granted", "role_type": "moderator"})
        );
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
