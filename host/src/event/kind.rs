//! Kind names: Twitch's EventSub names for what Twitch announces, names in
//! the same style for changes only polling sees, and any other name
//! carried as [`EventKind::Other`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::data::Details;

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
            /// Their names, in the same order.
            pub const NAMES: &'static [&'static str] = &[$($name,)*];

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
    /// A new follower. Data: [`crate::event::data::Follow`].
    Follow => "channel.follow",
    /// Polling only (EventSub has no unfollow). Data: [`crate::event::data::Named`].
    Unfollow => "channel.unfollow",
    /// A ban or a timeout. Data: [`crate::event::data::Ban`].
    Ban => "channel.ban",
    /// Data: [`crate::event::data::Named`].
    Unban => "channel.unban",
    /// Polling only: a timeout ran out or was lifted. Data: [`crate::event::data::Named`].
    TimeoutEnd => "channel.timeout.end",
    /// Data: [`crate::event::data::Named`].
    VipAdd => "channel.vip.add",
    VipRemove => "channel.vip.remove",
    ModeratorAdd => "channel.moderator.add",
    ModeratorRemove => "channel.moderator.remove",
    /// Data: [`crate::event::data::Subscribe`].
    Subscribe => "channel.subscribe",
    /// A resub shared in chat. Data: [`crate::event::data::Resub`].
    SubscriptionMessage => "channel.subscription.message",
    /// Data: [`crate::event::data::SubscriptionEnd`].
    SubscriptionEnd => "channel.subscription.end",
    /// Data: [`crate::event::data::Gift`].
    SubscriptionGift => "channel.subscription.gift",
    /// Data: [`crate::event::data::Cheer`].
    Cheer => "channel.cheer",
    /// Data: [`crate::event::data::Raid`].
    Raid => "channel.raid",
    /// A channel points redemption. Data: [`crate::event::data::Redemption`].
    Redemption => "channel.channel_points_custom_reward_redemption.add",
    /// Data: [`crate::event::data::ChatMessage`].
    ChatMessage => "channel.chat.message",
    /// Data: [`crate::event::data::StreamOnline`].
    StreamOnline => "stream.online",
    /// Data: [`crate::event::data::StreamOffline`].
    StreamOffline => "stream.offline",
    /// Polling only. Data: [`crate::event::data::ClipCreated`].
    ClipCreated => "channel.clip.created",
    /// A tip through a service outside Twitch (Ko-fi, a webhook). Data:
    /// [`crate::event::data::Donation`].
    Donation => "donation",
    /// From the streamer's Discord bot. Data: [`crate::event::data::Discord`]
    /// (as every `discord.*` kind).
    DiscordMemberJoin => "discord.member.join",
    DiscordMemberLeave => "discord.member.leave",
    DiscordTicketCreate => "discord.ticket.create",
    DiscordTicketClose => "discord.ticket.close",
    DiscordGiveawayCreate => "discord.giveaway.create",
    DiscordGiveawayEnd => "discord.giveaway.end",
    DiscordGiveawayEntry => "discord.giveaway.entry",
}

impl EventKind {
    /// Whether this is one of the kinds Stagehand models.
    pub fn is_known(&self) -> bool {
        !matches!(self, EventKind::Other(_))
    }

    /// Maps a kind name, including older names for poll-detected changes
    /// (`channel.user.banned`, `channel.vip.granted`, ...), to this host's
    /// vocabulary. Older names that folded two meanings into one kind (ban
    /// and timeout) set the distinguishing field (`is_permanent`) when the
    /// caller did not.
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
