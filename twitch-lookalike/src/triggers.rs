//! Triggers: "this happened on the channel". A trigger changes the channel
//! state and yields the EventSub events Twitch would send for it (none for
//! changes EventSub does not announce, such as an unfollow or a new clip),
//! so the notifications and the Helix lists always agree.
//!
//! Pure: [`apply`] works on a [`ChannelState`] with the time and a random
//! generator passed in; delivering the events is the hub's job.

use chrono::{DateTime, TimeDelta, Utc};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ids::{self, derived_user_id};
use super::names;
use super::payloads::{self, Badge, Reward};
use super::state::{BanInfo, ChannelState, ClipInfo, LiveStream, UserInfo};
use crate::catalog::TYPES;

/// The gifter Helix names for anonymous gifts (Twitch's own account).
pub const ANONYMOUS_GIFTER_ID: &str = "274598607";
/// Login of the anonymous gifter.
pub const ANONYMOUS_GIFTER_LOGIN: &str = "ananonymousgifter";

/// What happened. `kind` is an EventSub type from the catalog
/// (`channel.follow`, `channel.ban`, ...), a short alias (`follow`,
/// `resub`, `gift`, `timeout`, `chat`, ...), or a change EventSub does not
/// announce (`unfollow`, `clip`, `timeout.end`, `rename`). The other fields
/// are optional; sensible defaults fill what is missing. The same shape is
/// the JSON body of `POST /mock/trigger`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Trigger {
    /// The kind of change (see above).
    pub kind: String,
    /// The viewer's login (created on the fly when unknown; a made-up one
    /// when absent and the kind allows it). For a raid, the raider.
    pub user: Option<String>,
    /// Sub tier: "1000", "2000" or "3000" (default "1000").
    pub tier: Option<String>,
    /// Number of gifted subs (default 1).
    pub total: Option<u32>,
    /// Bits cheered (default 100).
    pub bits: Option<u32>,
    /// Raid viewers; clip view count.
    pub viewers: Option<u32>,
    /// Chat text; clip title; the new login for `rename`.
    pub text: Option<String>,
    /// Ban reason.
    pub reason: Option<String>,
    /// A ban with a duration is a timeout.
    pub duration_secs: Option<u64>,
    /// Cumulative months of a resub (default 2).
    pub months: Option<u32>,
    /// Channel-points reward title.
    pub reward_title: Option<String>,
    /// Text the viewer typed for a reward.
    pub user_input: Option<String>,
    /// Anonymous gift or cheer.
    pub is_anonymous: Option<bool>,
    /// Resub or cheer message (chat text too, when `text` is absent).
    pub message: Option<String>,
    /// Chat badges as `set_id/id[/info]`; inferred from roles when absent.
    pub badges: Option<Vec<String>>,
    /// Who banned/unbanned (default: the broadcaster).
    pub moderator: Option<String>,
    /// The new login for `rename`.
    pub new_login: Option<String>,
    /// Reward cost in channel points (default 500).
    pub cost: Option<u32>,
    /// Chat name color (default derived from the login).
    pub color: Option<String>,
    /// Change the state only, send no notification (an event EventSub
    /// missed, for polling tests).
    pub quiet: bool,
    /// The channel it happens in (broadcaster id or login); the default
    /// channel when absent.
    pub channel: Option<String>,
}

impl Trigger {
    /// A trigger of `kind` with every field defaulted.
    pub fn new(kind: impl Into<String>) -> Self {
        Trigger {
            kind: kind.into(),
            ..Trigger::default()
        }
    }

    /// Sets the viewer's login.
    pub fn user(mut self, login: impl Into<String>) -> Self {
        self.user = Some(login.into());
        self
    }

    /// Sets the chat text (or clip title, or new login for `rename`).
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// Makes it happen in `channel` (broadcaster id or login) instead of
    /// the default channel.
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = Some(channel.into());
        self
    }

    /// Makes the trigger change the state without a notification.
    pub fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }
}

/// Why a trigger could not be applied (the control API answers 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TriggerError {
    /// Not an EventSub type, alias or known state change.
    #[error("unknown trigger kind {0:?}")]
    UnknownKind(String),
    /// The kind needs a field that is missing.
    #[error("{kind} needs {field}")]
    Missing {
        /// The trigger kind.
        kind: &'static str,
        /// The missing field.
        field: &'static str,
    },
    /// A field has a value Twitch would not send.
    #[error("invalid trigger: {0}")]
    Invalid(String),
    /// The trigger names a channel the look-alike does not host.
    #[error("unknown channel {0:?}")]
    UnknownChannel(String),
}

/// The kinds a trigger can have, resolved from names and aliases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerKind {
    /// `channel.follow`
    Follow,
    /// `channel.subscribe`
    Subscribe,
    /// `channel.subscription.end`
    SubscriptionEnd,
    /// `channel.subscription.gift` (plus one `channel.subscribe` per sub)
    Gift,
    /// `channel.subscription.message`
    Resub,
    /// `channel.cheer`
    Cheer,
    /// `channel.raid`
    Raid,
    /// `channel.moderator.add`
    ModeratorAdd,
    /// `channel.moderator.remove`
    ModeratorRemove,
    /// `channel.vip.add`
    VipAdd,
    /// `channel.vip.remove`
    VipRemove,
    /// `channel.ban` (a timeout when it has a duration)
    Ban,
    /// `channel.ban` with a duration (default 600 s)
    Timeout,
    /// `channel.unban`
    Unban,
    /// `channel.chat.message`
    Chat,
    /// `stream.online`
    Online,
    /// `stream.offline`
    Offline,
    /// `channel.channel_points_custom_reward_redemption.add`
    Redemption,
    /// Unfollow (no EventSub event).
    Unfollow,
    /// A clip is created (no EventSub event).
    Clip,
    /// A timeout runs out (no EventSub event).
    TimeoutEnd,
    /// A user changes login (no EventSub event).
    Rename,
}

impl TriggerKind {
    /// Resolves a kind name or alias (case-insensitive).
    pub fn parse(name: &str) -> Option<Self> {
        use TriggerKind::*;
        let kind = match name.trim().to_ascii_lowercase().as_str() {
            "channel.follow" | "follow" => Follow,
            "channel.subscribe" | "subscribe" | "sub" => Subscribe,
            "channel.subscription.end" | "subscription.end" | "unsubscribe" | "unsub" => {
                SubscriptionEnd
            }
            "channel.subscription.gift" | "subscription.gift" | "gift" => Gift,
            "channel.subscription.message" | "subscription.message" | "resub" => Resub,
            "channel.cheer" | "cheer" => Cheer,
            "channel.raid" | "raid" => Raid,
            "channel.moderator.add" | "moderator.add" | "mod" => ModeratorAdd,
            "channel.moderator.remove" | "moderator.remove" | "unmod" => ModeratorRemove,
            "channel.vip.add" | "vip.add" | "vip" => VipAdd,
            "channel.vip.remove" | "vip.remove" | "unvip" => VipRemove,
            "channel.ban" | "ban" => Ban,
            "timeout" => Timeout,
            "channel.unban" | "unban" => Unban,
            "channel.chat.message" | "chat.message" | "chat" => Chat,
            "stream.online" | "online" => Online,
            "stream.offline" | "offline" => Offline,
            "channel.channel_points_custom_reward_redemption.add" | "redemption" | "redeem" => {
                Redemption
            }
            "channel.unfollow" | "unfollow" => Unfollow,
            "channel.clip.created" | "clip" => Clip,
            "channel.timeout.end" | "timeout.end" | "timeout_end" => TimeoutEnd,
            "user.rename" | "rename" => Rename,
            _ => return None,
        };
        Some(kind)
    }

    /// The name used in errors and logs.
    pub fn name(self) -> &'static str {
        use TriggerKind::*;
        match self {
            Follow => "channel.follow",
            Subscribe => "channel.subscribe",
            SubscriptionEnd => "channel.subscription.end",
            Gift => "channel.subscription.gift",
            Resub => "channel.subscription.message",
            Cheer => "channel.cheer",
            Raid => "channel.raid",
            ModeratorAdd => "channel.moderator.add",
            ModeratorRemove => "channel.moderator.remove",
            VipAdd => "channel.vip.add",
            VipRemove => "channel.vip.remove",
            Ban | Timeout => "channel.ban",
            Unban => "channel.unban",
            Chat => "channel.chat.message",
            Online => "stream.online",
            Offline => "stream.offline",
            Redemption => "channel.channel_points_custom_reward_redemption.add",
            Unfollow => "channel.unfollow",
            Clip => "channel.clip.created",
            TimeoutEnd => "channel.timeout.end",
            Rename => "user.rename",
        }
    }
}

/// One EventSub event a trigger produced, not yet delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedEvent {
    /// The subscription type.
    pub subscription_type: String,
    /// Its version (from the wanted table; `1` for others).
    pub version: String,
    /// The event object.
    pub event: Value,
}

impl PlannedEvent {
    fn new(subscription_type: &str, event: Value) -> Self {
        PlannedEvent {
            subscription_type: subscription_type.to_owned(),
            version: version_of(subscription_type).to_owned(),
            event,
        }
    }
}

/// The version Stagehand subscribes to for `subscription_type` (`1` for
/// types outside the table).
pub fn version_of(subscription_type: &str) -> &'static str {
    TYPES
        .iter()
        .find(|spec| spec.kind == subscription_type)
        .map_or("1", |spec| spec.version)
}

/// Applies `trigger` to `state` at `now`: the state changes, and the events
/// EventSub would send come back (in Twitch's order: a gift first, then
/// one `channel.subscribe` per gifted sub).
pub fn apply(
    state: &mut ChannelState,
    trigger: &Trigger,
    now: DateTime<Utc>,
    rng: &mut (impl Rng + ?Sized),
) -> Result<Vec<PlannedEvent>, TriggerError> {
    use TriggerKind::*;
    let kind = TriggerKind::parse(&trigger.kind)
        .ok_or_else(|| TriggerError::UnknownKind(trigger.kind.clone()))?;
    let broadcaster = state.broadcaster().clone();
    let event = |event: Value| Ok(vec![PlannedEvent::new(kind.name(), event)]);
    match kind {
        Follow => {
            let user = user_or_new(state, trigger, rng);
            state.follow(&user.id, now);
            event(payloads::follow(&broadcaster, &user, now))
        }
        Subscribe => {
            let user = user_or_new(state, trigger, rng);
            let tier = tier(trigger, None)?;
            state.subscribe(&user.id, &tier, false, None);
            event(payloads::subscribe(&broadcaster, &user, &tier, false))
        }
        Resub => {
            let user = user_or_new(state, trigger, rng);
            let existing = state.subscription(&user.id).cloned();
            let tier = tier(trigger, existing.as_ref().map(|s| s.tier.as_str()))?;
            let (is_gift, gifter) = existing.map_or((false, None), |s| (s.is_gift, s.gifter_id));
            state.subscribe(&user.id, &tier, is_gift, gifter);
            let text = trigger
                .message
                .as_deref()
                .or(trigger.text.as_deref())
                .unwrap_or_default();
            let months = trigger.months.unwrap_or(2).max(1);
            event(payloads::subscription_message(
                &broadcaster,
                &user,
                &tier,
                text,
                months,
                None,
                1,
            ))
        }
        SubscriptionEnd => {
            let user = named_user(state, trigger, kind)?;
            let ended = state.end_subscription(&user.id);
            let tier = tier(trigger, ended.as_ref().map(|s| s.tier.as_str()))?;
            let is_gift = ended.is_some_and(|s| s.is_gift);
            event(payloads::subscription_end(
                &broadcaster,
                &user,
                &tier,
                is_gift,
            ))
        }
        Gift => gift(state, trigger, &broadcaster, rng),
        Cheer => {
            let anonymous = trigger.is_anonymous.unwrap_or(false);
            let user = (!anonymous).then(|| user_or_new(state, trigger, rng));
            let bits = trigger.bits.unwrap_or(100).max(1);
            let default_message = format!("Cheer{bits}");
            let message = trigger
                .message
                .as_deref()
                .or(trigger.text.as_deref())
                .unwrap_or(&default_message);
            event(payloads::cheer(&broadcaster, user.as_ref(), bits, message))
        }
        Raid => {
            let raider = user_or_new(state, trigger, rng);
            let viewers = trigger.viewers.unwrap_or_else(|| rng.random_range(3..250));
            event(payloads::raid(&raider, &broadcaster, viewers))
        }
        ModeratorAdd | ModeratorRemove | VipAdd | VipRemove => {
            let user = if matches!(kind, ModeratorAdd | VipAdd) {
                user_or_new(state, trigger, rng)
            } else {
                named_user(state, trigger, kind)?
            };
            match kind {
                ModeratorAdd => state.add_moderator(&user.id),
                ModeratorRemove => state.remove_moderator(&user.id),
                VipAdd => state.add_vip(&user.id),
                _ => state.remove_vip(&user.id),
            };
            if matches!(kind, ModeratorAdd | ModeratorRemove) {
                event(payloads::moderator_change(&broadcaster, &user))
            } else {
                event(payloads::vip_change(&broadcaster, &user))
            }
        }
        Ban | Timeout => {
            let user = user_or_new(state, trigger, rng);
            let moderator = moderator(state, trigger);
            let duration = match (kind, trigger.duration_secs) {
                (_, Some(0)) => {
                    return Err(TriggerError::Invalid("a timeout lasts at least 1 s".into()));
                }
                (_, Some(secs)) => Some(secs),
                (Timeout, None) => Some(600),
                _ => None,
            };
            let ends_at = duration
                .map(|secs| now + TimeDelta::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 2)));
            let reason = trigger.reason.clone().unwrap_or_default();
            state.ban(
                &user.id,
                BanInfo {
                    created_at: now,
                    expires_at: ends_at,
                    reason: reason.clone(),
                    moderator_id: moderator.id.clone(),
                },
            );
            event(payloads::ban(
                &broadcaster,
                &user,
                &moderator,
                &reason,
                now,
                ends_at,
            ))
        }
        Unban => {
            let user = named_user(state, trigger, kind)?;
            let moderator = moderator(state, trigger);
            state.unban(&user.id, now);
            event(payloads::unban(&broadcaster, &user, &moderator))
        }
        Chat => {
            let user = user_or_new(state, trigger, rng);
            let text = trigger
                .text
                .clone()
                .or_else(|| trigger.message.clone())
                .unwrap_or_else(|| names::chat_line(rng).to_owned());
            let badges = match &trigger.badges {
                Some(list) => list.iter().map(|b| Badge::parse(b)).collect(),
                None => inferred_badges(state, &user),
            };
            let color = trigger
                .color
                .clone()
                .unwrap_or_else(|| color_for(&user.login));
            let message_id = ids::message_id();
            event(payloads::chat_message(
                &broadcaster,
                &user,
                &message_id,
                &text,
                &badges,
                &color,
            ))
        }
        Online => {
            let stream_id = rng
                .random_range(40_000_000_000u64..50_000_000_000)
                .to_string();
            state.set_live(Some(LiveStream {
                id: stream_id.clone(),
                started_at: now,
            }));
            event(payloads::stream_online(&broadcaster, &stream_id, now))
        }
        Offline => {
            state.set_live(None);
            event(payloads::stream_offline(&broadcaster))
        }
        Redemption => {
            let user = user_or_new(state, trigger, rng);
            let title = trigger
                .reward_title
                .clone()
                .unwrap_or_else(|| names::reward_title(rng).to_owned());
            let reward = Reward {
                id: reward_id(&title),
                prompt: format!("Redeem: {title}"),
                title,
                cost: trigger.cost.unwrap_or(500),
            };
            let input = trigger.user_input.clone().unwrap_or_default();
            event(payloads::redemption(
                &broadcaster,
                &user,
                &ids::message_id(),
                &input,
                &reward,
                now,
            ))
        }
        Unfollow => {
            let user = named_user(state, trigger, kind)?;
            state.unfollow(&user.id);
            Ok(Vec::new())
        }
        Clip => {
            let creator = user_or_new(state, trigger, rng);
            let title = trigger
                .text
                .clone()
                .unwrap_or_else(|| names::clip_title(rng).to_owned());
            state.add_clip(ClipInfo {
                id: names::clip_slug(rng),
                creator_id: creator.id,
                title,
                created_at: now,
                view_count: u64::from(trigger.viewers.unwrap_or(1)),
                duration: 30.0,
                is_featured: false,
            });
            Ok(Vec::new())
        }
        TimeoutEnd => {
            let user = named_user(state, trigger, kind)?;
            state.end_timeout(&user.id, now);
            Ok(Vec::new())
        }
        Rename => {
            let login = trigger.user.as_deref().ok_or(TriggerError::Missing {
                kind: kind.name(),
                field: "user",
            })?;
            let new_login = trigger
                .new_login
                .as_deref()
                .or(trigger.text.as_deref())
                .ok_or(TriggerError::Missing {
                    kind: kind.name(),
                    field: "new_login",
                })?;
            state
                .rename(login, new_login)
                .map_err(TriggerError::Invalid)?;
            Ok(Vec::new())
        }
    }
}

/// A gift of `total` subs: one `channel.subscription.gift`, then one
/// `channel.subscribe` (`is_gift: true`) per recipient.
fn gift(
    state: &mut ChannelState,
    trigger: &Trigger,
    broadcaster: &UserInfo,
    rng: &mut (impl Rng + ?Sized),
) -> Result<Vec<PlannedEvent>, TriggerError> {
    let anonymous = trigger.is_anonymous.unwrap_or(false);
    let gifter = (!anonymous).then(|| user_or_new(state, trigger, rng));
    let total = trigger.total.unwrap_or(1);
    if !(1..=100).contains(&total) {
        return Err(TriggerError::Invalid(format!(
            "a gift has 1 to 100 subs, not {total}"
        )));
    }
    let tier = tier(trigger, None)?;
    let gifter_id = match &gifter {
        Some(user) => user.id.clone(),
        None => ANONYMOUS_GIFTER_ID.to_owned(),
    };
    let earlier = state
        .subscribers()
        .filter(|(_, s)| s.gifter_id.as_deref() == Some(gifter_id.as_str()))
        .count();
    let cumulative = u32::try_from(earlier)
        .unwrap_or(u32::MAX)
        .saturating_add(total);
    let mut events = vec![PlannedEvent::new(
        "channel.subscription.gift",
        payloads::subscription_gift(broadcaster, gifter.as_ref(), total, &tier, Some(cumulative)),
    )];
    for _ in 0..total {
        let recipient = loop {
            let candidate = state.user(&names::login(rng));
            if state.subscription(&candidate.id).is_none()
                && gifter.as_ref().is_none_or(|g| g.id != candidate.id)
            {
                break candidate;
            }
        };
        state.subscribe(&recipient.id, &tier, true, Some(gifter_id.clone()));
        events.push(PlannedEvent::new(
            "channel.subscribe",
            payloads::subscribe(broadcaster, &recipient, &tier, true),
        ));
    }
    Ok(events)
}

/// The named user, or a made-up one.
fn user_or_new(
    state: &mut ChannelState,
    trigger: &Trigger,
    rng: &mut (impl Rng + ?Sized),
) -> UserInfo {
    match trigger.user.as_deref().filter(|l| !l.is_empty()) {
        Some(login) => state.user(login),
        None => state.user(&names::login(rng)),
    }
}

/// The named user; kinds that undo something need to know whom.
fn named_user(
    state: &mut ChannelState,
    trigger: &Trigger,
    kind: TriggerKind,
) -> Result<UserInfo, TriggerError> {
    trigger
        .user
        .as_deref()
        .filter(|l| !l.is_empty())
        .map(|login| state.user(login))
        .ok_or(TriggerError::Missing {
            kind: kind.name(),
            field: "user",
        })
}

fn moderator(state: &mut ChannelState, trigger: &Trigger) -> UserInfo {
    match trigger.moderator.as_deref() {
        Some(login) => state.user(login),
        None => state.broadcaster().clone(),
    }
}

fn tier(trigger: &Trigger, existing: Option<&str>) -> Result<String, TriggerError> {
    let tier = trigger.tier.as_deref().or(existing).unwrap_or("1000");
    match tier {
        "1000" | "2000" | "3000" => Ok(tier.to_owned()),
        "1" | "2" | "3" => Ok(format!("{tier}000")),
        other => Err(TriggerError::Invalid(format!(
            "tier must be 1000, 2000 or 3000, not {other:?}"
        ))),
    }
}

/// The badges Twitch would show for `user`: broadcaster, moderator, VIP,
/// subscriber.
fn inferred_badges(state: &ChannelState, user: &UserInfo) -> Vec<Badge> {
    let mut badges = Vec::new();
    if user.id == state.broadcaster().id {
        badges.push(Badge::new("broadcaster", "1", ""));
    }
    if state.is_moderator(&user.id) {
        badges.push(Badge::new("moderator", "1", ""));
    }
    if state.is_vip(&user.id) {
        badges.push(Badge::new("vip", "1", ""));
    }
    if let Some(sub) = state.subscription(&user.id) {
        let id = match sub.tier.as_str() {
            "2000" => "2000",
            "3000" => "3000",
            _ => "0",
        };
        badges.push(Badge::new("subscriber", id, "1"));
    }
    badges
}

/// A stable chat color per login.
fn color_for(login: &str) -> String {
    const COLORS: &[&str] = &[
        "#FF0000", "#0000FF", "#008000", "#B22222", "#FF7F50", "#9ACD32", "#FF4500", "#2E8B57",
        "#DAA520", "#D2691E", "#5F9EA0", "#1E90FF", "#FF69B4", "#8A2BE2", "#00FF7F",
    ];
    COLORS[(derived_user_id(login) % COLORS.len() as u64) as usize].to_owned()
}

/// A stable reward id (UUID layout) per reward title.
fn reward_id(title: &str) -> String {
    let high = derived_user_id(title);
    let low = derived_user_id(&format!("{title}#reward"));
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        high & 0xffff_ffff,
        (high >> 8) & 0xffff,
        low & 0xfff,
        (low >> 12) & 0xfff,
        (high ^ (low << 16)) & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Seed;
    use chrono::TimeZone;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
    }

    fn channel() -> ChannelState {
        ChannelState::new(
            UserInfo::new("100000001", "stagehand_demo"),
            Seed::default(),
            now(),
        )
    }

    fn run(state: &mut ChannelState, trigger: Trigger) -> Vec<PlannedEvent> {
        apply(state, &trigger, now(), &mut StdRng::seed_from_u64(1)).unwrap()
    }

    #[test]
    fn follow_updates_the_list_and_says_so() {
        let mut state = channel();
        let events = run(&mut state, Trigger::new("follow").user("Cool_User"));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].subscription_type, "channel.follow");
        assert_eq!(events[0].version, "2");
        assert_eq!(events[0].event["user_login"], "cool_user");
        let user = state.find_login("cool_user").unwrap();
        assert_eq!(events[0].event["user_id"], user.id.as_str());
        assert_eq!(state.followed_at(&user.id), Some(now()));
        assert_eq!(state.follower_total(), 1);

        let none = run(&mut state, Trigger::new("unfollow").user("cool_user"));
        assert!(none.is_empty());
        assert_eq!(state.follower_total(), 0);
    }

    #[test]
    fn a_gift_of_three_is_one_gift_and_three_gifted_subs() {
        let mut state = channel();
        let trigger = Trigger {
            total: Some(3),
            tier: Some("2000".into()),
            ..Trigger::new("channel.subscription.gift").user("santa")
        };
        let events = run(&mut state, trigger);
        let kinds: Vec<&str> = events
            .iter()
            .map(|e| e.subscription_type.as_str())
            .collect();
        assert_eq!(
            kinds,
            [
                "channel.subscription.gift",
                "channel.subscribe",
                "channel.subscribe",
                "channel.subscribe"
            ]
        );
        assert_eq!(events[0].event["total"], 3);
        assert_eq!(events[0].event["cumulative_total"], 3);
        assert_eq!(events[0].event["user_login"], "santa");
        let santa = state.find_login("santa").unwrap();
        for sub in &events[1..] {
            assert_eq!(sub.event["is_gift"], true);
            assert_eq!(sub.event["tier"], "2000");
            let id = sub.event["user_id"].as_str().unwrap();
            let info = state.subscription(id).unwrap();
            assert!(info.is_gift);
            assert_eq!(info.gifter_id.as_deref(), Some(santa.id.as_str()));
        }
        assert_eq!(state.subscriber_total(), 3);
    }

    #[test]
    fn an_anonymous_gift_names_nobody() {
        let mut state = channel();
        let trigger = Trigger {
            is_anonymous: Some(true),
            ..Trigger::new("gift")
        };
        let events = run(&mut state, trigger);
        assert_eq!(events[0].event["is_anonymous"], true);
        assert_eq!(events[0].event["user_id"], Value::Null);
        let recipient = events[1].event["user_id"].as_str().unwrap();
        assert_eq!(
            state.subscription(recipient).unwrap().gifter_id.as_deref(),
            Some(ANONYMOUS_GIFTER_ID)
        );
    }

    #[test]
    fn bans_timeouts_and_their_end() {
        let mut state = channel();
        let ban = run(
            &mut state,
            Trigger {
                reason: Some("spam".into()),
                ..Trigger::new("channel.ban").user("troll")
            },
        );
        assert_eq!(ban[0].event["is_permanent"], true);
        assert_eq!(ban[0].event["moderator_user_login"], "stagehand_demo");
        let timeout = run(
            &mut state,
            Trigger {
                duration_secs: Some(60),
                ..Trigger::new("channel.ban").user("spammer")
            },
        );
        assert_eq!(timeout[0].event["is_permanent"], false);
        assert_eq!(state.bans(now()).len(), 2);
        let spammer = state.find_login("spammer").unwrap();
        let expires = state.ban_of(&spammer.id, now()).unwrap().expires_at;
        assert_eq!(expires, Some(now() + TimeDelta::seconds(60)));

        assert!(run(&mut state, Trigger::new("timeout.end").user("spammer")).is_empty());
        assert_eq!(state.bans(now()).len(), 1);
        let unban = run(&mut state, Trigger::new("unban").user("troll"));
        assert_eq!(unban[0].subscription_type, "channel.unban");
        assert!(state.bans(now()).is_empty());

        let default_timeout = run(&mut state, Trigger::new("timeout").user("loud"));
        assert_eq!(default_timeout[0].subscription_type, "channel.ban");
        assert_eq!(default_timeout[0].event["is_permanent"], false);
    }

    #[test]
    fn roles_resubs_and_chat_badges_agree() {
        let mut state = channel();
        run(
            &mut state,
            Trigger::new("channel.moderator.add").user("helper"),
        );
        run(&mut state, Trigger::new("channel.vip.add").user("friend"));
        let resub = run(
            &mut state,
            Trigger {
                months: Some(7),
                message: Some("love it".into()),
                tier: Some("3000".into()),
                ..Trigger::new("resub").user("helper")
            },
        );
        assert_eq!(resub[0].event["cumulative_months"], 7);
        assert_eq!(resub[0].event["message"]["text"], "love it");
        let helper = state.find_login("helper").unwrap();
        assert_eq!(state.subscription(&helper.id).unwrap().tier, "3000");
        let chat = run(&mut state, Trigger::new("chat").user("helper").text("hi"));
        let sets: Vec<&str> = chat[0].event["badges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["set_id"].as_str().unwrap())
            .collect();
        assert_eq!(sets, ["moderator", "subscriber"]);
        assert_eq!(chat[0].event["message"]["text"], "hi");

        run(
            &mut state,
            Trigger::new("channel.vip.remove").user("friend"),
        );
        assert!(state.vips().is_empty());
        run(&mut state, Trigger::new("unmod").user("helper"));
        assert!(state.moderators().is_empty());
        let end = run(
            &mut state,
            Trigger::new("channel.subscription.end").user("helper"),
        );
        assert_eq!(end[0].event["tier"], "3000");
        assert_eq!(state.subscriber_total(), 0);
    }

    #[test]
    fn stream_raid_cheer_redemption_clip_rename() {
        let mut state = channel();
        let online = run(&mut state, Trigger::new("stream.online"));
        assert_eq!(
            state.live().unwrap().id,
            online[0].event["id"].as_str().unwrap()
        );
        run(&mut state, Trigger::new("stream.offline"));
        assert!(state.live().is_none());
        let raid = run(
            &mut state,
            Trigger {
                viewers: Some(12),
                ..Trigger::new("raid").user("big_streamer")
            },
        );
        assert_eq!(raid[0].event["viewers"], 12);
        assert_eq!(raid[0].event["to_broadcaster_user_id"], "100000001");
        let cheer = run(
            &mut state,
            Trigger {
                bits: Some(250),
                is_anonymous: Some(true),
                ..Trigger::new("cheer")
            },
        );
        assert_eq!(cheer[0].event["bits"], 250);
        assert_eq!(cheer[0].event["user_id"], Value::Null);
        let redeemed = run(
            &mut state,
            Trigger {
                reward_title: Some("Hydrate!".into()),
                user_input: Some("now".into()),
                ..Trigger::new("redeem").user("thirsty")
            },
        );
        assert_eq!(redeemed[0].event["reward"]["title"], "Hydrate!");
        assert_eq!(redeemed[0].event["reward"]["id"], reward_id("Hydrate!"));
        assert!(run(&mut state, Trigger::new("clip").user("clipper").text("wow")).is_empty());
        assert_eq!(state.clips()[0].title, "wow");
        run(
            &mut state,
            Trigger::new("rename").user("clipper").text("clipmaster"),
        );
        assert!(state.find_login("clipmaster").is_some());
    }

    #[test]
    fn bad_triggers_are_refused() {
        let mut state = channel();
        let mut rng = StdRng::seed_from_u64(1);
        let err = apply(&mut state, &Trigger::new("channel.nope"), now(), &mut rng).unwrap_err();
        assert_eq!(err, TriggerError::UnknownKind("channel.nope".into()));
        let err = apply(&mut state, &Trigger::new("unban"), now(), &mut rng).unwrap_err();
        assert!(err.to_string().contains("user"), "{err}");
        let bad_tier = Trigger {
            tier: Some("4000".into()),
            ..Trigger::new("subscribe")
        };
        assert!(apply(&mut state, &bad_tier, now(), &mut rng).is_err());
    }

    #[test]
    fn every_wanted_type_can_be_triggered() {
        for spec in TYPES {
            let mut state = channel();
            let trigger = Trigger::new(spec.kind).user("someone");
            let events = apply(&mut state, &trigger, now(), &mut StdRng::seed_from_u64(3))
                .unwrap_or_else(|e| panic!("{}: {e}", spec.kind));
            assert_eq!(events[0].subscription_type, spec.kind);
            assert_eq!(events[0].version, spec.version);
        }
    }
}
