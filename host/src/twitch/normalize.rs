//! Turns an EventSub notification's event payload into the host's
//! [`Event`], with its kind's typed data (see `docs/event-kinds.md`), plus
//! the [`DomainChange`] the notification implies for the domain tables
//! (follower_history, viewer_roles, viewer_subscriptions).
//!
//! Pure, and total: a missing or mistyped field never panics and never drops
//! the event. What can be built is built, and every problem is listed in
//! [`Normalized::warnings`] for the host to log. Domain changes are only
//! produced when the fields they need are present, because a guessed value
//! in a domain table is worse than a change the next poll catches.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::eventsub::protocol::parse_timestamp;
use crate::event::data::{self, Named, Tier};
use crate::event::json_type;
use crate::event::{Event, EventData, EventKind, Source, Viewer};
use crate::store::roles::Role;

/// The result of normalizing one notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    /// The event for the pipeline; its id is the EventSub message id.
    pub event: Event,
    /// What the notification changes in the domain tables; the host
    /// applies it after the event is stored.
    pub change: DomainChange,
    /// Problems found in the payload (missing or mistyped fields), for the
    /// log. Empty for a well-formed payload.
    pub warnings: Vec<String>,
}

/// A change to the domain tables implied by a notification (follows
/// update follower_history, role changes viewer_roles, subs
/// viewer_subscriptions). Pure data: the host applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainChange {
    /// Nothing to change (bans, chat, cheers, raids, ... or a payload too
    /// broken to act on).
    None,
    /// `channel.follow`: record a follow in follower_history.
    Follow {
        /// The new follower.
        viewer: Viewer,
        /// From the payload; `None` only when it was missing or unreadable.
        followed_at: Option<DateTime<Utc>>,
    },
    /// `channel.vip.add` / `channel.moderator.add`: grant in viewer_roles.
    RoleGranted {
        /// Who gained the role.
        viewer: Viewer,
        /// VIP or moderator.
        role: Role,
    },
    /// `channel.vip.remove` / `channel.moderator.remove`: revoke it.
    RoleRevoked {
        /// Who lost the role.
        viewer: Viewer,
        /// VIP or moderator.
        role: Role,
    },
    /// `channel.subscribe` or `channel.subscription.message` (a resub):
    /// upsert the viewer's active subscription in viewer_subscriptions.
    Subscribed {
        /// The subscriber (for a gifted sub, the recipient).
        viewer: Viewer,
        /// "1000", "2000" or "3000".
        tier: String,
        /// `None` when the notification does not say (a resub message):
        /// keep the stored flag, or false for a new row.
        is_gift: Option<bool>,
        /// Known from resub messages only.
        cumulative_months: Option<u32>,
    },
    /// `channel.subscription.end`: end the active subscription.
    SubscriptionEnded {
        /// Whose subscription ended.
        viewer: Viewer,
    },
    /// `channel.ban`: a ban (no expiry) or a timeout is in force.
    Banned {
        /// Who was banned.
        viewer: Viewer,
        /// When; the notification time when the payload lacks it.
        banned_at: Option<DateTime<Utc>>,
        /// A timeout's end; `None` for a permanent ban.
        expires_at: Option<DateTime<Utc>>,
        reason: Option<String>,
        /// The moderator's login, when given.
        moderator_login: Option<String>,
    },
    /// `channel.unban`: the ban (or timeout) was lifted.
    Unbanned {
        /// Who was unbanned.
        viewer: Viewer,
    },
    /// `channel.timeout.end` (poll only): a timeout ran out. Removes it
    /// from viewer_bans only while it is still the one expiring at
    /// `expires_at`, so a ban or newer timeout recorded meanwhile stays.
    TimeoutEnded {
        /// Whose timeout ended.
        viewer: Viewer,
        /// When the timeout that ended was due to expire.
        expires_at: DateTime<Utc>,
    },
    /// `channel.unfollow` (poll only; EventSub never announces it): record
    /// an unfollow in follower_history.
    Unfollowed {
        /// Who stopped following.
        viewer: Viewer,
    },
    /// `channel.subscription.gift`: someone gave `total` subs. It is
    /// tempting to record an `is_gift` subscription here, but the event
    /// names the gifter, not the recipients: each recipient arrives as its own
    /// `channel.subscribe` with `is_gift: true` ([`DomainChange::Subscribed`]).
    /// So this must not create a subscription for the gifter; it is there
    /// for gifter statistics.
    Gifted {
        /// `None` when anonymous.
        gifter: Option<Viewer>,
        /// The tier of the gifted subs.
        tier: String,
        /// How many subs were given in this gift.
        total: u32,
    },
}

/// Normalizes the `event` of a notification of `subscription_type`,
/// delivered in the frame `message_id` (the event id, stable across
/// redelivery, so the pipeline dedupes on it) and received at
/// `received_at` (the time used when the payload carries none).
pub fn normalize(
    subscription_type: &str,
    message_id: &str,
    event: &Value,
    received_at: DateTime<Utc>,
) -> Normalized {
    let empty = Map::new();
    let mut reader = Reader::new(event, &empty);
    let kind = EventKind::from(subscription_type);
    let channel_id = read_channel_id(&mut reader, &kind);
    let parts = build(&kind, &mut reader, received_at);
    let event = Event {
        id: message_id.to_owned(),
        kind,
        source: Source::Eventsub,
        channel_id,
        viewer: parts.viewer,
        occurred_at: received_at,
        data: parts.data,
    }
    .at(parts.occurred_at.unwrap_or(received_at));
    Normalized {
        event,
        change: parts.change,
        warnings: reader.warnings,
    }
}

/// The channel is the broadcaster, or for raids the one raided. Types this
/// module does not know may have no broadcaster at all, so no warning then.
fn read_channel_id(reader: &mut Reader<'_>, kind: &EventKind) -> String {
    let field = if *kind == EventKind::Raid {
        "to_broadcaster_user_id"
    } else {
        "broadcaster_user_id"
    };
    let id = if kind.is_known() {
        reader.str(field)
    } else {
        reader.opt_str(field)
    };
    id.unwrap_or_default().to_owned()
}

/// What a kind-specific builder produces.
struct Parts {
    viewer: Option<Viewer>,
    /// The payload's own time of the event, when it has one.
    occurred_at: Option<DateTime<Utc>>,
    data: EventData,
    change: DomainChange,
}

fn build(kind: &EventKind, r: &mut Reader<'_>, received_at: DateTime<Utc>) -> Parts {
    match kind {
        EventKind::Follow => follow(r, received_at),
        EventKind::Ban => ban(r),
        EventKind::Unban => unban(r),
        EventKind::VipAdd => role_change(r, Role::Vip, true),
        EventKind::VipRemove => role_change(r, Role::Vip, false),
        EventKind::ModeratorAdd => role_change(r, Role::Moderator, true),
        EventKind::ModeratorRemove => role_change(r, Role::Moderator, false),
        EventKind::Subscribe => subscribe(r),
        EventKind::SubscriptionMessage => resub(r),
        EventKind::SubscriptionEnd => subscription_end(r),
        EventKind::SubscriptionGift => gift(r),
        EventKind::ChatMessage => chat_message(r),
        EventKind::Cheer => cheer(r),
        EventKind::Raid => raid(r),
        EventKind::Redemption => redemption(r),
        EventKind::StreamOnline => stream_online(r),
        EventKind::StreamOffline => stream_offline(r),
        // Unknown types, and poll-only kinds that EventSub never sends.
        _ => unknown(r),
    }
}

fn follow(r: &mut Reader<'_>, received_at: DateTime<Utc>) -> Parts {
    let viewer = r.user("user", true);
    let followed_at = r.time("followed_at");
    let data = data::Follow::new(username(&viewer), followed_at.unwrap_or(received_at));
    let change = match &viewer {
        Some(viewer) => DomainChange::Follow {
            viewer: viewer.clone(),
            followed_at,
        },
        None => r.no_change("follower_history"),
    };
    Parts {
        occurred_at: followed_at,
        data: EventData::Follow(data),
        change,
        viewer,
    }
}

/// A ban or a timeout: `is_permanent` tells which, and a timeout's length
/// is `ends_at - banned_at`.
fn ban(r: &mut Reader<'_>) -> Parts {
    let viewer = r.user("user", true);
    let moderator_login = r.opt_str("moderator_user_login").map(str::to_owned);
    let moderator_id = r.str("moderator_user_id").map(str::to_owned);
    let moderator_username = r.str("moderator_user_name").map(str::to_owned);
    let reason = r.opt_str("reason").map(str::to_owned);
    let banned_at = r.time("banned_at");
    let ends_at = r.opt_time("ends_at");
    let is_permanent = r.bool("is_permanent").unwrap_or_else(|| {
        // The payload says it both ways; fall back on the other one.
        let inferred = ends_at.is_none();
        r.warn(format!(
            "`is_permanent` inferred as {inferred} from `ends_at`"
        ));
        inferred
    });
    let (duration_seconds, expires_at) = if is_permanent {
        if ends_at.is_some() {
            r.warn("a permanent ban has an `ends_at`; ignored".to_owned());
        }
        (None, None)
    } else {
        timeout_length(r, banned_at, ends_at)
    };
    let change = match &viewer {
        Some(viewer) => DomainChange::Banned {
            viewer: viewer.clone(),
            banned_at,
            expires_at,
            reason: reason.clone(),
            moderator_login,
        },
        None => DomainChange::None,
    };
    let data = data::Ban {
        username: username(&viewer),
        moderator_username,
        moderator_id,
        reason,
        is_permanent,
        duration_seconds,
        expires_at,
    };
    Parts {
        viewer,
        occurred_at: banned_at,
        data: EventData::Ban(data),
        change,
    }
}

/// A timeout's duration in whole seconds (rounded, since the timestamps
/// carry nanoseconds) and when it expires.
fn timeout_length(
    r: &mut Reader<'_>,
    banned_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
) -> (Option<u64>, Option<DateTime<Utc>>) {
    let Some(ends_at) = ends_at else {
        r.warn("a timeout has no `ends_at`".to_owned());
        return (None, None);
    };
    // A missing `banned_at` was already reported.
    let Some(banned_at) = banned_at else {
        return (None, Some(ends_at));
    };
    let millis = ends_at.signed_duration_since(banned_at).num_milliseconds();
    if millis < 0 {
        r.warn("`ends_at` is before `banned_at`".to_owned());
        return (None, Some(ends_at));
    }
    let seconds = u64::try_from(millis.saturating_add(500) / 1000).ok();
    (seconds, Some(ends_at))
}

fn unban(r: &mut Reader<'_>) -> Parts {
    let viewer = r.user("user", true);
    let change = match &viewer {
        Some(viewer) => DomainChange::Unbanned {
            viewer: viewer.clone(),
        },
        None => DomainChange::None,
    };
    let data = Named::new(username(&viewer));
    Parts {
        viewer,
        occurred_at: None,
        data: EventData::Unban(data),
        change,
    }
}

fn role_change(r: &mut Reader<'_>, role: Role, granted: bool) -> Parts {
    let viewer = r.user("user", true);
    let named = Named::new(username(&viewer));
    // Broadcaster is never granted through EventSub.
    let data = match (role, granted) {
        (Role::Vip, true) => EventData::VipAdd(named),
        (Role::Vip, false) => EventData::VipRemove(named),
        (_, true) => EventData::ModeratorAdd(named),
        (_, false) => EventData::ModeratorRemove(named),
    };
    let change = match (&viewer, granted) {
        (Some(viewer), true) => DomainChange::RoleGranted {
            viewer: viewer.clone(),
            role,
        },
        (Some(viewer), false) => DomainChange::RoleRevoked {
            viewer: viewer.clone(),
            role,
        },
        (None, _) => r.no_change("viewer_roles"),
    };
    Parts {
        viewer,
        occurred_at: None,
        data,
        change,
    }
}

fn subscribe(r: &mut Reader<'_>) -> Parts {
    let viewer = r.user("user", true);
    let tier = r.str("tier").map(str::to_owned);
    let is_gift = r.bool("is_gift");
    let data = data::Subscribe {
        username: username(&viewer),
        tier: typed_tier(r, tier.as_deref()),
        is_gift: is_gift.unwrap_or(false),
    };
    let change = subscribed(r, &viewer, tier, is_gift, None);
    Parts {
        viewer,
        occurred_at: None,
        data: EventData::Subscribe(data),
        change,
    }
}

/// `channel.subscription.message`: a resub the viewer shared in chat.
fn resub(r: &mut Reader<'_>) -> Parts {
    let viewer = r.user("user", true);
    let tier = r.str("tier").map(str::to_owned);
    let cumulative_months = r.u32("cumulative_months");
    let text = r.str("message.text").unwrap_or_default().to_owned();
    let data = data::Resub {
        username: username(&viewer),
        tier: typed_tier(r, tier.as_deref()),
        cumulative_months: cumulative_months.unwrap_or(0),
        message: text,
    };
    let change = subscribed(r, &viewer, tier, None, cumulative_months);
    Parts {
        viewer,
        occurred_at: None,
        data: EventData::Resub(data),
        change,
    }
}

/// A subscription upsert, when the viewer and tier are known.
fn subscribed(
    r: &mut Reader<'_>,
    viewer: &Option<Viewer>,
    tier: Option<String>,
    is_gift: Option<bool>,
    cumulative_months: Option<u32>,
) -> DomainChange {
    match (viewer, tier) {
        (Some(viewer), Some(tier)) => DomainChange::Subscribed {
            viewer: viewer.clone(),
            tier,
            is_gift,
            cumulative_months,
        },
        _ => r.no_change("viewer_subscriptions"),
    }
}

fn subscription_end(r: &mut Reader<'_>) -> Parts {
    let viewer = r.user("user", true);
    let tier = r.str("tier").map(str::to_owned);
    let data = data::SubscriptionEnd {
        username: username(&viewer),
        tier: typed_tier(r, tier.as_deref()),
    };
    let change = match &viewer {
        Some(viewer) => DomainChange::SubscriptionEnded {
            viewer: viewer.clone(),
        },
        None => r.no_change("viewer_subscriptions"),
    };
    Parts {
        viewer,
        occurred_at: None,
        data: EventData::SubscriptionEnd(data),
        change,
    }
}

/// Gifted subs. An anonymous gifter stays anonymous: no viewer, empty
/// username, even if the payload happened to name someone.
fn gift(r: &mut Reader<'_>) -> Parts {
    let is_anonymous = r
        .bool("is_anonymous")
        .unwrap_or_else(|| r.user_is_absent("user"));
    let viewer = if is_anonymous {
        None
    } else {
        r.user("user", true)
    };
    let tier = r.str("tier").map(str::to_owned);
    let total = r.u32("total");
    let data = data::Gift {
        username: username(&viewer),
        tier: typed_tier(r, tier.as_deref()),
        total: total.unwrap_or(0),
        is_anonymous,
    };
    let change = match (tier, total) {
        (Some(tier), Some(total)) => DomainChange::Gifted {
            gifter: viewer.clone(),
            tier,
            total,
        },
        _ => r.no_change("gift statistics"),
    };
    Parts {
        viewer,
        occurred_at: None,
        data: EventData::Gift(data),
        change,
    }
}

fn chat_message(r: &mut Reader<'_>) -> Parts {
    let viewer = r.user("chatter_user", true);
    let text = r.str("message.text").unwrap_or_default().to_owned();
    let badges = badges(r);
    let data = data::ChatMessage {
        username: username(&viewer),
        text,
        badges,
    };
    Parts {
        viewer,
        occurred_at: None,
        data: EventData::ChatMessage(data),
        change: DomainChange::None,
    }
}

/// `badges[{set_id, id, info}]`; a broken badge is reported and skipped.
fn badges(r: &mut Reader<'_>) -> Vec<data::Badge> {
    let count = r.array("badges").map_or(0, Vec::len);
    (0..count)
        .filter_map(|i| {
            let set_id = r.str(&format!("badges.{i}.set_id"))?.to_owned();
            let id = r.str(&format!("badges.{i}.id"))?.to_owned();
            let info = r.str(&format!("badges.{i}.info"))?.to_owned();
            Some(data::Badge { set_id, id, info })
        })
        .collect()
}

/// A cheer, whose cheerer may be anonymous.
fn cheer(r: &mut Reader<'_>) -> Parts {
    let is_anonymous = r
        .bool("is_anonymous")
        .unwrap_or_else(|| r.user_is_absent("user"));
    let viewer = if is_anonymous {
        None
    } else {
        r.user("user", true)
    };
    let data = data::Cheer {
        username: username(&viewer),
        bits: r.u32("bits").unwrap_or(0),
        message: r.opt_str("message").unwrap_or_default().to_owned(),
        is_anonymous,
    };
    Parts {
        viewer,
        occurred_at: None,
        data: EventData::Cheer(data),
        change: DomainChange::None,
    }
}

/// A raid on this channel: the raider is the viewer.
fn raid(r: &mut Reader<'_>) -> Parts {
    let viewer = r.user("from_broadcaster_user", true);
    let data = data::Raid {
        username: username(&viewer),
        viewers: r.u32("viewers").unwrap_or(0),
    };
    Parts {
        viewer,
        occurred_at: None,
        data: EventData::Raid(data),
        change: DomainChange::None,
    }
}

fn redemption(r: &mut Reader<'_>) -> Parts {
    let viewer = r.user("user", true);
    let reward = data::Reward {
        id: r.str("reward.id").unwrap_or_default().to_owned(),
        title: r.str("reward.title").unwrap_or_default().to_owned(),
        cost: r.u32("reward.cost").unwrap_or(0),
        prompt: r.opt_str("reward.prompt").unwrap_or_default().to_owned(),
    };
    let data = data::Redemption {
        username: username(&viewer),
        reward,
        user_input: r.opt_str("user_input").unwrap_or_default().to_owned(),
        status: r.opt_str("status").unwrap_or_default().to_owned(),
    };
    Parts {
        viewer,
        occurred_at: r.time("redeemed_at"),
        data: EventData::Redemption(data),
        change: DomainChange::None,
    }
}

fn stream_online(r: &mut Reader<'_>) -> Parts {
    let started_at = r.time("started_at");
    let data = data::StreamOnline {
        username: r
            .str("broadcaster_user_name")
            .unwrap_or_default()
            .to_owned(),
        stream_type: r.opt_str("type").unwrap_or("live").to_owned(),
        started_at,
    };
    Parts {
        viewer: None,
        occurred_at: started_at,
        data: EventData::StreamOnline(data),
        change: DomainChange::None,
    }
}

fn stream_offline(r: &mut Reader<'_>) -> Parts {
    let data = data::StreamOffline {
        username: r
            .str("broadcaster_user_name")
            .unwrap_or_default()
            .to_owned(),
    };
    Parts {
        viewer: None,
        occurred_at: None,
        data: EventData::StreamOffline(data),
        change: DomainChange::None,
    }
}

/// An unknown type: carried with the raw event as its data, never dropped.
fn unknown(r: &mut Reader<'_>) -> Parts {
    Parts {
        viewer: r.user("user", false),
        occurred_at: None,
        data: EventData::Other(r.fields.clone()),
        change: DomainChange::None,
    }
}

/// A tier as typed data; one Twitch does not have is reported and read as
/// tier 1.
fn typed_tier(r: &mut Reader<'_>, tier: Option<&str>) -> Tier {
    let Some(tier) = tier else {
        return Tier::default();
    };
    match Tier::parse(tier) {
        Some(t) => t,
        None => {
            r.warn(format!(
                "`tier` {tier:?} is not 1000, 2000 or 3000; read as 1000"
            ));
            Tier::default()
        }
    }
}

/// The name shown for a viewer: the display name; empty when there is none.
fn username(viewer: &Option<Viewer>) -> String {
    viewer
        .as_ref()
        .map(|v| v.display_name.clone())
        .unwrap_or_default()
}

/// Reads fields of an event payload, collecting a warning for each one that
/// is missing or of the wrong type. Paths are dotted (`message.text`,
/// `badges.0.set_id`).
struct Reader<'a> {
    fields: &'a Map<String, Value>,
    warnings: Vec<String>,
}

impl<'a> Reader<'a> {
    fn new(event: &'a Value, empty: &'a Map<String, Value>) -> Self {
        let mut warnings = Vec::new();
        let fields = match event {
            Value::Object(fields) => fields,
            other => {
                warnings.push(format!(
                    "the event payload should be an object, got {}",
                    json_type(other)
                ));
                empty
            }
        };
        Reader { fields, warnings }
    }

    fn warn(&mut self, warning: String) {
        self.warnings.push(warning);
    }

    /// Notes that a domain change was left out (its cause is already listed).
    fn no_change(&mut self, table: &str) -> DomainChange {
        self.warn(format!(
            "{table} not updated: the payload lacks what it needs"
        ));
        DomainChange::None
    }

    fn lookup(&self, path: &str) -> Option<&'a Value> {
        let mut parts = path.split('.');
        let mut value = self.fields.get(parts.next()?)?;
        for part in parts {
            value = match value {
                Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
                other => other.get(part)?,
            };
        }
        Some(value)
    }

    /// A field that should be there: warns when missing, null or mistyped.
    fn required<T>(
        &mut self,
        path: &str,
        expected: &str,
        convert: impl Fn(&'a Value) -> Option<T>,
    ) -> Option<T> {
        match self.lookup(path) {
            None | Some(Value::Null) => {
                self.warn(format!("`{path}` is missing"));
                None
            }
            Some(value) => self.converted(path, expected, value, convert),
        }
    }

    /// A nullable field: warns only when present and mistyped.
    fn optional<T>(
        &mut self,
        path: &str,
        expected: &str,
        convert: impl Fn(&'a Value) -> Option<T>,
    ) -> Option<T> {
        match self.lookup(path) {
            None | Some(Value::Null) => None,
            Some(value) => self.converted(path, expected, value, convert),
        }
    }

    fn converted<T>(
        &mut self,
        path: &str,
        expected: &str,
        value: &'a Value,
        convert: impl Fn(&'a Value) -> Option<T>,
    ) -> Option<T> {
        let converted = convert(value);
        if converted.is_none() {
            let got = match value {
                Value::String(text) => format!("{text:?}"),
                other => json_type(other).to_owned(),
            };
            self.warn(format!("`{path}` should be {expected}, got {got}"));
        }
        converted
    }

    fn str(&mut self, path: &str) -> Option<&'a str> {
        self.required(path, "a string", Value::as_str)
    }

    fn opt_str(&mut self, path: &str) -> Option<&'a str> {
        self.optional(path, "a string", Value::as_str)
    }

    fn bool(&mut self, path: &str) -> Option<bool> {
        self.required(path, "a boolean", Value::as_bool)
    }

    fn u32(&mut self, path: &str) -> Option<u32> {
        self.required(path, "a whole number", |v| {
            v.as_u64().and_then(|n| u32::try_from(n).ok())
        })
    }

    fn time(&mut self, path: &str) -> Option<DateTime<Utc>> {
        self.required(path, "an RFC 3339 timestamp", timestamp)
    }

    fn opt_time(&mut self, path: &str) -> Option<DateTime<Utc>> {
        self.optional(path, "an RFC 3339 timestamp", timestamp)
    }

    fn array(&mut self, path: &str) -> Option<&'a Vec<Value>> {
        self.required(path, "an array", Value::as_array)
    }

    /// Whether the payload names no user under `prefix` (used to infer
    /// anonymity when `is_anonymous` itself is missing).
    fn user_is_absent(&self, prefix: &str) -> bool {
        self.lookup(&format!("{prefix}_id"))
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    }

    /// The user named by `{prefix}_id`, `{prefix}_login`, `{prefix}_name`.
    /// `None` without an id (null or empty means anonymous); `required`
    /// says whether that deserves a warning. A missing login or display
    /// name is filled from the other one.
    fn user(&mut self, prefix: &str, required: bool) -> Option<Viewer> {
        let id_field = format!("{prefix}_id");
        // Empty strings stand for "nobody" too (the Twitch CLI's anonymous
        // cheers send them instead of null).
        let id = self.opt_str(&id_field).filter(|s| !s.is_empty());
        let login = self
            .opt_str(&format!("{prefix}_login"))
            .filter(|s| !s.is_empty());
        let name = self
            .opt_str(&format!("{prefix}_name"))
            .filter(|s| !s.is_empty());
        let Some(id) = id else {
            if required || login.is_some() || name.is_some() {
                self.warn(format!("`{id_field}` is missing; no viewer"));
            }
            return None;
        };
        if login.is_none() {
            self.warn(format!("`{prefix}_login` is missing"));
        }
        if name.is_none() {
            self.warn(format!("`{prefix}_name` is missing"));
        }
        // Logins are lowercase on Twitch; a mixed-case one (the Twitch
        // CLI's `testFromUser`) would be a second viewer.
        let login = login.or(name).map(str::to_lowercase).unwrap_or_default();
        let display_name = name.map_or_else(|| login.clone(), str::to_owned);
        Some(Viewer::new(id, login, display_name))
    }
}

fn timestamp(value: &Value) -> Option<DateTime<Utc>> {
    value.as_str().and_then(parse_timestamp)
}

/// Every payload the Twitch look-alike sends (its builders follow Twitch's
/// reference) normalizes without a warning: the host reads what Twitch
/// documents, and the demo and tests exercise exactly that.
#[cfg(test)]
mod lookalike_payloads {
    use chrono::{TimeZone, Utc};
    use serde_json::Value;
    use twitch_lookalike::payloads::{self as p, Badge, Reward};
    use twitch_lookalike::state::UserInfo;

    use super::normalize;

    #[test]
    fn every_payload_normalizes_cleanly() {
        let at = Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap();
        let b = UserInfo::new("100000001", "stagehand_demo");
        let v = UserInfo::new("1234", "cool_user");
        let m = UserInfo::new("77", "a_mod");
        let reward = Reward {
            id: "r1".into(),
            title: "Hydrate".into(),
            cost: 100,
            prompt: String::new(),
        };
        let badges = [Badge::parse("subscriber/12/14"), Badge::parse("vip")];
        let cases: Vec<(&str, Value)> = vec![
            ("channel.follow", p::follow(&b, &v, at)),
            ("channel.subscribe", p::subscribe(&b, &v, "1000", false)),
            (
                "channel.subscription.end",
                p::subscription_end(&b, &v, "1000", true),
            ),
            (
                "channel.subscription.gift",
                p::subscription_gift(&b, Some(&v), 5, "1000", Some(9)),
            ),
            (
                "channel.subscription.gift",
                p::subscription_gift(&b, None, 1, "2000", None),
            ),
            (
                "channel.subscription.message",
                p::subscription_message(&b, &v, "1000", "hi", 12, Some(3), 1),
            ),
            ("channel.cheer", p::cheer(&b, Some(&v), 100, "Cheer100")),
            ("channel.cheer", p::cheer(&b, None, 1, "Cheer1")),
            ("channel.raid", p::raid(&v, &b, 42)),
            ("channel.moderator.add", p::moderator_change(&b, &v)),
            ("channel.moderator.remove", p::moderator_change(&b, &v)),
            ("channel.vip.add", p::vip_change(&b, &v)),
            ("channel.vip.remove", p::vip_change(&b, &v)),
            ("channel.ban", p::ban(&b, &v, &m, "spam", at, None)),
            (
                "channel.ban",
                p::ban(
                    &b,
                    &v,
                    &m,
                    "",
                    at,
                    Some(at + chrono::TimeDelta::seconds(600)),
                ),
            ),
            ("channel.unban", p::unban(&b, &v, &m)),
            (
                "channel.chat.message",
                p::chat_message(&b, &v, "abc", "Hi chat", &badges, "#FF0000"),
            ),
            ("stream.online", p::stream_online(&b, "s1", at)),
            ("stream.offline", p::stream_offline(&b)),
            (
                "channel.channel_points_custom_reward_redemption.add",
                p::redemption(&b, &v, "red-1", "", &reward, at),
            ),
        ];
        for (kind, event) in cases {
            let normalized = normalize(kind, "m-1", &event, at);
            assert!(
                normalized.warnings.is_empty(),
                "{kind}: {:?}",
                normalized.warnings
            );
            assert_eq!(normalized.event.channel_id, "100000001", "{kind}");
            assert!(normalized.event.kind.is_known(), "{kind}");
        }
        // A timeout's length comes from its end time.
        let timeout = p::ban(
            &b,
            &v,
            &m,
            "",
            at,
            Some(at + chrono::TimeDelta::seconds(600)),
        );
        let normalized = normalize("channel.ban", "m", &timeout, at);
        assert_eq!(normalized.event.details()["duration_seconds"], 600);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MESSAGE_ID: &str = "befa7b53-d79d-478f-86b9-120f112b044e";

    fn received() -> DateTime<Utc> {
        parse_timestamp("2024-05-01T12:00:00.123456789Z").unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        parse_timestamp(text).unwrap()
    }

    fn run(kind: &str, event: Value) -> Normalized {
        normalize(kind, MESSAGE_ID, &event, received())
    }

    /// Normalizes a well-formed payload, asserting it raised no warning.
    fn clean(kind: &str, event: Value) -> Normalized {
        let n = run(kind, event);
        assert!(n.warnings.is_empty(), "{kind}: {:?}", n.warnings);
        n
    }

    fn details(n: &Normalized) -> Value {
        Value::Object(n.event.details())
    }

    fn cool_user() -> Viewer {
        Viewer::new("1234", "cool_user", "Cool_User")
    }

    fn with_user(mut fields: Value) -> Value {
        let user = json!({
            "user_id": "1234",
            "user_login": "cool_user",
            "user_name": "Cool_User",
            "broadcaster_user_id": "1337",
            "broadcaster_user_login": "cooler_user",
            "broadcaster_user_name": "Cooler_User"
        });
        for (key, value) in user.as_object().unwrap() {
            fields[key] = value.clone();
        }
        fields
    }

    fn follow_payload() -> Value {
        with_user(json!({"followed_at": "2020-07-15T18:16:11.17106713Z"}))
    }

    fn ban_payload(ends_at: Value, is_permanent: bool) -> Value {
        with_user(json!({
            "moderator_user_id": "1339",
            "moderator_user_login": "mod_user",
            "moderator_user_name": "Mod_User",
            "reason": "Offensive language",
            "banned_at": "2020-07-15T18:15:11.17106713Z",
            "ends_at": ends_at,
            "is_permanent": is_permanent
        }))
    }

    fn chat_payload() -> Value {
        json!({
            "broadcaster_user_id": "1971641",
            "broadcaster_user_login": "streamer",
            "broadcaster_user_name": "streamer",
            "chatter_user_id": "4145994",
            "chatter_user_login": "viewer32",
            "chatter_user_name": "Viewer32",
            "message_id": "cc106a89-1814-919d-454c-f4f2f970aae7",
            "message": {
                "text": "Hi chat",
                "fragments": [{"type": "text", "text": "Hi chat", "cheermote": null,
                               "emote": null, "mention": null}]
            },
            "color": "#00FF7F",
            "badges": [
                {"set_id": "moderator", "id": "1", "info": ""},
                {"set_id": "subscriber", "id": "12", "info": "16"},
                {"set_id": "sub-gifter", "id": "1", "info": ""}
            ],
            "message_type": "text",
            "cheer": null,
            "reply": null,
            "channel_points_custom_reward_id": null,
            "source_broadcaster_user_id": null,
            "source_broadcaster_user_login": null,
            "source_broadcaster_user_name": null,
            "source_message_id": null,
            "source_badges": null
        })
    }

    #[test]
    fn a_follow_becomes_an_event_and_a_follower_history_change() {
        let n = clean("channel.follow", follow_payload());
        let e = &n.event;
        assert_eq!(e.id, MESSAGE_ID);
        assert_eq!(e.kind, EventKind::Follow);
        assert_eq!(e.source, Source::Eventsub);
        assert_eq!(e.channel_id, "1337");
        assert_eq!(e.viewer, Some(cool_user()));
        // The payload's own time, at the store's precision.
        assert_eq!(e.occurred_at, at("2020-07-15T18:16:11.171Z"));
        assert_eq!(
            details(&n),
            json!({
                "username": "Cool_User",
                "action": "follow",
                "followed_at": "2020-07-15T18:16:11.171067130Z"
            })
        );
        assert_eq!(
            n.change,
            DomainChange::Follow {
                viewer: cool_user(),
                followed_at: Some(at("2020-07-15T18:16:11.17106713Z")),
            }
        );
    }

    #[test]
    fn the_same_message_normalizes_the_same_way() {
        // Redelivery keeps the message id; dedup relies on identical events.
        let a = run("channel.follow", follow_payload());
        let b = run("channel.follow", follow_payload());
        assert_eq!(a, b);
    }

    #[test]
    fn a_new_sub() {
        let n = clean(
            "channel.subscribe",
            with_user(json!({"tier": "1000", "is_gift": false})),
        );
        assert_eq!(n.event.kind, EventKind::Subscribe);
        assert_eq!(n.event.occurred_at, at("2024-05-01T12:00:00.123Z"));
        assert_eq!(
            details(&n),
            json!({"username": "Cool_User", "tier": "1000", "is_gift": false})
        );
        assert_eq!(
            n.change,
            DomainChange::Subscribed {
                viewer: cool_user(),
                tier: "1000".to_owned(),
                is_gift: Some(false),
                cumulative_months: None,
            }
        );
    }

    #[test]
    fn a_gifted_sub_to_a_recipient() {
        let n = clean(
            "channel.subscribe",
            with_user(json!({"tier": "2000", "is_gift": true})),
        );
        assert_eq!(details(&n)["is_gift"], json!(true));
        assert!(matches!(
            n.change,
            DomainChange::Subscribed {
                is_gift: Some(true),
                ..
            }
        ));
    }

    #[test]
    fn a_resub_message() {
        let n = clean(
            "channel.subscription.message",
            with_user(json!({
                "tier": "1000",
                "message": {
                    "text": "Love the stream! FevziGG",
                    "emotes": [{"begin": 17, "end": 23, "id": "302976485"}]
                },
                "cumulative_months": 15,
                "streak_months": 1,
                "duration_months": 6
            })),
        );
        assert_eq!(n.event.kind, EventKind::SubscriptionMessage);
        assert_eq!(
            details(&n),
            json!({
                "username": "Cool_User",
                "tier": "1000",
                "cumulative_months": 15,
                "message": "Love the stream! FevziGG"
            })
        );
        assert_eq!(
            n.change,
            DomainChange::Subscribed {
                viewer: cool_user(),
                tier: "1000".to_owned(),
                is_gift: None,
                cumulative_months: Some(15),
            }
        );
    }

    #[test]
    fn a_resub_with_a_null_streak_is_fine() {
        // streak_months is null when the viewer chose not to share it.
        let n = clean(
            "channel.subscription.message",
            with_user(json!({
                "tier": "3000",
                "message": {"text": "", "emotes": null},
                "cumulative_months": 2,
                "streak_months": null,
                "duration_months": 1
            })),
        );
        assert_eq!(details(&n)["message"], json!(""));
    }

    #[test]
    fn a_subscription_end() {
        let n = clean(
            "channel.subscription.end",
            with_user(json!({"tier": "1000", "is_gift": false})),
        );
        assert_eq!(
            details(&n),
            json!({"username": "Cool_User", "tier": "1000"})
        );
        assert_eq!(
            n.change,
            DomainChange::SubscriptionEnded {
                viewer: cool_user()
            }
        );
    }

    #[test]
    fn a_named_gift() {
        let n = clean(
            "channel.subscription.gift",
            with_user(json!({
                "total": 2, "tier": "1000", "cumulative_total": 284, "is_anonymous": false
            })),
        );
        assert_eq!(n.event.viewer, Some(cool_user()));
        assert_eq!(
            details(&n),
            json!({"username": "Cool_User", "tier": "1000", "total": 2, "is_anonymous": false})
        );
        assert_eq!(
            n.change,
            DomainChange::Gifted {
                gifter: Some(cool_user()),
                tier: "1000".to_owned(),
                total: 2,
            }
        );
    }

    #[test]
    fn an_anonymous_gift() {
        let n = clean(
            "channel.subscription.gift",
            json!({
                "user_id": null, "user_login": null, "user_name": null,
                "broadcaster_user_id": "1337",
                "broadcaster_user_login": "cooler_user",
                "broadcaster_user_name": "Cooler_User",
                "total": 5, "tier": "1000", "cumulative_total": null, "is_anonymous": true
            }),
        );
        assert_eq!(n.event.viewer, None);
        assert_eq!(n.event.channel_id, "1337");
        assert_eq!(
            details(&n),
            json!({"username": "", "tier": "1000", "total": 5, "is_anonymous": true})
        );
        assert_eq!(
            n.change,
            DomainChange::Gifted {
                gifter: None,
                tier: "1000".to_owned(),
                total: 5,
            }
        );
    }

    #[test]
    fn an_anonymous_gift_stays_anonymous_even_if_named() {
        let n = clean(
            "channel.subscription.gift",
            with_user(json!({"total": 1, "tier": "1000", "is_anonymous": true})),
        );
        assert_eq!(n.event.viewer, None);
        assert_eq!(details(&n)["username"], json!(""));
    }

    #[test]
    fn a_permanent_ban() {
        let n = clean("channel.ban", ban_payload(Value::Null, true));
        assert_eq!(n.event.kind, EventKind::Ban);
        assert_eq!(n.event.viewer, Some(cool_user()));
        assert_eq!(n.event.occurred_at, at("2020-07-15T18:15:11.171Z"));
        assert_eq!(
            details(&n),
            json!({
                "username": "Cool_User",
                "moderator_username": "Mod_User",
                "moderator_id": "1339",
                "reason": "Offensive language",
                "is_permanent": true
            })
        );
        assert_eq!(
            n.change,
            DomainChange::Banned {
                viewer: cool_user(),
                banned_at: parse_timestamp("2020-07-15T18:15:11.17106713Z"),
                expires_at: None,
                reason: Some("Offensive language".into()),
                moderator_login: Some("mod_user".into()),
            }
        );
    }

    #[test]
    fn a_timeout() {
        let n = clean(
            "channel.ban",
            ban_payload(json!("2020-07-15T18:25:11.17106713Z"), false),
        );
        assert_eq!(
            details(&n),
            json!({
                "username": "Cool_User",
                "moderator_username": "Mod_User",
                "moderator_id": "1339",
                "reason": "Offensive language",
                "is_permanent": false,
                "duration_seconds": 600,
                "expires_at": "2020-07-15T18:25:11.171067130Z"
            })
        );
    }

    #[test]
    fn a_timeout_duration_rounds_to_whole_seconds() {
        let mut payload = ban_payload(json!("2020-07-15T18:16:11.9Z"), false);
        payload["banned_at"] = json!("2020-07-15T18:15:12Z");
        let n = clean("channel.ban", payload);
        assert_eq!(details(&n)["duration_seconds"], json!(60));
    }

    #[test]
    fn an_empty_ban_reason_is_kept() {
        let mut payload = ban_payload(Value::Null, true);
        payload["reason"] = json!("");
        let n = clean("channel.ban", payload);
        assert_eq!(details(&n)["reason"], json!(""));
    }

    #[test]
    fn a_ban_without_is_permanent_is_inferred() {
        let mut payload = ban_payload(json!("2020-07-15T18:16:11.17106713Z"), false);
        payload.as_object_mut().unwrap().remove("is_permanent");
        let n = run("channel.ban", payload);
        assert_eq!(details(&n)["is_permanent"], json!(false));
        assert_eq!(details(&n)["duration_seconds"], json!(60));
        assert!(n.warnings.iter().any(|w| w.contains("is_permanent")));
    }

    #[test]
    fn a_timeout_without_ends_at_has_no_duration() {
        let n = run("channel.ban", ban_payload(Value::Null, false));
        assert_eq!(details(&n)["is_permanent"], json!(false));
        assert!(details(&n).get("duration_seconds").is_none());
        assert!(details(&n).get("expires_at").is_none());
        assert_eq!(n.warnings, ["a timeout has no `ends_at`"]);
    }

    #[test]
    fn a_timeout_ending_before_it_began_keeps_only_the_expiry() {
        let n = run(
            "channel.ban",
            ban_payload(json!("2020-07-15T18:00:00Z"), false),
        );
        assert!(details(&n).get("duration_seconds").is_none());
        assert_eq!(details(&n)["expires_at"], json!("2020-07-15T18:00:00Z"));
        assert_eq!(n.warnings, ["`ends_at` is before `banned_at`"]);
    }

    #[test]
    fn an_unban() {
        let n = clean(
            "channel.unban",
            with_user(json!({
                "moderator_user_id": "1339",
                "moderator_user_login": "mod_user",
                "moderator_user_name": "Mod_User"
            })),
        );
        assert_eq!(n.event.kind, EventKind::Unban);
        assert_eq!(n.event.viewer, Some(cool_user()));
        assert_eq!(details(&n), json!({"username": "Cool_User"}));
        assert_eq!(
            n.change,
            DomainChange::Unbanned {
                viewer: cool_user()
            }
        );
    }

    #[test]
    fn role_changes() {
        let cases = [
            ("channel.vip.add", "granted", "vip", Role::Vip, true),
            ("channel.vip.remove", "revoked", "vip", Role::Vip, false),
            (
                "channel.moderator.add",
                "granted",
                "moderator",
                Role::Moderator,
                true,
            ),
            (
                "channel.moderator.remove",
                "revoked",
                "moderator",
                Role::Moderator,
                false,
            ),
        ];
        for (kind, action, role_type, role, granted) in cases {
            let n = clean(kind, with_user(json!({})));
            assert_eq!(n.event.kind.as_str(), kind);
            assert_eq!(n.event.viewer, Some(cool_user()), "{kind}");
            assert_eq!(
                details(&n),
                json!({"username": "Cool_User", "action": action, "role_type": role_type}),
                "{kind}"
            );
            let expected = if granted {
                DomainChange::RoleGranted {
                    viewer: cool_user(),
                    role,
                }
            } else {
                DomainChange::RoleRevoked {
                    viewer: cool_user(),
                    role,
                }
            };
            assert_eq!(n.change, expected, "{kind}");
        }
    }

    #[test]
    fn a_chat_message() {
        let n = clean("channel.chat.message", chat_payload());
        assert_eq!(n.event.kind, EventKind::ChatMessage);
        assert_eq!(n.event.channel_id, "1971641");
        assert_eq!(
            n.event.viewer,
            Some(Viewer::new("4145994", "viewer32", "Viewer32"))
        );
        assert_eq!(
            details(&n),
            json!({
                "username": "Viewer32",
                "text": "Hi chat",
                "badges": [
                    {"set_id": "moderator", "id": "1", "info": ""},
                    {"set_id": "subscriber", "id": "12", "info": "16"},
                    {"set_id": "sub-gifter", "id": "1", "info": ""}
                ]
            })
        );
        assert_eq!(n.change, DomainChange::None);
    }

    #[test]
    fn a_broken_badge_is_skipped_with_a_warning() {
        let mut payload = chat_payload();
        payload["badges"][1] = json!({"set_id": "subscriber", "id": 12, "info": "16"});
        payload["badges"][2] = json!("vip");
        let n = run("channel.chat.message", payload);
        let badges = details(&n)["badges"].clone();
        assert_eq!(
            badges,
            json!([{"set_id": "moderator", "id": "1", "info": ""}])
        );
        assert_eq!(
            n.warnings,
            [
                "`badges.1.id` should be a string, got a number",
                "`badges.2.set_id` is missing"
            ]
        );
    }

    #[test]
    fn a_cheer_has_its_bits_and_message() {
        let payload = with_user(json!({
            "is_anonymous": false, "message": "pogchamp", "bits": 1000
        }));
        let n = clean("channel.cheer", payload);
        assert_eq!(n.event.viewer, Some(cool_user()));
        assert_eq!(
            details(&n),
            json!({"username": "Cool_User", "bits": 1000, "message": "pogchamp", "is_anonymous": false})
        );
        assert_eq!(n.change, DomainChange::None);
    }

    #[test]
    fn an_anonymous_cheer() {
        let n = clean(
            "channel.cheer",
            json!({
                "is_anonymous": true,
                "user_id": null, "user_login": null, "user_name": null,
                "broadcaster_user_id": "1337",
                "broadcaster_user_login": "cooler_user",
                "broadcaster_user_name": "Cooler_User",
                "message": "Cheer100", "bits": 100
            }),
        );
        assert_eq!(n.event.viewer, None);
        assert_eq!(details(&n)["username"], json!(""));
        assert_eq!(details(&n)["bits"], json!(100));
    }

    #[test]
    fn a_raid_belongs_to_the_raided_channel() {
        let payload = json!({
            "from_broadcaster_user_id": "1234",
            "from_broadcaster_user_login": "cool_user",
            "from_broadcaster_user_name": "Cool_User",
            "to_broadcaster_user_id": "1337",
            "to_broadcaster_user_login": "cooler_user",
            "to_broadcaster_user_name": "Cooler_User",
            "viewers": 9001
        });
        let n = clean("channel.raid", payload);
        assert_eq!(n.event.kind, EventKind::Raid);
        assert_eq!(n.event.channel_id, "1337");
        assert_eq!(n.event.viewer, Some(cool_user()));
        assert_eq!(
            details(&n),
            json!({"username": "Cool_User", "viewers": 9001})
        );
    }

    #[test]
    fn a_redemption_happens_when_redeemed() {
        let payload = json!({
            "id": "17fa2df1-ad76-4804-bfa5-a40ef63efe63",
            "broadcaster_user_id": "1337",
            "broadcaster_user_login": "cool_user",
            "broadcaster_user_name": "Cool_User",
            "user_id": "9001",
            "user_login": "cooler_user",
            "user_name": "Cooler_User",
            "user_input": "pogchamp",
            "status": "unfulfilled",
            "reward": {
                "id": "92af127c-7326-4483-a52b-b0da0be61c01",
                "title": "title",
                "cost": 100,
                "prompt": "reward prompt"
            },
            "redeemed_at": "2020-07-15T17:16:03.17106713Z"
        });
        let n = clean(
            "channel.channel_points_custom_reward_redemption.add",
            payload,
        );
        assert_eq!(n.event.kind, EventKind::Redemption);
        assert_eq!(
            n.event.viewer,
            Some(Viewer::new("9001", "cooler_user", "Cooler_User"))
        );
        assert_eq!(n.event.occurred_at, at("2020-07-15T17:16:03.171Z"));
        assert_eq!(
            details(&n),
            json!({
                "username": "Cooler_User",
                "user_input": "pogchamp",
                "status": "unfulfilled",
                "reward": {
                    "id": "92af127c-7326-4483-a52b-b0da0be61c01",
                    "title": "title",
                    "cost": 100,
                    "prompt": "reward prompt"
                }
            })
        );
    }

    #[test]
    fn stream_online_and_offline() {
        let online = json!({
            "id": "9001",
            "broadcaster_user_id": "1337",
            "broadcaster_user_login": "cool_user",
            "broadcaster_user_name": "Cool_User",
            "type": "live",
            "started_at": "2020-10-11T10:11:12.123Z"
        });
        let n = clean("stream.online", online);
        assert_eq!(n.event.kind, EventKind::StreamOnline);
        assert_eq!(n.event.viewer, None);
        assert_eq!(n.event.occurred_at, at("2020-10-11T10:11:12.123Z"));
        assert_eq!(
            details(&n),
            json!({"username": "Cool_User", "type": "live", "started_at": "2020-10-11T10:11:12.123Z"})
        );

        let offline = json!({
            "broadcaster_user_id": "1337",
            "broadcaster_user_login": "cool_user",
            "broadcaster_user_name": "Cool_User"
        });
        let n = clean("stream.offline", offline);
        assert_eq!(n.event.kind, EventKind::StreamOffline);
        assert_eq!(n.event.occurred_at, at("2024-05-01T12:00:00.123Z"));
        assert_eq!(details(&n)["username"], json!("Cool_User"));
        assert_eq!(n.change, DomainChange::None);
    }

    #[test]
    fn an_unknown_type_is_carried_raw() {
        let payload = with_user(json!({"level": 3, "total": 1200}));
        let n = clean("channel.hype_train.begin", payload.clone());
        assert_eq!(
            n.event.kind,
            EventKind::Other("channel.hype_train.begin".to_owned())
        );
        assert_eq!(n.event.id, MESSAGE_ID);
        assert_eq!(n.event.channel_id, "1337");
        assert_eq!(n.event.viewer, Some(cool_user()));
        assert_eq!(details(&n), payload);
        assert_eq!(n.change, DomainChange::None);
    }

    #[test]
    fn an_unknown_type_without_broadcaster_or_user_is_fine() {
        let n = clean("user.update", json!({"email": null, "description": "hi"}));
        assert_eq!(n.event.channel_id, "");
        assert_eq!(n.event.viewer, None);
        assert_eq!(details(&n), json!({"email": null, "description": "hi"}));
    }

    #[test]
    fn a_missing_timestamp_falls_back_to_received_at() {
        let mut payload = follow_payload();
        payload["followed_at"] = json!("last tuesday");
        let n = run("channel.follow", payload);
        assert_eq!(n.event.occurred_at, at("2024-05-01T12:00:00.123Z"));
        assert_eq!(
            n.warnings,
            ["`followed_at` should be an RFC 3339 timestamp, got \"last tuesday\""]
        );
        assert_eq!(
            n.change,
            DomainChange::Follow {
                viewer: cool_user(),
                followed_at: None,
            }
        );
    }

    #[test]
    fn mistyped_fields_are_reported_and_block_the_domain_change() {
        let n = run(
            "channel.subscribe",
            with_user(json!({"tier": 1000, "is_gift": "no"})),
        );
        assert_eq!(
            details(&n),
            json!({"username": "Cool_User", "tier": "1000", "is_gift": false})
        );
        assert_eq!(n.change, DomainChange::None);
        assert_eq!(
            n.warnings,
            [
                "`tier` should be a string, got a number",
                "`is_gift` should be a boolean, got \"no\"",
                "viewer_subscriptions not updated: the payload lacks what it needs"
            ]
        );
    }

    #[test]
    fn a_missing_user_gives_no_viewer_and_no_change() {
        let n = run(
            "channel.vip.add",
            json!({"broadcaster_user_id": "1337", "user_login": "ghost"}),
        );
        assert_eq!(n.event.viewer, None);
        assert_eq!(details(&n)["username"], json!(""));
        assert_eq!(n.change, DomainChange::None);
        assert_eq!(
            n.warnings,
            [
                "`user_id` is missing; no viewer",
                "viewer_roles not updated: the payload lacks what it needs"
            ]
        );
    }

    #[test]
    fn a_partial_user_is_completed() {
        let n = run(
            "channel.moderator.add",
            json!({"broadcaster_user_id": "1337", "user_id": "5", "user_name": "Ada"}),
        );
        assert_eq!(n.event.viewer, Some(Viewer::new("5", "ada", "Ada")));
        assert_eq!(n.warnings, ["`user_login` is missing"]);
        assert!(matches!(n.change, DomainChange::RoleGranted { .. }));
    }

    #[test]
    fn out_of_range_numbers_are_reported() {
        let n = run(
            "channel.subscription.gift",
            with_user(json!({"total": -3, "tier": "1000", "is_anonymous": false})),
        );
        assert_eq!(details(&n)["total"], json!(0));
        assert_eq!(n.change, DomainChange::None);
        assert!(n.warnings[0].contains("`total` should be a whole number"));
    }

    #[test]
    fn the_twitch_clis_quirks_are_read_as_twitch_means_them() {
        // Mixed-case logins are one viewer with the lowercase login.
        let n = clean(
            "channel.follow",
            json!({
                "user_id": "42", "user_login": "testFromUser", "user_name": "testFromUser",
                "broadcaster_user_id": "1337", "broadcaster_user_login": "testBroadcaster",
                "broadcaster_user_name": "testBroadcaster",
                "followed_at": "2024-05-01T12:00:00Z"
            }),
        );
        let viewer = n.event.viewer.unwrap();
        assert_eq!(
            (viewer.login.as_str(), viewer.display_name.as_str()),
            ("testfromuser", "testFromUser")
        );
        // An anonymous cheer with empty strings instead of nulls.
        let n = clean(
            "channel.cheer",
            json!({
                "is_anonymous": true, "user_id": "", "user_login": "", "user_name": "",
                "broadcaster_user_id": "1337", "broadcaster_user_login": "testBroadcaster",
                "broadcaster_user_name": "testBroadcaster", "message": "Cheer1", "bits": 1
            }),
        );
        assert_eq!(n.event.viewer, None);
    }

    #[test]
    fn a_gift_without_is_anonymous_infers_it_from_the_user() {
        let n = run(
            "channel.subscription.gift",
            json!({"broadcaster_user_id": "1", "user_id": null, "total": 1, "tier": "1000"}),
        );
        assert_eq!(details(&n)["is_anonymous"], json!(true));
        assert_eq!(n.warnings, ["`is_anonymous` is missing"]);
    }

    #[test]
    fn a_missing_channel_is_reported() {
        let mut payload = follow_payload();
        payload
            .as_object_mut()
            .unwrap()
            .remove("broadcaster_user_id");
        let n = run("channel.follow", payload);
        assert_eq!(n.event.channel_id, "");
        assert_eq!(n.warnings, ["`broadcaster_user_id` is missing"]);
    }

    #[test]
    fn non_object_payloads_never_panic() {
        let kinds = crate::twitch::eventsub::subscriptions::WANTED
            .iter()
            .map(|s| s.kind)
            .chain(["channel.hype_train.begin", "channel.unfollow"]);
        for kind in kinds {
            for payload in [Value::Null, json!([1]), json!("x"), json!(7), json!({})] {
                let n = run(kind, payload.clone());
                assert_eq!(n.event.id, MESSAGE_ID, "{kind}");
                assert_eq!(n.event.kind.as_str(), kind);
                assert_eq!(n.event.occurred_at, at("2024-05-01T12:00:00.123Z"));
                assert_eq!(n.change, DomainChange::None, "{kind} {payload}");
                if !payload.is_object() {
                    assert!(
                        n.warnings[0].starts_with("the event payload should be an object"),
                        "{kind}: {:?}",
                        n.warnings
                    );
                }
                if EventKind::from(kind).is_known() {
                    assert!(!n.warnings.is_empty(), "{kind} {payload}");
                }
            }
        }
    }

    #[test]
    fn wrongly_typed_everything_never_panics() {
        let junk = json!({
            "user_id": 1, "user_login": [], "user_name": {},
            "broadcaster_user_id": true, "to_broadcaster_user_id": 2,
            "from_broadcaster_user_id": false, "chatter_user_id": 3,
            "moderator_user_id": 4, "moderator_user_name": 5,
            "followed_at": 6, "banned_at": "x", "ends_at": 7, "is_permanent": "yes",
            "tier": null, "is_gift": 1, "total": "two", "is_anonymous": "no",
            "cumulative_months": 1.5, "message": "not an object", "badges": {"a": 1},
            "started_at": [], "redeemed_at": {}, "reason": 8
        });
        for spec in crate::twitch::eventsub::subscriptions::WANTED {
            let n = run(spec.kind, junk.clone());
            assert_eq!(n.change, DomainChange::None, "{}", spec.kind);
            assert!(!n.warnings.is_empty(), "{}", spec.kind);
        }
    }
}
