//! What each kind of event carries: one struct per kind Stagehand models
//! ([`EventData`]), and [`EventData::Other`] for kinds it does not.
//!
//! Every source builds these (normalisation, the pollers, test events), so
//! the same kind always has the same fields. Stored rows and the API keep
//! the JSON form ("details"): [`EventData::to_details`] writes it and
//! [`EventData::from_details`] reads it back, strictly for input from
//! outside (an unknown field or a wrong type is an error naming the field)
//! or leniently for rows written by older versions.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value, json};

use super::EventKind;

/// The JSON object form of an event's data.
pub type Details = Map<String, Value>;

/// A subscription tier as Twitch names it: 1000, 2000 or 3000 (Prime subs
/// are 1000). Written as the string Twitch uses ("1000"); read from that or
/// a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tier(pub u32);

impl Default for Tier {
    fn default() -> Self {
        Tier(1000)
    }
}

impl Tier {
    /// `"1000"`, `"2000"` or `"3000"`; anything else is no tier.
    pub fn parse(text: &str) -> Option<Tier> {
        match text.trim() {
            "1000" => Some(Tier(1000)),
            "2000" => Some(Tier(2000)),
            "3000" => Some(Tier(3000)),
            _ => None,
        }
    }

    /// 1, 2 or 3, for people.
    pub fn level(self) -> u32 {
        (self.0 / 1000).max(1)
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Tier {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Tier {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Number(u32),
            Text(String),
        }
        let n = match Wire::deserialize(d)? {
            Wire::Number(n) => n,
            Wire::Text(t) => t.trim().parse().map_err(|_| {
                serde::de::Error::custom(format!(
                    "tier {t:?} is not a tier: use \"1000\", \"2000\" or \"3000\""
                ))
            })?,
        };
        match n {
            1000 | 2000 | 3000 => Ok(Tier(n)),
            other => Err(serde::de::Error::custom(format!(
                "tier {other} is not a tier: use \"1000\", \"2000\" or \"3000\""
            ))),
        }
    }
}

/// `channel.follow`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Follow {
    /// The follower's display name.
    pub username: String,
    /// When they followed (Twitch's time; when first seen for polled ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub followed_at: Option<DateTime<Utc>>,
}

impl Follow {
    pub fn new(username: impl Into<String>, followed_at: DateTime<Utc>) -> Self {
        Follow {
            username: username.into(),
            followed_at: Some(followed_at),
        }
    }
}

/// Kinds about one viewer and nothing more: `channel.unfollow`,
/// `channel.unban`, `channel.timeout.end` and the VIP and moderator
/// changes (the kind says which).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Named {
    /// The viewer's display name.
    pub username: String,
}

impl Named {
    pub fn new(username: impl Into<String>) -> Self {
        Named {
            username: username.into(),
        }
    }
}

/// `channel.ban`: a permanent ban, or a timeout with its duration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
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

/// `channel.subscribe`: a new subscription (the recipient's, for gifts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Subscribe {
    pub username: String,
    pub tier: Tier,
    pub is_gift: bool,
}

/// `channel.subscription.message`: a resub shared in chat.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resub {
    pub username: String,
    pub tier: Tier,
    pub cumulative_months: u32,
    pub message: String,
}

/// `channel.subscription.end`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubscriptionEnd {
    pub username: String,
    pub tier: Tier,
}

/// `channel.subscription.gift`: someone gave `total` subs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Gift {
    /// The gifter; empty when anonymous.
    pub username: String,
    pub tier: Tier,
    pub total: u32,
    pub is_anonymous: bool,
}

/// `channel.cheer`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Cheer {
    /// The cheerer; empty when anonymous.
    pub username: String,
    pub bits: u32,
    pub message: String,
    pub is_anonymous: bool,
}

/// `channel.raid`: the channel was raided.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Raid {
    /// The raiding broadcaster.
    pub username: String,
    pub viewers: u32,
}

/// The reward of a channel points redemption.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Reward {
    pub id: String,
    pub title: String,
    pub cost: u32,
    pub prompt: String,
}

/// `channel.channel_points_custom_reward_redemption.add`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Redemption {
    pub username: String,
    pub reward: Reward,
    /// What the viewer typed, for rewards that ask for text.
    pub user_input: String,
    /// `unfulfilled`, `fulfilled` or `canceled`.
    pub status: String,
}

/// One chat badge, as EventSub gives it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Badge {
    pub set_id: String,
    pub id: String,
    pub info: String,
}

/// `channel.chat.message`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChatMessage {
    pub username: String,
    pub text: String,
    pub badges: Vec<Badge>,
}

/// `stream.online`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamOnline {
    /// The broadcaster's display name.
    pub username: String,
    /// `live`, `playlist`, `watch_party`, `premiere` or `rerun`.
    #[serde(rename = "type")]
    pub stream_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
}

/// `stream.offline`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamOffline {
    /// The broadcaster's display name.
    pub username: String,
}

/// `channel.clip.created` (polling only)
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClipCreated {
    pub clip_title: String,
    pub clip_url: String,
    pub creator_username: String,
    pub view_count: u64,
}

/// `donation`: a tip through a service outside Twitch (Ko-fi, or a webhook
/// the streamer set up). The giver is not a Twitch user, so they are named
/// here and the event has no viewer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Donation {
    /// Who gave, as the service names them; empty when it names nobody.
    pub username: String,
    /// A decimal number exactly as the service sent it ("5.00"): kept as
    /// text so no cent is lost to floating point. Checked by
    /// [`check_amount`].
    pub amount: String,
    /// ISO 4217 code: three capital letters ("USD"). Checked by
    /// [`check_currency`].
    pub currency: String,
    /// What the giver wrote. A private donation's message is for the
    /// streamer only: whatever shows it publicly must check `is_public`.
    pub message: String,
    /// False when the giver asked that the donation not be shown publicly.
    pub is_public: bool,
    /// The service: `kofi`, or the name of the webhook it came through.
    pub source: String,
    /// The service's kind of payment, e.g. Ko-fi's `Donation`,
    /// `Subscription`, `Shop Order` or `Commission`.
    pub donation_type: String,
    /// A membership tier's name, when the payment is for one.
    pub tier_name: String,
}

/// Longest amount accepted, in characters: more digits than any real
/// payment, few enough that nothing downstream chokes on one.
pub const MAX_AMOUNT_LEN: usize = 32;

/// Why `amount` is not a decimal number like "5.00": digits, optionally one
/// `.` followed by more digits. No sign, exponent, separators, spaces,
/// `NaN` or infinity: a donation is a plain non-negative amount, and it is
/// never read as a float.
pub fn check_amount(amount: &str) -> Result<(), String> {
    let shape = "a decimal number like \"5.00\" (digits, optionally a '.' and more digits)";
    if amount.is_empty() {
        return Err(format!("a donation needs an amount, {shape}"));
    }
    if amount.len() > MAX_AMOUNT_LEN {
        return Err(format!(
            "amount is longer than {MAX_AMOUNT_LEN} characters; it must be {shape}"
        ));
    }
    let (whole, fraction) = match amount.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (amount, None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if digits(whole) && fraction.is_none_or(digits) {
        Ok(())
    } else {
        let shown: String = amount
            .chars()
            .take(40)
            .flat_map(char::escape_debug)
            .collect();
        Err(format!("amount \"{shown}\" is not {shape}"))
    }
}

/// Why `currency` is not an ISO 4217 code (three capital letters, "USD").
pub fn check_currency(currency: &str) -> Result<(), String> {
    if currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Ok(());
    }
    if currency.is_empty() {
        return Err("a donation needs a currency: an ISO 4217 code like \"USD\"".into());
    }
    let shown: String = currency
        .chars()
        .take(40)
        .flat_map(char::escape_debug)
        .collect();
    Err(format!(
        "currency \"{shown}\" is not an ISO 4217 code: three capital letters like \"USD\""
    ))
}

impl Donation {
    /// The amount and currency checked (see [`check_amount`] and
    /// [`check_currency`]), as a [`DetailsError`] naming the field.
    pub fn check(&self) -> Result<(), DetailsError> {
        check_amount(&self.amount).map_err(|message| DetailsError {
            field: "amount".into(),
            message,
        })?;
        check_currency(&self.currency).map_err(|message| DetailsError {
            field: "currency".into(),
            message,
        })
    }
}

/// The `discord.*` kinds, from the streamer's Discord bot (a member joined
/// or left, a ticket opened or closed, a giveaway created, ended or
/// entered; the kind says which). Fields the bot's message does not have
/// are empty; `data` keeps the message's whole `data` object as it came,
/// for fields not modelled here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Discord {
    /// The Discord server.
    pub guild_id: String,
    /// The member the event is about (who joined, entered, opened a ticket).
    pub user_id: String,
    /// Their name on Discord (not a Twitch user).
    pub username: String,
    pub giveaway_id: String,
    /// What a giveaway gives away.
    pub prize: String,
    /// A giveaway's winner (`discord.giveaway.end`).
    pub winner_id: String,
    pub ticket_id: String,
    /// The bot's `data` object as it came.
    pub data: Details,
}

/// Which role a role change is about (in the JSON form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleType {
    Vip,
    Moderator,
}

impl RoleType {
    pub fn as_str(self) -> &'static str {
        match self {
            RoleType::Vip => "vip",
            RoleType::Moderator => "moderator",
        }
    }
}

/// What an event carries, by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum EventData {
    Follow(Follow),
    Unfollow(Named),
    Ban(Ban),
    Unban(Named),
    TimeoutEnd(Named),
    VipAdd(Named),
    VipRemove(Named),
    ModeratorAdd(Named),
    ModeratorRemove(Named),
    Subscribe(Subscribe),
    Resub(Resub),
    SubscriptionEnd(SubscriptionEnd),
    Gift(Gift),
    Cheer(Cheer),
    Raid(Raid),
    Redemption(Redemption),
    ChatMessage(ChatMessage),
    StreamOnline(StreamOnline),
    StreamOffline(StreamOffline),
    ClipCreated(ClipCreated),
    Donation(Donation),
    DiscordMemberJoin(Discord),
    DiscordMemberLeave(Discord),
    DiscordTicketCreate(Discord),
    DiscordTicketClose(Discord),
    DiscordGiveawayCreate(Discord),
    DiscordGiveawayEnd(Discord),
    DiscordGiveawayEntry(Discord),
    /// A kind Stagehand does not model: its JSON as it came.
    Other(Details),
}

/// Why details could not be read as their kind's data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("details.{field}: {message}")]
pub struct DetailsError {
    /// Dotted path of the field (`bits`, `reward.cost`, `badges.0.id`).
    pub field: String,
    pub message: String,
}

/// How strictly [`EventData::from_details`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// Input from outside: unknown fields and wrong types are errors.
    Strict,
    /// Rows stored by this or an older version: unknown fields are
    /// ignored (older versions kept more of the raw payload).
    Lenient,
}

/// Fields the JSON form carries that the typed data implies (older rows
/// and the documented form have them): accepted and ignored on input.
fn implied_fields(kind: &EventKind) -> &'static [&'static str] {
    match kind {
        EventKind::Follow | EventKind::Unfollow => &["action"],
        EventKind::VipAdd
        | EventKind::VipRemove
        | EventKind::ModeratorAdd
        | EventKind::ModeratorRemove => &["action", "role_type"],
        _ => &[],
    }
}

fn parse<T: DeserializeOwned>(
    kind: &EventKind,
    details: &Details,
    strictness: Strictness,
) -> Result<T, DetailsError> {
    let mut unknown = Vec::new();
    let value = Value::Object(details.clone());
    let mut track = serde_path_to_error::Track::new();
    let parsed = {
        let tracked = serde_path_to_error::Deserializer::new(&value, &mut track);
        serde_ignored::deserialize(tracked, |path| unknown.push(path.to_string()))
    };
    let parsed: T = parsed.map_err(|e: serde_json::Error| DetailsError {
        field: track.path().to_string(),
        message: e.to_string(),
    })?;
    if strictness == Strictness::Strict {
        let implied = implied_fields(kind);
        if let Some(field) = unknown.into_iter().find(|f| !implied.contains(&f.as_str())) {
            return Err(DetailsError {
                field,
                message: format!("{kind} has no such field"),
            });
        }
    }
    Ok(parsed)
}

fn to_map(value: impl Serialize) -> Details {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        _ => Details::new(),
    }
}

impl EventData {
    /// Reads the JSON form of `kind`'s data.
    pub fn from_details(
        kind: &EventKind,
        details: &Details,
        strictness: Strictness,
    ) -> Result<EventData, DetailsError> {
        let s = strictness;
        Ok(match kind {
            EventKind::Follow => EventData::Follow(parse(kind, details, s)?),
            EventKind::Unfollow => EventData::Unfollow(parse(kind, details, s)?),
            EventKind::Ban => EventData::Ban(parse(kind, details, s)?),
            EventKind::Unban => EventData::Unban(parse(kind, details, s)?),
            EventKind::TimeoutEnd => EventData::TimeoutEnd(parse(kind, details, s)?),
            EventKind::VipAdd => EventData::VipAdd(parse(kind, details, s)?),
            EventKind::VipRemove => EventData::VipRemove(parse(kind, details, s)?),
            EventKind::ModeratorAdd => EventData::ModeratorAdd(parse(kind, details, s)?),
            EventKind::ModeratorRemove => EventData::ModeratorRemove(parse(kind, details, s)?),
            EventKind::Subscribe => EventData::Subscribe(parse(kind, details, s)?),
            EventKind::SubscriptionMessage => EventData::Resub(parse(kind, details, s)?),
            EventKind::SubscriptionEnd => EventData::SubscriptionEnd(parse(kind, details, s)?),
            EventKind::SubscriptionGift => EventData::Gift(parse(kind, details, s)?),
            EventKind::Cheer => EventData::Cheer(parse(kind, details, s)?),
            EventKind::Raid => EventData::Raid(parse(kind, details, s)?),
            EventKind::Redemption => EventData::Redemption(parse(kind, details, s)?),
            EventKind::ChatMessage => EventData::ChatMessage(parse(kind, details, s)?),
            EventKind::StreamOnline => EventData::StreamOnline(parse(kind, details, s)?),
            EventKind::StreamOffline => EventData::StreamOffline(parse(kind, details, s)?),
            EventKind::ClipCreated => EventData::ClipCreated(parse(kind, details, s)?),
            EventKind::Donation => {
                let donation: Donation = parse(kind, details, s)?;
                donation.check()?;
                EventData::Donation(donation)
            }
            EventKind::DiscordMemberJoin => EventData::DiscordMemberJoin(parse(kind, details, s)?),
            EventKind::DiscordMemberLeave => {
                EventData::DiscordMemberLeave(parse(kind, details, s)?)
            }
            EventKind::DiscordTicketCreate => {
                EventData::DiscordTicketCreate(parse(kind, details, s)?)
            }
            EventKind::DiscordTicketClose => {
                EventData::DiscordTicketClose(parse(kind, details, s)?)
            }
            EventKind::DiscordGiveawayCreate => {
                EventData::DiscordGiveawayCreate(parse(kind, details, s)?)
            }
            EventKind::DiscordGiveawayEnd => {
                EventData::DiscordGiveawayEnd(parse(kind, details, s)?)
            }
            EventKind::DiscordGiveawayEntry => {
                EventData::DiscordGiveawayEntry(parse(kind, details, s)?)
            }
            EventKind::Other(_) => EventData::Other(details.clone()),
        })
    }

    /// Reads stored JSON of `kind`; a row no version of the typed data can
    /// read is kept as [`EventData::Other`] rather than lost.
    pub fn from_stored(kind: &EventKind, details: Details) -> EventData {
        match EventData::from_details(kind, &details, Strictness::Lenient) {
            Ok(data) => data,
            Err(e) => {
                tracing::warn!(%kind, error = %e, "stored event details do not fit their kind; kept as they are");
                EventData::Other(details)
            }
        }
    }

    /// The kind this data belongs to; `None` for [`EventData::Other`].
    pub fn kind(&self) -> Option<EventKind> {
        Some(match self {
            EventData::Follow(_) => EventKind::Follow,
            EventData::Unfollow(_) => EventKind::Unfollow,
            EventData::Ban(_) => EventKind::Ban,
            EventData::Unban(_) => EventKind::Unban,
            EventData::TimeoutEnd(_) => EventKind::TimeoutEnd,
            EventData::VipAdd(_) => EventKind::VipAdd,
            EventData::VipRemove(_) => EventKind::VipRemove,
            EventData::ModeratorAdd(_) => EventKind::ModeratorAdd,
            EventData::ModeratorRemove(_) => EventKind::ModeratorRemove,
            EventData::Subscribe(_) => EventKind::Subscribe,
            EventData::Resub(_) => EventKind::SubscriptionMessage,
            EventData::SubscriptionEnd(_) => EventKind::SubscriptionEnd,
            EventData::Gift(_) => EventKind::SubscriptionGift,
            EventData::Cheer(_) => EventKind::Cheer,
            EventData::Raid(_) => EventKind::Raid,
            EventData::Redemption(_) => EventKind::Redemption,
            EventData::ChatMessage(_) => EventKind::ChatMessage,
            EventData::StreamOnline(_) => EventKind::StreamOnline,
            EventData::StreamOffline(_) => EventKind::StreamOffline,
            EventData::ClipCreated(_) => EventKind::ClipCreated,
            EventData::Donation(_) => EventKind::Donation,
            EventData::DiscordMemberJoin(_) => EventKind::DiscordMemberJoin,
            EventData::DiscordMemberLeave(_) => EventKind::DiscordMemberLeave,
            EventData::DiscordTicketCreate(_) => EventKind::DiscordTicketCreate,
            EventData::DiscordTicketClose(_) => EventKind::DiscordTicketClose,
            EventData::DiscordGiveawayCreate(_) => EventKind::DiscordGiveawayCreate,
            EventData::DiscordGiveawayEnd(_) => EventKind::DiscordGiveawayEnd,
            EventData::DiscordGiveawayEntry(_) => EventKind::DiscordGiveawayEntry,
            EventData::Other(_) => return None,
        })
    }

    /// The JSON form, as stored and shown by the API.
    pub fn to_details(&self) -> Details {
        let role = |named: &Named, action: &str, role: RoleType| {
            let mut map = to_map(named);
            map.insert("action".into(), action.into());
            map.insert("role_type".into(), role.as_str().into());
            map
        };
        match self {
            EventData::Follow(d) => {
                let mut map = to_map(d);
                map.insert("action".into(), "follow".into());
                map
            }
            EventData::Unfollow(d) => {
                let mut map = to_map(d);
                map.insert("action".into(), "unfollow".into());
                map
            }
            EventData::Ban(d) => to_map(d),
            EventData::Unban(d) | EventData::TimeoutEnd(d) => to_map(d),
            EventData::VipAdd(d) => role(d, "granted", RoleType::Vip),
            EventData::VipRemove(d) => role(d, "revoked", RoleType::Vip),
            EventData::ModeratorAdd(d) => role(d, "granted", RoleType::Moderator),
            EventData::ModeratorRemove(d) => role(d, "revoked", RoleType::Moderator),
            EventData::Subscribe(d) => to_map(d),
            EventData::Resub(d) => to_map(d),
            EventData::SubscriptionEnd(d) => to_map(d),
            EventData::Gift(d) => to_map(d),
            EventData::Cheer(d) => to_map(d),
            EventData::Raid(d) => to_map(d),
            EventData::Redemption(d) => to_map(d),
            EventData::ChatMessage(d) => to_map(d),
            EventData::StreamOnline(d) => to_map(d),
            EventData::StreamOffline(d) => to_map(d),
            EventData::ClipCreated(d) => to_map(d),
            EventData::Donation(d) => to_map(d),
            EventData::DiscordMemberJoin(d)
            | EventData::DiscordMemberLeave(d)
            | EventData::DiscordTicketCreate(d)
            | EventData::DiscordTicketClose(d)
            | EventData::DiscordGiveawayCreate(d)
            | EventData::DiscordGiveawayEnd(d)
            | EventData::DiscordGiveawayEntry(d) => to_map(d),
            EventData::Other(map) => map.clone(),
        }
    }

    /// The display name of the person the data is about, when it names one
    /// (empty for anonymous gifts and cheers): a Twitch viewer, except for
    /// the kinds from outside Twitch (see [`EventData::is_from_twitch`]),
    /// whose names are the service's (a Ko-fi name, a Discord name).
    pub fn username(&self) -> Option<&str> {
        Some(match self {
            EventData::Follow(d) => &d.username,
            EventData::Unfollow(d)
            | EventData::Unban(d)
            | EventData::TimeoutEnd(d)
            | EventData::VipAdd(d)
            | EventData::VipRemove(d)
            | EventData::ModeratorAdd(d)
            | EventData::ModeratorRemove(d) => &d.username,
            EventData::Ban(d) => &d.username,
            EventData::Subscribe(d) => &d.username,
            EventData::Resub(d) => &d.username,
            EventData::SubscriptionEnd(d) => &d.username,
            EventData::Gift(d) => &d.username,
            EventData::Cheer(d) => &d.username,
            EventData::Raid(d) => &d.username,
            EventData::Redemption(d) => &d.username,
            EventData::ChatMessage(d) => &d.username,
            EventData::StreamOnline(d) => &d.username,
            EventData::StreamOffline(d) => &d.username,
            EventData::ClipCreated(d) => &d.creator_username,
            EventData::Donation(d) => &d.username,
            EventData::DiscordMemberJoin(d)
            | EventData::DiscordMemberLeave(d)
            | EventData::DiscordTicketCreate(d)
            | EventData::DiscordTicketClose(d)
            | EventData::DiscordGiveawayCreate(d)
            | EventData::DiscordGiveawayEnd(d)
            | EventData::DiscordGiveawayEntry(d) => &d.username,
            EventData::Other(map) => return map.get("username").and_then(Value::as_str),
        })
    }

    /// Whether the data is of a Twitch kind, whose names are Twitch users.
    /// Donations and the Discord kinds name people of other services, who
    /// must never be taken for a Twitch viewer (a plugin could mute or
    /// greet the wrong person); unmodelled kinds count as Twitch's.
    pub fn is_from_twitch(&self) -> bool {
        !matches!(
            self,
            EventData::Donation(_)
                | EventData::DiscordMemberJoin(_)
                | EventData::DiscordMemberLeave(_)
                | EventData::DiscordTicketCreate(_)
                | EventData::DiscordTicketClose(_)
                | EventData::DiscordGiveawayCreate(_)
                | EventData::DiscordGiveawayEnd(_)
                | EventData::DiscordGiveawayEntry(_)
        )
    }

    /// The empty data of `kind`: what an event of that kind carries before
    /// its data is set. A donation has no valid empty form (it needs an
    /// amount and a currency), so its empty data is the all-empty record.
    pub fn empty(kind: &EventKind) -> EventData {
        if *kind == EventKind::Donation {
            return EventData::Donation(Donation::default());
        }
        EventData::from_details(kind, &Details::new(), Strictness::Lenient)
            .unwrap_or_else(|_| EventData::Other(Details::new()))
    }
}

/// The fields of each kind's JSON form with their JSON types, for the kinds
/// reference (`docs/event-kinds.md`) and the test that keeps it true.
/// Free-form objects (a Discord message's `data`) are one field: what is
/// inside them is the sender's, not the model's.
pub fn fields_of(kind: &EventKind) -> Vec<(String, &'static str)> {
    let sample = sample(kind);
    let mut out = Vec::new();
    describe_fields("", &Value::Object(sample.to_details()), &mut out);
    out
}

/// Top-level fields whose content the model does not describe.
const FREE_FORM: &[&str] = &["data"];

fn describe_fields(prefix: &str, value: &Value, out: &mut Vec<(String, &'static str)>) {
    let Value::Object(map) = value else {
        return;
    };
    for (key, value) in map {
        let name = format!("{prefix}{key}");
        if prefix.is_empty() && FREE_FORM.contains(&key.as_str()) {
            out.push((name, "object"));
            continue;
        }
        let ty = match value {
            Value::Null => "string or null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        out.push((name.clone(), ty));
        if let Value::Object(_) = value {
            describe_fields(&format!("{name}."), value, out);
        }
        if let Value::Array(items) = value
            && let Some(first) = items.first()
        {
            describe_fields(&format!("{name}[]."), first, out);
        }
    }
}

/// A fully filled example of `kind`'s data (every optional field set).
pub fn sample(kind: &EventKind) -> EventData {
    let at = DateTime::parse_from_rfc3339("2025-01-15T14:32:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default();
    let name = || "JaneDoe".to_owned();
    match kind {
        EventKind::Follow => EventData::Follow(Follow::new(name(), at)),
        EventKind::Unfollow => EventData::Unfollow(Named::new(name())),
        EventKind::Ban => EventData::Ban(Ban {
            username: name(),
            moderator_username: Some("ModName".into()),
            moderator_id: Some("9001".into()),
            reason: Some("spam".into()),
            is_permanent: false,
            duration_seconds: Some(600),
            expires_at: Some(at),
        }),
        EventKind::Unban => EventData::Unban(Named::new(name())),
        EventKind::TimeoutEnd => EventData::TimeoutEnd(Named::new(name())),
        EventKind::VipAdd => EventData::VipAdd(Named::new(name())),
        EventKind::VipRemove => EventData::VipRemove(Named::new(name())),
        EventKind::ModeratorAdd => EventData::ModeratorAdd(Named::new(name())),
        EventKind::ModeratorRemove => EventData::ModeratorRemove(Named::new(name())),
        EventKind::Subscribe => EventData::Subscribe(Subscribe {
            username: name(),
            tier: Tier(1000),
            is_gift: false,
        }),
        EventKind::SubscriptionMessage => EventData::Resub(Resub {
            username: name(),
            tier: Tier(2000),
            cumulative_months: 12,
            message: "a year already!".into(),
        }),
        EventKind::SubscriptionEnd => EventData::SubscriptionEnd(SubscriptionEnd {
            username: name(),
            tier: Tier(1000),
        }),
        EventKind::SubscriptionGift => EventData::Gift(Gift {
            username: name(),
            tier: Tier(1000),
            total: 5,
            is_anonymous: false,
        }),
        EventKind::Cheer => EventData::Cheer(Cheer {
            username: name(),
            bits: 500,
            message: "Cheer500 great stream".into(),
            is_anonymous: false,
        }),
        EventKind::Raid => EventData::Raid(Raid {
            username: name(),
            viewers: 42,
        }),
        EventKind::Redemption => EventData::Redemption(Redemption {
            username: name(),
            reward: Reward {
                id: "5a4b...".into(),
                title: "Hydrate".into(),
                cost: 100,
                prompt: "Make the streamer drink water".into(),
            },
            user_input: "".into(),
            status: "unfulfilled".into(),
        }),
        EventKind::ChatMessage => EventData::ChatMessage(ChatMessage {
            username: name(),
            text: "hello chat".into(),
            badges: vec![Badge {
                set_id: "subscriber".into(),
                id: "12".into(),
                info: "16".into(),
            }],
        }),
        EventKind::StreamOnline => EventData::StreamOnline(StreamOnline {
            username: "Streamer".into(),
            stream_type: "live".into(),
            started_at: Some(at),
        }),
        EventKind::StreamOffline => EventData::StreamOffline(StreamOffline {
            username: "Streamer".into(),
        }),
        EventKind::ClipCreated => EventData::ClipCreated(ClipCreated {
            clip_title: "that play".into(),
            clip_url: "https://clips.twitch.tv/AwkwardHelplessSalamanderSwiftRage".into(),
            creator_username: name(),
            view_count: 3,
        }),
        EventKind::Donation => EventData::Donation(Donation {
            username: name(),
            amount: "5.00".into(),
            currency: "USD".into(),
            message: "keep it up!".into(),
            is_public: true,
            source: "kofi".into(),
            donation_type: "Donation".into(),
            tier_name: "".into(),
        }),
        EventKind::DiscordMemberJoin => EventData::DiscordMemberJoin(discord_sample(
            json!({"userId": "123456789012345678", "username": "JaneDoe"}),
        )),
        EventKind::DiscordMemberLeave => EventData::DiscordMemberLeave(discord_sample(
            json!({"userId": "123456789012345678", "username": "JaneDoe"}),
        )),
        EventKind::DiscordTicketCreate => EventData::DiscordTicketCreate(discord_sample(
            json!({"ticketId": "t-17", "userId": "123456789012345678", "username": "JaneDoe"}),
        )),
        EventKind::DiscordTicketClose => EventData::DiscordTicketClose(discord_sample(
            json!({"ticketId": "t-17", "userId": "123456789012345678", "username": "JaneDoe"}),
        )),
        EventKind::DiscordGiveawayCreate => EventData::DiscordGiveawayCreate(discord_sample(
            json!({"giveawayId": "g-42", "prize": "Steam key"}),
        )),
        EventKind::DiscordGiveawayEnd => EventData::DiscordGiveawayEnd(discord_sample(
            json!({"giveawayId": "g-42", "prize": "Steam key", "winnerId": "123456789012345678", "username": "JaneDoe"}),
        )),
        EventKind::DiscordGiveawayEntry => EventData::DiscordGiveawayEntry(discord_sample(
            json!({"giveawayId": "g-42", "userId": "123456789012345678", "username": "JaneDoe"}),
        )),
        EventKind::Other(_) => EventData::Other(Details::new()),
    }
}

/// A Discord event's data as the bridge fills it from the bot's `data`
/// object (camelCase keys, as the bot sends them), every field set so the
/// kinds reference lists them all.
fn discord_sample(data: Value) -> Discord {
    let text = |key: &str| data[key].as_str().unwrap_or_default().to_owned();
    Discord {
        guild_id: "987654321098765432".into(),
        user_id: text("userId"),
        username: text("username"),
        giveaway_id: text("giveawayId"),
        prize: text("prize"),
        winner_id: text("winnerId"),
        ticket_id: text("ticketId"),
        data: match data {
            Value::Object(map) => map,
            _ => Details::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn details(v: Value) -> Details {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn every_known_kind_round_trips_through_its_json_form() {
        for kind in EventKind::KNOWN {
            let data = sample(kind);
            assert_eq!(data.kind().as_ref(), Some(kind));
            let json = data.to_details();
            let back = EventData::from_details(kind, &json, Strictness::Strict)
                .unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(back, data, "{kind}");
        }
    }

    #[test]
    fn a_wrong_type_names_the_field() {
        let err = EventData::from_details(
            &EventKind::Cheer,
            &details(json!({"username": "a", "bits": "lots"})),
            Strictness::Strict,
        )
        .unwrap_err();
        assert_eq!(err.field, "bits");
        assert!(
            err.to_string().starts_with("details.bits: invalid type"),
            "{err}"
        );
        let err = EventData::from_details(
            &EventKind::Redemption,
            &details(json!({"reward": {"cost": -1}})),
            Strictness::Strict,
        )
        .unwrap_err();
        assert_eq!(err.field, "reward.cost");
    }

    #[test]
    fn an_unknown_field_is_refused_from_outside_and_ignored_in_stored_rows() {
        let d = details(json!({"username": "a", "bitz": 100}));
        let err = EventData::from_details(&EventKind::Cheer, &d, Strictness::Strict).unwrap_err();
        assert_eq!(err.field, "bitz");
        assert!(
            err.message.contains("channel.cheer has no such field"),
            "{err}"
        );
        let lenient = EventData::from_details(&EventKind::Cheer, &d, Strictness::Lenient).unwrap();
        assert_eq!(lenient.username(), Some("a"));
    }

    #[test]
    fn implied_fields_of_the_documented_form_are_accepted() {
        let d = details(json!({"username": "a", "action": "granted", "role_type": "vip"}));
        let data = EventData::from_details(&EventKind::VipAdd, &d, Strictness::Strict).unwrap();
        assert_eq!(data.to_details(), d);
    }

    #[test]
    fn tiers_read_strings_or_numbers_and_refuse_others() {
        for tier in [json!("2000"), json!(2000)] {
            let d = details(json!({"tier": tier}));
            let EventData::Subscribe(s) =
                EventData::from_details(&EventKind::Subscribe, &d, Strictness::Strict).unwrap()
            else {
                panic!()
            };
            assert_eq!(s.tier, Tier(2000));
            assert_eq!(s.tier.level(), 2);
        }
        let err = EventData::from_details(
            &EventKind::Subscribe,
            &details(json!({"tier": "prime"})),
            Strictness::Strict,
        )
        .unwrap_err();
        assert_eq!(err.field, "tier");
        assert!(err.message.contains("\"1000\""), "{err}");
    }

    #[test]
    fn rows_of_older_versions_read_as_their_kind() {
        // A raid as older versions stored it: the raw EventSub payload.
        let old = details(json!({
            "from_broadcaster_user_id": "1234",
            "from_broadcaster_user_login": "cool_user",
            "from_broadcaster_user_name": "Cool_User",
            "to_broadcaster_user_id": "1337",
            "viewers": 9001,
            "username": "Cool_User"
        }));
        assert_eq!(
            EventData::from_stored(&EventKind::Raid, old),
            EventData::Raid(Raid {
                username: "Cool_User".into(),
                viewers: 9001
            })
        );
        // Beyond reading: kept as it is.
        let odd = details(json!({"viewers": "many"}));
        assert_eq!(
            EventData::from_stored(&EventKind::Raid, odd.clone()),
            EventData::Other(odd)
        );
    }

    fn donation(amount: Value, currency: Value) -> Result<EventData, DetailsError> {
        EventData::from_details(
            &EventKind::Donation,
            &details(json!({"username": "Ann", "amount": amount, "currency": currency})),
            Strictness::Strict,
        )
    }

    #[test]
    fn a_donation_keeps_its_amount_exactly_as_sent() {
        for amount in ["5.00", "5", "0.50", "1000000.123456", "007.10"] {
            let Ok(EventData::Donation(d)) = donation(json!(amount), json!("EUR")) else {
                panic!("{amount} was refused");
            };
            assert_eq!(d.amount, amount);
            assert_eq!(d.currency, "EUR");
            assert!(!d.is_public, "not said public: kept private");
        }
    }

    #[test]
    fn a_donation_amount_that_is_not_a_plain_decimal_is_refused() {
        for amount in [
            "5,00", "1e3", "-5", "+5", "NaN", "inf", "", " 5.00", "5.00 ", "5.", ".5", "5..0",
            "1.2.3", "5_000", "٥", "0x10",
        ] {
            let err = donation(json!(amount), json!("USD")).unwrap_err();
            assert_eq!(err.field, "amount", "{amount:?}: {err}");
            assert!(err.to_string().starts_with("details.amount: "), "{err}");
            assert!(err.message.contains("\"5.00\""), "{amount:?}: {err}");
        }
        let long = "9".repeat(MAX_AMOUNT_LEN + 1);
        assert_eq!(
            donation(json!(long), json!("USD")).unwrap_err().field,
            "amount"
        );
        // A JSON number would have gone through a float: refused too.
        for amount in [json!(5), json!(5.5), json!(null)] {
            let err = donation(amount.clone(), json!("USD")).unwrap_err();
            assert_eq!(err.field, "amount", "{amount}: {err}");
        }
        // Missing altogether.
        let err = EventData::from_details(
            &EventKind::Donation,
            &details(json!({"currency": "USD"})),
            Strictness::Strict,
        )
        .unwrap_err();
        assert_eq!(err.field, "amount");
        assert!(err.message.contains("needs an amount"), "{err}");
    }

    #[test]
    fn a_donation_currency_must_be_an_iso_code() {
        for currency in ["usd", "US", "USDT", "", "U$D", "ÜSD", " USD"] {
            let err = donation(json!("5.00"), json!(currency)).unwrap_err();
            assert_eq!(err.field, "currency", "{currency:?}: {err}");
            assert!(err.message.contains("ISO 4217"), "{currency:?}: {err}");
        }
        assert_eq!(
            donation(json!("5.00"), json!(840)).unwrap_err().field,
            "currency"
        );
    }

    #[test]
    fn a_stored_donation_that_does_not_check_is_kept_as_it_is() {
        let odd = details(json!({"amount": "lots", "currency": "USD"}));
        assert_eq!(
            EventData::from_stored(&EventKind::Donation, odd.clone()),
            EventData::Other(odd)
        );
    }

    #[test]
    fn discord_events_keep_the_whole_data_object() {
        let d = details(json!({
            "guild_id": "1",
            "giveaway_id": "g",
            "winner_id": "2",
            "data": {"giveawayId": "g", "winnerId": "2", "extra": [1, {"x": true}]}
        }));
        let data = EventData::from_details(&EventKind::DiscordGiveawayEnd, &d, Strictness::Strict)
            .unwrap();
        let EventData::DiscordGiveawayEnd(end) = &data else {
            panic!("{data:?}")
        };
        assert_eq!(end.winner_id, "2");
        assert_eq!(end.prize, "");
        assert_eq!(end.data["extra"][1]["x"], json!(true));
        assert_eq!(data.kind(), Some(EventKind::DiscordGiveawayEnd));
        assert!(!data.is_from_twitch());
        let err = EventData::from_details(
            &EventKind::DiscordMemberJoin,
            &details(json!({"data": "not an object"})),
            Strictness::Strict,
        )
        .unwrap_err();
        assert_eq!(err.field, "data");
        let err = EventData::from_details(
            &EventKind::DiscordMemberJoin,
            &details(json!({"guildId": "1"})),
            Strictness::Strict,
        )
        .unwrap_err();
        assert_eq!(err.field, "guildId");
    }

    #[test]
    fn the_free_form_data_object_is_one_field_in_the_reference() {
        let fields = fields_of(&EventKind::DiscordGiveawayCreate);
        assert!(
            fields.contains(&("data".to_owned(), "object")),
            "{fields:?}"
        );
        assert!(
            !fields.iter().any(|(name, _)| name.starts_with("data.")),
            "{fields:?}"
        );
    }

    #[test]
    fn kinds_from_outside_twitch_name_their_person_but_no_twitch_viewer() {
        let donation = sample(&EventKind::Donation);
        assert_eq!(donation.username(), Some("JaneDoe"));
        assert!(!donation.is_from_twitch());
        assert!(sample(&EventKind::Follow).is_from_twitch());
        assert!(EventData::Other(Details::new()).is_from_twitch());
        // Before its data is set, a donation event still carries a donation.
        assert!(matches!(
            EventData::empty(&EventKind::Donation),
            EventData::Donation(_)
        ));
    }

    #[test]
    fn other_kinds_keep_their_json() {
        let d = details(json!({"anything": [1, 2]}));
        let kind = EventKind::from("channel.hype_train.begin");
        let data = EventData::from_details(&kind, &d, Strictness::Strict).unwrap();
        assert_eq!(data, EventData::Other(d.clone()));
        assert_eq!(data.to_details(), d);
        assert_eq!(data.kind(), None);
    }
}

#[cfg(test)]
mod documented {
    use super::super::EventKind;
    use std::collections::BTreeMap;

    /// `docs/event-kinds.md`: kind → (JSON field → type) from its tables.
    /// A heading may name several kinds (`` ## `a` `b` ``) sharing one table.
    fn documented() -> BTreeMap<String, BTreeMap<String, String>> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/event-kinds.md");
        let text = std::fs::read_to_string(path).unwrap();
        let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut kinds: Vec<String> = Vec::new();
        for line in text.lines() {
            if let Some(heading) = line.strip_prefix("## `") {
                kinds = heading
                    .split('`')
                    .map(str::trim)
                    .filter(|name| !name.is_empty())
                    .map(str::to_owned)
                    .collect();
                for kind in &kinds {
                    assert!(!out.contains_key(kind), "{kind} has two sections");
                    out.entry(kind.clone()).or_default();
                }
                continue;
            }
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            if let [_, field, ty, ..] = cells.as_slice()
                && field.starts_with('`')
            {
                let field = field.trim_matches('`').to_owned();
                for kind in &kinds {
                    let previous = out
                        .get_mut(kind)
                        .unwrap()
                        .insert(field.clone(), ty.to_string());
                    assert!(previous.is_none(), "{kind}: {field} is listed twice");
                }
            }
        }
        out
    }

    /// Every modelled kind is in the kinds reference with exactly its JSON
    /// fields and their types, and the reference lists no other kind.
    #[test]
    fn the_kinds_reference_matches_the_model() {
        let mut documented = documented();
        for kind in EventKind::KNOWN {
            let fields = documented
                .remove(kind.as_str())
                .unwrap_or_else(|| panic!("{} is not in docs/event-kinds.md", kind.as_str()));
            let expected: BTreeMap<String, String> = super::fields_of(kind)
                .into_iter()
                .map(|(name, ty)| (name, ty.to_owned()))
                .collect();
            assert_eq!(fields, expected, "docs/event-kinds.md, {}", kind.as_str());
        }
        assert!(
            documented.is_empty(),
            "not modelled: {:?}",
            documented.keys()
        );
    }
}
