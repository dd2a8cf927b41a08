// The kinds Stagehand models, by name, so a typo is a wrong identifier
// rather than a plugin that silently receives nothing. Kinds the host does
// not model still arrive (as `{ tag: "other" }` data) when asked for by name
// or with "*"; the host warns at load time about a name it does not know.

export const FOLLOW = "channel.follow";
/** Seen by polling only. */
export const UNFOLLOW = "channel.unfollow";
export const BAN = "channel.ban";
export const UNBAN = "channel.unban";
/** Seen by polling only. */
export const TIMEOUT_END = "channel.timeout.end";
export const VIP_ADD = "channel.vip.add";
export const VIP_REMOVE = "channel.vip.remove";
export const MODERATOR_ADD = "channel.moderator.add";
export const MODERATOR_REMOVE = "channel.moderator.remove";
export const SUBSCRIBE = "channel.subscribe";
/** A resub shared in chat. */
export const RESUB = "channel.subscription.message";
export const SUBSCRIPTION_END = "channel.subscription.end";
export const GIFT = "channel.subscription.gift";
export const CHEER = "channel.cheer";
export const RAID = "channel.raid";
export const REDEMPTION = "channel.channel_points_custom_reward_redemption.add";
export const CHAT_MESSAGE = "channel.chat.message";
export const STREAM_ONLINE = "stream.online";
export const STREAM_OFFLINE = "stream.offline";
/** Seen by polling only. */
export const CLIP_CREATED = "channel.clip.created";
/** A tip through a service outside Twitch (Ko-fi, a webhook); source "external". */
export const DONATION = "donation";
/** From the streamer's Discord bot (source "external"), all with `discord` data. */
export const DISCORD_MEMBER_JOIN = "discord.member.join";
export const DISCORD_MEMBER_LEAVE = "discord.member.leave";
export const DISCORD_TICKET_CREATE = "discord.ticket.create";
export const DISCORD_TICKET_CLOSE = "discord.ticket.close";
export const DISCORD_GIVEAWAY_CREATE = "discord.giveaway.create";
export const DISCORD_GIVEAWAY_END = "discord.giveaway.end";
export const DISCORD_GIVEAWAY_ENTRY = "discord.giveaway.entry";
/** Every kind, for plugins that want them all. */
export const ALL = "*";

/** Every modelled kind. */
export const KNOWN = Object.freeze([
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
]);
