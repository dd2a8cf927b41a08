//! The kinds Stagehand models, by name, so a typo is a compile error
//! rather than a plugin that silently receives nothing. Kinds the host does
//! not model still arrive (as [`crate::EventData::Other`]) when asked for by
//! name or with `"*"`; the host warns at load time about a name it does
//! not know.

pub const FOLLOW: &str = "channel.follow";
/// Seen by polling only.
pub const UNFOLLOW: &str = "channel.unfollow";
pub const BAN: &str = "channel.ban";
pub const UNBAN: &str = "channel.unban";
/// Seen by polling only.
pub const TIMEOUT_END: &str = "channel.timeout.end";
pub const VIP_ADD: &str = "channel.vip.add";
pub const VIP_REMOVE: &str = "channel.vip.remove";
pub const MODERATOR_ADD: &str = "channel.moderator.add";
pub const MODERATOR_REMOVE: &str = "channel.moderator.remove";
pub const SUBSCRIBE: &str = "channel.subscribe";
/// A resub shared in chat.
pub const RESUB: &str = "channel.subscription.message";
pub const SUBSCRIPTION_END: &str = "channel.subscription.end";
pub const GIFT: &str = "channel.subscription.gift";
pub const CHEER: &str = "channel.cheer";
pub const RAID: &str = "channel.raid";
pub const REDEMPTION: &str = "channel.channel_points_custom_reward_redemption.add";
pub const CHAT_MESSAGE: &str = "channel.chat.message";
pub const STREAM_ONLINE: &str = "stream.online";
pub const STREAM_OFFLINE: &str = "stream.offline";
/// Seen by polling only.
pub const CLIP_CREATED: &str = "channel.clip.created";
/// A tip through a service outside Twitch (Ko-fi, a webhook); source
/// `external`.
pub const DONATION: &str = "donation";
/// From the streamer's Discord bot (source `external`), all with
/// [`crate::EventData::Discord`] data.
pub const DISCORD_MEMBER_JOIN: &str = "discord.member.join";
pub const DISCORD_MEMBER_LEAVE: &str = "discord.member.leave";
pub const DISCORD_TICKET_CREATE: &str = "discord.ticket.create";
pub const DISCORD_TICKET_CLOSE: &str = "discord.ticket.close";
pub const DISCORD_GIVEAWAY_CREATE: &str = "discord.giveaway.create";
pub const DISCORD_GIVEAWAY_END: &str = "discord.giveaway.end";
pub const DISCORD_GIVEAWAY_ENTRY: &str = "discord.giveaway.entry";
/// Every kind, for plugins that want them all (or use `"*"`).
pub const ALL: &str = "*";

/// Every modelled kind.
pub const KNOWN: &[&str] = &[
    FOLLOW,
    UNFOLLOW,
    BAN,
    UNBAN,
    TIMEOUT_END,
    VIP_ADD,
    VIP_REMOVE,
    MODERATOR_ADD,
    MODERATOR_REMOVE,
    SUBSCRIBE,
    RESUB,
    SUBSCRIPTION_END,
    GIFT,
    CHEER,
    RAID,
    REDEMPTION,
    CHAT_MESSAGE,
    STREAM_ONLINE,
    STREAM_OFFLINE,
    CLIP_CREATED,
    DONATION,
    DISCORD_MEMBER_JOIN,
    DISCORD_MEMBER_LEAVE,
    DISCORD_TICKET_CREATE,
    DISCORD_TICKET_CLOSE,
    DISCORD_GIVEAWAY_CREATE,
    DISCORD_GIVEAWAY_END,
    DISCORD_GIVEAWAY_ENTRY,
];
